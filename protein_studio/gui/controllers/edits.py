"""Edits of the sequence: the Edit menu (Undo, Redo, Paste Sequence, Select All/None, Revert to Wild Type,
heatmap zoom), point mutations from the editor and the heatmap, and each document's undo history.

Every edit goes through an undo command (:mod:`protein_studio.gui.commands`) onto the shown document's own
:class:`~PySide6.QtGui.QUndoStack`; the histories are kept as plain data in the project.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QKeySequence, QUndoGroup, QUndoStack
from PySide6.QtWidgets import QApplication

from protein_studio.core.errors import UserError
from protein_studio.core.molecules.sequences import AMINO_ACIDS
from protein_studio.gui.commands import ReplaceSequenceCommand, SetResidueCommand, history_steps, rebuild_history
from protein_studio.gui.menus import add_action

__all__ = ["EditController"]


class EditController(QObject):
    """Edits and undo histories (``window.edits``)."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.session = window.session
        self.undo_group = QUndoGroup(self)  # one QUndoStack per document; the active document's is active
        self._stacks: dict[int, QUndoStack] = {}
        self.session.documents_changed.connect(self._on_documents_changed)
        window.editor.mutationRequested.connect(self.mutate)
        window.editor.pasteRequested.connect(self.paste_sequence)
        window.heatmap.mutationActivated.connect(self._heatmap_activated)

    def add_edit_actions(self, menu) -> None:
        w = self.window
        self.undo_action = undo = self.undo_group.createUndoAction(w, "&Undo")  # its text names the step
        undo.setShortcut(QKeySequence.Undo)
        undo.setStatusTip("Undo the last change of the shown document (mutations, pastes, chain or record changes, "
                          "scans and assays removed or renamed)")
        self.redo_action = redo = self.undo_group.createRedoAction(w, "&Redo")
        redo.setShortcut(QKeySequence.Redo)
        redo.setStatusTip("Redo the edit undone last")
        menu.addAction(undo)
        menu.addAction(redo)
        menu.addSeparator()
        add_action(w, menu, "&Paste Sequence or FASTA", self.paste_clipboard, "Ctrl+Shift+V",
                   "Replace the sequence (same length: as mutations) with the clipboard's sequence or FASTA")
        menu.addSeparator()
        add_action(w, menu, "Select &All", self.select_all, QKeySequence.SelectAll, "Select every position")
        add_action(w, menu, "Select &None", lambda: w.mediator.clear(source=None), "Ctrl+Shift+A",
                   "Clear the selection in every view")
        add_action(w, menu, "Revert to &Wild Type", self.revert_all, None,
                   "Undo every mutation of the shown document (undoable)")
        menu.addSeparator()
        add_action(w, menu, "Zoom Heatmap &In", w.heatmap.zoom_in, QKeySequence.ZoomIn, "Wider heatmap cells")
        add_action(w, menu, "Zoom Heatmap &Out", w.heatmap.zoom_out, QKeySequence.ZoomOut, "Narrower heatmap cells")

    # undo histories ----------------------------------------------------------------------------
    @property
    def undo_stack(self) -> QUndoStack:
        """The undo history of the document shown (each document keeps its own)."""
        state = self.session.state
        key = id(state)
        stack = self._stacks.get(key)
        if stack is None:
            stack = QUndoStack(self)
            self.undo_group.addStack(stack)
            self._stacks[key] = stack
            if state is not None and state.undo:  # a history saved in the project
                try:
                    rebuild_history(stack, self.session, state.undo, state.undo_index)
                except (UserError, IndexError, ValueError) as exc:
                    stack.clear()
                    self.window.activity.add_entry(f"The saved undo history of {state.document.name} was not "
                                                   f"restored: {exc}")
        if self.undo_group.activeStack() is not stack:
            self.undo_group.setActiveStack(stack)
        return stack

    def capture_history(self) -> None:
        """Copy each document's undo history into its state as plain data (before the project is written)."""
        for state in self.session.states:
            stack = self._stacks.get(id(state))
            if stack is not None:
                state.undo, state.undo_index = history_steps(stack)

    def _on_documents_changed(self) -> None:
        live = {id(state) for state in self.session.states}
        for key in [k for k in self._stacks if k not in live]:
            stack = self._stacks.pop(key)
            self.undo_group.removeStack(stack)
            stack.deleteLater()
        if self.session.document is not None:
            self.undo_stack  # noqa: B018 - makes the document's own history the active one

    # edits -------------------------------------------------------------------------------------
    def mutate(self, index: int, residue: str) -> bool:
        """Make a point mutation (undoable); False with a message when refused."""
        doc = self.session.document
        if doc is None:
            return False
        if len(residue) != 1 or residue.upper() not in AMINO_ACIDS:
            self.window.statusBar().showMessage(f"'{residue}' is not one of the 20 amino acids", 5000)
            return False
        if doc.sequence[index] == residue.upper():
            return False
        self.undo_stack.push(SetResidueCommand(self.session, index, residue.upper()))
        return True

    def paste_sequence(self, text: str) -> bool:
        """Replace the sequence with pasted letters or FASTA text (undoable); a message when refused."""
        try:
            command = ReplaceSequenceCommand(self.session, text)
            command.redo()
        except UserError as exc:
            self.window.show_error("Cannot paste", str(exc))
            return False
        self.undo_stack.push(command)  # push calls redo again: it restores the state it made
        return True

    def paste_clipboard(self) -> None:
        text = QApplication.clipboard().text()
        if text.strip():
            self.paste_sequence(text)
        else:
            self.window.statusBar().showMessage("The clipboard holds no text", 5000)

    def revert_all(self) -> None:
        doc = self.session.document
        if doc is None:
            return
        self.undo_stack.beginMacro("revert to wild type")
        for i in doc.mutated_indices():
            self.undo_stack.push(SetResidueCommand(self.session, i, doc.wild_type[i]))
        self.undo_stack.endMacro()

    def apply_mutations(self, name: str, mutations) -> None:
        """Apply the mutations (1-based sequence positions) of a variant as one undoable step."""
        self.undo_stack.beginMacro(f"apply {name}")
        for m in mutations:
            self.undo_stack.push(SetResidueCommand(self.session, m.position - 1, m.mt))
        self.undo_stack.endMacro()

    def select_all(self) -> None:
        if self.session.document is not None:
            self.window.mediator.select(range(len(self.session.document)), source=None)

    def _heatmap_activated(self, index: int, residue: str) -> None:
        if QApplication.keyboardModifiers() & Qt.ShiftModifier:
            self.window.variants.add_variant_at(index, residue)
        else:
            self.mutate(index, residue)
