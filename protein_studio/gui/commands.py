"""Undo commands: every edit of the sequence goes through one of these onto the window's QUndoStack."""

from __future__ import annotations

from PySide6.QtGui import QUndoCommand

from protein_studio.core.session import Session

__all__ = ["SetResidueCommand", "ReplaceSequenceCommand", "ReplaceDocumentCommand"]


class SetResidueCommand(QUndoCommand):
    """Put ``residue`` at 0-based ``index`` (a point mutation, or a reversion to the wild type)."""

    def __init__(self, session: Session, index: int, residue: str):
        doc = session.document
        old = doc.sequence[index]
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
