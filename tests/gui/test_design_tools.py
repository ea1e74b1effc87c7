"""Structure prediction, comparison and generation in the window, headless, with the tiny random models.

The worker thread runs the jobs; the tests wait on signals (a Qt event loop, which lets the worker run)
and compare what the window shows with the engines called directly.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from protein_studio.core.molecules.structures import ResidueId, load_structure
from protein_studio.engines.comparison import compare_structures
from protein_studio.engines.generation import GenerationSettings, generate_sequences
from protein_studio.core.molecules.numbering import renumber_like
from protein_studio.gui.main_window import MainWindow
from protein_studio.gui.panels.structure_viewer import WEB_DIR
from protein_studio.gui.panels.track_panel import TrackPanel, plddt_track
from protein_studio.core.job_context import JobContext
from protein_studio.models.loader import load_model

DATA = Path(__file__).resolve().parents[1] / "data"
UBQ = DATA / "1ubq.pdb"
TIMEOUT = 60000
FOLD = "random-esmfold-tiny"
GENERATE = "random-protgpt2-tiny"
HAS_3DMOL = (WEB_DIR / "vendor" / "3Dmol-min.js").is_file()


@pytest.fixture(scope="module")
def window(qapp, dispose):
    win = MainWindow(files=[UBQ])
    win.resize(1300, 850)
    win.show()
    yield win
    dispose(win)


@pytest.fixture
def tools(window):
    if window.message_box is not None:
        window.message_box.done(0)
    window.last_error = None
    return window.design_tools


def _status(qtbot, viewer) -> dict:
    import json

    out = {}

    def ask() -> bool:  # the page may be between loads (a renderer restart): ask until it answers
        if out.get("v"):
            return True
        out.pop("v", None)
        viewer.page.runJavaScript("window.studio ? JSON.stringify(window.studio.status()) : ''", 0,
                                  lambda v: out.setdefault("v", v))
        return False

    qtbot.waitUntil(lambda: ask() or bool(out.get("v")), timeout=TIMEOUT)
    return json.loads(out["v"])


def test_run_menu_has_the_three_entries(window):
    run = next(a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "Run")
    texts = [a.text().replace("&", "") for a in run.actions()]
    for text in ("Predict Structure\u2026", "Compare Structures\u2026", "Generate Sequences\u2026"):
        assert text in texts
    assert texts.index("Generate Sequences\u2026") < texts.index("Cancel")


def test_predict_dialog_labels_random_models_and_refuses_what_cannot_fit(tools, monkeypatch):
    dialog = tools.open_predict_dialog()
    labels = [dialog.model.itemText(i) for i in range(dialog.model.count())]
    assert any(FOLD in t and "RANDOM WEIGHTS" in t for t in labels)
    assert dialog.source.itemText(0).startswith("Current sequence: 1ubq chain A (76 residues)")
    dialog.model.setCurrentIndex(dialog.model.findData("esmfold_v1"))
    assert "76 residues on cpu" in dialog.estimate.text()
    # the real ESMFold needs about 14 GB on a CPU: with 2 GB free it is refused before the run
    import protein_studio.engines.folding as folding

    monkeypatch.setattr(folding, "available_memory", lambda device="cpu": 2 * 10**9)
    assert not dialog.update_estimate()
    assert dialog.estimate.text().startswith("Cannot run: cannot fold 76 residues on cpu")
    assert not dialog.buttons.button(dialog.buttons.StandardButton.Ok).isEnabled()
    dialog.accept()  # refused: nothing submitted
    assert dialog.job_id is None and not tools.busy
    # random-weight models always run, and say what the real one would need
    dialog.model.setCurrentIndex(dialog.model.findData(FOLD))
    assert dialog.update_estimate() and "RANDOM WEIGHTS" in dialog.estimate.text()
    dialog.reject()


def test_prediction_opens_coloured_by_plddt_with_a_track(qtbot, window, tools):
    doc = window.session.document
    assert window.edits.mutate(4, "W")  # fold a mutant: I5W
    dialog = tools.open_predict_dialog()
    dialog.model.setCurrentIndex(dialog.model.findData(FOLD))
    with qtbot.waitSignal(tools.predictionShown, timeout=TIMEOUT) as shown:
        dialog.accept()
    result = shown.args[0]
    doc = window.session.document
    assert result.sequence == doc.sequence and result.length == 76

    track = tools.tracks.track("plddt")
    assert len(track.values) == len(doc) == 76
    np.testing.assert_allclose(track.values, result.plddt)
    assert "pLDDT" in tools.tracks.tooltip_text(0) and f"{result.plddt[0]:.1f}" in tools.tracks.tooltip_text(0)

    entry = tools.structure_entries()[-1]
    assert entry.kind == "predicted" and entry.numbered_like_document
    chain = entry.structure.chains[0]
    assert list(chain.residues) == [doc.numbering.residue_at(i) for i in range(76)]
    np.testing.assert_allclose(chain.confidence, result.plddt, atol=0.01)  # B-factors = pLDDT

    viewer = window.viewer
    assert viewer.structure_name == entry.label and viewer.color_mode == "confidence"
    assert window.view.colour_actions["confidence"].isChecked()
    if HAS_3DMOL:
        qtbot.waitUntil(lambda: _status(qtbot, viewer)["name"] == entry.label, timeout=TIMEOUT)
        status = _status(qtbot, viewer)
        assert status["coloring"] == "values" and status["atoms"] > 500
        assert status["mutated"] == [["A", 5, ""]]
    window.edits.undo_stack.undo()


def test_compare_shows_both_structures_and_the_engine_numbers(qtbot, window, tools):
    entries = tools.structure_entries()
    reference, predicted = entries[0], entries[-1]
    assert reference.label == "Open structure: 1ubq" and predicted.kind == "predicted"
    dialog = tools.open_compare_dialog()
    assert dialog.reference.currentText() == reference.label and dialog.mobile.currentText() == predicted.label
    with qtbot.waitSignal(tools.comparisonShown, timeout=TIMEOUT) as shown:
        dialog.accept()
    comparison = shown.args[0]
    direct = compare_structures(load_structure(UBQ), predicted.structure, reference_chain="A")
    assert comparison.rmsd == pytest.approx(direct.rmsd)
    assert comparison.tm_score == pytest.approx(direct.tm_score)
    assert comparison.n_pairs == direct.n_pairs == 76
    summary = tools.tracks.summary
    assert f"RMSD {direct.rmsd:.2f}" in summary and f"TM-score {direct.tm_score:.3f}" in summary
    assert f"over {direct.n_pairs} of 76 residues" in summary

    doc = window.session.document
    values = tools.tracks.track("displacement").values
    expected = np.full(76, np.nan)
    for residue, distance in zip(direct.reference_residues, direct.displacement):
        expected[doc.numbering.index_of(residue)] = distance
    np.testing.assert_allclose(values, expected)
    assert tools.tracks.track("plddt") is not None  # the prediction's confidence stays beside it

    viewer = window.viewer
    assert viewer.structure_name == reference.label and viewer.overlay_name == predicted.label
    if HAS_3DMOL:
        qtbot.waitUntil(lambda: _status(qtbot, viewer)["overlay"] == predicted.label, timeout=TIMEOUT)
        status = _status(qtbot, viewer)
        assert status["coloring"] == "overlay" and status["overlayAtoms"] > 500
        assert status["baseColor"] != status["overlayColor"]


def test_predict_a_variant_from_the_variant_list(qtbot, window, tools):
    assert window.variants.add_variant("I3V:K6R")
    dialog = tools.open_predict_dialog()
    labels = [dialog.source.itemText(i) for i in range(dialog.source.count())]
    assert "Variant I3V:K6R" in labels
    dialog.source.setCurrentIndex(labels.index("Variant I3V:K6R"))
    dialog.model.setCurrentIndex(dialog.model.findData(FOLD))
    with qtbot.waitSignal(tools.predictionShown, timeout=TIMEOUT) as shown:
        dialog.accept()
    result = shown.args[0]
    wild_type = window.session.document.wild_type
    assert result.sequence == wild_type[:2] + "V" + wild_type[3:5] + "R" + wild_type[6:]
    assert window.session.document.sequence == wild_type  # folding a variant does not edit the sequence
    assert "I3V:K6R" in tools.tracks.summary
    np.testing.assert_allclose(tools.tracks.track("plddt").values, result.plddt)
    window.session.remove_variant(window.session.variants[-1])


def test_compare_refuses_one_structure_against_itself(tools, window):
    label = tools.structure_entries()[0].label
    assert tools.compare(label, label) is None
    assert window.last_error == ("Cannot compare", "choose two different structures")


def test_track_click_selects_the_position_everywhere(qtbot, window, tools):
    panel = tools.tracks
    index = 10
    x = panel.column_x(index) + panel.column_width() // 2
    y = panel.row_top(0) + panel.ROW_HEIGHT // 2
    QTest.mouseClick(panel.viewport(), Qt.LeftButton, Qt.NoModifier, QPoint(x, y))
    assert window.mediator.selection == frozenset({index})
    assert window.editor.selection == frozenset({index})
    window.mediator.select([3, 4], source=None)
    assert panel._selected == frozenset({3, 4})


def test_generation_table_matches_the_engine_and_rows_go_to_the_editor(qtbot, window, tools, tmp_path):
    dialog = tools.open_generation_dialog()
    dialog.model.setCurrentIndex(dialog.model.findData(GENERATE))
    assert "RANDOM WEIGHTS" in dialog.model.currentText()
    dialog.n.setValue(8)
    dialog.max_length.setValue(100)
    dialog.seed.setValue(11)
    dialog.identity.setChecked(True)
    # the worker's signals are queued to this thread: nothing arrives before the wait starts
    job_id = dialog.generate()
    assert job_id is not None and not dialog.generate_button.isEnabled()
    with qtbot.waitSignal(window.worker.jobFinished, timeout=TIMEOUT,
                          check_params_cb=lambda finished, _r: finished == job_id):
        pass
    assert dialog.result is not None and dialog.generate_button.isEnabled()

    doc = window.session.document
    settings = GenerationSettings(n=8, max_length=100, seed=11)
    direct = generate_sequences(load_model(GENERATE, "cpu"), settings, JobContext(), reference=doc.sequence)
    expected = direct.kept + direct.dropped
    rows = dialog.rows()
    assert [r["Name"] for r in rows] == [c.name for c in expected]
    assert [r["Sequence"] for r in rows] == [c.sequence for c in expected]
    for row, c in zip(rows, expected):
        assert row["Length"] == str(len(c.sequence))
        if c.kept:
            assert row["Status"] == "kept"
            assert float(row["Perplexity"]) == pytest.approx(c.perplexity, abs=0.006)
            assert float(row["Identity %"]) == pytest.approx(100 * c.identity, abs=0.06)
        else:
            assert row["Status"] == f"dropped: {c.reason}" and row["Perplexity"] == "\u2014"

    # the set is kept with the document (and in its project) with the settings and seed that give it again
    record = window.session.state.results[-1]
    assert record["kind"] == "generated" and record["data"]["settings"]["seed"] == 11
    assert record["data"]["settings"]["n"] == 8 and record["provenance"]["model"] == GENERATE
    assert record["data"]["fasta"] == direct.to_fasta(include_dropped=True)

    # FASTA export: kept sequences ranked, scores in the headers
    path = tmp_path / "generated.fasta"
    assert dialog.export_fasta(path)
    assert path.read_text() == direct.to_fasta()
    if direct.kept:
        assert path.read_text().startswith(f">{direct.kept[0].name} ppl=")

    # send a row to the editor (an undoable paste), then undo it
    before = doc.sequence
    assert dialog.send_to_editor(0)
    assert window.session.document.sequence == expected[0].sequence
    window.edits.undo_stack.undo()
    assert window.session.document.sequence == before


def test_generated_row_opens_as_a_new_document(window, tools):
    dialog = tools.open_generation_dialog()
    candidate = dialog.candidate_at(0)
    assert dialog.open_as_document(0)
    doc = window.session.document
    assert doc.sequence == candidate.sequence and doc.name.startswith(candidate.name)
    assert doc.structure is None
    assert tools.tracks.tracks == []  # tracks belonged to the previous document
    assert window.documents.open_files([UBQ], remember=False)


def test_bad_settings_are_refused_before_any_job(window, tools):
    dialog = tools.open_generation_dialog()
    dialog.prompt.setText("MK@")
    assert dialog.generate() is None
    assert window.last_error[0] == "Cannot generate" and "@" in window.last_error[1]
    dialog.prompt.setText("")


def test_failing_jobs_show_their_error_and_the_window_carries_on(qtbot, window, tools, monkeypatch):
    assert tools.predict("no-such-model") is None
    assert "unknown model 'no-such-model'" in window.last_error[1]
    window.message_box.done(0)
    # a real model that is not on this machine is refused before any job, and the manager is offered
    assert tools.predict("esmfold_v1") is None and not window.worker.busy
    assert window.last_error[0] == "esmfold_v1 is not on disk"
    manage = [b for b in window.message_box.buttons() if b.text() == "Open Model Manager"]
    manage[0].click()
    assert window.models.model_manager.isVisible() and window.models.model_manager.selected_name() == "esmfold_v1"
    window.models.model_manager.close()
    # one whose files vanish after the check fails on the worker
    import protein_studio.models.weights as weights

    monkeypatch.setattr(weights, "is_on_disk", lambda spec: True)
    with qtbot.waitSignal(window.jobFailed, timeout=TIMEOUT) as failed:
        assert tools.predict("esmfold_v1") is not None
    assert "esmfold_v1" in failed.args[0]
    # the design tools hear of the failure from the worker after the window does
    qtbot.waitUntil(lambda: not tools.busy, timeout=TIMEOUT)
    assert window.last_error[0].endswith("failed")
    window.message_box.done(0)
    with qtbot.waitSignal(tools.predictionShown, timeout=TIMEOUT):
        tools.predict(FOLD)
    assert window.isVisible()


def test_cancel_generation(qtbot, window, tools):
    dialog = tools.open_generation_dialog()
    dialog.model.setCurrentIndex(dialog.model.findData(GENERATE))
    dialog.n.setValue(400)
    dialog.max_length.setValue(400)
    previous = dialog.result
    job_id = dialog.generate()
    with qtbot.waitSignal(window.worker.jobCancelled, timeout=TIMEOUT,
                          check_params_cb=lambda cancelled: cancelled == job_id):
        dialog.cancel()
    assert dialog.job_id is None and dialog.status.text() == "Cancelled."
    assert dialog.generate_button.isEnabled() and dialog.result is previous
    assert "Cancelled" in window.activity.entries()[-1] or any("Cancelled" in e for e in window.activity.entries())
    # the worker is free again afterwards
    with qtbot.waitSignal(tools.predictionShown, timeout=TIMEOUT):
        tools.predict(FOLD)


def test_renumber_like_keeps_unmapped_positions_next_to_their_neighbours():
    from protein_studio.core.molecules.numbering import NumberingMap

    structure = load_structure(UBQ)
    residues = [ResidueId("A", 10 + i) for i in range(76)]
    residues[:2] = [None, None]
    residues[40] = None
    numbering = NumberingMap(structure.chains[0].sequence, residues, "A")
    renumbered = renumber_like(structure, numbering, "renumbered")
    ids = list(renumbered.chains[0].residues)
    assert ids[:3] == [ResidueId("A", 10), ResidueId("A", 11), ResidueId("A", 12)]
    assert ids[40] == ResidueId("A", 49, "A") and ids[41] == ResidueId("A", 51)
    assert renumbered.chains[0].sequence == structure.chains[0].sequence


def test_track_panel_drops_tracks_of_another_length(qtbot):
    panel = TrackPanel()
    qtbot.addWidget(panel)
    panel.set_positions([str(i) for i in range(1, 6)])
    panel.set_track(plddt_track([10, 60, 75, 95, math.nan]))
    assert "no value" in panel.tooltip_text(4) and "95.0" in panel.tooltip_text(3)
    with pytest.raises(ValueError):
        panel.set_track(plddt_track([1, 2]))
    panel.set_positions([str(i) for i in range(1, 8)])
    assert panel.tracks == []


def test_predicted_and_superposed_structures_are_saved_as_pdb_and_mmcif(qtbot, window, tools, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog, QInputDialog

    from protein_studio.core.molecules.structures import load_structure

    if not any(e.kind == "predicted" for e in tools.structure_entries()):
        with qtbot.waitSignal(tools.predictionShown, timeout=TIMEOUT):
            tools.predict(FOLD)
    entries = tools.structure_entries()
    predicted = [e for e in entries if e.kind == "predicted"][-1]
    with qtbot.waitSignal(tools.comparisonShown, timeout=TIMEOUT):
        tools.compare(entries[0].label, predicted.label)
    labels = [label for label, _ in tools.savable_structures()]
    assert predicted.label in labels and any(label.startswith("Superposed: ") for label in labels)
    plddt = predicted.structure.chains[0].confidence
    for suffix in (".pdb", ".cif"):
        path = tmp_path / f"prediction{suffix}"
        assert tools.save_structure(predicted.label, path)
        saved = load_structure(path)
        assert saved.confidence_kind == "plddt"  # pLDDT in the B-factor column, read back as pLDDT
        np.testing.assert_allclose(saved.chains[0].confidence, plddt, atol=0.01)
    # through the menu: File > Save Structure, the superposed model, as mmCIF
    monkeypatch.setattr(QInputDialog, "getItem", lambda *a, **k: (labels[-1], True))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "superposed"), "mmCIF (*.cif)"))
    tools.actions["save_structure"].trigger()
    assert len(load_structure(tmp_path / "superposed.cif").chains) == 1
    assert not tools.save_structure(predicted.label, tmp_path / "missing" / "x.pdb")  # a message, not a crash
    assert "missing" in window.message_box.text()
    window.message_box.done(0)
