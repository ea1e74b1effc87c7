"""Weights folder, download (against a server on 127.0.0.1), removal."""

from __future__ import annotations

from pathlib import Path

import pytest

from protein_studio.core.errors import JobCancelled, ModelUnavailableError, UserError
from protein_studio.core.storage.settings import Settings, save_settings
from protein_studio.core.job_context import JobContext
from protein_studio.models import locations, weights
from protein_studio.models.catalog import get_spec

def _recording_context():
    calls = []
    return JobContext(on_progress=lambda done, total, text: calls.append((done, total, text))), calls


def test_download_reports_bytes_and_renames_when_complete(server, tmp_path):
    ctx, calls = _recording_context()
    dest = tmp_path / "sub" / "model.pt"
    assert weights.download_file(f"{server.url}/file", dest, ctx, chunk_size=1000) == dest
    assert dest.read_bytes() == server.body
    assert not dest.with_name("model.pt.partial").exists()
    assert calls[0][:2] == (0, len(server.body))
    assert calls[-1][:2] == (len(server.body), len(server.body))
    assert [c[0] for c in calls] == sorted(c[0] for c in calls) and len(calls) == 12
    assert "model.pt" in calls[-1][2]


def test_cancelled_download_leaves_no_file(server, tmp_path):
    ctx = JobContext()
    ctx._on_progress = lambda done, total, text: ctx.cancel() if done >= 2000 else None
    dest = tmp_path / "model.pt"
    with pytest.raises(JobCancelled):
        weights.download_file(f"{server.url}/file", dest, ctx, chunk_size=1000)
    assert list(tmp_path.iterdir()) == []


def test_short_read_is_rejected(server, tmp_path):
    dest = tmp_path / "model.pt"
    with pytest.raises(ModelUnavailableError, match=r"3000 .*10240|broke off"):
        weights.download_file(f"{server.url}/short", dest, JobContext(), chunk_size=1000)
    assert list(tmp_path.iterdir()) == []


def test_download_without_length_reports_total_zero(server, tmp_path):
    ctx, calls = _recording_context()
    dest = weights.download_file(f"{server.url}/nolength", tmp_path / "x.pt", ctx, chunk_size=4096)
    assert dest.read_bytes() == server.body and {c[1] for c in calls} == {0}


def test_http_error_names_the_url(server, tmp_path):
    with pytest.raises(ModelUnavailableError, match="404"):
        weights.download_file(f"{server.url}/missing", tmp_path / "x.pt", JobContext())
    assert list(tmp_path.iterdir()) == []


def test_model_download_fetches_checkpoint_and_regression(server, weights_dir):
    spec = get_spec("esm2_t6_8M_UR50D")
    ctx, calls = _recording_context()
    files = weights.download(spec, ctx, base_url=f"{server.url}/fair-esm/")
    assert files == [weights_dir / "esm2_t6_8M_UR50D.pt",
                     weights_dir / "esm2_t6_8M_UR50D-contact-regression.pt"]
    assert all(f.read_bytes() == server.body for f in files)
    assert weights.is_on_disk(spec)
    assert any("esm2_t6_8M_UR50D" in text for _, _, text in calls)
    again_ctx, again = _recording_context()
    assert weights.download(spec, again_ctx, base_url="http://127.0.0.1:9/unused/") == files
    assert all("already on disk" in text for _, _, text in again)
    assert weights.remove(spec.name) == files
    assert not weights.is_on_disk(spec)
    with pytest.raises(UserError, match="not on disk"):
        weights.remove(spec.name)


def test_failed_model_download_explains_how_to_import(server, weights_dir):
    spec = get_spec("esm2_t12_35M_UR50D")  # the test server has no such file
    with pytest.raises(ModelUnavailableError) as info:
        weights.download(spec, JobContext(), base_url=f"{server.url}/fair-esm/")
    message = str(info.value)
    assert "esm2_t12_35M_UR50D" in message and "404" in message
    assert str(weights_dir / "esm2_t12_35M_UR50D.pt") in message
    assert "protein-studio models import PATH" in message
    assert not weights_dir.exists() or not any(weights_dir.iterdir())


def test_missing_regression_file_is_only_a_warning(server, weights_dir):
    spec = get_spec("esm2_t6_8M_UR50D")
    ctx = JobContext()
    files = weights.download(spec, ctx, base_url=f"{server.url}/no-regression/")
    assert files == [locations.checkpoint_path(spec)] and not locations.regression_path(spec).exists()
    assert len(ctx.warnings) == 1 and "contact-regression" in ctx.warnings[0]


def test_esm1v_has_no_regression_file():
    urls = weights.download_urls(get_spec("esm1v_t33_650M_UR90S_3"))
    assert [u for u, _ in urls] == [
        "https://dl.fbaipublicfiles.com/fair-esm/models/esm1v_t33_650M_UR90S_3.pt"]
    assert len(weights.download_urls(get_spec("esm1b_t33_650M_UR50S"))) == 2


def test_weights_dir_precedence(tmp_path, monkeypatch):
    monkeypatch.delenv("PROTEIN_STUDIO_WEIGHTS_DIR", raising=False)
    monkeypatch.setenv("PROTEIN_STUDIO_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    assert locations.weights_dir() == tmp_path / "torch-home" / "hub" / "checkpoints"
    save_settings(Settings(weights_dir=str(tmp_path / "chosen")))
    assert locations.weights_dir() == tmp_path / "chosen"
    monkeypatch.setenv("PROTEIN_STUDIO_WEIGHTS_DIR", str(tmp_path / "env"))
    assert locations.weights_dir() == tmp_path / "env"


def test_default_dir_is_the_one_torch_hub_uses(tmp_path, monkeypatch):
    import torch

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    assert locations.default_weights_dir() == Path(torch.hub.get_dir()) / "checkpoints"
    monkeypatch.delenv("TORCH_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert locations.default_weights_dir() == Path(torch.hub.get_dir()) / "checkpoints"


def test_random_and_unknown_models_have_nothing_to_fetch(tmp_path):
    with pytest.raises(UserError, match="random weights"):
        weights.download("random-esm2-8M", JobContext())
    with pytest.raises(UserError, match="random weights"):
        weights.remove("random-esm2-8M")
    assert weights.is_on_disk("random-esm2-8M")
    source = tmp_path / "mystery.pt"
    source.write_bytes(b"x")
    with pytest.raises(UserError, match="does not say which model.*--name"):
        weights.import_checkpoint(source)
    with pytest.raises(UserError, match="no such checkpoint"):
        weights.import_checkpoint(tmp_path / "absent.pt")


def test_huggingface_models_are_looked_up_in_the_hf_cache():
    spec = get_spec("esmfold_v1")
    assert spec.source == "huggingface" and spec.hub_id == "facebook/esmfold_v1"
    assert not weights.is_on_disk(spec)  # the suite's HF_HOME is an empty temporary folder
    with pytest.raises(ModelUnavailableError, match="esmfold_v1.*facebook/esmfold_v1"):
        weights.download(spec, JobContext())  # HF_HUB_OFFLINE=1 in the test suite
