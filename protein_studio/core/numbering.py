"""The one map between sequence positions and structure residues.

Every view (sequence, heatmap, 3D, tables) converts positions through a :class:`NumberingMap`: a 0-based
index into the working sequence on one side, a :class:`~protein_studio.core.structures.ResidueId`
(chain, residue number, insertion code) on the other. When the user's sequence and the structure's chain
differ (a full-length UniProt sequence with its signal peptide against a crystal structure of the mature
protein, point mutants, missing loops) the two are aligned with biotite's optimal alignment (BLOSUM62,
affine gaps, free terminal gaps) and the differing residues are reported.

Examples
--------
>>> structure = load_structure("tests/data/1btl.pdb")                    # doctest: +SKIP
>>> numbering = NumberingMap.align(uniprot_sequence, structure.chain("A"))  # doctest: +SKIP
>>> numbering.residue_at(25)                                               # doctest: +SKIP
ResidueId(chain='A', number=1, insertion='')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import biotite.sequence as bseq
import biotite.sequence.align as balign

from protein_studio.core.errors import InputError
from protein_studio.core.structures import ChainInfo, ResidueId

__all__ = ["Mismatch", "NumberingMap"]

_ALIGNABLE = frozenset(bseq.ProteinSequence.alphabet.get_symbols()) - {"*"}


@dataclass(frozen=True)
class Mismatch:
    """An aligned pair where the sequence and the structure have different residues.

    Parameters
    ----------
    index : int
        0-based index in the sequence.
    sequence_residue : str
        The sequence's residue there.
    residue : ResidueId
        The structure residue it is aligned to.
    structure_residue : str
        The structure's one-letter residue.
    """

    index: int
    sequence_residue: str
    residue: ResidueId
    structure_residue: str

    def __str__(self) -> str:
        return (f"sequence {self.sequence_residue}{self.index + 1} vs structure "
                f"{self.structure_residue} at {self.residue}")


class NumberingMap:
    """Map between 0-based sequence indices and structure residues.

    Build one with :meth:`for_chain` (the chain's own sequence), :meth:`align` (a user's sequence
    aligned to a chain) or :meth:`plain` (no structure: consecutive numbers).

    Parameters
    ----------
    sequence : str
        The working sequence (one letter per residue).
    residues : iterable of ResidueId or None
        For each sequence index, its structure residue, or ``None`` when it has none.
    chain : str
        The chain the residues belong to.
    mismatches : iterable of Mismatch, optional
        Aligned pairs whose residues differ.
    """

    def __init__(self, sequence: str, residues: Iterable[ResidueId | None], chain: str,
                 mismatches: Iterable[Mismatch] = ()):
        self.sequence = str(sequence)
        self.residues: tuple[ResidueId | None, ...] = tuple(residues)
        if len(self.residues) != len(self.sequence):
            raise ValueError(f"{len(self.residues)} residues for a sequence of {len(self.sequence)}")
        self.chain = chain
        self.mismatches: tuple[Mismatch, ...] = tuple(mismatches)
        self._index = {residue: i for i, residue in enumerate(self.residues) if residue is not None}
        if len(self._index) != sum(residue is not None for residue in self.residues):
            raise ValueError("a structure residue is mapped to more than one sequence index")

    # ---- construction ---------------------------------------------------------------------------

    @classmethod
    def for_chain(cls, chain: ChainInfo) -> "NumberingMap":
        """The map of a chain onto its own sequence: index ``i`` is ``chain.residues[i]``."""
        return cls(chain.sequence, chain.residues, chain.chain_id)

    @classmethod
    def plain(cls, length: int, first_residue: int = 1, chain: str = "A",
              sequence: str | None = None) -> "NumberingMap":
        """Consecutive numbering for a sequence without a structure: index ``i`` is ``first_residue + i``.

        `sequence` (of `length` residues) is kept as :attr:`sequence`; without it that is ``"X" * length``.
        """
        if length < 0:
            raise ValueError("length must not be negative")
        sequence = "X" * length if sequence is None else sequence
        return cls(sequence, (ResidueId(chain, first_residue + i) for i in range(length)), chain)

    @classmethod
    def align(cls, sequence, chain: ChainInfo, min_identity: float = 0.3,
              local: bool = False) -> "NumberingMap":
        """Align a user's sequence to a chain and map each aligned sequence index to its residue.

        Semi-global alignment (terminal gaps free, BLOSUM62, gap open -10 / extend -1) by default, so
        a full-length sequence finds the fragment a structure covers and vice versa, while a mutated
        first or last residue stays aligned (as a mismatch); ``local=True`` aligns only the
        best-matching segment.

        Parameters
        ----------
        sequence : str or object with a ``sequence`` attribute (e.g. ProteinSequence)
            The user's sequence. Characters outside the alignment alphabet are aligned as ``X``.
        chain : ChainInfo
            The structure chain.
        min_identity : float, optional
            The smallest fraction of identical residues among the aligned pairs accepted.
        local : bool, optional
            Local instead of semi-global alignment.

        Returns
        -------
        NumberingMap
            With :attr:`mismatches` listing aligned pairs whose residues differ.

        Raises
        ------
        InputError
            When the sequence or chain is empty, or the two do not share at least `min_identity`.
        """
        text = str(getattr(sequence, "sequence", sequence)).upper()
        name = getattr(sequence, "name", "sequence")
        if not text or not chain.sequence:
            raise InputError(f"cannot align an empty sequence to chain {chain.chain_id}", source=name)
        if text == chain.sequence:
            return cls.for_chain(chain)
        query = bseq.ProteinSequence("".join(c if c in _ALIGNABLE else "X" for c in text))
        target = bseq.ProteinSequence("".join(c if c in _ALIGNABLE else "X" for c in chain.sequence))
        matrix = balign.SubstitutionMatrix.std_protein_matrix()
        alignment = balign.align_optimal(query, target, matrix, gap_penalty=(-10, -1),
                                         terminal_penalty=False, local=local, max_number=1)[0]
        residues: list[ResidueId | None] = [None] * len(text)
        mismatches = []
        pairs = 0
        for i, j in alignment.trace:
            if i < 0 or j < 0:
                continue
            pairs += 1
            residues[i] = chain.residues[j]
            if text[i] != chain.sequence[j]:
                mismatches.append(Mismatch(int(i), text[i], chain.residues[j], chain.sequence[j]))
        identity = (pairs - len(mismatches)) / pairs if pairs else 0.0
        if pairs == 0 or identity < min_identity:
            raise InputError(f"does not match chain {chain.chain_id}: {identity:.0%} identical over "
                             f"{pairs} aligned residues (at least {min_identity:.0%} needed)", source=name)
        return cls(text, residues, chain.chain_id, mismatches)

    # ---- queries --------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.residues)

    def __repr__(self) -> str:
        return (f"NumberingMap(chain={self.chain!r}, length={len(self)}, mapped={self.mapped}, "
                f"mismatches={len(self.mismatches)})")

    @property
    def mapped(self) -> int:
        """How many sequence indices have a structure residue."""
        return len(self._index)

    @property
    def identity(self) -> float:
        """Fraction of mapped positions whose residues agree (1.0 when nothing is mapped)."""
        return 1.0 - len(self.mismatches) / self.mapped if self.mapped else 1.0

    def residue_at(self, index: int) -> ResidueId | None:
        """The structure residue of 0-based sequence index `index`; ``None`` if none or out of range."""
        if 0 <= index < len(self.residues):
            return self.residues[index]
        return None

    def index_of(self, residue: ResidueId) -> int | None:
        """The 0-based sequence index of a structure residue, ``None`` if it is not in the map."""
        return self._index.get(residue)

    def label(self, index: int) -> str:
        """The residue label of a sequence index (``"42"`` or ``"42A"``), ``""`` if it has no residue."""
        residue = self.residue_at(index)
        return residue.label if residue is not None else ""
