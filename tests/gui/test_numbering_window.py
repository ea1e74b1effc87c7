"""One numbering in the window and on the command line: the same label for every substitution, the Ambler
numbering of TEM-1 through a table, menus that reach the right method, B-factors that are not pLDDT,
chromophores, chain breaks, FASTA records and pasted names."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QInputDialog

pytest.importorskip("torch")
pytest.importorskip("esm")

from protein_studio.cli import main as cli  # noqa: E402
from protein_studio.core.molecules.sequences import read_fasta  # noqa: E402
from protein_studio.gui.controllers.documents import DEMO_FILES  # noqa: E402
from protein_studio.gui.main_window import MainWindow  # noqa: E402
from predicted import predicted_pabp  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
TIMEOUT = 60000
sys.path.insert(0, str(REPO / "tests"))
from core.test_numbering_schemes import ambler_table  # noqa: E402
from gfp_model import write_gfp_model  # noqa: E402

MODEL = "random-esm2-tiny"


@pytest.fixture(scope="module")
def window(qapp, dispose):
    win = MainWindow(open_demo=False)
    win.show()
    yield win
    dispose(win)


@pytest.fixture
def idle(window, qtbot, settle):
    settle(window, qtbot, TIMEOUT)
    return window


def _table(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def _scan_to_end(window, qtbot):
    """Run > Scan with the tiny random model, one pass (wt-marginals); True when it covered everything."""
    window.scans.strategy = "wt-marginals"
    try:
        with qtbot.waitSignal(window.scanFinished, timeout=TIMEOUT) as finished:
            window.scans.start_scan(MODEL)
    finally:
        window.scans.strategy = "masked-marginals"
    return finished.args == [True]


def _window_scan(window, qtbot, paths, out):
    assert window.documents.open_files(paths, remember=False)
    assert _scan_to_end(window, qtbot)
    assert window.exports.export_scan(str(out))
    return _table(out)


@pytest.mark.parametrize("case", ["gfp", "demo", "2qmt", "2N2U"])
def test_the_window_export_and_the_cli_scan_name_every_substitution_alike(idle, qtbot, tmp_path, case):
    if case == "gfp":
        paths = [write_gfp_model(tmp_path / "1ema_model.pdb")]
    elif case == "demo":
        paths = list(DEMO_FILES)
    else:
        paths = [DATA / f"{case}.pdb"]
    shown = _window_scan(idle, qtbot, paths, tmp_path / "window.csv")
    argv = ["scan", str(paths[0])] + (["--structure", str(paths[1])] if len(paths) > 1 else [])
    assert cli(argv + ["--model", MODEL, "--strategy", "wt-marginals", "--out", str(tmp_path / "cli.csv")]) == 0
    written = _table(tmp_path / "cli.csv")
    key = ("mutant", "position", "sequence_index", "chain", "residue_number", "insertion_code", "wt", "mt")
    assert [tuple(r[k] for k in key) for r in shown] == [tuple(r[k] for k in key) for r in written]
    assert np.allclose([float(r["score"]) for r in shown], [float(r["score"]) for r in written], atol=1e-4)
    doc = idle.session.document
    assert len(shown) == 19 * len(doc.scannable())
    if case == "gfp":  # labels are 1EMA's: C70 is the structure's residue 70; the chromophore is not scanned
        c70 = next(r for r in shown if r["mutant"] == "C70S")
        assert c70["residue_number"] == "70" and c70["sequence_index"] == str(doc.scheme.index("70") + 1)
        assert not any(r["position"] in ("65", "66", "67") for r in shown)
    if case == "demo":  # 1BTL numbering, the signal peptide by its sequence index
        assert shown[0]["mutant"].startswith("M(1)") and shown[0]["residue_number"] == ""
        first_mature = next(r for r in shown if r["position"] == "1")
        assert first_mature["sequence_index"] == "24" and first_mature["residue_number"] == "1"


def test_ambler_numbering_reads_e104k_g238s_in_the_window_and_on_the_command_line(idle, qtbot, tmp_path):
    table = ambler_table(tmp_path / "ambler.csv")
    window = idle
    assert window.documents.open_files(list(DEMO_FILES), remember=False)
    assert not window.variants.add_variant("E104K:G238S")  # 1BTL's numbering: refused, and the message says why
    assert "in sequence numbering 104" in window.message_box.text()
    window.message_box.done(0)
    assert window.numbering.set_numbering("table", str(table))
    assert window.numbering_label.text() == "Numbering: table ambler.csv"
    assert window.numbering.actions["table"].isChecked()
    assert window.variants.add_variant("E104K:G238S")
    assert window.session.variants[0].positions == (102, 236)  # UniProt 102 and 236
    assert window.variant_list.table.item(0, 0).text() == "E104K:G238S"
    assert window.editor._labels[101] == "104" and window.heatmap._labels[235] == "238"
    assert window.ranked.model.headerData(1, Qt.Horizontal) == "Mutant (table)"
    out = tmp_path / "score.csv"
    assert cli(["score", str(DEMO_FILES[0]), "--structure", str(DEMO_FILES[1]), "--numbering", "table", str(table),
                "--model", MODEL, "--strategy", "wt-marginals", "--mutants", "E104K:G238S", "--out", str(out)]) == 0
    row = _table(out)[0]
    assert row["mutant"] == "E104K:G238S" and row["sequence_mutant"] == "E102K:G236S"
    assert json.loads(Path(f"{out}.json").read_text())["provenance"]["numbering"] == "table ambler.csv"
    # the variant list follows the numbering shown; nothing is lost
    assert window.numbering.set_numbering("sequence")
    assert window.variant_list.table.item(0, 0).text() == "E102K:G236S"


def test_score_variants_from_the_menu_and_the_shortcut_additive_and_joint(idle, qtbot):
    window = idle
    assert window.documents.open_files(list(DEMO_FILES), remember=False)
    assert window.numbering.set_numbering("sequence")
    assert window.variants.add_variant("E102K:G236S")
    methods = []
    window.worker.jobFinished.connect(lambda job_id, result: methods.append(getattr(result, "method", None)))
    with qtbot.waitSignal(window.worker.jobFinished, timeout=TIMEOUT):
        window.scans.score_additive_action.trigger()  # the menu item: its checked flag must not become the method
    with qtbot.waitSignal(window.worker.jobFinished, timeout=TIMEOUT):
        window.scans.score_joint_action.trigger()
    window.raise_()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    assert window.scans.score_additive_action.shortcut().toString() == "Ctrl+Shift+R"
    with qtbot.waitSignal(window.worker.jobFinished, timeout=TIMEOUT):
        QTest.keyClick(window, Qt.Key_R, Qt.ControlModifier | Qt.ShiftModifier)
    assert [m for m in methods if m] == ["additive masked-marginals", "joint masked", "additive masked-marginals"]
    assert window.last_error is None


def test_b_factors_are_coloured_as_b_factors_and_an_empty_column_not_at_all(idle, qtbot, tmp_path):
    window = idle
    assert window.documents.open_files([DATA / "1ubq.pdb"], remember=False)
    action = window.view.colour_actions["confidence"]
    assert action.isEnabled() and action.text() == "B-factor (\u00c5\u00b2)"
    action.trigger()
    assert window.viewer.legend["title"] == "B-factor (\u00c5\u00b2)"
    assert window.documents.open_files([predicted_pabp(tmp_path)], remember=False)
    assert action.text() == "Confidence (pLDDT)" and window.viewer.legend["title"] == "Confidence (pLDDT)"
    assert window.documents.open_files([DATA / "1btl.pdb"], remember=False)  # every B-factor 0
    assert not action.isEnabled() and window.viewer.legend is None and window.view.color_mode == "chain"


def test_chromophore_and_chain_breaks_are_marked_and_the_chromophore_is_not_scanned(idle, qtbot, tmp_path):
    window = idle
    path = write_gfp_model(tmp_path / "gap.pdb", missing=(156, 157, 158))
    assert window.documents.open_files([path], remember=False)
    doc = window.session.document
    y66 = doc.scheme.index("66")
    assert window.editor.sequence[y66 - 1:y66 + 2] == "TYG"
    assert window.heatmap._excluded == frozenset({y66 - 1, y66, y66 + 1})
    gap = doc.scheme.index("155")
    assert window.editor.break_after(gap) and window.heatmap._breaks == frozenset({gap})
    assert "chromophore CRO A:66" in doc.residue_text(y66)
    assert _scan_to_end(window, qtbot)  # complete without the three chromophore positions
    scores = window.session.scan.scores
    assert np.isnan(scores[y66 - 1:y66 + 2]).all() and not np.isnan(np.delete(scores, [y66 - 1, y66, y66 + 1], 0)).any()
    window.ranked.top_n.setValue(0)
    assert not {r.index for r in window.ranked.model.rows} & {y66 - 1, y66, y66 + 1}
    assert "left out (chromophore)" in window.scan_title.text()
    assert window.variants.add_variant("Y66W")  # the chromophore's tyrosine can be named and designed


def test_choose_record_picks_another_fasta_record_from_the_menu(idle, monkeypatch):
    window = idle
    path = DATA / "few_proteins.fasta"
    records = read_fasta(path)
    assert window.documents.open_files([path], remember=False)
    assert window.documents.record_action.isEnabled()
    monkeypatch.setattr(QInputDialog, "getItem", lambda *args, **kwargs: (f"3: {records[2].name}", True))
    window.documents.record_action.trigger()
    assert window.session.document.name == records[2].name
    assert window.session.document.sequence == records[2].sequence
    assert window.documents.open_files([DATA / "1ubq.pdb"], remember=False) and not window.documents.record_action.isEnabled()


def test_cli_record_option_takes_a_number_or_a_name(tmp_path):
    records = read_fasta(DATA / "few_proteins.fasta")
    out = tmp_path / "s.csv"
    assert cli(["scan", str(DATA / "few_proteins.fasta"), "--record", "2", "--positions", "1", "--model", MODEL,
                "--strategy", "wt-marginals", "--out", str(out)]) == 0
    assert _table(out)[0]["wt"] == records[1].sequence[0]
    assert json.loads(Path(f"{out}.json").read_text())["provenance"]["input"].startswith(records[1].name)


def test_pasting_a_fasta_record_names_the_document_and_its_saved_file(idle, tmp_path):
    window = idle
    assert window.documents.open_files(list(DEMO_FILES), remember=False)
    mature = window.session.document.wild_type[23:]
    assert window.edits.paste_sequence(">TEM-1_mature the enzyme without its signal peptide\n" + mature)
    assert window.session.document.name == "TEM-1_mature"
    window.edits.mutate(40, "W" if mature[40] != "W" else "A")
    path = tmp_path / "saved.fasta"
    assert window.exports.save_fasta(str(path))
    assert path.read_text().startswith(">TEM-1_mature_")
    window.edits.undo_stack.undo()
    window.edits.undo_stack.undo()  # the paste is undone too: the demo is back under its own name
    assert window.session.document.name == "P62593"


def test_the_ruler_and_tables_follow_an_offset_numbering(idle):
    window = idle
    assert window.documents.open_files([DATA / "1ubq.pdb"], remember=False)
    assert window.numbering.set_numbering("offset", 100)
    assert window.editor._labels[0] == "101" and window.heatmap._labels[75] == "176"
    assert window.numbering_label.text() == "Numbering: offset +100"
    assert window.variants.add_variant("M101A") and window.variant_list.table.item(0, 0).text() == "M101A"
    assert not window.numbering.set_numbering("table", str(DATA / "missing.csv"))
    assert "missing.csv" in window.message_box.text()
    window.message_box.done(0)
    assert window.numbering_label.text() == "Numbering: offset +100"  # a failed change leaves it as it was
