"""Every result named and kept, through the window's menus (issue 21): the scans of two models stay side by side
on one document, each named; the variant list and Export Variants name each score's model; two scans are
compared; assays are renamed and removed undoably; a fit says what it learned from and when that changed; a
project with all of it reopens panel by panel; a window killed right after an edit is offered back."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QFileDialog

pytest.importorskip("torch")
pytest.importorskip("esm")
pytest.importorskip("mini3di")

from scipy.stats import spearmanr  # noqa: E402

from protein_studio.core.storage.autosave import marker_path  # noqa: E402
from protein_studio.core.storage.export import score_column  # noqa: E402
from protein_studio.gui.controllers.documents import DEMO_FILES  # noqa: E402
from protein_studio.gui.main_window import MainWindow  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
TIMEOUT = 60000
ESM2, SAPROT, ESMC = "random-esm2-tiny", "random-saprot-tiny", "random-esmc-tiny"


def menu_action(window, menu_title: str, text: str):
    """``menu_title > text`` of the window's menu bar (the conftest's helper, found through its fixture)."""
    return _MENU[0](window, menu_title, text)


_MENU: list = []


@pytest.fixture(autouse=True)
def _menus(menu):
    _MENU[:] = [menu]
    yield


def _choose_model(window, name: str) -> None:
    """Models menu: the model's entry, as the user picks it."""
    menu = window.models.menu
    menu.aboutToShow.emit()
    action = next(a for a in menu.actions() if a.text().startswith(name))
    action.trigger()
    assert window.models.model_name == name


def _scan(window, qtbot, strategy: str = "wt-marginals") -> None:
    """Run > Scan Strategy, then Run > Scan All Point Mutations."""
    menu_action(window, "Run", strategy).trigger()
    with qtbot.waitSignal(window.scanFinished, timeout=TIMEOUT):
        menu_action(window, "Run", "Scan All Point Mutations").trigger()


def _score_variants(window, qtbot) -> None:
    with qtbot.waitSignal(window.worker.jobFinished, timeout=TIMEOUT):
        menu_action(window, "Run", "Score Variants (additive)").trigger()


def _edit_menu(window, starts: str):
    """The Edit menu's Undo or Redo entry, whose text names the step it takes back (checked here)."""
    edit = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Edit")
    edit.aboutToShow.emit()
    action = next(a for a in edit.actions() if a.text().replace("&", "").startswith(starts.split()[0]))
    assert action.isEnabled() and action.text().replace("&", "").startswith(starts), action.text()
    return action


def _pick_scan(window, index: int) -> None:
    """The scan chooser above the heatmap, as the user picks from it."""
    window.scan_choice.setCurrentIndex(index)
    window.scan_choice.activated.emit(index)


def test_the_scans_of_two_models_stay_each_named_compared_and_exported(studio, qtbot, tmp_path, monkeypatch):
    window = studio
    assert window.documents.open_files([DATA / "1ubq.pdb"], remember=False)
    assert window.variants.add_variant("I3V") and window.variants.add_variant("K6R:L8A")
    for model in (ESM2, SAPROT):
        _choose_model(window, model)
        _scan(window, qtbot)
        _score_variants(window, qtbot)
    state = window.session.state
    esm2, saprot = state.scans
    assert (esm2.model, saprot.model) == (ESM2, SAPROT)  # the SaProt scan did not replace the ESM-2 one
    labels = [window.scan_choice.itemText(k) for k in range(window.scan_choice.count())]
    assert labels == [esm2.label, saprot.label] and ESM2 in labels[0] and SAPROT in labels[1]
    assert all("wt-marginals" in label for label in labels)
    assert window.scan_choice.currentIndex() == 1  # the newest is shown
    np.testing.assert_array_equal(window.heatmap._scores, saprot.scores)
    assert SAPROT in window.scan_title.text()
    window.view.set_color_mode("score")
    saprot_colours = dict(window.viewer._color_values)

    _pick_scan(window, 0)  # the heatmap, the ranked table and the 3D colours show the ESM-2 scan
    assert window.session.scan is esm2
    np.testing.assert_array_equal(window.heatmap._scores, esm2.scores)
    assert ESM2 in window.scan_title.text() and SAPROT not in window.scan_title.text()
    assert window.ranked._scores is esm2.scores
    assert window.view.color_mode == "score" and window.viewer._color_values != saprot_colours
    first = window.session.document.numbering.residue_at(0)
    assert window.viewer._color_values[first] == pytest.approx(float(esm2.summary()[0]))

    # the variant list: its additive column names the scan shown, every model's score is kept and listed
    header = window.variant_list.table.horizontalHeaderItem
    assert header(1).text() == f"Additive ({ESM2})" and esm2.label in header(1).toolTip()
    assert header(2).text().startswith(f"{SAPROT} (")  # the latest score of every variant is SaProt's
    kept = state.model_scores["I3V"]
    assert sorted(model for model, _method in kept) == [ESM2, SAPROT]
    tip = window.variant_list.table.item(0, 2).toolTip()
    assert ESM2 in tip and SAPROT in tip

    # File > Export Variants: one score column per model, each named, with its provenance beside the table
    out = tmp_path / "variants.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), "CSV (*.csv)"))
    menu_action(window, "File", "Export Variants").trigger()
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    columns = {model: score_column(model, method) for model, method in kept}
    assert set(columns.values()) <= set(rows[0])
    for row in rows:
        for (model, method), score in state.model_scores[row["variant"]].items():
            assert float(row[score_column(model, method)]) == pytest.approx(score.score, abs=1e-5)
        assert row["scan"] == esm2.label
    sidecar = json.loads(out.with_name("variants.csv.json").read_text())["provenance"]
    assert {v["model"] for v in sidecar["score_columns"].values()} == {ESM2, SAPROT}
    assert sidecar["score_columns"][columns[SAPROT]]["weights"].startswith("RANDOM WEIGHTS")

    # Run > Compare Scans: the scatter, the rank correlation and the difference map
    menu_action(window, "Run", "Compare Scans").trigger()
    dialog = window.scans.compare_dialog
    assert dialog.isVisible() and dialog.first.currentText() == esm2.label and dialog.second.currentText() == saprot.label
    from protein_studio.core.molecules.sequences import AMINO_ACIDS

    substitution = np.ones(esm2.scores.shape, bool)  # the wild type's own cells (0 by definition) are no points
    substitution[np.arange(len(esm2.sequence)), [AMINO_ACIDS.index(a) for a in esm2.sequence]] = False
    both = np.isfinite(esm2.scores) & np.isfinite(saprot.scores) & substitution
    assert dialog.comparison.n == both.sum() == len(dialog.scatter.x)
    rho = spearmanr(esm2.scores[both], saprot.scores[both]).statistic
    assert dialog.comparison.spearman == pytest.approx(rho)
    assert f"{rho:.3f}" in dialog.summary.text()
    dialog.show_difference.click()
    np.testing.assert_allclose(window.heatmap._scores[both], (saprot.scores - esm2.scores)[both])
    assert "minus" in window.scan_title.text() and "Compare Scans" in window.scan_title.text()
    assert any(r["kind"] == "scan comparison" for r in state.results)
    dialog.close()

    # Run > Remove Shown Scan, then Edit > Undo brings it back where it was
    _pick_scan(window, 1)
    menu_action(window, "Run", "Remove Shown Scan").trigger()
    assert state.scans == [esm2] and window.scan_choice.count() == 1
    np.testing.assert_array_equal(window.heatmap._scores, esm2.scores)
    assert not window.scans.compare_action.isEnabled()  # one scan left: nothing to compare
    _edit_menu(window, "Undo remove scan").trigger()
    assert state.scans == [esm2, saprot] and window.session.scan is saprot
    assert window.session.document.sequence == window.session.document.wild_type  # no edit was undone


def test_assays_are_renamed_and_removed_undoably_and_a_fit_says_when_it_is_out_of_date(studio, qtbot, blat300):
    window = studio
    panel = window.measurements
    assert window.documents.open_files(list(DEMO_FILES), remember=False)
    window.numbering.set_numbering("sequence")
    assert panel.import_table(blat300, column="2500") and panel.import_table(blat300, column="cefotaxime")
    assert [panel.assay_box.itemText(k) for k in range(2)] == ["blat300.csv: 2500", "blat300.csv: cefotaxime"]
    # the same file and column again is recognised: shown, not added a second time
    assert panel.import_table(blat300, column="2500")
    assert panel.assay_box.count() == 2 and panel.current_assay().column == "2500"
    assert "already imported" in window.statusBar().currentMessage()

    _choose_model(window, ESM2)
    _scan(window, qtbot)
    panel.use_zeroshot.setChecked(True)
    with qtbot.waitSignal(window.worker.jobFinished, timeout=TIMEOUT):
        panel.fit_button.click()
    scan_label = window.session.scan.label
    assert panel.fit_state.text().startswith("Fitted ") and "blat300.csv: 2500" in panel.fit_state.text()
    assert f"zero-shot from the scan {scan_label}" in panel.fit_state.text() and "OUT OF DATE" not in panel.fit_state.text()

    # renamed through the button (its name asked for), the fit still knows its assay; undo gives the name back
    from PySide6.QtWidgets import QInputDialog

    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("TEM-1 at 2.5 mg/L ampicillin", True))
    try:
        panel.rename_button.click()
    finally:
        monkeypatch.undo()
    assert panel.assay_box.currentText() == "TEM-1 at 2.5 mg/L ampicillin"
    assert "TEM-1 at 2.5 mg/L ampicillin" in panel.fit_state.text() and "OUT OF DATE" not in panel.fit_state.text()
    assert window.session.state.view["assay"] == "TEM-1 at 2.5 mg/L ampicillin"
    _edit_menu(window, "Undo rename blat300.csv: 2500").trigger()
    assert [panel.assay_box.itemText(k) for k in range(2)] == ["blat300.csv: 2500", "blat300.csv: cefotaxime"]
    _edit_menu(window, "Redo rename").trigger()
    assert panel.assay_box.itemText(0) == "TEM-1 at 2.5 mg/L ampicillin"

    # another scan shown: the fit (zero-shot from the first) is out of date, and says why
    _choose_model(window, ESMC)
    _scan(window, qtbot)
    assert "OUT OF DATE" in panel.fit_state.text() and f"the scan shown is {window.session.scan.label}" in \
        panel.fit_state.text()
    _pick_scan(window, 0)
    assert "OUT OF DATE" not in panel.fit_state.text()

    # the assay removed through its button: gone, and the fit says so; Undo brings it back
    panel.assay_box.setCurrentIndex(0)
    panel.remove_button.click()
    assert [panel.assay_box.itemText(k) for k in range(panel.assay_box.count())] == ["blat300.csv: cefotaxime"]
    assert "OUT OF DATE" in panel.fit_state.text() and "no longer in the document" in panel.fit_state.text()
    _edit_menu(window, "Undo remove assay").trigger()
    assert panel.assay_box.count() == 2 and "OUT OF DATE" not in panel.fit_state.text()


def _panels(window) -> dict:
    """What the user sees, panel by panel, of the document shown."""
    panel, table = window.measurements, window.variant_list.table
    dna = window.variants.dna_dialog
    text = lambda t: [[(t.item(r, c).text() if t.item(r, c) else "") for c in range(t.columnCount())]  # noqa: E731
                      for r in range(t.rowCount())]
    return {
        "documents": window.document_list.names(),
        "scans": [window.scan_choice.itemText(k) for k in range(window.scan_choice.count())],
        "scan shown": window.scan_choice.currentIndex(),
        "heatmap": np.nan_to_num(np.asarray(window.heatmap._scores, dtype=float), nan=999.0).round(9).tolist(),
        "scan title": window.scan_title.text(),
        "assays": [panel.assay_box.itemText(k) for k in range(panel.assay_box.count())],
        "assay shown": panel.assay_box.currentText(),
        "fit": panel.fit_state.text(),
        "metrics": panel.metrics.text(),
        "variants": text(table),
        "variant headers": [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())],
        "region": window.ranked.region.text(),
        "numbering": window.numbering_label.text(),
        "library": text(dna.library_table),
        "primers": text(dna.primer_table),
        "gene": dna.gene_label.text(),
        "protocol": dna.protocol.currentData(),
    }


def test_a_project_with_a_dna_design_two_assays_a_fit_and_two_scans_reopens_panel_by_panel(
        studio, qtbot, blat300, tmp_path, monkeypatch, qapp, dispose):
    window = studio
    panel = window.measurements
    assert window.documents.open_files(list(DEMO_FILES), remember=False)
    window.numbering.set_numbering("sequence")
    assert panel.import_table(blat300, column="2500") and panel.import_table(blat300, column="cefotaxime")
    _choose_model(window, ESM2)
    _scan(window, qtbot)
    _choose_model(window, ESMC)
    _scan(window, qtbot)
    panel.assay_box.setCurrentIndex(0)
    panel.assay_box.activated.emit(0)
    with qtbot.waitSignal(window.worker.jobFinished, timeout=TIMEOUT):
        panel.fit_button.click()
    panel.assay_box.setCurrentIndex(1)  # the assay shown is not the first
    panel.assay_box.activated.emit(1)
    _pick_scan(window, 0)  # nor is the scan shown the newest
    window.ranked.region.setText("100-140")
    window.ranked.region.editingFinished.emit()
    wt = window.session.document.wild_type
    assert window.variants.add_variant(f"{wt[103]}104K:{wt[237]}238S")  # numbered as the sequence is

    # the DNA design: singles at two positions, the gene from a file, primers designed
    window.mediator.select([103, 237], source=None)
    menu_action(window, "Run", "Design DNA").trigger()
    dna = window.variants.dna_dialog
    dna.min_score.setValue(-100.0)
    dna.buttons["build"].click()
    from protein_studio.core.cloning.dna import back_translate, codon_usage

    gene = back_translate(window.session.document.wild_type, codon_usage("ecoli"))
    gene_file = tmp_path / "bla.fasta"
    gene_file.write_text(f">bla\n{gene.dna}{gene.stop}\n")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(gene_file), ""))
    dna.buttons["gene"].click()
    dna.buttons["design"].click()
    assert dna.library and dna.designs and dna.primer_table.rowCount() >= 2  # one row per distinct oligo
    before = _panels(window)
    assert before["primers"] and before["fit"].startswith("Fitted ") and len(before["scans"]) == 2

    path = tmp_path / "everything.psproj"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    menu_action(window, "File", "Save Project As").trigger()
    assert path.is_file()
    window.documents.fill_recent_menu()
    assert window.documents.recent_menu.actions()[0].text() == path.name  # the project is first in File > Open Recent

    second = MainWindow(open_demo=False)
    second.auto_warm_up = False
    second.show()
    try:
        monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
        monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *a, **k: ([str(path)], ""))
        menu_action(second, "File", "Open").trigger()
        assert second.projects.path == path
        menu_action(second, "Run", "Design DNA").trigger()
        after = _panels(second)
        for key in before:
            assert after[key] == before[key], key
    finally:
        second.jobs.cancel_jobs()
        second.projects.close()
        dispose(second)


def test_a_window_killed_right_after_an_edit_of_its_project_is_offered_back_with_the_edit(studio, tmp_path, kill_window):
    """A window with a project file makes an edit and is killed 0.6 s later (no explicit save); the next start
    offers the project back, and it holds the edit."""
    from protein_studio.core.documents.document import load_document
    from protein_studio.core.documents.session import Session
    from protein_studio.core.storage.project import save_project, snapshot

    session = Session()
    session.open(load_document([DATA / "1ubq.pdb"]))
    project = save_project(tmp_path / "ubq.psproj", snapshot(session))
    body = """
        window.edits.mutate(4, "W")
        end = time.monotonic() + 0.6
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.02)
    """
    with kill_window(tmp_path, [project], body) as child:
        marker = marker_path(child.pid)
        assert json.loads(marker.read_text())["project"] == str(project.resolve())
    asked = []
    assert studio.projects.offer_recovery(ask=lambda text: asked.append(text) or True)
    assert "did not close normally" in asked[0] and "ubq.psproj" in asked[0]
    assert studio.projects.path == project.resolve() or studio.projects.path == project
    assert studio.session.document.sequence[4] == "W"  # the edit made 0.6 s before the kill is there
    assert not marker.exists() and not studio.projects.offer_recovery(ask=lambda text: True)
