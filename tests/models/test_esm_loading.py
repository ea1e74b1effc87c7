"""Safe loading of fair-esm checkpoints and seeded random-weight ESM models."""

from __future__ import annotations

import os
import pickle
import traceback

import pytest
import torch

from protein_studio.core.errors import JobCancelled, ModelUnavailableError, UserError
from protein_studio.core.job_context import JobContext, cancel_point, cancellable
from protein_studio.models import esm_loading, locations, weights
from protein_studio.models.esm_loading import (build_esm_from_checkpoint, build_random_esm, load_esm,
                                               safe_torch_load, validate_checkpoint)
from protein_studio.models.catalog import get_spec
from fair_esm_format import fair_esm_checkpoint, save_fair_esm_checkpoint


def _logits(loaded, sequence="MKTAYIAKQRQISFVKSHFSRQ"):
    _, _, tokens = loaded.alphabet.get_batch_converter()([("p", sequence)])
    with torch.inference_mode():
        return loaded.model(tokens.to(loaded.device))["logits"].float()


class _WritesFile:
    """Unpickling this would run os.system and create ``marker``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("fmt", ["zip", "pickle-2", "pickle-5"])
def test_malicious_pickle_is_refused_without_running(tmp_path, fmt):
    marker = tmp_path / "pwned"
    path = tmp_path / "esm2_t6_8M_UR50D.pt"
    if fmt == "zip":
        torch.save({"model": {"w": torch.zeros(2)}, "args": _WritesFile(marker)}, path)
    else:  # a bare pickle, as torch's legacy format and hand-made files are
        path.write_bytes(pickle.dumps({"model": {}, "args": _WritesFile(marker)}, protocol=int(fmt[-1])))
    expected = r"refused to load.*could run code" if fmt == "pickle-5" else r"refused to load.*posix\.system"
    with pytest.raises(ModelUnavailableError, match=expected):
        safe_torch_load(path)
    assert not marker.exists()
    # the payload is real: a plain unpickling would have created the marker
    if fmt == "pickle-2":
        pickle.loads(path.read_bytes())
        assert marker.exists()


def test_malicious_checkpoint_cannot_be_imported(tmp_path, weights_dir):
    marker = tmp_path / "pwned"
    path = tmp_path / "esm2_t6_8M_UR50D.pt"
    torch.save({"model": {}, "cfg": {"model": _WritesFile(marker)}}, path)
    with pytest.raises(ModelUnavailableError, match="refused"):
        weights.import_checkpoint(path)
    assert not marker.exists()
    assert not locations.checkpoint_path(get_spec("esm2_t6_8M_UR50D")).exists()


def test_unreadable_files_give_a_clear_error(tmp_path):
    garbage = tmp_path / "x.pt"
    garbage.write_bytes(b"this is not a checkpoint")
    with pytest.raises(ModelUnavailableError, match="not a readable PyTorch checkpoint"):
        safe_torch_load(garbage)
    good = tmp_path / "good.pt"
    torch.save({"model": {"w": torch.arange(100000.0)}}, good)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ModelUnavailableError, match="not a readable PyTorch checkpoint"):
        safe_torch_load(truncated)


def test_namespace_settings_are_allowed(tmp_path):
    import argparse

    path = tmp_path / "c.pt"
    torch.save({"args": argparse.Namespace(arch="roberta_large", layers=2), "model": {}}, path)
    assert safe_torch_load(path)["args"].layers == 2


def test_random_models_are_seeded_by_name():
    spec = get_spec("random-esm2-tiny")
    first, _ = build_random_esm(spec)
    second, _ = build_random_esm(spec)
    for (k1, a), (k2, b) in zip(first.state_dict().items(), second.state_dict().items()):
        assert k1 == k2 and torch.equal(a, b)
    other, _ = build_random_esm(get_spec("random-esm2-8M"))
    assert not torch.equal(first.embed_tokens.weight, other.embed_tokens.weight[:, :64])
    # building does not disturb the caller's random stream
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    build_random_esm(spec)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("name", ["random-esm2-tiny", "random-esm2-8M", "random-esm1b-tiny"])
def test_random_models_match_registry(name):
    loaded = load_esm(name, device="cpu")
    spec = loaded.spec
    assert spec.is_random and "RANDOM WEIGHTS" in spec.display_name
    assert sum(p.numel() for p in loaded.model.parameters()) == spec.parameters
    assert not loaded.model.training
    assert not any(p.requires_grad for p in loaded.model.parameters())
    assert loaded.dtype == torch.float32 and loaded.device.type == "cpu"
    assert loaded.alphabet.get_idx("<mask>") == loaded.model.mask_idx
    logits = _logits(loaded)
    assert logits.shape == (1, 24, len(loaded.alphabet)) and torch.isfinite(logits).all()


def test_random_esm2_architectures_match_real_ones():
    for label, real in [("8M", "esm2_t6_8M_UR50D"), ("35M", "esm2_t12_35M_UR50D"),
                        ("150M", "esm2_t30_150M_UR50D"), ("650M", "esm2_t33_650M_UR50D")]:
        random_spec, real_spec = get_spec(f"random-esm2-{label}"), get_spec(real)
        for key in ("num_layers", "embed_dim", "attention_heads"):
            assert random_spec.architecture[key] == real_spec.architecture[key]
        assert random_spec.parameters == real_spec.parameters


def test_esm1b_random_model_has_learned_positions_up_to_1024_tokens():
    loaded = load_esm("random-esm1b-tiny", device="cpu")
    assert loaded.model.model_version == "ESM-1b"
    assert loaded.model.embed_positions.max_positions == 1024
    assert torch.isfinite(_logits(loaded, "A" * 1022)).all()
    with pytest.raises(ValueError, match="above maximum"):
        _logits(loaded, "A" * 1023)


@pytest.mark.parametrize("with_regression", [True, False])
def test_fair_esm_checkpoint_imports_and_gives_the_same_logits(tmp_path, weights_dir, with_regression):
    original = load_esm("random-esm2-8M", device="cpu")
    source = save_fair_esm_checkpoint(original.model, "esm2", tmp_path / "dl" / "esm2_t6_8M_UR50D.pt",
                                      with_regression=with_regression)
    written = weights.import_checkpoint(source)
    spec = get_spec("esm2_t6_8M_UR50D")
    assert written[0] == locations.checkpoint_path(spec) and written[0].is_file()
    assert locations.regression_path(spec).is_file() == with_regression
    assert weights.is_on_disk(spec)
    assert not list(weights_dir.glob("*.partial"))
    loaded = load_esm("esm2_t6_8M_UR50D", device="cpu")
    assert not loaded.spec.is_random and loaded.spec.display_name == "esm2_t6_8M_UR50D"
    assert not loaded.model.training
    assert torch.equal(_logits(loaded), _logits(original))
    regression = loaded.model.contact_head.regression.weight
    assert torch.equal(regression, original.model.contact_head.regression.weight) == with_regression


def test_esm1b_format_builds_the_same_model():
    original = load_esm("random-esm1b-tiny", device="cpu")
    data, regression = fair_esm_checkpoint(original.model, "esm1b")
    spec = get_spec("random-esm1b-tiny")
    validate_checkpoint(spec, data, regression)
    with pytest.raises(UserError, match="not an ESM-1b/ESM-1v checkpoint"):
        validate_checkpoint(get_spec("esm1v_t33_650M_UR90S_1"), fair_esm_checkpoint(
            load_esm("random-esm2-tiny", device="cpu").model, "esm2")[0], source="f.pt")
    with pytest.raises(UserError, match="2 layers, width 64.*esm1b_t33_650M_UR50S has 33 layers"):
        validate_checkpoint(get_spec("esm1b_t33_650M_UR50S"), data, source="f.pt")
    model, alphabet = build_esm_from_checkpoint(spec, data, regression)
    model.eval()
    _, _, tokens = alphabet.get_batch_converter()([("p", "MKTAYIAKQRQISFVKSHFSRQ")])
    with torch.inference_mode():
        assert torch.equal(model(tokens)["logits"], original.model(tokens)["logits"])


def test_import_rejects_another_architecture(tmp_path, weights_dir):
    tiny = load_esm("random-esm2-tiny", device="cpu")
    source = save_fair_esm_checkpoint(tiny.model, "esm2", tmp_path / "esm2_t6_8M_UR50D.pt")
    with pytest.raises(UserError, match="2 layers, width 64.*esm2_t6_8M_UR50D has 6 layers"):
        weights.import_checkpoint(source)
    assert not locations.checkpoint_path(get_spec("esm2_t6_8M_UR50D")).exists()


def test_loading_refuses_another_architecture_under_a_known_name(tmp_path, weights_dir):
    """A 2-layer model saved as esm2_t6_8M_UR50D.pt in the weights folder is not used as that model."""
    tiny = load_esm("random-esm2-tiny", device="cpu")
    save_fair_esm_checkpoint(tiny.model, "esm2", locations.checkpoint_path(get_spec("esm2_t6_8M_UR50D")))
    with pytest.raises(ModelUnavailableError, match="2 layers, width 64.*esm2_t6_8M_UR50D has 6 layers.*"
                                                    "it is not esm2_t6_8M_UR50D"):
        load_esm("esm2_t6_8M_UR50D", device="cpu")


def test_validation_catches_wrong_tensors_without_allocating():
    original = load_esm("random-esm2-8M", device="cpu")
    data, _ = fair_esm_checkpoint(original.model, "esm2")
    spec = get_spec("esm2_t6_8M_UR50D")
    validate_checkpoint(spec, data)  # a correct file passes
    key = "encoder.sentence_encoder.layers.0.fc1.weight"
    fc1 = data["model"][key]
    data["model"][key] = fc1[:-1]
    with pytest.raises(UserError, match="do not fit.*layers.0.fc1.weight"):
        validate_checkpoint(spec, data, source="f.pt")
    del data["model"][key]
    with pytest.raises(UserError, match="do not fit.*layers.0.fc1.weight"):
        validate_checkpoint(spec, data, source="f.pt")
    with pytest.raises(UserError, match="not a fair-esm checkpoint"):
        validate_checkpoint(spec, {"state_dict": {}}, source="f.pt")


def test_missing_weights_name_the_file_and_the_import_command(weights_dir):
    with pytest.raises(ModelUnavailableError) as info:
        load_esm("esm2_t33_650M_UR50D", device="cpu")
    message = str(info.value)
    assert "esm2_t33_650M_UR50D" in message
    assert str(weights_dir / "esm2_t33_650M_UR50D.pt") in message
    assert "protein-studio models import PATH" in message


def test_load_esm_rejects_non_esm_models_and_bad_precision():
    with pytest.raises(UserError, match="folding model"):
        load_esm("esmfold_v1", device="cpu")
    with pytest.raises(UserError, match="float16 is not supported on the CPU"):
        load_esm("random-esm2-tiny", device="cpu", precision="float16")
    bf16 = load_esm("random-esm2-tiny", device="cpu", precision="bfloat16")
    assert bf16.dtype == torch.bfloat16 and bf16.model.embed_tokens.weight.dtype == torch.bfloat16


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_loading_uses_half_precision_close_to_float32():
    cpu = load_esm("random-esm2-8M", device="cpu")
    gpu = load_esm("random-esm2-8M", device="cuda")
    assert gpu.dtype == torch.float16 and gpu.device.type == "cuda"
    a = torch.log_softmax(_logits(cpu), -1)
    b = torch.log_softmax(_logits(gpu), -1).cpu()
    # random weights give logits near 100, where float16 numbers are 0.06 apart: every log-probability
    # (a difference from the largest logit) carries that rounding, so the bound scales with the largest logit
    largest = _logits(cpu).abs().max()
    difference = (a - b).abs().max()
    assert difference <= 2e-3 * largest, (float(difference), float(largest))


class _CancelsAtCheck(JobContext):
    """A job context cancelled at its ``at``-th cancellation check (counting every check)."""

    def __init__(self, at: float):
        super().__init__()
        self.at = at
        self.checks = 0

    def check_cancelled(self):
        self.checks += 1
        if self.checks >= self.at:
            self.cancel_event.set()
        super().check_cancelled()


def _frames(exc) -> list[str]:
    return [frame.name for frame in traceback.extract_tb(exc.__traceback__)]


def test_cancel_stops_the_loading_of_a_model_between_and_inside_its_steps(tmp_path, weights_dir, monkeypatch):
    """Issue 15: a job cancelled while its model loads stopped only when the loading ended. Loading now
    stops at the next step: after reading the file, inside the model's construction (layer by layer),
    or while hashing the file."""
    tiny = load_esm("random-esm2-8M", device="cpu")
    save_fair_esm_checkpoint(tiny.model, "esm2", locations.checkpoint_path(get_spec("esm2_t6_8M_UR50D")))

    full = _CancelsAtCheck(at=float("inf"))
    with cancellable(full, modules=True):
        assert load_esm("esm2_t6_8M_UR50D", device="cpu").spec.name == "esm2_t6_8M_UR50D"
    assert full.checks > 20  # every submodule built, every block hashed

    built = []
    real_build = esm_loading.build_esm_from_checkpoint
    monkeypatch.setattr(esm_loading, "build_esm_from_checkpoint", lambda *a: built.append(1) or real_build(*a))
    locations.checkpoint_path(get_spec("esm2_t6_8M_UR50D")).with_suffix(".pt.sha256").unlink()  # hash again

    with cancellable(_CancelsAtCheck(at=1), modules=True), pytest.raises(JobCancelled) as first:
        load_esm("esm2_t6_8M_UR50D", device="cpu")
    assert built == [] and "safe_torch_load" not in _frames(first.value)  # stopped after reading the file

    with cancellable(_CancelsAtCheck(at=5), modules=True), pytest.raises(JobCancelled) as inside:
        load_esm("esm2_t6_8M_UR50D", device="cpu")
    assert built == [1] and "_on_submodule" in _frames(inside.value)  # inside the constructor

    hashing = full.checks - 2  # the hash's checks come just before the last one
    with cancellable(_CancelsAtCheck(at=hashing), modules=True), pytest.raises(JobCancelled) as hashed:
        load_esm("esm2_t6_8M_UR50D", device="cpu")
    assert "file_identity" in _frames(hashed.value)

    cancel_point()  # outside a job: nothing to cancel, nothing raised
