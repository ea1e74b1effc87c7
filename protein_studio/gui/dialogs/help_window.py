"""Help ▸ User Manual (F1): the manual's pages (package data: ``resources/help``) with a search box,
and Help ▸ Keyboard Shortcuts: every shortcut of the window's menus."""

from __future__ import annotations

import re
from importlib import resources

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import (QDialog, QHBoxLayout, QHeaderView, QLineEdit, QListWidget, QListWidgetItem,
                               QSplitter, QTableWidget, QTableWidgetItem, QTextBrowser, QVBoxLayout, QWidget)

__all__ = ["HelpWindow", "manual_pages", "menu_shortcuts", "ShortcutsDialog"]


def manual_pages() -> dict[str, str]:
    """file name -> HTML of every page of the manual, contents first."""
    folder = resources.files("protein_studio.resources") / "help"
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".html"))
    names.sort(key=lambda n: n != "index.html")
    return {name: folder.joinpath(name).read_text(encoding="utf-8") for name in names}


def _title(html: str) -> str:
    found = re.search(r"<h1>(.*?)</h1>", html, re.S)
    return re.sub(r"<[^>]+>", "", found.group(1)).strip() if found else ""


def _plain(html: str) -> str:
    document = QTextDocument()
    document.setHtml(html)
    return document.toPlainText()


class HelpWindow(QDialog):
    """The manual: a list of pages (or of the pages a search finds) beside the page shown."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Protein Studio User Manual")
        self.setObjectName("helpWindow")
        self.pages = manual_pages()
        self.texts = {name: _plain(html) for name, html in self.pages.items()}
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search the manual")
        self.search.setToolTip("Pages holding every word typed are listed; the first match is shown")
        self.search.textChanged.connect(self.find)
        self.list = QListWidget()
        self.list.setToolTip("Pages of the manual (or those the search found)")
        self.list.currentItemChanged.connect(lambda item, _old: item is not None and self.show_page(item.data(Qt.UserRole)))
        self.browser = QTextBrowser()
        self.browser.setOpenLinks(False)
        self.browser.anchorClicked.connect(self._link)
        splitter = QSplitter()
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.search)
        left_layout.addWidget(self.list)
        splitter.addWidget(left)
        splitter.addWidget(self.browser)
        splitter.setSizes([240, 660])
        layout = QHBoxLayout(self)
        layout.addWidget(splitter)
        self.current = ""
        self._fill(list(self.pages))
        self.resize(960, 680)

    def _fill(self, names) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for name in names:
            item = QListWidgetItem(_title(self.pages[name]) or name)
            item.setData(Qt.UserRole, name)
            self.list.addItem(item)
        self.list.blockSignals(False)
        if names:
            self.list.setCurrentRow(0)
            self.show_page(names[0])

    def show_page(self, name: str) -> None:
        self.current = name
        self.browser.setHtml(self.pages[name])
        words = self.search.text().split()
        if words:
            self.browser.find(words[0])

    def _link(self, url: QUrl) -> None:
        name = url.fileName() or url.toString()
        if name in self.pages:
            for row in range(self.list.count()):
                if self.list.item(row).data(Qt.UserRole) == name:
                    self.list.setCurrentRow(row)
                    return
            self.show_page(name)

    def find(self, text: str) -> list[str]:
        """List the pages holding every word of ``text`` (all pages for no text); returns their names."""
        words = [w.lower() for w in text.split()]
        found = [name for name, plain in self.texts.items() if all(w in plain.lower() for w in words)]
        self._fill(found)
        return found


def menu_shortcuts(window) -> list[tuple[str, str, str]]:
    """(menu path, action, shortcut) of every action with a shortcut in ``window``'s menus."""
    rows = []

    def walk(menu, path):
        for action in menu.actions():
            if action.menu() is not None:
                walk(action.menu(), path + [action.text().replace("&", "")])
            elif action.shortcut() and not action.shortcut().isEmpty():
                rows.append((" \u25b8 ".join(path), action.text().replace("&", ""),
                             action.shortcut().toString()))

    for top in window.menuBar().actions():
        if top.menu() is not None:
            walk(top.menu(), [top.text().replace("&", "")])
    return rows


class ShortcutsDialog(QDialog):
    """Help ▸ Keyboard Shortcuts: a table of :func:`menu_shortcuts`."""

    def __init__(self, window):
        super().__init__(window)
        self.setWindowTitle("Keyboard Shortcuts")
        self.rows = menu_shortcuts(window)
        table = QTableWidget(len(self.rows), 3, self)
        table.setHorizontalHeaderLabels(["Menu", "Action", "Shortcut"])
        for r, row in enumerate(self.rows):
            for c, value in enumerate(row):
                table.setItem(r, c, QTableWidgetItem(value))
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table = table
        layout = QVBoxLayout(self)
        layout.addWidget(table)
        self.resize(620, 520)
