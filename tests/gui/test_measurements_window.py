"""Measured data in the window: import a real DMS table onto the demo, compare it with a scan in the scatter
plot (selection linked both ways), show it on the heatmap, fit a model and propose the next round."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialog

pytest.importorskip("torch")
pytest.importorskip("esm")

from protein_studio.core.assays.measurements import assay_predictions, assays_in  # noqa: E402
from protein_studio.core.assays.metrics import evaluate_predictions  # noqa: E402
from protein_studio.core.molecules.sequences import AMINO_ACIDS  # noqa: E402
from protein_studio.core.storage.project import load_project  # noqa: E402
from protein_studio.gui.controllers.documents import DEMO_FILES  # noqa: E402
from protein_studio.gui.panels.measurements_panel import NumberingDialog  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
TIMEOUT = 60000


@pytest.fixture
def window(studio):
    return studio


def test_import_compare_select_fit_and_propose(window, qtbot, blat300, tmp_path, monkeypatch):
    panel = window.measurements
    assert window.documents.open_files(list(DEMO_FILES), remember=False)
    # in 1BTL's numbering the table's UniProt numbers do not fit: the import stops and asks, cancelled here
    asked = []
    monkeypatch.setattr(NumberingDialog, "exec", lambda self: asked.append(self.chosen) or QDialog.Rejected)
    assert not panel.import_table(blat300, column="2500") and panel.assay_box.count() == 0
    assert asked[0].name == "sequence" and asked[0].rate == 1.0
    window.numbering.set_numbering("sequence")  # UniProt numbering: all rows land, nothing asked
    assert panel.import_table(blat300, column="2500") and len(asked) == 1
    assay = panel.current_assay()
    assert panel.assay_box.count() == 1 and len(assay) == 300 and assay.problems == []
    assert "300 rows, 300 used as 300 variants; every row used" in panel.summary.text()
    assert len(panel.scatter.x) == 300 and "run a scan" in panel.metrics.text()

    window.scans.strategy = "wt-marginals"
    with qtbot.waitSignal(window.scanFinished, timeout=TIMEOUT):
        window.scans.start_scan("random-esm2-tiny")
    window.scans.strategy = "masked-marginals"
    expected = evaluate_predictions(assay.values, assay_predictions(assay, window.session.scan.scores))
    assert f"Spearman {expected.spearman:.3f}" in panel.metrics.text() and f"n = {expected.n}" in panel.metrics.text()
    np.testing.assert_allclose(panel.scatter.x, assay_predictions(assay, window.session.scan.scores))

    # select points in the scatter: their residues are selected everywhere
    panel.scatter.select_points([0, 5])
    positions = {assay.variants[0].mutations[0].position - 1, assay.variants[5].mutations[0].position - 1}
    assert window.mediator.selection == positions and window.editor.selection == positions
    # and by dragging over a point with the mouse
    window.measurements_dock.raise_()
    qtbot.waitUntil(lambda: panel.scatter.isVisible(), timeout=5000)
    point = panel.scatter.point_position(10).toPoint()
    QTest.mousePress(panel.scatter, Qt.LeftButton, Qt.NoModifier, point - QPoint(2, 2))
    QTest.mouseMove(panel.scatter, point + QPoint(2, 2))
    QTest.mouseRelease(panel.scatter, Qt.LeftButton, Qt.NoModifier, point + QPoint(2, 2))
    assert assay.variants[10].mutations[0].position - 1 in window.mediator.selection
    # a selection made elsewhere highlights the points of those positions
    window.mediator.select([assay.variants[20].mutations[0].position - 1], source=None)
    assert panel.scatter.highlighted == {assay.variants[20].mutations[0].position - 1}

    # the heatmap shows the measured singles, then measured minus predicted
    panel.layer.setCurrentIndex(panel.layer.findData("measured"))
    np.testing.assert_array_equal(window.heatmap._scores, assay.singles(286))
    assert "measured 2500" in window.scan_title.text()
    panel.layer.setCurrentIndex(panel.layer.findData("difference"))
    assert np.isfinite(window.heatmap._scores).sum() == 300

    # fit (ridge, one-hot, random CV) on the worker, then propose into the variant list
    with qtbot.waitSignal(window.worker.jobFinished, timeout=TIMEOUT):
        panel.fit_button.click()
    assert "random 5-fold CV over 300 variants" in panel.metrics.text()
    panel.layer.setCurrentIndex(panel.layer.findData("learned"))
    assert window.heatmap._scores.shape == (286, 20) and np.isfinite(window.heatmap._scores).sum() == 286 * 19
    panel.n.setValue(6)
    panel.min_distance.setValue(3)
    panel.propose_button.click()
    proposed = window.session.variants
    assert len(proposed) == 6 and not set(proposed) & set(assay.variants)
    assert all(note.startswith("proposed: predicted") for note in window.variant_list.notes())
    positions = [v.mutations[0].position for v in proposed]
    assert all(abs(a - b) >= 3 for a in positions for b in positions if a != b)

    # everything is in the project
    assert window.projects.save_as(tmp_path / "learned.psproj")
    state = load_project(tmp_path / "learned.psproj").states[0]
    assert [a.name for a in assays_in(state.results)] == ["blat300.csv: 2500"]
    fits = [r for r in state.results if r["kind"] == "fit"]
    assert fits and fits[0]["data"]["cv"]["scheme"] == "random" and fits[0]["provenance"]["measured"] == assay.name
    # reopened, the saved model proposes again without a new fit
    learned, live = window.heatmap._scores.copy(), window.session.state.fitted
    assert window.documents.open_files([tmp_path / "learned.psproj"], remember=False)
    assert window.session.state.fitted is not live  # rebuilt from the project's "fit" record
    np.testing.assert_allclose(window.heatmap._scores, learned, atol=1e-9)
    before = list(window.session.variants)
    panel.n.setValue(3)
    panel.propose_button.click()  # the next round: three new ones beside the six of the first
    assert len(window.session.variants) == 9 and window.session.variants[:6] == before


def test_zero_shot_without_a_scan_and_propose_without_a_fit_are_messages(window, blat300):
    panel = window.measurements
    assert window.documents.open_files(list(DEMO_FILES), remember=False)
    window.numbering.set_numbering("sequence")
    assert panel.import_table(blat300, column="2500")
    panel.use_zeroshot.setChecked(True)
    assert panel.fit() is None and "run a scan first" in window.message_box.text()
    window.message_box.done(0)
    assert panel.propose() == [] and "Fit a model" in window.message_box.text()
    window.message_box.done(0)
    assert not panel.import_table(blat300, column="nope") and "no column 'nope'" in window.message_box.text()
    window.message_box.done(0)


def test_structure_gp_through_the_menus(window, qtbot, blat300, tmp_path, proteinmpnn_weights):
    """Run > Fit Model with the structure-aware GP on the open structure, the uncertainty layer, Edit > Exclude
    Selection from Proposals, Run > Propose to Variants; the project keeps the model and the exclusions."""
    from protein_studio.gui.controllers.learning import EXCLUSIONS_KEY

    panel = window.measurements
    assert window.documents.open_files(list(DEMO_FILES), remember=False)
    window.numbering.set_numbering("sequence")
    assert panel.import_table(blat300, column="2500")
    panel.regressor.setCurrentIndex(panel.regressor.findData("structure-gp"))
    panel.cv.setCurrentText("modulo")
    with qtbot.waitSignal(window.worker.jobFinished, timeout=300000):
        window.learning.fit_action.trigger()
    assert "modulo 5-fold CV over 300 variants" in panel.metrics.text()
    record = [r for r in window.session.state.results if r["kind"] == "fit"][-1]
    assert record["data"]["regressor"] == "structure-gp" and math.isfinite(record["data"]["cv"]["pooled"])
    assert record["provenance"]["structure"]["model"] == "proteinmpnn-v48-020"
    assert len(record["provenance"]["structure"]["weights"]) >= 12  # the weights' identity (SHA-256)

    # the uncertainty layer: the posterior standard deviation of every substitution
    panel.layer.setCurrentIndex(panel.layer.findData("uncertainty"))
    shown = window.heatmap._scores
    assert shown.shape == (286, 20) and np.isfinite(shown).sum() == 286 * 19 and np.nanmin(shown) > 0
    assert "standard deviation" in window.scan_title.text()
    model = window.session.state.fitted
    measured = panel.current_assay().variants[0].mutations[0]
    assert shown[measured.position - 1, AMINO_ACIDS.index(measured.mt)] < np.nanmedian(shown)  # measured: surer
    # and the scatter plots the held-out predictions, each with its standard deviation as a bar
    cv = record["data"]["cv"]
    assert panel.scatter.x_title == "held-out prediction (structure-gp, modulo CV) \u00b1 std"
    held_out = dict(zip(record["data"]["variants"], cv["predictions"]))
    np.testing.assert_allclose(panel.scatter.x, [held_out[str(v)] for v in panel.current_assay().variants])
    assert np.all(panel.scatter.x_error > 0) and f"Spearman {cv['pooled']:.3f} pooled" in panel.metrics.text()
    panel.layer.setCurrentIndex(panel.layer.findData("prediction"))
    assert panel.scatter.x_title.startswith("predicted (")  # back to the scan
    panel.layer.setCurrentIndex(panel.layer.findData("uncertainty"))

    # the signal peptide (1-23) and 24-30 are excluded on a selection, through the Edit menu
    window.mediator.select(range(0, 30), source=None)
    window.learning.exclude_action.trigger()
    assert "1-30" in panel.exclusions.text()
    panel.n.setValue(10)
    panel.combinations.setValue(2)
    window.learning.propose_action.trigger()
    proposed = window.session.variants
    assert len(proposed) == 12 and sum(len(v.mutations) == 2 for v in proposed) == 2
    assert all(m.position > 30 for v in proposed for m in v.mutations)
    notes = window.variant_list.notes()
    assert all("gain over wild type" in note and "95 %" in note for note in notes)
    singles = [model.predict([v])[0] for v in proposed if len(v.mutations) == 1]
    assert len(set(np.round(singles, 9))) == len(singles)  # no ties chosen by the alphabet

    assert window.projects.save_as(tmp_path / "structure.psproj")
    state = load_project(tmp_path / "structure.psproj").states[0]
    assert state.view[EXCLUSIONS_KEY] == list(range(30))
    window.mediator.select(range(20, 30), source=None)
    window.learning.include_action.trigger()  # Edit > Allow Selection in Proposals gives 21-30 back
    assert window.learning.exclusions() == frozenset(range(20)) and "1-20 and Met1" in panel.exclusions.text()
    window.session.state.fitted = None  # rebuilt from the project's record: the same predictions
    again = window.learning.fitted_model(window.session.state)
    np.testing.assert_allclose(again.predict(proposed[:3]), model.predict(proposed[:3]), rtol=1e-6)
