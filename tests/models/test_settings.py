"""User settings file (core/settings.py): defaults, round trip, atomic writes, clear errors."""

from __future__ import annotations

import json
import os

import pytest

from protein_studio.core.errors import UserError
from protein_studio.core.storage.settings import Settings, load_settings, save_settings, settings_path


@pytest.fixture
def config(tmp_path, monkeypatch):
    monkeypatch.setenv("PROTEIN_STUDIO_CONFIG_DIR", str(tmp_path / "cfg"))
    return tmp_path / "cfg"


def test_defaults_when_no_file(config):
    assert settings_path() == config / "settings.json"
    assert load_settings() == Settings()
    assert not config.exists()


def test_round_trip_keeps_unknown_keys(config):
    config.mkdir()
    (config / "settings.json").write_text(json.dumps({"device": "cpu", "window": {"w": 800}}))
    settings = load_settings()
    assert settings.device == "cpu" and settings.extra == {"window": {"w": 800}}
    settings.weights_dir = "/data/weights"
    settings.scoring_model = "esm1v_t33_650M_UR90S_1"
    save_settings(settings)
    again = load_settings()
    assert again == settings
    assert json.loads(settings_path().read_text())["window"] == {"w": 800}
    assert [p.name for p in config.iterdir()] == ["settings.json"]  # no temporary file left


def test_failed_write_keeps_the_old_file(config, monkeypatch):
    save_settings(Settings(device="cpu"))
    before = settings_path().read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(UserError, match="cannot write .*settings.json: disk full"):
        save_settings(Settings(device="cuda"))
    assert settings_path().read_bytes() == before
    assert [p.name for p in config.iterdir()] == ["settings.json"]


@pytest.mark.parametrize("text, message", [
    ("{not json", "cannot read"),
    ("[1, 2]", "JSON object"),
    ('{"device": "tpu"}', "device must be one of"),
    ('{"weights_dir": 3}', "weights_dir"),
])
def test_bad_files_give_one_clear_line(config, text, message):
    config.mkdir()
    settings_path().write_text(text)
    with pytest.raises(UserError, match=message) as info:
        load_settings()
    assert str(settings_path()) in str(info.value)
