"""Tests of the races benchmark's parsing (no build needed):
/usr/bin/python3 -m pytest bench/tests -q"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.races import BUDGET, first_failure, summary  # noqa: E402
from harness.registry import BENCHMARKS  # noqa: E402
from harness import all as _all  # noqa: E402,F401


def test_first_failure_counts_schedules_up_to_the_failing_run():
    out = ("run 6 of pct:2:1400004:26 (seed 3) fails: stdout matched /x/; exited with status 0\n"
           "trace: t\nreplay it with: probesim replay t\n")
    assert first_failure(out) == (7, "pct:2:1400004:26")
    assert first_failure("no failing schedule in 200 runs of random (seed 1, runs 0..199)\n") == (None, None)


def test_summary_is_the_median_and_range_with_not_found_counted():
    s = summary([3, 1, 2, BUDGET + 1])
    assert (s["median"], s["min"], s["max"], s["not_found"]) == (2.5, 1, BUDGET + 1, 1)


def test_races_is_a_default_benchmark():
    assert BENCHMARKS["races"].default
