"""Structure comparison on real structures (1UBQ, 1BTL, 2QMT) and transformed copies of them."""

from __future__ import annotations

import biotite.structure as struc
import numpy as np
import pytest

from protein_studio.core.errors import InputError
from protein_studio.core.molecules.structures import ResidueId, load_structure
from protein_studio.engines.comparison import compare_structures


@pytest.fixture(scope="module")
def ubiquitin(data_dir):
    return load_structure(data_dir / "1ubq.pdb")


def _kabsch_rmsd(a: np.ndarray, b: np.ndarray) -> float:
    """CA RMSD after optimal superposition, written out independently of biotite."""
    a = a - a.mean(axis=0)
    b = b - b.mean(axis=0)
    u, s, vt = np.linalg.svd(b.T @ a)
    d = np.sign(np.linalg.det(u @ vt))
    e0 = (a ** 2).sum() + (b ** 2).sum()
    return float(np.sqrt(max(e0 - 2 * (s[0] + s[1] + d * s[2]), 0.0) / len(a)))


def test_rotated_and_translated_copy_is_identical(ubiquitin):
    moved = struc.rotate(ubiquitin.atoms.copy(), [0.3, 1.1, -0.7])
    moved.coord += np.array([12.0, -5.0, 3.0], dtype=np.float32)
    result = compare_structures(ubiquitin, moved)
    assert result.n_pairs == 76 and result.reference_length == 76
    assert result.rmsd < 1e-3
    assert result.tm_score == pytest.approx(1.0, abs=1e-4)
    assert result.displacement.max() < 1e-3
    assert result.matching == "numbering" and result.identity == 1.0
    # the mobile structure is moved back onto the reference, all atoms
    np.testing.assert_allclose(result.superimposed.coord, ubiquitin.atoms.coord, atol=2e-3)


def test_perturbed_copy_has_the_rmsd_of_an_independent_computation(ubiquitin):
    rng = np.random.default_rng(7)
    noisy = ubiquitin.atoms.copy()
    noisy.coord += rng.normal(0.0, 0.8, noisy.coord.shape).astype(np.float32)
    noisy = struc.rotate(noisy, [2.0, 0.1, 0.4])
    result = compare_structures(ubiquitin, noisy)
    ca = ubiquitin.atoms.atom_name == "CA"
    expected = _kabsch_rmsd(ubiquitin.atoms.coord[ca].astype(float), noisy.coord[ca].astype(float))
    assert result.rmsd == pytest.approx(expected, abs=1e-3)
    # Gaussian noise of 0.8 A per axis moves each CA by about 0.8 * sqrt(3) = 1.39 A
    assert 1.2 < result.rmsd < 1.6
    assert result.rmsd == pytest.approx(np.sqrt(np.mean(result.displacement ** 2)), rel=1e-5)
    assert 0.5 < result.tm_score < 0.99


def test_a_moved_loop_shows_up_in_the_displacement_track(ubiquitin):
    moved = ubiquitin.atoms.copy()
    loop = (moved.res_id >= 8) & (moved.res_id <= 10)
    moved.coord[loop] += np.array([4.0, 0.0, 0.0], dtype=np.float32)
    result = compare_structures(ubiquitin, moved)
    by_residue = result.displacement_by_residue()
    worst = max(by_residue, key=by_residue.get)
    assert worst in {ResidueId("A", n) for n in (8, 9, 10)}
    # the core stays where it was, so the TM-score (refined on the core) is near 1, above the
    # least-squares superposition's that the loop pulls off
    ca = ubiquitin.atoms[ubiquitin.atoms.atom_name == "CA"]
    fitted, _ = struc.superimpose(ca, moved[moved.atom_name == "CA"])
    pairs = np.arange(len(ca))
    plain = struc.tm_score(ca, fitted, pairs, pairs, reference_length=len(ca))
    assert result.tm_score > 0.95
    assert result.tm_score >= plain
    assert by_residue[ResidueId("A", 30)] < 1.0


def test_different_numbering_and_a_deletion_are_paired_by_sequence(data_dir):
    tem1 = load_structure(data_dir / "1btl.pdb")
    copy = tem1.atoms.copy()
    copy.res_id = copy.res_id + 25  # the deposited numbering starts at 26
    copy = copy[(copy.res_id < 60) | (copy.res_id > 65)]  # six residues missing
    copy = struc.rotate(copy, [1.0, 2.0, 3.0])
    result = compare_structures(tem1, copy)
    assert result.matching == "sequence"
    assert result.n_pairs == 263 - 6
    assert result.rmsd < 1e-3
    assert result.reference_residues[0] == ResidueId("A", 1)
    assert result.mobile_residues[0] == ResidueId("A", 26)
    assert result.identity == 1.0


def test_structure_and_atom_array_inputs_agree(data_dir):
    gb1 = load_structure(data_dir / "2qmt.pdb")
    moved = struc.translate(gb1.atoms.copy(), [1.0, 2.0, 3.0])
    a = compare_structures(gb1, moved)
    b = compare_structures(gb1.atoms, moved)
    assert a.n_pairs == b.n_pairs == len(gb1.chains[0].sequence)
    assert a.rmsd == pytest.approx(b.rmsd)


def test_missing_chain_and_unrelated_structures_are_input_errors(ubiquitin, data_dir):
    with pytest.raises(InputError, match="no protein chain 'Z'"):
        compare_structures(ubiquitin, ubiquitin, reference_chain="Z")
    water = ubiquitin.atoms[ubiquitin.atoms.res_name == "HOH"]
    with pytest.raises(InputError, match="no protein CA atoms"):
        compare_structures(ubiquitin, water)
