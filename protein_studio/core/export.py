"""Saving what the user designed: the edited sequence as FASTA, the variant list as CSV or FASTA.

Everything here is plain text built from the session's data; the window writes it with
:func:`protein_studio.core.files.write_text_atomically`, so a failure (full disk, no permission) never
leaves a half-written file in place of a good one.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from protein_studio.core.mutations import MultiMutant, apply_mutant
from protein_studio.core.sequences import ProteinSequence, format_fasta

__all__ = [
    "VariantRow", "VARIANT_COLUMNS", "variant_rows", "document_record", "variants_csv", "variants_fasta",
]

#: Columns of the variant CSV, in order.
VARIANT_COLUMNS = ("variant", "n_mutations", "scan_additive_score", "model_score", "model", "method", "sequence")


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
        Sum of its single-site scores from the session's scan; None when there is no scan or one of
        its positions is not scanned.
    model_score : float or None
        Score from the last "Score Variants" job; None when not scored.
    model, method : str
        What produced ``model_score`` (empty when not scored).
    sequence : str
        The full mutated sequence.
    """

    variant: str
    positions: tuple
    n_mutations: int
    scan_additive_score: float | None
    model_score: float | None
    model: str
    method: str
    sequence: str


def _number(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def variant_rows(wild_type: str, variants: Iterable[MultiMutant], first_residue: int = 1, scan: Any = None,
                 model_scores: Mapping[str, tuple[float, str, str]] | None = None) -> list[VariantRow]:
    """The variant list's rows: names, additive scan scores, model scores and mutated sequences.

    Parameters
    ----------
    wild_type : str
        The sequence the variants are named against.
    variants : iterable of MultiMutant
    first_residue : int
        Number of the first residue of ``wild_type`` (mutation names use it).
    scan : ScanState, optional
        The session's scan; its :meth:`~protein_studio.core.session.ScanState.additive_score` gives
        the additive score.
    model_scores : mapping, optional
        Variant name -> ``(score, model, method)`` from the last scoring job.

    Returns
    -------
    list of VariantRow
    """
    model_scores = model_scores or {}
    rows = []
    for variant in variants:
        name = str(variant)
        additive = _number(scan.additive_score(variant, first_residue)) if scan is not None else None
        score, model, method = model_scores.get(name, (None, "", ""))
        rows.append(VariantRow(name, tuple(m.position - first_residue for m in variant.mutations),
                               len(variant.mutations), additive, _number(score), model, method,
                               apply_mutant(wild_type, variant, first_residue)))
    return rows


def _text(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def document_record(name: str, sequence: str, mutant: MultiMutant | None) -> ProteinSequence:
    """The FASTA record of an edited sequence: ``>NAME_E104K:G238S NAME with E104K:G238S``.

    ``mutant`` (the edits against the wild type, in the sequence's numbering) None: the name alone.
    """
    if mutant is None or not mutant.mutations:
        return ProteinSequence(name, sequence)
    return ProteinSequence(f"{name}_{mutant}", sequence, f"{name} with {mutant}")


def variants_csv(rows: Sequence[VariantRow]) -> str:
    """CSV text with the columns of :data:`VARIANT_COLUMNS`; scores empty where not computed."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(VARIANT_COLUMNS)
    for row in rows:
        writer.writerow([row.variant, row.n_mutations, _text(row.scan_additive_score), _text(row.model_score),
                         row.model, row.method, row.sequence])
    return buffer.getvalue()


def variants_fasta(rows: Sequence[VariantRow], name: str, line_width: int = 60) -> str:
    """FASTA text, one record per variant: ``>NAME_E104K:G238S scan_additive_score=... model_score=...``.

    Scores not computed are left out of the header; ``model=`` and ``method=`` follow a model score.
    """
    records = []
    for row in rows:
        fields = [f"n_mutations={row.n_mutations}"]
        if row.scan_additive_score is not None:
            fields.append(f"scan_additive_score={_text(row.scan_additive_score)}")
        if row.model_score is not None:
            fields.append(f"model_score={_text(row.model_score)}")
            fields += [f"{key}={value.replace(' ', '_')}" for key, value in (("model", row.model),
                                                                          ("method", row.method)) if value]
        records.append(ProteinSequence(f"{name}_{row.variant}", row.sequence, " ".join(fields)))
    return format_fasta(records, line_width)
