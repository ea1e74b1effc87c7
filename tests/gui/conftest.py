"""Helpers shared by the window tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from contextlib import contextmanager
from pathlib import Path

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


def settle_window(window, qtbot, timeout: int = 30000) -> None:
    """Bring a module's shared window back to rest: jobs cancelled and finished, no message box, no error."""
    window.jobs.cancel_jobs()
    qtbot.waitUntil(lambda: not window.worker.busy, timeout=timeout)
    if window.message_box is not None:
        window.message_box.done(0)
    window.last_error = None


@pytest.fixture(scope="session")
def settle():
    """:func:`settle_window`, for tests that share a module-scoped window."""
    return settle_window


@pytest.fixture
def studio(qapp, dispose, settle, qtbot, tmp_path, monkeypatch):
    """A fresh main window with no document, shown, with a configuration folder of its own (no layout,
    recent files or dialog folders of earlier tests); afterwards its jobs are settled, its project closed
    and it is disposed."""
    from protein_studio.gui.main_window import MainWindow

    monkeypatch.setenv("PROTEIN_STUDIO_CONFIG_DIR", str(tmp_path / "studio-config"))

    window = MainWindow(open_demo=False)
    window.auto_warm_up = False
    window.show()
    yield window
    settle(window, qtbot, 60000)
    window.projects.close()
    dispose(window)


def menu_action(window, menu_title: str, text: str):
    """The action ``menu_title > text`` of ``window``'s menu bar, in the menu itself or one of its submenus
    (``&`` and a trailing ellipsis ignored)."""
    def plain(label: str) -> str:
        return label.replace("&", "").rstrip("\u2026")

    def find(menu):
        menu.aboutToShow.emit()  # menus are filled (and enabled) when shown
        for action in menu.actions():
            if action.menu() is None and plain(action.text()) == text:
                return action
        for action in menu.actions():
            if action.menu() is not None:
                found = find(action.menu())
                if found is not None:
                    return found
        return None

    for top in window.menuBar().actions():
        if top.menu() is not None and plain(top.text()) == menu_title:
            found = find(top.menu())
            if found is not None:
                return found
    raise AssertionError(f"no {menu_title} > {text}")


@pytest.fixture(scope="session")
def menu():
    """:func:`menu_action`: ``menu(window, "File", "Open").trigger()`` is what a click on it does."""
    return menu_action


@contextmanager
def reopened_project(path, monkeypatch):
    """A second, fresh window that opens the project ``path`` through File > Open (as a user picks it);
    afterwards its jobs are cancelled, its project closed and it is disposed."""
    from PySide6.QtWidgets import QFileDialog

    from protein_studio.gui.main_window import MainWindow

    second = MainWindow(open_demo=False)
    second.auto_warm_up = False
    second.show()
    try:
        monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *a, **k: ([str(path)], ""))
        monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
        menu_action(second, "File", "Open").trigger()
        assert second.projects.path == path
        yield second
    finally:
        second.jobs.cancel_jobs()
        second.projects.close()
        dispose_widget(second)


@pytest.fixture(scope="session")
def reopen():
    """:func:`reopened_project`: ``with reopen(path, monkeypatch) as second: ...``."""
    return reopened_project


@contextmanager
def killed_window(tmp_path, files, body: str):
    """A real window in a child process opens ``files`` and runs ``body`` (Python lines with ``window`` and
    ``app`` in scope); once it prints ``ready`` the child is yielded, and afterwards killed with SIGKILL."""
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent("""
        import os, sys, time
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] = "--no-sandbox"
        from protein_studio.gui.application import _application
        app = _application()
        from protein_studio.gui.main_window import MainWindow
        window = MainWindow(files={files!r})
        window.auto_warm_up = False
    """).format(files=[str(f) for f in files]) + textwrap.dedent(body) + 'print("ready", flush=True)\ntime.sleep(600)\n')
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    child = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert child.stdout.readline().strip() == "ready"
        yield child
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()


@pytest.fixture(scope="session")
def kill_window():
    """:func:`killed_window`."""
    return killed_window


@pytest.fixture
def blat300(tmp_path):
    """The first 300 rows of the TEM-1 DMS (Stiffler et al. 2015) at 2500 ug/mL ampicillin."""
    data = Path(__file__).resolve().parents[1] / "data"
    lines = (data / "BLAT_ECOLX_Ranganathan2015_2500.csv").read_text(encoding="utf-8-sig").splitlines()
    path = tmp_path / "blat300.csv"
    path.write_text("\n".join(lines[:301]) + "\n")
    return path
