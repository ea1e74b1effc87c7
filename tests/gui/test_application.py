"""Start-up environment: Qt's platform and Chromium's flags must be right before the QApplication exists."""

from __future__ import annotations

import os

from protein_studio.gui.application import prepare_environment


def test_no_display_means_offscreen_and_chromium_flags_are_added(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.setenv("QTWEBENGINE_CHROMIUM_FLAGS", "--enable-logging")
    prepare_environment()
    assert os.environ["QT_QPA_PLATFORM"] == "offscreen"
    flags = os.environ["QTWEBENGINE_CHROMIUM_FLAGS"].split()
    assert flags[0] == "--enable-logging" and "--ignore-gpu-blocklist" in flags
    assert ("--no-sandbox" in flags) == (os.geteuid() == 0)
    prepare_environment()  # idempotent: no flag twice
    assert len(os.environ["QTWEBENGINE_CHROMIUM_FLAGS"].split()) == len(flags)


def test_a_display_or_an_explicit_platform_is_respected(monkeypatch):
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.setenv("QTWEBENGINE_CHROMIUM_FLAGS", "")
    prepare_environment()
    assert "QT_QPA_PLATFORM" not in os.environ
    monkeypatch.delenv("DISPLAY")
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.delenv("QTWEBENGINE_FORCE_USE_GBM", raising=False)
    prepare_environment()
    assert os.environ["QT_QPA_PLATFORM"] == "xcb"
    assert os.environ["QTWEBENGINE_FORCE_USE_GBM"] == "0"  # or Xvfb grabs of the web view are blank
