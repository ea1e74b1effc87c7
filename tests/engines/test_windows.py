"""Windows keep every pass within the model's width and put each position well inside its window."""

from __future__ import annotations

import pytest

from protein_studio.core.errors import InputError
from protein_studio.engines.windows import assign_tiles, centred_window, span_window, tiles


@pytest.mark.parametrize("length", [1, 10, 1022, 1023, 1500, 5000])
def test_centred_window_contains_position_and_fits(length):
    width = 1022
    for position in sorted(p for p in {0, 1, length // 2, length - 2, length - 1} if 0 <= p < length):
        start, end = centred_window(length, position, width)
        assert 0 <= start <= position < end <= length
        assert end - start == min(length, width)
        if length > width and width // 2 <= position < length - width // 2:
            # away from the ends the window is centred on the position
            assert position - start == width // 2


def test_no_limit_or_short_protein_uses_one_window():
    assert centred_window(50, 10, None) == (0, 50)
    assert centred_window(50, 10, 50) == (0, 50)
    assert tiles(50, None) == [(0, 50)]
    assert tiles(50, 1022) == [(0, 50)]


def test_span_window_covers_span_and_rejects_too_wide():
    start, end = span_window(3000, 1000, 1500, 1022)
    assert start <= 1000 and 1500 < end and end - start == 1022
    with pytest.raises(InputError, match="1101 residues apart"):
        span_window(3000, 100, 1200, 1022)


@pytest.mark.parametrize("length,width", [(1500, 1022), (5000, 1022), (41, 16), (17, 16)])
def test_tiles_cover_and_each_position_is_central_in_its_tile(length, width):
    windows = tiles(length, width)
    assert all(end - start == width for start, end in windows)
    assert windows[0][0] == 0 and windows[-1][1] == length
    owner = assign_tiles(length, windows)
    for position in range(length):
        start, end = windows[owner[position]]
        assert start <= position < end
        margin = min(position - start, end - 1 - position)
        # each position is at least a quarter window from an edge unless it is near the protein's end
        near_end = min(position, length - 1 - position) < width // 4
        assert near_end or margin >= width // 4 - 1
        # and no other window holds it more centrally
        for other_start, other_end in windows:
            if other_start <= position < other_end:
                assert margin >= min(position - other_start, other_end - 1 - position)


def test_assign_tiles_rejects_uncovered_residue():
    with pytest.raises(ValueError, match="residue 6"):
        assign_tiles(8, [(0, 5), (6, 8)])
