"""Saving what the user designed: the edited sequence as FASTA, the variant list as CSV or FASTA, and
whole scans (long: one row per substitution; wide: one row per position, 20 columns).

Every table names positions through a :class:`~protein_studio.core.molecules.numbering.NumberingScheme` and also
carries the 1-based sequence index (and the structure's chain, residue number and insertion code where a
structure is involved), so the window's export and the command line's agree row for row.

Everything here is rows built from the session's data; :func:`protein_studio.core.tables.write_table` writes
them (header first, provenance beside the file, atomically), so a failure (full disk, no permission) never
leaves a half-written file in place of a good one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from protein_studio.core.molecules.mutations import MultiMutant, apply_mutant
from protein_studio.core.molecules.numbering import NumberingScheme
from protein_studio.core.molecules.sequences import AMINO_ACIDS, ProteinSequence, format_fasta

__all__ = [
    "VariantRow", "VARIANT_COLUMNS", "VARIANT_TAIL", "score_column", "variant_rows", "document_record", "variant_table", "variants_fasta",
    "SCAN_COLUMNS", "SCAN_WIDE_COLUMNS", "scan_long_rows", "scan_wide_rows",
]

#: The first columns of the variant CSV; one ``score_<model>_<method>`` column per model and method that scored a
#: variant follows, then :data:`VARIANT_TAIL`.
VARIANT_COLUMNS = ("variant", "sequence_variant", "n_mutations", "scan_additive_score", "scan")
VARIANT_TAIL = ("note", "sequence")


@dataclass(frozen=True)
class VariantRow:
    """One variant of the list with the numbers the window shows for it.

    Parameters
    ----------
    variant : str
        Canonical name in the sequence's numbering (``"E104K:G238S"``).
    positions : tuple of int
        0-based indices of its mutated residues.
    n_mutations : int
    scan_additive_score : float or None
        Sum of its single-site scores from the scan shown; None when there is no scan or one of its positions
        is not scanned.
    scan : str
        That scan's name (model, strategy, precision, date); empty without a scan.
    scores : tuple of VariantScore
        Every model's score of the variant (one per model and method), oldest first.
    sequence : str
        The full mutated sequence.
    sequence_variant : str
        The same variant in 1-based sequence indices (``"E102K:G236S"``).
    note : str
        The user's note on it.
    """

    variant: str
    positions: tuple
    n_mutations: int
    scan_additive_score: float | None
    scan: str
    scores: tuple
    sequence: str
    sequence_variant: str = ""
    note: str = ""

    @property
    def latest(self):
        """The most recent model score (what the variant list's Model score column shows), or None."""
        return self.scores[-1] if self.scores else None


def _number(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def variant_rows(wild_type: str, variants: Iterable[MultiMutant], scan: Any = None,
                 model_scores: Mapping[str, Mapping] | None = None,
                 scheme: NumberingScheme | None = None, notes: Mapping[str, str] | None = None) -> list[VariantRow]:
    """The variant list's rows: names, additive scan scores, every model's scores and mutated sequences.

    Parameters
    ----------
    wild_type : str
        The sequence the variants are named against.
    variants : iterable of MultiMutant
        In 1-based sequence positions.
    scan : ScanState, optional
        The scan shown; its :meth:`~protein_studio.core.documents.scans.ScanState.additive_score` gives the
        additive score and its label names it.
    model_scores : mapping, optional
        Canonical variant (sequence positions, ``str(variant)``) -> {(model, method): VariantScore}.
    scheme : NumberingScheme, optional
        Names the variants (default: sequence numbering).
    notes : mapping, optional
        Canonical variant -> the user's note.

    Returns
    -------
    list of VariantRow
    """
    model_scores = model_scores or {}
    scheme = scheme or NumberingScheme.sequence(len(wild_type))
    rows = []
    for variant in variants:
        additive = _number(scan.additive_score(variant)) if scan is not None else None
        scores = tuple(model_scores.get(str(variant), {}).values())
        rows.append(VariantRow(scheme.name_mutant(variant), tuple(m.position - 1 for m in variant.mutations),
                               len(variant.mutations), additive, scan.label if scan is not None else "", scores,
                               apply_mutant(wild_type, variant), str(variant), (notes or {}).get(str(variant), "")))
    return rows


def _slug(text: str) -> str:
    return "_".join(part for part in "".join(c if c.isalnum() else "_" for c in text).split("_") if part)


def score_column(model: str, method: str) -> str:
    """The variant CSV's column of one model and method: ``score_esm2_t33_650M_UR50D_masked_marginals_joint``."""
    return f"score_{_slug(model)}_{_slug(method)}"


def variant_table(rows: Sequence[VariantRow]) -> tuple[list[str], list[list]]:
    """The variant CSV: :data:`VARIANT_COLUMNS`, a column per model and method that scored any variant (named
    by them, see :func:`score_column`), then :data:`VARIANT_TAIL`; scores empty where not computed.

    Returns
    -------
    columns, rows
    """
    keys: list[tuple[str, str]] = []
    for row in rows:
        for score in row.scores:
            if (score.model, score.method) not in keys:
                keys.append((score.model, score.method))
    columns = [*VARIANT_COLUMNS, *(score_column(*key) for key in keys), *VARIANT_TAIL]
    table = []
    for row in rows:
        by_key = {(s.model, s.method): s.score for s in row.scores}
        table.append([row.variant, row.sequence_variant, row.n_mutations, _text(row.scan_additive_score), row.scan,
                      *(_text(_number(by_key.get(key))) for key in keys), row.note, row.sequence])
    return columns, table


def _text(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def document_record(name: str, sequence: str, mutant: MultiMutant | None,
                    scheme: NumberingScheme | None = None) -> ProteinSequence:
    """The FASTA record of an edited sequence: ``>NAME_E104K:G238S NAME with E104K:G238S``.

    ``mutant`` (the edits against the wild type, 1-based sequence positions) is named in ``scheme``
    (default the sequence index); in another scheme the description also names the numbering and the
    mutant in sequence positions. None: the name alone.
    """
    if mutant is None or not mutant.mutations:
        return ProteinSequence(name, sequence)
    named = scheme.name_mutant(mutant) if scheme is not None else str(mutant)
    description = f"{name} with {named}"
    if scheme is not None and scheme.kind != "sequence":
        description += f" (numbering: {scheme.description}; sequence positions {mutant})"
    return ProteinSequence(f"{name}_{named}", sequence, description)


def variants_fasta(rows: Sequence[VariantRow], name: str, line_width: int = 60) -> str:
    """FASTA text, one record per variant: ``>NAME_E104K:G238S scan_additive_score=... score_<model>_<method>=...``
    (each model score named by its model and method, as in the CSV); scores not computed are left out."""
    records = []
    for row in rows:
        fields = [f"n_mutations={row.n_mutations}"]
        if row.sequence_variant and row.sequence_variant != row.variant:
            fields.append(f"sequence_variant={row.sequence_variant}")
        if row.scan_additive_score is not None:
            fields.append(f"scan_additive_score={_text(row.scan_additive_score)}")
        for score in row.scores:
            fields.append(f"{score_column(score.model, score.method)}={_text(_number(score.score))}")
        records.append(ProteinSequence(f"{name}_{row.variant}", row.sequence, " ".join(fields)))
    return format_fasta(records, line_width)


#: Columns of a long-format scan table (the window's Export Scan and ``protein-studio scan``).
SCAN_COLUMNS = ("mutant", "position", "sequence_index", "chain", "residue_number", "insertion_code", "wt", "mt",
                "score", "model", "strategy")


def _residue_columns(numbering: Any, index: int) -> list[str]:
    residue = numbering.residue_at(index) if numbering is not None else None
    if residue is None:
        return ["", "", ""]
    return [residue.chain, str(residue.number), residue.insertion]


def scan_long_rows(scores, sequence: str, scheme: NumberingScheme, model: str, strategy: str,
                   numbering: Any = None, positions: Iterable[int] | None = None):
    """One row per substitution (19 per scanned position), as :data:`SCAN_COLUMNS`; rows are in sequence
    order, then :data:`AMINO_ACIDS` order. Positions not scanned (all NaN) are left out."""
    import numpy as np

    scores = np.asarray(scores, dtype=float)
    chosen = range(len(sequence)) if positions is None else sorted(positions)
    for i in chosen:
        row = scores[i]
        if np.all(np.isnan(row)):
            continue
        wt = sequence[i]
        label = scheme.display(i)
        residue = _residue_columns(numbering, i)
        for column, mt in enumerate(AMINO_ACIDS):
            if mt == wt:
                continue
            yield [f"{wt}{label}{mt}", label, str(i + 1), *residue, wt, mt, _score_text(row[column]), model, strategy]


def _score_text(value: float) -> str:
    return "" if math.isnan(value) else f"{value:.6f}"


#: Columns of a wide-format scan table: one row per position, the 20 scores in :data:`AMINO_ACIDS` order.
SCAN_WIDE_COLUMNS = ("position", "sequence_index", "chain", "residue_number", "insertion_code", "wt", *AMINO_ACIDS)


def scan_wide_rows(scores, sequence: str, scheme: NumberingScheme, numbering: Any = None):
    """One row per position (:data:`SCAN_WIDE_COLUMNS`): label, sequence index, structure residue, wild
    type, then the 20 scores (the wild type's own cell 0, unscanned positions empty)."""
    import numpy as np

    scores = np.asarray(scores, dtype=float)
    return ([scheme.display(i), str(i + 1), *_residue_columns(numbering, i), wt, *(_score_text(v) for v in scores[i])]
            for i, wt in enumerate(sequence))
