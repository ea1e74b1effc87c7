"""The rough edges a new user hit, each driven through the real window (issue 14)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QFileDialog, QWidget

from protein_studio.gui.main_window import DEMO_FILES
from protein_studio.gui.worker import Job

DATA = Path(__file__).resolve().parents[1] / "data"
TIMEOUT = 60000


def test_after_cancel_the_progress_bar_says_nothing_of_the_cancelled_job(studio, qtbot):
    release = threading.Event()

    def step(ctx, loaded):
        ctx.progress(84, 287, "scanning")
        release.wait(5)
        return None

    job = studio.submit_job(Job("Scan something", step))
    qtbot.waitUntil(lambda: "84/287" in studio.activity.bar.format(), timeout=TIMEOUT)
    studio.activity.cancel_button.click()
    # the worker's last report of the cancelled job arrives after the window ended it
    studio.worker.progress.emit(job, 85.0, 287.0, "scanning", 34.0)
    release.set()
    qtbot.waitUntil(lambda: not studio.worker.busy, timeout=TIMEOUT)
    assert studio.activity.bar.format() == "" and studio.activity.label.text() == "Idle"


def test_while_refining_the_table_says_how_much_is_final(studio):
    assert studio.open_files([DATA / "1ubq.pdb"], remember=False)
    session = studio.session
    session.begin_scan("random-esm2-tiny", "masked-marginals", True)
    length = len(session.document)
    rows = np.random.default_rng(0).normal(size=(length, 20))
    session.add_scan_chunk(list(range(length)), rows, final=False)  # the one-pass preview, everywhere
    session.add_scan_chunk([0, 1, 2], rows[:3], final=True)  # the first masked passes
    studio._refresh_table()
    assert studio.ranked.status.text().endswith(f"refining: 3 of {length} positions final, the others from the "
                                                f"one-pass preview")
    session.add_scan_chunk(list(range(length)), rows, final=True)
    studio._refresh_table()
    assert studio.ranked.status.text().endswith(f"{length} of {length} positions have scores")


def test_the_heatmap_starts_at_the_first_residue_of_each_protein(studio, qtbot):
    assert studio.open_files([DATA / "1btl.pdb"], remember=False)
    heatmap = studio.heatmap
    heatmap.set_cell_width(24)  # wider than the window: the heatmap scrolls
    bar = heatmap.horizontalScrollBar()
    assert bar.maximum() > 0
    bar.setValue(bar.maximum())
    assert studio.open_files(list(DEMO_FILES), remember=False)  # another long protein
    assert bar.maximum() > 0 and heatmap.visible_columns()[0] == 0
    bar.setValue(bar.maximum() // 2)
    studio.session.activate(0)  # back to the first document: its start again
    assert heatmap.visible_columns()[0] == 0


def test_file_dialogs_open_where_the_last_of_their_kind_ended(studio, monkeypatch, tmp_path):
    folder = tmp_path / "lab share"
    folder.mkdir()
    target = folder / "ubq.pdb"
    target.write_bytes((DATA / "1ubq.pdb").read_bytes())
    asked = []

    def answer(parent, title, directory, filters=""):
        asked.append(directory)
        return [str(target)], ""

    monkeypatch.setattr(QFileDialog, "getOpenFileNames", answer)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda p, t, d, f="": (asked.append(d), ("", ""))[1])
    studio.open_dialog()
    studio.open_dialog()
    assert asked[0] == str(Path.home()) and asked[1] == str(folder)
    studio.projects.open_project_dialog()  # another kind of file: its own folder (the home folder so far)
    assert asked[2] == str(Path.home())


def test_reset_3d_view_and_drops_never_reach_the_web_page(studio, qtbot):
    from test_design_tools import _status

    assert studio.open_files(list(DEMO_FILES), remember=False)
    viewer = studio.viewer
    qtbot.waitUntil(lambda: _status(qtbot, viewer).get("atoms", 0) > 0, timeout=TIMEOUT)
    initial = np.array(_status(qtbot, viewer)["view"])
    doc = studio.session.document
    viewer.highlight([doc.numbering.residue_at(100)], center=True)
    qtbot.waitUntil(lambda: not np.allclose(_status(qtbot, viewer)["view"], initial), timeout=TIMEOUT)
    studio.reset_view_action.trigger()
    qtbot.waitUntil(lambda: np.allclose(_status(qtbot, viewer)["view"], initial, atol=1e-3), timeout=TIMEOUT)
    # a file dropped on the 3D view goes to the window (which opens it), never to the page
    view = viewer._view
    assert view is not None and not view.acceptDrops()
    assert not any(child.acceptDrops() for child in view.findChildren(QWidget))
    assert studio.acceptDrops()
    assert json.dumps(_status(qtbot, viewer)["name"])  # the page still shows the structure
