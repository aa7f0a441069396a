"""Tests of the kernel_work benchmark's parsing (no build needed):
/usr/bin/python3 -m pytest bench/tests -q"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.kernel_work import median_rows, parse_pairs, schedules_run  # noqa: E402
from harness.registry import BENCHMARKS  # noqa: E402
from harness import all as _all  # noqa: E402,F401


def _line(mode: str, ns: int, steps: float) -> str:
    return json.dumps({"arch": "x86_64", "probe": "uprobe", "mode": mode, "pairs": 4,
                       "ns_per_pair": ns, "call_ns_per_pair": ns // 2,
                       "kworker_steps_per_pair": steps, "virtual_ns_per_pair": int(steps * 500)})


def test_schedules_run_counts_up_to_the_failing_run_or_the_whole_budget():
    found = ("run 3 of random (seed 0) fails: invariant violated: pid 100: a breakpoint at "
             "0x4018a0 in a replaced page of /tmp/uprobe_remap.abc\ntrace: t\n")
    assert schedules_run(found) == (4, True)
    assert schedules_run("no failing schedule in 100 runs of random (seed 0, runs 0..99)\n") == \
        (100, False)
    assert schedules_run("probesim: error\n") == (None, False)


def test_the_script_lines_are_keyed_and_their_figures_are_medians():
    runs = [parse_pairs("noise\n" + _line("queued", ns, 9.0) + "\n" + _line("at_once", ns, 0.0))
            for ns in (300, 100, 200)]
    assert set(runs[0]) == {("x86_64", "uprobe", "queued"), ("x86_64", "uprobe", "at_once")}
    rows = {r["mode"]: r for r in median_rows(runs)}
    assert rows["queued"]["ns_per_pair"] == 200
    assert rows["queued"]["kworker_steps_per_pair"] == 9.0
    assert rows["at_once"]["call_ns_per_pair"] == 100


def test_kernel_work_is_a_default_benchmark():
    assert BENCHMARKS["kernel_work"].default
