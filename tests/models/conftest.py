"""Fixtures for the model tests: a private weights folder, a file server on 127.0.0.1."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest


@pytest.fixture
def weights_dir(tmp_path, monkeypatch) -> Path:
    """An empty weights folder used by every weights function for this test."""
    folder = tmp_path / "weights"
    monkeypatch.setenv("PROTEIN_STUDIO_WEIGHTS_DIR", str(folder))
    return folder


BODY = bytes(range(256)) * 40  # 10,240 bytes


class _Handler(BaseHTTPRequestHandler):
    """``/file`` serves BODY; ``/short`` announces more than it sends; ``/nolength`` sends no length;
    ``/fair-esm/...`` serves BODY under fair-esm's layout (``/no-regression/...``: the checkpoint only);
    anything else is 404."""

    def do_GET(self):  # noqa: N802 - http.server's name
        if self.path in ("/file", "/fair-esm/models/esm2_t6_8M_UR50D.pt",
                         "/fair-esm/regression/esm2_t6_8M_UR50D-contact-regression.pt",
                         "/no-regression/models/esm2_t6_8M_UR50D.pt"):
            self.send_response(200)
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY)
        elif self.path == "/short":
            self.send_response(200)
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY[:3000])
            self.close_connection = True
        elif self.path == "/nolength":
            self.send_response(200)
            self.end_headers()
            self.wfile.write(BODY)
            self.close_connection = True
        else:
            self.send_error(404)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    """A file server on 127.0.0.1 (see :class:`_Handler`); ``.url`` and ``.body``."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield SimpleNamespace(url=f"http://127.0.0.1:{httpd.server_address[1]}", body=BODY)
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


@pytest.fixture(scope="session")
def hf_folders(tmp_path_factory) -> SimpleNamespace:
    """Snapshot folders as ``huggingface-cli download`` leaves them, of the tiny random models:
    ``.esmfold`` (ESMFold) and ``.gpt`` (GPT-2 with its tokenizer, folder named ``my-protein-gpt``)."""
    from protein_studio.models.hf_loading import build_random_esmfold, build_random_protgpt2

    root = tmp_path_factory.mktemp("snapshots")
    build_random_esmfold().save_pretrained(root / "esmfold-download")
    model, tokenizer = build_random_protgpt2()
    model.save_pretrained(root / "my-protein-gpt")
    tokenizer.save_pretrained(root / "my-protein-gpt")
    return SimpleNamespace(esmfold=root / "esmfold-download", gpt=root / "my-protein-gpt")


@pytest.fixture
def hf_cache(tmp_path, monkeypatch) -> Path:
    """An empty Hugging Face hub cache for this test."""
    folder = tmp_path / "hf-hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(folder))
    return folder
