"""Where a result came from: the provenance record kept with it in a project and beside an exported
table (``NAME.csv.json``, see :mod:`protein_studio.core.tables`)."""

from __future__ import annotations

import datetime
from pathlib import Path

__all__ = ["provenance_now", "numbering_provenance", "table_provenance"]


def provenance_now(**fields) -> dict:
    """Provenance of a result made now: application version and UTC date, plus ``fields`` (``None`` left out)."""
    from protein_studio import __version__

    return {"application": f"protein-studio {__version__}",
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            **{k: v for k, v in fields.items() if v is not None}}


def numbering_provenance(scheme) -> dict:
    """Which numbering a table's positions are written in."""
    return {"numbering": scheme.description,
            "numbering_note": "positions without a number in it are written (N), their sequence index"}


def table_provenance(doc, model: str | None = None, method: str | None = None, **fields) -> dict:
    """Where a table about document ``doc`` came from: version, date, input (name and files), the model and
    method, its numbering, and ``fields``."""
    source = ", ".join(Path(p).name for p in doc.paths) or "typed or pasted sequence"
    return provenance_now(input=f"{doc.name} ({source})", model=model, method=method,
                          **numbering_provenance(doc.scheme), **fields)
