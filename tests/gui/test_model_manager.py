"""Models > Manage Models, driven through its buttons: a download from a file server on 127.0.0.1, a
cancelled download, snapshot folders imported (and a corrupted one refused), and the on-disk marks of the
Scan, Predict and Generate choosers following along (issue 11)."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog

pytest.importorskip("torch")
pytest.importorskip("esm")

from fair_esm_format import save_fair_esm_checkpoint  # noqa: E402

from protein_studio.gui.model_choice import NOT_ON_DISK  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data"
TIMEOUT = 60000


class _Handler(BaseHTTPRequestHandler):
    """fair-esm's layout: the 8M checkpoint served whole, the 35M one trickled out (so it can be cancelled)."""

    files: dict[str, bytes] = {}
    stop = threading.Event()

    def do_GET(self):  # noqa: N802 - http.server's name
        if self.path in self.files:
            body = self.files[self.path]
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path == "/fair-esm/models/esm2_t12_35M_UR50D.pt":
            self.send_response(200)
            self.send_header("Content-Length", str(135_000_000))
            self.end_headers()
            try:
                while not self.stop.is_set():
                    self.wfile.write(b"\0" * 65536)
                    time.sleep(0.02)
            except OSError:  # the client hung up: the download was cancelled
                pass
        else:
            self.send_error(404)

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path, monkeypatch):
    from protein_studio.models.esm_loading import load_esm

    checkpoint = save_fair_esm_checkpoint(load_esm("random-esm2-8M", device="cpu").model, "esm2",
                                          tmp_path / "served" / "esm2_t6_8M_UR50D.pt")
    regression = checkpoint.with_name("esm2_t6_8M_UR50D-contact-regression.pt")
    _Handler.files = {"/fair-esm/models/esm2_t6_8M_UR50D.pt": checkpoint.read_bytes(),
                      "/fair-esm/regression/esm2_t6_8M_UR50D-contact-regression.pt": regression.read_bytes()}
    _Handler.stop.clear()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("PROTEIN_STUDIO_FAIR_ESM_URL", f"http://127.0.0.1:{httpd.server_address[1]}/fair-esm/")
    monkeypatch.setenv("PROTEIN_STUDIO_WEIGHTS_DIR", str(tmp_path / "weights"))
    yield httpd
    _Handler.stop.set()
    httpd.shutdown()
    httpd.server_close()


def _snapshot(folder: Path, family: str) -> Path:
    """A random-weight Hugging Face snapshot folder of ``family``, as ``save_pretrained`` writes it."""
    from protein_studio.models.hf_loading import build_random_esmfold, build_random_protgpt2

    if family == "esmfold":
        build_random_esmfold().save_pretrained(folder)
    else:
        model, tokenizer = build_random_protgpt2()
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
    return folder


def _scan_label(window, name: str) -> str:
    window.models.fill_models_menu()
    return next(a.text() for a in window.models.menu.actions() if a.text().startswith(name))


def _combo_label(combo, name: str) -> str:
    return combo.itemText(combo.findData(name))


def test_the_model_manager_downloads_cancels_imports_and_refuses(studio, server, qtbot, tmp_path, monkeypatch):
    window = studio
    assert window.documents.open_files([DATA / "1ubq.pdb"], remember=False)
    predict = window.design_tools.open_predict_dialog()
    generate = window.design_tools.open_generation_dialog()
    assert _scan_label(window, "esm2_t6_8M_UR50D").endswith("(not on disk)")
    assert _combo_label(predict.model, "esmfold_v1").endswith(NOT_ON_DISK)
    assert _combo_label(generate.model, "protgpt2").endswith(NOT_ON_DISK)

    window.models.fill_models_menu()
    next(a for a in window.models.menu.actions() if a.text().replace("&", "") == "Manage Models\u2026").trigger()
    manager = window.models.model_manager
    assert manager.isVisible()

    # a download cancelled half-way leaves nothing behind
    assert manager.select("esm2_t12_35M_UR50D")
    manager.buttons["download"].click()
    qtbot.waitUntil(lambda: manager.progress.value() > 0, timeout=TIMEOUT)
    with qtbot.waitSignal(window.worker.jobCancelled, timeout=TIMEOUT):
        manager.buttons["cancel"].click()
    qtbot.waitUntil(lambda: not window.worker.busy, timeout=TIMEOUT)
    assert manager.status.text() == "Cancelled: esm2_t12_35M_UR50D"
    assert manager.row_of("esm2_t12_35M_UR50D")["On disk"] == "not on disk"
    assert not list((tmp_path / "weights").glob("*.partial"))

    # a download that completes: the Scan chooser's mark goes, and the model scans
    assert manager.select("esm2_t6_8M_UR50D")
    with qtbot.waitSignal(manager.modelsChanged, timeout=TIMEOUT):
        manager.buttons["download"].click()
    assert manager.status.text() == "Downloaded: esm2_t6_8M_UR50D"
    assert manager.row_of("esm2_t6_8M_UR50D")["On disk"] == "on disk"
    assert manager.row_of("esm2_t6_8M_UR50D")["Size"] == "30 MB"
    assert not _scan_label(window, "esm2_t6_8M_UR50D").endswith("(not on disk)")
    with qtbot.waitSignal(window.scanFinished, timeout=TIMEOUT) as finished:
        window.scans.start_scan("esm2_t6_8M_UR50D")
    assert finished.args == [True] and "sha256:" in window.session.scan.provenance["weights"]

    # a corrupted snapshot folder is refused with a message and nothing is added
    broken = _snapshot(tmp_path / "broken" / "esmfold_v1", "esmfold")
    weights_file = broken / "model.safetensors"
    weights_file.write_bytes(weights_file.read_bytes()[:5000])
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(broken))
    manager.buttons["import_folder"].click()
    title, message = window.last_error
    assert title == "Cannot import esmfold_v1" and "not a readable weights file" in message
    window.message_box.done(0)
    assert manager.row_of("esmfold_v1")["On disk"] == "not on disk"

    # snapshot folders imported: the Predict and Generate choosers follow
    for folder, combo, name in ((tmp_path / "esmfold_v1", predict.model, "esmfold_v1"),
                                (tmp_path / "protgpt2", generate.model, "protgpt2")):
        _snapshot(folder, "esmfold" if name == "esmfold_v1" else "protgpt2")
        monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, folder=folder, **k: str(folder))
        with qtbot.waitSignal(manager.modelsChanged, timeout=TIMEOUT):
            manager.buttons["import_folder"].click()
        assert manager.row_of(name)["On disk"] == "on disk"
        assert _combo_label(combo, name) == name

    # and a removal puts the mark back everywhere
    assert manager.select("esm2_t6_8M_UR50D")
    assert manager.remove(ask=False)
    assert _scan_label(window, "esm2_t6_8M_UR50D").endswith("(not on disk)")
    assert manager.copy_command() == "protein-studio models download esm2_t6_8M_UR50D"
    predict.close()
    generate.close()
    manager.close()


def test_a_snapshot_of_another_shape_is_refused(tmp_path):
    """Tensor shapes are checked against the configuration before anything is copied."""
    import json

    from protein_studio.core.errors import UserError
    from protein_studio.models.snapshots import import_hf_snapshot

    folder = _snapshot(tmp_path / "protgpt2", "protgpt2")
    config = json.loads((folder / "config.json").read_text())
    config["n_embd"] = 64  # the weights are 32 wide
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(UserError, match=r"tensor .* has shape \[.*\], the protgpt2 model of this configuration expects"):
        import_hf_snapshot(folder)
