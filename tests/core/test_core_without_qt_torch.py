"""The Qt-free, torch-free layers import with PySide6, torch, esm and transformers made unimportable.

Every module under ``protein_studio.core`` and ``protein_studio.jobs`` is discovered with :mod:`pkgutil`,
so modules added later are covered without touching this test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BLOCKED = ("PySide6", "shiboken6", "torch", "esm", "transformers")

SCRIPT = r"""
import importlib
import importlib.abc
import json
import pkgutil
import sys

BLOCKED = set(sys.argv[1:])


class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ImportError(f"{name} is blocked: core and jobs must not import it")
        return None


already = sorted(m for m in sys.modules if m.partition(".")[0] in BLOCKED)
sys.meta_path.insert(0, Blocker())

blocker_works = True
try:
    import torch  # noqa: F401
    blocker_works = False
except ImportError:
    pass

import protein_studio.core
import protein_studio.jobs

imported = []
for package in (protein_studio.core, protein_studio.jobs):
    imported.append(package.__name__)
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(info.name)
        imported.append(info.name)

leaked = sorted(m for m in sys.modules if m.partition(".")[0] in BLOCKED)
print(json.dumps({"already": already, "blocker_works": blocker_works, "imported": imported,
                  "leaked": leaked}))
"""


def test_core_and_jobs_import_without_qt_and_torch():
    result = subprocess.run([sys.executable, "-c", SCRIPT, *BLOCKED], cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, f"importing core/jobs failed with Qt and torch blocked:\n{result.stderr}"
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["already"] == [], "blocked packages were loaded before the test could block them"
    assert report["blocker_works"]
    assert report["leaked"] == []
    imported = set(report["imported"])
    expected = {path.stem for path in (REPO / "protein_studio" / "core").glob("*.py")} - {"__init__"}
    assert {f"protein_studio.core.{name}" for name in expected} <= imported
    assert "protein_studio.core.job_context" in imported
