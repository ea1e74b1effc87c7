"""The Linux bundle made by `make installer`, unpacked into a temporary folder and run with a clean
environment (no Python, no virtual environment, no source tree on any path): `info` on a structure and a
`--screenshot` of the window on its bundled demo. Run by `make installer-test` (it sets
PROTEIN_STUDIO_BUNDLE); the default suite skips it."""

from __future__ import annotations

import os
import subprocess
import tarfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BUNDLE = os.environ.get("PROTEIN_STUDIO_BUNDLE")
DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    if not BUNDLE or not Path(BUNDLE).is_file():
        pytest.skip("no bundle: run `make installer-test`")
    folder = tmp_path_factory.mktemp("unpacked")
    with tarfile.open(BUNDLE) as archive:
        archive.extractall(folder, filter="data")
    executable = folder / "protein-studio" / "protein-studio"
    assert executable.is_file() and os.access(executable, os.X_OK)
    return executable


def _clean_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "QT_QPA_PLATFORM": "offscreen",
            "HF_HUB_OFFLINE": "1", "PROTEIN_STUDIO_CONFIG_DIR": str(tmp_path / "config")}


def test_the_bundle_reads_a_structure_offline(bundle, tmp_path):
    structure = tmp_path / "1ubq.pdb"
    structure.write_bytes((DATA / "1ubq.pdb").read_bytes())  # outside the source tree
    result = subprocess.run([str(bundle), "info", str(structure)], env=_clean_env(tmp_path), cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "1 protein chain" in result.stdout and "76 residues" in result.stdout


def test_the_bundle_opens_its_demo_and_takes_a_screenshot(bundle, tmp_path):
    shot = tmp_path / "studio.png"
    result = subprocess.run([str(bundle), "--screenshot", str(shot)], env=_clean_env(tmp_path), cwd=tmp_path,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert shot.is_file() and shot.stat().st_size > 20_000
    assert shot.read_bytes()[:4] == b"\x89PNG"


def test_the_bundle_designs_with_the_proteinmpnn_weights_it_carries(bundle, tmp_path):
    structure = tmp_path / "1ubq.pdb"
    structure.write_bytes((DATA / "1ubq.pdb").read_bytes())
    out = tmp_path / "designs.fasta"
    result = subprocess.run([str(bundle), "design", str(structure), "--n", "2", "--out", str(out)],
                            env=_clean_env(tmp_path), cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert out.read_text().count(">design_") == 2
