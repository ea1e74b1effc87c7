"""Fetch 3Dmol.js for the structure viewer from the npm registry (package ``3dmol``).

The file is never committed: it is fetched at set-up with the machine's own ``npm`` client,
checked against the pinned integrity hash, and unpacked into ``resources/web/vendor/`` (git-ignored),
from where the viewer page loads it. Exit status 1 with one clear line when it cannot be fetched.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "3dmol"
VERSION = "2.5.5"
# The registry's published `dist.integrity` for 3dmol@2.5.5 (sha512 of the tarball).
INTEGRITY = "sha512-kqNHouGqq3YfW58174tdERvm0XYTmP0tavQKOqIw1ouc2OJ7epkXEFrtEkVXV0clBZT2Ze2xHRC/qxX0u0qCdw=="
MEMBERS = {"package/build/3Dmol-min.js": "3Dmol-min.js", "package/LICENSE": "3Dmol-LICENSE.txt"}

VENDOR = Path(__file__).resolve().parent.parent / "resources" / "web" / "vendor"


def _integrity_of(path: Path) -> str:
    digest = hashlib.sha512(path.read_bytes()).digest()
    return "sha512-" + base64.b64encode(digest).decode("ascii")


def fetch(dest: Path = VENDOR) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed; install Node.js/npm (e.g. `apt-get install npm`) and run `make` again")
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run(
            [npm, "pack", f"{PACKAGE}@{VERSION}", "--pack-destination", tmp, "--silent"],
            capture_output=True, text=True, cwd=tmp,
        )
        tarballs = list(Path(tmp).glob("*.tgz"))
        if proc.returncode != 0 or not tarballs:
            detail = (proc.stderr.strip().splitlines() or ["no tarball produced"])[-1]
            raise RuntimeError(f"could not fetch {PACKAGE}@{VERSION} from the npm registry: {detail}")
        tarball = tarballs[0]
        got = _integrity_of(tarball)
        if got != INTEGRITY:
            raise RuntimeError(f"{tarball.name}: integrity mismatch (expected {INTEGRITY}, got {got}); refusing to use it")
        dest.mkdir(parents=True, exist_ok=True)
        with tarfile.open(tarball, "r:gz") as tar:
            for member, name in MEMBERS.items():
                extracted = tar.extractfile(member)
                if extracted is None:
                    raise RuntimeError(f"{tarball.name} has no {member}")
                partial = dest / (name + ".partial")
                partial.write_bytes(extracted.read())
                partial.replace(dest / name)
    return dest / "3Dmol-min.js"


def main() -> int:
    try:
        path = fetch()
    except RuntimeError as exc:
        print(f"fetch_3dmol: {exc}", file=sys.stderr)
        return 1
    print(f"3Dmol.js {VERSION} -> {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
