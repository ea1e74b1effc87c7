"""File dialogs that start where the user last was, for each kind of file.

A kind is what is being opened or saved (``protein``, ``project``, ``export``, ``gene``, ``model``, ...):
opening a structure from a lab share and exporting a table to the desktop do not send each other's dialogs
to the wrong place. The folders are kept with the window layout (``window.ini`` in the configuration
folder); a folder that no longer exists falls back to the home folder.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog

__all__ = ["window_settings", "window_settings_notice", "last_folder", "remember_folder", "open_file", "open_files", "save_file",
           "choose_folder"]


#: Largest window.ini read (it holds a layout, ten recent files and a few folders).
MAX_WINDOW_INI_BYTES = 1024 * 1024
_notice: list[str] = []


def window_settings() -> QSettings:
    """Window layout, recent files and dialog folders: an INI file in the configuration folder. One that is
    not a small regular file (a pipe would block the start, a huge one fill the memory) is moved aside
    first, once; :func:`window_settings_notice` says so."""
    from protein_studio.core.storage.settings import config_dir

    folder = config_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "window.ini"
    _set_aside_if_unusable(path)
    return QSettings(str(path), QSettings.IniFormat)


def _set_aside_if_unusable(path: Path) -> None:
    import os
    import time

    from protein_studio.core.files import describe_path

    problem = describe_path(path)
    if problem == "does not exist":
        return
    if problem is None:
        try:
            if path.stat().st_size <= MAX_WINDOW_INI_BYTES:
                return
        except OSError:
            return
        problem = f"is larger than {MAX_WINDOW_INI_BYTES // 1024} kB"
    aside = path.with_name(f"{path.name}.unusable-{time.strftime('%Y%m%d-%H%M%S')}")
    try:
        os.replace(path, aside)
        _notice.append(f"{path} {problem}: it was moved to {aside}; the window layout starts afresh")
    except OSError as exc:
        _notice.append(f"{path} {problem} and cannot be moved aside ({exc.strerror or exc})")


def window_settings_notice() -> str | None:
    """What :func:`window_settings` set aside since the last call (None: nothing)."""
    text = "; ".join(_notice) or None
    _notice.clear()
    return text


def last_folder(kind: str) -> Path:
    """The folder the last dialog of ``kind`` ended in (the home folder at first)."""
    value = window_settings().value(f"folders/{kind}", "")
    folder = Path(str(value)) if value else None
    return folder if folder is not None and folder.is_dir() else Path.home()


def remember_folder(kind: str, path: str | Path) -> None:
    """Keep the folder of ``path`` (or ``path`` itself when it is a folder) for the next dialog of ``kind``."""
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    settings = window_settings()
    settings.setValue(f"folders/{kind}", str(folder))
    settings.sync()


def open_file(parent, kind: str, title: str, filters: str = "") -> str:
    path, _ = QFileDialog.getOpenFileName(parent, title, str(last_folder(kind)), filters)
    if path:
        remember_folder(kind, path)
    return path


def open_files(parent, kind: str, title: str, filters: str = "") -> list[str]:
    paths, _ = QFileDialog.getOpenFileNames(parent, title, str(last_folder(kind)), filters)
    if paths:
        remember_folder(kind, paths[0])
    return list(paths)


def save_file(parent, kind: str, title: str, name: str, filters: str = "") -> tuple[str, str]:
    """(path, chosen filter) of a save dialog that proposes ``name`` in the last folder of ``kind``."""
    path, chosen = QFileDialog.getSaveFileName(parent, title, str(last_folder(kind) / name), filters)
    if path:
        remember_folder(kind, path)
    return path, chosen


def choose_folder(parent, kind: str, title: str) -> str:
    folder = QFileDialog.getExistingDirectory(parent, title, str(last_folder(kind)))
    if folder:
        remember_folder(kind, folder)
    return folder
