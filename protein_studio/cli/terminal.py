"""What the commands show on the terminal besides their results: a bar of passes (``scan``, ``score``), a status
line (``fold``, ``generate``, ``fit``) and the rows of an input that were skipped (the first few, then counts by
reason: a file of a million bad rows is a few lines, not megabytes). Text from files is shown through
:func:`~protein_studio.core.files.printable`, so it never rewrites the terminal."""

from __future__ import annotations

import sys
import time

from protein_studio.core.files import printable

__all__ = ["ProgressBar", "StatusLine", "echo_skipped", "SKIPPED_SHOWN"]

#: Skipped rows listed one by one; the rest are counted by reason.
SKIPPED_SHOWN = 10


def echo_skipped(label: str, rows, stream=None, shown: int = SKIPPED_SHOWN) -> None:
    """``rows`` of ``(line or None, text, reason)`` an input skipped: the first ``shown`` one per line (the text
    cut to 80 characters), then one line counting all of them by reason."""
    stream = stream if stream is not None else sys.stderr
    counts: dict[str, int] = {}
    for k, (line, text, reason) in enumerate(rows):
        counts[str(reason)] = counts.get(str(reason), 0) + 1
        if k < shown:
            text = str(text)
            text = text if len(text) <= 80 else text[:77] + "..."
            where = f"line {line}: " if line else ""
            stream.write(printable(f"{label}: skipped {where}{text}: {reason}") + "\n")
    total = sum(counts.values())
    if total:
        more = f" ({total - shown} not listed)" if total > shown else ""
        stream.write(printable(f"{label}: skipped {total} rows{more}: " + ", ".join(
            f"{n} {reason}" for reason, n in sorted(counts.items(), key=lambda item: -item[1])[:10])) + "\n")
    stream.flush()


class ProgressBar:
    """A text progress bar on a stream: redrawn in place with ``\\r`` on a terminal, otherwise only a
    final line. Use as the ``on_progress`` callback of a :class:`~protein_studio.core.job_context.JobContext`.
    """

    def __init__(self, label: str, stream=None, width: int = 30):
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = time.monotonic()
        self._drawn = 0.0
        self.finished = False

    def __call__(self, done: float, total: float, text: str = "") -> None:
        if total <= 0 or self.finished:
            return
        now = time.monotonic()
        elapsed = now - self.started
        complete = done >= total
        if self.tty and (complete or now - self._drawn >= 0.1):
            filled = int(self.width * min(done / total, 1.0))
            bar = "#" * filled + "-" * (self.width - filled)
            self.stream.write(f"\r{self.label} [{bar}] {done:.0f}/{total:.0f} passes, {elapsed:.0f}s")
            self.stream.flush()
            self._drawn = now
        if complete:
            self.finished = True
            if self.tty:
                self.stream.write("\n")
            else:
                self.stream.write(f"{self.label}: {done:.0f}/{total:.0f} passes in {elapsed:.1f}s\n")
            self.stream.flush()


class StatusLine:
    """Progress text on stderr: redrawn in place on a terminal; elsewhere only the first and last
    message of each job. Use as a JobContext ``on_progress`` callback."""

    def __init__(self, label: str, stream=None):
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last = 0.0

    def __call__(self, done: float, total: float, text: str = "") -> None:
        now = time.monotonic()
        first, last = done <= 0, total > 0 and done >= total
        if self.tty:
            if first or last or now - self._last >= 0.1:
                self.stream.write(f"\r\033[K{self.label}: {printable(text)}" + ("\n" if last else ""))
                self.stream.flush()
                self._last = now
        elif first or last:
            self.stream.write(f"{self.label}: {printable(text)}\n")
            self.stream.flush()

    def warn(self, text: str) -> None:
        """Print a warning on its own line."""
        self.stream.write(("\n" if self.tty else "") + f"{self.label}: warning: {printable(text)}\n")
        self.stream.flush()
