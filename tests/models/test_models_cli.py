"""``protein-studio models list|download|import|remove``."""

from __future__ import annotations

import socket

import pytest

from fair_esm_format import save_fair_esm_checkpoint
from protein_studio.cli import main
from protein_studio.core.units import format_bytes, format_parameters


def _rows(out: str) -> dict[str, list[str]]:
    table = out.split("\n\n")[0]  # the folders follow the table after a blank line
    return {line.split()[0]: line.split() for line in table.splitlines()[1:]}


def test_list_shows_sizes_licences_lengths_and_disk_state(capsys, weights_dir):
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["NAME", "TASK", "PARAMS", "DOWNLOAD", "LICENCE", "MAX",
                                           "LENGTH", "ON", "DISK", "NOTE"]
    rows = _rows(out)
    assert rows["esm2_t33_650M_UR50D"] == ["esm2_t33_650M_UR50D", "scoring", "651M", "2.6", "GB", "MIT",
                                           "1022", "aa", "no"]
    assert rows["esm1v_t33_650M_UR90S_5"][1:3] == ["scoring", "652M"]
    assert rows["protgpt2"][-1] == "nferruz/ProtGPT2" and "Apache-2.0" in rows["protgpt2"]
    assert rows["random-esm1b-tiny"][-4:] == ["aa", "yes", "RANDOM", "WEIGHTS"]
    assert f"fair-esm weights folder: {weights_dir}" in out
    assert main(["models", "list", "--task", "folding"]) == 0
    assert set(_rows(capsys.readouterr().out)) == {"esmfold_v1", "random-esmfold-tiny"}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_offline_download_fails_with_one_clear_line(capsys, weights_dir, monkeypatch):
    # nothing listens on this port: the same failure as a machine without internet access
    monkeypatch.setenv("PROTEIN_STUDIO_FAIR_ESM_URL", f"http://127.0.0.1:{_closed_port()}/fair-esm/")
    assert main(["models", "download", "esm2_t33_650M_UR50D"]) != 0
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "esm2_t33_650M_UR50D" in err
    assert "protein-studio models import PATH --name esm2_t33_650M_UR50D" in err
    assert str(weights_dir / "esm2_t33_650M_UR50D.pt") in err
    assert not (weights_dir / "esm2_t33_650M_UR50D.pt").exists()


def test_download_from_a_mirror_with_progress(capsys, weights_dir, monkeypatch, server):
    monkeypatch.setenv("PROTEIN_STUDIO_FAIR_ESM_URL", f"{server.url}/fair-esm/")
    assert main(["models", "download", "esm2_t6_8M_UR50D"]) == 0
    captured = capsys.readouterr()
    assert captured.out.split() == [str(weights_dir / "esm2_t6_8M_UR50D.pt"),
                                    str(weights_dir / "esm2_t6_8M_UR50D-contact-regression.pt")]
    assert "esm2_t6_8M_UR50D.pt: 10 kB in" in captured.err


def test_import_list_remove(tmp_path, capsys, weights_dir):
    from protein_studio.models.esm_loading import load_esm

    model = load_esm("random-esm2-8M", device="cpu").model
    source = save_fair_esm_checkpoint(model, "esm2", tmp_path / "downloaded.pt", with_regression=False)
    assert main(["models", "import", str(source)]) == 1
    assert "--name" in capsys.readouterr().err
    assert main(["models", "import", str(source), "--name", "esm2_t6_8M_UR50D"]) == 0
    assert capsys.readouterr().out.strip() == str(weights_dir / "esm2_t6_8M_UR50D.pt")
    main(["models", "list", "--task", "scoring"])
    assert _rows(capsys.readouterr().out)["esm2_t6_8M_UR50D"][-1] == "yes"
    assert main(["models", "remove", "esm2_t6_8M_UR50D"]) == 0
    assert "removed" in capsys.readouterr().out
    assert not (weights_dir / "esm2_t6_8M_UR50D.pt").exists()
    assert main(["models", "remove", "esm2_t6_8M_UR50D"]) == 1
    assert "not on disk" in capsys.readouterr().err


def test_unknown_model_and_missing_action(capsys):
    assert main(["models", "download", "esm9"]) == 1
    assert "unknown model 'esm9'" in capsys.readouterr().err
    assert main(["models"]) == 2


@pytest.mark.parametrize("n, text", [(0, "-"), (31_000_000, "31 MB"), (2_600_000_000, "2.6 GB"),
                                     (512, "512 B")])
def test_format_bytes(n, text):
    assert format_bytes(n) == text


def test_format_parameters():
    assert [format_parameters(n) for n in (7_512_474, 651_043_254, 15_129_100_194, 0)] == [
        "7.5M", "651M", "15.1B", "-"]


def test_hugging_face_folders_import_list_and_remove(capsys, weights_dir, hf_cache, hf_folders):
    assert main(["models", "import", str(hf_folders.esmfold)]) == 0
    assert capsys.readouterr().out.strip() == str(weights_dir / "huggingface" / "esmfold_v1")
    assert main(["models", "import", str(hf_folders.gpt)]) == 0
    capsys.readouterr()
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    rows = _rows(out)
    assert rows["esmfold_v1"][-3:] == ["yes", "facebook/esmfold_v1", "(imported)"]
    assert rows["protgpt2"][-2:] == ["no", "nferruz/ProtGPT2"]
    assert rows["my-protein-gpt"][1] == "generation" and rows["my-protein-gpt"][-2:] == ["yes", "IMPORTED"]
    assert rows["random-protgpt2-tiny"][2] == "46k" and rows["random-protgpt2-tiny"][-5:-2] == [
        "512", "tokens", "yes"]
    assert f"imported Hugging Face models: {weights_dir / 'huggingface'}" in out
    assert main(["models", "remove", "my-protein-gpt"]) == 0
    assert main(["models", "remove", "esmfold_v1"]) == 0
    assert capsys.readouterr().out.split() == [
        "removed", str(weights_dir / "huggingface" / "my-protein-gpt"),
        "removed", str(weights_dir / "huggingface" / "esmfold_v1")]
    assert main(["models", "import", str(hf_folders.esmfold), "--name", "../x"]) == 1
    assert "cannot name an imported model" in capsys.readouterr().err


def test_offline_hub_download_fails_with_one_clear_line(capsys, weights_dir, hf_cache, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["models", "download", "esmfold_v1"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "esmfold_v1" in err and "protein-studio models import" in err


def test_hub_download_with_progress(capsys, fake_hub, hf_cache):
    assert main(["models", "download", "esmfold_v1"]) == 0
    captured = capsys.readouterr()
    [snapshot] = captured.out.split()
    assert snapshot.startswith(str(hf_cache / "models--facebook--esmfold_v1" / "snapshots"))
    total = sum(len(body) for body in fake_hub.files.values())
    assert f"Downloading esmfold_v1 (facebook/esmfold_v1): {format_bytes(total)} in" in captured.err
    assert main(["models", "list", "--task", "folding"]) == 0
    assert _rows(capsys.readouterr().out)["esmfold_v1"][-2:] == ["yes", "facebook/esmfold_v1"]
