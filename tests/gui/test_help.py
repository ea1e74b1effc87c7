"""Help: F1 opens the manual (its pages load, search finds them), the shortcuts list holds every shortcut,
and every menu action says what it does (issue 14)."""

from __future__ import annotations

from PySide6.QtCore import Qt, QUrl
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox

from protein_studio.gui.dialogs.help_window import ShortcutsDialog, manual_pages, menu_shortcuts


def _all_actions(window):
    out = []

    def walk(menu, path):
        for action in menu.actions():
            if action.isSeparator():
                continue
            if action.menu() is not None:
                walk(action.menu(), path + [action.text()])
            else:
                out.append((" > ".join(path + [action.text()]), action))

    for top in window.menuBar().actions():
        if top.menu() is not None:
            top.menu().aboutToShow.emit()  # menus filled when shown (Models) are filled
            walk(top.menu(), [top.text()])
    return out


def _plain(text: str) -> str:
    return text.replace("&", "").replace("\u2026", "").replace("...", "").strip()


def _own_tooltip(action) -> bool:
    """A tooltip set for the action (Qt's default is the action's text without '&' and '...')."""
    return bool(action.toolTip()) and _plain(action.toolTip()) != _plain(action.text())


def test_f1_opens_the_manual_and_its_pages_load_and_search(studio, qtbot):
    studio.activateWindow()
    QTest.keyClick(studio, Qt.Key_F1)
    manual = studio.help.help_window
    assert manual is not None and manual.isVisible()
    pages = manual_pages()
    assert len(pages) >= 8 and list(pages)[0] == "index.html"
    for row in range(manual.list.count()):
        manual.list.setCurrentRow(row)
        name = manual.list.item(row).data(Qt.UserRole)
        assert manual.current == name and len(manual.browser.toPlainText()) > 200
    assert manual.find("log-probability ratio") == ["scanning.html"]
    assert "not a \u0394\u0394G" in manual.browser.toPlainText()
    assert set(manual.find("")) == set(pages)
    manual.show_page("index.html")
    manual._link(QUrl("models.html"))  # a link in a page
    assert manual.current == "models.html"
    manual.close()


def test_every_menu_action_says_what_it_does_and_every_shortcut_is_listed(studio, menu):
    actions = _all_actions(studio)
    assert len(actions) > 40
    silent = [path for path, action in actions if not (action.statusTip() or _own_tooltip(action))]
    assert silent == []
    menu(studio, "Help", "Keyboard Shortcuts").trigger()
    dialog = studio.findChild(ShortcutsDialog)
    listed = {(row[1], row[2]) for row in dialog.rows}
    with_shortcut = [(a.text().replace("&", ""), a.shortcut().toString()) for _, a in actions
                     if not a.shortcut().isEmpty()]
    assert with_shortcut and set(with_shortcut) <= listed
    assert ("User Manual", "F1") in listed and dialog.table.rowCount() == len(menu_shortcuts(studio))
    dialog.done(0)
    menu(studio, "Help", "About Protein Studio").trigger()
    about = next(box for box in studio.findChildren(QMessageBox) if box.windowTitle() == "About Protein Studio")
    assert "Model weights:" in about.text()
    about.done(0)
