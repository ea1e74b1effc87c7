"""How sizes and parameter counts are written, the same way in the window and on the command line."""

from __future__ import annotations

__all__ = ["format_bytes", "format_parameters"]


def format_bytes(n: int) -> str:
    """Sizes as people read them: ``31 MB``, ``2.6 GB`` (decimal units); ``-`` for nothing."""
    if n <= 0:
        return "-"
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            value = n / size
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    return f"{n} B"


def format_parameters(n: int) -> str:
    """Parameter counts: ``7.5M``, ``651M``, ``15.1B``; ``-`` when unknown."""
    if n <= 0:
        return "-"
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            value = n / size
            return f"{value:.1f}{unit}" if value < 10 or unit == "B" else f"{value:.0f}{unit}"
    return str(n)
