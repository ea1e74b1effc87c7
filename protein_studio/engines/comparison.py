"""Comparing two structures of one protein: superposition, RMSD, TM-score and per-residue displacement.

Residues are paired on their CA atoms, either by numbering (same chain pairing, residue number and
insertion code) or by a sequence alignment (biotite, BLOSUM62) when the numbering differs, e.g. a predicted
structure numbered from 1 against a crystal structure. The mobile structure is superimposed on the
reference by least squares over all paired CA atoms (biotite ``superimpose``); RMSD and the per-residue
displacement (CA distance after superposition) are measured there.

The TM-score (biotite ``tm_score``, normalised by the reference's residue count) is the best of that
superposition and a few refinements that superimpose only on the pairs closer than the TM-score's
distance scale ``d0`` (the iteration the TM-score program uses), so it is not held down by a flexible tail.

Works on :class:`~protein_studio.core.molecules.structures.Structure` objects or on biotite ``AtomArray`` s; no torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import biotite.sequence as seq
import biotite.sequence.align as align
import biotite.structure as struc
import numpy as np

from protein_studio.core.errors import InputError, UserError
from protein_studio.core.molecules.structures import ResidueId, Structure

__all__ = ["StructureComparison", "CaChain", "ca_residues", "match_residues", "compare_structures"]

#: Auto matching uses the numbering when at least this share of the shorter chain pairs up by number with
#: the same amino acid; otherwise it aligns the sequences.
NUMBERING_AGREEMENT = 0.9
_MIN_PAIRS = 3


@dataclass
class StructureComparison:
    """The result of :func:`compare_structures`.

    Attributes
    ----------
    rmsd : float
        CA RMSD (angstroms) over the paired residues after least-squares superposition.
    tm_score : float
        TM-score (0-1] normalised by the reference length.
    n_pairs : int
        Paired residues.
    reference_length : int
        CA residues in the compared chains of the reference.
    reference_residues, mobile_residues : list of ResidueId
        The pairs, in reference order.
    displacement : numpy.ndarray
        CA distance (angstroms) of each pair after superposition.
    superimposed : biotite.structure.AtomArray
        All atoms of the mobile structure moved onto the reference.
    transform : biotite.structure.AffineTransformation
        Moves mobile coordinates onto the reference.
    matching : str
        ``"numbering"`` or ``"sequence"``.
    identity : float
        Fraction of pairs with the same amino acid.
    """

    rmsd: float
    tm_score: float
    n_pairs: int
    reference_length: int
    reference_residues: list[ResidueId]
    mobile_residues: list[ResidueId]
    displacement: np.ndarray
    superimposed: struc.AtomArray
    transform: struc.AffineTransformation
    matching: str
    identity: float

    def displacement_by_residue(self) -> dict[ResidueId, float]:
        """Displacement keyed by reference residue (for a track under the sequence or viewer colours)."""
        return {rid: float(d) for rid, d in zip(self.reference_residues, self.displacement)}

    def summary(self) -> str:
        """One line, e.g. "RMSD 1.23 A over 76 residues, TM-score 0.95 (paired by numbering)"."""
        return (f"RMSD {self.rmsd:.2f} \u00c5 over {self.n_pairs} of {self.reference_length} residues, "
                f"TM-score {self.tm_score:.3f}, max displacement {self.displacement.max():.2f} \u00c5 "
                f"(paired by {self.matching}, {100 * self.identity:.0f}% identical)")


@dataclass
class CaChain:
    """The CA atoms of one protein chain: one-letter sequence, residue ids and atom indices."""

    chain_id: str
    sequence: str
    residues: list[ResidueId]
    indices: np.ndarray  # CA atom indices into the atom array


def _atoms_of(item, name: str) -> tuple[struc.AtomArray, list[str] | None, str]:
    if isinstance(item, Structure):
        return item.atoms, item.chain_ids, item.name
    if isinstance(item, struc.AtomArrayStack):
        raise UserError(f"{name}: pass one model (an AtomArray), not a stack of {item.stack_depth()}")
    if isinstance(item, struc.AtomArray):
        return item, None, name
    raise TypeError(f"{name}: expected a Structure or a biotite AtomArray, not {type(item).__name__}")


def _one_letter(res_name: str) -> str:
    try:
        return seq.ProteinSequence.convert_letter_3to1(res_name)
    except KeyError:
        return "X"


def ca_residues(atoms: struc.AtomArray, chain_ids: list[str] | None = None) -> list[CaChain]:
    """CA atoms of the amino acids of each chain, in file order (first CA of a residue only)."""
    protein = struc.filter_amino_acids(atoms) & (atoms.atom_name == "CA")
    codes = atoms.ins_code if "ins_code" in atoms.get_annotation_categories() else np.full(len(atoms), "")
    chains: dict[str, CaChain] = {}
    seen = set()
    for index in np.flatnonzero(protein):
        chain = str(atoms.chain_id[index])
        if chain_ids is not None and chain not in chain_ids:
            continue
        rid = ResidueId(chain, int(atoms.res_id[index]), str(codes[index]).strip())
        if rid in seen:  # alternate locations
            continue
        seen.add(rid)
        entry = chains.setdefault(chain, CaChain(chain, "", [], np.zeros(0, dtype=int)))
        entry.sequence += _one_letter(str(atoms.res_name[index]))
        entry.residues.append(rid)
        entry.indices = np.append(entry.indices, index)
    return list(chains.values())


def _pairs_by_numbering(ref: CaChain, mob: CaChain) -> list[tuple[int, int]]:
    where = {(r.number, r.insertion): i for i, r in enumerate(mob.residues)}
    return [(i, where[(r.number, r.insertion)]) for i, r in enumerate(ref.residues)
            if (r.number, r.insertion) in where]


def _pairs_by_sequence(ref: CaChain, mob: CaChain) -> list[tuple[int, int]]:
    matrix = align.SubstitutionMatrix.std_protein_matrix()
    alignment = align.align_optimal(seq.ProteinSequence(ref.sequence), seq.ProteinSequence(mob.sequence),
                                    matrix, gap_penalty=(-10, -1), terminal_penalty=False, max_number=1)[0]
    return [(int(i), int(j)) for i, j in alignment.trace if i >= 0 and j >= 0]


def match_residues(reference: CaChain, mobile: CaChain, how: str = "auto") -> tuple[list[tuple[int, int]], str]:
    """Pair residues of two chains: ``"numbering"``, ``"sequence"`` or ``"auto"`` (numbering if it agrees)."""
    if how not in ("auto", "numbering", "sequence"):
        raise UserError(f"residue matching must be auto, numbering or sequence, not {how!r}")
    if how in ("auto", "numbering"):
        pairs = _pairs_by_numbering(reference, mobile)
        same = sum(reference.sequence[i] == mobile.sequence[j] for i, j in pairs)
        shorter = min(len(reference.sequence), len(mobile.sequence))
        if how == "numbering" or (shorter and same >= NUMBERING_AGREEMENT * shorter):
            return pairs, "numbering"
    return _pairs_by_sequence(reference, mobile), "sequence"


def _chain_pairs(ref_chains: list[CaChain], mob_chains: list[CaChain]) -> list[tuple[CaChain, CaChain]]:
    mob_by_id = {c.chain_id: c for c in mob_chains}
    if all(c.chain_id in mob_by_id for c in ref_chains):
        return [(c, mob_by_id[c.chain_id]) for c in ref_chains]
    return list(zip(ref_chains, mob_chains))


def _select(chains: list[CaChain], chain_id: str | None, name: str) -> list[CaChain]:
    if not chains:
        raise InputError("no protein CA atoms to compare", source=name)
    if chain_id is None:
        return chains
    chosen = [c for c in chains if c.chain_id == chain_id]
    if not chosen:
        raise InputError(f"no protein chain '{chain_id}' (protein chains: "
                         f"{', '.join(c.chain_id for c in chains)})", source=name)
    return chosen


def _tm_refined(ref_ca: struc.AtomArray, mob_ca: struc.AtomArray, length: int) -> float:
    """Best TM-score over the least-squares superposition and superpositions on the pairs closer than
    a cutoff (d0, 2 d0, 4 d0), each iterated until the set of close pairs stops changing.

    ``ref_ca`` and ``mob_ca`` are the paired CA atoms, ``mob_ca`` already superimposed.
    """
    d0 = 1.24 * np.cbrt(max(length, 19) - 15) - 1.8  # TM-score distance scale, as in biotite
    pairs = np.arange(len(ref_ca))
    start = mob_ca.coord.copy()

    def score(coord):
        moved = mob_ca.copy()
        moved.coord = coord
        value = struc.tm_score(ref_ca, moved, pairs, pairs, reference_length=length)
        return float(value), np.linalg.norm(coord - ref_ca.coord, axis=1)

    best, start_distance = score(start)
    for cutoff in (d0, 2 * d0, 4 * d0):
        distance = start_distance
        for _ in range(10):
            close = distance < cutoff
            if close.sum() < _MIN_PAIRS:
                break
            _, transform = struc.superimpose(ref_ca.coord[close], start[close])
            value, new_distance = score(transform.apply(start))
            best = max(best, value)
            if np.array_equal(new_distance < cutoff, close):
                break
            distance = new_distance
    return best


def compare_structures(reference, mobile, *, reference_chain: str | None = None,
                       mobile_chain: str | None = None, match: str = "auto") -> StructureComparison:
    """Superimpose ``mobile`` on ``reference`` and measure how far apart they are.

    Parameters
    ----------
    reference, mobile : Structure or biotite.structure.AtomArray
    reference_chain, mobile_chain : str, optional
        Compare only these chains. By default chains with the same identifiers are paired (or chains in
        file order when the identifiers differ).
    match : {"auto", "numbering", "sequence"}
        How residues are paired (see the module notes).

    Raises
    ------
    InputError
        When a chain is missing or fewer than 3 residues pair up.
    """
    ref_atoms, ref_ids, ref_name = _atoms_of(reference, "reference")
    mob_atoms, mob_ids, mob_name = _atoms_of(mobile, "mobile")
    ref_chains = _select(ca_residues(ref_atoms, ref_ids), reference_chain, ref_name)
    mob_chains = _select(ca_residues(mob_atoms, mob_ids), mobile_chain, mob_name)
    if reference_chain is not None or mobile_chain is not None:
        ref_chains, mob_chains = ref_chains[:1], mob_chains[:1]

    ref_index, mob_index, ref_res, mob_res, methods, same = [], [], [], [], set(), 0
    for ref_c, mob_c in _chain_pairs(ref_chains, mob_chains):
        pairs, method = match_residues(ref_c, mob_c, match)
        methods.add(method)
        for i, j in pairs:
            ref_index.append(ref_c.indices[i])
            mob_index.append(mob_c.indices[j])
            ref_res.append(ref_c.residues[i])
            mob_res.append(mob_c.residues[j])
            same += ref_c.sequence[i] == mob_c.sequence[j]
    if len(ref_index) < _MIN_PAIRS:
        raise InputError(f"only {len(ref_index)} residues of {mob_name} pair up with {ref_name}: are they the "
                         f"same protein?", source=mob_name)
    ref_ca = ref_atoms[np.array(ref_index)]
    moved_ca, transform = struc.superimpose(ref_ca, mob_atoms[np.array(mob_index)])
    displacement = np.linalg.norm(moved_ca.coord - ref_ca.coord, axis=1)
    rmsd = float(np.sqrt(np.mean(displacement ** 2)))
    length = sum(len(c.residues) for c in ref_chains)
    tm = _tm_refined(ref_ca, moved_ca, length)
    return StructureComparison(
        rmsd=rmsd, tm_score=min(1.0, tm), n_pairs=len(ref_index), reference_length=length,
        reference_residues=ref_res, mobile_residues=mob_res, displacement=displacement,
        superimposed=transform.apply(mob_atoms), transform=transform,
        matching="sequence" if "sequence" in methods else "numbering", identity=same / len(ref_index))
