"""``protein-studio fit`` and ``propose`` on a real DMS table, with random-weight models for the ESM parts."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("esm")

from protein_studio.cli import main  # noqa: E402

DEMO = "resources/demo/tem1_P62593.fasta"


@pytest.fixture
def blat300(tmp_path, data_dir):
    lines = (data_dir / "BLAT_ECOLX_Ranganathan2015_2500.csv").read_text(encoding="utf-8-sig").splitlines()
    path = tmp_path / "blat300.csv"
    path.write_text("\n".join(lines[:301]) + "\n")
    return path


def _rows(path):
    return list(csv.DictReader(open(path, newline="", encoding="utf-8")))


def test_fit_reports_rows_and_cross_validation_then_propose_writes_the_next_round(blat300, tmp_path, capsys):
    model = tmp_path / "model.json"
    assert main(["fit", str(blat300), DEMO, "--column", "2500", "--cv", "modulo", "--out", str(model)]) == 0
    captured = capsys.readouterr()
    assert "blat300.csv: 2500 (read in sequence numbering): 300 rows, 300 used as 300 variants" in captured.err
    assert "modulo 5-fold CV over 300 variants: Spearman" in captured.err
    saved = json.loads(model.read_text())
    assert saved["regressor"] == "ridge" and saved["cv"]["scheme"] == "modulo" and len(saved["variants"]) == 300
    # standard output is the pooled out-of-fold Spearman, the number the model file keeps with each fold's
    assert captured.out == f"cv modulo spearman {saved['cv']['pooled']:.4f}\n" and len(saved["cv"]["spearman"]) == 5
    out = tmp_path / "next.csv"
    assert main(["propose", str(model), DEMO, "--n", "24", "--per-position", "2", "--out", str(out)]) == 0
    rows = _rows(out)
    assert len(rows) == 24 and [r["rank"] for r in rows] == [str(k) for k in range(1, 25)]
    assert [float(r["predicted"]) for r in rows] == sorted((float(r["predicted"]) for r in rows), reverse=True)
    measured = {line.split(",")[1] for line in blat300.read_text(encoding="utf-8-sig").splitlines()[1:]}
    assert not {r["mutant"] for r in rows} & measured
    positions = [r["mutant"][1:-1] for r in rows]
    assert max(positions.count(p) for p in positions) <= 2
    assert out.read_text().startswith("rank,mutant,")  # the header is line 1
    # ridge has no posterior: the gain's interval is the cross-validation's error around the gain
    spread = saved["cv"]["residual_std"]
    for row in rows:
        assert float(row["gain_upper_95"]) - float(row["gain"]) == pytest.approx(1.959964 * spread, abs=2e-6)
        assert row["std"] == "" and not row["mutant"].startswith("M1")
    assert "fitted on 300 measured variants" in json.loads(Path(f"{out}.json").read_text())["provenance"]["method"]


def test_gp_with_embeddings_and_zero_shot_from_a_model(blat300, tmp_path, capsys):
    model = tmp_path / "gp.json"
    assert main(["fit", str(blat300), DEMO, "--column", "2500", "--features", "onehot,embeddings,zeroshot",
                 "--model", "random-esm2-tiny", "--zeroshot-model", "random-esm2-tiny", "--regressor", "gp",
                 "--cv", "contiguous", "--out", str(model)]) == 0
    provenance = json.loads(model.read_text())["provenance"]
    assert provenance["zeroshot"]["kind"] == "model" and provenance["embeddings"] == "random-esm2-tiny"
    out = tmp_path / "next.csv"
    assert main(["propose", str(model), DEMO, "--model", "random-esm2-tiny", "--n", "5", "--explore", "2",
                 "--min-distance", "5", "--out", str(out)]) == 0
    rows = _rows(out)
    assert len(rows) == 5 and all(float(r["std"]) > 0 for r in rows)
    assert all(float(r["acquisition"]) == pytest.approx(float(r["predicted"]) + 2 * float(r["std"]), abs=1e-5)
               for r in rows)


@pytest.mark.parametrize("argv, message", [
    (["fit", "BLAT", DEMO, "--column", "nope"], "no column 'nope'"),
    (["fit", "BLAT", DEMO, "--column", "2500", "--features", "embeddings"], "embedding features need an ESM model"),
    (["fit", "BLAT", "--sequence", "MKTAYIAKQR", "--column", "2500"], "position 24 is outside"),
])
def test_fit_errors_are_one_line(blat300, tmp_path, capsys, argv, message):
    argv = [str(blat300) if a == "BLAT" else a for a in argv]
    code = main(argv + ["--out", str(tmp_path / "m.json")])
    err = capsys.readouterr().err
    if message == "position 24 is outside":
        last = err.strip().splitlines()[-1]  # every row failed: the file, the count and why, on one line
        assert code == 1 and "blat300.csv: only 0 measured variants in column 2500 (300 rows: " in last
        assert "position not in the numbering" in last and "at least 3 are needed to fit" in last
    else:
        assert code == 1 and message in err.strip().splitlines()[-1]
    assert "Traceback" not in err and not (tmp_path / "m.json").exists()


def test_propose_refuses_a_model_of_another_protein(blat300, tmp_path, capsys, data_dir):
    model = tmp_path / "model.json"
    assert main(["fit", str(blat300), DEMO, "--column", "2500", "--cv", "none", "--out", str(model)]) == 0
    assert main(["propose", str(model), str(data_dir / "1ubq.pdb"), "--out", str(tmp_path / "x.csv")]) == 1
    assert "fitted on another sequence" in capsys.readouterr().err


def test_fit_refuses_a_table_in_another_numbering_and_names_the_one_that_fits(data_dir, tmp_path, capsys):
    blat = data_dir / "BLAT_ECOLX_Ranganathan2015_2500.csv"
    out = tmp_path / "m.json"
    assert main(["fit", str(blat), DEMO, "--numbering", "table", "resources/demo/tem1_ambler_numbering.csv",
                 "--column", "2500", "--out", str(out)]) == 1
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "BLAT_ECOLX_Ranganathan2015_2500.csv" in error and "only 247 of 4,996" in error
    assert error.endswith("use --numbering sequence") and not out.exists()


def test_score_refuses_a_mutants_file_in_another_numbering(data_dir, tmp_path, capsys):
    lines = (data_dir / "BLAT_ECOLX_Ranganathan2015_2500.csv").read_text(encoding="utf-8-sig").splitlines()
    table = tmp_path / "uniprot.csv"
    table.write_text("\n".join(lines[:201]) + "\n")
    out = tmp_path / "s.csv"
    assert main(["score", DEMO, "--numbering", "offset", "5", "--model", "random-esm2-tiny", "--mutants-file",
                 str(table), "--out", str(out)]) == 1
    assert capsys.readouterr().err.strip().endswith("use --numbering sequence") and not out.exists()
    assert main(["score", DEMO, "--model", "random-esm2-tiny", "--strategy", "wt-marginals", "--mutants-file",
                 str(table), "--out", str(out)]) == 0
    assert len(_rows(out)) == 200


def test_structure_gp_fits_on_the_structure_and_proposes_what_a_lab_would_run(blat300, tmp_path, capsys,
                                                                              proteinmpnn_weights, data_dir):
    """fit --regressor structure-gp on the demo's sequence aligned to 1BTL (ProteinMPNN's trained weights), with
    ESM embeddings beside the one-hot kernel; propose needs no structure and writes no Met1, nothing excluded,
    no ties, and each row's gain with its interval."""
    model = tmp_path / "structure.json"
    assert main(["fit", str(blat300), DEMO, "--structure", str(data_dir / "1btl.pdb"), "--numbering", "sequence",
                 "--column", "2500", "--regressor", "structure-gp", "--features", "onehot,embeddings",
                 "--model", "random-esm2-tiny", "--cv", "modulo", "--out", str(model)]) == 0
    captured = capsys.readouterr()
    saved = json.loads(model.read_text())
    assert captured.out == f"cv modulo spearman {saved['cv']['pooled']:.4f}\n"
    assert "the kernel reads 263 of 286 residues from 1btl" in captured.err
    kernel = saved["kernel"]
    assert set(kernel["hyperparameters"]) >= {"scale_embedding", "length_embedding", "rho", "gamma_site"}
    assert saved["provenance"]["structure"]["model"] == "proteinmpnn-v48-020"
    assert saved["provenance"]["mean_function"] == "proteinmpnn-v48-020 additive log-ratio"
    out = tmp_path / "next.csv"
    assert main(["propose", str(model), DEMO, "--numbering", "sequence", "--model", "random-esm2-tiny",
                 "--exclude", "2-23", "--n", "20", "--combinations", "3", "--out", str(out)]) == 0
    rows = _rows(out)
    assert len(rows) == 23 and [r["mutations"] for r in rows].count("2") == 3
    positions = [int(m[1:-1]) for r in rows for m in r["mutant"].split(":")]
    assert min(positions) > 23  # no Met1, nothing of the excluded signal peptide
    for row in rows:
        gain, low, high = float(row["gain"]), float(row["gain_lower_95"]), float(row["gain_upper_95"])
        assert low < gain < high and float(row["std"]) > 0 and row["tied_with"] == "0"
    singles = [float(r["predicted"]) for r in rows if r["mutations"] == "1"]
    assert len(set(singles)) == len(singles)
    assert "excluded" in json.loads(Path(f"{out}.json").read_text())["provenance"]
