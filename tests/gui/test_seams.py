"""Where features meet, through the menus: measurements land in the right numbering or not at all, labels and
filters follow the numbering and stay with their document."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QFileDialog

pytest.importorskip("torch")
pytest.importorskip("esm")

from protein_studio.gui.controllers.documents import DEMO_FILES  # noqa: E402
from protein_studio.gui.panels.measurements_panel import ImportDialog, NumberingDialog  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
BLAT = DATA / "BLAT_ECOLX_Ranganathan2015_2500.csv"
TIMEOUT = 60000


@pytest.fixture
def demo(studio):
    assert studio.documents.open_files(list(DEMO_FILES), remember=False)
    return studio


def _scan(window, qtbot):
    window.scans.strategy = "wt-marginals"
    with qtbot.waitSignal(window.scanFinished, timeout=TIMEOUT):
        window.scans.scan_action.trigger()
    window.scans.strategy = "masked-marginals"


def test_the_ambler_numbered_demo_stops_at_a_uniprot_table_and_reads_it_in_sequence_numbering(demo, menu,
                                                                                              monkeypatch):
    shipped = menu(demo, "View", "TEM-1 Ambler numbering (shipped table)")
    assert shipped.isEnabled()
    shipped.trigger()
    assert demo.numbering_label.text() == "Numbering: table tem1_ambler_numbering.csv"
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(BLAT), ""))
    monkeypatch.setattr(ImportDialog, "exec", lambda self: QDialog.Accepted)  # the first numeric column: 2500
    offered = []

    def answer(dialog):
        offered.extend((f.name, f.matched, f.total) for f in dialog.fits)
        assert dialog.chosen.name == "sequence"  # the one that fits is chosen
        return QDialog.Accepted

    monkeypatch.setattr(NumberingDialog, "exec", answer)
    demo.import_measurements_action.trigger()
    assert ("table", 247, 4996) in offered and ("sequence", 4996, 4996) in offered
    assay = demo.measurements.current_assay()
    assert assay is not None and assay.rows_used == 4996 and len(assay) == 4996 and assay.problems == []
    assert assay.numbering == "sequence"
    assert "4,996 rows, 4,996 used as 4,996 variants; every row used" in demo.measurements.summary.text()
    assert demo.session.document.scheme.kind == "table"  # the numbering shown stays the user's
    # a cancelled choice imports nothing and says so
    monkeypatch.setattr(NumberingDialog, "exec", lambda self: QDialog.Rejected)
    demo.import_measurements_action.trigger()
    assert demo.measurements.assay_box.count() == 1


def test_a_numbering_change_relabels_the_ranked_table_at_once_and_translates_its_filters(demo, qtbot, menu):
    _scan(demo, qtbot)
    ranked = demo.ranked
    menu(demo, "View", "TEM-1 Ambler numbering (shipped table)").trigger()
    ranked.region.setText("104-106")
    ranked.region.editingFinished.emit()
    assert ranked.model.headerData(1, Qt.Horizontal) == "Mutant (table)"
    assert {row.label for row in ranked.model.rows} <= {"104", "105", "106"} and ranked.model.rows
    demo.numbering.actions["sequence"].trigger()  # View > Numbering > Sequence Index
    assert ranked.model.headerData(1, Qt.Horizontal) == "Mutant (sequence)"
    assert ranked.region.text() == "102-104"  # the same positions, in the labels shown now
    assert {row.label for row in ranked.model.rows} <= {"102", "103", "104"}
    assert all(row.mutant[1:-1] == row.label for row in ranked.model.rows)
    assert demo.session.state.view["ranked"]["region"] == "102-104"  # the document keeps them


def test_filters_stay_with_their_document(demo, qtbot):
    _scan(demo, qtbot)
    demo.ranked.region.setText("240-250")
    demo.ranked.region.editingFinished.emit()
    assert demo.documents.open_files([DATA / "1ubq.pdb"], remember=False)
    _scan(demo, qtbot)
    assert demo.ranked.region.text() == "" and len(demo.ranked.model.rows) == 100  # ubiquitin has no 240
    demo.document_list.activateRequested.emit(0)
    assert demo.ranked.region.text() == "240-250"
    assert {int(row.label) for row in demo.ranked.model.rows} <= set(range(240, 251))
