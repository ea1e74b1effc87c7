"""Work the window waits for without freezing: reading and parsing a file, opening a project.

:func:`run_with_progress` runs a function on a Python thread while the window keeps painting and the 3D
page keeps answering. When it takes longer than a moment, a window-modal progress dialog shows what is
being read (MB of how many) and offers Cancel. Cancel stops the reading at the next chunk; a parser that is
already running cannot be interrupted, so its result is dropped when it ends (its memory is bounded by the
input caps of :mod:`protein_studio.core.files` and :mod:`protein_studio.core.molecules.structures`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtWidgets import QProgressDialog, QWidget

from protein_studio.core.files import reading_progress

__all__ = ["Cancelled", "run_with_progress"]

T = TypeVar("T")

#: How long the work may take before the progress dialog appears, in ms.
DIALOG_DELAY_MS = 300
_POLL_MS = 40


class Cancelled(Exception):
    """The user pressed Cancel in the progress dialog; nothing the work produced is used."""


def run_with_progress(parent: QWidget, title: str, function: Callable[[], T],
                      delay_ms: int = DIALOG_DELAY_MS) -> T:
    """Return ``function()``, computed on a thread while the window's events run.

    Raises what ``function`` raised, or :class:`Cancelled` when the user cancelled.
    """
    state: dict = {"name": "", "done": 0, "size": 0}
    cancel = threading.Event()

    def report(name: str, done: int, size: int) -> None:
        if cancel.is_set():
            raise Cancelled()
        state.update(name=name, done=done, size=size)

    def work() -> None:
        try:
            with reading_progress(report):
                state["result"] = function()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller on the GUI thread
            state["error"] = exc

    thread = threading.Thread(target=work, name=f"background: {title}", daemon=True)
    thread.start()
    thread.join(0.05)  # a small file is done before anything needs to be shown
    if thread.is_alive():
        _wait(parent, title, thread, state, cancel, delay_ms)
    if cancel.is_set():
        raise Cancelled()
    if "error" in state:
        raise state["error"]
    return state["result"]


def _wait(parent: QWidget, title: str, thread: threading.Thread, state: dict, cancel: threading.Event,
          delay_ms: int) -> None:
    dialog = QProgressDialog(title, "Cancel", 0, 0, parent)
    dialog.setObjectName("backgroundProgress")
    dialog.setWindowTitle(title)
    dialog.setWindowModality(Qt.WindowModal)
    dialog.setAutoClose(False)
    dialog.setAutoReset(False)
    dialog.setMinimumDuration(0)
    dialog.hide()
    loop = QEventLoop()
    started = time.monotonic()

    def poll() -> None:
        if not thread.is_alive():
            loop.quit()
            return
        if not dialog.isVisible() and (time.monotonic() - started) * 1000 >= delay_ms:
            dialog.show()
        name, done, size = state["name"], state["done"], state["size"]
        if name and size and done < size:
            dialog.setRange(0, 1000)
            dialog.setValue(int(1000 * done / size))
            dialog.setLabelText(f"{title}\nReading {name}: {done / 1e6:,.0f} of {size / 1e6:,.0f} MB")
        else:  # reading done (or nothing read yet): the parser runs, with no measure of how far it is
            dialog.setRange(0, 0)
            dialog.setLabelText(f"{title}\n{'Reading ' + name if name else 'Working'}\u2026")

    def on_cancel() -> None:
        cancel.set()
        loop.quit()

    timer = QTimer()
    timer.setInterval(_POLL_MS)
    timer.timeout.connect(poll)
    dialog.canceled.connect(on_cancel)
    timer.start()
    poll()
    if thread.is_alive() and not cancel.is_set():
        loop.exec()
    timer.stop()
    dialog.canceled.disconnect(on_cancel)
    dialog.hide()
    dialog.deleteLater()
