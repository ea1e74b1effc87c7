"""The features of this change through what a user touches: menu actions and buttons, with the file and
input dialogs answered (their methods have their own tests)."""

from __future__ import annotations

import json

from pathlib import Path

import pytest
from PySide6.QtWidgets import QDialog, QFileDialog, QInputDialog, QMessageBox

pytest.importorskip("torch")
pytest.importorskip("esm")

from protein_studio.core.storage.project import load_project  # noqa: E402
from protein_studio.gui.controllers.documents import DEMO_FILES  # noqa: E402
from protein_studio.gui.controllers.exports import SCAN_FILTER  # noqa: E402
from protein_studio.gui.panels.measurements_panel import ImportDialog  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
AMBLER = REPO / "resources" / "demo" / "tem1_ambler_numbering.csv"
TIMEOUT = 60000


@pytest.fixture
def window(studio):
    assert studio.documents.open_files(list(DEMO_FILES), remember=False)
    return studio


def _answer_open(monkeypatch, path) -> None:
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))


def _answer_save(monkeypatch, path, chosen: str = "") -> None:
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), chosen))


def test_view_numbering_menu(window, monkeypatch):
    actions = window.numbering.actions
    monkeypatch.setattr(QInputDialog, "getInt", lambda *a, **k: (25, True))
    actions["offset"].trigger()
    assert window.numbering_label.text() == "Numbering: offset +25" and window.session.document.label(0) == "26"
    _answer_open(monkeypatch, AMBLER)
    actions["table"].trigger()
    assert window.numbering_label.text() == "Numbering: table tem1_ambler_numbering.csv"
    assert actions["table"].isChecked() and window.variants.add_variant("E104K:G238S")
    _answer_open(monkeypatch, "")  # a cancelled dialog leaves the numbering as it was
    actions["reference"].trigger()
    assert actions["table"].isChecked() and window.numbering_label.text().endswith("tem1_ambler_numbering.csv")
    actions["structure"].trigger()
    assert window.session.document.scheme.kind == "structure"


def test_import_measurements_menu_and_the_export_menus(window, qtbot, monkeypatch, tmp_path):
    lines = (DATA / "BLAT_ECOLX_Ranganathan2015_2500.csv").read_text(encoding="utf-8-sig").splitlines()
    table = tmp_path / "blat100.csv"
    table.write_text("\n".join(lines[:101]) + "\n")
    actions = window.numbering.actions
    actions["sequence"].trigger()
    _answer_open(monkeypatch, table)
    monkeypatch.setattr(ImportDialog, "exec", lambda self: QDialog.Accepted)  # the first numeric column: 2500
    window.import_measurements_action.trigger()
    assay = window.measurements.current_assay()
    assert assay is not None and assay.column == "2500" and len(assay) == 100
    assert window.measurements_dock.isVisible()
    window.scans.strategy = "wt-marginals"
    with qtbot.waitSignal(window.scanFinished, timeout=TIMEOUT):
        window.scans.scan_action.trigger()  # Run > Scan with the chosen model (a random one in the tests)
    window.scans.strategy = "masked-marginals"
    _answer_save(monkeypatch, tmp_path / "wide", SCAN_FILTER.split(";;")[1])
    window.exports.export_csv_action.trigger()  # File > Export Scan, wide
    wide = (tmp_path / "wide.csv").read_text().splitlines()
    assert len(wide) == 1 + 286 and wide[0].startswith("position,sequence_index")
    window.ranked.region.setText("24-30")
    window.ranked.region.editingFinished.emit()
    _answer_save(monkeypatch, tmp_path / "shown.csv")
    window.ranked.export_button.click()  # the ranked table's Export Shown
    shown = json.loads((tmp_path / "shown.csv.json").read_text())["provenance"]
    assert "region 24-30" in shown["filtered"]


def test_project_menu_and_close_document(window, monkeypatch, tmp_path):
    actions = window.projects.actions
    window.edits.mutate(40, "W")
    assert window.documents.open_files([DATA / "1ubq.pdb"], remember=False)
    _answer_save(monkeypatch, tmp_path / "menu")
    actions["Save Project As"].trigger()
    assert window.projects.path == tmp_path / "menu.psproj" and "menu.psproj" in window.windowTitle()
    assert [s.document.name for s in load_project(tmp_path / "menu.psproj").states] == ["P62593", "1ubq chain A"]
    window.documents.close_document_action.trigger()  # the work is in a project file: no question
    assert [s.document.name for s in window.session.states] == ["P62593"]
    actions["New Project"].trigger()
    assert window.session.states == [] and window.projects.path is None
    _answer_open(monkeypatch, tmp_path / "menu.psproj")
    actions["Open Project"].trigger()  # autosave kept the file in step: the closed document is gone from it
    assert [s.document.name for s in window.session.states] == ["P62593"]
    assert window.session.states[0].document.sequence[40] == "W"
    window.confirm_close = True  # with unsaved work in no project file, New Project asks first
    window.projects.path = None
    monkeypatch.setattr(window, "ask_save_changes", lambda: QMessageBox.Cancel)
    actions["New Project"].trigger()
    assert len(window.session.states) == 1
    window.confirm_close = False
