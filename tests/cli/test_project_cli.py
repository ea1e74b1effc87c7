"""``--project`` on scan, score, fold and generate gathers batch results in one project the window opens;
``project info`` says what it holds."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("esm")

from protein_studio.cli import main  # noqa: E402
from protein_studio.core.storage.project import load_project  # noqa: E402

UBQ = "MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG"


def test_batch_results_go_into_one_project_and_project_info_lists_them(tmp_path, data_dir, capsys):
    project = tmp_path / "batch.psproj"
    assert main(["scan", str(data_dir / "1ubq.pdb"), "--model", "random-esm2-tiny", "--strategy", "wt-marginals",
                 "--out", str(tmp_path / "scan.csv"), "--project", str(project)]) == 0
    assert main(["score", str(data_dir / "2qmt.pdb"), "--model", "random-esm2-tiny", "--mutants", "Q2A,T16A:T18A",
                 "--out", str(tmp_path / "score.csv"), "--project", str(project)]) == 0
    assert main(["fold", "--sequence", UBQ[:40], "--name", "ubq40", "--model", "random-esmfold-tiny",
                 "--out", str(tmp_path / "ubq40.pdb"), "--project", str(project)]) == 0
    assert main(["generate", "--model", "random-protgpt2-tiny", "--n", "8", "--min-length", "5", "--seed", "1",
                 "--out", str(tmp_path / "gen.fasta"), "--project", str(project)]) == 0
    err = capsys.readouterr().err
    assert f"added the scan of 1ubq chain A to the project {project}" in err
    loaded = load_project(project)
    names = [state.document.name for state in loaded.states]
    assert names[:3] == ["1ubq chain A", "2qmt chain A", "ubq40 chain A"]
    ubq, gb1, fold = loaded.states[:3]
    rows = [line.split(",") for line in (tmp_path / "scan.csv").read_text().splitlines()][1:]
    assert ubq.scan.complete and ubq.scan.model == "random-esm2-tiny" and ubq.scan.provenance["weights"]
    first = rows[0]
    i, aa = int(first[2]) - 1, first[7]
    assert ubq.scan.scores[i, "ACDEFGHIKLMNPQRSTVWY".index(aa)] == pytest.approx(float(first[8]), abs=1e-6)
    assert [gb1.document.name_mutant(v) for v in gb1.variants] == ["Q2A", "T16A:T18A"]
    assert all(s.method == "additive masked-marginals" and s.model == "random-esm2-tiny"
               for scores in gb1.model_scores.values() for s in scores.values())
    assert fold.results[0]["kind"] == "prediction" and fold.results[0]["arrays"]["pae"].shape == (40, 40)
    assert np.isfinite(fold.results[0]["arrays"]["plddt"]).all()
    generated = loaded.states[3]  # the generated set: its sequences are the records of one FASTA, best first
    kept = [r for r in generated.results[0]["data"]["fasta"].split(">") if r]
    assert generated.results[0]["kind"] == "generated" and generated.results[0]["provenance"]["seed"] == 1
    assert generated.results[0]["data"]["settings"]["seed"] == 1 and len(generated.document.records) == len(kept) == 7
    assert main(["project", "info", str(project)]) == 0
    out = capsys.readouterr().out
    assert "1. 1ubq chain A: 76 residues from 1ubq.pdb; numbering structure 1ubq chain A" in out
    assert "scan 1: random-esm2-tiny (RANDOM WEIGHTS), wt-marginals, complete" in out
    assert ("variants: 2 (0 with notes, 2 scored by a model: random-esm2-tiny, additive masked-marginals)" in out
            and "prediction: Predicted: ubq40" in out)
    assert main(["project", "info", str(project), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["documents"][0]["scans"][0]["positions_done"] == 76


def test_two_scans_of_one_structure_stay_on_its_one_document(tmp_path, data_dir, capsys):
    project = tmp_path / "p.psproj"
    for model in ("random-esm2-tiny", "random-esm1b-tiny"):
        assert main(["scan", str(data_dir / "1ubq.pdb"), "--model", model, "--strategy", "wt-marginals",
                     "--out", str(tmp_path / f"{model}.csv"), "--project", str(project)]) == 0
    assert main(["project", "info", str(project), "--json"]) == 0
    (document,) = json.loads(capsys.readouterr().out)["documents"]
    assert document["name"] == "1ubq chain A"
    assert [(s["model"], s["strategy"], s["complete"]) for s in document["scans"]] == [
        ("random-esm2-tiny", "wt-marginals", True), ("random-esm1b-tiny", "wt-marginals", True)]
    assert document["chosen_scan"] == 1  # the newest is shown when the project opens


def test_project_info_on_a_bad_file_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.psproj"
    bad.write_text("nope\n" * 100)
    assert main(["project", "info", str(bad)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.psproj" in err[0] and "not a readable Protein Studio project" in err[0]
