"""NumberingMap: sequence index <-> structure residue, identity, plain numbering and alignment."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protein_studio.core.errors import InputError
from protein_studio.core.molecules.numbering import Mismatch, NumberingMap
from protein_studio.core.molecules.sequences import read_fasta
from protein_studio.core.molecules.structures import ChainInfo, ResidueId, load_structure, structure_from_text

ROOT = Path(__file__).resolve().parent.parent.parent
DATA = ROOT / "tests" / "data"
TEM1_FASTA = ROOT / "resources" / "demo" / "tem1_P62593.fasta"


@pytest.fixture(scope="module")
def ubiquitin() -> ChainInfo:
    return load_structure(DATA / "1ubq.pdb").chain("A")


@pytest.fixture(scope="module")
def tem1() -> ChainInfo:
    return load_structure(DATA / "1btl.pdb").chain("A")


def test_for_chain_is_the_identity(ubiquitin):
    numbering = NumberingMap.for_chain(ubiquitin)
    assert len(numbering) == 76 and numbering.sequence == ubiquitin.sequence
    assert numbering.mapped == 76 and numbering.mismatches == () and numbering.identity == 1.0
    for index, residue in enumerate(ubiquitin.residues):
        assert numbering.residue_at(index) == residue
        assert numbering.index_of(residue) == index
    assert numbering.label(0) == "1" and numbering.label(75) == "76"
    assert numbering.residue_at(76) is None and numbering.residue_at(-1) is None
    assert numbering.label(76) == ""
    assert numbering.index_of(ResidueId("B", 1)) is None


def test_plain_numbering():
    numbering = NumberingMap.plain(10, first_residue=5, chain="H", sequence="ACDEFGHIKL")
    assert len(numbering) == 10 and numbering.sequence == "ACDEFGHIKL"
    assert numbering.residue_at(0) == ResidueId("H", 5)
    assert numbering.label(9) == "14"
    assert numbering.index_of(ResidueId("H", 14)) == 9
    assert numbering.index_of(ResidueId("H", 15)) is None
    assert numbering.index_of(ResidueId("A", 5)) is None
    assert len(NumberingMap.plain(0)) == 0


def test_demo_uniprot_sequence_aligns_to_1btl(tem1):
    """P62593 (286, signal peptide) vs 1BTL renumbered 1-263: UniProt H24 (index 23) is residue 1.

    The deposited 1BTL numbering (Ambler) starts at 26 for the same histidine; in UniProt's sequential
    numbering, which the BLAT_ECOLX DMS uses (mutants H24C, ...), it is residue 24.
    """
    uniprot = read_fasta(TEM1_FASTA)[0].sequence
    assert len(uniprot) == 286 and uniprot[23] == "H"
    numbering = NumberingMap.align(uniprot, tem1)
    assert len(numbering) == 286 and numbering.mapped == 263
    assert numbering.residue_at(23) == ResidueId("A", 1)
    assert numbering.index_of(ResidueId("A", 1)) == 23
    assert all(numbering.residue_at(i) is None for i in range(23))  # signal peptide
    assert numbering.residue_at(285) == ResidueId("A", 263)
    assert numbering.label(23) == "1"
    assert numbering.mismatches == (
        Mismatch(81, "V", ResidueId("A", 59), "I"),
        Mismatch(181, "A", ResidueId("A", 159), "V"),
    )
    assert str(numbering.mismatches[0]) == "sequence V82 vs structure I at A:59"
    assert numbering.identity == pytest.approx(261 / 263)
    # every other mapped position has the same residue on both sides
    for index in range(23, 286):
        residue = numbering.residue_at(index)
        if all(m.index != index for m in numbering.mismatches):
            assert tem1.sequence[residue.number - 1] == uniprot[index]


def test_align_accepts_a_protein_sequence_object(tem1):
    record = read_fasta(TEM1_FASTA)[0]  # a ProteinSequence
    assert NumberingMap.align(record, tem1).residue_at(23) == ResidueId("A", 1)


def test_align_over_a_missing_loop_and_insertion_code(ubiquitin):
    """The structure lacks residues 8-10 and numbers 30 as 29A: the full sequence still maps."""
    lines = []
    for line in (DATA / "1ubq.pdb").read_text().splitlines():
        if line.startswith("ATOM  "):
            number = int(line[22:26])
            if 8 <= number <= 10:  # L8 T9 G10: K6 T7 | K11 T12 can only align one way
                continue
            if number >= 30:
                line = f"{line[:22]}{number - 1:>4}{'A' if number == 30 else ' '}{line[27:]}"
        lines.append(line)
    chain = structure_from_text("\n".join(lines), name="gappy").chain("A")
    numbering = NumberingMap.align(ubiquitin.sequence, chain)
    assert [numbering.residue_at(i) for i in (7, 8, 9)] == [None, None, None]
    assert numbering.residue_at(6) == ResidueId("A", 7)
    assert numbering.residue_at(10) == ResidueId("A", 11)
    assert numbering.label(29) == "29A" and numbering.label(30) == "30"
    assert numbering.index_of(ResidueId("A", 29, "A")) == 29
    assert numbering.mismatches == ()


def test_unrelated_sequence_is_rejected(ubiquitin):
    with pytest.raises(InputError, match=r"does not match chain A: \d+% identical"):
        NumberingMap.align("W" * 60, ubiquitin)
    with pytest.raises(InputError, match="cannot align an empty sequence"):
        NumberingMap.align("", ubiquitin)


def test_unusual_characters_align_as_x(ubiquitin):
    text = ubiquitin.sequence[:20] + "J" + ubiquitin.sequence[21:]
    numbering = NumberingMap.align(text, ubiquitin)
    assert numbering.residue_at(20) == ResidueId("A", 21)
    assert numbering.mismatches == (Mismatch(20, "J", ResidueId("A", 21), ubiquitin.sequence[20]),)


def test_local_alignment_leaves_unrelated_flanks_unmapped(ubiquitin):
    text = "WWWWW" + ubiquitin.sequence[10:60] + "CCCCC"
    local = NumberingMap.align(text, ubiquitin, local=True)
    assert local.mapped == 50 and local.mismatches == ()
    assert local.residue_at(4) is None and local.residue_at(55) is None
    assert local.residue_at(5) == ResidueId("A", 11) and local.residue_at(54) == ResidueId("A", 60)
    semi_global = NumberingMap.align(text, ubiquitin)
    assert semi_global.residue_at(5) == ResidueId("A", 11)
    assert semi_global.mapped == 60 and len(semi_global.mismatches) == 10  # flanks paired with 6-10, 61-65


def test_mutated_first_and_last_residues_stay_mapped(ubiquitin):
    """Free terminal gaps must not leave a mutated terminal residue unaligned."""
    mutant = "W" + ubiquitin.sequence[1:-2] + "WW"
    numbering = NumberingMap.align(mutant, ubiquitin)
    assert numbering.mapped == 76
    assert [m.index for m in numbering.mismatches] == [0, 74, 75]
    assert numbering.residue_at(0) == ResidueId("A", 1)
    assert numbering.residue_at(75) == ResidueId("A", 76)


@settings(max_examples=25, deadline=None)
@given(changes=st.dictionaries(st.integers(0, 75), st.sampled_from("ACDEFGHIKLMNPQRSTVWY"), max_size=6),
       prefix=st.text("GSH", max_size=15))  # an expression tag such as MGSSHHHHHH
def test_point_mutants_with_an_extension_map_residue_for_residue(changes, prefix, ubiquitin):
    """Any few point mutations plus an N-terminal extension: each residue maps to its own number and
    the mismatches are exactly the mutated positions."""
    mutant = list(ubiquitin.sequence)
    for index, letter in changes.items():
        mutant[index] = letter
    numbering = NumberingMap.align(prefix + "".join(mutant), ubiquitin)
    shift = len(prefix)
    for index in range(76):
        assert numbering.residue_at(shift + index) == ResidueId("A", index + 1)
    expected = sorted(i for i, letter in changes.items() if letter != ubiquitin.sequence[i])
    assert [m.index - shift for m in numbering.mismatches] == expected
