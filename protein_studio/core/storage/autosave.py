"""Autosave on a background thread, and recovery files for projects that were never saved.

The window hands :class:`Autosaver` a :class:`~protein_studio.core.storage.project.ProjectSnapshot` shortly
after each change; one thread writes the newest one (older ones still waiting are skipped) with
:func:`~protein_studio.core.storage.project.save_project`, so the GUI thread never waits for the disk. A project
that has a file is saved into it, and a marker ``<config dir>/recovery/autosave-<pid>.json`` names that file
while it is open; one that has none goes to a recovery file ``<config dir>/recovery/autosave-<pid>.psproj``.
A normal exit removes both; after a crash or ``kill -9`` the next start finds them (their process is gone)
and offers the autosaved work: the recovery file, or the project file the marker names.

A recovery file or marker that cannot be used (damaged, hostile, from a newer version) never stops the window
from starting: :func:`scan_recovery` moves it into ``recovery/set-aside/`` and says so.

Writes into a project file go through :func:`~protein_studio.core.storage.project.write_project` with the
revision this writer last wrote or read (:meth:`Autosaver.track`): when another process wrote the file in
between, its additions are merged into what is written and handed back to the window (``on_saved``'s report).
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from protein_studio.core.storage.project import (ProjectError, ProjectSnapshot, SaveReport, project_summary,
                                                 write_project)

__all__ = ["Autosaver", "RecoveryFile", "recovery_dir", "recovery_path", "marker_path", "mark_open_project",
           "find_recovery_files", "scan_recovery", "set_aside", "MAX_MARKER_BYTES"]

#: Largest marker file read (a marker holds one path).
MAX_MARKER_BYTES = 64 * 1024

RECOVERY_PREFIX = "autosave-"


def recovery_dir() -> Path:
    """Where recovery files live: ``<config dir>/recovery``."""
    from protein_studio.core.storage.settings import config_dir

    return config_dir() / "recovery"


def recovery_path(pid: int | None = None) -> Path:
    """This process's recovery file."""
    return recovery_dir() / f"{RECOVERY_PREFIX}{os.getpid() if pid is None else pid}.psproj"


def marker_path(pid: int | None = None) -> Path:
    """This process's marker of the project file it has open."""
    return recovery_dir() / f"{RECOVERY_PREFIX}{os.getpid() if pid is None else pid}.json"


def mark_open_project(path: Path | None) -> None:
    """Name the project file this process autosaves into (None: it has none open); a crash leaves the marker."""
    marker = marker_path()
    if path is None:
        marker.unlink(missing_ok=True)
        return
    from protein_studio.core.files import write_text_atomically

    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomically(marker, json.dumps({"project": str(Path(path).resolve()), "pid": os.getpid()}))
    except Exception:  # noqa: BLE001 - a marker that cannot be written only means no offer after a crash
        pass


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class RecoveryFile:
    """Work autosaved by a Protein Studio that did not close normally: a recovery file of a project that had
    no file, or (``project``) the project file it autosaved into; ``marker`` is what to remove once it is
    dealt with."""

    path: Path
    modified: float
    documents: list
    project: bool = False
    marker: Path | None = None

    @property
    def description(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.modified))
        names = ", ".join(self.documents[:4]) + (", ..." if len(self.documents) > 4 else "")
        where = f" in the project {self.path.name}" if self.project else ""
        return (f"{len(self.documents)} document{'s' if len(self.documents) != 1 else ''} autosaved{where} {when}: "
                f"{names}")

    def forget(self) -> None:
        """Remove the recovery file (never a project file) or the marker."""
        (self.marker or self.path).unlink(missing_ok=True)


def set_aside(path: Path) -> Path | None:
    """Move an unusable recovery file or marker into ``recovery/set-aside/`` (kept for a person to look at,
    never offered again); where it went, or None when it could not be moved (then it is removed)."""
    folder = recovery_dir() / "set-aside"
    target = folder / f"{path.name}.{time.strftime('%Y%m%d-%H%M%S')}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
        return target
    except OSError:
        try:
            path.unlink()
        except OSError:
            pass
        return None


def _marker_project(marker: Path) -> Path:
    """The project file a marker names (ValueError when the marker is not one)."""
    from protein_studio.core.files import describe_path

    if describe_path(marker) is not None or marker.stat().st_size > MAX_MARKER_BYTES:
        raise ValueError("not a small regular file")
    data = json.loads(marker.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("project"), str):
        raise ValueError("names no project")
    return Path(data["project"])


def scan_recovery() -> tuple[list[RecoveryFile], list[str]]:
    """Recovery files and projects whose Protein Studio is no longer running, newest first, and one line for
    each recovery file or marker that could not be used and was set aside (:func:`set_aside`)."""
    folder = recovery_dir()
    found: list[RecoveryFile] = []
    notes: list[str] = []
    if not folder.is_dir():
        return found, notes

    def aside(path: Path, why: str) -> None:
        where = set_aside(path)
        notes.append(f"An autosave that cannot be used was set aside ({why})"
                     + (f": it is kept as {where}" if where else ": it could not be moved and was removed"))

    for path in folder.glob(f"{RECOVERY_PREFIX}*.psproj"):
        try:
            pid = int(path.stem[len(RECOVERY_PREFIX):])
        except ValueError:
            continue
        if _alive(pid):
            continue
        try:
            summary = project_summary(path)
            documents = [str(d["name"]) for d in summary["documents"]]
        except ProjectError as exc:
            aside(path, exc.reason)
            continue
        except Exception as exc:  # noqa: BLE001 - whatever is wrong with it, the window starts
            aside(path, f"{type(exc).__name__}: {exc}")
            continue
        if documents:
            found.append(RecoveryFile(path, path.stat().st_mtime, documents))
    for marker in folder.glob(f"{RECOVERY_PREFIX}*.json"):
        try:
            pid = int(marker.stem[len(RECOVERY_PREFIX):])
        except ValueError:
            continue
        if _alive(pid):
            continue
        try:
            project = _marker_project(marker)
        except (ValueError, OSError, RecursionError) as exc:
            aside(marker, f"a crash marker that names no project: {exc}")
            continue
        try:
            summary = project_summary(project)
            documents = [str(d["name"]) for d in summary["documents"]]
        except Exception:  # noqa: BLE001 - the project is gone or unreadable: nothing to offer (it says why when opened)
            marker.unlink(missing_ok=True)
            continue
        found.append(RecoveryFile(project, project.stat().st_mtime, documents, project=True, marker=marker))
    return sorted(found, key=lambda r: r.modified, reverse=True), notes


def find_recovery_files() -> list[RecoveryFile]:
    """:func:`scan_recovery`'s recovery files (unusable ones are set aside)."""
    return scan_recovery()[0]


class Autosaver:
    """Writes the newest submitted snapshot on a background thread.

    Parameters
    ----------
    on_saved : callable(Path, SaveReport), optional
        Called on the writer thread after each save, with what :func:`write_project` did (its ``theirs``:
        another process's work merged in).
    on_error : callable(Path, str), optional
        Called on the writer thread with the message when a save fails (the previous file stays).
    """

    def __init__(self, on_saved: Callable[[Path, SaveReport], None] | None = None,
                 on_error: Callable[[Path, str], None] | None = None, wait: float = 30.0):
        self._on_saved = on_saved
        self._on_error = on_error
        self._wait = wait
        self._lock = threading.Condition()
        self._pending: tuple[Path, ProjectSnapshot] | None = None
        self._busy = False
        self._closed = False
        self._known: dict[Path, tuple[int, ProjectSnapshot]] = {}
        self.saves = 0
        self.last_error: str | None = None
        self._thread = threading.Thread(target=self._run, name="protein-studio-autosave", daemon=True)
        self._thread.start()

    def track(self, path: str | Path, revision: int, base: ProjectSnapshot) -> None:
        """The file ``path`` is at ``revision`` holding ``base`` (just opened or saved): later saves into it
        merge in what another process writes after that."""
        with self._lock:
            self._known[Path(path)] = (int(revision), base)

    def known(self, path: str | Path) -> tuple[int, ProjectSnapshot] | None:
        """``(revision, snapshot)`` this writer last read or wrote for ``path``."""
        with self._lock:
            return self._known.get(Path(path))

    @property
    def busy(self) -> bool:
        """A save is waiting or being written."""
        with self._lock:
            return self._busy or self._pending is not None

    def submit(self, path: str | Path, project: ProjectSnapshot) -> None:
        """Save ``project`` to ``path`` soon; a newer submission replaces one not yet written."""
        with self._lock:
            if self._closed:
                return
            self._pending = (Path(path), project)
            self._lock.notify_all()

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything submitted is written; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._pending is not None or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
        return True

    def close(self, timeout: float = 30.0) -> bool:
        """Write what is pending, then stop the thread."""
        done = self.flush(timeout)
        with self._lock:
            self._closed = True
            self._lock.notify_all()
        self._thread.join(timeout)
        return done

    def _run(self) -> None:
        while True:
            with self._lock:
                while self._pending is None and not self._closed:
                    self._lock.wait()
                if self._pending is None:
                    return
                path, project = self._pending
                self._pending = None
                self._busy = True
                known = self._known.get(path)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                report = write_project(path, project, known_revision=known[0] if known else None,
                                       base=known[1] if known else None, wait=self._wait)
            except (ProjectError, OSError) as exc:
                self.last_error = str(exc)
                if self._on_error is not None:
                    self._on_error(path, str(exc))
                with self._lock:
                    self._busy = False
                    self._lock.notify_all()
                continue
            written = ProjectSnapshot(report.states, project.active, project.meta)
            with self._lock:
                self._known[path] = (report.revision, written)
            self.saves += 1
            self.last_error = None
            try:
                if self._on_saved is not None:
                    self._on_saved(path, report)
            finally:
                with self._lock:
                    self._busy = False
                    self._lock.notify_all()
