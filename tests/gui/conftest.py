"""Helpers shared by the window tests."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QToolTip


def dispose_widget(widget) -> None:
    """Close ``widget`` and really delete it now (web views must not outlive their test)."""
    QToolTip.hideText()  # the tooltip window must not outlive the widget it points at
    widget.close()
    widget.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QCoreApplication.processEvents()


@pytest.fixture(scope="session")
def dispose():
    """:func:`dispose_widget`, for module-scoped window fixtures."""
    return dispose_widget
