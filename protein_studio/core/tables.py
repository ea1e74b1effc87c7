"""Tables the application writes: one place that turns rows into CSV text."""

from __future__ import annotations

import csv
import io
from typing import Iterable, Sequence

__all__ = ["table_csv"]


def table_csv(rows: Iterable[Sequence], columns: Sequence[str], header: Sequence[str] = ()) -> str:
    """CSV text: ``header`` lines as ``# `` comments (numbering, provenance; the project's readers skip
    them), the column names, then ``rows``. Every table the application writes is made here."""
    buffer = io.StringIO()
    for line in header:
        buffer.write(f"# {line}\n")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue()
