"""One entry point that loads any model the registry knows, whatever its family.

The worker thread loads models by name only; which loader applies follows from the registry spec:
ESM families (``esm2``, ``esm1b``, ``esm1v``) go to :func:`protein_studio.models.esm_loading.load_esm`,
SaProt and ESM C to :func:`protein_studio.models.hf_scoring.load_hf_scoring`, ProteinMPNN to
:func:`protein_studio.models.mpnn_loading.load_proteinmpnn`,
folding (``esmfold``) and generation (``protgpt2``) models, imported Hugging Face snapshots included, to
:func:`protein_studio.models.hf_loading.load_hf_model`. No torch at import time.
"""

from __future__ import annotations

from typing import Any

from protein_studio.core.errors import UserError
from protein_studio.models.catalog import get_spec
from protein_studio.models.registry import ESM_FAMILIES, INVERSE_FOLDING_FAMILIES, SCORING_HF_FAMILIES
from protein_studio.models.spec import LoadedModel

__all__ = ["HF_FAMILIES", "load_model"]

#: Families loaded by :func:`protein_studio.models.hf_loading.load_hf_model`.
HF_FAMILIES = ("esmfold", "protgpt2")


#: ``--precision`` spellings and the dtype names the loaders take
PRECISION_NAMES = {"auto": "auto", "fp32": "float32", "bf16": "bfloat16", "fp16": "float16",
                   "float32": "float32", "bfloat16": "bfloat16", "float16": "float16"}


def load_model(name: str, device: str | Any = "auto", precision: str = "auto") -> LoadedModel:
    """Load the model called ``name`` on ``device``.

    Parameters
    ----------
    name : str
        A registry name (``esm2_t33_650M_UR50D``, ``esmfold_v1``, ``random-protgpt2-tiny`` ...) or the name
        of an imported Hugging Face snapshot.
    device : str or torch.device
        ``"auto"`` (CUDA, then MPS, then CPU), ``"cpu"``, ``"cuda"`` or ``"mps"``.
    precision : {"auto", "fp32", "bf16", "fp16"}
        Scoring models: ``auto`` is float16 on a CUDA GPU and float32 elsewhere. Folding and generation
        models keep their own rule (ESMFold's trunk needs float32) and take ``auto`` only.

    Returns
    -------
    LoadedModel

    Raises
    ------
    UserError
        Unknown name, or a family no loader handles.
    ModelUnavailableError
        The weights are not on disk (the message says how to get them), or a random model while random
        models are disabled.
    """
    spec = get_spec(name)
    if precision not in PRECISION_NAMES:
        raise UserError(f"unknown precision {precision!r}; choose auto, fp32, bf16 or fp16")
    dtype = PRECISION_NAMES[precision]
    if spec.family in ESM_FAMILIES:
        from protein_studio.models.esm_loading import load_esm

        return load_esm(spec.name, device, dtype)
    if spec.family in SCORING_HF_FAMILIES:
        from protein_studio.models.hf_scoring import load_hf_scoring

        return load_hf_scoring(spec, device, dtype)
    if spec.family in INVERSE_FOLDING_FAMILIES:
        if dtype not in ("auto", "float32"):
            raise UserError(f"{spec.name} runs in float32 only (it is small: 1.7 M parameters)")
        from protein_studio.models.mpnn_loading import load_proteinmpnn

        return load_proteinmpnn(spec, device)
    if dtype != "auto":
        raise UserError(f"{spec.name} is a {spec.task} model, which runs in its own precision; --precision "
                        f"applies to scoring models")
    if spec.family in HF_FAMILIES:
        from protein_studio.models.hf_loading import load_hf_model

        return load_hf_model(spec, device)
    raise UserError(f"model {spec.name!r} is of family {spec.family!r}, which no loader handles "
                    f"(known: {', '.join(ESM_FAMILIES + SCORING_HF_FAMILIES + HF_FAMILIES)})")
