"""load_model dispatches on the registry spec: ESM families to load_esm, folding and generation to the
Hugging Face loaders; unknown names and disabled random models fail with a clear message."""

from __future__ import annotations

import pytest

from protein_studio.core.errors import ModelUnavailableError, UserError
from protein_studio.models.loader import load_model


def test_esm_model_goes_to_the_esm_loader():
    loaded = load_model("random-esm2-tiny", "cpu")
    assert loaded.spec.name == "random-esm2-tiny"
    assert loaded.alphabet is not None and loaded.tokenizer is None
    assert type(loaded.model).__module__.startswith("esm.")


def test_folding_model_goes_to_the_hf_loader():
    loaded = load_model("random-esmfold-tiny", "cpu")
    assert loaded.spec.task == "folding"
    assert type(loaded.model).__name__ == "EsmForProteinFolding"


def test_generation_model_goes_to_the_hf_loader():
    loaded = load_model("random-protgpt2-tiny", "cpu")
    assert loaded.spec.task == "generation"
    assert type(loaded.model).__name__ == "GPT2LMHeadModel"
    assert loaded.tokenizer is not None


def test_unknown_name_lists_the_known_models():
    with pytest.raises(UserError, match="unknown model 'no-such-model'.*random-esm2-tiny"):
        load_model("no-such-model", "cpu")


def test_random_models_need_the_switch(monkeypatch):
    monkeypatch.delenv("PROTEIN_STUDIO_RANDOM_MODELS")
    with pytest.raises((UserError, ModelUnavailableError), match="PROTEIN_STUDIO_RANDOM_MODELS=1"):
        load_model("random-esmfold-tiny", "cpu")


def test_real_model_not_on_disk_says_so():
    with pytest.raises(ModelUnavailableError, match="esmfold_v1"):
        load_model("esmfold_v1", "cpu")
