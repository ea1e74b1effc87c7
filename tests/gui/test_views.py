"""Heatmap, sequence editor and ranked table on their own (no window, no model)."""

from __future__ import annotations

import csv
import io
import time

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest

from protein_studio.core.molecules.sequences import AMINO_ACIDS
from protein_studio.gui.panels.heatmap import HeatmapView, colour_scale_limit, diverging_colors
from protein_studio.core.molecules.numbering import NumberingScheme
from protein_studio.core.tables import table_csv
from protein_studio.gui.panels.ranked_table import RANKED_COLUMNS, RankedTable, rank_substitutions, ranked_table_rows
from protein_studio.gui.panels.sequence_editor import SequenceEditor

RNG = np.random.default_rng(7)


@pytest.fixture
def heatmap(qtbot, dispose):
    view = HeatmapView()
    view.resize(900, 420)
    view.show()
    qtbot.waitExposed(view)
    yield view
    dispose(view)


def _scan(length):
    sequence = "".join(RNG.choice(list(AMINO_ACIDS), length))
    scores = RNG.normal(0, 2, (length, 20))
    for i, aa in enumerate(sequence):
        scores[i, AMINO_ACIDS.index(aa)] = 0.0
    return sequence, scores


def test_colour_map_is_diverging_and_centred_on_zero():
    lut = diverging_colors(255)
    assert tuple(lut[127]) == (247, 247, 247)  # white in the middle: score 0
    assert lut[0, 0] > lut[0, 2] and lut[-1, 2] > lut[-1, 0]  # red end negative, blue end positive
    assert colour_scale_limit(np.array([[np.nan, -3.0, 1.0]])) == pytest.approx(2.98)  # 99th percentile of |score|


def test_large_heatmap_paints_only_visible_cells_fast(qtbot, heatmap):
    sequence, scores = _scan(1500)
    heatmap.set_data(scores, sequence, [str(i + 1) for i in range(1500)])
    first, last = heatmap.visible_columns()
    assert first == 0 and last - first < 120  # 8 px cells in ~790 px
    t0 = time.perf_counter()
    for step in range(20):
        heatmap.horizontalScrollBar().setValue(step * 900)
        heatmap.viewport().repaint()
    per_frame = (time.perf_counter() - t0) / 20
    assert per_frame < 0.05
    heatmap.set_cell_width(2)  # zoomed out: many more columns per frame, still quick
    t0 = time.perf_counter()
    heatmap.viewport().repaint()
    assert time.perf_counter() - t0 < 0.1
    assert heatmap.visible_columns()[1] - heatmap.visible_columns()[0] > 300


def test_short_proteins_fill_the_width(qtbot, heatmap):
    sequence, scores = _scan(40)
    heatmap.set_data(scores, sequence, [str(i + 1) for i in range(40)])
    assert heatmap.cell_width == min(24, (heatmap.viewport().width() - heatmap.LEFT - heatmap.LEGEND) // 40)
    assert heatmap.visible_columns() == (0, 40)


def test_cells_tooltips_clicks_and_double_clicks(qtbot, heatmap):
    sequence, scores = _scan(60)
    scores[10:] = np.nan  # a scan still running
    ranks = np.zeros((60, 20), dtype=int)
    ranks[3, 0] = 5
    heatmap.set_data(scores, sequence, [f"{i + 101}" for i in range(60)], ranks=ranks,
                     describe=lambda i: f"{sequence[i]}{i + 1}")
    point = heatmap.cell_center(3, 0)
    assert heatmap.cell_at(point) == (3, 0)
    text = heatmap.tooltip_text(3, 0)
    if sequence[3] != "A":
        assert text == f"{sequence[3]}4 \u2192 A: score {scores[3, 0]:.3f}, rank 5 of 5"
    assert "not scanned yet" in heatmap.tooltip_text(20, 4)
    with qtbot.waitSignal(heatmap.positionsSelected) as selected:
        QTest.mouseClick(heatmap.viewport(), Qt.LeftButton, Qt.NoModifier, heatmap.cell_center(42, 5))
    assert selected.args == [[42], False]
    assert heatmap._selected == {42}
    with qtbot.waitSignal(heatmap.positionsSelected) as added:
        QTest.mouseClick(heatmap.viewport(), Qt.LeftButton, Qt.ControlModifier, heatmap.cell_center(44, 5))
    assert added.args == [[42, 44], False] and heatmap._selected == {42, 44}
    with qtbot.waitSignal(heatmap.mutationActivated) as activated:
        QTest.mouseDClick(heatmap.viewport(), Qt.LeftButton, Qt.NoModifier, heatmap.cell_center(7, 19))
    assert activated.args == [7, "Y"]


def test_zoom_keeps_range_and_exports_png_and_svg(qtbot, heatmap, tmp_path):
    sequence, scores = _scan(300)
    heatmap.set_data(scores, sequence, [str(i + 1) for i in range(300)], summary=scores.mean(axis=1),
                     title="test scan")
    assert heatmap.cell_width == 8  # a long protein starts at the smallest readable zoom
    heatmap.set_cell_width(12)
    heatmap.zoom_in()
    assert heatmap.cell_width == 15
    heatmap.zoom_out()
    heatmap.zoom_out()
    assert heatmap.cell_width == 9
    png, svg = tmp_path / "map.png", tmp_path / "map.svg"
    heatmap.export_png(str(png))
    heatmap.export_svg(str(svg))
    image = QImage(str(png))
    assert image.width() >= 300 * 9  # every position, not just the visible ones
    centre = image.pixelColor(HeatmapView.LEFT + 150 * 9 + 4, image.height() // 2)
    assert centre.name() != "#ffffff"
    text = svg.read_text()
    assert text.startswith("<?xml") and "<svg" in text and "test scan" in text


@pytest.fixture
def editor(qtbot, dispose):
    view = SequenceEditor()
    view.resize(700, 200)
    view.show()
    qtbot.waitExposed(view)
    yield view
    dispose(view)


def test_editor_typing_mutates_refuses_bad_letters_and_selects(qtbot, editor):
    editor.set_sequence("MKTAYIAKQR" * 5, "MKTAYIAKQR" * 5, [str(i + 26) for i in range(50)])
    with qtbot.waitSignal(editor.positionsSelected) as selected:
        QTest.mouseClick(editor.viewport(), Qt.LeftButton, Qt.NoModifier, editor.cell_rect(12).center())
    assert selected.args == [[12], False]
    with qtbot.waitSignal(editor.mutationRequested) as mutation:
        QTest.keyClick(editor, Qt.Key_W)
    assert mutation.args == [12, "W"]
    assert editor.cursor_position == 13
    with qtbot.waitSignal(editor.message) as message:
        QTest.keyClick(editor, Qt.Key_B)
    assert "'b' is not an amino acid" in message.args[0]
    with qtbot.waitSignal(editor.positionsSelected) as extended:
        QTest.keyClick(editor, Qt.Key_Right, Qt.ShiftModifier)
    assert extended.args[0] == [13, 14]


def test_editor_paste_asks_for_the_clipboard_text(qtbot, editor):
    from PySide6.QtGui import QGuiApplication

    editor.set_sequence("MKTAYIAKQR")
    QGuiApplication.clipboard().setText(">pasted\nMKTAYW\n")
    with qtbot.waitSignal(editor.pasteRequested) as pasted:
        QTest.keyClick(editor, Qt.Key_V, Qt.ControlModifier)
    assert pasted.args == [">pasted\nMKTAYW\n"]


def test_editor_maps_clicks_back_to_indices_on_every_line(qtbot, editor):
    editor.set_sequence("ACDEFGHIKL" * 12)
    n = editor.per_line()
    for index in (0, 9, 10, n - 1, n, 2 * n + 5, 119):
        assert editor.index_at(editor.cell_rect(index).center()) == index


def test_rank_substitutions_and_filters():
    sequence = "MKT"
    scores = np.full((3, 20), np.nan)
    scores[0] = np.arange(20)
    scores[2] = -np.arange(20)
    from_10 = NumberingScheme.with_offset(3, 9)
    rows = rank_substitutions(scores, sequence, scheme=from_10, residues=["A:1", "A:2", "A:3"])
    assert len(rows) == 38  # 19 substitutions at 2 scanned positions
    assert rows[0].mutant == "M10Y" and rows[0].rank == 1 and rows[0].residue == "A:1"
    assert rows[0].label == "10" and rows[0].position == 1  # label in the scheme, position = sequence index
    assert [r.score for r in rows] == sorted((r.score for r in rows), reverse=True)
    assert all(r.wt != r.mt for r in rows)
    only = rank_substitutions(scores, sequence, scheme=from_10, only={2})
    assert {r.label for r in only} == {"12"} and only[0].rank == 20
    assert rank_substitutions(scores, sequence)[0].mutant == "M1Y"  # default: sequence index
    assert len(rank_substitutions(scores, sequence, top_n=5)) == 5
    assert min(r.score for r in rank_substitutions(scores, sequence, min_score=15)) >= 15
    assert {r.index for r in rank_substitutions(scores, sequence, exclude={0})} == {2}


def test_ranked_table_filters_and_csv(qtbot, tmp_path):
    table = RankedTable()
    qtbot.addWidget(table)
    sequence, scores = _scan(30)
    table.set_data(scores, sequence, NumberingScheme.with_offset(30, 100), [f"A:{i + 1}" for i in range(30)])
    assert table.model.headerData(1, Qt.Horizontal) == "Mutant (offset)"
    assert table.model.rowCount() == 100  # top 100 by default
    table.top_n.setValue(0)
    assert table.model.rowCount() == 30 * 19
    table.region.setText("105-106")  # read in the scheme shown
    table.region.editingFinished.emit()
    assert {r.position for r in table.model.rows} == {5, 6} and {r.label for r in table.model.rows} == {"105", "106"}
    table.region.setText("5-6")  # not in this numbering: said, not silently empty
    table.region.editingFinished.emit()
    assert "position 5 is not in the offset +100 numbering (101-130)" in table.status.text()
    table.region.setText("105-106")
    table.region.editingFinished.emit()
    table.set_selection({20})
    table.only_selection.setChecked(True)
    assert table.model.rowCount() == 0  # selection and region do not overlap
    table.region.setText("")
    table.region.editingFinished.emit()
    assert {r.index for r in table.model.rows} == {20}
    assert table.filter_description(top_n=False) == "selected positions only (1)"
    with qtbot.waitSignal(table.positionsSelected) as selected:
        table.view.clicked.emit(table.model.index(0, 0))
    assert selected.args == [[20], False]
    text = table_csv(ranked_table_rows(table.filtered_rows(top_n=False), "random-esm2-tiny", "wt-marginals"),
                     RANKED_COLUMNS)
    assert text.startswith(",".join(RANKED_COLUMNS) + "\n")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 19 and rows[0]["structure_residue"] == "A:21" and rows[0]["position"] == "121"
    assert rows[0]["sequence_index"] == "21" and rows[0]["mutant"].startswith(sequence[20] + "121")
    assert float(rows[0]["score"]) >= float(rows[-1]["score"])
