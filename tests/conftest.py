"""Suite-wide test environment: headless Qt, offline hubs, random-weight models, throw-away folders."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

# Must be set before anything imports Qt, torch hub or transformers.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox --ignore-gpu-blocklist "
                      "--force-webrtc-ip-handling-policy=disable_non_proxied_udp")
# One torch thread: the suite shares 2 cores with Qt's renderer threads, and torch's spinning OpenMP
# threads slow down many times over when they outnumber the free cores.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["PROTEIN_STUDIO_RANDOM_MODELS"] = "1"
# ProteinMPNN's trained weights, put in the user's weights folder by `make install` (read before the
# suite points the weights folder at a throw-away one)
from protein_studio.models.locations import weights_dir as _weights_dir  # noqa: E402

_INSTALLED_WEIGHTS = _weights_dir()
_SESSION_TMP = Path(tempfile.mkdtemp(prefix="protein-studio-tests-"))
os.environ["PROTEIN_STUDIO_WEIGHTS_DIR"] = str(_SESSION_TMP / "weights")
os.environ["PROTEIN_STUDIO_CONFIG_DIR"] = str(_SESSION_TMP / "config")
os.environ["TORCH_HOME"] = str(_SESSION_TMP / "torch-home")
os.environ["HF_HOME"] = str(_SESSION_TMP / "hf-home")

import pytest  # noqa: E402

DATA = Path(__file__).parent / "data"


def pytest_sessionfinish(session, exitstatus):
    """The throw-away weights/config/cache folders go with the run."""
    shutil.rmtree(_SESSION_TMP, ignore_errors=True)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """tests/data: small real fixtures (see tests/data/README.md for provenance)."""
    return DATA


@pytest.fixture(scope="session")
def proteinmpnn_weights() -> Path:
    """The trained ProteinMPNN weights `make install` fetched (v48-020, soluble v48-020, CA v48-020), copied
    into the suite's weights folder; the test fails, saying what to run, when they are not installed."""
    from protein_studio.models.locations import weights_dir
    from protein_studio.models.mpnn_weights import INSTALLED_BY_DEFAULT

    target = weights_dir()
    target.mkdir(parents=True, exist_ok=True)
    for name in INSTALLED_BY_DEFAULT:
        source = _INSTALLED_WEIGHTS / f"{name}.pt"
        if not source.is_file():
            pytest.fail(f"ProteinMPNN's trained weights are not installed ({source} is missing): run `make install`")
        shutil.copyfile(source, target / f"{name}.pt")
    return target


@pytest.fixture
def unwritable_folder(tmp_path):
    """A folder this process cannot create files in: a read-only folder, or (as root, who writes anywhere
    the permissions say no) sysfs, which refuses new files to root too."""
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    probe = Path("/sys/protein-studio-probe.csv")
    try:
        probe.write_text("")
    except OSError:
        yield Path("/sys")
    else:
        probe.unlink()
        pytest.skip("no folder here refuses writes to root")
