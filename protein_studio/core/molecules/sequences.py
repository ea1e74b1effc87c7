"""Protein sequences: validation of pasted or loaded residues, and FASTA reading and writing.

A sequence is cleaned before anything else sees it: letters are upper-cased; whitespace and the position
digits of pasted numbered blocks (GenBank style ``1 mktayiakqr qisfvkshfs``) are removed; one trailing
stop ``*`` is dropped. The 20 canonical residues pass silently. Ambiguous (``X B Z J``), non-standard
(``U O``) and gap (``-`` ``.``) characters are kept in place, so positions stay those the user sees, and are
reported as :class:`SequenceProblem` with whether a language model can score the sequence with them
(the ESM alphabets have tokens for ``X B Z U O``; ``J`` and gaps have none). Anything else is an
:class:`~protein_studio.core.errors.InputError` naming the character and its 1-based position.

Positions are 1-based residue positions in the cleaned sequence: the digits and whitespace removed do not
count, so ``"1 mkt@"`` reports ``@`` at position 4.

FASTA files are read in one streaming pass (one record held at a time) and written with
:mod:`biotite.sequence.io.fasta`. A header ``>name description``
gives the record's name (first word) and description (the rest). A name ending in a residue range
``/126-200`` whose length matches the sequence sets the number of the first residue (126); otherwise
it is 1. The first-residue number is not written back to FASTA unless the name carries such a range.

Multimers: only when asked (``read_fasta(path, allow_chain_breaks=True)``, used by ``protein-studio fold``),
``:`` inside a record separates chains, as ESMFold's ``SEQ1:SEQ2`` notation does. The record's
``sequence`` then holds the residues of all chains and ``chain_breaks`` where each chain after the first
starts; an error names the chain and the position within it (``InputError.position`` counts every
character of the record, ``:`` included). By default ``:`` is an invalid character.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

from protein_studio.core.errors import InputError
from protein_studio.core.files import read_input_text

__all__ = [
    "AMINO_ACIDS",
    "MAX_RECORD_RESIDUES",
    "SCORABLE_SPECIAL",
    "SequenceProblem",
    "ProteinSequence",
    "clean_sequence",
    "parse_sequence",
    "parse_fasta_text",
    "read_fasta",
    "format_fasta",
    "write_fasta",
]

#: The 20 canonical residues, in the column order of every scan matrix in the application.
AMINO_ACIDS = "ACDEFGHIKLMNPQRSTVWY"

#: Special characters that have a token in the ESM alphabets and can therefore be scored.
SCORABLE_SPECIAL = frozenset("XBZUO")

# character -> (kind, description) for every accepted non-canonical character.
_SPECIAL = {
    "X": ("ambiguous", "unknown residue"),
    "B": ("ambiguous", "D or N"),
    "Z": ("ambiguous", "E or Q"),
    "J": ("ambiguous", "I or L"),
    "U": ("nonstandard", "selenocysteine"),
    "O": ("nonstandard", "pyrrolysine"),
    "-": ("gap", "alignment gap"),
    ".": ("gap", "alignment gap"),
}
_ASCII_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_IGNORED = re.compile(r"[\s0-9]+")
_RANGE_IN_NAME = re.compile(r"/(-?\d+)-(-?\d+)$")


@dataclass(frozen=True)
class SequenceProblem:
    """A non-canonical but accepted character in a sequence.

    Parameters
    ----------
    position : int
        1-based position in the cleaned sequence.
    character : str
        The (upper-case) character.
    kind : str
        ``"ambiguous"`` (X, B, Z, J), ``"nonstandard"`` (U, O) or ``"gap"`` (``-``, ``.``).
    scorable : bool
        Whether ESM models have a token for it (X, B, Z, U, O), so the sequence can still be scored.
    message : str
        One line for the user.
    """

    position: int
    character: str
    kind: str
    scorable: bool
    message: str


#: Most residues of one sequence record (titin, the longest known protein, has about 35,000): a longer record
#: is refused while it is read, before anything is built from it.
MAX_RECORD_RESIDUES = 100_000

def clean_sequence(text: str, *, source: str = "sequence",
                   line: int | None = None) -> tuple[str, list[SequenceProblem]]:
    """Clean and validate residues typed, pasted or read from a file.

    Parameters
    ----------
    text : str
        Residues, in any case, possibly with whitespace, position digits and one trailing ``*``.
    source : str
        What the text came from (a file name or ``"sequence"``), used in error messages.
    line : int, optional
        Line the text starts on in ``source``, used in error messages.

    Returns
    -------
    sequence : str
        Upper-case residues, whitespace, digits and the trailing stop removed.
    problems : list of SequenceProblem
        Ambiguous, non-standard and gap characters, in order of position.

    Raises
    ------
    InputError
        If nothing is left, or a character is neither a residue, a gap, whitespace nor a digit
        (the message names the first such character and its position, e.g. "`@` at position 4").
    """
    residues = _IGNORED.sub("", text)
    if residues.endswith("*"):
        residues = residues[:-1]
    if not residues:
        raise InputError("empty sequence: no residues found", source=source, line=line)
    if len(residues) > MAX_RECORD_RESIDUES:
        raise InputError(f"{len(residues):,} residues: more than {MAX_RECORD_RESIDUES:,}, not a protein sequence (the "
                         f"longest known protein, titin, has about 35,000)", source=source, line=line)
    cleaned = []
    problems = []
    for index, char in enumerate(residues):
        position = index + 1
        if char in _ASCII_LETTERS:
            char = char.upper()
        if char in AMINO_ACIDS:
            cleaned.append(char)
        elif char in _SPECIAL:
            kind, what = _SPECIAL[char]
            scorable = char in SCORABLE_SPECIAL
            note = "can be scored" if scorable else "cannot be scored by ESM models"
            problems.append(SequenceProblem(position, char, kind, scorable,
                                            f"{char} at position {position}: {kind} ({what}), {note}"))
            cleaned.append(char)
        else:
            shown = f"`{char}`" if char.isprintable() else f"U+{ord(char):04X}"
            hint = ": a stop is only allowed at the end" if char == "*" else ""
            raise InputError(f"invalid character {shown} at position {position}{hint}",
                             source=source, line=line, position=position)
    return "".join(cleaned), problems


@dataclass(frozen=True)
class ProteinSequence:
    """A validated protein sequence.

    Parameters
    ----------
    name : str
        Short identifier (the first word of a FASTA header).
    sequence : str
        Residues; cleaned on construction with :func:`clean_sequence`.
    description : str
        Free text (the rest of a FASTA header).
    first_residue : int
        Number of the first residue (1 unless the protein is a fragment numbered otherwise).
    problems : tuple of SequenceProblem
        Derived from ``sequence`` on construction (a value passed in is replaced).
    chain_breaks : tuple of int
        For a multimer, the 0-based index in ``sequence`` where each chain after the first starts
        (increasing, inside the sequence); empty for one chain. See :attr:`chains`.
    """

    name: str
    sequence: str
    description: str = ""
    first_residue: int = 1
    problems: tuple[SequenceProblem, ...] = field(default=(), compare=False)
    chain_breaks: tuple[int, ...] = ()

    def __post_init__(self):
        cleaned, problems = clean_sequence(self.sequence, source=self.name or "sequence")
        object.__setattr__(self, "sequence", cleaned)
        object.__setattr__(self, "problems", tuple(problems))
        breaks = tuple(int(b) for b in self.chain_breaks)
        if any(not 0 < b < len(cleaned) for b in breaks) or list(breaks) != sorted(set(breaks)):
            raise ValueError(f"chain breaks {breaks} must increase and lie inside the "
                             f"{len(cleaned)} residues")
        object.__setattr__(self, "chain_breaks", breaks)

    def __len__(self) -> int:
        return len(self.sequence)

    def __str__(self) -> str:
        return self.sequence

    @property
    def last_residue(self) -> int:
        """Number of the last residue."""
        return self.first_residue + len(self.sequence) - 1

    @property
    def chains(self) -> tuple[str, ...]:
        """The residues of each chain (one item unless the record is a multimer)."""
        bounds = (0, *self.chain_breaks, len(self.sequence))
        return tuple(self.sequence[a:b] for a, b in zip(bounds, bounds[1:]))

    @property
    def scorable(self) -> bool:
        """True when every character has an ESM token (no J and no gaps)."""
        return all(p.scorable for p in self.problems)


def _split_header(header: str) -> tuple[str, str]:
    parts = header.strip().split(None, 1)
    if not parts:
        return "", ""
    return parts[0], (parts[1] if len(parts) > 1 else "")


def _first_residue_from_name(name: str, length: int) -> int:
    match = _RANGE_IN_NAME.search(name)
    if match:
        start, stop = int(match.group(1)), int(match.group(2))
        if stop - start + 1 == length:
            return start
    return 1


def _locate(seq_lines: list[tuple[int, str]], position: int) -> tuple[int, int]:
    """Map a residue position of a record to (line number, residue position within that line)."""
    seen = 0
    for number, text in seq_lines:
        count = len(_IGNORED.sub("", text))
        if seen + count >= position:
            return number, position - seen
        seen += count
    return seq_lines[-1][0], position - seen


def parse_fasta_text(text: str, source: str = "pasted text", *,
                     allow_chain_breaks: bool = False) -> list[ProteinSequence]:
    """Read protein records from FASTA text.

    Parameters
    ----------
    text : str
        FASTA text: ``>header`` lines each followed by sequence lines; blank lines and ``;`` comments
        are ignored.
    source : str
        Where the text came from (file name), used in error messages.
    allow_chain_breaks : bool
        Accept ``:`` between the chains of a multimer (``SEQ1:SEQ2``); see
        :attr:`ProteinSequence.chain_breaks`. An empty chain is an error.

    Returns
    -------
    list of ProteinSequence
        The records in file order (duplicate names are kept).

    Raises
    ------
    InputError
        If there is no record, text before the first header, a record without residues, or an invalid
        character; the message names ``source``, the line and the character.
    """
    records: list[ProteinSequence] = []
    header_line, header, seq_lines, count = 0, "", [], 0  # the record being read
    # One pass, one record held at a time: blank lines and ';' comments are skipped, a header is the
    # stripped line after '>', a record's residues are its stripped sequence lines joined.
    for number, raw in enumerate(io.StringIO(text, newline=None), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith(";"):
            continue
        if stripped.startswith(">"):
            if header_line:
                records.append(_fasta_record(header_line, header, seq_lines, source, allow_chain_breaks))
            header_line, header, seq_lines, count = number, stripped[1:].strip(), [], 0
        elif not header_line:
            raise InputError(f"expected a FASTA header line starting with '>', found {stripped[:20]!r}",
                             source=source, line=number)
        else:
            count += len(stripped)
            if count > MAX_RECORD_RESIDUES:  # said at once: nothing of it is built
                raise InputError(f"the record that starts on line {header_line} has more than "
                                 f"{MAX_RECORD_RESIDUES:,} residues: not a protein sequence (the longest known "
                                 f"protein, titin, has about 35,000)", source=source, line=number)
            seq_lines.append((number, stripped))
    if not header_line:
        raise InputError("no FASTA record found (no line starting with '>')", source=source)
    records.append(_fasta_record(header_line, header, seq_lines, source, allow_chain_breaks))
    return records


def _fasta_record(header_line: int, header: str, seq_lines: list[tuple[int, str]], source: str,
                  allow_chain_breaks: bool) -> ProteinSequence:
    """Build one record of :func:`parse_fasta_text` from its header and its numbered sequence lines."""
    name, description = _split_header(header)
    label = f"record '{name}'" if name else "record"
    if not seq_lines:
        raise InputError(f"{label} has no residues", source=source, line=header_line)
    residues = "".join(text for _, text in seq_lines)
    parts = residues.split(":") if allow_chain_breaks else [residues]
    chains, breaks, typed = [], [], 0  # typed: characters of the record before this chain
    for number, part in enumerate(parts, start=1):
        if len(parts) > 1 and not _IGNORED.sub("", part):
            line, _ = _locate(seq_lines, max(typed, 1))
            raise InputError(f"{label}: chain {number} of {len(parts)} is empty (check the ':' "
                             f"separators)", source=source, line=line)
        try:
            cleaned, _problems = clean_sequence(part, source=source)
        except InputError as error:
            reason = f"{label}: {error.reason}" + (f" (chain {number})" if len(parts) > 1 else "")
            if error.position is None:
                raise InputError(reason, source=source, line=header_line) from None
            line, _ = _locate(seq_lines, typed + error.position)
            raise InputError(reason, source=source, line=line, position=typed + error.position) from None
        if chains:
            breaks.append(sum(map(len, chains)))
        chains.append(cleaned)
        typed += len(_IGNORED.sub("", part)) + 1
    cleaned = "".join(chains)
    return ProteinSequence(name=name, sequence=cleaned, description=description,
                           first_residue=_first_residue_from_name(name, len(cleaned)),
                           chain_breaks=tuple(breaks))


def read_fasta(path: str | PathLike, *, allow_chain_breaks: bool = False) -> list[ProteinSequence]:
    """Read a FASTA file of protein sequences.

    Parameters
    ----------
    path : str or path-like
        The file (UTF-8, with or without a byte-order mark).
    allow_chain_breaks : bool
        Accept ``:`` between the chains of a multimer (see :func:`parse_fasta_text`).

    Returns
    -------
    list of ProteinSequence

    Raises
    ------
    InputError
        If the file cannot be read, is not text, or is not valid protein FASTA (see
        :func:`parse_fasta_text`); the message names the file and line.
    """
    path = Path(path)
    text = read_input_text(path, "FASTA text")
    return parse_fasta_text(text, source=str(path), allow_chain_breaks=allow_chain_breaks)


def parse_sequence(text: str, name: str = "sequence", first_residue: int = 1) -> ProteinSequence:
    """Turn raw residues or a single FASTA record into a :class:`ProteinSequence`.

    Parameters
    ----------
    text : str
        Residues (any case, whitespace and position digits allowed) or FASTA text with one record.
    name : str
        Name for raw residues (a FASTA header's name takes precedence).
    first_residue : int
        Number of the first residue for raw residues (FASTA: see the module notes).

    Returns
    -------
    ProteinSequence

    Raises
    ------
    InputError
        For invalid residues, an empty sequence, or FASTA text with more than one record.
    """
    if text.lstrip().startswith(">"):
        records = parse_fasta_text(text, source=name)
        if len(records) != 1:
            raise InputError(f"expected one sequence, found {len(records)} FASTA records", source=name)
        return records[0]
    return ProteinSequence(name=name, sequence=text, first_residue=first_residue)  # cleans on construction


def format_fasta(records, line_width: int = 60) -> str:
    """Format records as FASTA text.

    Parameters
    ----------
    records : iterable of ProteinSequence
    line_width : int
        Residues per sequence line.

    Returns
    -------
    str
        FASTA text ending in a newline.
    """
    buffer = io.StringIO()
    write_fasta(buffer, records, line_width)
    return buffer.getvalue()


def write_fasta(path, records, line_width: int = 60) -> None:
    """Write records to a FASTA file (a multimer's chains separated by ``:``).

    Parameters
    ----------
    path : str, path-like or text file object
    records : iterable of ProteinSequence
    line_width : int
        Residues per sequence line.
    """
    if line_width < 1:
        raise ValueError("line_width must be at least 1")
    items = ((" ".join(part for part in (r.name, r.description) if part), ":".join(r.chains))
             for r in records)
    if isinstance(path, (str, PathLike)):
        path = str(path)
    from biotite.sequence.io.fasta import FastaFile

    FastaFile.write_iter(path, items, chars_per_line=line_width)
