"""Loading Hugging Face models: ESMFold (``EsmForProteinFolding``) and ProtGPT2-style causal protein LMs.

Where the weights of a Hugging Face model are looked for, in this order:

1. an imported snapshot folder ``<weights dir>/huggingface/<name>/`` (``protein-studio models import FOLDER``
   copies a downloaded snapshot there, see :func:`import_hf_snapshot`);
2. the Hugging Face hub cache (``$HF_HUB_CACHE``, by default ``~/.cache/huggingface/hub``), where
   :func:`download_hf_model` or ``huggingface-cli download`` put it.

Nothing is downloaded while loading: a missing model raises :class:`ModelUnavailableError` that names the
model, the folders searched and how to get the weights. ``HF_HUB_OFFLINE=1`` is respected by
:func:`download_hf_model`.

Random-weight models of the real architectures (``random-esmfold-tiny``, ``random-protgpt2-tiny``) are built
locally, seeded by their name so they are identical on every run, and only when
``PROTEIN_STUDIO_RANDOM_MODELS=1``. The tiny ProtGPT2's byte-level BPE tokenizer is trained on the spot with
the ``tokenizers`` library on a few real protein sequences (:data:`TOKENIZER_TRAINING_SEQUENCES`).

torch and transformers are imported inside functions only.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from protein_studio.core.errors import JobCancelled, ModelUnavailableError, UserError
from protein_studio.models.spec import LoadedModel, ModelSpec

__all__ = [
    "EOS_TOKEN",
    "TINY_ESMFOLD_ARCHITECTURE",
    "TINY_PROTGPT2_ARCHITECTURE",
    "TOKENIZER_TRAINING_SEQUENCES",
    "hf_cache_dir",
    "imported_root",
    "imported_dir",
    "hub_cache_folder",
    "find_local_snapshot",
    "not_on_disk_message",
    "detect_hf_family",
    "import_hf_snapshot",
    "verify_snapshot",
    "imported_hf_models",
    "download_hf_model",
    "resolve_hf_spec",
    "load_hf_model",
    "load_esmfold",
    "load_protgpt2",
    "build_random_esmfold",
    "build_random_protgpt2",
    "build_protein_bpe_tokenizer",
    "wrap_residues",
]

#: ProtGPT2's separator and end-of-sequence token (id 0 in its vocabulary).
EOS_TOKEN = "<|endoftext|>"

#: Architecture of ``random-esmfold-tiny`` (a registry entry's ``architecture`` overrides any key).
#: ``esm_*`` keys shape the ESM-2 stem, the rest the folding trunk and structure module.
TINY_ESMFOLD_ARCHITECTURE: dict[str, Any] = {
    "esm_layers": 2, "esm_embed_dim": 32, "esm_heads": 2,
    "trunk_blocks": 1, "sequence_state_dim": 32, "pairwise_state_dim": 16, "head_width": 8,
    "structure_blocks": 2, "ipa_dim": 8, "ipa_heads": 2, "resnet_dim": 16, "lddt_hidden": 16,
    "max_recycles": 1,
}

#: Architecture of ``random-protgpt2-tiny``.
TINY_PROTGPT2_ARCHITECTURE: dict[str, Any] = {
    "n_layer": 2, "n_head": 2, "n_embd": 32, "n_positions": 512, "tokenizer_vocab": 120,
}

#: Real sequences the tiny tokenizer is trained on: ubiquitin (PDB 1UBQ), protein G B1 (PDB 2QMT), TEM-1
#: beta-lactamase (UniProt P62593, protein_studio/resources/demo) and three UniRef50 sequences from fair-esm's
#: examples/data/few_proteins.fasta (MIT), as in tests/data.
TOKENIZER_TRAINING_SEQUENCES: tuple[str, ...] = (
    "MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG",
    "MQYKLILNGKTLKGETTTEAVDAATAEKVFKQYANDNGVDGEWTYDDATKTFTVTE",
    "MSIQHFRVALIPFFAAFCLPVFAHPETLVKVKDAEDQLGARVGYIELDLNSGKILESFRPEERFPMMSTFKVLLCGAVLSRVDAGQEQLGRRIHYSQND"
    "LVEYSPVTEKHLTDGMTVRELCSAAITMSDNTAANLLLTTIGGPKELTAFLHNMGDHVTRLDRWEPELNEAIPNDERDTTMPAAMATTLRKLLTGELLT"
    "LASRQQLIDWMEADKVAGPLLRSALPAGWFIADKSGAGERGSRGIIAALGPDGKPSRIVVIYTTGSQATMDERNRQIAEIGASLIKHW",
    "MPADAREYLESKHATRRFDRPAEVAGVVAFLLSDDTSFVIGAGYLVDGGYTALRAARGRLGPRRQAAPAVKLLPNTDSPR",
    "MGPPRWWKGITGLAAVVHRADPEDKADLYAKMGLYLEYHPETRIVEARIKPRLHDVCESKVSEGGLEPPCP",
    "MKTPEDRVFRATDEYSDFVMACRYKGNEREFVIASHDKLNEAQVETLTSYLSGEWFKKTYITGIMNDSDGVLSQHEEYGDEVFCQPLDELRVDRYIMMV",
)

_FAMILY_TASK = {"esmfold": "folding", "protgpt2": "generation", "saprot": "scoring", "esmc": "scoring"}
#: SaProt's vocabulary: 5 special tokens and 21 x 21 (residue or #, 3Di letter or #) pairs
SAPROT_VOCABULARY_SIZE = 446
_IMPORT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


# ------------------------------------------------------------------------------------------------
# where weights live
# ------------------------------------------------------------------------------------------------
def hf_cache_dir() -> Path:
    """The Hugging Face hub cache folder in use (``$HF_HUB_CACHE``, ``$HF_HOME/hub`` or the default)."""
    from huggingface_hub import constants

    return Path(os.environ.get("HF_HUB_CACHE") or constants.HF_HUB_CACHE)


def imported_root() -> Path:
    """Folder imported snapshots are kept in: ``<weights dir>/huggingface``."""
    from protein_studio.models.weights import weights_dir

    return weights_dir() / "huggingface"


def imported_dir(name: str) -> Path:
    """Folder an imported snapshot of model ``name`` is kept in: ``<weights dir>/huggingface/<name>``."""
    return imported_root() / name


def hub_cache_folder(hub_id: str) -> Path:
    """The hub cache folder of repository ``hub_id`` (``models--<org>--<name>``), whether or not it exists."""
    from huggingface_hub.file_download import repo_folder_name

    return hf_cache_dir() / repo_folder_name(repo_id=hub_id, repo_type="model")


def _has_weights(folder: Path) -> bool:
    return (folder / "config.json").is_file() and any(
        (folder / f).is_file() for f in ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json",
                                         "pytorch_model.bin.index.json"))


def find_local_snapshot(spec: ModelSpec) -> Path | None:
    """The folder holding ``spec``'s config and weights on this machine, or None.

    Looks in the imported folder first, then in the hub cache (only complete snapshots count).
    """
    folder = imported_dir(spec.name)
    if _has_weights(folder):
        return folder
    if spec.hub_id:
        from huggingface_hub import try_to_load_from_cache

        config = try_to_load_from_cache(spec.hub_id, "config.json", cache_dir=hf_cache_dir())
        if isinstance(config, str) and _has_weights(Path(config).parent):
            return Path(config).parent
    return None


def not_on_disk_message(spec: ModelSpec, reason: str | None = None) -> str:
    """One line naming the model, the folders searched and how to get its weights (download or import).

    ``reason`` says why a download failed, when one was tried.
    """
    where = ([str(hub_cache_folder(spec.hub_id))] if spec.hub_id else []) + [str(imported_dir(spec.name))]
    failed = f" and the download failed ({reason})" if reason else ""
    if spec.hub_id:
        elsewhere = (f"on a machine with internet run `huggingface-cli download {spec.hub_id} "
                     f"--local-dir {spec.name}`, copy that folder here and run "
                     f"`protein-studio models import {spec.name}/`")
        offline = " (HF_HUB_OFFLINE is set: nothing can be downloaded)" if _offline() else ""
        how = elsewhere if reason else (f"download it with `protein-studio models download {spec.name}`"
                                        f"{offline}, or {elsewhere}")
    else:
        how = "import a downloaded snapshot folder with `protein-studio models import FOLDER`"
    return f"{spec.name}: weights not found in {' or '.join(where)}{failed}; {how}"


def _offline() -> bool:
    """HF_HUB_OFFLINE as set now (huggingface_hub itself reads it once, when first imported)."""
    from huggingface_hub import is_offline_mode

    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in {"1", "ON", "YES", "TRUE"} or \
        bool(is_offline_mode())


# ------------------------------------------------------------------------------------------------
# import / download
# ------------------------------------------------------------------------------------------------
def detect_hf_family(folder: str | os.PathLike) -> str:
    """``esmfold`` or ``protgpt2`` from a snapshot folder's ``config.json``; UserError otherwise."""
    folder = Path(folder)
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise UserError(f"{folder}: not a Hugging Face model folder (no config.json)")
    from protein_studio.core.files import read_input_text

    try:
        config = json.loads(read_input_text(config_path, "a model configuration (JSON)"))
    except json.JSONDecodeError as exc:
        raise UserError(f"{config_path}: cannot read the model configuration ({exc})") from exc
    if not isinstance(config, dict):
        raise UserError(f"{config_path}: the model configuration is not a JSON object")
    if config.get("model_type") == "esm" and config.get("is_folding_model"):
        return "esmfold"
    if config.get("model_type") == "esm" and config.get("vocab_size") == SAPROT_VOCABULARY_SIZE:
        return "saprot"
    if config.get("model_type") == "esmc":
        return "esmc"
    if config.get("model_type") == "gpt2":
        return "protgpt2"
    raise UserError(f"{config_path}: model_type {config.get('model_type')!r} is none of the kinds Protein Studio "
                    f"loads: ESMFold (esm with is_folding_model), SaProt (esm with {SAPROT_VOCABULARY_SIZE} "
                    f"tokens), ESM C (esmc) or a GPT-2 protein language model")


def import_hf_snapshot(folder: str | os.PathLike, name: str | None = None) -> ModelSpec:
    """Copy a downloaded Hugging Face snapshot folder into the weights directory.

    The copy is made beside the target under a hidden ``.<name>.partial`` name and renamed only when
    complete, so an interrupted import never leaves a folder that is later loaded.

    Parameters
    ----------
    folder : path
        A folder with ``config.json`` and weights (``model.safetensors`` or ``pytorch_model.bin``), e.g. made
        by ``huggingface-cli download facebook/esmfold_v1 --local-dir esmfold_v1``, or a snapshot folder of a
        hub cache (``.../models--nferruz--ProtGPT2/snapshots/<commit>``). GPT-2 folders also need their
        tokenizer files.
    name : str, optional
        Name to import it under (letters, digits, ``.``, ``_``, ``-``). A registry name must be a Hugging
        Face model of the folder's kind. Default: the registry model of the hub repository a cache snapshot
        belongs to; else ``esmfold_v1`` for an ESMFold folder, ``protgpt2`` for a GPT-2 folder named like
        ProtGPT2, otherwise the folder's name.

    Returns
    -------
    ModelSpec
        The spec the model now loads under (``load_hf_model(spec.name)`` works).

    Raises
    ------
    UserError
        Not a model folder, no weights or tokenizer, or a name that is invalid or belongs to another kind
        of model.
    """
    folder = Path(folder).expanduser()
    family = detect_hf_family(folder)
    if not _has_weights(folder):
        raise UserError(f"{folder}: no model.safetensors or pytorch_model.bin next to config.json")
    if family == "protgpt2" and not any((folder / f).is_file() for f in ("tokenizer.json", "vocab.json")):
        raise UserError(f"{folder}: a GPT-2 model folder needs its tokenizer (tokenizer.json or vocab.json + "
                        f"merges.txt)")
    if family == "saprot" and not (folder / "vocab.txt").is_file():
        raise UserError(f"{folder}: a SaProt model folder needs its vocabulary (vocab.txt)")
    name = _import_name(folder, family) if name is None else name
    _check_import_name(name, family, folder)
    verify_snapshot(folder, family, name)
    target = imported_dir(name)
    if target.exists() and target.resolve() == folder.resolve():
        return _imported_spec(name)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        # weights, configuration and tokenizer files only: never code (a snapshot's .py files would be
        # imported by trust_remote_code-style loaders) nor anything else the folder holds
        shutil.copytree(folder, partial, ignore=_not_model_files)
        if target.exists():
            shutil.rmtree(target)
        os.replace(partial, target)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return _imported_spec(name)


_FAMILY_CLASS = {"esmfold": "EsmForProteinFolding", "protgpt2": "GPT2LMHeadModel", "saprot": "EsmForMaskedLM",
                 "esmc": "EsmcForMaskedLM"}


def _weight_shapes(folder: Path) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every tensor in the folder's weights files, read from the headers (safetensors) or
    memory-mapped with the safe loader (``pytorch_model.bin``): no tensor data is read."""
    shapes: dict[str, tuple[int, ...]] = {}
    files = sorted(folder.glob("*.safetensors")) or sorted(folder.glob("pytorch_model*.bin"))
    for path in files:
        try:
            if path.suffix == ".safetensors":
                from safetensors import safe_open

                with safe_open(str(path), framework="pt") as handle:
                    for key in handle.keys():
                        shapes[key] = tuple(handle.get_slice(key).get_shape())
            else:
                from protein_studio.models.esm_loading import safe_torch_load

                shapes.update({k: tuple(v.shape) for k, v in safe_torch_load(path).items() if hasattr(v, "shape")})
        except ModelUnavailableError as exc:
            raise UserError(str(exc)) from None
        except Exception as exc:  # noqa: BLE001 - a damaged file fails in many ways
            first = " ".join(str(exc).split())[:200] or type(exc).__name__
            raise UserError(f"{path}: not a readable weights file ({first})") from None
    return shapes


def verify_snapshot(folder: str | os.PathLike, family: str, name: str | None = None) -> None:
    """Check a snapshot folder before it is imported: its configuration builds the family's model (the
    registry model's architecture when ``name`` is one), and every tensor of its weights files has the shape
    that model expects. Nothing is loaded: the model is built on the meta device and the shapes are read
    from the files' headers.

    Raises
    ------
    UserError
        Unreadable configuration or weights, another architecture, or tensors of the wrong shape (the
        message names the first).
    """
    import torch
    import transformers

    folder = Path(folder)
    try:
        config = transformers.AutoConfig.from_pretrained(str(folder))
    except Exception as exc:  # noqa: BLE001
        first = " ".join(str(exc).split())[:200]
        raise UserError(f"{folder / 'config.json'}: cannot read the model configuration ({first})") from None
    from protein_studio.models.registry import builtin_models

    spec = next((s for s in builtin_models() if s.name == name), None)
    if spec is not None and family in ("saprot", "esmc"):
        from protein_studio.models.hf_scoring import architecture_mismatches

        wrong = architecture_mismatches(spec, config)
        if wrong:
            raise UserError(f"{folder}: this is not {name}: {', '.join(wrong)}")
    try:
        with torch.device("meta"):
            model = getattr(transformers, _FAMILY_CLASS[family])(config)
    except Exception as exc:  # noqa: BLE001
        first = " ".join(str(exc).split())[:200]
        raise UserError(f"{folder / 'config.json'}: the configuration does not build a {family} model ({first})") from None
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    prefix = getattr(model, "base_model_prefix", "")
    shapes = _weight_shapes(folder)
    matched = 0
    for key, shape in shapes.items():
        want = expected.get(key) or expected.get(f"{prefix}.{key}")
        if want is None:
            continue
        if want != shape:
            raise UserError(f"{folder}: tensor {key} has shape {list(shape)}, the {family} model of this "
                            f"configuration expects {list(want)}; the weights do not belong to this configuration")
        matched += 1
    if matched < len(expected) // 2:
        raise UserError(f"{folder}: only {matched} of the {len(expected)} tensors a {family} model of this "
                        f"configuration has are in its weights; not a {family} checkpoint")


#: What an imported snapshot keeps: weights, configuration, tokenizer and vocabulary files.
IMPORTED_SUFFIXES = (".safetensors", ".bin", ".json", ".txt", ".model")


def _not_model_files(folder: str, names: list[str]) -> list[str]:
    """``shutil.copytree`` ignore rule: every file that is not a weights/config/tokenizer file, and every
    sub-folder (a snapshot's files sit at its top)."""
    ignored = []
    for name in names:
        path = Path(folder) / name
        if path.is_dir() or not name.endswith(IMPORTED_SUFFIXES) or name.startswith("."):
            ignored.append(name)
    return ignored


def _import_name(folder: Path, family: str) -> str:
    """Default import name (see :func:`import_hf_snapshot`)."""
    resolved = folder.resolve()
    repo = resolved.parent.parent.name  # hub cache layout: models--<org>--<name>/snapshots/<commit>
    if resolved.parent.name == "snapshots" and repo.startswith("models--"):
        from protein_studio.models.registry import builtin_models

        hub_id = repo.removeprefix("models--").replace("--", "/", 1)
        for spec in builtin_models():
            if spec.hub_id == hub_id and spec.family == family:
                return spec.name
        return hub_id.split("/")[-1]
    if family == "esmfold":
        return "esmfold_v1"
    if family in ("saprot", "esmc"):  # a registry model whose hub name the folder carries, else its own name
        from protein_studio.models.registry import builtin_models

        for spec in builtin_models():
            if spec.family == family and spec.hub_id and spec.hub_id.split("/")[-1].lower() == resolved.name.lower():
                return spec.name
        return resolved.name
    return "protgpt2" if "protgpt2" in resolved.name.lower() else resolved.name


def _check_import_name(name: str, family: str, folder: Path) -> None:
    from protein_studio.models.registry import builtin_models, is_builtin_name

    if not _IMPORT_NAME.fullmatch(name):
        raise UserError(f"{name!r} cannot name an imported model: use letters, digits, '.', '_' and '-', "
                        f"starting with a letter or digit")
    if not is_builtin_name(name):
        return
    spec = next((s for s in builtin_models() if s.name == name), None)
    if spec is None or spec.source != "huggingface" or spec.family != family:
        kind = "a random-weight model" if spec is None or spec.is_random else f"a {spec.family}-family model"
        raise UserError(f"{folder} holds a {family}-family model, but {name} is {kind}; pass another --name")


def _imported_spec(name: str) -> ModelSpec:
    from protein_studio.models.registry import get_spec

    return get_spec(name)


def imported_hf_models() -> list[ModelSpec]:
    """Specs of every snapshot imported under a name the registry does not know (any GPT-2 checkpoint)."""
    from protein_studio.models.registry import is_builtin_name

    root = imported_root()
    specs = []
    if root.is_dir():
        for folder in sorted(p for p in root.iterdir() if not p.name.startswith(".") and _has_weights(p)):
            if is_builtin_name(folder.name):
                continue
            try:
                specs.append(_spec_for_folder(folder, folder.name))
            except UserError:
                continue
    return specs


def _spec_for_folder(folder: Path, name: str) -> ModelSpec:
    family = detect_hf_family(folder)
    from protein_studio.models.weights import folder_bytes

    return ModelSpec(name=name, family=family, task=_FAMILY_TASK[family], parameters=0,
                     download_bytes=folder_bytes(folder),
                     license="see the model folder", max_tokens=None, source="huggingface",
                     description=f"imported from {folder}")


def download_hf_model(spec: ModelSpec, ctx=None) -> Path:
    """Download ``spec.hub_id`` into the hub cache with progress and cancel through ``ctx``.

    Only the PyTorch weights are fetched (safetensors when the repository has them). Progress is reported
    in bytes of the total size of those files (listed before the transfer starts) as huggingface_hub's
    progress bars advance, under one text; the bars themselves print nothing. A cancel takes effect at the
    next progress update of any file (every ``huggingface_hub.constants.DOWNLOAD_CHUNK_SIZE`` bytes).

    Raises
    ------
    ModelUnavailableError
        When ``HF_HUB_OFFLINE`` is set or the hub cannot be reached.
    JobCancelled
        When ``ctx`` was cancelled (files already complete stay in the cache; unfinished ones are kept as
        ``.incomplete`` blobs that a later download resumes, and never count as on disk).
    """
    if not spec.hub_id:
        raise UserError(f"{spec.name} has no Hugging Face repository to download from")
    if _offline():
        raise ModelUnavailableError(
            f"{spec.name}: cannot download {spec.hub_id} because HF_HUB_OFFLINE is set; unset it, or copy a "
            f"snapshot folder here and run `protein-studio models import FOLDER`")
    from huggingface_hub import HfApi, snapshot_download
    from huggingface_hub.utils import filter_repo_objects
    from tqdm.auto import tqdm

    text = f"Downloading {spec.name} ({spec.hub_id})"
    total = 0  # bytes of the files to fetch, set once the repository is listed
    done = [0]  # most bytes any bar has reported (the transfer and write bars advance together)

    class _Silent(io.TextIOBase):
        def write(self, text):
            return len(text)

    class _Progress(tqdm):  # reports to ctx and stops the transfer when cancelled
        def __init__(self, *args, **kwargs):
            kwargs["file"] = _Silent()
            super().__init__(*args, **kwargs)

        def update(self, n=1):
            if ctx is not None:
                ctx.check_cancelled()
            out = super().update(n)
            if ctx is not None and total and self.unit == "B":  # bytes, not the count of files
                done[0] = min(max(done[0], int(self.n)), total)
                ctx.progress(done[0], total, text)
            return out

    try:
        if ctx is not None:
            ctx.check_cancelled()
        # one request without retries: an offline machine fails at once instead of after a minute of backoff
        files = HfApi().model_info(spec.hub_id, files_metadata=True).siblings or []
        # one copy of the PyTorch weights (safetensors when the repo has them), no TF/Flax/ONNX exports
        skip = ["*.h5", "*.msgpack", "*.onnx", "*.ot", "*.ckpt", "*.tflite"]
        if any(f.rfilename.endswith(".safetensors") for f in files):
            skip.append("*.bin")
        fetched = filter_repo_objects(files, ignore_patterns=skip, key=lambda f: f.rfilename)
        total = sum(f.size or 0 for f in fetched)
        if ctx is not None:
            ctx.progress(0, total, text)
        path = snapshot_download(spec.hub_id, cache_dir=hf_cache_dir(), tqdm_class=_Progress,
                                 ignore_patterns=skip)
    except JobCancelled:
        raise
    except Exception as exc:  # noqa: BLE001 - network and hub errors all mean "could not download"
        reason = next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
        raise ModelUnavailableError(not_on_disk_message(spec, reason)) from exc
    if ctx is not None:  # files already in the cache are not counted by the bars
        ctx.progress(total, total, text)
    return Path(path)


# ------------------------------------------------------------------------------------------------
# specs and loading
# ------------------------------------------------------------------------------------------------
def resolve_hf_spec(name_or_path: str) -> ModelSpec:
    """The spec for a registry name, an imported snapshot name, or a snapshot folder path.

    A folder is taken when ``name_or_path`` holds a path separator or names a folder with a
    ``config.json``; otherwise registry names come first, then imported snapshots.
    """
    path = Path(name_or_path).expanduser()
    if (path / "config.json").is_file() or (os.sep in name_or_path or "/" in name_or_path):
        if not path.is_dir():
            raise UserError(f"{name_or_path}: no such model folder")
        return _spec_for_folder(path, str(path))
    from protein_studio.models.registry import get_spec

    try:
        return get_spec(name_or_path)
    except UserError:
        folder = imported_dir(name_or_path)
        if _has_weights(folder):
            return _spec_for_folder(folder, name_or_path)
        raise


def _device(preference: str | Any = "auto"):
    from protein_studio.engines.devices import select_device

    return select_device(preference)


def load_hf_model(spec_or_name: ModelSpec | str, device: str | Any = "auto") -> LoadedModel:
    """Load a folding or generation model by spec, name or folder (dispatches on ``spec.family``)."""
    spec = resolve_hf_spec(spec_or_name) if isinstance(spec_or_name, str) else spec_or_name
    if spec.family == "esmfold":
        return load_esmfold(spec, device)
    if spec.family == "protgpt2":
        return load_protgpt2(spec, device)
    raise UserError(f"{spec.name} is a {spec.family} model, neither a folding nor a generation model")


def _snapshot_for(spec: ModelSpec) -> Path:
    path = Path(spec.name).expanduser()
    if path.is_dir() and _has_weights(path):
        return path
    folder = find_local_snapshot(spec)
    if folder is None:
        raise ModelUnavailableError(not_on_disk_message(spec))
    return folder


def _check_random(spec: ModelSpec) -> None:
    from protein_studio.models.registry import random_models_enabled

    if not random_models_enabled():
        raise ModelUnavailableError(f"{spec.name} has random weights and is only available with "
                                    f"PROTEIN_STUDIO_RANDOM_MODELS=1")


def load_esmfold(spec: ModelSpec, device: str | Any = "auto") -> LoadedModel:
    """ESMFold on ``device``: the ESM-2 stem in float16 on a GPU and float32 on CPU, the trunk in float32.

    ``LoadedModel.tokenizer`` is None: the folding engine encodes residues with the AlphaFold residue
    order the model's own ``infer`` uses (no special tokens).
    """
    dev = _device(device)
    if spec.is_random:
        _check_random(spec)
        model = build_random_esmfold(spec.name, {**TINY_ESMFOLD_ARCHITECTURE, **(spec.architecture or {})})
    else:
        folder = _snapshot_for(spec)
        from transformers import EsmForProteinFolding

        try:
            model = EsmForProteinFolding.from_pretrained(str(folder), low_cpu_mem_usage=True)
        except Exception as exc:  # noqa: BLE001 - a broken folder is the user's to fix
            raise ModelUnavailableError(f"{spec.name}: cannot load ESMFold from {folder}: {exc}") from exc
    model = model.eval().to(dev)
    # The trunk and structure module need float32; the 3B-parameter ESM-2 stem is fine in float16 on a GPU.
    model.float()
    if dev.type == "cuda":
        model.esm.half()
    return LoadedModel(spec=spec, model=model, device=dev, dtype=model.esm.dtype)


def load_protgpt2(spec: ModelSpec, device: str | Any = "auto") -> LoadedModel:
    """A GPT-2 causal protein language model and its tokenizer, in float32 (float16 on a GPU)."""
    dev = _device(device)
    if spec.is_random:
        _check_random(spec)
        model, tokenizer = build_random_protgpt2(spec.name, {**TINY_PROTGPT2_ARCHITECTURE,
                                                             **(spec.architecture or {})})
    else:
        folder = _snapshot_for(spec)
        from transformers import AutoTokenizer, GPT2LMHeadModel

        try:
            tokenizer = AutoTokenizer.from_pretrained(str(folder))
            model = GPT2LMHeadModel.from_pretrained(str(folder), low_cpu_mem_usage=True)
        except Exception as exc:  # noqa: BLE001
            raise ModelUnavailableError(f"{spec.name}: cannot load a GPT-2 model from {folder}: {exc}") from exc
    if tokenizer.convert_tokens_to_ids(EOS_TOKEN) in (None, tokenizer.unk_token_id) and EOS_TOKEN not in \
            tokenizer.get_vocab():
        raise ModelUnavailableError(f"{spec.name}: the tokenizer has no {EOS_TOKEN} token, so it is not a "
                                    f"ProtGPT2-style model")
    model = model.eval().to(dev)
    if dev.type == "cuda":
        model.half()
    return LoadedModel(spec=spec, model=model, device=dev, dtype=next(model.parameters()).dtype,
                       tokenizer=tokenizer)


# ------------------------------------------------------------------------------------------------
# random-weight models of the real architectures
# ------------------------------------------------------------------------------------------------
def build_random_esmfold(name: str = "random-esmfold-tiny", architecture: dict | None = None):
    """An ``EsmForProteinFolding`` with random weights, identical for the same ``name`` and architecture.

    The ESM stem uses the ESM-2 vocabulary and rotary positions. The folding trunk's weights are redrawn
    with unit-variance fan-in scaling (transformers initialises many of them near zero, which would make
    every output constant), so chunking, pLDDT and PAE are exercised with non-trivial values.
    """
    import torch
    from transformers import EsmConfig, EsmForProteinFolding
    from transformers.models.esm.configuration_esm import get_default_vocab_list

    a = {**TINY_ESMFOLD_ARCHITECTURE, **(architecture or {})}
    vocab = list(get_default_vocab_list())
    config = EsmConfig(
        vocab_size=len(vocab), pad_token_id=vocab.index("<pad>"), mask_token_id=vocab.index("<mask>"),
        hidden_size=a["esm_embed_dim"], num_hidden_layers=a["esm_layers"], num_attention_heads=a["esm_heads"],
        intermediate_size=4 * a["esm_embed_dim"], position_embedding_type="rotary",
        emb_layer_norm_before=False, token_dropout=True, max_position_embeddings=1026,
        is_folding_model=True, vocab_list=vocab,
        esmfold_config={
            "fp16_esm": False, "lddt_head_hid_dim": a["lddt_hidden"],
            "trunk": {
                "num_blocks": a["trunk_blocks"], "sequence_state_dim": a["sequence_state_dim"],
                "pairwise_state_dim": a["pairwise_state_dim"], "sequence_head_width": a["head_width"],
                "pairwise_head_width": a["head_width"], "max_recycles": a["max_recycles"], "chunk_size": None,
                "structure_module": {
                    "sequence_dim": a["sequence_state_dim"], "pairwise_dim": a["pairwise_state_dim"],
                    "ipa_dim": a["ipa_dim"], "num_heads_ipa": a["ipa_heads"], "resnet_dim": a["resnet_dim"],
                    "num_blocks": a["structure_blocks"], "num_qk_points": 4, "num_v_points": 8,
                },
            },
        },
    )
    from protein_studio.models.esm_loading import random_seed

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(random_seed(name))
        model = EsmForProteinFolding(config)
        with torch.no_grad():
            for pname, param in model.named_parameters():
                if param.dim() >= 2 and not pname.startswith("esm."):
                    param.copy_(torch.randn(param.shape) / param.shape[-1] ** 0.5)
    return model.eval()


def wrap_residues(sequence: str, width: int = 60) -> str:
    """Residues with a newline every ``width``, the layout ProtGPT2 was trained on."""
    return "\n".join(sequence[i:i + width] for i in range(0, len(sequence), width))


def build_protein_bpe_tokenizer(sequences=TOKENIZER_TRAINING_SEQUENCES, vocab_size: int = 120):
    """A GPT-2 style byte-level BPE tokenizer trained locally on ``sequences`` (ProtGPT2 layout).

    Its alphabet is the 20 amino acids and the newline only, and ``<|endoftext|>`` is token 0 as in
    ProtGPT2. Training is deterministic, so the same inputs give the same tokenizer.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    newline = "\u010a"  # the byte-level form of "\n"
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[EOS_TOKEN], show_progress=False,
                                  initial_alphabet=list("ACDEFGHIKLMNPQRSTVWY") + [newline])
    # the training text must not contain EOS_TOKEN itself, or its characters would become residue tokens
    bpe.train_from_iterator([wrap_residues(s) for s in sequences], trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token=EOS_TOKEN, eos_token=EOS_TOKEN,
                                   unk_token=EOS_TOKEN, pad_token=EOS_TOKEN)


def build_random_protgpt2(name: str = "random-protgpt2-tiny", architecture: dict | None = None):
    """A random-weight ``GPT2LMHeadModel`` and its locally trained tokenizer, identical for the same name."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    a = {**TINY_PROTGPT2_ARCHITECTURE, **(architecture or {})}
    tokenizer = build_protein_bpe_tokenizer(vocab_size=a["tokenizer_vocab"])
    eos = tokenizer.convert_tokens_to_ids(EOS_TOKEN)
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=a["n_positions"], n_embd=a["n_embd"],
                        n_layer=a["n_layer"], n_head=a["n_head"], bos_token_id=eos, eos_token_id=eos,
                        pad_token_id=eos)
    from protein_studio.models.esm_loading import random_seed

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(random_seed(name))
        model = GPT2LMHeadModel(config)
    return model.eval(), tokenizer
