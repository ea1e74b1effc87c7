"""Hugging Face snapshot folders: which kind of model one holds, the check before it is imported (its
configuration builds the model and every tensor has the shape that model expects), the import itself, and
the models imported under names of their own.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

from protein_studio.core.errors import ModelUnavailableError, UserError
from protein_studio.models.locations import folder_bytes, has_weights, imported_dir, imported_root
from protein_studio.models.registry import architecture_mismatches, builtin_models, is_builtin_name
from protein_studio.models.spec import ModelSpec

__all__ = ["SAPROT_VOCABULARY_SIZE", "IMPORTED_SUFFIXES", "MAX_CONFIG_BYTES", "read_config", "detect_hf_family", "import_hf_snapshot",
           "verify_snapshot", "imported_hf_models", "spec_for_folder"]


#: SaProt's vocabulary: 5 special tokens and 21 x 21 (residue or #, 3Di letter or #) pairs
SAPROT_VOCABULARY_SIZE = 446


_FAMILY_TASK = {"esmfold": "folding", "protgpt2": "generation", "saprot": "scoring", "esmc": "scoring"}


_IMPORT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


# ------------------------------------------------------------------------------------------------
# import / download
# ------------------------------------------------------------------------------------------------
#: Largest configuration read (a model's config.json is a few kB).
MAX_CONFIG_BYTES = 1024 * 1024
#: Upper bounds of a configuration's size fields (the largest protein language models are far below): a
#: configuration asking for more is refused before a model is built from it.
_SIZE_LIMITS = (("layer", 512), ("block", 512), ("head", 1024), ("intermediate", 262_144), ("n_inner", 262_144),
                ("hidden", 65_536), ("n_embd", 65_536), ("d_model", 65_536), ("vocab", 1_000_000),
                ("position", 1_000_000), ("n_ctx", 1_000_000), ("dim", 65_536), ("size", 1_000_000))


def _checked_entries(folder: Path) -> list[Path]:
    """The files of a snapshot folder an import may read and copy: regular files, or links that lead to a
    regular file inside the snapshot's own hub-cache repository (``models--ORG--NAME/blobs``); any other
    link (``/etc/passwd``, ``/dev/zero``) or special file among the model's files is refused before anything
    is read."""
    import stat as stat_module

    root = folder.resolve()
    if folder.parent.name == "snapshots" and folder.parent.parent.name.startswith("models--"):
        root = folder.parent.parent.resolve()  # a hub cache: its snapshot's files link to ../../blobs
    entries = []
    for path in sorted(folder.iterdir()):
        if not path.name.endswith(IMPORTED_SUFFIXES) or path.name.startswith("."):
            continue
        info = os.lstat(path)
        if stat_module.S_ISDIR(info.st_mode):
            continue
        if stat_module.S_ISLNK(info.st_mode):
            target = path.resolve()
            if not target.is_relative_to(root):
                raise UserError(f"{path}: a link to {target}, outside the model folder; an import never follows it")
            info = os.stat(target)
        if not stat_module.S_ISREG(info.st_mode):
            raise UserError(f"{path}: not a regular file (a device, pipe or socket); an import copies model files only")
        entries.append(path)
    return entries


def _check_sizes(config, source: str, depth: int = 0) -> None:
    """Refuse a configuration whose sizes (layers, widths, vocabulary, positions) are beyond any real model's."""
    if depth > 8:
        return
    items = config.items() if isinstance(config, dict) else ()
    for key, value in items:
        if isinstance(value, dict):
            _check_sizes(value, source, depth + 1)
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        lowered = str(key).lower()
        limit = next((most for part, most in _SIZE_LIMITS if part in lowered), None)
        if limit is not None and not (abs(value) <= limit):
            raise UserError(f"{source}: {key} = {value!r} is beyond any protein language model's (at most "
                            f"{limit:,}); the configuration is not imported")


def read_config(config_path: Path) -> dict:
    """A ``config.json`` read with bounds: a regular file of at most :data:`MAX_CONFIG_BYTES`, JSON nested
    reasonably, an object, with sizes a real model has."""
    from protein_studio.core.files import describe_path, read_input_text

    problem = describe_path(config_path)
    if problem is None and config_path.stat().st_size > MAX_CONFIG_BYTES:
        problem = f"is larger than {MAX_CONFIG_BYTES // 1024} kB"
    if problem is not None:
        raise UserError(f"{config_path}: {problem}, not a model configuration")
    try:
        config = json.loads(read_input_text(config_path, "a model configuration (JSON)"))
    except (json.JSONDecodeError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise UserError(f"{config_path}: cannot read the model configuration ({reason})") from None
    if not isinstance(config, dict):
        raise UserError(f"{config_path}: the model configuration is not a JSON object")
    _check_sizes(config, str(config_path))
    return config


def detect_hf_family(folder: str | os.PathLike) -> str:
    """``esmfold`` or ``protgpt2`` from a snapshot folder's ``config.json``; UserError otherwise."""
    folder = Path(folder)
    config_path = folder / "config.json"
    if not config_path.exists() and not config_path.is_symlink():
        raise UserError(f"{folder}: not a Hugging Face model folder (no config.json)")
    config = read_config(config_path)
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
    if not folder.is_dir():
        raise UserError(f"{folder}: not a folder")
    _checked_entries(folder)  # links out of the folder and special files are refused before anything is read
    family = detect_hf_family(folder)
    if not has_weights(folder):
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
                from protein_studio.models.safe_load import safe_torch_load

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
    spec = next((s for s in builtin_models() if s.name == name), None)
    if spec is not None and family in ("saprot", "esmc"):
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
    """``shutil.copytree`` ignore rule: every file that is not a weights/config/tokenizer file checked by
    :func:`_checked_entries`, and every sub-folder (a snapshot's files sit at its top)."""
    keep = {path.name for path in _checked_entries(Path(folder))}
    return [name for name in names if name not in keep]


def _import_name(folder: Path, family: str) -> str:
    """Default import name (see :func:`import_hf_snapshot`)."""
    resolved = folder.resolve()
    repo = resolved.parent.parent.name  # hub cache layout: models--<org>--<name>/snapshots/<commit>
    if resolved.parent.name == "snapshots" and repo.startswith("models--"):
        hub_id = repo.removeprefix("models--").replace("--", "/", 1)
        for spec in builtin_models():
            if spec.hub_id == hub_id and spec.family == family:
                return spec.name
        return hub_id.split("/")[-1]
    if family == "esmfold":
        return "esmfold_v1"
    if family in ("saprot", "esmc"):  # a registry model whose hub name the folder carries, else its own name
        for spec in builtin_models():
            if spec.family == family and spec.hub_id and spec.hub_id.split("/")[-1].lower() == resolved.name.lower():
                return spec.name
        return resolved.name
    return "protgpt2" if "protgpt2" in resolved.name.lower() else resolved.name


def _check_import_name(name: str, family: str, folder: Path) -> None:
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
    """The spec a model imported under ``name`` loads under: the registry's, or one of its own."""
    spec = next((s for s in builtin_models() if s.name == name), None)
    return spec if spec is not None else spec_for_folder(imported_dir(name), name)


def imported_hf_models() -> list[ModelSpec]:
    """Specs of every snapshot imported under a name the registry does not know (any GPT-2 checkpoint)."""
    root = imported_root()
    specs = []
    if root.is_dir():
        for folder in sorted(p for p in root.iterdir() if not p.name.startswith(".") and has_weights(p)):
            if is_builtin_name(folder.name):
                continue
            try:
                specs.append(spec_for_folder(folder, folder.name))
            except UserError:
                continue
    return specs


def spec_for_folder(folder: Path, name: str) -> ModelSpec:
    """The spec of a snapshot folder loaded under ``name`` (its kind from its configuration)."""
    family = detect_hf_family(folder)
    return ModelSpec(name=name, family=family, task=_FAMILY_TASK[family], parameters=0,
                     download_bytes=folder_bytes(folder),
                     license="see the model folder", max_tokens=None, source="huggingface",
                     description=f"imported from {folder}")
