"""Hugging Face masked language models that score mutations: SaProt and ESM C.

* SaProt (Su et al. 2024, MIT) is the ESM-2 architecture (transformers' ``EsmForMaskedLM``) trained on
  tokens that pair each residue with its foldseek 3Di letter: 5 special tokens, then every (amino acid or
  ``#``, 3Di letter or ``#``) pair, 446 in all. It reads the structure the user has open
  (:mod:`protein_studio.core.molecules.structure_tokens`).
* ESM C (EvolutionaryScale, 300M and 600M open under MIT) is transformers' ``EsmcForMaskedLM`` with the
  ESM sequence vocabulary of 64 tokens.

Both are wrapped so that the scoring engine runs them like fair-esm models: ``model(tokens)`` returns
``{"logits": ...}`` (and ``"representations"`` for ``repr_layers``), ``model.layers`` are the transformer
layers (checked for Cancel), ``model.num_layers`` their number, and ``loaded.alphabet`` is a
:class:`~protein_studio.models.vocabulary.ResidueVocabulary`. SaProt's output is reduced to one
log-probability per amino acid, summed over the 3Di letters it is paired with (SaProt's own rule), plus
one column for everything else, so the reduced row is still a distribution.

Random-weight versions (``random-saprot-tiny``, ``random-esmc-tiny``) are built locally, seeded by name,
only with ``PROTEIN_STUDIO_RANDOM_MODELS=1``. torch and transformers are imported inside functions only.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from protein_studio.core.errors import ModelUnavailableError, UserError
from protein_studio.core.molecules.sequences import AMINO_ACIDS
from protein_studio.models.devices import choose_dtype, select_device
from protein_studio.models.locations import file_identity, snapshot_folder
from protein_studio.models.registry import (TINY_ESMC_ARCHITECTURE, TINY_SAPROT_ARCHITECTURE, architecture_mismatches,
                                            random_seed, require_random_enabled)
from protein_studio.models.spec import LoadedModel, ModelSpec
from protein_studio.models.vocabulary import THREE_DI_LETTERS, ResidueVocabulary, StructureAwareVocabulary

__all__ = ["saprot_vocabulary_list", "build_random_saprot", "build_random_esmc",
           "load_hf_scoring", "wrap_masked_lm", "architecture_mismatches"]

_SPECIAL = ("<cls>", "<pad>", "<eos>", "<unk>", "<mask>")


def saprot_vocabulary_list() -> list[str]:
    """SaProt's token list: the special tokens, then each residue letter (20 amino acids, then ``#``)
    paired with each 3Di letter (``pynwrqhgdlvtmfsaeikc#``)."""
    return list(_SPECIAL) + [a + s for a in AMINO_ACIDS + "#" for s in THREE_DI_LETTERS]


def _seeded(name: str, build):
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(random_seed(name))
        return build()


def _saprot_config(architecture: dict, vocab: list[str]):
    from transformers import EsmConfig

    width = architecture["embed_dim"]
    return EsmConfig(vocab_size=len(vocab), pad_token_id=vocab.index("<pad>"), mask_token_id=vocab.index("<mask>"),
                     hidden_size=width, num_hidden_layers=architecture["num_layers"],
                     num_attention_heads=architecture["attention_heads"], intermediate_size=4 * width,
                     position_embedding_type="rotary", emb_layer_norm_before=False, token_dropout=True,
                     max_position_embeddings=1026, vocab_list=None)


def _saprot_tokenizer(vocab: list[str]):
    from transformers import EsmTokenizer

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "vocab.txt"
        path.write_text("\n".join(vocab) + "\n")
        return EsmTokenizer(str(path))


def build_random_saprot(name: str = "random-saprot-tiny", architecture: dict | None = None):
    """A random-weight SaProt (``EsmForMaskedLM`` over SaProt's 446 tokens) and its ``EsmTokenizer``."""
    from transformers import EsmForMaskedLM

    a = {**TINY_SAPROT_ARCHITECTURE, **(architecture or {})}
    vocab = saprot_vocabulary_list()
    config = _saprot_config(a, vocab)
    return _seeded(name, lambda: EsmForMaskedLM(config)).eval(), _saprot_tokenizer(vocab)


def build_random_esmc(name: str = "random-esmc-tiny", architecture: dict | None = None):
    """A random-weight ESM C (``EsmcForMaskedLM``) and transformers' ``EsmcTokenizer``."""
    from transformers import EsmcConfig, EsmcForMaskedLM, EsmcTokenizer

    a = {**TINY_ESMC_ARCHITECTURE, **(architecture or {})}
    config = EsmcConfig(vocab_size=64, hidden_size=a["embed_dim"], num_hidden_layers=a["num_layers"],
                        num_attention_heads=a["attention_heads"], intermediate_size=a["intermediate"])
    return _seeded(name, lambda: EsmcForMaskedLM(config)).eval(), EsmcTokenizer()


# ------------------------------------------------------------------------------------------------
# the adapter the scoring engine runs
# ------------------------------------------------------------------------------------------------
_ADAPTER = None


def wrap_masked_lm(model, layers, groups: list[list[int]] | None = None):
    """``model`` (a transformers masked LM) as the scoring engine runs models: ``adapter(tokens,
    repr_layers=())`` returns ``{"logits", "representations"}``. With ``groups`` (token ids of each amino
    acid), the logits become per-amino-acid log-probabilities (a log-sum-exp over each group) and a last
    column for all other tokens."""
    global _ADAPTER
    if _ADAPTER is None:
        _ADAPTER = _adapter_class()
    return _ADAPTER(model, layers, groups)


def _adapter_class():
    import torch

    class MaskedLMAdapter(torch.nn.Module):
        def __init__(self, model, layers, groups):
            super().__init__()
            self.inner = model
            self.layers = layers
            self.num_layers = len(layers)
            self.reduce = groups is not None
            if groups is not None:
                grouped = {t for group in groups for t in group}
                vocabulary = model.config.vocab_size
                self.register_buffer("groups", torch.tensor(groups, dtype=torch.long), persistent=False)
                self.register_buffer("rest", torch.tensor([t for t in range(vocabulary) if t not in grouped],
                                                          dtype=torch.long), persistent=False)

        def forward(self, tokens, repr_layers=()):
            out = self.inner(input_ids=tokens, output_hidden_states=bool(repr_layers))
            logits = out.logits
            if self.reduce:
                logp = torch.log_softmax(logits.float(), dim=-1)
                per_amino_acid = logp[..., self.groups].logsumexp(dim=-1)
                rest = logp[..., self.rest].logsumexp(dim=-1, keepdim=True)
                logits = torch.cat([per_amino_acid, rest], dim=-1)
            result = {"logits": logits}
            if repr_layers:
                result["representations"] = {layer: out.hidden_states[layer] for layer in repr_layers}
            return result

    return MaskedLMAdapter


def _load_pretrained(spec: ModelSpec):
    folder = snapshot_folder(spec)
    try:
        if spec.family == "saprot":
            from transformers import EsmForMaskedLM, EsmTokenizer

            model = EsmForMaskedLM.from_pretrained(str(folder), low_cpu_mem_usage=True)
            tokenizer = EsmTokenizer.from_pretrained(str(folder))
        else:
            from transformers import EsmcForMaskedLM, EsmcTokenizer

            model = EsmcForMaskedLM.from_pretrained(str(folder), low_cpu_mem_usage=True)
            tokenizer = EsmcTokenizer()  # the vocabulary every ESM C checkpoint shares
    except Exception as exc:  # noqa: BLE001 - a broken folder is the user's to fix
        first = " ".join(str(exc).split())[:300]
        raise ModelUnavailableError(f"{spec.name}: cannot load it from {folder} ({first})") from None
    wrong = architecture_mismatches(spec, model.config)  # an imported folder under a name of its own: none
    if wrong:
        raise ModelUnavailableError(f"{folder}: this is not {spec.name}: {', '.join(wrong)}; remove it and "
                                    f"download or import the right model")
    return model, tokenizer, folder


def load_hf_scoring(spec: ModelSpec, device: str | Any = "auto", precision: str = "auto") -> LoadedModel:
    """SaProt or ESM C on ``device``, wrapped for the scoring engine (see the module notes).

    float16 on CUDA, float32 elsewhere (``precision`` overrides: ``float32``, ``float16``, ``bfloat16``).

    Raises
    ------
    ModelUnavailableError
        Weights not on disk (the message says how to get them), another architecture under this name, or a
        random model while random models are disabled.
    """
    dev = select_device(device)
    dtype = choose_dtype(dev, precision)
    if spec.is_random:
        require_random_enabled(spec)
        build = build_random_saprot if spec.family == "saprot" else build_random_esmc
        model, tokenizer = build(spec.name, spec.architecture)
        identity = f"RANDOM WEIGHTS (seeded by the name {spec.name!r})"
    else:
        model, tokenizer, folder = _load_pretrained(spec)
        identity = _folder_identity(folder)
    if spec.family == "saprot":
        vocabulary = StructureAwareVocabulary(tokenizer.get_vocab(), tokenizer.cls_token_id,
                                              tokenizer.eos_token_id)
        layers = model.esm.encoder.layer
        groups = vocabulary.groups()
    else:
        vocabulary = ResidueVocabulary(tokenizer.get_vocab(), tokenizer.mask_token_id, tokenizer.cls_token_id,
                                       tokenizer.eos_token_id)
        layers = model.esmc.layers
        groups = None
    model = model.eval().to(device=dev, dtype=dtype)
    adapter = wrap_masked_lm(model, layers, groups).to(dev)
    for parameter in adapter.parameters():
        parameter.requires_grad_(False)
    return LoadedModel(spec=spec, model=adapter, device=dev, dtype=dtype, alphabet=vocabulary,
                       tokenizer=tokenizer, weights_identity=identity)


def _folder_identity(folder: Path) -> str:
    """The SHA-256 of the folder's weights file(s), as a result's provenance records them."""
    files = sorted(p for p in folder.iterdir() if p.suffix in (".safetensors", ".bin") and p.is_file())
    if not files:
        raise UserError(f"{folder}: no weights file")
    return "; ".join(file_identity(p) for p in files)
