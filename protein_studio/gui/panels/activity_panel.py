"""Jobs and activity: each job with its progress and time left, a Cancel button, and a log of what
happened (finished, cancelled, warnings, errors). An error entry expands to its details (traceback);
double-clicking it opens them in a message box.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QMessageBox, QProgressBar, QPushButton, QSizePolicy,
                               QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from protein_studio.gui.worker import format_eta

__all__ = ["ActivityPanel"]


class ActivityPanel(QWidget):
    """Current job's progress bar and Cancel, above a log tree (newest last).

    Signals
    -------
    cancelRequested()
    """

    cancelRequested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.label = QLabel("Idle")
        # a long job title is cut, not given room: the window must never grow wider to show it
        self.label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.bar.setFormat("")
        self.bar.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.log = QTreeWidget()
        self.log.setHeaderLabels(["Time", "Activity"])
        self.log.setColumnWidth(0, 90)
        self.log.setRootIsDecorated(True)
        row = QHBoxLayout()
        row.addWidget(self.label, 2)
        row.addWidget(self.bar, 3)
        row.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(row)
        layout.addWidget(self.log, 1)
        self.cancel_button.clicked.connect(self.cancelRequested)
        self.log.itemDoubleClicked.connect(self._show_details)
        self._running: dict[int, str] = {}

    # jobs ------------------------------------------------------------------------------------
    def job_started(self, job_id: int, title: str) -> None:
        self._running[job_id] = title
        self.label.setText(title)
        self.label.setToolTip(title)
        self.bar.setRange(0, 0)  # busy until the first progress report
        self.cancel_button.setEnabled(True)
        self.add_entry(f"Started: {title}")

    def job_progress(self, job_id: int, done: float, total: float, text: str, eta: float) -> None:
        if job_id not in self._running:  # a cancelled job's last report, arriving after it was ended
            return
        title = self._running.get(job_id, "")
        if total > 0:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(1000 * done / total))
            self.bar.setFormat(f"{done:.0f}/{total:.0f}  {format_eta(eta)}".strip())
        self.label.setText(f"{title}: {text}" if text and title else (text or title))

    def job_ended(self, job_id: int, outcome: str, details: str = "", error: bool = False) -> QTreeWidgetItem:
        """Log how the job ended; the bar resets when no job is left."""
        title = self._running.pop(job_id, "job")
        item = self.add_entry(f"{outcome}: {title}", details=details, error=error)
        if not self._running:
            self.bar.setRange(0, 1)
            self.bar.setValue(0)
            self.bar.setFormat("")
            self.label.setText("Idle")
            self.cancel_button.setEnabled(False)
        return item

    # log -------------------------------------------------------------------------------------
    def add_entry(self, text: str, details: str = "", error: bool = False) -> QTreeWidgetItem:
        """Append a log line; ``details`` become an expandable child (and a message box on double-click)."""
        item = QTreeWidgetItem([time.strftime("%H:%M:%S"), text])
        if error:
            item.setForeground(1, Qt.red)
        if details:
            child = QTreeWidgetItem(["", details])
            child.setToolTip(1, details)
            item.addChild(child)
            item.setData(1, Qt.UserRole, details)
        self.log.addTopLevelItem(item)
        self.log.scrollToItem(item)
        return item

    def entries(self) -> list[str]:
        return [self.log.topLevelItem(i).text(1) for i in range(self.log.topLevelItemCount())]

    def _show_details(self, item: QTreeWidgetItem, _column: int) -> None:
        details = item.data(1, Qt.UserRole) or (item.parent().data(1, Qt.UserRole) if item.parent() else None)
        if not details:
            return
        box = QMessageBox(QMessageBox.Critical if "Failed" in item.text(1) else QMessageBox.Information,
                          "Details", item.text(1) if item.parent() is None else item.parent().text(1),
                          QMessageBox.Ok, self)
        box.setDetailedText(details)
        box.open()
