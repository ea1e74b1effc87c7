"""``protein-studio fold`` and ``protein-studio generate`` with the tiny random-weight models."""

from __future__ import annotations

import pytest

from protein_studio.cli import main
from protein_studio.core.molecules.sequences import read_fasta
from protein_studio.core.molecules.structures import load_structure

# 120 residues: ubiquitin (1UBQ) followed by the first 44 of protein G B1 (2QMT)
SEQ_120 = ("MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG"
           "MQYKLILNGKTLKGETTTEAVDAATAEKVFKQYANDNGVDGEWT")


def test_fold_one_sequence(tmp_path, capsys):
    out = tmp_path / "p.pdb"
    assert main(["fold", "--sequence", SEQ_120, "--model", "random-esmfold-tiny", "--out", str(out)]) == 0
    structure = load_structure(out)
    assert structure.chain_ids == ["A"] and structure.chains[0].sequence == SEQ_120
    captured = capsys.readouterr()
    assert "RANDOM WEIGHTS" in captured.err
    assert "120 residues on cpu" in captured.err  # the estimate is shown before the run
    table = captured.out.splitlines()
    assert table[0].split()[:3] == ["name", "length", "chains"]
    assert table[1].split()[:3] == ["prediction", "120", "A"]


def test_fold_a_multimer(tmp_path, capsys):
    out = tmp_path / "dimer.pdb"
    assert main(["fold", "--sequence", f"{SEQ_120[:76]}:{SEQ_120[76:]}", "--model", "random-esmfold-tiny",
                 "--chunk-size", "64", "--out", str(out)]) == 0
    structure = load_structure(out)
    assert structure.chain_ids == ["A", "B"]
    assert [len(c) for c in structure.chains] == [76, 44]
    assert "A,B" in capsys.readouterr().out


def test_fold_a_fasta_file_shortest_first_into_a_folder(tmp_path, data_dir, capsys):
    out = tmp_path / "preds"
    assert main(["fold", str(data_dir / "few_proteins.fasta"), "--model", "random-esmfold-tiny",
                 "--out", f"{out}/"]) == 0
    records = read_fasta(data_dir / "few_proteins.fasta")
    for record in records:
        assert load_structure(out / f"{record.name}.pdb").chains[0].sequence == record.sequence
    rows = capsys.readouterr().out.splitlines()[1:]
    assert [int(r.split()[1]) for r in rows] == sorted(len(r.sequence) for r in records)


def test_fold_a_fasta_file_with_a_multimer_record(tmp_path, capsys):
    fasta = tmp_path / "complexes.fasta"
    fasta.write_text(f">dimer\n{SEQ_120[:30]}:\n{SEQ_120[76:96]}\n>mono\n{SEQ_120[:25]}\n")
    out = tmp_path / "preds"
    assert main(["fold", str(fasta), "--model", "random-esmfold-tiny", "--out", f"{out}/"]) == 0
    dimer = load_structure(out / "dimer.pdb")
    assert dimer.chain_ids == ["A", "B"]
    assert [c.sequence for c in dimer.chains] == [SEQ_120[:30], SEQ_120[76:96]]
    assert load_structure(out / "mono.pdb").chain_ids == ["A"]
    rows = capsys.readouterr().out.splitlines()[1:]
    assert [r.split()[:3] for r in rows] == [["mono", "25", "A"], ["dimer", "50", "A,B"]]
    fasta.write_text(">broken\nMKTAY::QRQ\n")
    assert main(["fold", str(fasta), "--model", "random-esmfold-tiny", "--out", f"{out}/"]) == 1
    assert "chain 2 of 3 is empty" in capsys.readouterr().err


def test_fold_several_records_into_one_file_is_refused(tmp_path, data_dir, capsys):
    assert main(["fold", str(data_dir / "few_proteins.fasta"), "--model", "random-esmfold-tiny",
                 "--out", str(tmp_path / "one.pdb")]) == 1
    assert "3 records but one output file" in capsys.readouterr().err


def test_bad_sequence_fails_in_one_line(tmp_path, capsys):
    assert main(["fold", "--sequence", "MKT@AYIAK", "--model", "random-esmfold-tiny",
                 "--out", str(tmp_path / "x.pdb")]) == 1
    err = capsys.readouterr().err
    assert "position 4" in err and "Traceback" not in err
    assert not (tmp_path / "x.pdb").exists()


@pytest.mark.parametrize("argv", [
    ["fold", "--sequence", "MKTAYIAKQR", "--out", "{tmp}/x.pdb"],
    ["generate", "--model", "protgpt2", "--n", "2", "--out", "{tmp}/g.fasta"],
])
def test_real_models_offline_fail_with_one_clear_line(argv, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main([a.replace("{tmp}", str(tmp_path)) for a in argv]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "weights not found" in err and "protein-studio models import" in err


def test_generate_same_seed_same_file(tmp_path, capsys):
    args = ["generate", "--model", "random-protgpt2-tiny", "--n", "4", "--max-length", "60", "--seed"]
    first, second = tmp_path / "g1.fasta", tmp_path / "g2.fasta"
    assert main(args + ["1", "--out", str(first)]) == 0
    assert main(args + ["1", "--out", str(second)]) == 0
    assert first.read_bytes() == second.read_bytes()
    records = read_fasta(first)
    assert records and all(" ppl=" in f"{r.name} {r.description}" for r in records)
    assert all(len(r.sequence) <= 60 for r in records)
    assert main(args + ["2", "--out", str(tmp_path / "g3.fasta")]) == 0
    assert (tmp_path / "g3.fasta").read_bytes() != first.read_bytes()
    assert "kept" in capsys.readouterr().err
