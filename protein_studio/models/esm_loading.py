"""Safe loading of fair-esm checkpoints (ESM-2, ESM-1b, ESM-1v) and seeded random-weight models.

Checkpoints are read with ``torch.load(..., weights_only=True)``: only tensors, containers, numbers,
strings and the one class fair-esm checkpoints need, ``argparse.Namespace`` (the ``"args"`` of ESM-1b
and ESM-1v, the ``cfg["model"]`` of ESM-2), are accepted, so a file cannot run code when loaded. The
model is then built from the loaded data by fair-esm's own ``load_model_and_alphabet_core``, exactly as
``esm.pretrained`` does after its (unsafe) ``torch.load``.

Loaded models are returned to the caller and never cached here: the GUI worker thread owns them.
torch and esm are imported inside the functions.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from protein_studio.core.errors import ModelUnavailableError, UserError
from protein_studio.core.job_context import cancel_point
from protein_studio.models.catalog import get_spec
from protein_studio.models.devices import choose_dtype, select_device
from protein_studio.models.locations import checkpoint_path, file_identity, not_on_disk_message, regression_path
from protein_studio.models.registry import ESM_FAMILIES, has_contact_regression, random_seed
from protein_studio.models.safe_load import safe_torch_load
from protein_studio.models.spec import LoadedModel, ModelSpec

__all__ = [
    "check_architecture",
    "validate_checkpoint",
    "build_esm_from_checkpoint",
    "build_random_esm",
    "load_esm",
]

_REGRESSION_WARNING = "Regression weights not found"


def _checkpoint_architecture(spec: ModelSpec, model_data, source) -> dict:
    """Layers / width / heads a fair-esm checkpoint declares, checking its overall shape on the way."""
    from argparse import Namespace

    if not isinstance(model_data, dict) or not isinstance(model_data.get("model"), dict):
        raise UserError(f"{source}: not a fair-esm checkpoint (it has no 'model' state dict)")
    if spec.family == "esm2":
        cfg = model_data.get("cfg")
        model_cfg = cfg.get("model") if isinstance(cfg, dict) else None
        if not isinstance(model_cfg, Namespace):
            raise UserError(f"{source}: not an ESM-2 checkpoint (no cfg['model'] settings)")
        get = lambda key: getattr(model_cfg, f"encoder_{key}", None)  # noqa: E731
    else:
        args = model_data.get("args")
        if not isinstance(args, Namespace) or getattr(args, "arch", None) != "roberta_large":
            raise UserError(f"{source}: not an ESM-1b/ESM-1v checkpoint (no 'args' with arch "
                            f"roberta_large)")
        get = lambda key: getattr(args, f"encoder_{key}", getattr(args, key, None))  # noqa: E731
    return {"num_layers": get("layers"), "embed_dim": get("embed_dim"),
            "attention_heads": get("attention_heads")}


def check_architecture(spec: ModelSpec, model_data: dict, source: str | Path, hint: str) -> None:
    """The architecture a checkpoint declares (layers, width, heads) must be the one ``spec`` names.

    Raises
    ------
    UserError
        Naming both architectures, then ``hint`` (what to do about it).
    """
    found = _checkpoint_architecture(spec, model_data, source)
    expected = {k: spec.architecture.get(k) for k in found}
    if found != expected:
        describe = lambda a: (f"{a['num_layers']} layers, width {a['embed_dim']}, "  # noqa: E731
                              f"{a['attention_heads']} heads")
        raise UserError(f"{source}: this checkpoint has {describe(found)}, but {spec.name} has "
                        f"{describe(expected)}; {hint}")


def validate_checkpoint(spec: ModelSpec, model_data: dict, regression_data: dict | None = None, *,
                        source: str | Path = "checkpoint") -> None:
    """Check that loaded checkpoint data is the model ``spec`` names, without allocating its weights.

    The architecture the file declares must match the registry, and fair-esm must be able to build the
    model and load every tensor into it (keys and shapes); the model is built on torch's ``meta``
    device, so this costs no memory beyond the loaded file.

    Raises
    ------
    UserError
        Not a fair-esm checkpoint, another architecture, or tensors that do not fit.
    """
    import torch
    import esm

    check_architecture(spec, model_data, source, hint="pass the right --name")
    data = dict(model_data)
    data["model"] = dict(model_data["model"])
    try:
        with torch.device("meta"), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_REGRESSION_WARNING)
            warnings.filterwarnings("ignore", message=".*copying from a non-meta parameter")
            esm.pretrained.load_model_and_alphabet_core(spec.name, data, regression_data)
    except (RuntimeError, KeyError, AttributeError, ValueError) as exc:
        first = str(exc).strip().splitlines()
        raise UserError(f"{source}: the tensors do not fit {spec.name} "
                        f"({' '.join(line.strip() for line in first)[:300]})") from None


def build_esm_from_checkpoint(spec: ModelSpec, model_data: dict, regression_data: dict | None = None):
    """Build a fair-esm model and alphabet from already (safely) loaded checkpoint data.

    Same as fair-esm's ``load_model_and_alphabet_core``; without regression data the contact head is
    left untrained (contacts are not used for scoring), which fair-esm allows.

    Returns
    -------
    (torch.nn.Module, esm.Alphabet)
    """
    import esm

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_REGRESSION_WARNING)
        return esm.pretrained.load_model_and_alphabet_core(spec.name, model_data, regression_data)


def build_random_esm(spec: ModelSpec):
    """A fair-esm model of ``spec``'s architecture with weights drawn from a seed given by its name.

    ESM-2 models are ``esm.model.esm2.ESM2``; ESM-1b is ``esm.model.esm1.ProteinBertModel`` with
    ``arch="roberta_large"`` (learned positional embeddings for at most 1024 tokens, the ESM-1b layer
    norm and LM head), its mask-token embedding zeroed as fair-esm does when loading ESM-1b.

    Returns
    -------
    (torch.nn.Module, esm.Alphabet)
    """
    import argparse

    import torch
    from esm.data import Alphabet
    from esm.model.esm1 import ProteinBertModel
    from esm.model.esm2 import ESM2

    if not spec.is_random or spec.family not in ESM_FAMILIES:
        raise UserError(f"{spec.name} is not a random-weight ESM model")
    arch = spec.architecture
    alphabet = Alphabet.from_architecture("ESM-1b")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(random_seed(spec.name))
        if spec.family == "esm2":
            model = ESM2(num_layers=arch["num_layers"], embed_dim=arch["embed_dim"],
                         attention_heads=arch["attention_heads"], alphabet=alphabet, token_dropout=True)
        else:
            args = argparse.Namespace(
                arch="roberta_large", layers=arch["num_layers"], embed_dim=arch["embed_dim"],
                ffn_embed_dim=arch["ffn_embed_dim"], attention_heads=arch["attention_heads"],
                max_positions=spec.max_tokens, emb_layer_norm_before=True, token_dropout=True)
            model = ProteinBertModel(args, alphabet)
            with torch.no_grad():
                model.embed_tokens.weight[alphabet.mask_idx].zero_()
    return model, alphabet


def load_esm(name: str, device="auto", precision: str = "auto") -> LoadedModel:
    """Load an ESM scoring model, ready for inference.

    Parameters
    ----------
    name : str
        Registry name: a fair-esm checkpoint (``esm2_t33_650M_UR50D``, ``esm1v_t33_650M_UR90S_1``,
        ...) or a random-weight model (``random-esm2-8M``, ...).
    device : str or torch.device
        ``"auto"`` (CUDA, then MPS, then CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"``.
    precision : {"auto", "float32", "float16", "bfloat16"}
        ``"auto"``: float16 on CUDA, float32 elsewhere.

    Returns
    -------
    LoadedModel
        Model in eval mode with gradients off, on ``device``, with its fair-esm ``alphabet``. The
        caller owns it (nothing is cached).

    Raises
    ------
    UserError
        Unknown name or not an ESM scoring model.
    ModelUnavailableError
        Weights not on disk (the message names the file expected and how to download or import it),
        or the file is unsafe or unreadable.
    """
    spec = get_spec(name)
    if spec.family not in ESM_FAMILIES:
        raise UserError(f"{spec.name} is a {spec.task} model, not an ESM scoring model")
    torch_device = select_device(device)
    dtype = choose_dtype(torch_device, precision)
    if spec.is_random:
        model, alphabet = build_random_esm(spec)
        identity = f"RANDOM WEIGHTS (seeded by the name {spec.name!r})"
    else:
        path = checkpoint_path(spec)
        if not path.is_file():
            raise ModelUnavailableError(not_on_disk_message(spec))
        model_data = safe_torch_load(path)
        cancel_point()
        try:  # what import checks, loading checks too: a file under a known name may be another model
            check_architecture(spec, model_data, path,
                               hint=f"it is not {spec.name}: remove it and download or import the right file")
        except UserError as exc:
            raise ModelUnavailableError(str(exc)) from None
        regression = regression_path(spec)
        regression_data = (safe_torch_load(regression)
                           if has_contact_regression(spec.name) and regression.is_file() else None)
        try:
            model, alphabet = build_esm_from_checkpoint(spec, model_data, regression_data)
        except (RuntimeError, KeyError, AttributeError, ValueError) as exc:
            first = " ".join(str(exc).split())[:300]
            raise ModelUnavailableError(f"{path}: cannot build {spec.name} from this file ({first}); "
                                        f"re-import it with `protein-studio models import PATH`") from None
        del model_data, regression_data
        cancel_point()
        identity = file_identity(path)
        cancel_point()
    model.eval()
    model.requires_grad_(False)
    model.to(device=torch_device, dtype=dtype)
    return LoadedModel(spec=spec, model=model, device=torch_device, dtype=dtype, alphabet=alphabet,
                       weights_identity=identity)
