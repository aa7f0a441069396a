"""Tests of the host_programs benchmark with stand-in peers (a fake probesim and qemu that run
the program natively), so they need no build:  /usr/bin/python3 -m pytest bench/tests -q
"""
from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import run  # noqa: E402
from harness.host_programs import without_ls_dates  # noqa: E402

# `probesim run [flags] -- PROGRAM ARGS...` run natively with the --env values.
FAKE_PROBESIM = """#!/bin/sh
env=""
while [ "$1" != "--" ]; do
  if [ "$1" = "--env" ]; then env="$env $2"; shift; fi
  shift
done
shift
{prefix}exec env -i $env "$@"
"""
FAKE_QEMU = """#!/bin/sh
exec "$@"
"""


def _script(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def _run(tmp_path: Path, probesim: Path) -> tuple[int, dict]:
    qemu = _script(tmp_path / "qemu", FAKE_QEMU)
    out = tmp_path / "res" / "results.json"
    rc = run.main(["--build", str(tmp_path / "build"), "--output", str(out), "--quick",
                   "--only", "host_programs", "--arch", "x86_64",
                   "--tool", f"probesim={probesim}", "--tool", f"qemu-x86_64={qemu}"])
    return rc, json.loads(out.read_text())


@pytest.mark.skipif(not Path("/usr/bin/python3").exists(), reason="needs the host's python3")
def test_every_peer_is_timed_and_the_ratios_reported(tmp_path):
    rc, res = _run(tmp_path, _script(tmp_path / "probesim", FAKE_PROBESIM.format(prefix="")))
    assert rc == 0
    rows = res["benchmarks"]["host_programs"]["rows"]
    assert [r["program"] for r in rows] == ["ls -la /usr/bin", "python3 -c pass"]
    for r in rows:
        assert all(r["peers"][p]["status"] == "ok" for p in ("native", "qemu-user", "probesim"))
        assert set(r["ratios"]) == {"probesim/native", "qemu-user/native", "probesim/qemu-user"}


def test_a_peer_printing_other_output_fails_the_run(tmp_path):
    wrong = _script(tmp_path / "probesim", FAKE_PROBESIM.format(prefix="echo extra line\n"))
    rc, res = _run(tmp_path, wrong)
    assert rc == 1
    col = res["benchmarks"]["host_programs"]["rows"][0]["peers"]["probesim"]
    assert col["status"] == "failed" and "differs" in col["note"]


def test_ls_listings_compare_without_their_dates():
    native = "-rwxr-xr-x 1 root root 10 Dec  6 10:53 tool\n"
    guest = "-rwxr-xr-x 1 root root 10 Dec  6  2026 tool\n"
    assert without_ls_dates(native) == without_ls_dates(guest)
    assert without_ls_dates(native) != without_ls_dates(guest.replace("10 Dec", "11 Dec"))
