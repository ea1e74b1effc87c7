"""One protein as the application holds it: a :class:`Document` (name, wild type, edited sequence,
numbering, optional structure) and how it is read from files, or rebuilt from a project's copy of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from protein_studio.core.errors import InputError
from protein_studio.core.formats import FASTA_SUFFIXES, STRUCTURE_SUFFIXES
from protein_studio.core.molecules.mutations import MultiMutant, Mutation, validate_mutant
from protein_studio.core.molecules.numbering import NumberingMap, NumberingScheme
from protein_studio.core.molecules.sequences import AMINO_ACIDS, clean_sequence, read_fasta

__all__ = ["Document", "load_document", "load_sources", "document_from_sources", "scheme_for",
           "sequence_from_text", "mutant_fits", "numbering_for", "default_scheme", "excluded_residues"]

_AA_INDEX = {aa: i for i, aa in enumerate(AMINO_ACIDS)}


@dataclass(frozen=True)
class Document:
    """One protein: its sequences, numbering and (optionally) structure.

    Positions inside the application are 0-based indices (1-based in :class:`MultiMutant` objects,
    which engines read); the user sees and types labels of :attr:`scheme`, the one numbering object
    every view, command and export goes through.

    Parameters
    ----------
    name : str
    wild_type : str
        The sequence as opened; mutations are counted against it.
    sequence : str
        The current sequence (same length as ``wild_type``).
    numbering : NumberingMap
        Sequence index <-> structure residue (or plain numbers when there is no structure).
    structure : Structure, optional
    chain : str, optional
        The structure chain the sequence belongs to.
    paths : tuple of Path
        Files it was read from.
    notes : tuple of str
        What the user should know about how it was read (e.g. "opened the first of 3 sequences").
    scheme : NumberingScheme, optional
        The numbering shown; default: the structure's author numbering when there is a structure,
        else the FASTA record's own range (``/26-290`` in its name) or the sequence index.
    records : tuple of str
        Names of the records of the FASTA file it came from (a record picker offers them).
    record : int
        Which of ``records`` this is (0-based).
    excluded : mapping of int to str
        0-based indices left out of scans and rankings, with the reason (a chromophore's residues).
    sources : tuple of (str, bytes)
        The files it was read from, by name, as they were when opened (a project keeps them, so it
        opens the same document after the files changed or moved).
    confidence : {"plddt", "bfactor"} or None
        What the user said the structure's B-factor column holds (View > B-factor Column); None: as read.
    """

    name: str
    wild_type: str
    sequence: str
    numbering: Any
    structure: Any = None
    chain: str | None = None
    paths: tuple = ()
    notes: tuple = ()
    scheme: Any = None
    records: tuple = ()
    record: int = 0
    excluded: Mapping[int, str] = field(default_factory=dict)
    sources: tuple = field(default=(), repr=False)
    confidence: str | None = None

    def __post_init__(self):
        if self.scheme is None:
            object.__setattr__(self, "scheme", NumberingScheme.sequence(len(self.sequence)))
        if len(self.scheme) != len(self.sequence):
            raise ValueError(f"numbering of {len(self.scheme)} positions for a sequence of {len(self.sequence)}")

    def __len__(self) -> int:
        return len(self.sequence)

    def position(self, index: int) -> int:
        """The 1-based sequence index of 0-based ``index`` (what MultiMutant objects and engines use)."""
        return index + 1

    def label(self, index: int) -> str:
        """How the ruler, tables and mutation names call ``index`` in the scheme shown (``"42"``,
        ``"42A"``; ``"(12)"``, the sequence index, where the scheme has no number)."""
        return self.scheme.display(index)

    def labels(self) -> list[str]:
        return [self.scheme.display(i) for i in range(len(self))]

    @property
    def breaks(self) -> tuple[int, ...]:
        """0-based indices ``i`` with a chain break (missing residues in the structure) after ``i``."""
        return tuple(getattr(self.numbering, "breaks", ()))

    def schemes(self) -> dict[str, NumberingScheme]:
        """The numberings this document can be shown in, by name: sequence, structure (when there is
        one) and the one shown."""
        out = {"sequence": NumberingScheme.sequence(len(self))}
        if self.structure is not None and getattr(self.numbering, "mapped", 0):
            out["structure"] = NumberingScheme.from_structure(self.numbering, self.structure.name)
        out[self.scheme.kind] = self.scheme
        return out

    def residue_text(self, index: int) -> str:
        """``"E104 (sequence 102, A:79)"``: letter and label, with the sequence index and the structure
        residue where they differ from the label."""
        text = f"{self.sequence[index]}{self.label(index)}"
        extra = []
        if self.scheme.kind != "sequence" and self.scheme.label(index) is not None:
            extra.append(f"sequence {index + 1}")
        residue = self.numbering.residue_at(index) if self.numbering is not None else None
        if residue is not None:
            extra.append(str(residue))
        if index in self.excluded:
            extra.append(self.excluded[index])
        return f"{text} ({', '.join(extra)})" if extra else text

    def name_mutant(self, mutant: MultiMutant | Mutation) -> str:
        """A mutant (1-based sequence positions) named in the scheme shown."""
        return self.scheme.name_mutant(mutant)

    def parse_mutant(self, text: str, against: str | None = None) -> MultiMutant:
        """Read a mutant typed in the scheme shown; checked against ``against`` (default the wild type)."""
        return self.scheme.parse_mutant(text, self.wild_type if against is None else against, self.schemes())

    def mutated_indices(self) -> list[int]:
        """0-based indices where the current sequence differs from the wild type."""
        return [i for i, (a, b) in enumerate(zip(self.wild_type, self.sequence)) if a != b]

    def mutations(self) -> MultiMutant | None:
        """The current sequence as a multi-mutant of the wild type in 1-based sequence positions (``None``
        when unchanged).

        Positions whose wild-type residue is non-standard (X, ...) cannot be named and are left out.
        """
        mutations = tuple(Mutation(self.position(i), self.wild_type[i], self.sequence[i])
                          for i in self.mutated_indices()
                          if self.wild_type[i] in _AA_INDEX and self.sequence[i] in _AA_INDEX)
        return MultiMutant(mutations) if mutations else None

    def with_confidence(self, kind: str) -> "Document":
        """The document with its structure's B-factor column read as ``kind`` (``"plddt"``/``"bfactor"``)."""
        if self.structure is None:
            raise InputError("the document has no structure")
        return replace(self, structure=self.structure.with_confidence(kind), confidence=kind)

    def scannable(self) -> list[int]:
        """0-based indices a scan scores: all but :attr:`excluded`."""
        return [i for i in range(len(self)) if i not in self.excluded]



def sequence_from_text(text: str) -> tuple[str, str | None]:
    """The sequence of pasted text and, for a FASTA record, its name (``None`` for bare letters)."""
    stripped = text.strip()
    if stripped.startswith(">"):
        from protein_studio.core.molecules.sequences import parse_fasta_text

        records = parse_fasta_text(stripped)
        if not records:
            raise InputError("the pasted FASTA text holds no sequence")
        return records[0].sequence, records[0].name
    sequence, _problems = clean_sequence(stripped, source="pasted text")
    return sequence, None


def mutant_fits(mutant: MultiMutant, sequence: str) -> bool:
    try:
        validate_mutant(mutant, sequence)
    except InputError:
        return False
    return True


def numbering_for(sequence: str, structure: Any, chain_id: str | None):
    if structure is None or not structure.chains:
        return NumberingMap(sequence, [None] * len(sequence), "A"), None
    chain = structure.chain(chain_id) if chain_id else structure.chains[0]
    return NumberingMap.align(sequence, chain), chain.chain_id


def default_scheme(sequence: str, numbering: NumberingMap, structure: Any, first_residue: int) -> NumberingScheme:
    """The structure's author numbering when a structure is open, else the record's own range, else the
    sequence index."""
    if structure is not None and numbering.mapped:
        return NumberingScheme.from_structure(numbering, structure.name)
    if first_residue != 1:
        return NumberingScheme.with_offset(len(sequence), first_residue - 1)
    return NumberingScheme.sequence(len(sequence))


def excluded_residues(numbering: NumberingMap, structure: Any) -> dict[int, str]:
    """Indices of chromophore residues (and why) through the structure map."""
    if structure is None:
        return {}
    groups = {group.residue: group for chain in structure.chains for group in chain.groups}
    out = {}
    for i, residue in enumerate(numbering.residues):
        group = groups.get(residue) if residue is not None else None
        if group is not None:
            out[i] = f"part of chromophore {group.name} {group.residue}"
    return out


def scheme_for(document: Document, kind: str, value: Any = None) -> NumberingScheme:
    """A numbering scheme of ``document``: ``"sequence"``, ``"structure"``, ``"offset"`` (``value``: the
    offset N, residue i is numbered i + N), ``"reference"`` (``value``: a FASTA file or a
    :class:`ProteinSequence`) or ``"table"`` (``value``: a CSV of sequence index -> label).

    Raises
    ------
    InputError
        No structure for ``"structure"``; an unreadable or unmatched reference or table.
    """
    from protein_studio.core.molecules.numbering import load_numbering_table
    from protein_studio.core.molecules.sequences import ProteinSequence

    n = len(document)
    if kind == "sequence":
        return NumberingScheme.sequence(n)
    if kind == "structure":
        if document.structure is None or not getattr(document.numbering, "mapped", 0):
            raise InputError("structure numbering needs a structure whose chain matches the sequence")
        return NumberingScheme.from_structure(document.numbering, document.structure.name)
    if kind == "offset":
        try:
            return NumberingScheme.with_offset(n, int(value))
        except (TypeError, ValueError):
            raise InputError(f"offset must be a whole number, not {value!r}") from None
    if kind == "reference":
        if isinstance(value, ProteinSequence):
            record = value
        else:
            records = read_fasta(Path(value))
            if not records:
                raise InputError("no sequence in the reference file", source=str(value))
            record = records[0]
        return NumberingScheme.from_reference(document.wild_type, record.sequence, record.name, record.first_residue)
    if kind == "table":
        return load_numbering_table(Path(value), n)
    raise InputError(f"unknown numbering '{kind}' (sequence, structure, offset, reference, table)")


def _kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    if name.endswith(tuple(STRUCTURE_SUFFIXES)):
        return "structure"
    if name.endswith(FASTA_SUFFIXES):
        return "fasta"
    if name.endswith(".json"):
        return "pae"
    try:
        with open(path, "rb") as handle:
            head = handle.read(256).lstrip()
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror}", source=path.name) from None
    if head.startswith(b">"):
        return "fasta"
    raise InputError("unknown file type (expected FASTA .fasta/.fa, PDB .pdb, mmCIF .cif, BinaryCIF .bcif, or a "
                     "prediction's PAE .json with its structure)", source=path.name)


def attach_pae(structure, pae_path: Path, notes: list[str]):
    """``structure`` with the PAE of ``pae_path`` (a prediction's scores file); a file that does not fit is
    reported in ``notes`` and the structure opens without it."""
    from protein_studio.core.molecules.predictions import read_pae

    try:
        return structure.with_pae(read_pae(pae_path))
    except InputError as exc:
        notes.append(f"the PAE was not used: {exc}")
        return structure


def load_document(paths: Iterable[str | Path], chain: str | None = None, record: str | int | None = None,
                  structure: Any = None) -> Document:
    """Read a protein from a FASTA file, a structure file, or one of each.

    With both, the FASTA sequence is the document's sequence and is aligned to the structure chain
    (``chain``, else the first protein chain) so the ruler and the 3D view use the structure's numbers.
    With only a structure, the chain's own sequence is used; with only FASTA, plain numbering (the
    record's own range when its name ends in ``/26-290``).

    Parameters
    ----------
    paths : iterable of path
        One FASTA and/or one structure file.
    chain : str, optional
        The structure chain.
    record : str or int, optional
        The FASTA record: its name, or its 1-based number in the file (default the first).
    structure : Structure, optional
        The structure already loaded from the structure file of ``paths`` (not read again).

    Raises
    ------
    InputError
        Unreadable, unknown or empty files, more than one FASTA or structure file, no such record.
    """
    from protein_studio.core.molecules.structures import load_structure

    paths = [Path(p) for p in paths]
    if not paths:
        raise InputError("no file given")
    fasta_paths = []
    structure_paths = []
    pae_paths = []
    from protein_studio.core.files import describe_path
    from protein_studio.core.molecules.predictions import pae_file_beside

    for path in paths:
        problem = describe_path(path)
        if problem is not None:
            raise InputError("no such file" if problem == "does not exist" else f"{problem}, not a protein file",
                             source=str(path))
        {"structure": structure_paths, "fasta": fasta_paths, "pae": pae_paths}[_kind(path)].append(path)
    if len(fasta_paths) > 1 or len(structure_paths) > 1 or len(pae_paths) > 1:
        raise InputError("open one FASTA file and/or one structure file (with its PAE file) at a time")
    if pae_paths and not structure_paths and structure is None:
        raise InputError("a PAE file belongs to a predicted structure: open it together with the structure "
                         "(or drop it on the window while the structure is shown)", source=pae_paths[0].name)
    if record is not None and not fasta_paths:
        raise InputError("a record is chosen in a FASTA file; choose a structure's chain instead")

    notes: list[str] = []
    if structure is None and structure_paths:
        structure = load_structure(structure_paths[0])
    if structure is not None and not structure.chains:
        raise InputError("the structure holds no protein chain", source=structure_paths[0].name)
    if structure_paths and not pae_paths:
        beside = pae_file_beside(structure_paths[0])
        if beside is not None:
            pae_paths.append(beside)
            paths.append(beside)  # kept with the document's sources, so a project opens with it
    if pae_paths:
        structure = attach_pae(structure, pae_paths[0], notes)
        if structure.pae is not None:
            notes.append(f"predicted aligned error from {pae_paths[0].name}")
    if structure is not None and structure.confidence_guessed:
        notes.append(f"{structure.name}: nothing in or beside the file says what its B-factor column holds; it is "
                     f"read as B-factors" + (" although it looks like a prediction's pLDDT (one value per "
                                             "residue)" if structure.looks_predicted else "")
                     + " (View \u25b8 B-factor Column says otherwise)")
    records: tuple[str, ...] = ()
    chosen = 0
    first = 1
    if fasta_paths:
        entries = read_fasta(fasta_paths[0])
        if not entries:
            raise InputError("the file holds no sequence", source=fasta_paths[0].name)
        chosen = _choose_record(entries, record, fasta_paths[0].name)
        entry = entries[chosen]
        records = tuple(e.name for e in entries)
        sequence = entry.sequence
        name = entry.name
        if len(entries) > 1 and record is None:
            notes.append(f"{fasta_paths[0].name} holds {len(entries)} sequences; opened the first, {entry.name} "
                         f"(choose another with File \u25b8 Choose Record)")
        notes.extend(problem.message for problem in entry.problems)
        first = entry.first_residue if structure is None else 1
        numbering, chain_id = numbering_for(sequence, structure, chain)
    else:
        chain_info = structure.chain(chain) if chain else structure.chains[0]
        sequence = chain_info.sequence
        name = f"{structure.name} chain {chain_info.chain_id}"
        numbering = NumberingMap.for_chain(chain_info)
        chain_id = chain_info.chain_id
    if structure is not None and len(structure.chains) > 1:
        notes.append(f"showing chain {chain_id} of {len(structure.chains)} protein chains "
                     f"({', '.join(c.chain_id for c in structure.chains)})")
    excluded = excluded_residues(numbering, structure)
    if excluded:
        groups = sorted({text for text in excluded.values()})
        notes.append(f"{len(excluded)} residues left out of scans: {'; '.join(groups)}")
    from protein_studio.core.files import read_input_bytes

    sources = tuple((path.name, read_input_bytes(path, "a protein file")) for path in paths)
    return Document(name=name, wild_type=sequence, sequence=sequence, numbering=numbering,
                    structure=structure, chain=chain_id, paths=tuple(paths), notes=tuple(notes),
                    scheme=default_scheme(sequence, numbering, structure, first), records=records,
                    record=chosen, excluded=excluded, sources=sources)


def load_sources(sources: Sequence[tuple[str, bytes]], chain: str | None = None, record: int = 0) -> Document:
    """:func:`load_document` on the bytes of files (a document's :attr:`Document.sources`): the same
    reading rules, another chain or FASTA record (0-based) if asked."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="protein-studio-") as folder:
        files = []
        for file_name, data in sources:
            target = Path(folder) / Path(file_name).name
            target.write_bytes(data)
            files.append(target)
        has_fasta = any(_kind(f) == "fasta" for f in files)
        doc = load_document(files, chain=chain, record=record + 1 if has_fasta else None)
    return replace(doc, sources=tuple((n, bytes(d)) for n, d in sources))


def document_from_sources(sources: Sequence[tuple[str, bytes]], *, name: str, wild_type: str, sequence: str,
                          chain: str | None = None, record: int = 0, scheme: NumberingScheme | None = None,
                          paths: Sequence[str | Path] = (), confidence: str | None = None) -> Document:
    """Rebuild a document from the bytes of the files it was opened from (a project's copy), with the
    name, wild type, edits and numbering it had.

    The files are read by the same code as :func:`load_document`; a wild type that was replaced by a
    paste is aligned to the structure again.

    Raises
    ------
    InputError
        Files that no longer parse, or a numbering that does not fit the sequence.
    """
    if not sources:  # a sequence typed or pasted with no file behind it
        numbering = NumberingMap(wild_type, [None] * len(wild_type), "A")
        doc = Document(name, wild_type, sequence, numbering)
    else:
        doc = load_sources(sources, chain=chain, record=record)
        if doc.wild_type != wild_type:
            try:
                numbering, chain_id = numbering_for(wild_type, doc.structure, doc.chain)
            except InputError:
                numbering, chain_id = NumberingMap(wild_type, [None] * len(wild_type), doc.chain or "A"), doc.chain
            doc = replace(doc, wild_type=wild_type, sequence=wild_type, numbering=numbering, chain=chain_id,
                          scheme=default_scheme(wild_type, numbering, doc.structure, 1), records=(), record=0,
                          excluded=excluded_residues(numbering, doc.structure))
    if len(sequence) != len(doc.wild_type):
        raise InputError(f"the saved sequence has {len(sequence)} residues, its wild type {len(doc.wild_type)}")
    doc = replace(doc, name=name, sequence=sequence, paths=tuple(Path(p) for p in paths) or doc.paths)
    if scheme is not None:
        doc = replace(doc, scheme=scheme)
    if confidence is not None and doc.structure is not None:
        doc = doc.with_confidence(confidence)
    return doc


def _choose_record(entries, record: str | int | None, source: str) -> int:
    if record is None:
        return 0
    text = str(record).strip()
    for k, entry in enumerate(entries):
        if entry.name == text:
            return k
    if text.isascii() and text.isdigit():
        number = int(text)
        if 1 <= number <= len(entries):
            return number - 1
        raise InputError(f"record {number} does not exist: the file holds {len(entries)}", source=source)
    names = ", ".join(e.name for e in entries[:10]) + (", ..." if len(entries) > 10 else "")
    raise InputError(f"no record named '{text}' (records: {names})", source=source)
