"""Models: the Models menu (the scoring model, the device, Manage Models), the model shown in the status
bar, and the check before a job that its weights are on disk (else the model manager is offered)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMessageBox

from protein_studio.core.errors import UserError

__all__ = ["ModelController", "DEVICES"]

DEVICES = {"auto": "A CUDA GPU, else Apple's MPS, else the CPU", "cpu": "The processor",
           "cuda": "An NVIDIA GPU", "mps": "An Apple GPU"}


def scoring_specs():
    """Every scoring model a user can pick (imports the registry when called, not at start-up)."""
    from protein_studio.models.catalog import all_models

    return all_models(task="scoring")


class ModelController(QObject):
    """The chosen scoring model and device (``window.models``); the user's settings hold both."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.model_manager = None  # Models > Manage Models, made when first opened

    def install_menu(self, menu) -> None:
        self.menu = menu
        menu.aboutToShow.connect(self.fill_models_menu)

    # the choice --------------------------------------------------------------------------------
    @property
    def model_name(self) -> str:
        """The chosen scoring model: the user's settings hold it (written to disk by :meth:`set_model`)."""
        return self.window.user_settings.scoring_model

    @model_name.setter
    def model_name(self, name: str) -> None:
        self.window.user_settings.scoring_model = name
        self.show_model()

    @property
    def device(self) -> str:
        """The chosen device (``auto``, ``cpu``, ``cuda``, ``mps``), held by the user's settings too."""
        return self.window.user_settings.device

    @device.setter
    def device(self, device: str) -> None:
        self.window.user_settings.device = device
        self.show_model()

    def set_model(self, name: str) -> None:
        """Choose the scoring model (remembered); the worker releases the old one on its next job."""
        self.model_name = name
        self._save_choice()

    def set_device(self, device: str) -> None:
        self.device = device
        self._save_choice()
        self.window.worker.release_model()

    def _save_choice(self) -> None:
        from protein_studio.core.storage.settings import save_settings

        try:
            save_settings(self.window.user_settings)
        except (UserError, OSError) as exc:
            self.window.activity.add_entry(f"Could not save settings: {exc}", error=True)

    def choose_default_model(self) -> None:
        """The saved model when its weights are on disk, else the first scoring model that is."""
        from protein_studio.models.weights import is_on_disk

        specs = scoring_specs()
        by_name = {spec.name: spec for spec in specs}
        chosen = by_name.get(self.model_name)
        if chosen is None or not is_on_disk(chosen):
            on_disk = [spec for spec in specs if is_on_disk(spec)]
            if on_disk:
                self.model_name = on_disk[0].name
            elif chosen is None and specs:
                self.model_name = specs[0].name
        self.show_model()

    def show_model(self) -> None:
        """The model and device in the status bar, in red when its weights are random."""
        from protein_studio.models.catalog import get_spec

        label = self.window.model_label
        try:
            text = get_spec(self.model_name).display_name
        except UserError:
            text = self.model_name
        loaded = self.window.worker.loaded_model
        label.setText(f"Model: {text} on {self.device}" + (" (loaded)" if loaded == self.model_name else ""))
        label.setStyleSheet("color: #b00020; font-weight: bold" if "RANDOM" in text else "")

    def fill_models_menu(self) -> None:
        from protein_studio.models.weights import is_on_disk

        menu = self.menu
        menu.clear()
        group = QActionGroup(menu)
        for spec in scoring_specs():
            on_disk = is_on_disk(spec)
            text = spec.display_name + ("" if on_disk else "  (not on disk)")
            action = QAction(text, menu, checkable=True, checked=spec.name == self.model_name)
            action.setToolTip(f"{spec.description} \u2014 licence {spec.license}")
            action.triggered.connect(lambda _=False, n=spec.name: self.set_model(n))
            group.addAction(action)
            menu.addAction(action)
        menu.addSeparator()
        devices = menu.addMenu("&Device")
        device_group = QActionGroup(devices)
        for device, tip in DEVICES.items():
            action = QAction(device, devices, checkable=True, checked=device == self.device)
            action.setStatusTip(tip)
            action.triggered.connect(lambda _=False, d=device: self.set_device(d))
            device_group.addAction(action)
            devices.addAction(action)
        menu.addSeparator()
        manage = menu.addAction("&Manage Models\u2026", lambda: self.open_model_manager())
        manage.setStatusTip("Download, import or remove model weights; see sizes, licences and what each model does")

    # weights -----------------------------------------------------------------------------------
    def open_model_manager(self, select: str | None = None):
        """Models > Manage Models: the model manager window (one per window), ``select`` chosen."""
        from protein_studio.gui.dialogs.model_manager import ModelManager

        w = self.window
        if self.model_manager is None:
            self.model_manager = ModelManager(w)
            self.model_manager.modelsChanged.connect(w.modelsChanged)
            w.modelsChanged.connect(self.choose_default_model)
        self.model_manager.refresh()
        if select:
            self.model_manager.select(select)
        self.model_manager.show()
        self.model_manager.raise_()
        return self.model_manager

    def require_on_disk(self, name: str, what: str) -> bool:
        """True when model ``name`` can be loaded; else say so and offer the model manager (nothing runs)."""
        from protein_studio.models.catalog import get_spec
        from protein_studio.models.weights import is_on_disk

        w = self.window
        try:
            spec = get_spec(name)
        except UserError as exc:
            w.show_error(f"Cannot {what}", str(exc))
            return False
        if is_on_disk(spec):
            return True
        box = QMessageBox(QMessageBox.Information, f"{spec.name} is not on disk",
                          f"The weights of {spec.name} are not on this machine, so it cannot {what}. Download "
                          f"or import them in the model manager.", QMessageBox.Cancel, w)
        manage = box.addButton("Open Model Manager", QMessageBox.AcceptRole)
        box.setDefaultButton(manage)
        box.setAttribute(Qt.WA_DeleteOnClose)
        manage.clicked.connect(lambda: self.open_model_manager(spec.name))
        box.finished.connect(lambda _=0: setattr(w, "message_box", None))
        w.message_box = box
        w.last_error = (f"{spec.name} is not on disk", box.text())
        box.open()
        return False
