"""Undo commands: every edit of the sequence goes through one of these onto the window's QUndoStack."""

from __future__ import annotations

from PySide6.QtGui import QUndoCommand

from protein_studio.core.documents.session import Session

__all__ = ["SetResidueCommand", "EditsCommand", "ReplaceSequenceCommand", "ReplaceDocumentCommand", "RemoveScanCommand",
           "RemoveResultCommand", "RenameResultCommand", "history_steps", "rebuild_history"]


class SetResidueCommand(QUndoCommand):
    """Put ``residue`` at 0-based ``index`` (a point mutation, or a reversion to the wild type).

    ``old`` is the letter undo puts back (default: the one there now; given when a saved history is rebuilt
    over a sequence that already has the edit)."""

    def __init__(self, session: Session, index: int, residue: str, old: str | None = None):
        doc = session.document
        old = doc.sequence[index] if old is None else old
        super().__init__(f"{old}{doc.label(index)}{residue}")
        self.session = session
        self.index = index
        self.residue = residue
        self.old = old

    def redo(self) -> None:
        self.session.set_residue(self.index, self.residue)

    def undo(self) -> None:
        self.session.set_residue(self.index, self.old)


class _SnapshotCommand(QUndoCommand):
    """A change of the whole document state: redo makes it once, then restores the state it made; undo
    restores the state before."""

    def __init__(self, session: Session, text: str, change):
        super().__init__(text)
        self.session = session
        self.change = change
        self.before = session.snapshot()
        self.after = None

    def redo(self) -> None:
        if self.after is None:
            self.change()
            self.after = self.session.snapshot()
        else:
            self.session.restore(self.after)

    def undo(self) -> None:
        self.session.restore(self.before)


class ReplaceSequenceCommand(_SnapshotCommand):
    """Paste a sequence (see :meth:`Session.replace_sequence`); undo restores the document, scan and variants."""

    def __init__(self, session: Session, text: str):
        super().__init__(session, "paste sequence", lambda: session.replace_sequence(text))
        self.text = text


class ReplaceDocumentCommand(_SnapshotCommand):
    """Show another chain or record of the same files in place of the document (see
    :meth:`Session.replace_document`); undo brings back the document with its scan, variants and scores."""

    def __init__(self, session: Session, document, text: str):
        super().__init__(session, text, lambda: session.replace_document(document))
        self.document = document


class _ResultCommand(QUndoCommand):
    """A change of the document's results (a scan or an assay removed or renamed), undoable like an edit but no
    edit of the sequence: a saved undo history passes over it (:func:`history_steps`)."""

    transparent = True


class RemoveScanCommand(_ResultCommand):
    """Remove scan ``index`` of the active document; undo puts it back where it was (and shows it)."""

    def __init__(self, session: Session, index: int):
        scan = session.state.scans[index]
        super().__init__(f"remove scan {scan.label}")
        self.session = session
        self.index = index
        self.scan = scan
        self.was_shown = session.state.active_scan == index

    def redo(self) -> None:
        self.session.remove_scan(self.index)

    def undo(self) -> None:
        self.session.insert_scan(self.index, self.scan, show=self.was_shown)


class RemoveResultCommand(_ResultCommand):
    """Remove a result record (an assay, a fit ...) of the active document; undo puts it back."""

    def __init__(self, session: Session, record: dict, text: str, on_change=None):
        super().__init__(text)
        self.session = session
        self.state = session.state
        self.record = record
        self.index = self.state.results.index(record)
        self.on_change = on_change

    def redo(self) -> None:
        self.state.results.remove(self.record)
        self._changed()

    def undo(self) -> None:
        self.state.results.insert(self.index, self.record)
        self._changed()

    def _changed(self) -> None:
        self.session.modified.emit()
        if self.on_change is not None:
            self.on_change()


class RenameResultCommand(_ResultCommand):
    """Rename a result record of the active document; undo gives its name back. A renamed assay stays the one
    its fits learned from (their provenance follows the name)."""

    def __init__(self, session: Session, record: dict, name: str, on_change=None):
        super().__init__(f"rename {record['name']} to {name}")
        self.session = session
        self.state = session.state
        self.record = record
        self.old, self.new = record["name"], name
        self.on_change = on_change

    def redo(self) -> None:
        self._set(self.new)

    def undo(self) -> None:
        self._set(self.old)

    def _set(self, name: str) -> None:
        before = self.record["name"]
        self.record["name"] = name
        if self.record.get("kind") == "measurements":
            self.record["data"]["name"] = name
            for fit in self.state.results:
                if fit["kind"] == "fit" and fit.get("provenance", {}).get("measured") == before:
                    fit["provenance"]["measured"] = name
        self.session.modified.emit()
        if self.on_change is not None:
            self.on_change()


class EditsCommand(QUndoCommand):
    """Several residue edits as one step (a saved applied variant or reversion): ``edits`` are
    ``(index, old, new)``; redo puts every ``new``, undo every ``old`` back, in reverse order.

    One command with a list rather than a macro of child commands: QUndoCommand is no QObject, so a child
    made with ``parent=`` would be owned by Python and by its macro alike."""

    def __init__(self, session: Session, edits, text: str | None = None):
        super().__init__(text or f"{len(edits)} edits")
        self.session = session
        self.edits = [(int(i), old, new) for i, old, new in edits]

    def redo(self) -> None:
        for index, _old, new in self.edits:
            self.session.set_residue(index, new)

    def undo(self) -> None:
        for index, old, _new in reversed(self.edits):
            self.session.set_residue(index, old)


def _edits(command: QUndoCommand) -> list | None:
    """A command's residue edits ``[[index, old, new], ...]``; None for one that is not only edits."""
    if isinstance(command, SetResidueCommand):
        return [[command.index, command.old, command.residue]]
    if isinstance(command, EditsCommand):
        return [list(edit) for edit in command.edits]
    if command.childCount() == 0:
        return None
    edits = []
    for k in range(command.childCount()):
        child = _edits(command.child(k))
        if child is None:
            return None
        edits += child
    return edits


def history_steps(stack) -> tuple[list, int]:
    """The undo history of ``stack`` as plain data: ``(steps, index)``, each step a list of residue edits.

    Only point edits can be kept: history before a paste or a change of chain/record (which hold whole
    document states) is dropped, and so are redo steps after one."""
    steps: list = []
    done = stack.index()
    start = 0
    skipped = 0  # done changes of results (scans, assays): their effect is in the saved state, not in the history
    for k in range(stack.count()):
        command = stack.command(k)
        if getattr(command, "transparent", False):
            if k < done:
                skipped += 1
                continue
            break
        edits = _edits(command)
        if edits is None:
            if k < done:
                steps, start, skipped = [], k + 1, 0
                continue
            break
        steps.append(edits)
    return steps, done - start - skipped


def rebuild_history(stack, session: Session, steps: list, index: int) -> None:
    """Put a saved history back on an empty ``stack`` for the active document, whose sequence has the first
    ``index`` steps applied: every step is pushed (the done ones change nothing), then the redo ones are
    undone again."""
    for step in steps:
        if len(step) == 1:
            (position, old, new), = step
            stack.push(SetResidueCommand(session, int(position), new, old=old))
            continue
        stack.push(EditsCommand(session, [(int(position), old, new) for position, old, new in step]))
    stack.setIndex(max(0, min(index, stack.count())))
