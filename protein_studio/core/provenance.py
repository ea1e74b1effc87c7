"""Where a result came from: the provenance record kept with it in a project, and the lines that say the
same beside an exported table."""

from __future__ import annotations

import datetime
from pathlib import Path

__all__ = ["provenance_now", "provenance_lines", "numbering_header"]


def provenance_now(**fields) -> dict:
    """Provenance of a result made now: application version and UTC date, plus ``fields``."""
    from protein_studio import __version__

    return {"application": f"protein-studio {__version__}",
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            **{k: v for k, v in fields.items() if v is not None}}


def numbering_header(scheme) -> str:
    """The comment line that says which numbering a table uses."""
    return (f"numbering: {scheme.description} (positions without a number there are written (N), "
            f"their sequence index)")


def provenance_lines(doc, model: str, method: str, extra: str = "") -> list[str]:
    """Comment lines that say where a table's numbers came from."""
    from protein_studio import __version__

    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    source = ", ".join(Path(p).name for p in doc.paths) or "--sequence"
    lines = [f"protein-studio {__version__}, {when}", f"input: {doc.name} ({source})",
             f"model: {model}; {method}" + (f"; {extra}" if extra else "")]
    return lines + [numbering_header(doc.scheme)]
