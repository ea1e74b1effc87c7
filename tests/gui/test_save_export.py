"""File > Save Sequence as FASTA, File > Export Variants, and the "Save changes?" question on closing.

Methods are called with a path (no file dialogs); file contents are checked against the session.
"""

from __future__ import annotations

import csv
import json
import io
import os

import pytest
from PySide6.QtWidgets import QMessageBox

from protein_studio.core.molecules.sequences import AMINO_ACIDS, format_fasta, parse_fasta_text
from protein_studio.gui.controllers.documents import DEMO_FILES
from protein_studio.gui.controllers import projects as projects_module
from protein_studio.gui.main_window import MainWindow

TIMEOUT = 30000
UBIQUITIN = "MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG"


@pytest.fixture(scope="module")
def window(qapp, dispose):
    win = MainWindow(open_demo=False)
    win.auto_warm_up = False
    win.show()
    yield win
    dispose(win)


@pytest.fixture
def short(window, qtbot, tmp_path):
    """The window on a 20-residue ubiquitin fragment, idle, no message box."""
    qtbot.waitUntil(lambda: not window.worker.busy, timeout=TIMEOUT)
    if window.message_box is not None:
        window.message_box.done(0)
    window.last_error = None
    path = tmp_path / "ubq.fasta"
    path.write_text(f">ubq\n{UBIQUITIN[:20]}\n")
    assert window.documents.open_files([path], remember=False)
    return window


def test_save_names_the_edits_in_the_numbering_shown(window, qtbot, tmp_path):
    assert window.documents.open_files(list(DEMO_FILES), remember=False)
    doc = window.session.document
    # positions in the structure whose ruler label differs from their sequence position
    picked = [i for i in range(30, 280) if doc.numbering.residue_at(i) is not None
              and doc.label(i) != str(doc.position(i)) and doc.sequence[i] in AMINO_ACIDS][:2]
    assert len(picked) == 2
    assert not window.documents.has_unsaved_edits
    assert window.exports.save_fasta(str(tmp_path / "wt.fasta"))
    assert (tmp_path / "wt.fasta").read_text() == format_fasta(parse_fasta_text(f">P62593\n{doc.sequence}"))
    for i in picked:
        window.edits.mutate(i, "W" if doc.wild_type[i] != "W" else "A")
    assert window.documents.has_unsaved_edits
    edited = window.session.document
    by_index = ":".join(f"{edited.wild_type[i]}{i + 1}{edited.sequence[i]}" for i in picked)
    assert str(edited.mutations()) == by_index  # held in sequence positions
    # named in the numbering shown (1BTL's), the same names the editor and variant list use
    name = ":".join(f"{edited.wild_type[i]}{edited.label(i)}{edited.sequence[i]}" for i in picked)
    assert edited.name_mutant(edited.mutations()) == name and name != by_index
    path = tmp_path / "edited.fasta"
    assert window.exports.save_fasta(str(path))
    text = path.read_text()
    lines = text.splitlines()
    assert lines[0] == (f">P62593_{name} P62593 with {name} (numbering: structure tem1_1btl chain A; "
                        f"sequence positions {by_index})")
    assert "".join(lines[1:]) == edited.sequence and max(len(line) for line in lines[1:]) == 60
    assert not window.documents.has_unsaved_edits
    window.edits.undo_stack.undo()
    assert window.documents.has_unsaved_edits  # the saved sequence had both edits
    assert window.exports.save_fasta_action.shortcut().toString() == "Ctrl+Alt+S"
    assert window.projects.actions["Save Project"].shortcut().toString() == "Ctrl+S"  # what users expect it to save
    texts = [a.text() for a in window.menuBar().actions()[0].menu().actions()]
    fasta = texts.index("Save Sequence as &FASTA\u2026")
    assert texts[fasta + 1] == "Export &Variants\u2026"


def test_variants_export_as_csv_and_fasta_matches_the_list(short, qtbot, tmp_path):
    window = short
    assert not window.exports.export_variants_action.isEnabled()
    assert not window.exports.export_variants(str(tmp_path / "none.csv"))
    assert window.last_error[0] == "No variants to export" and not (tmp_path / "none.csv").exists()
    with qtbot.waitSignal(window.scanFinished, timeout=TIMEOUT):
        window.scans.start_scan("random-esm2-tiny")
    for name in ("Q2K:F4L", "I3V", "T7S:G10A:K11R"):
        assert window.variants.add_variant(name)
    assert window.exports.export_variants_action.isEnabled()
    # model scores for two of the three: score, then add a third variant not yet scored
    window.variants.remove_variants(["T7S:G10A:K11R"])
    window.models.set_model("random-esm2-tiny")
    with qtbot.waitSignal(window.worker.jobFinished, timeout=TIMEOUT):
        window.scans.score_variants()
    assert window.variants.add_variant("T7S:G10A:K11R")
    session, wt = window.session, window.session.document.wild_type
    expected = []
    for variant in session.variants:
        additive = sum(session.scan.scores[m.position - 1, AMINO_ACIDS.index(m.mt)] for m in variant.mutations)
        score = window.session.state.latest_score(str(variant))
        sequence = list(wt)
        for m in variant.mutations:
            sequence[m.position - 1] = m.mt
        expected.append((str(variant), len(variant.mutations), additive, score, "".join(sequence)))
    assert [e[3] is None for e in expected] == [False, False, True]
    # the list shows the same numbers
    for r, (name, _n, additive, score, _s) in enumerate(expected):
        assert window.variant_list.table.item(r, 0).text() == name
        assert window.variant_list.table.item(r, 1).text() == f"{additive:.3f}"
        assert window.variant_list.table.item(r, 2).text() == ("" if score is None else f"{score.score:.3f}")
    header = window.variant_list.table.horizontalHeaderItem
    assert header(1).text() == "Additive (random-esm2-tiny)"  # each score column names its model and method
    assert header(2).text() == "random-esm2-tiny (additive masked-marginals)"
    assert header(2).toolTip().startswith("Score Variants with random-esm2-tiny, ")

    assert window.exports.export_variants(str(tmp_path / "variants.csv"))
    text = (tmp_path / "variants.csv").read_text()
    assert json.loads((tmp_path / "variants.csv.json").read_text())["provenance"]["numbering"] == "sequence"
    column = "score_random_esm2_tiny_additive_masked_marginals"
    assert text.splitlines()[0] == ("variant,sequence_variant,n_mutations,scan_additive_score,scan," + column +
                                    ",note,sequence")
    rows = list(csv.reader(io.StringIO(text)))[1:]
    label = session.scan.label
    assert rows == [[name, name, str(n), f"{additive:.6g}", label, "" if score is None else f"{score.score:.6g}", "",
                     sequence] for name, n, additive, score, sequence in expected]
    side = json.loads((tmp_path / "variants.csv.json").read_text())["provenance"]
    assert side["score_columns"][column]["model"] == "random-esm2-tiny" and side["scan"] == label

    assert window.exports.export_variants(str(tmp_path / "variants.fasta"))
    records = parse_fasta_text((tmp_path / "variants.fasta").read_text())
    assert [r.name for r in records] == [f"ubq_{e[0]}" for e in expected]
    assert [r.sequence for r in records] == [e[4] for e in expected]
    for record, (_name, n, additive, score, _s) in zip(records, expected):
        fields = dict(item.split("=", 1) for item in record.description.split())
        assert fields["n_mutations"] == str(n)
        assert fields["scan_additive_score"] == f"{additive:.6g}"
        assert fields.get(column) == (None if score is None else f"{score.score:.6g}")
    # an emptied list has nothing to export
    window.session.variants.clear()
    window.session.variants_changed.emit()
    assert not window.exports.export_variants_action.isEnabled()


def test_an_unwritable_path_shows_an_error_and_loses_nothing(short, qtbot, tmp_path, monkeypatch):
    window = short
    window.edits.mutate(3, "W")
    assert window.variants.add_variant("Q2K")
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    assert not window.exports.save_fasta(str(blocker / "out.fasta"))
    assert window.last_error[0] == "Cannot save the sequence" and "out.fasta" in window.last_error[1]
    assert window.message_box is not None and window.message_box.isVisible()
    window.message_box.done(0)
    assert window.documents.has_unsaved_edits  # still unsaved: the close prompt would still ask
    assert not window.exports.export_variants(str(blocker / "variants.csv"))
    assert window.last_error[0] == "Cannot export the variants"
    window.message_box.done(0)
    # a failure while replacing keeps the previous file whole and leaves no temporary file
    good = tmp_path / "good.fasta"
    good.write_text(">old\nMQ\n")

    def full_disk(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    assert not window.exports.save_fasta(str(good))
    assert "No space left on device" in window.last_error[1]
    window.message_box.done(0)
    assert good.read_text() == ">old\nMQ\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "good.fasta", "ubq.fasta"]
    monkeypatch.undo()
    # the window still works: edit, save, export
    window.edits.mutate(4, "A")
    assert window.session.document.sequence[3:5] == "WA"
    assert window.exports.save_fasta(str(good)) and not window.documents.has_unsaved_edits
    assert parse_fasta_text(good.read_text())[0].sequence == window.session.document.sequence
    assert window.exports.export_variants(str(tmp_path / "v.csv"))


def test_closing_with_unsaved_work_asks_to_save_the_project_only_when_interactive(qapp, qtbot, tmp_path, monkeypatch,
                                                                                  dispose):
    from protein_studio.core.storage.autosave import recovery_path
    from protein_studio.core.storage.project import load_project

    path = tmp_path / "ubq.fasta"
    path.write_text(f">ubq\n{UBIQUITIN[:20]}\n")
    asked = []

    def answer(button):
        def ask():
            asked.append(button)
            return button
        return ask

    win = MainWindow(files=[path])
    win.auto_warm_up = False
    win.show()
    try:
        win.edits.mutate(2, "V")
        # tests and --screenshot close windows without a question (confirm_close is off by default)
        monkeypatch.setattr(win, "ask_save_changes", answer(QMessageBox.Cancel))
        assert not win.confirm_close and win.maybe_save() and asked == []
        win.confirm_close = True
        assert not win.close() and win.isVisible() and asked == [QMessageBox.Cancel]
        # Save with a cancelled file dialog keeps the window open; a chosen file saves the project
        monkeypatch.setattr(win, "ask_save_changes", answer(QMessageBox.Save))
        monkeypatch.setattr(projects_module, "save_file", lambda *args: ("", ""))
        assert not win.close() and win.isVisible()
        monkeypatch.setattr(projects_module, "save_file", lambda *args: (str(tmp_path / "saved"), ""))
        assert win.maybe_save()
        project = tmp_path / "saved.psproj"
        assert load_project(project).states[0].document.sequence[2] == "V"
        # the work is in a project file now: no question, and closing writes the latest edit into it
        asked.clear()
        win.edits.mutate(5, "A")
        assert win.close() and not win.isVisible() and asked == []
        assert load_project(project).states[0].document.sequence[5] == "A"
    finally:
        win.confirm_close = False
        dispose(win)
    other = MainWindow(files=[path])
    other.auto_warm_up = False
    other.show()
    try:
        other.edits.mutate(2, "V")
        other.projects.autosave_now()
        assert other.projects.flush() and recovery_path().is_file()  # unsaved work autosaved for recovery
        other.confirm_close = True
        monkeypatch.setattr(other, "ask_save_changes", answer(QMessageBox.Discard))
        assert other.close() and asked == [QMessageBox.Discard]
        assert not recovery_path().exists()  # discarded on purpose: nothing to recover
    finally:
        other.confirm_close = False
        dispose(other)
