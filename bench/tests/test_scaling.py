"""Unit tests of the scaling benchmarks' pure pieces (no build needed)."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.immap_scaling import _parse  # noqa: E402
from harness.lines import slope  # noqa: E402


def test_slope_is_the_least_squares_fit():
    assert abs(slope([1, 10, 50], [100, 190, 590]) - 10.0) < 1e-9
    assert slope([5, 5], [1, 2]) is None


def test_immap_json_lines_are_keyed_by_n_and_other_lines_ignored():
    rows = _parse('{"n":10,"queries":200,"hits":3,"tree_ns":1.5,"linear_ns":2,"insert_ns":9}\n'
                  "noise\n")
    assert list(rows) == [10] and rows[10]["tree_ns"] == 1.5
