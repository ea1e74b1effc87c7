"""Choosing a model in a dialog: every model of a task, random-weight ones in red, those whose weights are
not on disk in grey and marked, so a job that cannot load its model is never started from a chooser."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QComboBox

__all__ = ["RANDOM_COLOR", "MISSING_COLOR", "NOT_ON_DISK", "model_choices", "fill_model_combo"]


#: Text colour of random-weight models in the pickers.
RANDOM_COLOR = "#b00020"


#: Text colour of models whose weights are not on disk.
MISSING_COLOR = "#777777"


#: How a chooser marks a model whose weights are not on disk.
NOT_ON_DISK = "  (not on disk)"


def model_choices(task: str, family: str | None = None) -> list[tuple[str, str, bool, bool]]:
    """``(name, label, is_random, on_disk)`` of every model for ``task`` (and of ``family`` when given; random
    ones labelled RANDOM WEIGHTS, the ones not on disk marked so)."""
    from protein_studio.models.catalog import all_models
    from protein_studio.models.weights import is_on_disk

    out = []
    for spec in all_models(task=task):
        if family is not None and spec.family != family:
            continue
        on_disk = is_on_disk(spec)
        out.append((spec.name, spec.display_name + ("" if on_disk else NOT_ON_DISK), spec.is_random, on_disk))
    return out


def fill_model_combo(combo: QComboBox, task: str, family: str | None = None) -> None:
    """Put the models for ``task`` in ``combo`` (data: the name): random-weight ones in red, those not on
    disk in grey and marked. The choice is kept when it is still there; otherwise the first model on disk."""
    previous = combo.currentData()
    combo.blockSignals(True)
    combo.clear()
    first_on_disk = None
    for name, label, is_random, on_disk in model_choices(task, family):
        combo.addItem(label, name)
        row = combo.count() - 1
        if is_random:
            combo.setItemData(row, QColor(RANDOM_COLOR), Qt.ForegroundRole)
        elif not on_disk:
            combo.setItemData(row, QColor(MISSING_COLOR), Qt.ForegroundRole)
            combo.setItemData(row, "Not on disk: download or import it in Models \u25b8 Manage Models", Qt.ToolTipRole)
        if on_disk and first_on_disk is None:
            first_on_disk = row
    kept = combo.findData(previous) if previous is not None else -1
    combo.setCurrentIndex(kept if kept >= 0 else (first_on_disk if first_on_disk is not None else 0))
    combo.blockSignals(False)
    combo.currentIndexChanged.emit(combo.currentIndex())
