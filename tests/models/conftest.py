"""Fixtures for the model tests: a private weights folder for each test."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def weights_dir(tmp_path, monkeypatch) -> Path:
    """An empty weights folder used by every weights function for this test."""
    folder = tmp_path / "weights"
    monkeypatch.setenv("PROTEIN_STUDIO_WEIGHTS_DIR", str(folder))
    return folder

