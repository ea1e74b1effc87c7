"""The window's project: File > New/Open/Save Project, autosave a few seconds after each change, recovery
after a crash, and the question before closing.

The project lives in :mod:`protein_studio.core.storage.project` (an SQLite file); this module only decides when
to write it and asks the user. Autosave takes a snapshot of the session on the GUI thread (arrays are
copied, nothing is serialised there) and hands it to :class:`~protein_studio.core.storage.autosave.Autosaver`,
whose thread writes it: into the project's file when it has one, else into this process's recovery file.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QMessageBox

from protein_studio.core.storage.autosave import Autosaver, mark_open_project, recovery_path, scan_recovery, set_aside
from protein_studio.core.files import printable
from protein_studio.core.storage.project import (PROJECT_SUFFIX, ProjectError, ProjectSnapshot, copy_snapshot,
                                                 load_project, merge_states, project_revision, save_project, snapshot,
                                                 write_project)
from protein_studio.gui.background import Cancelled, run_with_progress
from protein_studio.gui.file_dialogs import open_file, save_file
from protein_studio.gui.menus import add_action

__all__ = ["ProjectController", "AUTOSAVE_DELAY_MS", "PROJECT_FILTER"]

#: How long after a change autosave writes (changes in between are written together) ...
AUTOSAVE_DELAY_MS = 250
#: ... and how long at most while changes keep coming.
AUTOSAVE_MAX_DELAY_S = 5.0
PROJECT_FILTER = f"Protein Studio project (*{PROJECT_SUFFIX})"


class ProjectController(QObject):
    """Owns the window's project file, autosave and recovery.

    Signals
    -------
    saved(str)
        A save (explicit or autosave) was written to this path.
    saveFailed(str)
        A save failed with this message (the previous file is intact).
    """

    saved = Signal(str, object)
    saveFailed = Signal(str)

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.session = window.session
        #: the project's file; None until the work is saved as a project (autosave then goes to recovery)
        self.path: Path | None = None
        self.dirty = False  # changed since the last write was submitted
        self.autosaver = Autosaver(on_saved=lambda path, report: self.saved.emit(str(path), report),
                                   on_error=lambda path, message: self.saveFailed.emit(message))
        # another program (a `--project` batch job, another window) writing the project file is noticed
        from PySide6.QtCore import QFileSystemWatcher

        self.watcher = QFileSystemWatcher(self)
        self.watcher.fileChanged.connect(self._file_changed)
        self._check_timer = QTimer(self, singleShot=True, interval=300, timeout=self.check_disk)
        self.timer = QTimer(self, singleShot=True, interval=AUTOSAVE_DELAY_MS, timeout=self.autosave_now)
        self._dirty_since: float | None = None
        self.session.modified.connect(self._changed)
        self.saved.connect(self._on_saved)
        self.saveFailed.connect(self._on_failed)
        self._closed = False

    # menu ------------------------------------------------------------------------------------
    def add_file_actions(self, menu) -> None:
        """File menu entries: New, Open, Save and Save As Project."""
        w = self.window
        entries = [
            ("&New Project", self.new_project, None, "Close every document and start an empty project"),
            ("Open &Project\u2026", self.open_project_dialog, QKeySequence("Ctrl+Shift+O"),
             "Open a .psproj project: its documents, scans, variants, notes, predictions and settings"),
            ("Save P&roject", self.save_project, QKeySequence.Save,
             "Save every document and result in the project file (autosave keeps it up to date afterwards)"),
            ("Save Project &As\u2026", self.save_project_as_dialog, QKeySequence.SaveAs,
             "Save the project under a new name"),
        ]
        self.actions = {}
        for text, slot, shortcut, tip in entries:
            self.actions[text.replace("&", "").rstrip("\u2026")] = add_action(w, menu, text, slot, shortcut, tip)

    # saving ----------------------------------------------------------------------------------
    @property
    def target(self) -> Path:
        """Where autosave writes: the project's file, or this process's recovery file."""
        return self.path if self.path is not None else recovery_path()

    def _changed(self) -> None:
        import time

        if self._closed:
            return
        now = time.monotonic()
        if not self.dirty:
            self._dirty_since = now
        self.dirty = True
        if self._dirty_since is not None and now - self._dirty_since > AUTOSAVE_MAX_DELAY_S:
            self.autosave_now()  # changes keep coming: write what there is now
        else:
            self.timer.start()
        self.window.documents.show_title()

    def autosave_now(self) -> None:
        """Hand the current state to the autosave thread (returns at once)."""
        if self._closed or not self.dirty:
            return
        if self.path is None and not self.has_unsaved_work():
            recovery_path().unlink(missing_ok=True)  # files only opened: nothing to recover
            self.dirty = False
            return
        self.dirty = False
        self._dirty_since = None
        self.window.edits.capture_history()
        self.autosaver.submit(self.target, snapshot(self.session))

    def flush(self, timeout: float = 30.0) -> bool:
        """Write what is pending now and wait for it."""
        self.timer.stop()
        if self.dirty:
            self.autosave_now()
        return self.autosaver.flush(timeout)

    def save_project(self) -> bool:
        """File > Save Project: into its file, or ask for one."""
        if self.path is None:
            return self.save_project_as_dialog()
        return self.save_as(self.path)

    def save_project_as_dialog(self) -> bool:
        path, _ = save_file(self.window, "export", "Save project", f"{self._default_name()}{PROJECT_SUFFIX}",
                            PROJECT_FILTER)
        if not path:
            return False
        if not path.endswith(PROJECT_SUFFIX):
            path += PROJECT_SUFFIX
        return self.save_as(Path(path))

    def save_as(self, path: str | Path) -> bool:
        """Save the whole project to ``path`` now (on this thread, after pending autosaves) and keep
        autosaving into it; a failure is shown and nothing else changes."""
        path = Path(path)
        self.timer.stop()
        self.autosaver.flush()
        try:
            if path.exists() and self.path != path:
                path.unlink()  # a new project replaces an older file of that name (the dialog asked)
            self.window.edits.capture_history()
            project = snapshot(self.session)
            known = self.autosaver.known(path) if self.path == path else None
            report = write_project(path, project, known_revision=known[0] if known else None,
                                   base=known[1] if known else None, wait=5.0)
        except (ProjectError, OSError) as exc:
            self.window.show_error("Cannot save the project", str(exc))
            return False
        self.autosaver.track(path, report.revision, ProjectSnapshot(report.states, project.active))
        if report.theirs:
            self._merge_theirs(report)
        previous = self.path
        self._set_path(path)
        self.dirty = False
        if previous is None:
            recovery_path().unlink(missing_ok=True)  # the work is in the project now
        self.window.activity.add_entry(f"Saved the project to {path}")
        self.window.documents.show_title()
        return True

    def _set_path(self, path: Path | None) -> None:
        """The project's file: autosaved into, named by this process's crash marker, first in Open Recent,
        watched for another program's writes."""
        if self.watcher.files():
            self.watcher.removePaths(self.watcher.files())
        self.path = path
        mark_open_project(path)
        if path is not None:
            self.window.documents.remember([path])
            self.watcher.addPath(str(path))

    # another writer ----------------------------------------------------------------------------
    def _file_changed(self, _path: str) -> None:
        if self.path is not None and str(self.path) not in self.watcher.files() and self.path.exists():
            self.watcher.addPath(str(self.path))  # some writers replace the file: keep watching the name
        self._check_timer.start()  # a burst of changes is looked at once

    def check_disk(self) -> bool:
        """When another program has written the project file since this window last read or wrote it, merge
        what it added into the open documents (nothing of this window's is lost: the next autosave writes
        both). True when something was merged."""
        if self._closed or self.path is None or self.autosaver.busy:
            return False  # a save of this window's is under way: it merges what it finds itself
        known = self.autosaver.known(self.path)
        path = self.path
        try:
            if known is not None and project_revision(path) == known[0]:
                return False
            # read on a thread: the window keeps drawing (a progress dialog with Cancel for a large project)
            disk = run_with_progress(self.window, f"Reading {path.name}, changed on disk", lambda: load_project(path))
        except Cancelled:
            return False
        except ProjectError as exc:
            self.window.activity.add_entry(f"The project file changed on disk and cannot be read now: {exc}",
                                           error=True)
            return False
        if self._closed or self.path != path:
            return False  # the project was closed or another opened while it was read
        from protein_studio.core.storage.project import SaveReport

        self.autosaver.track(self.path, disk.revision, copy_snapshot(disk))
        self._merge_theirs(SaveReport(self.path, disk.revision, disk.states, base=known[1].states if known else ()))
        self.dirty = True
        self.timer.start()
        return True

    def _merge_theirs(self, report) -> None:
        """Another program's additions to the project file (``report.theirs``, judged against
        ``report.base``) join the open documents."""
        before = {id(s): (len(s.scans), len(s.variants), len(s.results)) for s in self.session.states}
        merged, notes = merge_states(list(self.session.states), list(report.theirs), base=list(report.base))
        added = [s.document.name for s in merged if id(s) not in before]
        grown = [s.document.name for s in merged if id(s) in before
                 and before[id(s)] != (len(s.scans), len(s.variants), len(s.results))]
        if not added and not grown:
            return
        self.session.adopt(merged)
        what = "; ".join(filter(None, [f"new documents: {', '.join(added)}" if added else "",
                                       f"new results in: {', '.join(grown)}" if grown else ""]))
        message = f"Another program wrote to the project {self.path.name if self.path else ''}; its work was merged in ({what})"
        self.window.activity.add_entry(message)
        for note in notes:
            self.window.activity.add_entry(note)
        self.window.statusBar().showMessage(message, 10000)

    def _default_name(self) -> str:
        doc = self.session.document
        return "project" if doc is None else "".join(c if c.isalnum() or c in "-_." else "_" for c in doc.name)

    # opening ---------------------------------------------------------------------------------
    def open_project_dialog(self) -> bool:
        path = open_file(self.window, "project", "Open project", PROJECT_FILTER)
        return self.open_project(path) if path else False

    def open_project(self, path: str | Path, ask: bool = True) -> bool:
        """Open a project instead of the documents now open (asks first when they hold unsaved work);
        a bad file is a message and nothing open changes."""
        path = Path(path)
        try:  # on a thread: a project with large structures must not freeze the window
            project = run_with_progress(self.window, f"Opening project {printable(path.name)}",
                                        lambda: load_project(path, roll_back=True))
        except Cancelled:
            self.window.activity.add_entry(f"Opening project {printable(path.name)} cancelled")
            return False
        except ProjectError as exc:
            self.window.show_error("Cannot open the project", str(exc))
            return False
        if ask and not self.may_discard():
            return False
        self._replace(project.states, project.active)
        self._set_path(path)
        self.autosaver.track(path, project.revision, copy_snapshot(project))
        self.dirty = False
        recovery_path().unlink(missing_ok=True)
        self.window.activity.add_entry(f"Opened project {path.name}: {len(project.states)} documents")
        self.window.documents.show_title()
        return True

    def new_project(self, ask: bool = True) -> bool:
        """File > New Project: close every document (asks first when they hold unsaved work)."""
        if ask and not self.may_discard():
            return False
        self._replace([], 0)
        self._set_path(None)
        self.dirty = False
        recovery_path().unlink(missing_ok=True)
        self.window.documents.show_title()
        return True

    def _replace(self, states, active: int) -> None:
        self.window.scans.forget_jobs()
        self.timer.stop()
        self.autosaver.flush()
        self.session.replace_states(states, active)

    # recovery --------------------------------------------------------------------------------
    def offer_recovery(self, ask=None) -> bool:
        """At start: when an earlier Protein Studio ended without closing, offer its autosaved work.

        ``ask(text) -> bool`` replaces the question (tests). Returns True when work was restored.
        """
        found, set_aside_notes = scan_recovery()
        for note in set_aside_notes:  # damaged autosaves never stop the start: they are moved out of the way
            self.window.activity.add_entry(note, error=True)
            self.window.statusBar().showMessage(note, 15000)
        if not found:
            return False
        newest = found[0]
        older = [r for r in found[1:] if not r.project]
        text = (f"Protein Studio did not close normally. Restore the work it autosaved?\n\n{newest.description}"
                + (f"\n\n({len(older)} older autosaves are kept in {older[0].path.parent})" if older else ""))
        if ask is None:
            answer = QMessageBox.question(self.window, "Restore autosaved work?", text,
                                          QMessageBox.Yes | QMessageBox.No, QMessageBox.Yes)
            restore = answer == QMessageBox.Yes
        else:
            restore = ask(text)
        if not restore:
            if newest.project:
                newest.forget()  # the project file stays as it is; it is offered no more
            return False
        if newest.project:  # the project autosaved into its own file: open it as it was
            opened = self.open_project(newest.path, ask=False)
            if opened:
                newest.forget()
                self.window.activity.add_entry(f"Restored {newest.description}")
            return opened
        try:
            project = load_project(newest.path, roll_back=True)
        except ProjectError as exc:
            where = set_aside(newest.path)
            self.window.show_error("Cannot restore the autosaved work",
                                   f"{exc}\n\nIt was set aside" + (f" as {where}" if where else "") + ".")
            return False
        for state in project.states:  # added to what is open (the demo, or files given on the command line)
            self.session.open(state)
        try:
            self.window.edits.capture_history()
            save_project(recovery_path(), snapshot(self.session))  # ours now, before the old one goes
        except ProjectError as exc:
            self.window.show_error("Cannot keep the restored work", str(exc))
            return True
        newest.path.unlink(missing_ok=True)
        self.window.activity.add_entry(f"Restored {newest.description}")
        return True

    # closing ---------------------------------------------------------------------------------
    def has_unsaved_work(self) -> bool:
        """Work that is in no project file: edits, scans, variants or results of documents in a project
        that was never saved."""
        if self.path is not None:
            return False
        return any(state.has_work for state in self.session.states)

    def may_discard(self) -> bool:
        """Before the open documents go (new/open project, closing the window): True when nothing would be
        lost (a project file holds it, or the user saved or discarded it)."""
        self.flush()
        if not self.has_unsaved_work():
            return True
        answer = self.window.ask_save_changes()
        if answer == QMessageBox.Save:
            return self.save_project_as_dialog()
        return answer == QMessageBox.Discard

    def close(self) -> None:
        """The window closes (after :meth:`may_discard`): write what is pending; a never-saved project's
        recovery file goes (the user was asked)."""
        self.flush()
        self._closed = True
        self.timer.stop()
        self.autosaver.close()
        mark_open_project(None)  # closed normally: nothing to offer at the next start
        if self.path is None:
            recovery_path().unlink(missing_ok=True)

    # feedback --------------------------------------------------------------------------------
    def _on_saved(self, path: str, report=None) -> None:
        self.window.statusBar().showMessage(f"Autosaved to {path}", 3000)
        if report is not None and report.theirs and self.path is not None and Path(path) == self.path:
            self._merge_theirs(report)

    def _on_failed(self, message: str) -> None:
        self.window.activity.add_entry(f"Autosave failed: {message}")
        self.window.statusBar().showMessage(f"Autosave failed: {message}", 10000)

    @property
    def title(self) -> str:
        """``"design.psproj"`` or ``"unsaved project"``."""
        return self.path.name if self.path is not None else "unsaved project"
