"""Predictions and the 3D view in the window, through what the user touches: AlphaFold DB and ColabFold models
open as predictions with their PAE (also dropped beside the structure), a guessed B-factor column is said
and switched in the View menu, residues are named on hover, chains keep their colours, the window fits a
1000-pixel screen, Ctrl+S saves the project, and the model manager says what ESMFold needs to run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QKeySequence

pytest.importorskip("torch")

from protein_studio.core.molecules.structures import load_structure, save_structure  # noqa: E402
from protein_studio.core.units import format_bytes  # noqa: E402
from protein_studio.gui.controllers.documents import DEMO_FILES  # noqa: E402
from protein_studio.models.catalog import get_spec  # noqa: E402

from core.test_predictions import write_alphafold_db, write_colabfold  # noqa: E402
from predicted import PABP  # noqa: E402
from test_design_tools import _status  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
TIMEOUT = 60000


def _drop(window, path: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(200, 200), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    window.dropEvent(event)


def _drawn(qtbot, window) -> dict:
    qtbot.waitUntil(lambda: _status(qtbot, window.viewer).get("atoms", 0) > 0, timeout=TIMEOUT)
    return _status(qtbot, window.viewer)


def test_alphafold_db_and_colabfold_models_open_as_predictions_with_their_pae(studio, qtbot, tmp_path):
    model, pae = write_alphafold_db(tmp_path)
    assert studio.documents.open_files([model], remember=False)
    _drawn(qtbot, studio)
    assert studio.view.colour_actions["confidence"].text() == "Confidence (pLDDT)"
    studio.view.colour_actions["confidence"].trigger()
    qtbot.waitUntil(lambda: _status(qtbot, studio.viewer).get("coloring") == "values", timeout=TIMEOUT)
    assert studio.viewer.legend["title"] == "Confidence (pLDDT)"
    view = studio.pae_view
    np.testing.assert_allclose(view.matrix, pae)
    assert view.max_value == 31.75 and "AF-P04147-F1-predicted_aligned_error_v4.json" in view.title
    doc = studio.session.document
    assert view.indices == list(range(len(doc)))
    assert view.tooltip_text(0, 5).endswith(f"{pae[0, 5]:.1f} \u00c5")
    assert doc.residue_text(0) in view.tooltip_text(0, 5)
    view.select_block((10, 10), (12, 12))  # a block of the map selects its residues everywhere
    assert studio.mediator.selection == {10, 11, 12}

    (tmp_path / "colab").mkdir()
    colab, colab_pae = write_colabfold(tmp_path / "colab")
    assert studio.documents.open_files([colab], remember=False)
    np.testing.assert_allclose(studio.pae_view.matrix, colab_pae)
    # the project keeps the PAE with the structure
    assert studio.projects.save_as(tmp_path / "af.psproj")
    assert studio.documents.open_files([tmp_path / "af.psproj"], remember=False)
    assert [s.document.structure.pae is not None for s in studio.session.states] == [True, True]


def test_a_pae_file_dropped_on_its_structure_joins_it(studio, qtbot, tmp_path):
    model = tmp_path / "my_model.pdb"
    model.write_text("TITLE     COLABFOLD MODEL\n" + PABP.read_text())
    assert studio.documents.open_files([model], remember=False)
    assert studio.pae_view.matrix is None
    scores = tmp_path / "my_model_scores.json"
    matrix = np.full((75, 75), 4.0)
    scores.write_text(json.dumps({"pae": matrix.tolist(), "max_pae": 31.75}))
    _drop(studio, scores)
    np.testing.assert_allclose(studio.pae_view.matrix, matrix)
    assert studio.session.document.sources[-1][0] == "my_model_scores.json"
    wrong = tmp_path / "other.json"
    wrong.write_text(json.dumps({"pae": np.ones((5, 5)).tolist()}))
    _drop(studio, wrong)  # another protein's PAE: refused with why, the one shown stays
    assert "covers 5 residues, the structure has 75" in studio.last_error[1]
    np.testing.assert_allclose(studio.pae_view.matrix, matrix)


def test_a_guessed_b_factor_column_is_said_and_switched_in_the_view_menu(studio, qtbot, menu):
    assert studio.documents.open_files([PABP], remember=False)
    structure = studio.session.document.structure
    assert structure.confidence_kind == "bfactor" and structure.confidence_guessed
    assert any("nothing in or beside the file says" in note and "looks like a prediction's pLDDT" in note
               for note in studio.session.document.notes)  # shown in the activity log when it opens
    assert studio.view.colour_actions["confidence"].text() == "B-factor (\u00c5\u00b2)"
    plddt = menu(studio, "View", "pLDDT (a prediction's confidence)")
    assert plddt.isEnabled() and not plddt.isChecked()
    plddt.trigger()
    structure = studio.session.document.structure
    assert structure.confidence_kind == "plddt" and structure.confidence_evidence == "chosen by the user"
    assert studio.view.colour_actions["confidence"].text() == "Confidence (pLDDT)"
    assert studio.session.document.confidence == "plddt"


def test_residues_are_named_on_hover_in_the_numbering_shown(studio, qtbot, menu):
    assert studio.documents.open_files(list(DEMO_FILES), remember=False)
    _drawn(qtbot, studio)
    menu(studio, "View", "TEM-1 Ambler numbering (shipped table)").trigger()
    text = {}
    studio.viewer.page.runJavaScript("window.studio.simulateHover('A', 79, '')", 0,
                                     lambda value: text.setdefault("v", value))
    qtbot.waitUntil(lambda: "v" in text, timeout=TIMEOUT)
    assert text["v"].startswith("E104 ")  # 1BTL's residue 79 is Ambler's E104
    assert _status(qtbot, studio.viewer)["hovered"] == text["v"]
    studio.mediator.select([101], source=None)  # sequence index 102: E104 in Ambler
    qtbot.waitUntil(lambda: _status(qtbot, studio.viewer).get("selectedLabels") == 1, timeout=TIMEOUT)


def _two_chains(tmp_path) -> Path:
    ubq = load_structure(DATA / "1ubq.pdb")
    atoms = ubq.atoms[ubq.atoms.hetero == False].copy()  # noqa: E712
    other = atoms.copy()
    other.chain_id[:] = "B"
    other.coord = other.coord + np.array([40.0, 0.0, 0.0])
    path = tmp_path / "dimer.pdb"
    save_structure(atoms + other, path)
    return path


def _greenish_share(pixels: np.ndarray) -> float:
    """Pixels of 3Dmol's colour for chain B (light green), which neither chain A's blue nor a grey has."""
    red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    return float(np.mean((green > red + 25) & (green > blue + 25)))


def test_colour_by_chain_keeps_every_chain_in_its_colour(studio, qtbot, tmp_path):
    from test_structure_viewer import _pixels

    assert studio.documents.open_files([_two_chains(tmp_path)], remember=False)
    assert _drawn(qtbot, studio)["activeChain"] == "A"
    by_chain = _pixels(studio.viewer, tmp_path, "chain.png")
    studio.scans.strategy = "wt-marginals"
    with qtbot.waitSignal(studio.scanFinished, timeout=TIMEOUT):
        studio.scans.scan_action.trigger()
    with qtbot.waitSignal(studio.viewer.drawn, timeout=TIMEOUT):
        studio.view.colour_actions["score"].trigger()
    by_score = _pixels(studio.viewer, tmp_path, "score.png")
    assert _greenish_share(by_chain) > 0.01  # chain B in its own colour, not greyed
    assert _greenish_share(by_score) < 0.1 * _greenish_share(by_chain)  # beside chain A's scores it is grey


def test_the_window_fits_a_1000_pixel_screen_with_the_tracks_shown(studio):
    from protein_studio.gui.panels.track_panel import displacement_track, plddt_track

    assert studio.documents.open_files(list(DEMO_FILES), remember=False)
    tools = studio.design_tools
    tools.tracks.set_track(plddt_track(np.linspace(30, 95, 286), "a prediction"))
    tools.tracks.set_track(displacement_track(np.linspace(0, 3, 286), "a comparison"))
    tools.tracks.set_summary("two tracks")
    tools.track_dock.show()
    assert studio.minimumSizeHint().height() < 900
    studio.resize(1400, 900)
    assert studio.height() <= 1000


def test_ctrl_s_saves_the_project(studio, qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    save = studio.projects.actions["Save Project"]
    assert save.shortcut() == QKeySequence(QKeySequence.Save)
    assert studio.documents.open_files([DATA / "1ubq.pdb"], remember=False)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "work"), ""))
    save.trigger()
    assert studio.projects.path == tmp_path / "work.psproj" and (tmp_path / "work.psproj").is_file()


def test_the_model_manager_says_what_esmfold_needs_to_run(studio):
    manager = studio.models.open_model_manager("esmfold_v1")
    row = manager.row_of("esmfold_v1")
    spec = get_spec("esmfold_v1")
    assert row["Size"] == f"download {format_bytes(spec.download_bytes)}" and spec.download_bytes > 8e9
    assert row["Memory to run"] == f"about {format_bytes(spec.memory_bytes)}" and spec.memory_bytes > 7e9
    manager.close()
