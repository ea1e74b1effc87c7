"""Help: the user manual (F1, searchable), the keyboard shortcuts of every menu, and About (versions,
licences, the models and where their weights are)."""

from __future__ import annotations

import html
import platform
from importlib import metadata

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QMessageBox

from protein_studio import __version__
from protein_studio.gui.menus import add_action

__all__ = ["HelpController", "LIBRARY_LICENCES"]

#: Libraries shown in Help > About with the licence they are distributed under.
LIBRARY_LICENCES = (
    ("PySide6 (Qt for Python)", "PySide6", "LGPL-3.0"),
    ("PyTorch", "torch", "BSD-3-Clause"),
    ("fair-esm", "fair-esm", "MIT"),
    ("transformers", "transformers", "Apache-2.0"),
    ("biotite", "biotite", "BSD-3-Clause"),
    ("NumPy", "numpy", "BSD-3-Clause"),
    ("SciPy", "scipy", "BSD-3-Clause"),
    ("matplotlib", "matplotlib", "PSF-based (matplotlib licence)"),
    ("py3Dmol", "py3Dmol", "MIT"),
    ("3Dmol.js", None, "BSD-3-Clause"),
)


def _version(distribution: str | None) -> str:
    if distribution is None:
        return "bundled"
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


class HelpController(QObject):
    """The Help menu (``window.help``)."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.help_window = None

    def add_help_actions(self, menu) -> None:
        w = self.window
        self.manual_action = add_action(w, menu, "&User Manual", self.show_manual, "F1",
                                        "The manual: opening proteins, numbering, what a score means, models ...")
        add_action(w, menu, "&Keyboard Shortcuts", self.show_shortcuts, None, "Every keyboard shortcut of the menus")
        add_action(w, menu, "&About Protein Studio", self.show_about, None,
                   "Versions, licences and the folder the model weights are in")

    def show_manual(self, search: str = ""):
        """Help > User Manual (F1), searched for ``search`` when given."""
        from protein_studio.gui.dialogs.help_window import HelpWindow

        if self.help_window is None:
            self.help_window = HelpWindow(self.window)
        if search:
            self.help_window.search.setText(search)
        self.help_window.show()
        self.help_window.raise_()
        return self.help_window

    def show_shortcuts(self):
        """Help > Keyboard Shortcuts."""
        from protein_studio.gui.dialogs.help_window import ShortcutsDialog

        dialog = ShortcutsDialog(self.window)
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def show_about(self) -> QMessageBox:
        from protein_studio.gui.controllers.models import scoring_specs
        from protein_studio.models.locations import weights_dir

        rows = "".join(f"<tr><td>{name}</td><td>{_version(dist)}</td><td>{licence}</td></tr>"
                       for name, dist, licence in LIBRARY_LICENCES)
        try:
            specs = scoring_specs()
        except Exception:  # noqa: BLE001 - About shows what it can
            specs = []
        models = "".join(f"<tr><td>{s.display_name}</td><td>{s.license}</td></tr>" for s in specs)
        text = (f"<h3>Protein Studio {__version__}</h3>"
                f"<p>Python {platform.python_version()} on {platform.system()} {platform.machine()}</p>"
                f"<p><b>Libraries</b></p><table>{rows}</table>"
                f"<p><b>Models</b> (weights are downloaded separately under these licences)</p>"
                f"<table>{models}</table>"
                f"<p>Model weights: {html.escape(str(weights_dir()))}</p>")
        box = QMessageBox(QMessageBox.Information, "About Protein Studio", text, QMessageBox.Ok, self.window)
        box.setTextFormat(Qt.RichText)
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.open()
        return box
