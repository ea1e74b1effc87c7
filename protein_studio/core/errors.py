"""Errors meant for the user's eyes.

Anything raised as a :class:`UserError` is shown as one clear line (command line) or one message box
(window), never as a traceback. The message says what is wrong and where: file, line, residue or position.
"""

from __future__ import annotations

__all__ = ["UserError", "InputError", "ModelUnavailableError", "JobCancelled"]


class UserError(Exception):
    """An error caused by input or environment that the user can fix; its text is the whole message."""


class InputError(UserError, ValueError):
    """Bad input data. ``source`` (a file name or 'sequence'), ``line`` and ``position`` say where."""

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None,
                 position: int | None = None):
        self.reason = message
        self.source = source
        self.line = line
        self.position = position
        where = []
        if source:
            where.append(str(source))
        if line is not None:
            where.append(f"line {line}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class ModelUnavailableError(UserError):
    """A model's weights are not on disk and cannot be downloaded (offline), or cannot be loaded."""


class JobCancelled(Exception):
    """Raised inside a job when the user cancelled it; partial results already streamed stay valid."""
