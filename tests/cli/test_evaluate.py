"""`protein-studio evaluate` on the TEM-1 deep mutational scan, checked against scipy computed here."""

from __future__ import annotations

import csv
import re

import numpy as np
import pytest
from scipy import stats

from protein_studio.cli import build_parser, main
from protein_studio.cli.evaluate import run
from protein_studio.core.assays.metrics import ndcg, top_recall

TEM1 = "BLAT_ECOLX_Ranganathan2015_2500.csv"


def _tem1_columns(path):
    """mutant, 2500 and cefotaxime of the TEM-1 table, read with the csv module only."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    mutants = [r["mutant"] for r in rows]
    measured = np.array([float(r["2500"]) for r in rows])
    other = np.array([float(r["cefotaxime"]) if r["cefotaxime"] else np.nan for r in rows])
    return mutants, measured, other


def _printed(out: str, label: str) -> str:
    line = next(line for line in out.splitlines() if line.startswith(label))
    return line[len(label):].split()[0]


def test_evaluate_is_registered():
    args = build_parser().parse_args(["evaluate", "d.csv", "--score-column", "a", "--dms-column", "b"])
    assert args.handler is run and args.score_column == "a" and args.scores is None and args.top == 10.0
    with pytest.raises(SystemExit):  # --scores and --score-column exclude each other
        build_parser().parse_args(["evaluate", "d.csv", "--scores", "s.csv", "--score-column", "a",
                                   "--dms-column", "b"])


def test_score_column_agrees_with_scipy(data_dir, capsys):
    mutants, measured, other = _tem1_columns(data_dir / TEM1)
    both = ~np.isnan(other)
    expected = stats.spearmanr(measured[both], other[both]).statistic

    assert main(["evaluate", str(data_dir / TEM1), "--score-column", "cefotaxime", "--dms-column", "2500"]) == 0
    out = capsys.readouterr().out
    assert float(_printed(out, "Spearman")) == pytest.approx(expected, abs=5e-5)
    assert _printed(out, "n") == str(int(both.sum())) == "4977"
    assert "19 missing prediction" in out and "0 missing measurement" in out
    assert float(_printed(out, "NDCG@10%")) == pytest.approx(ndcg(measured[both], other[both]), abs=5e-5)
    assert float(_printed(out, "top-10% recall")) == pytest.approx(top_recall(measured[both], other[both]),
                                                                   abs=5e-5)


def test_scores_file_joined_on_canonical_mutants(data_dir, tmp_path, capsys):
    mutants, measured, _ = _tem1_columns(data_dir / TEM1)
    rng = np.random.default_rng(0)
    predicted = measured + rng.normal(scale=0.7, size=measured.size)
    chosen = rng.permutation(measured.size)[:3000]  # a shuffled subset: the rest have no prediction
    scores = tmp_path / "scores.csv"
    with open(scores, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["mutant", "score", "model"])
        for i in chosen:
            writer.writerow([mutants[i], repr(float(predicted[i])), "test"])
    expected = stats.spearmanr(measured[chosen], predicted[chosen]).statistic
    plot = tmp_path / "scatter.png"

    assert main(["evaluate", str(data_dir / TEM1), "--scores", str(scores), "--dms-column", "2500",
                 "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    assert float(_printed(out, "Spearman")) == pytest.approx(expected, abs=5e-5)
    assert _printed(out, "n") == "3000"
    assert f"{measured.size - 3000} missing prediction" in out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and plot.stat().st_size > 5000


def test_multi_mutants_match_in_any_order_and_separator(tmp_path, capsys):
    dms = tmp_path / "dms.csv"
    dms.write_text('mutant,fitness\nA1C:D2E,1.0\nD2F,2.0\nG3H,3.0\n"G3W,A1C",4.0\nbad,5.0\n')
    scores = tmp_path / "scores.csv"
    scores.write_text("mutant,score\nD2E:A1C,-1\nD2F,-2\nA1C:G3W,-4\nG3H,-3\n")
    assert main(["evaluate", str(dms), "--scores", str(scores), "--dms-column", "fitness"]) == 0
    captured = capsys.readouterr()
    assert _printed(captured.out, "n") == "4"
    assert float(_printed(captured.out, "Spearman")) == -1.0
    assert "1 unparseable mutant" in captured.out
    assert "line 6" in captured.err  # the skipped row is named


@pytest.mark.parametrize("arguments, expected", [
    (["--score-column", "cefotaxim", "--dms-column", "2500"],
     "no column 'cefotaxim'; numeric columns: '2500', 'cefotaxime'"),
    (["--score-column", "cefotaxime", "--dms-column", "250"], "no column '250'"),
])
def test_missing_column_is_one_clear_line(data_dir, capsys, arguments, expected):
    assert main(["evaluate", str(data_dir / TEM1), *arguments]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert TEM1 in err and expected in err and "Traceback" not in err


def test_missing_files(data_dir, tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "nope.csv"), "--score-column", "a", "--dms-column", "b"]) == 1
    assert "nope.csv: file not found" in capsys.readouterr().err
    assert main(["evaluate", str(data_dir / TEM1), "--scores", str(tmp_path / "s.csv"), "--dms-column", "2500"]) == 1
    assert "s.csv: file not found" in capsys.readouterr().err


def test_scores_without_score_column_or_overlap(data_dir, tmp_path, capsys):
    scores = tmp_path / "scores.csv"
    scores.write_text("mutant,value\nH24C,1\n")
    assert main(["evaluate", str(data_dir / TEM1), "--scores", str(scores), "--dms-column", "2500"]) == 1
    assert re.search(r"scores\.csv: no column 'score'; numeric columns: 'value'", capsys.readouterr().err)
    scores.write_text("mutant,score\nH1000C,1\nH1001C,2\n")
    assert main(["evaluate", str(data_dir / TEM1), "--scores", str(scores), "--dms-column", "2500"]) == 1
    assert "no mutant of" in capsys.readouterr().err


def test_conflicting_duplicate_scores_are_refused(data_dir, tmp_path, capsys):
    scores = tmp_path / "scores.csv"
    scores.write_text("mutant,score\nH24C,1\nH24E,2\nH24C,1\nH24C,3\n")
    assert main(["evaluate", str(data_dir / TEM1), "--scores", str(scores), "--dms-column", "2500"]) == 1
    err = capsys.readouterr().err
    assert "scores.csv, line 5: mutant H24C is scored twice with different values (also on line 2)" in err


def test_offset_renumbers_the_table_before_matching(tmp_path, capsys):
    dms = tmp_path / "dms.csv"
    dms.write_text("mutant,fitness\nA26C,1\nD27E,2\nG28H,3\n")
    scores = tmp_path / "scores.csv"
    scores.write_text("mutant,score\nA1C,3\nD2E,2\nG3H,1\n")
    arguments = ["evaluate", str(dms), "--scores", str(scores), "--dms-column", "fitness"]
    assert main(arguments) == 1
    assert "numbered the same way" in capsys.readouterr().err
    assert main(arguments + ["--offset", "-25"]) == 0
    out = capsys.readouterr().out
    assert _printed(out, "n") == "3" and float(_printed(out, "Spearman")) == -1.0
