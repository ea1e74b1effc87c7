"""`protein-studio info`: chains and sequences of every structure fixture in every format, FASTA records,
and one clear stderr line (no traceback) for every bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from protein_studio.cli import main
from protein_studio.core.molecules.structures import load_structure, save_structure

DATA = Path(__file__).resolve().parent.parent / "data"
REPO = DATA.parent.parent

# file -> (chain, length, first 10 residues)
STRUCTURES = {
    "1btl.pdb": ("A", 263, "HPETLVKVKD"),
    "1ubq.pdb": ("A", 76, "MQIFVKTLTG"),
    "2qmt.pdb": ("A", 56, "MQYKLILNGK"),
    "2N2U.pdb": ("A", 67, "MVDLKIDVSD"),
    "PABP_YEAST_126-200_predicted.pdb": ("A", 75, "GNIFIKNLHP"),
}
KEYS = {"chain", "length", "sequence", "first_residue", "last_residue", "problems"}


def _json(capsys, *args) -> list[dict]:
    assert main(["info", *map(str, args), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("name", sorted(STRUCTURES))
@pytest.mark.parametrize("suffix", [".pdb", ".cif", ".bcif"])
def test_structure_json(name, suffix, tmp_path, capsys):
    path = DATA / name
    if suffix != ".pdb":
        path = save_structure(load_structure(path), tmp_path / (Path(name).stem + suffix))
    chain, length, start = STRUCTURES[name]
    records = _json(capsys, path)
    assert len(records) == 1
    record = records[0]
    assert KEYS <= set(record)
    assert record["chain"] == chain and record["length"] == length
    assert record["sequence"].startswith(start) and len(record["sequence"]) == length
    assert (record["first_residue"], record["last_residue"]) == (1, length)
    assert record["problems"] == [] and record["gaps"] == [] and record["nonstandard"] == []
    assert record["file"] == str(path) and record["model"] == 1


def test_structure_human_output(capsys):
    assert main(["info", str(DATA / "1btl.pdb")]) == 0
    out = capsys.readouterr().out
    assert "1btl.pdb: 1 protein chain (model 1 of 1)" in out
    assert "chain A: 263 residues, 1 to 263" in out
    assert "gaps:            none" in out
    # the sequence in blocks of 10, 60 per line, each line led by its first residue number
    assert "        1  HPETLVKVKD AEDQLGARVG" in out
    assert "      241  SQATMDERNR QIAEIGASLI KHW" in out


def test_gaps_insertions_and_modified_residues_are_reported(tmp_path, capsys):
    lines = []
    for line in (DATA / "1ubq.pdb").read_text().splitlines():
        if line.startswith("ATOM  "):
            number = int(line[22:26])
            if 10 <= number <= 12:
                continue
            if number == 1:
                line = f"HETATM{line[6:17]}MSE{line[20:]}"
            if number >= 30:
                line = f"{line[:22]}{number - 1:>4}{'A' if number == 30 else ' '}{line[27:]}"
        lines.append(line)
    path = tmp_path / "edited.pdb"
    path.write_text("\n".join(lines) + "\n")
    record = _json(capsys, path)[0]
    assert record["length"] == 73 and record["sequence"].startswith("MQIFVKTLTITLEV")
    assert record["gaps"] == [{"after": "A:9", "before": "A:13", "missing": 3}]
    assert record["insertion_codes"] == ["A:29A"]
    assert record["nonstandard"] == [{"residue": "A:1", "name": "MSE", "code": "M"}]
    assert record["residues"][25:28] == ["29", "29A", "30"]
    assert len(record["problems"]) == 3
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "gaps:            A:9 / A:13 (3 missing)" in out
    assert "insertion codes: A:29A" in out
    assert "non-standard:    MSE at A:1 as M" in out
    assert "\n        1  MQIFVKTLTI TLEVEPSDTI" in out


def test_chain_option(tmp_path, capsys):
    assert _json(capsys, DATA / "1ubq.pdb", "--chain", "A")[0]["chain"] == "A"
    assert main(["info", str(DATA / "1ubq.pdb"), "--chain", "B"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no protein chain 'B' (protein chains: A)" in err


def test_model_option(tmp_path, capsys):
    import biotite.structure as struc
    import biotite.structure.io.pdb as pdb

    atoms = load_structure(DATA / "2N2U.pdb").atoms
    pdb_file = pdb.PDBFile()
    pdb_file.set_structure(struc.stack([atoms, atoms]))
    path = tmp_path / "nmr.pdb"
    pdb_file.write(str(path))
    record = _json(capsys, path, "--model", "2")[0]
    assert (record["model"], record["n_models"], record["length"]) == (2, 2, 67)
    assert main(["info", str(path), "--model", "5"]) == 1
    assert "model 5 requested, but the file has 2 models" in capsys.readouterr().err


def test_fasta(capsys):
    records = _json(capsys, DATA / "few_proteins.fasta")
    assert [r["name"] for r in records] == ["UniRef50_UPI0003108055", "UniRef50_A0A223SCH7",
                                            "UniRef50_A0A090SUK6"]
    assert [r["length"] for r in records] == [80, 71, 99]
    for record in records:
        assert {"name", "length", "sequence", "first_residue", "last_residue", "problems"} <= set(record)
        assert record["last_residue"] == record["first_residue"] + record["length"] - 1
        assert len(record["sequence"]) == record["length"]
    assert main(["info", str(DATA / "P62593_first3.fasta")]) == 0
    out = capsys.readouterr().out
    assert "P62593_first3.fasta: 3 sequences" in out and "286 residues, 1 to 286" in out


def test_fasta_problems_are_listed(tmp_path, capsys):
    path = tmp_path / "ambiguous.fasta"
    path.write_text(">amb\nMKXLVB\n")
    record = _json(capsys, path)[0]
    assert record["length"] == 6 and len(record["problems"]) == 2
    assert any("3" in problem for problem in record["problems"])


def test_structures_and_fasta_together(capsys):
    records = _json(capsys, DATA / "1ubq.pdb", DATA / "few_proteins.fasta")
    assert [r.get("chain", r.get("name")) for r in records][:2] == ["A", "UniRef50_UPI0003108055"]


# ---- errors: one line on stderr, non-zero exit, no traceback -----------------------------------------


def _bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    ubq = (DATA / "1ubq.pdb").read_bytes()
    cut = ubq.index(b"ATOM    300 ") + 40
    files = {
        "empty": ("empty.pdb", b"", "file is empty"),
        "binary": ("random.pdb", np.random.default_rng(0).bytes(2048), "binary data"),
        "png": ("image.cif", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(32), "binary data"),
        "truncated": ("truncated.pdb", ubq[:cut], "line 607: ATOM record cut short"),
        "garbled": ("garbled.pdb", b"This is a letter, not a structure.\n" * 5, "no ATOM or HETATM records"),
        "unknown extension": ("protein.xyz", ubq, "unknown file type '.xyz'"),
        "no protein": ("water.pdb", b"\n".join(l for l in ubq.splitlines() if l.startswith(b"HETATM")),
                       "no protein chain found"),
        "fasta with @": ("bad.fasta", b">x\nMKT@LV\n", "`@` at position 4"),
        "fasta that is binary": ("bin.fasta", b"\x00\x01\x02", "binary"),
    }
    out = {}
    for case, (name, data, reason) in files.items():
        path = tmp_path / name
        path.write_bytes(data)
        out[case] = (path, reason)
    out["missing"] = (tmp_path / "missing.pdb", "file not found")
    out["missing fasta"] = (tmp_path / "missing.fasta", "file not found")
    return out


CASES = ["empty", "binary", "png", "truncated", "garbled", "unknown extension", "no protein",
         "fasta with @", "fasta that is binary", "missing", "missing fasta"]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_gives_one_line(case, tmp_path, capsys):
    path, reason = _bad_files(tmp_path)[case]
    assert main(["info", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("protein-studio info: error: ")
    assert path.name in lines[0] and reason in lines[0]
    assert "Traceback" not in captured.err


def test_subprocess_exit_code_and_stderr(tmp_path):
    path, _ = _bad_files(tmp_path)["truncated"]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-m", "protein_studio", "info", str(path)], capture_output=True,
                            text=True, env=env, cwd=tmp_path, timeout=120)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "truncated.pdb, line 607: ATOM record cut short" in result.stderr

    ok = subprocess.run([sys.executable, "-m", "protein_studio", "info", str(DATA / "1btl.pdb"), "--json"],
                        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)[0]["length"] == 263
