"""Deep-mutational-scan (DMS) tables: a mutant column plus numeric measurement columns.

Real tables come in many small variations; :func:`read_dms` copes with the common ones:

- comma-, tab- or semicolon-separated (the delimiter is taken from the header line);
- a UTF-8 byte-order mark, Windows line ends, quoted fields;
- an unnamed index column (written by pandas as an empty header cell or ``Unnamed: 0``), which is dropped;
- empty cells and ``NA``/``nan`` in score columns (read as NaN);
- one mutant column (``A42G``, ``A42G:K45R``, HGVS ``p.Ala42Gly``...), found by its name (``mutant``,
  ``mutation``, ``variant``...) or chosen by the caller; or three columns holding the wild-type residue,
  the position and the new residue (as in Olson et al. 2014's GB1 table).

A row whose mutant cannot be parsed is not lost silently: it is kept in :attr:`DmsTable.problems` with
its line number and the reason.

Examples
--------
>>> table = read_dms("BLAT_ECOLX_Ranganathan2015.csv")          # doctest: +SKIP
>>> table.mutant_column, len(table), table.column("2500")[:2]   # doctest: +SKIP
('mutant', 4996, array([-0.41825993, -0.27902417]))
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from protein_studio.core.errors import InputError
from protein_studio.core.files import read_input_text
from protein_studio.core.molecules.mutations import MultiMutant, parse_mutant

__all__ = ["DmsProblem", "DmsTable", "read_dms", "MUTANT_COLUMN_NAMES", "MISSING_VALUES"]

#: Names (compared case-insensitively, ignoring spaces, ``_`` and ``-``) recognised as a mutant column, in
#: order of preference.
MUTANT_COLUMN_NAMES = ("mutant", "mutants", "mutation", "mutations", "variant", "variants", "substitution",
                       "substitutions", "aa_substitutions", "hgvs_pro", "hgvs", "mut")

# Names of the three columns of tables that split a substitution into wild type / position / new residue.
_WT_NAMES = ("wt", "wt_aa", "wt amino acid", "wild type", "wildtype", "wild_type_aa", "wildtype_aa", "wt_residue",
             "from")
_POSITION_NAMES = ("position", "pos", "residue number", "resnum", "site", "residue_position")
_MT_NAMES = ("mutation", "mutant", "mt", "mut", "mt_aa", "mut_aa", "mutant_aa", "mutant amino acid",
             "mutant_residue", "substitution", "to")

#: Cell texts read as a missing value in numeric columns (compared case-insensitively).
MISSING_VALUES = frozenset({"", "na", "n/a", "nan", "none", "null", "-", "?"})

_DELIMITERS = (",", "\t", ";")



class _Rows:
    """Rows read with the line each ended on, iterated like a csv reader (``line_num``)."""

    def __init__(self, rows: list):
        self._rows = iter(rows)
        self.line_num = 0

    def __iter__(self):
        return self

    def __next__(self) -> list[str]:
        self.line_num, row = next(self._rows)
        return row


def _shown(text: str, width: int = 80) -> str:
    """A cell as a problem quotes it: at most ``width`` characters (a 20 MB cell is not copied)."""
    return text if len(text) <= width else text[:width - 3] + "..."

def _key(name: str) -> str:
    """Normalise a column name for matching: lower case, only letters and digits."""
    return re.sub(r"[^0-9a-z]", "", name.lower())


@dataclass(frozen=True)
class DmsProblem:
    """A row of a DMS table that could not be used.

    Attributes
    ----------
    line : int
        1-based line number in the file.
    text : str
        The mutant text as written in the file (for three-column tables: the three cells joined).
    message : str
        Why the row was not used.
    """

    line: int
    text: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.text!r}: {self.message}"


@dataclass
class DmsTable:
    """A deep-mutational-scan table: one parsed mutant per row and numeric columns aligned with it.

    Attributes
    ----------
    path : Path
        The file it was read from.
    mutant_columns : tuple of str
        The column holding the mutants, or the wild-type, position and new-residue columns.
    mutants : list of MultiMutant
        One canonical mutant per usable row.
    columns : dict of str to numpy.ndarray
        Every numeric column (float64, NaN for empty or missing cells), one value per usable row.
    text_columns : dict of str to list of str
        The other (non-numeric) columns, e.g. a ``mutated_sequence`` column.
    lines : numpy.ndarray
        1-based line number in the file of each usable row.
    problems : list of DmsProblem
        Rows left out, with their line numbers and why.
    delimiter : str
        The field separator found in the file.
    """

    path: Path
    mutant_columns: tuple[str, ...]
    mutants: list[MultiMutant]
    columns: dict[str, np.ndarray]
    text_columns: dict[str, list[str]] = field(default_factory=dict)
    lines: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    problems: list[DmsProblem] = field(default_factory=list)
    delimiter: str = ","

    def __len__(self) -> int:
        return len(self.mutants)

    @property
    def mutant_column(self) -> str:
        """The mutant column's name (three-column tables: the names joined with ``+``)."""
        return "+".join(self.mutant_columns)

    @property
    def mutant_strings(self) -> list[str]:
        """The canonical text of each row's mutant (``"A42G:K45R"``), the key to join tables on."""
        return [str(m) for m in self.mutants]

    def column(self, name: str) -> np.ndarray:
        """The numeric column ``name``.

        Raises
        ------
        InputError
            If there is no such numeric column; the message names the file (and, for a text column, the line
            of its first value that is not a number) and lists the columns there are.
        """
        if name in self.columns:
            return self.columns[name]
        if name in self.text_columns:
            k, bad = next((k, v) for k, v in enumerate(self.text_columns[name]) if _to_float(v) is None)
            raise InputError(f"column '{name}' has a value that is not a number: {bad!r}; numeric columns: "
                             f"{_listing(self.columns)}", source=str(self.path), line=int(self.lines[k]))
        raise InputError(f"no column '{name}'; numeric columns: {_listing(self.columns)}"
                         + (f"; other columns: {_listing(self.text_columns)}" if self.text_columns else ""),
                         source=str(self.path))


def _listing(names) -> str:
    names = list(names)
    return ", ".join(f"'{n}'" for n in names) if names else "(none)"


def _to_float(text: str) -> float | None:
    """A cell as a float: NaN for missing values, None when it is not a number."""
    text = text.strip()
    if text.lower() in MISSING_VALUES:
        return math.nan
    try:
        return float(text)
    except ValueError:
        return None


def _read_text(path: Path) -> str:
    text = read_input_text(path, "a text table")
    if not _NOT_SPACE.search(text):  # text.strip() would copy a table of up to the input cap
        raise InputError("empty file", source=str(path))
    return text


def _blank_leading_comments(text: str) -> str:
    """Blank the ``#`` comment lines before the header (provenance written by protein-studio's own
    tables), keeping every later line's number; only those lines are copied (a table is as large as the
    input cap allows)."""
    start, blanked = 0, []
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        line = text[start:min(end, start + 4096)]
        if line.lstrip().startswith("#"):
            blanked.append(start)
        elif line.strip():
            break
        start = end + 1
    if not blanked:
        return text
    return "\n" * len(blanked) + "".join(text[a:b] for a, b in _kept(text, blanked))


def _kept(text: str, blanked: list[int]):
    """(start, stop) of the text between the blanked comment lines (each line's own newline dropped with it)."""
    kept_from = 0
    for start in blanked:
        yield kept_from, start
        end = text.find("\n", start)
        kept_from = len(text) if end < 0 else end + 1
    yield kept_from, len(text)


#: Longest cell of a table, in characters.
MAX_FIELD_CHARS = 48 * 2**20
_NOT_SPACE = re.compile(r"\S")
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


def _lines(text: str):
    """The lines of ``text`` with their endings, as slices (``io.StringIO`` would hold a copy four bytes wide
    per character)."""
    return (match.group() for match in _LINE.finditer(text))


def _first_line(text: str) -> str:
    """The first line with any text (at most 64 kB of it), without copying the rest."""
    start = 0
    while start < len(text):
        end = min((i for i in (text.find("\n", start), text.find("\r", start)) if i >= 0), default=len(text))
        if text[start:min(end, start + 65536)].strip():
            return text[start:min(end, start + 65536)]
        start = end + 1
    return ""


def _sniff_delimiter(path: Path, header_line: str) -> str:
    if path.suffix.lower() in (".tsv", ".tab"):
        return "\t"
    counts = {d: header_line.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])  # ties keep the order above: comma first
    return best if counts[best] else ","


def _find(header_keys: list[str], candidates) -> int | None:
    for name in candidates:
        if _key(name) in header_keys:
            return header_keys.index(_key(name))
    return None


def _column_index(header: list[str], name: str, path: Path, what: str) -> int:
    if name in header:
        return header.index(name)
    keys = [_key(h) for h in header]
    if _key(name) and keys.count(_key(name)) == 1:
        return keys.index(_key(name))
    raise InputError(f"no {what} column '{name}'; columns: {_listing(h for h in header if h)}", source=str(path))


def read_dms(path, mutant_column: str | None = None, *, wt_column: str | None = None,
             position_column: str | None = None, mt_column: str | None = None,
             score_columns: list[str] | tuple[str, ...] | None = None, offset: int = 0) -> DmsTable:
    """Read a deep-mutational-scan table (CSV or TSV).

    Parameters
    ----------
    path : str or Path
        The table. The delimiter (comma, tab or semicolon) is taken from the header line; ``.tsv`` files are
        tab-separated.
    mutant_column : str, optional
        The column holding the mutants. By default the first of :data:`MUTANT_COLUMN_NAMES` present, or,
        when the table has wild-type and position columns, the three-column layout.
    wt_column, position_column, mt_column : str, optional
        The three columns of a table that splits each substitution (give all three to choose them).
    score_columns : sequence of str, optional
        Columns that must be present and numeric; an :class:`InputError` naming the file and listing the
        available columns is raised otherwise.
    offset : int, default 0
        Numbering offset, passed to :func:`~protein_studio.core.molecules.mutations.parse_mutant`.

    Returns
    -------
    DmsTable

    Raises
    ------
    InputError
        Missing, empty, binary or non-UTF-8 file; no mutant column; a requested column missing or not
        numeric. Rows with an unparseable mutant do not raise: they go to :attr:`DmsTable.problems`.
    """
    path = Path(path)
    text = _blank_leading_comments(_read_text(path))
    first_line = _first_line(text)
    if not first_line:
        raise InputError("no table after the '#' comment lines", source=str(path))
    delimiter = _sniff_delimiter(path, first_line)
    # fields up to MAX_FIELD_CHARS (a 20 MB remark column failed with csv's 128 kB default); csv builds a
    # field four bytes per character and doubles its buffer, so the bound keeps that under 512 MB
    from protein_studio.core.tables import csv_field_limit

    reader = csv.reader(_lines(text), delimiter=delimiter)
    try:
        with csv_field_limit(MAX_FIELD_CHARS):
            rows = _Rows([(reader.line_num, row) for row in reader])  # (line a row ends on, cells)
    except csv.Error as exc:
        reason = (f"a field longer than {MAX_FIELD_CHARS // 2**20} MB (a quote left open?)"
                  if "field limit" in str(exc) else str(exc))
        raise InputError(f"cannot read the table: {reason}", source=str(path), line=reader.line_num) from None
    header: list[str] | None = None
    for header in rows:
        if any(cell.strip() for cell in header):
            break
    header = [h.strip() for h in header]
    keys = [_key(h) for h in header]

    # --- which column(s) hold the mutants
    split = (wt_column, position_column, mt_column)
    if any(split):
        if not all(split):
            raise InputError("give all three of the wild-type, position and mutant-residue columns, or none",
                             source=str(path))
        mutant_idx = tuple(_column_index(header, name, path, what) for name, what in
                           zip(split, ("wild-type", "position", "mutant-residue")))
    elif mutant_column is not None:
        mutant_idx = (_column_index(header, mutant_column, path, "mutant"),)
    else:
        wt, pos = _find(keys, _WT_NAMES), _find(keys, _POSITION_NAMES)
        mt = _find([k if i not in (wt, pos) else "" for i, k in enumerate(keys)], _MT_NAMES)
        single = _find(keys, MUTANT_COLUMN_NAMES)
        if wt is not None and pos is not None and mt is not None and (single is None or single == mt):
            mutant_idx = (wt, pos, mt)  # a "Mutation" column beside wild-type and position holds one residue
        else:
            if single is None:
                raise InputError(f"no mutant column found (looked for {', '.join(MUTANT_COLUMN_NAMES[:5])}..., or "
                                 f"wild-type/position/mutant columns); columns: {_listing(h for h in header if h)}; "
                                 f"choose one by name", source=str(path))
            mutant_idx = (single,)
    data_idx = [i for i, h in enumerate(header)
                if i not in mutant_idx and h and not re.fullmatch(r"Unnamed: \d+", h)]
    names = [header[i] for i in data_idx]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise InputError(f"column '{dup}' appears more than once in the header", source=str(path), line=1)

    # --- rows
    mutants: list[MultiMutant] = []
    lines: list[int] = []
    cells: list[list[str]] = []
    problems: list[DmsProblem] = []
    for row in rows:
        line = rows.line_num
        if not any(cell.strip() for cell in row):
            continue
        raw = "".join(row[i].strip() for i in mutant_idx if i < len(row))
        if len(row) > len(header):
            problems.append(DmsProblem(line, _shown(raw), f"{len(row)} fields, the header has {len(header)}"))
            continue
        row = row + [""] * (len(header) - len(row))
        if not raw:
            problems.append(DmsProblem(line, _shown(raw), "no mutant"))
            continue
        try:
            # a cell holds one row's variant: a comma inside it joins mutations (lists elsewhere use commas
            # between mutants, see core.mutations.split_mutants)
            mutant = parse_mutant(raw.replace(",", ":"), offset=offset)
        except ValueError as exc:  # InputError is a ValueError
            reason = getattr(exc, "reason", str(exc))
            problems.append(DmsProblem(line, _shown(raw), reason.removeprefix(f"in '{raw}': ")))
            continue
        mutants.append(mutant)
        lines.append(line)
        cells.append([row[i] for i in data_idx])

    # --- numeric and text columns
    columns: dict[str, np.ndarray] = {}
    text_columns: dict[str, list[str]] = {}
    for j, name in enumerate(names):
        values = [_to_float(r[j]) for r in cells]
        if all(v is not None for v in values):
            columns[name] = np.asarray(values, dtype=float)
        else:
            text_columns[name] = [r[j] for r in cells]
    table = DmsTable(path=path, mutant_columns=tuple(header[i] for i in mutant_idx), mutants=mutants,
                     columns=columns, text_columns=text_columns, lines=np.asarray(lines, dtype=int),
                     problems=problems, delimiter=delimiter)
    for name in score_columns or ():
        table.column(name)  # raises, naming the file (and the line of a value that is not a number)
    return table
