"""Undo commands: every edit of the sequence goes through one of these onto the window's QUndoStack."""

from __future__ import annotations

from PySide6.QtGui import QUndoCommand

from protein_studio.core.session import Session

__all__ = ["SetResidueCommand", "ReplaceSequenceCommand"]


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


class ReplaceSequenceCommand(QUndoCommand):
    """Paste a sequence (see :meth:`Session.replace_sequence`); undo restores the document and scan."""

    def __init__(self, session: Session, text: str):
        super().__init__("paste sequence")
        self.session = session
        self.text = text
        self.before = session.snapshot()
        self.after = None

    def redo(self) -> None:
        if self.after is None:
            self.session.replace_sequence(self.text)
            self.after = self.session.snapshot()
        else:
            self.session.restore(self.after)

    def undo(self) -> None:
        self.session.restore(self.before)
