"""Opening files and projects off the GUI thread: the window keeps running its events, a progress dialog
shows, Cancel leaves every open document as it was (issue 15: a 200 MB PDB froze the window for 93 s)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QFileDialog, QProgressDialog, QPushButton

import protein_studio.gui.controllers.documents as documents_module
from protein_studio.core.storage.project import save_project, snapshot
from protein_studio.gui.controllers.documents import DEMO_FILES

UBIQUITIN = "MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG"


@pytest.fixture
def fasta(tmp_path) -> Path:
    path = tmp_path / "ubiquitin.fasta"
    path.write_text(f">ubiquitin\n{UBIQUITIN}\n")
    return path


class SlowLoad:
    """Wraps a loader so that it waits until the test releases it, counting the window's timer ticks
    meanwhile (they only run when the GUI thread is free)."""

    def __init__(self, window, loader):
        self.window = window
        self.loader = loader
        self.release = threading.Event()
        self.ticks = 0
        self.dialog_seen = None
        self.ticks_when_seen = 0
        self.timer = QTimer()
        self.timer.setInterval(20)
        self.timer.timeout.connect(self._tick)

    def __call__(self, *args, **kwargs):
        assert threading.current_thread() is not threading.main_thread(), "parsed on the GUI thread"
        assert self.release.wait(30)
        return self.loader(*args, **kwargs)

    def _tick(self):
        self.ticks += 1
        dialog = self.window.findChild(QProgressDialog, "backgroundProgress")
        if dialog is not None and dialog.isVisible() and self.dialog_seen is None:
            self.dialog_seen = dialog.labelText()
            self.ticks_when_seen = self.ticks
            self.on_dialog(dialog)

    def on_dialog(self, dialog):
        self.release.set()

    def trigger(self, monkeypatch, module, name: str, action) -> None:
        """Put this wrapper in place of ``module.name`` and trigger the menu ``action``, timing the events."""
        monkeypatch.setattr(module, name, self)
        self.timer.start()
        action.trigger()
        self.timer.stop()


class CancelOnDialog(SlowLoad):
    def on_dialog(self, dialog):
        dialog.findChild(QPushButton).click()  # the user presses Cancel
        self.release.set()  # the abandoned parse ends later; its result must be dropped


def _answer_open(monkeypatch, paths) -> None:
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *a, **k: ([str(p) for p in paths], ""))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(paths[0]), ""))


def test_file_open_parses_off_the_gui_thread_with_a_progress_dialog(studio, monkeypatch, fasta, menu):
    slow = SlowLoad(studio, documents_module.load_document)
    _answer_open(monkeypatch, [fasta])
    slow.trigger(monkeypatch, documents_module, "load_document", menu(studio, "File", "Open"))
    assert slow.dialog_seen is not None and "Opening ubiquitin.fasta" in slow.dialog_seen
    assert slow.ticks_when_seen >= 5  # the window ran its events while the file was being read
    assert studio.session.document is not None and len(studio.session.document) == 76


def test_cancel_while_opening_keeps_the_open_documents(studio, monkeypatch, qtbot, fasta, menu):
    assert studio.documents.open_files(list(DEMO_FILES), remember=False)
    before = studio.session.document
    slow = CancelOnDialog(studio, documents_module.load_document)
    _answer_open(monkeypatch, [fasta])
    slow.trigger(monkeypatch, documents_module, "load_document", menu(studio, "File", "Open"))
    assert slow.dialog_seen is not None
    assert len(studio.session.states) == 1 and studio.session.document is before
    assert "cancelled" in studio.activity.entries()[-1]
    qtbot.wait(200)  # the abandoned parse has ended meanwhile; nothing arrives from it
    assert len(studio.session.states) == 1 and studio.last_error is None


def test_open_project_runs_off_the_gui_thread_and_can_be_cancelled(studio, monkeypatch, tmp_path, fasta, menu):
    import protein_studio.gui.controllers.projects as controller_module

    assert studio.documents.open_files([fasta], remember=False)
    path = tmp_path / "one.psproj"
    save_project(path, snapshot(studio.session))
    assert studio.projects.new_project(ask=False)
    _answer_open(monkeypatch, [path])

    slow = CancelOnDialog(studio, controller_module.load_project)
    slow.trigger(monkeypatch, controller_module, "load_project", menu(studio, "File", "Open Project"))
    assert slow.dialog_seen is not None and len(studio.session.states) == 0

    slow = SlowLoad(studio, slow.loader)
    slow.trigger(monkeypatch, controller_module, "load_project", menu(studio, "File", "Open Project"))
    assert len(studio.session.states) == 1 and studio.projects.path == path


def test_a_file_that_fails_off_the_thread_is_one_message(studio, tmp_path):
    bad = tmp_path / "broken.pdb"
    bad.write_text("ATOM      1  CA  ALA A  x1      11.104   6.134  -6.504  1.00  0.00           C\n")
    assert not studio.documents.open_files([bad], remember=False)
    title, message = studio.last_error
    assert title == "Cannot open broken.pdb" and "line 1" in message and "x1" in message
    assert studio.session.document is None


@pytest.mark.parametrize("size", [10_000, 25_001])
def test_reading_reports_progress_and_stops_when_the_callback_raises(tmp_path, monkeypatch, size):
    import protein_studio.core.files as files

    monkeypatch.setattr(files, "READ_CHUNK", 4096)
    path = tmp_path / "big.fasta"
    path.write_bytes(b">x\n" + b"A" * (size - 3))
    seen = []
    with files.reading_progress(lambda name, done, total: seen.append((name, done, total))):
        assert files.read_input_bytes(path, "a FASTA file") == path.read_bytes()
    assert seen[0] == ("big.fasta", 0, size) and seen[-1] == ("big.fasta", size, size)
    assert [done for _, done, _ in seen] == sorted(done for _, done, _ in seen)

    class Stop(Exception):
        pass

    calls = []

    def stop_after_two(name, done, total):
        calls.append(done)
        if len(calls) == 2:
            raise Stop()

    with files.reading_progress(stop_after_two), pytest.raises(Stop):
        files.read_input_bytes(path, "a FASTA file")
    assert calls == [0, 4096]  # stopped at the next chunk, not at the end of the file
    assert files.read_input_bytes(path, "a FASTA file") == path.read_bytes()  # outside the block: no callback
