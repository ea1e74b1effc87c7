"""Projects: one SQLite file that gives every number, note and view setting back, survives kill -9 while it
is written, and refuses bad files with a clear message without changing them."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from protein_studio.core.errors import InputError
from protein_studio.core.molecules.mutations import parse_mutant
from protein_studio.core.storage.project import (APPLICATION_ID, SCHEMA_VERSION, ProjectError, array_bytes, array_from_bytes,
                                         load_project, merge_into, project_summary, save_project, snapshot)
from protein_studio.core.documents.document import load_document, scheme_for
from protein_studio.core.documents.session import Session, VariantScore

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
DEMO = [REPO / "resources" / "demo" / "tem1_P62593.fasta", REPO / "resources" / "demo" / "tem1_1btl.pdb"]


def _design_session(tmp_path) -> Session:
    """Two documents: the demo in Ambler numbering with a complete scan, an edit, variants with notes and
    model scores, a prediction and a comparison; ubiquitin with a partial scan."""
    session = Session()
    session.open(load_document(DEMO))
    session.set_scheme(scheme_for(session.document, "table", REPO / "resources" / "demo" / "tem1_ambler_numbering.csv"))
    rng = np.random.default_rng(3)
    scan = session.begin_scan("random-esm2-8M", "masked-marginals", random_weights=True)
    session.add_scan_chunk(list(range(286)), rng.normal(size=(286, 20)))
    session.finish_scan()
    scan.provenance.update({"model": "random-esm2-8M", "weights": "RANDOM WEIGHTS", "strategy": "masked-marginals"})
    session.set_residue(101, "K")  # E104K
    for text, note in (("E104K:G238S", "TEM-52-like, check cefotaxime"), ("M182T", ""), ("G238S", "stabilised?")):
        session.add_variant(text)
        if note:
            session.set_note(session.variants[-1], note)
    state = session.state
    state.set_score(str(session.variants[0]), VariantScore(-1.25, "random-esm2-8M", "masked-marginals, additive",
                                                           {"weights": "RANDOM WEIGHTS", "multi": "additive"}))
    state.set_score(str(session.variants[0]), VariantScore(0.75, "random-saprot-tiny", "masked-marginals, joint",
                                                           {"weights": "RANDOM WEIGHTS", "multi": "joint"}))
    wt = session.begin_scan("random-esm1b-tiny", "wt-marginals", random_weights=True)  # a second scan, kept
    session.add_scan_chunk(list(range(286)), rng.normal(size=(286, 20)))
    session.finish_scan()
    wt.provenance.update({"precision": "float32"})
    session.choose_scan(0)  # the first one is shown
    state.results.append({"kind": "prediction", "name": "Predicted: P62593 (random-esmfold-tiny)",
                          "data": {"pdb_text": "ATOM ...", "ptm": 0.31, "mean_plddt": 47.5},
                          "arrays": {"plddt": rng.uniform(0, 100, 286), "pae": rng.uniform(0, 30, (286, 286))},
                          "provenance": {"model": "random-esmfold-tiny", "seed": 0}})
    state.results.append({"kind": "comparison", "name": "1BTL vs prediction", "data": {"rmsd": 3.2, "tm_score": 0.61},
                          "arrays": {"displacement": rng.uniform(0, 9, 263)}, "provenance": {}})
    state.view.update({"colour": "score", "ranked": {"region": "100-120", "top_n": 50}})
    session.open(load_document([DATA / "1ubq.pdb"]))
    session.begin_scan("random-esm2-tiny", "wt-marginals")
    session.add_scan_chunk(list(range(30)), rng.normal(size=(30, 20)))  # a partial scan: 30 of 76
    session.activate(0)
    return session


def _same(a, b) -> None:
    """Every number, note and setting of two snapshots' states is equal."""
    assert len(a.states) == len(b.states) and a.active == b.active
    for x, y in zip(a.states, b.states):
        assert (x.document.name, x.document.wild_type, x.document.sequence, x.document.chain) == \
            (y.document.name, y.document.wild_type, y.document.sequence, y.document.chain)
        assert x.document.scheme == y.document.scheme and x.document.excluded == y.document.excluded
        assert x.document.sources == y.document.sources
        assert len(x.scans) == len(y.scans) and x.active_scan == y.active_scan
        for a, b in zip(x.scans, y.scans):
            np.testing.assert_array_equal(a.scores, b.scores)
            np.testing.assert_array_equal(a.final, b.final)
            assert (a.model, a.strategy, a.complete, a.random_weights, a.provenance, a.created, a.label) == \
                (b.model, b.strategy, b.complete, b.random_weights, b.provenance, b.created, b.label)
        assert x.variants == y.variants and x.notes == y.notes and x.model_scores == y.model_scores
        assert [s.provenance for v in x.model_scores.values() for s in v.values()] == \
            [s.provenance for v in y.model_scores.values() for s in v.values()]
        assert x.view == y.view and x.saved_sequence == y.saved_sequence
        assert x.document.confidence == y.document.confidence
        assert [(r["kind"], r["name"], r["data"], r["provenance"]) for r in x.results] == \
            [(r["kind"], r["name"], r["data"], r["provenance"]) for r in y.results]
        for r, s in zip(x.results, y.results):
            assert r["arrays"].keys() == s["arrays"].keys()
            for key in r["arrays"]:
                np.testing.assert_array_equal(r["arrays"][key], s["arrays"][key])


def test_a_project_gives_back_every_number_note_and_setting(tmp_path):
    session = _design_session(tmp_path)
    before = snapshot(session)
    path = save_project(tmp_path / "design.psproj", before)
    after = load_project(path)
    _same(before, after)
    demo = after.states[0]
    assert demo.document.name_mutant(demo.variants[0]) == "E104K:G238S"
    assert demo.document.mutated_indices() == [101] and demo.scan.complete
    assert [s.model for s in demo.scans] == ["random-esm2-8M", "random-esm1b-tiny"] and demo.scan is demo.scans[0]
    assert [s.model for s in demo.model_scores[str(demo.variants[0])].values()] == ["random-esm2-8M",
                                                                                   "random-saprot-tiny"]
    ubq = after.states[1]
    assert ubq.scan.positions_done == 30 and not ubq.scan.complete
    assert after.states[0].document.structure is not None  # rebuilt from the saved file bytes
    # saving again changes nothing; the file stays one file with no journal left behind
    save_project(path, after)
    _same(before, load_project(path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["design.psproj"]


def test_the_project_opens_where_its_files_no_longer_are(tmp_path):
    fasta = tmp_path / "moved.fasta"
    fasta.write_text(">moved\nMKTAYIAKQRQISFVKSHFSRQ\n")
    session = Session()
    session.open(load_document([fasta]))
    path = save_project(tmp_path / "p.psproj", snapshot(session))
    fasta.unlink()
    assert load_project(path).states[0].document.sequence == "MKTAYIAKQRQISFVKSHFSRQ"


def test_the_file_is_sqlite_with_a_documented_schema(tmp_path):
    path = save_project(tmp_path / "p.psproj", snapshot(_design_session(tmp_path)))
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert con.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert con.execute("SELECT COUNT(*) FROM documents").fetchone()[0] == 2
    notes = [row[0] for row in con.execute("SELECT note FROM variants ORDER BY position")]
    assert notes == ["TEM-52-like, check cefotaxime", "", "stabilised?"]
    scores = con.execute("SELECT data FROM blobs JOIN scans ON scans.scores = blobs.sha256").fetchone()[0]
    assert array_from_bytes(scores).shape == (286, 20)  # plain .npy, readable with numpy alone
    assert b"pickle" not in path.read_bytes() and b"\x80\x04\x95" not in path.read_bytes()
    con.close()


def test_arrays_are_never_pickled():
    with pytest.raises(ValueError):
        array_bytes(np.array([{"a": 1}], dtype=object))
    assert array_from_bytes(array_bytes(np.arange(5))).tolist() == [0, 1, 2, 3, 4]


def test_summary_says_what_a_project_holds(tmp_path):
    path = save_project(tmp_path / "p.psproj", snapshot(_design_session(tmp_path)))
    summary = project_summary(path)
    demo, ubq = summary["documents"]
    assert demo["variants"] == 3 and demo["notes"] == 2 and demo["scored_variants"] == 1
    assert demo["score_models"] == ["random-esm2-8M, masked-marginals, additive",
                                    "random-saprot-tiny, masked-marginals, joint"]
    assert demo["numbering"] == "table tem1_ambler_numbering.csv"
    assert [r["kind"] for r in demo["results"]] == ["prediction", "comparison"]
    assert [s["model"] for s in demo["scans"]] == ["random-esm2-8M", "random-esm1b-tiny"] and demo["chosen_scan"] == 0
    (partial,) = ubq["scans"]
    assert partial["positions_done"] == 30 and partial["positions"] == 76 and not partial["complete"]
    assert summary["schema"] == SCHEMA_VERSION and summary["meta"]["application"] == "protein-studio"


def test_merge_adds_documents_and_keeps_the_rest(tmp_path):
    path = save_project(tmp_path / "p.psproj", snapshot(_design_session(tmp_path)))
    extra = Session()
    extra.open(load_document([DATA / "2qmt.pdb"]))
    extra.open(load_document([DATA / "1ubq.pdb"]))  # the same document again: its new scan joins the first
    extra.begin_scan("random-esm2-8M", "wt-marginals")
    _path, notes = merge_into(path, extra.states)
    states = load_project(path).states
    assert [s.document.name for s in states] == ["P62593", "1ubq chain A", "2qmt chain A"] and notes == []
    assert [s.model for s in states[1].scans] == ["random-esm2-tiny", "random-esm2-8M"]


def test_merge_never_puts_another_sequence_in_place_of_a_document(tmp_path):
    from dataclasses import replace

    path = tmp_path / "p.psproj"
    first = Session()
    first.open(load_document([DATA / "1ubq.pdb"]))
    first.add_variant("K6R")
    merge_into(path, first.states)
    second = Session()
    other = load_document([DATA / "2qmt.pdb"])
    second.open(replace(other, name="1ubq chain A"))  # another protein under the same name
    _path, notes = merge_into(path, second.states)
    states = load_project(path).states
    assert [s.document.name for s in states] == ["1ubq chain A", "1ubq chain A (2)"]
    assert [str(v) for v in states[0].variants] == ["K6R"] and states[1].document.wild_type == other.wild_type
    assert "added as '1ubq chain A (2)'" in notes[0]


def test_a_version_1_project_opens_and_migrates(tmp_path):
    """tests/data/project_v1.psproj was written by the release that wrote schema version 1."""
    import shutil

    original = DATA / "project_v1.psproj"
    copy = tmp_path / "v1.psproj"
    shutil.copy(original, copy)
    con = sqlite3.connect(copy)
    assert con.execute("PRAGMA user_version").fetchone()[0] == 1
    con.close()
    loaded = load_project(copy)
    assert copy.read_bytes() == original.read_bytes()  # opening migrates a copy in memory, not the file
    ubq, gb1 = loaded.states
    assert [s.document.name for s in loaded.states] == ["1ubq chain A", "2qmt chain A"]
    assert len(ubq.scans) == 1 and ubq.scan.model == "random-esm2-tiny" and ubq.scan.complete
    assert ubq.scan.created == ubq.scan.provenance["date"]  # the date the scan recorded names it now
    assert [ubq.document.name_mutant(v) for v in ubq.variants] == ["K6R", "K48R:K63R", "L8A"]
    assert ubq.notes == {"K6R": "made in round 1"}
    assert [(s.model, s.method) for s in ubq.model_scores["K6R"].values()] == [("random-esm2-tiny",
                                                                               "joint masked")]
    assert [r["kind"] for r in ubq.results] == ["measurements", "measurements", "fit", "primers", "prediction"]
    assert ubq.document.sequence[5] == "W" and ubq.undo == [[[5, "K", "W"]]] and ubq.view["ranked"]["region"] == "10-20"
    assert gb1.scans == [] and gb1.scan is None
    saved = save_project(copy, loaded)  # saving writes the current schema
    con = sqlite3.connect(saved)
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    con.close()
    _same(loaded, load_project(saved))


# ------------------------------------------------------------------------------------------ bad files
def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("make, message", [
    (lambda d: d / "missing.psproj", "no such file"),
    (lambda d: _write(d / "text.psproj", b"just some text, not a database\n" * 50), "not a readable Protein Studio"),
    (lambda d: _write(d / "empty.psproj", b""), "not a Protein Studio project"),
    (lambda d: d, "is a folder, not a project file"),
])
def test_bad_project_files_are_refused_with_a_message(tmp_path, make, message):
    path = make(tmp_path)
    before = path.read_bytes() if path.is_file() else None
    with pytest.raises(ProjectError, match=message):
        load_project(path)
    if before is not None:
        assert path.read_bytes() == before  # opening never changes the file


def test_a_truncated_project_is_refused_and_left_alone(tmp_path):
    path = save_project(tmp_path / "p.psproj", snapshot(_design_session(tmp_path)))
    data = path.read_bytes()
    cut = _write(tmp_path / "cut.psproj", data[: len(data) // 3])
    with pytest.raises(ProjectError) as error:
        load_project(cut)
    assert "cut.psproj" in str(error.value)
    assert cut.read_bytes() == data[: len(data) // 3]


def test_a_foreign_sqlite_file_and_a_newer_schema(tmp_path):
    other = tmp_path / "other.psproj"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    with pytest.raises(ProjectError, match="an SQLite file, but not a Protein Studio project"):
        load_project(other)
    with pytest.raises(ProjectError, match="not a Protein Studio project"):
        save_project(other, snapshot(Session()))  # never overwritten either
    newer = save_project(tmp_path / "newer.psproj", snapshot(_design_session(tmp_path)))
    con = sqlite3.connect(newer)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.commit()
    con.close()
    for action in (lambda: load_project(newer), lambda: save_project(newer, snapshot(Session()))):
        with pytest.raises(ProjectError, match=f"newer Protein Studio .*schema {SCHEMA_VERSION + 1}"):
            action()


def test_a_locked_project_says_so(tmp_path):
    path = save_project(tmp_path / "p.psproj", snapshot(_design_session(tmp_path)))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(ProjectError, match="in use: another program"):
            save_project(path, snapshot(Session()), wait=0.5)
        with pytest.raises(ProjectError, match="in use"):
            load_project(path)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert len(load_project(path).states) == 2  # nothing was lost


def test_a_read_only_folder_is_a_message(tmp_path, unwritable_folder):
    with pytest.raises(ProjectError, match="cannot be written here"):
        save_project(unwritable_folder / "p.psproj", snapshot(_design_session(tmp_path)))


def test_a_failed_write_keeps_the_previous_project(tmp_path, monkeypatch):
    path = save_project(tmp_path / "p.psproj", snapshot(_design_session(tmp_path)))
    before = load_project(path)
    import protein_studio.core.storage.project as project

    def full_disk(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(project, "_write_state", full_disk)
    other = Session()
    other.open(load_document([DATA / "2qmt.pdb"]))
    with pytest.raises(ProjectError, match="disk is full"):
        save_project(path, snapshot(other))
    monkeypatch.undo()
    _same(before, load_project(path))


# ------------------------------------------------------------------------------------------ kill -9
_WRITER = textwrap.dedent("""
    import sys
    import numpy as np
    from protein_studio.core.storage.project import save_project, snapshot
    from protein_studio.core.documents.document import load_document
    from protein_studio.core.documents.session import Session, VariantScore

    session = Session()
    session.open(load_document([sys.argv[2]]))
    scan = session.begin_scan("m", "wt-marginals")
    n = len(session.document)
    for k in range(1, 100000):          # each committed state k: scores all k, k positions done
        session.add_scan_chunk([k % n], np.full((1, 20), float(k)))
        scan.scores[:] = float(k)
        session.state.view["k"] = k
        save_project(sys.argv[1], snapshot(session))
        print(k, flush=True)
""")


def test_killing_an_autosaving_process_leaves_one_of_its_committed_states(tmp_path):
    """SIGKILL at random moments of a process that saves over and over: every reopen is consistent and
    equal to a state it committed (the last one it reported, or the one it was committing)."""
    script = tmp_path / "writer.py"
    script.write_text(_WRITER)
    path = tmp_path / "kill.psproj"
    rng = random.Random(7)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    last_seen = 0
    for _round in range(12):
        process = subprocess.Popen([sys.executable, str(script), str(path), str(DATA / "1ubq.pdb")],
                                   stdout=subprocess.PIPE, text=True, env=env)
        started = time.monotonic()
        reported = []
        deadline = started + rng.uniform(1.5, 3.0)
        while time.monotonic() < deadline:  # read until a random moment after it has saved a few times
            line = process.stdout.readline()
            if not line:
                break
            reported.append(int(line))
            if len(reported) >= rng.randint(1, 6) and time.monotonic() > started + 1.0:
                break
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        reported += [int(line) for line in process.stdout.read().split()]  # what it printed before it died
        process.stdout.close()
        state = load_project(path)  # never unreadable
        view = state.states[0].view
        k = view["k"]
        committed = reported[-1] if reported else 0
        # the last state it reported, or the one it was committing (or had committed but not yet printed)
        assert k in (committed, committed + 1) or (not reported and k >= 1), (k, reported[-3:])
        scan = state.states[0].scan
        assert np.all(scan.scores == float(k))  # all of one state: never half of two
        last_seen = max(last_seen, k)
    assert last_seen > 0
    # a kill can leave a journal SQLite does not count as hot (nothing synced yet): the next save removes it
    save_project(path, load_project(path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kill.psproj", "writer.py"]


def test_errors_are_input_errors():
    assert issubclass(ProjectError, InputError)
    assert json.loads(json.dumps({"ok": parse_mutant("A1G").positions})) == {"ok": [1]}


def test_a_project_that_cannot_be_written_there_is_a_message_even_for_root(tmp_path):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(ProjectError, match="cannot be written here") as error:
        save_project(blocker / "p.psproj", snapshot(_design_session(tmp_path)))
    assert "p.psproj" in str(error.value)
    assert blocker.read_text() == "a file where a folder should be"
