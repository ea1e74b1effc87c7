"""The rough edges a new user hit, each driven through the real window (issue 14)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QFileDialog, QWidget

from protein_studio.gui.controllers.documents import DEMO_FILES
from protein_studio.gui.worker import Job
from predicted import predicted_pabp  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data"
TIMEOUT = 60000


def test_after_cancel_the_progress_bar_says_nothing_of_the_cancelled_job(studio, qtbot):
    release = threading.Event()

    def step(ctx, loaded):
        ctx.progress(84, 287, "scanning")
        release.wait(5)
        return None

    job = studio.jobs.submit(Job("Scan something", step))
    qtbot.waitUntil(lambda: "84/287" in studio.activity.bar.format(), timeout=TIMEOUT)
    studio.activity.cancel_button.click()
    # the worker's last report of the cancelled job arrives after the window ended it
    studio.worker.progress.emit(job, 85.0, 287.0, "scanning", 34.0)
    release.set()
    qtbot.waitUntil(lambda: not studio.worker.busy, timeout=TIMEOUT)
    assert studio.activity.bar.format() == "" and studio.activity.label.text() == "Idle"


def test_while_refining_the_table_says_how_much_is_final(studio, qtbot):
    """The chunks a running masked scan hands the window (its one-pass preview, then final rows)."""
    assert studio.documents.open_files([DATA / "1ubq.pdb"], remember=False)
    session = studio.session
    session.begin_scan("random-esm2-tiny", "masked-marginals", True)
    length = len(session.document)
    rows = np.random.default_rng(0).normal(size=(length, 20))
    session.add_scan_chunk(list(range(length)), rows, final=False)  # the one-pass preview, everywhere
    session.add_scan_chunk([0, 1, 2], rows[:3], final=True)  # the first masked passes
    qtbot.waitUntil(lambda: studio.ranked.status.text().endswith(
        f"refining: 3 of {length} positions final, the others from the one-pass preview"), timeout=TIMEOUT)
    session.add_scan_chunk(list(range(length)), rows, final=True)
    qtbot.waitUntil(lambda: studio.ranked.status.text().endswith(f"{length} of {length} positions have scores"),
                    timeout=TIMEOUT)


def test_the_heatmap_starts_at_the_first_residue_of_each_protein(studio, qtbot):
    assert studio.documents.open_files([DATA / "1btl.pdb"], remember=False)
    heatmap = studio.heatmap
    heatmap.set_cell_width(24)  # wider than the window: the heatmap scrolls
    bar = heatmap.horizontalScrollBar()
    assert bar.maximum() > 0
    bar.setValue(bar.maximum())
    assert studio.documents.open_files(list(DEMO_FILES), remember=False)  # another long protein
    assert bar.maximum() > 0 and heatmap.visible_columns()[0] == 0
    bar.setValue(bar.maximum() // 2)
    studio.session.activate(0)  # back to the first document: its start again
    assert heatmap.visible_columns()[0] == 0


def test_file_dialogs_open_where_the_last_of_their_kind_ended(studio, monkeypatch, tmp_path, menu):
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
    menu(studio, "File", "Open").trigger()
    menu(studio, "File", "Open").trigger()
    assert asked[0] == str(Path.home()) and asked[1] == str(folder)
    menu(studio, "File", "Open Project").trigger()  # another kind of file: its own folder (home so far)
    assert asked[2] == str(Path.home())


def test_reset_3d_view_and_drops_never_reach_the_web_page(studio, qtbot):
    from test_design_tools import _status

    assert studio.documents.open_files(list(DEMO_FILES), remember=False)
    viewer = studio.viewer
    qtbot.waitUntil(lambda: _status(qtbot, viewer).get("atoms", 0) > 0, timeout=TIMEOUT)
    initial = np.array(_status(qtbot, viewer)["view"])
    doc = studio.session.document
    viewer.highlight([doc.numbering.residue_at(100)], center=True)
    qtbot.waitUntil(lambda: not np.allclose(_status(qtbot, viewer)["view"], initial), timeout=TIMEOUT)
    studio.view.reset_view_action.trigger()
    qtbot.waitUntil(lambda: np.allclose(_status(qtbot, viewer)["view"], initial, atol=1e-3), timeout=TIMEOUT)
    # a file dropped on the 3D view goes to the window (which opens it), never to the page
    view = viewer._view
    assert view is not None and not view.acceptDrops()
    assert not any(child.acceptDrops() for child in view.findChildren(QWidget))
    assert studio.acceptDrops()
    assert json.dumps(_status(qtbot, viewer)["name"])  # the page still shows the structure


def _two_chains(tmp_path) -> Path:
    """1UBQ as chain A and, 40 angstroms away, again as chain B."""
    lines = [line for line in (DATA / "1ubq.pdb").read_text().splitlines() if line.startswith("ATOM")]
    moved = [line[:21] + "B" + line[22:30] + f"{float(line[30:38]) + 40:8.3f}" + line[38:] for line in lines]
    path = tmp_path / "two_chains.pdb"
    path.write_text("\n".join(lines + ["TER"] + moved + ["END"]) + "\n")
    return path


def _orange_pixels(viewer, tmp_path, name) -> int:
    from PySide6.QtGui import QImage

    image = QImage(str(viewer.grab_image(tmp_path / name))).convertToFormat(QImage.Format.Format_RGB888)
    width, height, stride = image.width(), image.height(), image.bytesPerLine()
    raw = np.frombuffer(image.constBits(), np.uint8)[: stride * height].reshape(height, stride)[:, : width * 3]
    rgb = raw.reshape(height, width, 3).astype(int)
    return int(np.count_nonzero((rgb[..., 0] > 200) & (abs(rgb[..., 1] - 140) < 50) & (rgb[..., 2] < 80)))


def test_the_chain_is_chosen_beside_the_sequence_and_a_selected_range_stands_out(studio, qtbot, tmp_path):
    from test_design_tools import _status

    assert studio.documents.open_files([_two_chains(tmp_path)], remember=False)
    viewer = studio.viewer
    qtbot.waitUntil(lambda: _status(qtbot, viewer).get("atoms", 0) > 0, timeout=TIMEOUT)
    combo = studio.chain_combo
    assert studio.chain_row.isVisibleTo(studio) and combo.count() == 2 and combo.currentData() == "A"
    qtbot.waitUntil(lambda: _status(qtbot, viewer).get("activeChain") == "A", timeout=TIMEOUT)
    combo.setCurrentIndex(1)
    combo.activated.emit(1)  # the user picks chain B in the box beside the sequence
    assert studio.session.document.chain == "B" and combo.currentData() == "B"
    qtbot.waitUntil(lambda: _status(qtbot, viewer).get("activeChain") == "B", timeout=TIMEOUT)

    before = _orange_pixels(viewer, tmp_path, "before.png")
    studio.mediator.select(range(10, 25))  # a range selected in the sequence or heatmap
    qtbot.waitUntil(lambda: len(_status(qtbot, viewer).get("selected", [])) == 15, timeout=TIMEOUT)
    assert before == 0  # drawn in a colour of its own, not only as thin sticks, once the page has drawn it
    qtbot.waitUntil(lambda: _orange_pixels(viewer, tmp_path, "after.png") > 200, timeout=TIMEOUT)


def test_the_exported_3d_image_carries_the_legend_the_view_shows(studio, qtbot, tmp_path, monkeypatch, menu):
    from PySide6.QtGui import QColor, QImage

    from test_design_tools import _status

    assert studio.documents.open_files([predicted_pabp(tmp_path)], remember=False)
    viewer = studio.viewer
    qtbot.waitUntil(lambda: _status(qtbot, viewer).get("atoms", 0) > 0, timeout=TIMEOUT)
    studio.view.colour_actions["confidence"].trigger()  # pLDDT: a legend of coloured bins
    qtbot.waitUntil(lambda: _status(qtbot, viewer).get("coloring") == "values", timeout=TIMEOUT)
    legend = viewer.legend
    assert legend["title"] == "Confidence (pLDDT)" and len(legend["items"]) >= 4
    path = tmp_path / "structure.png"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), "PNG image (*.png)"))
    menu(studio, "File", "Export Structure Image").trigger()
    image = QImage(str(path))
    assert not image.isNull() and len(viewer.legend_swatches) == len(legend["items"])
    for (rect, colour), (item_colour, _label) in zip(viewer.legend_swatches, legend["items"]):
        assert colour == item_colour
        assert QColor(image.pixel(rect.center())).name().lower() == QColor(colour).name().lower()


def test_a_prediction_sits_beside_the_crystal_structure_and_brings_its_plddt_track(studio, qtbot, tmp_path):
    """Predicting the 1EMA stand-in (a chromophore, so the prediction cannot take the structure's numbers)
    gave no pLDDT track, and the prediction replaced the crystal structure with no way back."""
    from gfp_model import write_gfp_model
    from test_design_tools import _status

    tools = studio.design_tools
    assert studio.documents.open_files([write_gfp_model(tmp_path / "1ema_model.pdb")], remember=False)
    viewer = studio.viewer
    qtbot.waitUntil(lambda: _status(qtbot, viewer).get("atoms", 0) > 0, timeout=TIMEOUT)
    crystal = _status(qtbot, viewer)["name"]
    toggle = tools.actions["show_prediction"]
    assert not toggle.isEnabled()
    studio.resize(1280, 800)
    qtbot.waitUntil(lambda: studio.width() == 1280, timeout=TIMEOUT)
    with qtbot.waitSignal(tools.predictionShown, timeout=TIMEOUT):
        tools.predict("random-esmfold-tiny")
    # the long job title ("Predict structure of ... (RANDOM WEIGHTS - ...)") once widened the window past the screen
    assert studio.width() == 1280
    assert tools.tracks.track("plddt") is not None  # the document's positions, whatever the numbering
    qtbot.waitUntil(lambda: _status(qtbot, viewer)["name"].startswith("Predicted"), timeout=TIMEOUT)
    assert toggle.isEnabled() and toggle.isChecked()
    toggle.trigger()  # back to the crystal structure
    qtbot.waitUntil(lambda: _status(qtbot, viewer)["name"] == crystal, timeout=TIMEOUT)
    toggle.trigger()  # and to the prediction again
    qtbot.waitUntil(lambda: _status(qtbot, viewer)["name"].startswith("Predicted"), timeout=TIMEOUT)
    assert studio.documents.open_files(list(DEMO_FILES), remember=False)  # another document: nothing to switch to
    assert not toggle.isEnabled() and not toggle.isChecked()
