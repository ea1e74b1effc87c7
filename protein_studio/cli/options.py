"""Numeric options checked when the command line is read: every number has its accepted range, and a value
outside it (or ``nan``, ``inf``, ``1e308`` where a count is meant) is one line of usage naming the option, the
range and the value, before any work starts.

``parser.add_argument("--folds", type=whole(2, 100), default=5)`` reads ``--folds 0`` as ``argument --folds:
must be a whole number from 2 to 100, not '0'``.
"""

from __future__ import annotations

import argparse
import math

__all__ = ["whole", "number"]


def _text(value: float) -> str:
    return f"{value:g}"


def whole(low: int, high: int):
    """An argparse ``type`` for a whole number from ``low`` to ``high`` (both included)."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number from {low} to {high}, not {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be a whole number from {low} to {high}, not {text!r}")
        return value

    parse.__name__ = "whole number"
    return parse


def number(low: float, high: float, *, above: bool = False, below: bool = False):
    """An argparse ``type`` for a finite number from ``low`` to ``high``; ``above``/``below``: that end is
    excluded (``number(0, 1, above=True)`` is 0 < x <= 1)."""
    left = f"above {_text(low)}" if above else f"from {_text(low)}"
    right = f"below {_text(high)}" if below else f"to {_text(high)}"
    accepted = f"must be a number {left} {right}"

    def parse(text: str) -> float:
        try:
            value = float(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{accepted}, not {text!r}") from None
        if not math.isfinite(value) or value < low or value > high or (above and value == low) or \
                (below and value == high):
            raise argparse.ArgumentTypeError(f"{accepted}, not {text!r}")
        return value

    parse.__name__ = "number"
    return parse
