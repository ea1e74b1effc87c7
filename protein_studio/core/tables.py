"""Tables the application writes: one writer for every CSV file.

A table opens with defaults in pandas, R and a spreadsheet: UTF-8 without a byte-order mark, the column
names on line 1, one row per line, nothing above the header. Where its numbers came from (application,
date, input, model, method, numbering) goes beside it, in ``NAME.csv.json`` (see :func:`sidecar_path`), written
atomically with it and holding the CSV's SHA-256, so a stale description is recognised; projects keep the same
provenance with their results.

Text cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return, OWASP's list) are written with a leading ``'``; numbers stay numbers (``-1.25`` is not
text). Names from files (FASTA records, chain IDs, notes from a received project) can reach any cell, so
every cell goes through :func:`safe_cell`.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import math
import os
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

__all__ = ["FORMULA_LEADS", "safe_cell", "table_csv", "sidecar_path", "write_table", "provenance_comment_lines",
           "csv_field_limit"]

#: First characters that make a spreadsheet read a cell as a formula (OWASP, CSV injection).
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def _is_number(text: str) -> bool:
    try:
        value = float(text)
    except ValueError:
        return False
    return not math.isnan(value) or text.strip().lower() == "nan"


def safe_cell(value: Any) -> str:
    """The text of one cell: numbers as written, ``None`` empty, text that starts like a formula with a
    leading ``'`` (``=HYPERLINK(...)`` -> ``'=HYPERLINK(...)``; ``-1.25`` stays ``-1.25``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    text = str(value)
    if text.startswith(FORMULA_LEADS) and not _is_number(text):
        return "'" + text
    return text


@contextlib.contextmanager
def csv_field_limit(limit: int):
    """Within the block, the csv module reads fields of at most ``limit`` characters (its limit is one setting
    of the whole process: each reader says its own and gives the previous one back)."""
    previous = csv.field_size_limit(limit)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def table_csv(rows: Iterable[Sequence], columns: Sequence[str]) -> str:
    """CSV text: the column names on the first line, then ``rows``, every cell through :func:`safe_cell`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([safe_cell(c) for c in columns])
    writer.writerows([safe_cell(v) for v in row] for row in rows)
    return buffer.getvalue()


def sidecar_path(path: str | os.PathLike) -> Path:
    """Where a table's provenance is kept: ``scan.csv`` -> ``scan.csv.json``."""
    path = Path(path)
    return path.with_name(path.name + ".json")


def write_table(path: str | os.PathLike, rows: Iterable[Sequence], columns: Sequence[str],
                provenance: Mapping[str, Any] | None = None) -> Path:
    """Write a CSV table atomically, and its provenance beside it (``NAME.csv.json``, atomically too).

    The sidecar holds ``{"table": file name, "sha256": of the CSV bytes, "columns", "rows", "provenance"}``.

    Raises
    ------
    UserError
        The file cannot be written (the message names it); the previous file is kept.
    """
    from protein_studio.core.files import write_bytes_atomically, write_text_atomically

    text = table_csv(rows, columns)
    data = text.encode("utf-8")
    path = write_bytes_atomically(path, data)
    record = {"table": path.name, "sha256": hashlib.sha256(data).hexdigest(), "columns": list(columns),
              "rows": max(text.count("\n") - 1, 0), "provenance": dict(provenance or {})}
    write_text_atomically(sidecar_path(path), json.dumps(record, indent=2, default=str) + "\n")
    return path


def provenance_comment_lines(provenance: Mapping[str, Any]) -> list[str]:
    """``key: value`` lines of a provenance record (for a terminal, where a table goes to standard output)."""
    return [f"{key}: {value}" for key, value in provenance.items()]
