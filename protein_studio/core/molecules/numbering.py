"""The one map between sequence positions and structure residues.

Every view (sequence, heatmap, 3D, tables) converts positions through a :class:`NumberingMap`: a 0-based
index into the working sequence on one side, a :class:`~protein_studio.core.molecules.structures.ResidueId`
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

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import biotite.sequence as bseq
import biotite.sequence.align as balign
import biotite.structure as struc
import numpy as np

from protein_studio.core.errors import InputError
from protein_studio.core.molecules.mutations import MultiMutant, Mutation, split_mutant_text
from protein_studio.core.molecules.structures import (ChainInfo, ResidueId, Structure, structure_from_text,
                                                     to_pdb_text)

__all__ = ["renumber_like", "Mismatch", "NumberingMap", "NumberingScheme", "SCHEMES", "read_numbering_table", "load_numbering_table",
           "align_indices"]

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
                 mismatches: Iterable[Mismatch] = (), labels: Iterable[str | None] | None = None,
                 breaks: Iterable[int] = ()):
        self.sequence = str(sequence)
        self.residues: tuple[ResidueId | None, ...] = tuple(residues)
        if len(self.residues) != len(self.sequence):
            raise ValueError(f"{len(self.residues)} residues for a sequence of {len(self.sequence)}")
        self.chain = chain
        self.mismatches: tuple[Mismatch, ...] = tuple(mismatches)
        #: author label of each index (``None``: none); a chromophore's letters share one residue but
        #: each has its own label
        self.labels: tuple[str | None, ...] = (tuple(labels) if labels is not None else
                                               tuple(r.label if r is not None else None for r in self.residues))
        if len(self.labels) != len(self.sequence):
            raise ValueError(f"{len(self.labels)} labels for a sequence of {len(self.sequence)}")
        #: 0-based indices i with a chain break (missing residues) between i and i + 1
        self.breaks: tuple[int, ...] = tuple(sorted(set(breaks)))
        self._indices: dict[ResidueId, list[int]] = {}
        for i, residue in enumerate(self.residues):
            if residue is not None:
                self._indices.setdefault(residue, []).append(i)
        for residue, indices in self._indices.items():
            if indices != list(range(indices[0], indices[0] + len(indices))):
                raise ValueError(f"structure residue {residue} is mapped to sequence indices that are not "
                                 f"consecutive")
        self._index = {residue: indices[0] for residue, indices in self._indices.items()}

    # ---- construction ---------------------------------------------------------------------------

    @classmethod
    def for_chain(cls, chain: ChainInfo) -> "NumberingMap":
        """The map of a chain onto its own sequence: index ``i`` is ``chain.residues[i]``."""
        return cls(chain.sequence, chain.residues, chain.chain_id, labels=chain.labels, breaks=chain.breaks)

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
        pairs = align_indices(text, chain.sequence, local=local)
        residues: list[ResidueId | None] = [None] * len(text)
        labels: list[str | None] = [None] * len(text)
        chain_index: list[int | None] = [None] * len(text)
        mismatches = []
        for i, j in pairs:
            residues[i] = chain.residues[j]
            labels[i] = chain.labels[j]
            chain_index[i] = j
            if text[i] != chain.sequence[j]:
                mismatches.append(Mismatch(int(i), text[i], chain.residues[j], chain.sequence[j]))
        identity = (len(pairs) - len(mismatches)) / len(pairs) if pairs else 0.0
        if not _matches(len(pairs) - len(mismatches), len(pairs), min(len(text), len(chain.sequence)),
                        min_identity):
            raise InputError(f"does not match chain {chain.chain_id}: {identity:.0%} identical over "
                             f"{len(pairs)} aligned residues (at least {min_identity:.0%} of the shorter "
                             f"sequence needed)", source=name)
        chain_breaks = set(chain.breaks)
        breaks = []
        for i in range(len(text) - 1):
            a, b = chain_index[i], chain_index[i + 1]
            if (a is None) != (b is None):
                breaks.append(i)  # the structure's coordinates start or stop here
            elif a is not None and (b != a + 1 or a in chain_breaks):
                breaks.append(i)  # residues of the structure in between, or a break in the chain itself
        return cls(text, residues, chain.chain_id, mismatches, labels=labels, breaks=breaks)

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
        """The 0-based sequence index of a structure residue, ``None`` if it is not in the map (the first
        letter of a chromophore)."""
        return self._index.get(residue)

    def indices_of(self, residue: ResidueId) -> list[int]:
        """Every 0-based sequence index of a structure residue (several for a chromophore)."""
        return list(self._indices.get(residue, ()))

    def label(self, index: int) -> str:
        """The author label of a sequence index (``"42"`` or ``"42A"``), ``""`` if it has none."""
        if 0 <= index < len(self.labels):
            return self.labels[index] or ""
        return ""


def _matches(identical: int, aligned: int, shorter: int, min_identity: float) -> bool:
    """Two sequences are the same protein when at least ``min_identity`` of the aligned pairs and of the
    shorter sequence's residues are identical (a single identical pair of unrelated sequences is not)."""
    return aligned > 0 and identical >= min_identity * aligned and identical >= min_identity * shorter


def align_indices(query: str, target: str, local: bool = False) -> list[tuple[int, int]]:
    """Aligned index pairs ``(i, j)`` of two protein sequences (biotite's optimal alignment: BLOSUM62,
    gap open -10 / extend -1, terminal gaps free or local). Letters outside the alphabet align as ``X``."""
    if query == target:
        return [(i, i) for i in range(len(query))]
    a = bseq.ProteinSequence("".join(c if c in _ALIGNABLE else "X" for c in query.upper()))
    b = bseq.ProteinSequence("".join(c if c in _ALIGNABLE else "X" for c in target.upper()))
    matrix = balign.SubstitutionMatrix.std_protein_matrix()
    alignment = balign.align_optimal(a, b, matrix, gap_penalty=(-10, -1), terminal_penalty=False,
                                     local=local, max_number=1)[0]
    return [(int(i), int(j)) for i, j in alignment.trace if i >= 0 and j >= 0]


# ------------------------------------------------------------------------------------------------
# numbering schemes: how positions are named to the user

#: The numbering schemes a document can be shown in.
SCHEMES = ("sequence", "structure", "reference", "offset", "table")

_LABEL_TEXT = re.compile(r"-?[0-9]+[A-Za-z]?", re.ASCII)
_SEQUENCE_INDEX = re.compile(r"\((-?[0-9]+)\)", re.ASCII)


@dataclass(frozen=True)
class NumberingScheme:
    """How the positions of one sequence are named: the one place where a label becomes a position.

    Every view, command, mutation text and export converts between 0-based sequence indices and the
    labels the user reads through this object. Labels are residue numbers with an optional insertion code
    (``"42"``, ``"52A"``, ``"-3"``); a position the scheme has no number for is written ``"(12)"``, its
    1-based sequence index, which every scheme reads back.

    Build one with :meth:`sequence`, :meth:`with_offset`, :meth:`from_structure`, :meth:`from_reference`
    or :meth:`from_table`.

    Parameters
    ----------
    kind : str
        One of :data:`SCHEMES`.
    labels : tuple of str or None
        The label of each 0-based index, ``None`` where the scheme has none.
    description : str
        What it is, for status bars, headers and provenance (``"structure 1btl chain A"``).
    offset : int
        For ``"offset"``: index ``i`` is numbered ``i + 1 + offset``.
    source : str
        For ``"reference"`` and ``"table"``: where the numbering came from (a file name).
    """

    kind: str
    labels: tuple
    description: str
    offset: int = 0
    source: str = ""
    _index: dict = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        if self.kind not in SCHEMES:
            raise ValueError(f"unknown numbering {self.kind!r}; use one of {', '.join(SCHEMES)}")
        index: dict[str, int] = {}
        for i, label in enumerate(self.labels):
            if label is None:
                continue
            key = str(label).upper()
            if key in index:
                raise InputError(f"label {label} names two positions ({index[key] + 1} and {i + 1}) in the "
                                 f"{self.description} numbering")
            index[key] = i
        object.__setattr__(self, "_index", index)

    # ---- construction ------------------------------------------------------------------------
    @classmethod
    def sequence(cls, length: int) -> "NumberingScheme":
        """1-based sequence indices: position ``i`` is ``i + 1``."""
        return cls("sequence", tuple(str(i + 1) for i in range(length)), "sequence")

    @classmethod
    def with_offset(cls, length: int, offset: int) -> "NumberingScheme":
        """Sequence index shifted by ``offset``: position ``i`` is ``i + 1 + offset``."""
        offset = int(offset)
        return cls("offset", tuple(str(i + 1 + offset) for i in range(length)), f"offset {offset:+d}",
                   offset=offset)

    @classmethod
    def from_structure(cls, numbering: "NumberingMap", name: str = "") -> "NumberingScheme":
        """The structure's author numbering (with insertion codes) through a :class:`NumberingMap`;
        positions the structure lacks have no label."""
        where = f"{name} chain {numbering.chain}".strip()
        return cls("structure", tuple(label or None for label in numbering.labels), f"structure {where}",
                   source=where)

    @classmethod
    def from_reference(cls, sequence: str, reference: str, name: str = "reference",
                       first_residue: int = 1) -> "NumberingScheme":
        """The numbering of a reference sequence (e.g. the UniProt entry) aligned to this one.

        Parameters
        ----------
        sequence : str
            This document's sequence.
        reference : str
            The reference sequence; its residue ``j`` (0-based) is numbered ``first_residue + j``.
        name : str
            The reference's name (shown and stored).

        Raises
        ------
        InputError
            When fewer than 30 % of the aligned pairs are identical.
        """
        pairs = align_indices(sequence, reference)
        same = sum(sequence[i] == reference[j] for i, j in pairs)
        if not _matches(same, len(pairs), min(len(sequence), len(reference)), 0.3):
            raise InputError(f"reference {name} does not match the sequence "
                             f"({same} of {len(pairs)} aligned residues identical)")
        labels: list[str | None] = [None] * len(sequence)
        for i, j in pairs:
            labels[i] = str(first_residue + j)
        return cls("reference", tuple(labels), f"reference {name}", source=name)

    @classmethod
    def from_table(cls, length: int, text: str, source: str = "table") -> "NumberingScheme":
        """A user's table of 1-based sequence index -> label (see :func:`read_numbering_table`)."""
        labels = read_numbering_table(text, length, source)
        return cls("table", tuple(labels), f"table {source}", source=source)

    # ---- queries ---------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.labels)

    def label(self, index: int) -> str | None:
        """The label of 0-based ``index`` in this scheme, ``None`` when it has none."""
        return self.labels[index] if 0 <= index < len(self.labels) else None

    def display(self, index: int) -> str:
        """The label, or ``"(12)"`` (1-based sequence index) where the scheme has none."""
        label = self.label(index)
        return label if label is not None else f"({index + 1})"

    def index(self, label: str) -> int | None:
        """The 0-based index a label names, ``None`` when no position has it. ``"(12)"`` is sequence
        index 12 in every scheme."""
        text = str(label).strip()
        match = _SEQUENCE_INDEX.fullmatch(text)
        if match:
            i = int(match.group(1)) - 1
            return i if 0 <= i < len(self.labels) else None
        return self._index.get(text.upper())

    @property
    def span(self) -> str:
        """``"1-263"``: the first and last labels (``"no numbered positions"`` when none)."""
        present = [label for label in self.labels if label is not None]
        return f"{present[0]}-{present[-1]}" if present else "no numbered positions"

    def name_mutant(self, mutant: MultiMutant | Mutation) -> str:
        """The name of a mutant given in 1-based sequence positions, in this scheme: ``"E104K:G238S"``."""
        if isinstance(mutant, Mutation):
            mutant = MultiMutant((mutant,))
        return ":".join(f"{m.wt}{self.display(m.position - 1)}{m.mt}" for m in mutant.mutations)

    def name_substitution(self, index: int, wt: str, mt: str) -> str:
        """``"E104K"`` for 0-based ``index``."""
        return f"{wt}{self.display(index)}{mt}"

    def parse_mutant(self, text: str, sequence: str,
                     others: Mapping[str, "NumberingScheme"] | None = None) -> MultiMutant:
        """Read a mutant written in this scheme into 1-based sequence positions, checked against ``sequence``.

        Parameters
        ----------
        text : str
            ``"E104K:G238S"``, ``"p.Glu104Lys"``, ``"E52AA"`` (insertion code), ``"M(1)A"`` (sequence index).
        sequence : str
            The wild type the letters are checked against.
        others : mapping of str to NumberingScheme, optional
            The document's other schemes, named in the message when a label is not found or its residue
            differs, so a user who typed a number from another scheme sees what it means there.

        Raises
        ------
        InputError
            Naming the mutation, the label, what this scheme has there and what the others have.
        """
        items = split_mutant_text(text)
        mutations = []
        errors = []
        for item in items:
            index = self.index(item.label)
            if index is None:
                errors.append(f"{item.text}: {self.description} numbering has no position {item.label} "
                              f"({self.span})" + self._elsewhere(item.label, item.wt, sequence, others))
                continue
            if sequence[index] != item.wt:
                errors.append(f"{item.text}: position {item.label} is {sequence[index]}, not {item.wt}"
                              + self._elsewhere(item.label, item.wt, sequence, others))
                continue
            mutations.append(Mutation(index + 1, item.wt, item.mt))
        if errors:
            raise InputError("; ".join(errors))
        try:
            return MultiMutant(tuple(mutations))
        except InputError as exc:  # a position twice: say it in this scheme's labels
            raise InputError(f"in {text.strip()!r}: {exc.reason} (one position given twice)") from None

    def _elsewhere(self, label: str, wt: str, sequence: str,
                   others: Mapping[str, "NumberingScheme"] | None) -> str:
        notes = []
        for name, scheme in (others or {}).items():
            if scheme is self or scheme.kind == self.kind and scheme.labels == self.labels:
                continue
            i = scheme.index(label)
            if i is None:
                notes.append(f"{name} numbering has no {label}")
            else:
                match = ", matching" if sequence[i] == wt else ""
                notes.append(f"in {name} numbering {label} is {sequence[i]} ({self.display(i)} here{match})")
        return f"; {'; '.join(notes)}" if notes else ""

    def parse_positions(self, text: str) -> list[int]:
        """``"10-50, 77, 52A"`` in this scheme -> sorted 0-based indices (ranges inclusive, by index).

        Raises
        ------
        InputError
            Text that is not labels and ranges, or a label the scheme does not have.
        """
        chosen: set[int] = set()
        for part in re.split(r"[,;]", text):
            part = part.strip()
            if not part:
                continue
            match = re.fullmatch(r"(\(-?[0-9]+\)|-?[0-9]+[A-Za-z]?)(?:\s*(?:-|\.\.)\s*"
                                 r"(\(-?[0-9]+\)|-?[0-9]+[A-Za-z]?))?", part, re.ASCII)
            if match is None:
                raise InputError(f"'{part}' is not a position or a range like 30-80", source="positions")
            ends = []
            for label in match.groups():
                if label is None:
                    continue
                i = self.index(label)
                if i is None:
                    raise InputError(f"position {label} is not in the {self.description} numbering ({self.span})",
                                     source="positions")
                ends.append(i)
            lo, hi = min(ends), max(ends)
            chosen.update(range(lo, hi + 1))
        if not chosen:
            raise InputError("no positions given", source="positions")
        return sorted(chosen)

    def format_positions(self, indices) -> str:
        """0-based indices -> ``"10-50, 77"`` in this scheme (runs of consecutive indices as ranges), the
        text :meth:`parse_positions` reads back to the same indices."""
        runs: list[list[int]] = []
        for i in sorted(set(int(i) for i in indices)):
            if runs and i == runs[-1][1] + 1:
                runs[-1][1] = i
            else:
                runs.append([i, i])
        return ", ".join(self.display(a) if a == b else f"{self.display(a)}-{self.display(b)}" for a, b in runs)

    def to_dict(self) -> dict:
        """Plain data for projects and provenance (labels included, so a table needs no file)."""
        return {"kind": self.kind, "description": self.description, "offset": self.offset,
                "source": self.source, "labels": list(self.labels)}

    @classmethod
    def from_dict(cls, data: Mapping) -> "NumberingScheme":
        return cls(str(data["kind"]), tuple(data["labels"]), str(data["description"]), int(data.get("offset", 0)),
                   str(data.get("source", "")))


def read_numbering_table(text: str, length: int, source: str = "table") -> list[str | None]:
    """Labels from a table of 1-based sequence index -> label (CSV or tab-separated, ``#`` comments, an
    optional header). Indices not in the table have no label; a scheme may skip numbers (Ambler's class A
    beta-lactamase numbering has no 239 and 253).

    Raises
    ------
    InputError
        Naming the file and line: an index that is not a number or is outside 1-``length``, an index or a
        label given twice, a label that is not a residue number (``42``, ``52A``, ``-3``).
    """
    labels: list[str | None] = [None] * length
    seen: dict[str, int] = {}
    given: dict[int, int] = {}
    lines = text.splitlines()
    rows = 0
    for number, line in enumerate(lines, start=1):
        content = line.split("#", 1)[0].strip()
        if not content:
            continue
        delimiter = "\t" if "\t" in content else ","
        if len(content) > 10_000:
            raise InputError(f"a line of {len(content):,} characters: a numbering table has an index and a label",
                             source=source, line=number)
        cells = [c.strip() for c in next(csv.reader(io.StringIO(content), delimiter=delimiter))]
        if len(cells) < 2:
            raise InputError(f"expected two columns, sequence index and label, not {content!r}",
                             source=source, line=number)
        index_text, label = cells[0], cells[1]
        if rows == 0 and not index_text.lstrip("-").isdigit():
            rows = -1  # a header line
            continue
        rows = max(rows, 0) + 1
        if not index_text.isascii() or not index_text.isdigit():
            raise InputError(f"sequence index {index_text!r} is not a number", source=source, line=number)
        index = int(index_text)
        if not 1 <= index <= length:
            raise InputError(f"sequence index {index} is outside the sequence (1-{length})", source=source,
                             line=number)
        if not _LABEL_TEXT.fullmatch(label):
            raise InputError(f"label {label!r} is not a residue number like 42, 52A or -3", source=source,
                             line=number)
        if index in given:
            raise InputError(f"sequence index {index} is given twice (lines {given[index]} and {number})",
                             source=source, line=number)
        key = label.upper()
        if key in seen:
            raise InputError(f"label {label} is given twice (lines {seen[key]} and {number})", source=source,
                             line=number)
        given[index] = number
        seen[key] = number
        labels[index - 1] = label.upper()
    if not seen:
        raise InputError("the numbering table holds no rows (index,label)", source=source)
    return labels


def load_numbering_table(path: str | Path, length: int) -> "NumberingScheme":
    """:meth:`NumberingScheme.from_table` on a file, read through the project's file reader."""
    from protein_studio.core.files import read_input_text

    path = Path(path)
    return NumberingScheme.from_table(length, read_input_text(path, "a numbering table"), path.name)


def renumber_like(structure: Structure, numbering: Any, name: str | None = None) -> Structure:
    """A one-chain structure of the document's sequence, renumbered like the document (amino acids only).

    Residue ``i`` gets ``numbering.residue_at(i)`` (chain, number, insertion code). A position the
    numbering does not map keeps a place next to its neighbours: after a mapped residue it takes that
    number with the next free insertion code, before the first mapped one the numbers below it.

    Parameters
    ----------
    structure : Structure
        One chain with one residue per sequence position (e.g. a prediction of the document's sequence).
    numbering : NumberingMap
        The document's numbering map (same length).
    name : str, optional

    Raises
    ------
    InputError
        When the residue counts differ or no free number is left for an unmapped position.
    """
    atoms = structure.atoms[struc.filter_amino_acids(structure.atoms)].copy()
    starts = struc.get_residue_starts(atoms)
    if len(starts) != len(numbering):
        raise InputError(f"{len(starts)} residues in the structure, {len(numbering)} in the sequence",
                         source=structure.name)
    chain = numbering.chain or "A"
    mapped = [numbering.residue_at(i) for i in range(len(numbering))]
    used = {(r.chain, r.number, r.insertion) for r in mapped if r is not None}
    ids: list[ResidueId] = []
    first_mapped = next((i for i, r in enumerate(mapped) if r is not None), None)
    for i, residue in enumerate(mapped):
        if residue is None:
            if first_mapped is None:
                residue = ResidueId(chain, i + 1)
            elif i < first_mapped:
                residue = ResidueId(chain, mapped[first_mapped].number - (first_mapped - i))
            else:
                before = ids[-1]
                residue = None
                for code in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
                    key = (before.chain, before.number, code)
                    if key not in used and (not before.insertion or code > before.insertion):
                        residue = ResidueId(before.chain, before.number, code)
                        break
                if residue is None:
                    raise InputError(f"no free insertion code after residue {before}", source=structure.name)
            used.add((residue.chain, residue.number, residue.insertion))
        ids.append(residue)
    ends = list(starts[1:]) + [len(atoms)]
    codes = np.array(atoms.ins_code if "ins_code" in atoms.get_annotation_categories() else [""] * len(atoms),
                     dtype="<U1")
    for residue, start, end in zip(ids, starts, ends):
        atoms.chain_id[start:end] = residue.chain
        atoms.res_id[start:end] = residue.number
        codes[start:end] = residue.insertion
    atoms.set_annotation("ins_code", codes)
    return structure_from_text(to_pdb_text(atoms), "pdb", name=name or structure.name,
                               confidence=structure.confidence_kind)
