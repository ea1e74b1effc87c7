"""Projects in the window: a design session saved, closed and reopened exactly; crash recovery (a killed
window's autosave is offered at the next start); bad project files; resumed scans; and opening, pasting
or exporting never destroys what is there."""

from __future__ import annotations


import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

pytest.importorskip("torch")
pytest.importorskip("esm")

from protein_studio.core.storage.autosave import recovery_dir, recovery_path  # noqa: E402
from protein_studio.core.storage.project import SCHEMA_VERSION, load_project, save_project, snapshot  # noqa: E402
from protein_studio.core.documents.document import load_document  # noqa: E402
from protein_studio.core.documents.session import Session
from protein_studio.gui.controllers.documents import DEMO_FILES  # noqa: E402
from protein_studio.gui.main_window import MainWindow  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
TIMEOUT = 60000
MODEL = "random-esm2-tiny"
FOLD = "random-esmfold-tiny"
AMBLER = REPO / "resources" / "demo" / "tem1_ambler_numbering.csv"
sys.path.insert(0, str(REPO / "tests"))
from core.test_project import _same  # noqa: E402


def _window(dispose_list, **kwargs) -> MainWindow:
    win = MainWindow(open_demo=False, **kwargs)
    win.auto_warm_up = False
    win.show()
    dispose_list.append(win)
    return win


@pytest.fixture
def windows(qapp, dispose):
    made: list[MainWindow] = []
    yield made
    for win in made:
        win.jobs.cancel_jobs()
        win.projects.close()
        dispose(win)


def _scan(window, qtbot, strategy="wt-marginals"):
    window.scans.strategy = strategy
    try:
        with qtbot.waitSignal(window.scanFinished, timeout=TIMEOUT) as finished:
            window.scans.start_scan(MODEL)
    finally:
        window.scans.strategy = "masked-marginals"
    return finished.args[0]


def _interrupt(scan, keep: int) -> None:
    """Leave ``scan`` as a scan interrupted after its first ``keep`` positions is left (final rows kept, the
    rest empty): deterministic, where cancelling a tiny model's scan in time is a race."""
    scan.scores[keep:] = np.nan
    scan.final[keep:] = False
    scan.complete = False
    scan.replace_scores(scan.scores)


def test_a_design_session_is_saved_closed_and_reopened_exactly(windows, qtbot, tmp_path):
    first = _window(windows)
    tools = first.design_tools
    assert first.documents.open_files(list(DEMO_FILES), remember=False)
    assert first.numbering.set_numbering("table", str(AMBLER))
    assert _scan(first, qtbot)
    first.edits.mutate(101, "K")  # E104K in the sequence
    assert first.variants.add_variant("E104K:G238S") and first.variants.add_variant("M182T")
    first.variant_list.table.item(0, 3).setText("TEM-52-like: test on cefotaxime")  # the user types a note
    with qtbot.waitSignal(first.worker.jobFinished, timeout=TIMEOUT):
        first.scans.score_additive_action.trigger()
    with qtbot.waitSignal(tools.predictionShown, timeout=TIMEOUT):
        tools.predict(FOLD)
    entries = tools.structure_entries()
    with qtbot.waitSignal(tools.comparisonShown, timeout=TIMEOUT):
        tools.compare(entries[0].label, entries[-1].label)
    first.ranked.region.setText("100-120")
    first.ranked.region.editingFinished.emit()
    first.view.set_color_mode("score")
    # a second document with a partial scan (interrupted after 20 positions)
    assert first.documents.open_files([DATA / "1ubq.pdb"], remember=False)
    assert _scan(first, qtbot, "masked-marginals")
    _interrupt(first.session.scan, keep=20)
    assert first.session.scan.positions_done == 20 and not first.session.scan.complete
    first.document_list.activateRequested.emit(0)  # back to the demo, through the document list
    assert first.session.document.name == "P62593"
    path = tmp_path / "design.psproj"
    assert first.projects.save_as(path)
    saved = snapshot(first.session)
    assert "design.psproj" in first.windowTitle()

    second = _window(windows)
    assert second.documents.open_files([path], remember=False)  # File > Open takes a project too
    _same(saved, snapshot(second.session))
    demo = second.session.state
    assert [s.document.name for s in second.session.states] == ["P62593", "1ubq chain A"]
    assert second.document_list.names() == ["P62593", "1ubq chain A"]
    assert second.variant_list.table.item(0, 0).text() == "E104K:G238S"
    assert second.variant_list.notes()[0] == "TEM-52-like: test on cefotaxime"
    assert second.variant_list.table.item(0, 2).text() != ""  # the model score is back, with its provenance
    assert demo.latest_score(str(demo.variants[0])).provenance["weights"].startswith("RANDOM WEIGHTS")
    assert demo.scan.provenance["weights"].startswith("RANDOM WEIGHTS") and demo.scan.provenance["strategy"]
    assert "weights: RANDOM WEIGHTS" in second.scan_title.toolTip()  # the numbers shown say where they came from
    assert second.numbering_label.text() == "Numbering: table tem1_ambler_numbering.csv"
    assert second.ranked.region.text() == "100-120" and second.view.color_mode == "score"
    assert [r["kind"] for r in demo.results] == ["prediction", "comparison"]
    labels = [e.label for e in second.design_tools.structure_entries()]
    assert any(label.startswith("Predicted: P62593") for label in labels)  # back in the Compare pickers
    assert second.session.document.sequence[101] == "K"


def test_an_autosaved_window_killed_with_sigkill_is_offered_back(windows, qtbot, tmp_path, kill_window):
    """A real window in a child process edits, autosaves and is killed; the next window offers the work."""
    body = """
        window.edits.mutate(4, "W")
        window.variants.add_variant("I3V")
        window.projects.autosave_now()
        window.projects.flush()
    """
    with kill_window(tmp_path, [DATA / "1ubq.pdb"], body) as child:
        child_recovery = recovery_path(child.pid)
        assert child_recovery.is_file()
    window = _window(windows)
    asked = []
    assert window.projects.offer_recovery(ask=lambda text: asked.append(text) or True)
    assert "did not close normally" in asked[0] and "1ubq chain A" in asked[0]
    doc = window.session.document
    assert doc.sequence[4] == "W" and window.variant_list.table.item(0, 0).text() == "I3V"
    assert not child_recovery.exists() and recovery_path().is_file()  # the work is this window's now
    assert not window.projects.offer_recovery(ask=lambda text: True)  # nothing left to offer


def test_declining_recovery_keeps_the_file_for_later(windows, tmp_path):
    session = Session()
    session.open(load_document([DATA / "2qmt.pdb"]))
    session.set_residue(3, "A")
    finished = subprocess.run([sys.executable, "-c", "pass"])  # a pid that has ended
    del finished
    dead = 2 ** 22 - 7  # above the usual pid range: no such process
    recovery_dir().mkdir(parents=True, exist_ok=True)
    path = save_project(recovery_path(dead), snapshot(session))
    window = _window(windows)
    assert not window.projects.offer_recovery(ask=lambda text: False)
    assert path.exists() and window.session.states == []
    path.unlink()


@pytest.mark.parametrize("kind", ["text", "truncated", "newer", "foreign", "locked", "folder"])
def test_bad_project_files_are_messages_and_nothing_open_changes(windows, qtbot, tmp_path, kind):
    window = _window(windows)
    assert window.documents.open_files([DATA / "1ubq.pdb"], remember=False)
    window.edits.mutate(2, "A")
    good = save_project(tmp_path / "good.psproj", snapshot(window.session))
    bad = tmp_path / "bad.psproj"
    holder = None
    if kind == "text":
        bad.write_text("not a project\n" * 100)
    elif kind == "truncated":
        bad.write_bytes(good.read_bytes()[:2000])
    elif kind == "newer":
        bad.write_bytes(good.read_bytes())
        con = sqlite3.connect(bad)
        con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
        con.commit()
        con.close()
    elif kind == "foreign":
        con = sqlite3.connect(bad)
        con.execute("CREATE TABLE x (y)")
        con.commit()
        con.close()
    elif kind == "locked":
        bad.write_bytes(good.read_bytes())
        holder = sqlite3.connect(bad, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
    else:
        bad.mkdir()
    before = bad.read_bytes() if bad.is_file() else None
    try:
        assert not window.documents.open_files([bad], remember=False)
    finally:
        if holder is not None:
            holder.execute("ROLLBACK")
            holder.close()
    assert window.message_box is not None and "bad.psproj" in window.message_box.text()
    window.message_box.done(0)
    assert [s.document.name for s in window.session.states] == ["1ubq chain A"]
    assert window.session.document.sequence[2] == "A" and window.edits.undo_stack.count() == 1
    if before is not None:
        assert bad.read_bytes() == before  # never overwritten


def test_a_cancelled_scan_resumes_with_the_positions_left_and_ends_equal_to_an_uninterrupted_one(windows, qtbot):
    window = _window(windows)
    assert window.documents.open_files([DATA / "2qmt.pdb"], remember=False)
    assert _scan(window, qtbot, "masked-marginals")
    scan = window.session.scan
    _interrupt(scan, keep=23)  # stopped at 40 %
    done_before = {i for i in range(len(scan.sequence)) if scan.final[i]}
    kept = scan.scores.copy()
    assert len(done_before) == 23 and window.session.resumable_positions(MODEL, "masked-marginals") == list(
        range(23, 56))
    window.scans.strategy = "masked-marginals"
    computed = []
    window.session.scan_changed.connect(lambda positions: computed.extend(positions or []))
    with qtbot.waitSignal(window.scanFinished, timeout=TIMEOUT) as finished:
        job = window.scans.start_scan(MODEL)
    assert finished.args == [True] and job is not None
    assert set(computed) == set(range(56)) - done_before  # only the positions left were computed
    assert "Resuming the scan of 2qmt chain A" in "\n".join(window.activity.entries())
    np.testing.assert_array_equal(window.session.scan.scores[sorted(done_before)], kept[sorted(done_before)])
    # an uninterrupted scan of the same document gives the same matrix (to the rounding of another batch size)
    from protein_studio.engines.scoring import saturation_scan
    from protein_studio.core.job_context import JobContext
    from protein_studio.models.esm_loading import load_esm

    reference = saturation_scan(scan.sequence, load_esm(MODEL, "cpu"), JobContext(), strategy="masked-marginals")
    np.testing.assert_allclose(window.session.scan.scores, reference.scores, atol=1e-4)


def test_opening_files_adds_documents_and_each_keeps_its_edits_and_undo(windows, qtbot):
    window = _window(windows)
    assert window.documents.open_files(list(DEMO_FILES), remember=False)
    window.edits.mutate(30, "W")
    assert window.documents.open_files([DATA / "1ubq.pdb"], remember=False)
    window.edits.mutate(0, "A")
    assert len(window.session.states) == 2 and window.edits.undo_stack.count() == 1
    window.session.activate(0)
    assert window.session.document.sequence[30] == "W" and window.edits.undo_stack.count() == 1
    window.edits.undo_stack.undo()
    assert window.session.document.mutated_indices() == []
    window.session.activate(1)
    assert window.session.document.sequence[0] == "A"  # the other document's history was not touched
    window.confirm_close = True
    window.documents.ask_close_document = lambda name: QMessageBox.Cancel
    assert not window.documents.close_document()  # work in no project file: asks; Cancel keeps it
    window.documents.ask_close_document = lambda name: QMessageBox.Discard
    assert window.documents.close_document() and [s.document.name for s in window.session.states] == ["P62593"]
    window.confirm_close = False


def test_choosing_a_chain_replaces_the_document_undoably(windows, tmp_path):
    import biotite.structure as struc
    import biotite.structure.io.pdb as pdb

    ubq = pdb.PDBFile.read(str(DATA / "1ubq.pdb")).get_structure(model=1)
    ubq = ubq[~ubq.hetero]
    other = ubq.copy()
    other.chain_id[:] = "B"
    other.coord += 40.0
    out = pdb.PDBFile()
    out.set_structure(struc.concatenate([ubq, other]))
    two = tmp_path / "two_chains.pdb"
    out.write(str(two))
    window = _window(windows)
    assert window.documents.open_files([two], remember=False) and window.session.document.chain == "A"
    assert window.variants.add_variant("I3V")
    window.edits.mutate(0, "A")
    assert window.documents.choose_chain("B")
    doc = window.session.document
    assert doc.chain == "B" and len(window.session.states) == 1  # replaced, not added
    assert doc.mutated_indices() == [] and [str(v) for v in window.session.variants] == ["I3V"]  # fits chain B too
    window.edits.undo_stack.undo()  # back to chain A with its edit
    assert window.session.document.chain == "A" and window.session.document.sequence[0] == "A"
    assert not window.documents.choose_chain("A")  # already shown: nothing to do


def test_pasting_a_shorter_sequence_drops_variants_beyond_it_and_undo_brings_them_back(windows):
    window = _window(windows)
    assert window.documents.open_files(list(DEMO_FILES), remember=False)
    assert window.numbering.set_numbering("sequence")
    wt = window.session.document.wild_type
    far = f"{wt[249]}250A"
    assert window.variants.add_variant(far) and window.variants.add_variant(f"{wt[9]}10A")
    assert window.edits.paste_sequence(wt[:100])
    assert len(window.session.document) == 100 and [str(v) for v in window.session.variants] == [f"{wt[9]}10A"]
    window.edits.undo_stack.undo()
    assert window.session.document.wild_type == wt
    assert [str(v) for v in window.session.variants] == [far, f"{wt[9]}10A"]


def test_opening_every_test_file_and_broken_ones_after_an_edit_keeps_the_edit(windows, tmp_path):
    window = _window(windows)
    assert window.documents.open_files(list(DEMO_FILES), remember=False)
    window.edits.mutate(40, "W")
    assert window.variants.add_variant("M(1)A")
    broken = [tmp_path / name for name in ("garbage.pdb", "empty.fasta", "cut.cif", "nan.pdb")]
    broken[0].write_bytes(b"\x00\xff" * 500)
    broken[1].write_text("")
    broken[2].write_text("data_x\nloop_\n_atom_site.id\n1\n")
    lines = [line for line in (DATA / "1ubq.pdb").read_text().splitlines() if line.startswith("ATOM")]
    broken[3].write_text("\n".join(line[:30] + "     nan     nan     nan" + line[54:] for line in lines) + "\n")
    files = sorted(p for p in DATA.iterdir() if p.is_file() and p.suffix not in (".md", ".psproj")) + broken
    for path in files:
        window.documents.open_files([path], remember=False)
        if window.message_box is not None:
            window.message_box.done(0)
        first = window.session.states[0]
        assert first.document.sequence[40] == "W" and len(first.variants) == 1, path.name
    window.session.activate(0)
    assert window.edits.undo_stack.count() == 1  # the edit's undo history is still there


def test_a_failed_export_keeps_the_previous_file_and_leaves_no_temporary(windows, qtbot, tmp_path, monkeypatch):
    window = _window(windows)
    assert window.documents.open_files([DATA / "1ubq.pdb"], remember=False)
    assert _scan(window, qtbot)
    window.edits.mutate(3, "A")
    window.variants.add_variant("Q2A")
    targets = {"scan.csv": lambda p: window.exports.export_scan(p), "variants.csv": lambda p: window.exports.export_variants(p),
               "seq.fasta": lambda p: window.exports.save_fasta(p), "heatmap.png": lambda p: window.exports.export_heatmap(p),
               "heatmap.svg": lambda p: window.exports.export_heatmap(p)}
    for name, export in targets.items():
        assert export(str(tmp_path / name)), name
    before = {name: (tmp_path / name).read_bytes() for name in targets}
    window.edits.mutate(5, "A")

    def full_disk(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    for name, export in targets.items():
        assert not export(str(tmp_path / name)), name
        assert "No space left on device" in window.message_box.text() and name in window.message_box.text()
        window.message_box.done(0)
    monkeypatch.undo()
    assert {name: (tmp_path / name).read_bytes() for name in targets} == before
    tables = [f"{name}.json" for name in targets if name.endswith(".csv")]  # their provenance, beside them
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*targets, *tables])  # no .tmp files left


_EXPORTER = textwrap.dedent("""
    import resource, sys
    from protein_studio.core.files import write_text_atomically
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[2]), int(sys.argv[2])))
    try:
        write_text_atomically(sys.argv[1], "x" * 100000)
    except Exception as exc:
        print(type(exc).__name__, exc)
""")


def test_an_export_starved_by_a_file_size_limit_keeps_the_previous_file(tmp_path):
    script = tmp_path / "export.py"
    script.write_text(_EXPORTER)
    target = tmp_path / "scan.csv"
    target.write_text("the previous export\n")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, str(script), str(target), "5000"], capture_output=True, text=True,
                            env=env, timeout=60)
    assert "UserError" in result.stdout and "scan.csv" in result.stdout
    assert target.read_text() == "the previous export\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.py", "scan.csv"]


def test_the_undo_history_comes_back_with_the_project(windows, tmp_path):
    first = _window(windows)
    assert first.documents.open_files([DATA / "1ubq.pdb"], remember=False)
    first.edits.mutate(0, "A")
    first.edits.mutate(1, "W")
    assert first.variants.add_variant("I3V:K6R")
    first.variants.apply_variant("I3V:K6R")  # one step of two edits
    first.edits.mutate(9, "A")
    first.edits.undo_stack.undo()  # the last edit can be redone
    sequence = first.session.document.sequence
    assert first.projects.save_as(tmp_path / "history.psproj")
    second = _window(windows)
    assert second.documents.open_files([tmp_path / "history.psproj"], remember=False)
    stack = second.edits.undo_stack
    assert (stack.count(), stack.index()) == (4, 3) and second.session.document.sequence == sequence
    stack.undo()  # the applied variant goes as one step
    assert second.session.document.sequence[2] == "I" and second.session.document.sequence[5] == "K"
    stack.redo()
    stack.redo()  # and the edit that was undone before saving comes back
    assert second.session.document.sequence[9] == "A"
    stack.setIndex(0)
    assert second.session.document.mutated_indices() == []


def test_saving_a_project_where_it_cannot_be_written_is_a_message_and_autosave_carries_on(windows, tmp_path):
    window = _window(windows)
    assert window.documents.open_files([DATA / "1ubq.pdb"], remember=False)
    window.edits.mutate(2, "A")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert not window.projects.save_as(blocker / "p.psproj")
    assert "cannot be written here" in window.message_box.text()
    window.message_box.done(0)
    assert window.projects.path is None and window.session.document.sequence[2] == "A"
    window.projects.autosave_now()  # the work still goes to the recovery file
    assert window.projects.flush() and load_project(recovery_path()).states[0].document.sequence[2] == "A"


def test_a_file_the_cli_reads_opens_in_the_window_too(windows, tmp_path, capsys):
    """Two-character chains do not fit PDB: the window shows them from mmCIF instead of refusing what
    `protein-studio info` reads."""
    import biotite.structure.io.pdb as pdb
    import biotite.structure.io.pdbx as pdbx

    from protein_studio.cli import main as cli

    atoms = pdb.PDBFile.read(str(DATA / "2qmt.pdb")).get_structure(model=1)
    atoms.chain_id[:] = "GB"
    cif = pdbx.CIFFile()
    pdbx.set_structure(cif, atoms)
    path = tmp_path / "gb.cif"
    cif.write(str(path))
    assert cli(["info", str(path)]) == 0 and "GB" in capsys.readouterr().out
    window = _window(windows)
    assert window.documents.open_files([path], remember=False)
    assert window.session.document.chain == "GB" and window.viewer._format == "cif"
    assert window.session.document.label(0) == "1"
