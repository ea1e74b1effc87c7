"""Bad inputs get one clear line and never hang: FIFOs, devices and folders named for what they are, gzip
bombs and damaged gzip refused within the input cap, --debug anywhere, and nothing from a file may rewrite the
terminal."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from protein_studio.cli import main
from protein_studio.core.errors import InputError
from protein_studio.core.molecules.structures import load_structure

REPO = Path(__file__).resolve().parents[2]


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert err and "Traceback" not in "\n".join(err)
    return err[-1]


@pytest.mark.parametrize("argv", [
    ["info", "{path}"],
    ["scan", "{path}", "--model", "random-esm2-tiny", "--out", "{out}"],
    ["score", "--sequence", "MKTAYIAKQR", "--model", "random-esm2-tiny", "--mutants-file", "{path}", "--out", "{out}"],
    ["evaluate", "{path}", "--score-column", "a", "--dms-column", "b"],
    ["fold", "{path}", "--model", "random-esmfold-tiny", "--out", "{out}"],
])
@pytest.mark.parametrize("kind", ["fifo", "zero", "folder"])
def test_non_regular_inputs_are_named_and_never_hang(tmp_path, capsys, argv, kind):
    name = {"info": "x.pdb", "scan": "x.pdb", "score": "m.txt", "evaluate": "d.csv", "fold": "x.fasta"}[argv[0]]
    path = tmp_path / name
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "zero":
        path.symlink_to("/dev/zero")
    else:
        path.mkdir()
    line = [a.replace("{path}", str(path)).replace("{out}", str(tmp_path / "out")) for a in argv]
    assert main(line) == 1
    message = _one_line(capsys)
    expected = {"fifo": "is a named pipe (FIFO)", "zero": "is a device (a link to /dev/zero)",
                "folder": "is a folder"}[kind]
    assert expected in message and name in message


def test_a_gzip_bomb_is_refused_within_the_cap_and_damaged_gzip_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PROTEIN_STUDIO_MAX_INPUT_MB", "1")
    bomb = tmp_path / "bomb.pdb.gz"
    bomb.write_bytes(gzip.compress(b"REMARK " + b" " * (50 * 1024 * 1024)))
    assert bomb.stat().st_size < 200_000
    tracemalloc.start()
    with pytest.raises(InputError, match="decompresses to more than 1 MB, the input limit"):
        load_structure(bomb)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 20 * 1024 * 1024  # bounded by the cap, not by the 50 MB it would expand to
    broken = tmp_path / "broken.pdb.gz"
    broken.write_bytes(gzip.compress((REPO / "tests" / "data" / "1ubq.pdb").read_bytes())[:-40] + b"\x00" * 8)
    assert main(["info", str(broken)]) == 1
    assert "not a valid gzip file" in _one_line(capsys)
    big = tmp_path / "big.fasta"
    big.write_bytes(b">x\n" + b"A" * (2 * 1024 * 1024))
    assert main(["info", str(big)]) == 1
    assert "is larger than 1 MB, the input limit" in _one_line(capsys)


def test_debug_is_accepted_after_the_subcommand(tmp_path, capsys):
    missing = tmp_path / "missing.fasta"
    assert main(["info", str(missing), "--debug"]) == 1
    err = capsys.readouterr().err
    assert "unrecognized arguments" not in err and "missing.fasta" in err


def test_names_from_files_cannot_rewrite_the_terminal(tmp_path, capsys):
    evil = tmp_path / "evil.fasta"
    evil.write_text(">\x1b]0;pwned\x07\x1b[31mred\x1b[0m a protein from a collaborator's spreadsheet export\n"
                    + "MKTAYIAKQRQISFVKSHFSRQ" * 10 + "\n")
    assert main(["info", str(evil)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "?]0;pwned?" in out
    assert main(["scan", str(evil), "--model", "random-esm2-tiny", "--strategy", "wt-marginals", "--positions", "1",
                 "--out", str(tmp_path / "s.csv")]) == 0
    assert "\x1b" not in capsys.readouterr().err


def test_a_mutants_file_line_with_commas_holds_several_mutants_as_everywhere(tmp_path):
    from protein_studio.cli.scoring import read_mutants_file

    path = tmp_path / "m.txt"
    path.write_text("A3G,,K5R\nA42G:K45R  # one double mutant\n")
    mutants, skipped = read_mutants_file(path)
    assert mutants == [("A3G", 1), ("K5R", 1), ("A42G:K45R", 2)] and skipped == []


def test_scan_labels_read_back_by_score_for_insertion_codes_and_negative_numbers(tmp_path, data_dir):
    """Everything scan writes (here a structure numbered from -2 with an insertion code) is read back."""
    lines = (data_dir / "1ubq.pdb").read_text().splitlines()
    out = []
    for line in lines:
        if line.startswith(("ATOM", "HETATM")):
            number = int(line[22:26])
            new, code = (number - 3, " ") if number < 5 else ((1, "A") if number == 5 else (number - 4, " "))
            line = line[:22] + f"{new:4d}{code}" + line[27:]
        out.append(line)
    odd = tmp_path / "odd.pdb"
    odd.write_text("\n".join(out) + "\n")
    scan = tmp_path / "scan.csv"
    assert main(["scan", str(odd), "--model", "random-esm2-tiny", "--strategy", "wt-marginals", "--positions=-2-2",
                 "--out", str(scan)]) == 0
    import csv

    rows = list(csv.DictReader(scan.read_text().splitlines()))
    names = [r["mutant"] for r in rows]
    assert names[0].startswith("M-2") and any(n[1:3] == "1A" for n in names)
    score = tmp_path / "score.csv"
    assert main(["score", str(odd), "--model", "random-esm2-tiny", "--strategy", "wt-marginals", "--mutants",
                 ",".join(names), "--out", str(score)]) == 0
    scored = list(csv.DictReader(score.read_text().splitlines()))
    assert [r["mutant"] for r in scored] == names
    assert [r["score"] for r in scored] == [r["score"] for r in rows]


def test_a_fifo_as_settings_does_not_hang_the_window(tmp_path):
    """A subprocess, so a hang would be a timeout rather than a stuck suite."""
    config = tmp_path / "config"
    config.mkdir()
    os.mkfifo(config / "settings.json")
    script = ("import os; os.environ['QT_QPA_PLATFORM']='offscreen'; "
              "os.environ['QTWEBENGINE_CHROMIUM_FLAGS']='--no-sandbox'; "
              "from protein_studio.gui.application import _application; app=_application(); "
              "from protein_studio.gui.main_window import MainWindow; "
              "w=MainWindow(open_demo=False); w.auto_warm_up=False; print('NOTICE', w.settings_notice); w.close()")
    env = dict(os.environ, PROTEIN_STUDIO_CONFIG_DIR=str(config), PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert "NOTICE" in result.stdout and "is a named pipe (FIFO)" in result.stdout
    assert "default settings are used" in result.stdout
    assert not (config / "settings.json").exists()  # set aside, renamed


def test_a_huge_remark_field_and_an_unknown_residue_to_fold_are_handled(tmp_path, capsys):
    table = tmp_path / "remarks.csv"
    table.write_text('mutant,score,remark\nA1G,0.5,"' + "x" * (20 * 1024 * 1024) + '"\nA1C,0.1,ok\nA1D,0.3,ok\n')
    assert main(["evaluate", str(table), "--score-column", "score", "--dms-column", "score"]) == 0
    assert "internal error" not in capsys.readouterr().err
    assert main(["fold", "--sequence", "X" * 12, "--model", "random-esmfold-tiny", "--out", str(tmp_path / "x.pdb")]) == 1
    line = _one_line(capsys)
    assert "'X' at position 1 is not one of the 20 amino acids" in line and "internal error" not in line


@pytest.mark.parametrize("argv", [
    ["scan", "--sequence", "MKTAYIAKQR", "--model", "random-esm2-tiny", "--out", "{out}/scan.csv"],
    ["score", "--sequence", "MKTAYIAKQR", "--model", "random-esm2-tiny", "--mutants", "M1A", "--out",
     "{out}/scores.csv"],
    ["fold", "--sequence", "MKTAYIAKQR", "--model", "random-esmfold-tiny", "--out", "{out}/fold.pdb"],
])
def test_writing_into_a_folder_that_refuses_writes_is_one_line(unwritable_folder, capsys, argv):
    assert main([a.replace("{out}", str(unwritable_folder)) for a in argv]) == 1
    line = _one_line(capsys)
    assert "internal error" not in line and str(unwritable_folder) in line
    assert "cannot write" in line and "Permission denied" in line
