"""Tests of the benchmark harness (bench/harness, bench/run.py) with fake tools, so they run
in a second without a build:  /usr/bin/python3 -m pytest bench/tests -q
"""
from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import run  # noqa: E402
from harness.measure import Timing, parse_checksum, parse_instructions  # noqa: E402
from harness.table import fmt_count, format_table  # noqa: E402
from harness.throughput import _ratios  # noqa: E402

# A fake peer: prints the checksum given by $FAKE_SUM (default 'abc'); with --count it also
# prints "instructions: 2000000" on stderr, as raw_unicorn does.
FAKE_TOOL = """#!/bin/sh
if [ "$1" = "--count" ]; then echo "instructions: 2000000" >&2; fi
echo "checksum: {checksum}"
"""


def _script(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


@pytest.fixture
def fake_build(tmp_path: Path) -> Path:
    build = tmp_path / "build"
    (build / "bench").mkdir(parents=True)
    _script(build / "bench" / "raw_unicorn", FAKE_TOOL.format(checksum="abc"))
    for arch in ("x86_64", "aarch64"):
        (build / "guest" / "bench" / arch).mkdir(parents=True)
        for w in ("compute", "memops", "smallio"):
            (build / "guest" / "bench" / arch / w).write_bytes(b"\x7fELF fake " + w.encode())
    return build


def _run(build: Path, tmp_path: Path, *extra: str) -> tuple[int, dict]:
    out = tmp_path / "res" / "results.json"
    rc = run.main(["--build", str(build), "--output", str(out), "--quick", *extra])
    return rc, json.loads(out.read_text())


def test_parsers_find_the_checksum_and_instruction_lines():
    assert parse_checksum("compute: x\nchecksum: 00AbC1\n") == "00abc1"
    assert parse_checksum("no line") is None
    assert parse_instructions("", "cycles: 3\ninstructions: 1234\n") == 1234


def test_timing_reports_median_spread_and_mips():
    t = Timing([0.5, 0.25, 1.0])
    assert (t.median_s, t.min_s, t.max_s) == (0.5, 0.25, 1.0)
    assert t.mips(1_000_000) == pytest.approx(2.0)
    assert t.ns_per_insn(1_000_000) == pytest.approx(500.0)
    assert t.as_json(1_000_000)["mips_range"] == [1.0, 4.0]


def test_ratio_is_the_speed_of_the_numerator_relative_to_the_denominator():
    cols = {"probesim": {"status": "ok", "median_s": 2.0},
            "raw_unicorn": {"status": "ok", "median_s": 1.0},
            "qemu-user": {"status": "skipped"}}
    assert _ratios(cols) == {"probesim/raw_unicorn": 0.5}


def test_table_and_count_formatting():
    assert fmt_count(1_500_000) == "1.5M"
    text = format_table(["a", "bb"], [["x", "1"], ["yyy"]], right={1})
    assert text.splitlines()[2] == "x     1"


def test_missing_probesim_is_skipped_with_a_note_and_does_not_fail(fake_build, tmp_path):
    fake_qemu = _script(tmp_path / "qemu", FAKE_TOOL.format(checksum="abc"))
    rc, res = _run(fake_build, tmp_path, "--arch", "x86_64", "--workload", "compute",
                   "--tool", f"qemu-x86_64={fake_qemu}")
    assert rc == 0
    row = res["benchmarks"]["throughput"]["rows"][0]
    assert row["instructions"] == 2_000_000
    assert row["runners"]["probesim"]["status"] == "skipped"
    assert row["runners"]["raw_unicorn"]["status"] == "ok"
    assert "raw_unicorn/qemu-user" in row["ratios"]
    assert any("probesim" in n for n in res["notes"])


def test_a_runner_computing_a_different_checksum_fails_the_run(fake_build, tmp_path):
    wrong = _script(tmp_path / "qemu", FAKE_TOOL.format(checksum="def"))
    rc, res = _run(fake_build, tmp_path, "--arch", "aarch64", "--workload", "smallio",
                   "--tool", f"qemu-aarch64={wrong}")
    assert rc == 1
    col = res["benchmarks"]["throughput"]["rows"][0]["runners"]["qemu-user"]
    assert col["status"] == "failed" and "differs" in col["note"]


def test_instruction_counts_are_cached_per_binary_and_args(fake_build, tmp_path):
    args = ("--arch", "x86_64", "--workload", "memops", "--runner", "raw_unicorn")
    _run(fake_build, tmp_path, *args)
    cache = json.loads((tmp_path / "res" / "insn_counts.json").read_text())
    assert len(cache) == 1 and next(iter(cache.values()))["instructions"] == 2_000_000
    _, res = _run(fake_build, tmp_path, *args)
    assert res["benchmarks"]["throughput"]["rows"][0]["count_note"] == "cached"
