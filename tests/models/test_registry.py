"""The model registry: names, sizes, architectures, random models behind an environment switch."""

from __future__ import annotations

import pytest

from protein_studio.core.errors import UserError
from protein_studio.models.catalog import all_models, get_spec
from protein_studio.models.registry import random_models_enabled

REAL_SCORING = [
    "esm2_t6_8M_UR50D", "esm2_t12_35M_UR50D", "esm2_t30_150M_UR50D", "esm2_t33_650M_UR50D",
    "esm2_t36_3B_UR50D", "esm2_t48_15B_UR50D", "esm1b_t33_650M_UR50S",
    *[f"esm1v_t33_650M_UR90S_{i}" for i in range(1, 6)],
]
HF_SCORING = ["saprot_35M_AF2", "saprot_650M_AF2", "esmc_300m", "esmc_600m"]
RANDOM = ["random-esm2-tiny", "random-esm2-8M", "random-esm2-35M", "random-esm2-150M",
          "random-esm2-650M", "random-esm1b-tiny", "random-saprot-tiny", "random-esmc-tiny",
          "random-esmfold-tiny", "random-protgpt2-tiny"]


def test_every_fair_esm_scoring_checkpoint_is_listed_with_its_facts():
    scoring = [s for s in all_models("scoring") if not s.is_random and s.source == "fair-esm"]
    assert [s.name for s in scoring] == REAL_SCORING
    for spec in scoring:
        assert spec.source == "fair-esm" and spec.license == "MIT" and spec.max_tokens == 1024
        assert spec.parameters > 7_000_000 and spec.download_bytes > 4 * spec.parameters // 2 - 1
        assert spec.files[0] == f"{spec.name}.pt"
        layers = int(spec.name.split("_")[1][1:])
        assert spec.architecture["num_layers"] == layers
        assert spec.architecture["embed_dim"] % spec.architecture["attention_heads"] == 0
    assert get_spec("esm1v_t33_650M_UR90S_2").files == ("esm1v_t33_650M_UR90S_2.pt",)
    assert get_spec("esm1b_t33_650M_UR50S").architecture["positions"] == "learned"
    big = get_spec("esm2_t48_15B_UR50D")
    assert big.memory_bytes > 60e9 and "GB" in big.description


def test_parameter_counts_are_those_of_the_fair_esm_modules():
    import torch
    from esm.data import Alphabet
    from esm.model.esm2 import ESM2

    alphabet = Alphabet.from_architecture("ESM-1b")
    for spec in all_models("scoring"):
        if spec.family != "esm2" or spec.is_random:
            continue
        arch = spec.architecture
        with torch.device("meta"):
            model = ESM2(arch["num_layers"], arch["embed_dim"], arch["attention_heads"], alphabet)
        assert sum(p.numel() for p in model.parameters()) == spec.parameters, spec.name


def test_saprot_and_esmc_are_listed_with_parameter_counts_of_their_transformers_modules():
    import torch
    import transformers

    from protein_studio.models.hf_scoring import saprot_vocabulary_list

    hf = [s for s in all_models("scoring") if s.source == "huggingface"]
    assert [s.name for s in hf] == HF_SCORING
    for spec in hf:
        a = spec.architecture
        assert spec.license == "MIT" and spec.hub_id.split("/")[0] in ("westlake-repl", "biohub")
        with torch.device("meta"):
            if spec.family == "saprot":
                config = transformers.EsmConfig(
                    vocab_size=len(saprot_vocabulary_list()), hidden_size=a["embed_dim"],
                    num_hidden_layers=a["num_layers"], num_attention_heads=a["attention_heads"],
                    intermediate_size=4 * a["embed_dim"], position_embedding_type="rotary",
                    max_position_embeddings=1026)
                model = transformers.EsmForMaskedLM(config)
            else:
                width = a["embed_dim"]
                config = transformers.EsmcConfig(hidden_size=width, num_hidden_layers=a["num_layers"],
                                                 num_attention_heads=a["attention_heads"],
                                                 intermediate_size=int(width * 8 / 3 + 255) // 256 * 256)
                model = transformers.EsmcForMaskedLM(config)
        assert sum(p.numel() for p in model.parameters()) == spec.parameters, spec.name
    assert get_spec("saprot_650M_AF2").max_tokens == 1026 and get_spec("esmc_600m").max_tokens == 2048


def test_other_tasks():
    fold = get_spec("esmfold_v1")
    assert (fold.task, fold.source, fold.hub_id, fold.license) == (
        "folding", "huggingface", "facebook/esmfold_v1", "MIT")
    gen = get_spec("protgpt2")
    assert (gen.task, gen.hub_id, gen.parameters, gen.license) == (
        "generation", "nferruz/ProtGPT2", 738_000_000, "Apache-2.0")
    assert {s.name for s in all_models("generation")} == {"protgpt2", "random-protgpt2-tiny"}


def test_random_models_only_when_enabled(monkeypatch):
    assert random_models_enabled()  # the suite's conftest enables them
    names = [s.name for s in all_models()]
    assert set(RANDOM) <= set(names)
    for name in RANDOM:
        spec = get_spec(name)
        assert spec.is_random and spec.source == "random" and spec.download_bytes == 0
        assert "RANDOM WEIGHTS" in spec.display_name
    assert get_spec("random-esm1b-tiny").max_tokens == 1024
    monkeypatch.setenv("PROTEIN_STUDIO_RANDOM_MODELS", "0")
    assert not random_models_enabled()
    assert not any(s.is_random for s in all_models())
    with pytest.raises(UserError, match="PROTEIN_STUDIO_RANDOM_MODELS=1"):
        get_spec("random-esm2-8M")
    monkeypatch.delenv("PROTEIN_STUDIO_RANDOM_MODELS")
    assert not any(s.is_random for s in all_models())


def test_unknown_name_lists_known_ones():
    with pytest.raises(UserError, match="unknown model 'esm3'.*esm2_t33_650M_UR50D"):
        get_spec("esm3")


def test_random_models_have_the_parameter_counts_of_the_modules_built_for_them():
    import torch

    from protein_studio.models.esm_loading import build_random_esm
    from protein_studio.models.hf_loading import build_random_esmfold, build_random_protgpt2
    from protein_studio.models.hf_scoring import build_random_esmc, build_random_saprot

    specs = [s for s in all_models() if s.is_random]
    assert {s.name for s in specs} == set(RANDOM)
    for spec in specs:
        if spec.family == "esmfold":
            model = build_random_esmfold(spec.name, spec.architecture)
        elif spec.family == "protgpt2":
            model, _tokenizer = build_random_protgpt2(spec.name, spec.architecture)
            assert spec.max_tokens == model.config.n_positions
        elif spec.family == "saprot":
            model, _tokenizer = build_random_saprot(spec.name, spec.architecture)
        elif spec.family == "esmc":
            model, _tokenizer = build_random_esmc(spec.name, spec.architecture)
        else:
            with torch.device("meta"):  # the 650M one would take seconds to initialise for real
                model, _alphabet = build_random_esm(spec)
        assert sum(p.numel() for p in model.parameters()) == spec.parameters, spec.name
