"""Projects as untrusted input (issue 22): a project file shaped by an attacker or damaged on disk is refused with
one line naming the file and what is wrong, never runs its own SQL, never takes more memory than its bytes,
and is never changed by a look at it; two processes adding to one project both keep their work."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from protein_studio.cli import main
from protein_studio.core.documents.document import document_from_sources, load_document
from protein_studio.core.documents.session import DocumentState, Session
from protein_studio.core.molecules.mutations import parse_mutant
from protein_studio.core.storage.project import (ProjectError, load_project, merge_into, project_summary,
                                                 save_project, snapshot, write_project)

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    """A small honest project: ubiquitin with an edit, a scan, a variant and a result."""
    session = Session()
    session.open(load_document([DATA / "1ubq.pdb"]))
    session.set_residue(3, "A")
    session.begin_scan("random-esm2-tiny", "wt-marginals")
    session.add_scan_chunk(list(range(76)), np.random.default_rng(0).normal(size=(76, 20)))
    session.finish_scan()
    session.add_variant("I3V")
    session.state.results.append({"kind": "comparison", "name": "a result", "data": {"rmsd": 1.0},
                                  "arrays": {"x": np.arange(5.0)}, "provenance": {}})
    return save_project(tmp_path_factory.mktemp("good") / "good.psproj", snapshot(session))


def _npy_header(descr: str, shape: str) -> bytes:
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}".ljust(117) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode()


def _swap_scores(con, blob: bytes, column: str = "scores") -> None:
    digest = hashlib.sha256(blob).hexdigest()
    con.execute("INSERT INTO blobs VALUES (?, ?)", (digest, blob))
    con.execute(f"UPDATE scans SET {column} = ?", (digest,))


#: name -> (how the file is changed, what the message says)
HOSTILE = {
    "recursive view as meta": (
        "DROP TABLE meta; CREATE VIEW meta(key, value) AS WITH RECURSIVE r(k, v) AS (SELECT 'a', 'b' UNION ALL "
        "SELECT k || 'x', v FROM r) SELECT k, v FROM r;", "holds a view"),
    "trigger": ("CREATE TRIGGER t AFTER DELETE ON documents BEGIN SELECT 1; END;", "holds a trigger"),
    "index of its own": ("CREATE INDEX mine ON variants(mutant);", "index of its own"),
    "extra table": ("CREATE TABLE extra(x);", "table a project does not have"),
    "generated column": ("ALTER TABLE meta RENAME TO old_meta; CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT "
                         "GENERATED ALWAYS AS (key || key) VIRTUAL); DROP TABLE old_meta;", "other columns"),
    "missing table": ("DROP TABLE results;", "lacks the table 'results'"),
    "user_version 0": ("PRAGMA user_version = 0;", "no valid schema version \\(0"),
    "user_version -1": ("PRAGMA user_version = -1;", "no valid schema version \\(-1"),
    "newer": ("PRAGMA user_version = 99;", "newer Protein Studio"),
    "foreign application": ("PRAGMA application_id = 7;", "not a Protein Studio project"),
    "missing blob": ("DELETE FROM blobs;", "is missing from the file"),
    "bad JSON": ("UPDATE documents SET view = '{bad';", "its view settings is not valid JSON"),
    "JSON of the wrong kind": ("UPDATE documents SET scheme = 'null';", "its numbering should be a JSON object"),
    "deep JSON": ("UPDATE documents SET undo = '" + "[" * 100000 + "]" * 100000 + "';", "nested more than"),
    "deep JSON in the file paths": ("UPDATE documents SET paths = '" + "[" * 100000 + "]" * 100000 + "';",
                                    "its file paths is nested more than"),
    "text where a number is": ("UPDATE documents SET undo_index = 'x';", "undo position should be a whole number"),
    "undo outside the sequence": ("UPDATE documents SET undo = '[[[9999, \"A\", \"B\"]]]';", "undo history"),
    "variant off the wild type": ("UPDATE variants SET mutant = 'W3V';", "does not fit its wild type"),
    "unreadable variant": ("UPDATE variants SET mutant = 'nonsense';", "variant 'nonsense' cannot be read"),
    "revision not a number": ("UPDATE meta SET value = 'x' WHERE key = 'revision';", "revision .* is not a number"),
    "npy header bomb": (lambda con: _swap_scores(con, _npy_header("<f8", "(137438953472,)")),
                        "declares 137,438,953,472 values"),
    "npy header bomb in the finished positions": (
        lambda con: _swap_scores(con, _npy_header("|b1", "(1099511627776,)"), "final"),
        "declares 1,099,511,627,776 values"),
    "npy of objects": (lambda con: _swap_scores(con, _npy_header("|O", "(76, 20)") + b"\0" * 12160),
                       "data type object"),
    "scores of another shape": (lambda con: _swap_scores(con, _npy_header("<f8", "(3, 20)") + b"\0" * 480),
                                r"scores are \(3, 20\) for 76 residues"),
}


def _hostile(good: Path, tmp_path: Path, change) -> Path:
    path = tmp_path / "hostile.psproj"
    shutil.copy(good, path)
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA foreign_keys = OFF")
    if callable(change):
        change(con)
    else:
        con.executescript(change)
    con.close()
    return path


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_or_damaged_project_is_one_line_naming_the_file_and_nothing_changes(good, tmp_path, name):
    change, message = HOSTILE[name]
    path = _hostile(good, tmp_path, change)
    before = path.read_bytes()
    with pytest.raises(ProjectError, match=message) as error:
        load_project(path)
    assert str(path) in str(error.value) and "\n" not in str(error.value)
    assert path.read_bytes() == before and not (tmp_path / "hostile.psproj-journal").exists()
    if name in ("recursive view as meta", "trigger", "generated column"):
        with pytest.raises(ProjectError):  # nor is it written into: its views and triggers never run
            save_project(path, snapshot(Session()), wait=0.5)
        assert path.read_bytes() == before


@pytest.mark.parametrize("name", ["recursive view as meta", "npy header bomb in the finished positions",
                                  "user_version 0", "deep JSON in the file paths"])
def test_project_info_refuses_them_with_one_line_and_no_traceback(good, tmp_path, name, capsys):
    path = _hostile(good, tmp_path, HOSTILE[name][0])
    assert main(["project", "info", str(path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("protein-studio project: error: ") and "internal error" not in err
    assert len(err.splitlines()) == 1 and "hostile.psproj" in err


def test_project_info_leaves_a_wal_mode_project_and_a_stray_journal_as_they_are(good, tmp_path, capsys):
    path = tmp_path / "wal.psproj"
    shutil.copy(good, path)
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode = WAL").fetchone()[0] == "wal"
    con.close()
    stray = tmp_path / "wal.psproj-journal"
    stray.write_bytes(b"not a journal of this file")
    listing = sorted(p.name for p in tmp_path.iterdir())
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert main(["project", "info", str(path)]) == 0
    assert main(["project", "info", str(path), "--json"]) == 0
    assert "1ubq chain A" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == listing  # no -wal or -shm file made, the journal kept
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    assert len(load_project(path).states) == 1


def _interrupted_save(good: Path, tmp_path: Path) -> Path:
    """A project whose writer was killed in the middle of a save: the file holds half of it, a hot journal
    the rest."""
    path = tmp_path / "hot.psproj"
    shutil.copy(good, path)
    subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
        import os, sqlite3
        con = sqlite3.connect({str(path)!r}, isolation_level=None)
        con.execute("PRAGMA cache_size = 1")  # pages reach the file before the commit
        con.execute("BEGIN IMMEDIATE")
        con.execute("UPDATE blobs SET data = zeroblob(length(data))")
        con.execute("INSERT INTO blobs VALUES ('zz', zeroblob(3000000))")
        os._exit(0)  # killed before the commit
    """)], check=True)
    assert (tmp_path / "hot.psproj-journal").stat().st_size > 0
    return path


def test_an_interrupted_save_is_said_to_be_one_and_the_window_s_open_rolls_it_back(good, tmp_path, capsys):
    path = _interrupted_save(good, tmp_path)
    before = path.read_bytes()
    assert main(["project", "info", str(path)]) == 1
    err = capsys.readouterr().err
    assert "last save was interrupted" in err and "open it in the window to roll it back" in err
    assert "damaged" not in err and path.read_bytes() == before  # reported, not touched
    with pytest.raises(ProjectError, match="interrupted"):
        load_project(path)
    restored = load_project(path, roll_back=True)  # what the window does
    assert restored.states[0].variants and restored.states[0].document.sequence[3] == "A"
    assert not (tmp_path / "hot.psproj-journal").exists()
    assert main(["project", "info", str(path)]) == 0


def test_a_special_file_is_never_opened_as_a_project(tmp_path):
    fifo = tmp_path / "pipe.psproj"
    os.mkfifo(fifo)
    for action in (lambda: load_project(fifo), lambda: save_project(fifo, snapshot(Session())),
                   lambda: project_summary(fifo)):
        with pytest.raises(ProjectError, match="named pipe"):
            action()  # returns at once: a pipe is never opened, so nothing blocks


# ------------------------------------------------------------------------------------ several writers
_WRITER = textwrap.dedent("""
    import sys
    from protein_studio.core.documents.document import document_from_sources
    from protein_studio.core.documents.session import DocumentState
    from protein_studio.core.storage.project import merge_into
    path, who, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    document = document_from_sources([], name="shared", wild_type="MKTAYIAKQR", sequence="MKTAYIAKQR")
    for k in range(rounds):
        state = DocumentState(document)
        state.results.append({"kind": "note", "name": f"{who} {k}", "data": {"k": k}, "arrays": {},
                              "provenance": {}})
        merge_into(path, [state])
    print("done", flush=True)
""")


def test_two_processes_adding_to_one_project_twenty_times_at_once_both_keep_everything(tmp_path):
    path = tmp_path / "shared.psproj"
    script = tmp_path / "writer.py"
    script.write_text(_WRITER)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    writers = [subprocess.Popen([sys.executable, str(script), str(path), who, "20"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for who in ("A", "B")]
    for writer in writers:
        out, err = writer.communicate(timeout=300)
        assert writer.returncode == 0 and out.strip() == "done", err
    states = load_project(path).states
    assert [s.document.name for s in states] == ["shared"]
    names = sorted(r["name"] for r in states[0].results)
    assert names == sorted(f"{who} {k}" for who in "AB" for k in range(20))
    assert project_summary(path)["revision"] == 40


def test_a_save_that_finds_another_writer_s_work_merges_it_and_keeps_its_own_removals(tmp_path):
    """The window's autosave path: it last wrote revision r; another process then added a result; the window
    meanwhile added a variant and removed a scan. The save keeps all three changes."""
    session = Session()
    session.open(load_document([DATA / "1ubq.pdb"]))
    session.begin_scan("random-esm2-tiny", "wt-marginals")
    session.finish_scan(np.zeros((76, 20)))
    path = tmp_path / "p.psproj"
    first = snapshot(session)
    report = write_project(path, first)
    other = DocumentState(session.document)
    other.results.append({"kind": "note", "name": "from the batch job", "data": {}, "arrays": {}, "provenance": {}})
    merge_into(path, [other])  # another process
    session.add_variant("I3V")
    session.remove_scan(0)
    second = write_project(path, snapshot(session), known_revision=report.revision, base=first)
    assert [r["name"] for r in second.theirs[0].results] == ["from the batch job"]
    state = load_project(path).states[0]
    assert [str(v) for v in state.variants] == ["I3V"] and state.scans == []  # the removal stays removed
    assert [r["name"] for r in state.results] == ["from the batch job"]


def test_a_document_of_a_known_name_with_another_sequence_is_added_beside_it(tmp_path):
    path = tmp_path / "p.psproj"
    a = DocumentState(document_from_sources([], name="sequence", wild_type="MKTAYIAKQR", sequence="MKTAYIAKQR"))
    a.variants.append(parse_mutant("K2R"))
    b = DocumentState(document_from_sources([], name="sequence", wild_type="MSTNPKPQRK", sequence="MSTNPKPQRK"))
    merge_into(path, [a])
    _path, notes = merge_into(path, [b])
    states = load_project(path).states
    assert [s.document.name for s in states] == ["sequence", "sequence (2)"]
    assert [str(v) for v in states[0].variants] == ["K2R"] and "with another sequence" in notes[0]


def test_a_reader_waits_for_a_writer_and_never_sees_half_a_save(good, tmp_path):
    path = tmp_path / "p.psproj"
    shutil.copy(good, path)
    errors = []

    def read_many():
        for _ in range(20):
            try:
                assert len(load_project(path).states) == 1
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)

    reader = threading.Thread(target=read_many)
    reader.start()
    state = load_project(path).states[0]
    for _ in range(10):
        save_project(path, snapshot(type("S", (), {"states": [state], "active": 0})()))
    reader.join(60)
    assert errors == []
