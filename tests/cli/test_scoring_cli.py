"""`protein-studio scan` and `score` on random-weight models (PROTEIN_STUDIO_RANDOM_MODELS=1 from conftest)."""

from __future__ import annotations

import csv
import json
import io
import math
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("esm")

from protein_studio.cli import main  # noqa: E402
from protein_studio.cli.terminal import ProgressBar  # noqa: E402
from protein_studio.cli.scoring import parse_positions, read_mutants_file  # noqa: E402
from protein_studio.core.errors import InputError  # noqa: E402
from protein_studio.core.storage.export import SCAN_COLUMNS  # noqa: E402
from protein_studio.core.molecules.numbering import NumberingScheme  # noqa: E402
from protein_studio.core.molecules.sequences import AMINO_ACIDS  # noqa: E402

SEQ300 = "".join(np.random.default_rng(42).choice(list(AMINO_ACIDS), size=300))


def _rows(path):
    """Data rows of a table protein-studio wrote, read with the defaults: its header is line 1."""
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _provenance(path):
    """The provenance written beside a table (``NAME.csv.json``)."""
    return json.loads(Path(str(path) + ".json").read_text())["provenance"]


def test_scan_300_residues_writes_300x19_finite_rows(tmp_path, capsys):
    out = tmp_path / "scan.csv"
    assert main(["scan", "--sequence", SEQ300, "--model", "random-esm2-8M", "--strategy", "wt-marginals",
                 "--out", str(out)]) == 0
    rows = _rows(out)
    assert list(rows[0]) == list(SCAN_COLUMNS)
    assert _provenance(out)["numbering"] == "sequence"
    assert _provenance(out)["model"] == "random-esm2-8M" and _provenance(out)["run"]["strategy"] == "wt-marginals"
    assert len(rows) == 300 * 19
    assert all(math.isfinite(float(r["score"])) for r in rows)
    assert {r["model"] for r in rows} == {"random-esm2-8M"} and {r["strategy"] for r in rows} == {"wt-marginals"}
    assert rows[0]["mutant"] == f"{SEQ300[0]}1{rows[0]['mt']}" and rows[-1]["position"] == "300"
    err = capsys.readouterr().err
    assert "RANDOM WEIGHTS" in err and "1/1 passes" in err  # one pass, final progress line on a non-tty


def test_1500_residue_scan_on_random_esm1b_tiny_stays_within_1024_tokens(tmp_path, monkeypatch):
    import protein_studio.models.esm_loading as esm_loading

    widths = []
    original = esm_loading.load_esm

    def load_and_watch(name, device="auto", precision="auto"):
        loaded = original(name, device, precision)
        loaded.model.register_forward_pre_hook(lambda _module, args: widths.append(args[0].shape[1]))
        return loaded

    monkeypatch.setattr(esm_loading, "load_esm", load_and_watch)
    sequence = "".join(np.random.default_rng(7).choice(list(AMINO_ACIDS), size=1500))
    wt, masked = tmp_path / "wt.csv", tmp_path / "masked.csv"
    assert main(["scan", "--sequence", sequence, "--model", "random-esm1b-tiny", "--strategy", "wt-marginals",
                 "--out", str(wt)]) == 0
    assert main(["scan", "--sequence", sequence, "--model", "random-esm1b-tiny", "--positions", "1,750,1500",
                 "--out", str(masked)]) == 0
    assert len(_rows(wt)) == 1500 * 19 and all(math.isfinite(float(r["score"])) for r in _rows(wt))
    assert {r["position"] for r in _rows(masked)} == {"1", "750", "1500"}
    assert widths and max(widths) == 1024


def test_score_gives_the_values_of_the_scan(tmp_path):
    scan_out, score_out = tmp_path / "scan.csv", tmp_path / "score.csv"
    assert main(["scan", "--sequence", SEQ300[:60], "--model", "random-esm2-tiny", "--positions", "5-6,40",
                 "--out", str(scan_out)]) == 0
    rows = _rows(scan_out)
    assert len(rows) == 3 * 19 and {r["position"] for r in rows} == {"5", "6", "40"}
    chosen = [rows[0], rows[25], rows[-1]]
    mutants = ",".join(r["mutant"] for r in chosen)
    assert main(["score", "--sequence", SEQ300[:60], "--model", "random-esm2-tiny", "--mutants", mutants,
                 "--out", str(score_out)]) == 0
    scored = _rows(score_out)
    assert [r["mutant"] for r in scored] == [r["mutant"] for r in chosen]
    assert [r["score"] for r in scored] == [r["score"] for r in chosen]
    assert {r["method"] for r in scored} == {"additive masked-marginals"}
    assert [r["sequence_mutant"] for r in scored] == [r["mutant"] for r in chosen]  # sequence numbering here


def test_score_multi_mutants_additive_and_joint(tmp_path):
    seq = SEQ300[:40]
    a, b = f"{seq[2]}3A", f"{seq[9]}10W"
    double = f"{a}:{b}"
    additive, joint = tmp_path / "add.csv", tmp_path / "joint.csv"
    assert main(["score", "--sequence", seq, "--model", "random-esm2-tiny", "--mutants", f"{a},{b},{double}",
                 "--out", str(additive)]) == 0
    assert main(["score", "--sequence", seq, "--model", "random-esm2-tiny", "--mutants", double,
                 "--multi", "joint", "--out", str(joint)]) == 0
    add_rows = _rows(additive)
    single_sum = float(add_rows[0]["score"]) + float(add_rows[1]["score"])
    assert float(add_rows[2]["score"]) == pytest.approx(single_sum, abs=2e-6)
    joint_row = _rows(joint)[0]
    assert joint_row["method"] == "joint masked" and joint_row["mutant"] == double
    assert abs(float(joint_row["score"]) - single_sum) > 1e-4


def test_structure_input_uses_residue_numbers(tmp_path):
    import biotite.structure.io.pdb as pdb

    source = pdb.PDBFile.read("tests/data/2qmt.pdb").get_structure(model=1)
    source.res_id += 100  # residues 101-156
    shifted = tmp_path / "shifted.pdb"
    out_file = pdb.PDBFile()
    out_file.set_structure(source)
    out_file.write(str(shifted))
    out = tmp_path / "scan.csv"
    assert main(["scan", str(shifted), "--model", "random-esm2-tiny", "--positions", "101,156",
                 "--out", str(out)]) == 0
    rows = _rows(out)
    assert {r["position"] for r in rows} == {"101", "156"} and rows[0]["wt"] == "M"
    scores = tmp_path / "score.csv"
    assert main(["score", str(shifted), "--chain", "A", "--model", "random-esm2-tiny", "--mutants", "M101A",
                 "--out", str(scores)]) == 0
    assert _rows(scores)[0]["score"] == next(r["score"] for r in rows if r["mutant"] == "M101A")


def test_fasta_input_with_offset_and_mutants_file(tmp_path):
    fasta = tmp_path / "p.fasta"
    fasta.write_text(">p one\n" + SEQ300[:30] + "\n")
    table = tmp_path / "dms.csv"
    table.write_text(f"mutant,DMS_score\n{SEQ300[0]}11A,0.5\n{SEQ300[4]}15C:{SEQ300[5]}16D,1.0\n")
    out = tmp_path / "score.csv"
    assert main(["score", str(fasta), "--offset", "10", "--model", "random-esm2-tiny", "--mutants-file",
                 str(table), "--out", str(out)]) == 0
    assert [r["mutant"] for r in _rows(out)] == [f"{SEQ300[0]}11A", f"{SEQ300[4]}15C:{SEQ300[5]}16D"]
    assert [r["sequence_mutant"] for r in _rows(out)] == [f"{SEQ300[0]}1A", f"{SEQ300[4]}5C:{SEQ300[5]}6D"]
    assert _provenance(out)["numbering"] == "offset +10"


def test_ensemble_keeps_per_model_columns(tmp_path):
    out = tmp_path / "scan.csv"
    assert main(["scan", "--sequence", SEQ300[:20], "--model", "random-esm2-tiny", "--model", "random-esm1b-tiny",
                 "--strategy", "wt-marginals", "--out", str(out)]) == 0
    row = _rows(out)[0]
    assert row["model"] == "ensemble(random-esm2-tiny+random-esm1b-tiny)"
    expected = (float(row["score_random-esm2-tiny"]) + float(row["score_random-esm1b-tiny"])) / 2
    assert float(row["score"]) == pytest.approx(expected, abs=2e-6)


@pytest.mark.parametrize("argv,message", [
    (["scan", "--sequence", "MKT@AYIAK", "--model", "random-esm2-tiny"], "`@` at position 4"),
    (["scan", "--sequence", "MKTAYIAK", "--model", "esm2_t33_650M_UR50D"], "esm2_t33_650M_UR50D"),
    (["scan", "--sequence", "MKTAYIAK", "--model", "no-such-model"], "unknown model 'no-such-model'"),
    (["scan", "--sequence", "MKTAYIAK", "--model", "random-esm2-tiny", "--positions", "5-12"], "position 12 is not"),
    (["score", "--sequence", "MKTAYIAK", "--model", "random-esm2-tiny", "--mutants", "A3G"],
     "position 3 is T, not A"),
    (["scan", "tests/data/1btl.pdb", "--chain", "B", "--model", "random-esm2-tiny"], "no protein chain 'B'"),
    (["scan", "missing.fasta", "--model", "random-esm2-tiny"], "missing.fasta: no such file"),
])
def test_errors_are_one_line(tmp_path, capsys, argv, message):
    assert main(argv + ["--out", str(tmp_path / "x.csv")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert message in err[-1] and "error" in err[-1] and "Traceback" not in "\n".join(err)
    assert not (tmp_path / "x.csv").exists()


def test_missing_model_says_how_to_import(tmp_path, capsys):
    main(["scan", "--sequence", "MKTAYIAK", "--model", "esm2_t33_650M_UR50D", "--out", str(tmp_path / "x.csv")])
    assert "import" in capsys.readouterr().err


def test_parse_positions():
    from_10 = NumberingScheme.with_offset(50, 9)
    assert parse_positions("10-12, 59", from_10) == [0, 1, 2, 49]
    assert parse_positions("12,11,12", from_10) == [1, 2]
    assert parse_positions("12-10", from_10) == [0, 1, 2]  # a range given backwards is the same range
    assert parse_positions("(1)-(2)", from_10) == [0, 1]  # sequence indices in parentheses
    inserted = NumberingScheme("table", ("40", "41", "41A", "42"), "table t")
    assert parse_positions("41A-42", inserted) == [2, 3]
    for bad in ("5", "x", "", "1٣"):
        with pytest.raises(InputError):
            parse_positions(bad, from_10)


def test_read_mutants_file_lines_and_comments(tmp_path):
    path = tmp_path / "m.txt"
    path.write_text("# my mutants\nA42G\n\nK45R:L46F  # double\nA50*\nG51G\n")
    mutants, skipped = read_mutants_file(path)
    assert mutants == [("A42G", 2), ("K45R:L46F", 4)]
    assert skipped == [(5, "A50*", "stop codon (nonsense mutations cannot be scored)"),
                       (6, "G51G", "synonymous (no change)")]


@pytest.mark.parametrize("name, n_mutants, n_synonymous, first", [
    ("BLAT_ECOLX_Ranganathan2015_2500.csv", 4996, 0, ("H24C", 2)),      # 'mutant' column, BOM, index column
    ("PABP_YEAST_Fields2013-singles.csv", 1188, 0, ("G126A", 2)),
    ("GB1_Olson2014_single_mutant_counts.csv", 1045, 0, ("Q2A", 2)),   # no mutant column: split wt/pos/mt
    ("DLG4_RAT_Ranganathan2012.csv", 1577, 83, ("P311A", 2)),
])
def test_read_mutants_file_reads_the_dms_tables(name, n_mutants, n_synonymous, first):
    """Every DMS table of tests/data gives its mutants (never its header), synonymous rows skipped and
    counted, every row accounted for."""
    from protein_studio.core.assays.dms import read_dms

    mutants, skipped = read_mutants_file(f"tests/data/{name}")
    assert len(mutants) == n_mutants and mutants[0] == first
    assert [reason for _l, _t, reason in skipped] == ["synonymous (no change)"] * n_synonymous
    assert len(mutants) + len(skipped) == len(read_dms(f"tests/data/{name}").mutants)


def test_a_stop_in_a_table_is_skipped_and_counted_not_fatal(tmp_path, capsys):
    table = tmp_path / "dms.tsv"
    table.write_text(f"mutations\tfitness\n{SEQ300[1]}2A\t0.1\n{SEQ300[2]}3*\t-2\n{SEQ300[3]}4{SEQ300[3]}\t0\n")
    out = tmp_path / "s.csv"
    assert main(["score", "--sequence", SEQ300[:20], "--model", "random-esm2-tiny", "--mutants-file", str(table),
                 "--out", str(out)]) == 0
    assert [r["mutant"] for r in _rows(out)] == [f"{SEQ300[1]}2A"]
    err = capsys.readouterr().err
    assert f"skipped line 3: {SEQ300[2]}3*: stop codon (nonsense mutations cannot be scored)" in err
    assert "skipped 2 rows: 1 stop codon (nonsense mutations cannot be scored), 1 synonymous (no change)" in err


def test_score_reads_gb1s_split_column_table_in_2qmt_numbering(tmp_path, capsys):
    """The Olson GB1 table (WT amino acid, Position, Mutation columns) against its own structure."""
    out = tmp_path / "gb1.csv"
    assert main(["score", "tests/data/2qmt.pdb", "--model", "random-esm2-tiny", "--strategy", "wt-marginals",
                 "--mutants-file", "tests/data/GB1_Olson2014_single_mutant_counts.csv", "--out", str(out)]) == 0
    rows = _rows(out)
    assert len(rows) == 1045 and rows[0]["mutant"] == "Q2A" and rows[-1]["mutant"].startswith("E56")
    assert all(math.isfinite(float(r["score"])) for r in rows)
    assert "numbering: structure 2qmt chain A (1-56)" in capsys.readouterr().err


class _Stream(io.StringIO):
    def __init__(self, tty):
        super().__init__()
        self._tty = tty

    def isatty(self):
        return self._tty


def test_progress_bar_redraws_on_a_terminal_and_prints_one_line_otherwise():
    tty, pipe = _Stream(True), _Stream(False)
    for stream in (tty, pipe):
        bar = ProgressBar("scan m", stream=stream)
        for done in range(0, 11):
            bar(done, 10)
    assert tty.getvalue().startswith("\rscan m [") and tty.getvalue().endswith("10/10 passes, 0s\n")
    assert pipe.getvalue().count("\n") == 1 and pipe.getvalue().startswith("scan m: 10/10 passes in")
