"""The window and what it reads at start as untrusted input (issue 22): damaged or hostile autosaves, a settings
file nested 100,000 deep and a window.ini that is a pipe never stop it from starting; each is set aside with a
message and the demo opens. A project another process writes while the window has it open is merged in."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from protein_studio.cli import main  # noqa: E402
from protein_studio.core.documents.document import load_document  # noqa: E402
from protein_studio.core.documents.session import DocumentState, Session  # noqa: E402
from protein_studio.core.storage.autosave import recovery_dir  # noqa: E402
from protein_studio.core.storage.project import load_project, merge_into, save_project, snapshot  # noqa: E402
from protein_studio.core.storage.settings import config_dir  # noqa: E402
from protein_studio.gui.main_window import MainWindow  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
DEAD_PID = 2 ** 22 - 11  # above the usual pid range: no such process

DAMAGED = {
    "user_version 0": "PRAGMA user_version = 0;",
    "user_version -1": "PRAGMA user_version = -1;",
    "missing blob": "DELETE FROM blobs;",
    "null numbering": "UPDATE documents SET scheme = 'null';",
    "recursive view as meta": ("DROP TABLE meta; CREATE VIEW meta(key, value) AS WITH RECURSIVE r(k, v) AS "
                               "(SELECT 'a', 'b' UNION ALL SELECT k || 'x', v FROM r) SELECT k, v FROM r;"),
    "deep JSON": "UPDATE documents SET paths = '" + "[" * 100000 + "]" * 100000 + "';",
}


@pytest.fixture
def autosave(tmp_path):
    """An honest autosave of a session with an edit, left by a Protein Studio that is no longer running."""
    session = Session()
    session.open(load_document([DATA / "1ubq.pdb"]))
    session.set_residue(3, "A")
    folder = recovery_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return save_project(folder / f"autosave-{DEAD_PID}.psproj", snapshot(session))


def _start(studio_config_window):
    """What `protein-studio` does at start: the window with the demo, then the offer of autosaved work."""
    window = MainWindow()  # open_demo
    window.auto_warm_up = False
    asked = []
    window.projects.offer_recovery(ask=lambda text: asked.append(text) or True)
    studio_config_window.append(window)
    return window, asked


@pytest.fixture
def started(qapp, dispose, monkeypatch, tmp_path):
    monkeypatch.setenv("PROTEIN_STUDIO_CONFIG_DIR", str(tmp_path / "config"))
    made: list = []
    yield made
    for window in made:
        window.jobs.cancel_jobs()
        window.projects.close()
        dispose(window)


@pytest.mark.parametrize("kind", list(DAMAGED))
def test_a_damaged_autosave_is_set_aside_with_a_message_and_the_window_starts_on_the_demo(started, tmp_path, kind):
    folder = recovery_dir()
    folder.mkdir(parents=True, exist_ok=True)
    session = Session()
    session.open(load_document([DATA / "1ubq.pdb"]))
    session.set_residue(3, "A")
    path = save_project(folder / f"autosave-{DEAD_PID}.psproj", snapshot(session))
    con = sqlite3.connect(path, isolation_level=None)
    con.executescript(DAMAGED[kind])
    con.close()
    window, asked = _start(started)
    assert asked == []  # nothing usable to offer
    assert window.session.document.name == "P62593"  # the demo
    notes = [e for e in window.activity.entries() if "set aside" in e]
    assert len(notes) == 1 and "autosave" in notes[0]
    assert not path.exists() and len(list((folder / "set-aside").iterdir())) == 1  # kept for a person to look at
    again, asked = _start(started)  # and it is not in the way at the next start
    assert asked == [] and not [e for e in again.activity.entries() if "set aside" in e]


def test_an_honest_autosave_beside_a_damaged_one_is_still_offered(started, autosave):
    damaged = autosave.with_name(f"autosave-{DEAD_PID - 1}.psproj")
    damaged.write_bytes(b"SQLite format 3\x00" + b"\xff" * 200)
    window, asked = _start(started)
    assert len(asked) == 1 and "1ubq chain A" in asked[0]
    assert window.session.states[-1].document.sequence[3] == "A"  # restored beside the demo
    assert any("set aside" in e for e in window.activity.entries())


def test_a_crash_marker_nested_deep_or_naming_nothing_is_set_aside(started):
    folder = recovery_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"autosave-{DEAD_PID}.json").write_text("[" * 100000 + "]" * 100000)
    (folder / f"autosave-{DEAD_PID - 2}.json").write_text('{"project": 5}')
    window, asked = _start(started)
    assert asked == [] and window.session.document.name == "P62593"
    assert len([e for e in window.activity.entries() if "set aside" in e]) == 2


def test_a_settings_file_nested_100000_deep_is_set_aside_and_the_command_line_still_works(started, capsys):
    settings = config_dir() / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text("[" * 100000 + "]" * 100000)
    assert main(["info", str(DATA / "1ubq.pdb")]) == 0  # a command that needs no setting is not stopped
    assert "1ubq" in capsys.readouterr().out
    window, _asked = _start(started)
    assert "nested too deeply" in window.settings_notice and window.session.document.name == "P62593"
    assert not settings.exists()  # moved aside; the defaults are used


def test_a_window_ini_that_is_a_pipe_does_not_block_the_start(tmp_path):
    """In a child process (a blocked start would hang it, not the suite): the window starts, says so, and
    the pipe is moved aside."""
    config = tmp_path / "config"
    config.mkdir()
    os.mkfifo(config / "window.ini")
    script = textwrap.dedent("""
        import os
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] = "--no-sandbox"
        from protein_studio.gui.application import _application
        app = _application()
        from protein_studio.gui.main_window import MainWindow
        window = MainWindow()
        print("started:", window.session.document.name, "|", window.settings_notice, flush=True)
        window.projects.close()
        os._exit(0)
    """)
    env = dict(os.environ, PYTHONPATH=str(REPO), PROTEIN_STUDIO_CONFIG_DIR=str(config))
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    line = next(x for x in done.stdout.splitlines() if x.startswith("started:"))
    assert "P62593" in line and "named pipe" in line and "moved to" in line
    assert not (config / "window.ini").exists() or (config / "window.ini").is_file()


def test_another_process_writing_the_open_project_is_merged_into_the_window(studio, qtbot, tmp_path):
    session = Session()
    session.open(load_document([DATA / "1ubq.pdb"]))
    path = save_project(tmp_path / "shared.psproj", snapshot(session))
    window = studio
    assert window.projects.open_project(path)
    window.edits.mutate(5, "W")  # the window's own unsaved change
    # a batch job adds a scan of another protein and a result on ubiquitin (another process does the same)
    other = Session()
    other.open(load_document([DATA / "2qmt.pdb"]))
    other.begin_scan("random-esm2-tiny", "wt-marginals")
    other.finish_scan(np.zeros((len(other.document), 20)))
    note = DocumentState(session.document)
    note.results.append({"kind": "note", "name": "from the batch job", "data": {}, "arrays": {}, "provenance": {}})
    merge_into(path, [other.state, note])
    qtbot.waitUntil(lambda: len(window.session.states) == 2, timeout=10000)  # noticed, without asking
    assert [s.document.name for s in window.session.states] == ["1ubq chain A", "2qmt chain A"]
    assert [r["name"] for r in window.session.states[0].results] == ["from the batch job"]
    assert any("Another program wrote to the project" in e for e in window.activity.entries())
    assert window.session.states[0].document.sequence[5] == "W"  # the window's own edit is kept
    assert window.projects.flush()
    saved = load_project(path)
    assert [s.document.name for s in saved.states] == ["1ubq chain A", "2qmt chain A"]
    assert saved.states[0].document.sequence[5] == "W" and saved.states[1].scans
