"""Reading deep-mutational-scan tables: every real fixture, and the variations real files have."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from protein_studio.core.assays.dms import DmsTable, read_dms
from protein_studio.core.errors import InputError

# file -> (rows, mutant columns, numeric columns, first mutant, last mutant)
TABLES = {
    "BLAT_ECOLX_Ranganathan2015_2500.csv": (4996, ("mutant",), ["2500", "cefotaxime"], "H24C", "W286Y"),
    "DLG4_RAT_Ranganathan2012.csv": (1660, ("mutant",), ["CRIPT", "Tm2F"], "P311A", None),
    "PABP_YEAST_Fields2013-singles.csv": (1188, ("mutant",), ["linear", "log"], "G126A", None),
    "GB1_Olson2014_single_mutant_counts.csv": (1045, ("WT amino acid", "Position", "Mutation"),
                                               ["Input Count", "Selection Count"], "Q2A", None),
}


def _plain_rows(path):
    """The data rows, read with the csv module alone (independent of read_dms)."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        rows = [r for r in csv.reader(handle) if r]
    return rows[0], rows[1:]


@pytest.mark.parametrize("name", sorted(TABLES))
def test_every_fixture_table_loads(data_dir, name):
    n_rows, mutant_columns, numeric, first, last = TABLES[name]
    table = read_dms(data_dir / name)
    assert isinstance(table, DmsTable)
    assert len(table) == n_rows
    assert table.problems == []
    assert table.mutant_columns == mutant_columns
    assert list(table.columns) == numeric
    assert all(values.shape == (n_rows,) and values.dtype == float for values in table.columns.values())
    assert str(table.mutants[0]) == first
    if last:
        assert table.mutant_strings[-1] == last
    assert table.lines[0] == 2 and table.lines[-1] == n_rows + 1
    # every value equals what the csv module reads from the same cell
    header, rows = _plain_rows(data_dir / name)
    for column in numeric:
        j = header.index(column)
        expected = np.array([float(r[j]) if r[j] else np.nan for r in rows])
        np.testing.assert_array_equal(table.column(column), expected)


def test_tem1_bom_index_column_and_empty_cells(data_dir):
    table = read_dms(data_dir / "BLAT_ECOLX_Ranganathan2015_2500.csv")
    assert table.delimiter == ","
    assert "" not in table.columns and not table.text_columns  # the unnamed index column is dropped
    assert int(np.isnan(table.column("cefotaxime")).sum()) == 19  # empty cells read as NaN
    assert not np.isnan(table.column("2500")).any()
    assert table.column("2500")[0] == pytest.approx(-0.418259925)


def test_gb1_split_columns_give_substitutions(data_dir):
    table = read_dms(data_dir / "GB1_Olson2014_single_mutant_counts.csv")
    assert table.mutant_column == "WT amino acid+Position+Mutation"
    assert [str(m) for m in table.mutants[:3]] == ["Q2A", "Q2C", "Q2D"]
    assert table.column("Input Count")[0] == 14663
    chosen = read_dms(data_dir / "GB1_Olson2014_single_mutant_counts.csv", wt_column="WT amino acid",
                      position_column="Position", mt_column="Mutation")
    assert chosen.mutant_strings == table.mutant_strings


def test_tsv_multi_mutants_missing_values_and_problem_rows(tmp_path):
    path = tmp_path / "scan.tsv"
    path.write_text("\ufeff\tvariant\tfitness\tnote\tmutated_sequence\n"
                    "0\tA42G:K45R\t1.5\tok\tMKG\n"
                    "1\tK45R,A42G\t\tgood\tMKR\n"
                    "2\tbogus\t0.3\t\tMKT\n"
                    "\n"
                    "3\tL10F\tNA\tx\tMKA\n"
                    "4\t\t0.7\t\tMKW\n"
                    "5\tW3Y\tnan\t\tMKY\n", encoding="utf-8")
    table = read_dms(path)
    assert table.delimiter == "\t" and table.mutant_column == "variant"
    assert table.mutant_strings == ["A42G:K45R", "A42G:K45R", "L10F", "W3Y"]
    assert table.lines.tolist() == [2, 3, 6, 8]
    assert list(table.columns) == ["fitness"]
    np.testing.assert_array_equal(table.column("fitness"), [1.5, np.nan, np.nan, np.nan])
    assert table.text_columns["note"] == ["ok", "good", "x", ""]
    assert [(p.line, p.text) for p in table.problems] == [(4, "bogus"), (7, "")]
    assert all(p.message for p in table.problems)
    assert "line 4" in str(table.problems[0])


def test_semicolon_table_with_quoted_multi_mutant_and_windows_line_ends(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_bytes(b"Unnamed: 0;Mutation;score\r\n0;\"A1C;D2E\";2,5\r\n1;D2F;-1\r\n")
    table = read_dms(path)
    assert table.delimiter == ";"
    assert table.mutant_strings == ["A1C:D2E", "D2F"]
    assert "Unnamed: 0" not in table.columns and "Unnamed: 0" not in table.text_columns
    with pytest.raises(InputError, match=r"semi\.csv, line 2: column 'score' has a value that is not a number: '2,5'"):
        read_dms(path, score_columns=["score"])


def test_comma_table_with_quoted_multi_mutant(tmp_path):
    path = tmp_path / "multi.csv"
    path.write_text('mutant,score\n"A1C,D2E",0.5\nD2F,1\nD2F,1,7\n')
    table = read_dms(path)
    assert table.mutant_strings == ["A1C:D2E", "D2F"]
    assert len(table.problems) == 1 and table.problems[0].line == 4
    assert "3 fields" in table.problems[0].message


def test_mutant_column_chosen_by_name(tmp_path):
    path = tmp_path / "two.csv"
    path.write_text("id,mut_label,score\nx,A5G,1\ny,C6W,2\n")
    assert read_dms(path, mutant_column="mut_label").mutant_strings == ["A5G", "C6W"]
    with pytest.raises(InputError) as info:
        read_dms(path, mutant_column="mutantt")
    message = str(info.value)
    assert "two.csv" in message and "'mutantt'" in message and "'mut_label'" in message and "'score'" in message


def test_no_mutant_column_is_a_clear_error(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("name,value\na,1\n")
    with pytest.raises(InputError, match=r"plain\.csv: no mutant column found.*'name', 'value'"):
        read_dms(path)


def test_wrong_score_column_names_file_and_lists_columns(data_dir):
    path = data_dir / "DLG4_RAT_Ranganathan2012.csv"
    with pytest.raises(InputError) as info:
        read_dms(path, score_columns=["CRIPT", "Tm"])
    assert str(info.value) == f"{path}: no column 'Tm'; numeric columns: 'CRIPT', 'Tm2F'"
    table = read_dms(path)
    with pytest.raises(InputError, match="no column 'fitness'"):
        table.column("fitness")


@pytest.mark.parametrize("content, message", [
    (None, "file not found"),
    (b"", "empty file"),
    (b"  \n\n", "empty file"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    (b"mutant,score\nA1C,1\n\xff\xfe,2\n", "not UTF-8"),
])
def test_unreadable_files(tmp_path, content, message):
    path = tmp_path / "table.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=message) as info:
        read_dms(path)
    assert "table.csv" in str(info.value)


def test_split_columns_need_all_three(data_dir):
    with pytest.raises(InputError, match="all three"):
        read_dms(data_dir / "GB1_Olson2014_single_mutant_counts.csv", wt_column="WT amino acid")


def test_missing_value_cells_are_nan_not_zero(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("mutant,a\nA1C,\nA1D,N/A\nA1E,-0.5\nA1F,inf\n")
    values = read_dms(path).column("a")
    assert math.isnan(values[0]) and math.isnan(values[1]) and values[2] == -0.5 and math.isinf(values[3])


def test_full_mutant_column_preferred_over_split_columns(tmp_path):
    path = tmp_path / "both.csv"
    path.write_text("variant,wt,position,mt,score\nA1C:D2E,A,1,C,0.5\nD2F,D,2,F,1\n")
    table = read_dms(path)
    assert table.mutant_column == "variant" and table.mutant_strings == ["A1C:D2E", "D2F"]
    assert list(table.columns) == ["position", "score"] and table.text_columns["wt"] == ["A", "D"]
