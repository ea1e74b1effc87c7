"""The window always starts: a settings file it cannot use is moved aside with a message; and names from files
are shown as text, never rendered as HTML."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from protein_studio.core.storage.settings import settings_path
from protein_studio.gui.main_window import MainWindow


@pytest.mark.parametrize("content", [b"[]", b"null", b"{", b'{"device": 5}', b'{"scoring_model": ""}',
                                     b"\xff\xfe\x00binary", b'{"weights_dir": 12}', "\u00e9t\u00e9".encode("latin-1")])
def test_every_corrupt_settings_file_is_set_aside_and_the_window_starts(qapp, dispose, content):
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    for old in path.parent.glob("settings.json.unreadable-*"):
        old.unlink()
    path.write_bytes(content)
    window = MainWindow(open_demo=False)
    try:
        assert window.settings_notice and "the default settings are used" in window.settings_notice
        assert any("Settings:" in entry for entry in window.activity.entries())
        assert not path.exists() and len(list(path.parent.glob("settings.json.unreadable-*"))) == 1
        assert window.user_settings.device == "auto"
    finally:
        dispose(window)
        for old in path.parent.glob("settings.json.unreadable-*"):
            old.unlink()


def test_names_holding_html_are_shown_as_text(qapp, dispose, tmp_path):
    fasta = tmp_path / "html.fasta"
    fasta.write_text('>\u003cb\u003ebold\u003c/b\u003e<img src="x"> a record with markup in its name\n'
                     + "MKTAYIAKQRQISFVKSHFSRQ" * 4 + "\n")
    window = MainWindow(files=[fasta])
    try:
        name = window.session.document.name
        assert name.startswith("<b>bold</b>")
        for label in (window.doc_label, window.selection_label, window.numbering_label):
            assert label.textFormat() == Qt.PlainText
        assert name in window.doc_label.text()
        assert "&lt;b&gt;bold&lt;/b&gt;&lt;img" in window.scan_title.text()  # the rich title escapes it
        assert "<img" not in window.scan_title.text()
    finally:
        dispose(window)
