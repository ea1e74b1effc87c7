"""Measured data on a document: an assay table read through the DMS reader that ``evaluate`` uses, mapped
onto the document through its numbering scheme, with every row accounted for.

An :class:`Assay` holds one measured column (or an enrichment computed from two count columns) for the
distinct variants of the table, in 1-based sequence positions: replicate rows are averaged (their number
kept), and the rows that cannot be used are listed with their line numbers and why (no value, an
unreadable mutant, a stop codon, a position the numbering does not have, a wild-type letter that is not
the document's).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from protein_studio.core.errors import InputError
from protein_studio.core.molecules.mutations import MultiMutant, parse_mutant
from protein_studio.core.molecules.numbering import NumberingScheme
from protein_studio.core.molecules.sequences import AMINO_ACIDS

__all__ = ["Assay", "AssayProblem", "read_assay", "assay_predictions", "measurement_record", "assays_in"]

_AA = {aa: i for i, aa in enumerate(AMINO_ACIDS)}


@dataclass(frozen=True)
class AssayProblem:
    """A row of an assay table that was not used: its line, the mutant as written, and why."""

    line: int
    text: str
    reason: str


@dataclass
class Assay:
    """One measured quantity for the variants of a document.

    Attributes
    ----------
    name : str
        Shown in the window (``"BLAT_ECOLX_Ranganathan2015_2500.csv: 2500"``).
    source : str
        The table's file name.
    column : str
        The column used, or ``"log((sel+0.5)/(input+0.5))"`` for an enrichment of two count columns.
    variants : list of MultiMutant
        Distinct variants, 1-based sequence positions.
    values : numpy.ndarray
        The mean measured value of each variant.
    replicates : numpy.ndarray
        How many rows were averaged for each.
    problems : list of AssayProblem
        Rows not used.
    rows : int
        Data rows in the table (used + not used).
    numbering : str
        The numbering the table's positions were read in (:attr:`NumberingScheme.description`).
    """

    name: str
    source: str
    column: str
    variants: list
    values: np.ndarray
    replicates: np.ndarray
    problems: list = field(default_factory=list)
    rows: int = 0
    numbering: str = "sequence"

    def __len__(self) -> int:
        return len(self.variants)

    @property
    def rows_used(self) -> int:
        return int(self.replicates.sum())

    def summary(self) -> str:
        """Every row accounted for: ``"t.csv: 2500 (read in sequence numbering): 4,996 rows, 4,996 used as
        4,996 variants; not used: 3 wild-type mismatch"``."""
        counts = "; ".join(f"{n:,} {reason}" for reason, n in sorted(self.problem_counts().items()))
        return (f"{self.name} (read in {self.numbering} numbering): {self.rows:,} rows, {self.rows_used:,} used as "
                f"{len(self):,} variants" + (f"; not used: {counts}" if counts else "; every row used"))

    def problem_counts(self) -> dict[str, int]:
        """Rows not used, by reason (the part of a reason before its first colon)."""
        counts: dict[str, int] = {}
        for problem in self.problems:
            key = problem.reason.split(":")[0]
            counts[key] = counts.get(key, 0) + 1
        return counts

    def singles(self, length: int) -> np.ndarray:
        """``length`` x 20 measured values of the single substitutions (NaN where none; the wild type's own
        cell holds a synonymous row's value when there is one)."""
        out = np.full((length, len(AMINO_ACIDS)), np.nan)
        for variant, value in zip(self.variants, self.values):
            if len(variant) == 1:
                m = variant.mutations[0]
                if 0 < m.position <= length:
                    out[m.position - 1, _AA[m.mt]] = value
        return out

    def position_summary(self, length: int) -> np.ndarray:
        """Per position: the mean measured value of its single substitutions (NaN where none)."""
        singles = self.singles(length)
        out = np.full(length, np.nan)
        seen = ~np.all(np.isnan(singles), axis=1)
        out[seen] = np.nanmean(singles[seen], axis=1)
        return out

    def to_dict(self) -> dict:
        """Plain data for a project (variants in sequence positions)."""
        return {"name": self.name, "source": self.source, "column": self.column,
                "variants": [str(v) for v in self.variants], "rows": self.rows, "numbering": self.numbering,
                "problems": [[p.line, p.text, p.reason] for p in self.problems]}

    @classmethod
    def from_dict(cls, data: dict, values: np.ndarray, replicates: np.ndarray) -> "Assay":
        return cls(data["name"], data["source"], data["column"], [parse_mutant(v) for v in data["variants"]],
                   np.asarray(values, dtype=float), np.asarray(replicates, dtype=int),
                   [AssayProblem(int(line), text, reason) for line, text, reason in data["problems"]],
                   int(data["rows"]), str(data.get("numbering", "sequence")))


#: Largest magnitude a measured value may have (far beyond any assay's; sums and squares stay finite).
MAX_MEASURED_VALUE = 1e15


def read_assay(path: str | Path, wild_type: str, scheme: NumberingScheme | None = None, *,
               column: str | None = None, enrichment: Sequence[str] | None = None,
               mutant_column: str | None = None, schemes: dict[str, NumberingScheme] | None = None) -> Assay:
    """Read a measured column of a DMS/assay table (CSV, TSV, Excel-exported CSV) onto a document.

    Parameters
    ----------
    path : path
        The table; mutants in a ``mutant``/``mutations`` column (or ``mutant_column``) or split
        wild-type/position/mutant columns, in the numbering of ``scheme``.
    wild_type : str
        The document's wild type; a row whose wild-type letters differ is reported, not used.
    scheme : NumberingScheme, optional
        How the table numbers positions (default: the sequence index).
    column : str, optional
        The measured column (required unless ``enrichment`` is given).
    enrichment : (str, str), optional
        Two count columns, selected and input: the value is ``log((selected + 0.5) / (input + 0.5))``.
    schemes : dict of str to NumberingScheme, optional
        The document's other numberings (its :meth:`~protein_studio.core.documents.document.Document.schemes`):
        the table is refused when ``scheme`` fits fewer than 90 % of its mutants and one of these 95 % or more
        (see :func:`~protein_studio.core.documents.positions.check_numbering`).

    Raises
    ------
    InputError
        A missing or unreadable file, no mutant column, or a column that is not there or not numeric.
    NumberingMismatch
        With ``schemes``: the table is written in another of the document's numberings (it names which).
    """
    from protein_studio.core.assays.dms import read_dms

    path = Path(path)
    scheme = scheme or NumberingScheme.sequence(len(wild_type))
    if (column is None) == (enrichment is None):
        raise InputError("choose one measured column, or two count columns for an enrichment", source=path.name)
    table = read_dms(path, mutant_column=mutant_column)
    if schemes is not None:
        from protein_studio.core.documents.positions import check_numbering

        check_numbering([str(m) for m in table.mutants], wild_type, scheme, schemes, source=path.name)
    if enrichment is not None:
        selected, given = (table.column(name) for name in enrichment)
        values = np.log((selected + 0.5) / (given + 0.5))
        column_name = f"log(({enrichment[0]}+0.5)/({enrichment[1]}+0.5))"
    else:
        available = list(table.columns) + list(table.text_columns)
        if column not in available:
            raise InputError(f"no column '{column}' (columns: {', '.join(available)})", source=path.name)
        values = _numbers(table, column)
        column_name = column
    problems = [AssayProblem(p.line, p.text, _reason(p.message)) for p in table.problems]
    sums: dict[MultiMutant, float] = {}
    counts: dict[MultiMutant, int] = {}
    order: list[MultiMutant] = []
    for mutant, line, value in zip(table.mutants, table.lines, values):
        text = str(mutant)
        if value is None or not math.isfinite(value):
            problems.append(AssayProblem(int(line), text, "no value"))
            continue
        if abs(value) > MAX_MEASURED_VALUE:
            problems.append(AssayProblem(int(line), text, f"the value {value:g} is beyond \u00b1{MAX_MEASURED_VALUE:g}, "
                                                          f"out of any assay's range"))
            continue
        try:
            variant = scheme.parse_mutant(text, wild_type)
        except InputError as exc:
            problems.append(AssayProblem(int(line), text, _reason(exc.reason)))
            continue
        if variant not in sums:
            sums[variant], counts[variant] = 0.0, 0
            order.append(variant)
        sums[variant] += float(value)
        counts[variant] += 1
    problems.sort(key=lambda p: p.line)
    return Assay(f"{path.name}: {column_name}", path.name, column_name, order,
                 np.array([sums[v] / counts[v] for v in order], dtype=float),
                 np.array([counts[v] for v in order], dtype=int), problems,
                 rows=len(table.mutants) + len(table.problems), numbering=scheme.description)


def _numbers(table, column: str) -> list[float | None]:
    if column in table.columns:
        return [float(v) for v in table.columns[column]]
    out = []
    for text in table.text_columns[column]:  # a column with empty cells: those rows have no value
        try:
            out.append(float(text) if text.strip() else None)
        except ValueError:
            out.append(None)
    return out


def _reason(message: str) -> str:
    if "stop (nonsense)" in message:
        return "stop codon: nonsense mutations are not scored"
    if "not " in message and "position" in message and " is " in message:
        return "wild-type mismatch: " + message.split(": ", 1)[-1]
    if "numbering has no position" in message:
        return "position not in the numbering: " + message.split(": ", 1)[-1]
    return "unreadable mutant: " + message


def assay_predictions(assay: Assay, scores: np.ndarray | None) -> np.ndarray:
    """The prediction for each measured variant from a scan (L x 20): its single-site score, or the sum of
    them for a multi-mutant (additive, as ProteinGym); NaN where a position is not scanned."""
    from protein_studio.core.documents.scans import additive_scores

    return additive_scores(scores, assay.variants)


def measurement_record(assay: Assay) -> dict:
    """The project record of an assay (kept with its document, like predictions)."""
    from protein_studio.core.provenance import provenance_now

    return {"kind": "measurements", "name": assay.name, "data": assay.to_dict(),
            "arrays": {"values": np.asarray(assay.values, dtype=float),
                       "replicates": np.asarray(assay.replicates, dtype=int)},
            "provenance": provenance_now(source=assay.source, column=assay.column, rows=assay.rows,
                                         rows_used=assay.rows_used, numbering=assay.numbering)}


def assays_in(results: Sequence[dict]) -> list[Assay]:
    """The assays among a document's results, oldest first."""
    return [Assay.from_dict(r["data"], r["arrays"]["values"], r["arrays"]["replicates"])
            for r in results if r["kind"] == "measurements"]
