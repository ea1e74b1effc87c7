"""Hugging Face models (ESMFold, ProtGPT2) in the registry and weights functions: import, on disk, remove."""

from __future__ import annotations

import shutil

import pytest

from protein_studio.core.errors import JobCancelled, ModelUnavailableError, UserError
from protein_studio.core.job_context import JobContext
from protein_studio.models import locations, snapshots, weights
from protein_studio.models.catalog import all_models, get_spec


def _cache_snapshot(cache, hub_id, source, commit="0123abcd"):
    """Lay ``source`` out as the hub cache does (``models--org--name/snapshots/<commit>``, ``refs/main``)."""
    repo = cache / ("models--" + hub_id.replace("/", "--"))
    shutil.copytree(source, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    return repo / "snapshots" / commit


def test_imported_esmfold_counts_as_on_disk_until_removed(hf_folders, weights_dir, hf_cache):
    spec = get_spec("esmfold_v1")
    assert not weights.is_on_disk(spec)
    assert weights.import_weights(hf_folders.esmfold) == [weights_dir / "huggingface" / "esmfold_v1"]
    assert weights.is_on_disk(spec) and weights.is_on_disk("esmfold_v1")
    assert [s.name for s in all_models("folding")].count("esmfold_v1") == 1  # not listed twice
    calls = []
    ctx = JobContext(on_progress=lambda *call: calls.append(call))
    assert weights.download(spec, ctx) == [weights_dir / "huggingface" / "esmfold_v1"]  # no network needed
    size = sum(f.stat().st_size for f in hf_folders.esmfold.iterdir())
    assert calls == [(size, size, "esmfold_v1 is already on disk")]
    assert weights.remove("esmfold_v1") == [weights_dir / "huggingface" / "esmfold_v1"]
    assert not weights.is_on_disk(spec)
    with pytest.raises(UserError, match="esmfold_v1 is not on disk .*models--facebook--esmfold_v1"):
        weights.remove("esmfold_v1")


def test_imported_gpt2_checkpoint_is_a_model_of_its_own(hf_folders, weights_dir, hf_cache):
    assert "my-protein-gpt" not in {s.name for s in all_models()}
    [folder] = weights.import_weights(hf_folders.gpt)
    assert folder == weights_dir / "huggingface" / "my-protein-gpt"
    spec = get_spec("my-protein-gpt")
    assert (spec.task, spec.family, spec.source, spec.hub_id) == (
        "generation", "protgpt2", "huggingface", None)
    assert spec.description.startswith("imported from")
    assert [s.name for s in all_models("generation")][-1] == "my-protein-gpt"
    assert "my-protein-gpt" not in {s.name for s in all_models("folding")}
    assert weights.is_on_disk(spec)
    assert weights.remove("my-protein-gpt") == [folder]
    assert not folder.exists() and "my-protein-gpt" not in {s.name for s in all_models()}
    with pytest.raises(UserError, match="unknown model 'my-protein-gpt'"):
        get_spec("my-protein-gpt")


def test_a_hub_cache_snapshot_counts_and_imports_under_its_registry_name(hf_folders, weights_dir, hf_cache):
    snapshot = _cache_snapshot(hf_cache, "nferruz/ProtGPT2", hf_folders.gpt)
    assert weights.is_on_disk("protgpt2")
    # a snapshot copied from another machine's cache imports under the registry name of its repository
    assert weights.import_weights(snapshot) == [weights_dir / "huggingface" / "protgpt2"]
    assert locations.find_local_snapshot(get_spec("protgpt2")) == weights_dir / "huggingface" / "protgpt2"
    removed = weights.remove("protgpt2")
    assert removed == [weights_dir / "huggingface" / "protgpt2", hf_cache / "models--nferruz--ProtGPT2"]
    assert not any(p.exists() for p in removed) and not weights.is_on_disk("protgpt2")


def test_an_incomplete_snapshot_is_not_on_disk(hf_folders, weights_dir, hf_cache, tmp_path):
    partial = tmp_path / "esmfold-config-only"
    partial.mkdir()
    shutil.copy(hf_folders.esmfold / "config.json", partial)
    _cache_snapshot(hf_cache, "facebook/esmfold_v1", partial)
    assert not weights.is_on_disk("esmfold_v1")
    with pytest.raises(UserError, match="no model.safetensors"):
        weights.import_weights(partial)


@pytest.mark.parametrize("name, message", [
    ("../escape", "cannot name an imported model"),
    ("protgpt2", "holds a esmfold-family model, but protgpt2 is a protgpt2-family model"),
    ("esm2_t6_8M_UR50D", "but esm2_t6_8M_UR50D is a esm2-family model"),
    ("random-esmfold-tiny", "is a random-weight model"),
])
def test_import_refuses_names_that_do_not_fit(hf_folders, weights_dir, name, message):
    with pytest.raises(UserError, match=message):
        weights.import_weights(hf_folders.esmfold, name)
    assert not (weights_dir / "huggingface").exists() or not any((weights_dir / "huggingface").iterdir())


def test_import_of_a_folder_that_is_not_a_model(tmp_path, weights_dir):
    with pytest.raises(UserError, match="no config.json"):
        weights.import_weights(tmp_path)
    with pytest.raises(UserError, match="import the snapshot folder holding its config.json"):
        weights.import_checkpoint(__file__, "esmfold_v1")


def test_hidden_partial_imports_are_not_models(hf_folders, weights_dir):
    shutil.copytree(hf_folders.gpt, weights_dir / "huggingface" / ".my-protein-gpt.partial")
    assert snapshots.imported_hf_models() == []
    with pytest.raises(UserError, match="unknown model"):
        get_spec(".my-protein-gpt.partial")


def test_offline_download_of_a_hub_model_says_how_to_import(weights_dir, hf_cache, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailableError, match="HF_HUB_OFFLINE is set.*protein-studio models import"):
        weights.download("protgpt2", JobContext())
    message = locations.not_on_disk_message(get_spec("esmfold_v1"), "connection refused")
    assert "models--facebook--esmfold_v1" in message and "download failed (connection refused)" in message
    assert "protein-studio models import esmfold_v1/" in message


def test_hub_download_reports_bytes_of_the_total_and_lands_in_the_cache(fake_hub, weights_dir, hf_cache):
    calls = []
    ctx = JobContext(on_progress=lambda *call: calls.append(call))
    [snapshot] = weights.download("esmfold_v1", ctx)
    total = sum(len(body) for body in fake_hub.files.values())
    assert calls[0] == (0, total, "Downloading esmfold_v1 (facebook/esmfold_v1)")
    assert calls[-1] == (total, total, "Downloading esmfold_v1 (facebook/esmfold_v1)")
    assert [done for done, _, _ in calls] == sorted(done for done, _, _ in calls)
    assert {t for _, t, _ in calls} == {total}
    assert snapshot.parent.parent == hf_cache / "models--facebook--esmfold_v1"
    assert {p.name: p.read_bytes() for p in snapshot.iterdir()} == fake_hub.files
    assert weights.is_on_disk("esmfold_v1") and not (weights_dir / "huggingface").exists()
    assert weights.remove("esmfold_v1") == [hf_cache / "models--facebook--esmfold_v1"]


def test_cancelled_hub_download_is_not_on_disk_and_resumes(fake_hub, hf_cache, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", 8192)  # many progress updates per file
    seen = []

    def cancel_after_some_bytes(done, total, text):
        seen.append(done)
        if done > 0:
            ctx.cancel()

    ctx = JobContext(on_progress=cancel_after_some_bytes)
    with pytest.raises(JobCancelled):
        weights.download("esmfold_v1", ctx)
    assert 0 < max(seen) < sum(len(body) for body in fake_hub.files.values())
    assert not weights.is_on_disk("esmfold_v1")
    [snapshot] = weights.download("esmfold_v1", JobContext())
    assert {p.name: p.read_bytes() for p in snapshot.iterdir()} == fake_hub.files


def test_an_import_copies_weights_config_and_tokenizer_only(hf_folders, weights_dir, hf_cache):
    """A snapshot's code (modeling_*.py) and anything else never reach the weights folder."""
    source = hf_folders.gpt
    (source / "modeling_evil.py").write_text("import os; os.system('echo pwned')\n")
    (source / "README.md").write_text("# notes\n")
    (source / "scripts").mkdir(exist_ok=True)
    (source / "scripts" / "run.sh").write_text("echo\n")
    kept = sorted(p.name for p in source.iterdir() if p.is_file() and p.suffix in snapshots.IMPORTED_SUFFIXES)
    [folder] = weights.import_weights(source)
    assert sorted(p.name for p in folder.iterdir()) == kept
    assert not list(folder.rglob("*.py")) and not (folder / "scripts").exists()
    assert get_spec(folder.name).task == "generation"  # and it still loads as a model of its own
    weights.remove(folder.name)


@pytest.mark.parametrize("config, message", [(b'{"model_type": "\xff\xfe gpt2"}', "not UTF-8 text"),
                                             (b"[1, 2]", "not a JSON object"), (b"{", "cannot read the model")])
def test_a_snapshot_with_a_bad_config_is_one_message(tmp_path, weights_dir, config, message):
    folder = tmp_path / "snapshot"
    folder.mkdir()
    (folder / "config.json").write_bytes(config)
    (folder / "model.safetensors").write_bytes(b"")
    with pytest.raises(UserError, match=message):
        weights.import_weights(folder)
