"""Model import as untrusted input (issue 22): a snapshot folder's links are never followed out of it, special
files are never read, and a configuration that asks for absurd sizes or nests 200,000 deep is one line, at
once, before any model is built."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from protein_studio.cli import main
from protein_studio.core.errors import UserError
from protein_studio.models import snapshots, weights


@pytest.fixture
def gpt_copy(hf_folders, tmp_path):
    folder = tmp_path / "my-protein-gpt"
    shutil.copytree(hf_folders.gpt, folder)
    return folder


def _nothing_imported(weights_dir) -> bool:
    root = weights_dir / "huggingface"
    return not root.exists() or not [p for p in root.iterdir() if not p.name.startswith(".")]


@pytest.mark.parametrize("target", ["/etc/passwd", "/dev/zero"])
def test_a_link_out_of_the_snapshot_is_never_followed(gpt_copy, weights_dir, target):
    (gpt_copy / "merges.txt").unlink(missing_ok=True)  # a tokenizer.json folder has none: the link is extra
    (gpt_copy / "merges.txt").symlink_to(target)
    with pytest.raises(UserError, match=f"merges.txt: a link to {target}, outside the model folder"):
        weights.import_weights(gpt_copy)
    assert _nothing_imported(weights_dir)


def test_a_config_linked_to_dev_zero_or_a_pipe_is_refused_at_once(gpt_copy, weights_dir, tmp_path):
    (gpt_copy / "config.json").unlink()
    os.mkfifo(gpt_copy / "config.json")
    with pytest.raises(UserError, match="config.json: not a regular file"):
        weights.import_weights(gpt_copy)
    assert _nothing_imported(weights_dir)


def test_links_inside_a_hub_cache_repository_are_followed(hf_folders, weights_dir, tmp_path):
    """A hub cache's snapshot is links into its own blobs folder: that is imported as before."""
    repo = tmp_path / "models--someone--ProtGPT2"
    blobs, snapshot = repo / "blobs", repo / "snapshots" / "abc123"
    blobs.mkdir(parents=True)
    snapshot.mkdir(parents=True)
    for file in (f for f in hf_folders.gpt.iterdir() if f.is_file()):
        shutil.copy(file, blobs / file.name)
        (snapshot / file.name).symlink_to(os.path.relpath(blobs / file.name, snapshot))
    [folder] = weights.import_weights(snapshot, "my-gpt")
    assert (folder / "config.json").is_file() and not (folder / "config.json").is_symlink()


@pytest.mark.parametrize("change, message", [
    (lambda c: c.update(n_layer=1_000_000), "n_layer = 1000000 is beyond any protein language model's"),
    (lambda c: c.update(n_embd=10 ** 12), "n_embd = 1000000000000 is beyond"),
    (lambda c: c.update(vocab_size=float("inf")), "vocab_size = inf is beyond"),
])
def test_a_configuration_asking_for_absurd_sizes_is_refused_before_a_model_is_built(gpt_copy, weights_dir, change,
                                                                                  message):
    config = json.loads((gpt_copy / "config.json").read_text())
    change(config)
    (gpt_copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(UserError, match=message):
        weights.import_weights(gpt_copy)
    assert _nothing_imported(weights_dir)


def test_a_configuration_nested_200000_deep_is_one_line(gpt_copy, weights_dir, capsys):
    (gpt_copy / "config.json").write_text("[" * 200_000 + "]" * 200_000)
    assert main(["models", "import", str(gpt_copy)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.endswith("cannot read the model configuration (nested too deeply)") and "internal" not in err
    assert _nothing_imported(weights_dir)


def test_a_huge_configuration_file_is_refused_without_reading_it(gpt_copy, weights_dir):
    with open(gpt_copy / "config.json", "ab") as handle:
        handle.truncate(snapshots.MAX_CONFIG_BYTES + 1)
    with pytest.raises(UserError, match="config.json: is larger than 1024 kB"):
        weights.import_weights(gpt_copy)


def test_a_checkpoint_that_is_a_device_is_named_for_what_it_is(tmp_path, weights_dir):
    link = tmp_path / "esm2_t6_8M_UR50D.pt"
    link.symlink_to("/dev/zero")
    with pytest.raises(UserError, match="is a device .*not a checkpoint file"):
        weights.import_weights(link)
