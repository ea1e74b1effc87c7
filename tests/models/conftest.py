"""Fixtures for the model tests: a private weights folder, a file server and a Hugging Face hub on 127.0.0.1,
tiny Hugging Face snapshot folders."""

from __future__ import annotations

import hashlib
import json
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


def _hub_handler(repo_id: str, files: dict[str, bytes], commit: str):
    """The few Hugging Face hub routes ``huggingface_hub`` uses to download a snapshot of ``repo_id``."""

    class Handler(BaseHTTPRequestHandler):
        def _send(self, body: bytes, code: int = 200, headers: dict | None = None):
            self.send_response(code)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_HEAD(self):  # noqa: N802 - http.server's name
            self.do_GET()

        def do_GET(self):  # noqa: N802
            path = self.path.split("?")[0]
            api = f"/api/models/{repo_id}"
            if path.startswith(f"{api}/tree/"):
                listing = [{"type": "file", "path": name, "size": len(body),
                            "oid": hashlib.sha1(body).hexdigest()} for name, body in files.items()]
                return self._send(json.dumps(listing).encode(), headers={"Content-Type": "application/json"})
            if path == api or path.startswith(f"{api}/revision/"):
                siblings = [{"rfilename": name, "size": len(body)} for name, body in files.items()]
                info = {"id": repo_id, "sha": commit, "siblings": siblings}
                return self._send(json.dumps(info).encode(), headers={"Content-Type": "application/json"})
            for name, body in files.items():
                if path in (f"/{repo_id}/resolve/{commit}/{name}", f"/{repo_id}/resolve/main/{name}"):
                    return self._send(body, headers={"X-Repo-Commit": commit,
                                                     "ETag": f'"{hashlib.sha256(body).hexdigest()}"'})
            self._send(b"not found", 404)

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture
def fake_hub(hf_folders, hf_cache, monkeypatch):
    """A Hugging Face hub on 127.0.0.1 serving ``facebook/esmfold_v1`` (the tiny ESMFold's files), with
    offline mode lifted for this test; ``.files`` maps file names to their bytes."""
    from huggingface_hub import constants

    files = {p.name: p.read_bytes() for p in sorted(hf_folders.esmfold.iterdir())}
    commit = "c0ffee" * 6 + "c0ff"  # 40 hex digits, as a git commit
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _hub_handler("facebook/esmfold_v1", files, commit))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    monkeypatch.setattr(constants, "ENDPOINT", url)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE",
                        url + "/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    yield SimpleNamespace(url=url, files=files)
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)
