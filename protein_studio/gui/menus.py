"""Menu actions made one way everywhere: text, slot, shortcut and a status tip on each."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence

__all__ = ["add_action"]


def add_action(parent, menu, text: str, slot, shortcut=None, tip: str = "", checkable: bool = False) -> QAction:
    """An action ``text`` in ``menu`` (owned by ``parent``) that calls ``slot``; its ``triggered`` flag is not
    passed on (a slot with a default argument would take it for its own)."""
    action = QAction(text, parent, checkable=checkable)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    if tip:
        action.setStatusTip(tip)
        action.setToolTip(tip)
    action.triggered.connect(lambda _checked=False: slot())
    menu.addAction(action)
    return action
