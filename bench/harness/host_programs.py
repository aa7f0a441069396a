"""Benchmark "host_programs": Debian's own dynamically linked programs from the host root
(ld.so, libc and friends loaded by the guest, issue 18) under probesim, qemu-user and
natively, as wall-time ratios. x86_64 only: the programs are the host's.

Each command runs with a clean environment (LC_ALL=C, TZ=UTC, PATH=/usr/bin:/bin). A run
counts only if it exits 0 and its stdout equals the native run's, compared as each program's
`compare` sees it: `ls -la` without its date columns (probesim's clock is virtual, so ls
prints a year where the host prints a time of day). Ratio a/b is b's median time over a's
(a's speed relative to b's; < 1 means a is slower).
"""
from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from harness.context import Context
from harness.measure import Sample, Timing, run_once
from harness.registry import BenchResult, benchmark
from harness.table import fmt_ratio, format_table

GUEST_ENV = {"LC_ALL": "C", "TZ": "UTC", "PATH": "/usr/bin:/bin"}


def without_ls_dates(out: str) -> list[str]:
    """`ls -l` lines without the three date fields (mode links owner group size | date | name)."""
    return [" ".join(f[:5] + f[8:]) if len(f) > 8 else " ".join(f)
            for f in (line.split() for line in out.splitlines())]


@dataclass(frozen=True)
class HostProgram:
    name: str
    argv: tuple[str, ...]
    compare: Callable[[str], object] = lambda out: out


PROGRAMS: list[HostProgram] = [
    HostProgram("ls -la /usr/bin", ("/bin/ls", "-la", "/usr/bin"), without_ls_dates),
    HostProgram("python3 -c pass", ("/usr/bin/python3", "-c", "pass")),
]
PEERS = ("native", "qemu-user", "probesim")
# (numerator, denominator) peers whose speed ratio is reported.
RATIOS = [("probesim", "native"), ("qemu-user", "native"), ("probesim", "qemu-user")]


def _env_cmd() -> list[str]:
    return [shutil.which("env") or "/usr/bin/env", "-i", *[f"{k}={v}" for k, v in GUEST_ENV.items()]]


def _command(ctx: Context, peer: str, argv: list[str]) -> list[str] | None:
    """The command line of one peer, or None when its tool is missing."""
    if peer == "native":
        return _env_cmd() + argv
    if peer == "qemu-user":
        qemu = ctx.tool("qemu-x86_64")
        return _env_cmd() + [str(qemu), *argv] if qemu else None
    probesim = ctx.tool("probesim")
    if probesim is None:
        return None
    env = [x for k, v in GUEST_ENV.items() for x in ("--env", f"{k}={v}")]
    return [str(probesim), "run", "--env-clear", *env, "--", *argv]


def _bad(prog: HostProgram, sample: Sample, reference: str | None) -> str | None:
    if sample.returncode != 0:
        return f"exit status {sample.returncode}: {sample.stderr.strip()[-300:]}"
    if reference is not None and prog.compare(sample.stdout) != prog.compare(reference):
        return "stdout differs from the native run's"
    return None


def _measure(ctx: Context, prog: HostProgram) -> dict:
    argv = list(prog.argv)
    cols: dict[str, dict] = {}
    for peer in PEERS:
        cmd = _command(ctx, peer, argv)
        cols[peer] = {"status": "ok", "command": cmd} if cmd else {
            "status": "skipped", "note": f"{peer}: tool not found"}
    if not Path(argv[0]).exists():
        return {"program": prog.name, "note": f"{argv[0]} is not installed", "peers": {}}
    timings = {p: Timing() for p in PEERS}
    reference = None
    for rep in range(ctx.reps):  # interleaved, so host drift hits every peer alike
        for peer in PEERS:
            col = cols[peer]
            if col["status"] != "ok":
                continue
            sample = run_once(ctx, col["command"])
            bad = _bad(prog, sample, reference)
            if bad:
                col.update(status="failed", note=bad)
                ctx.note(f"host_programs: {peer} FAILED on {prog.name}: {bad}")
                continue
            reference = reference if reference is not None else sample.stdout
            timings[peer].times_s.append(sample.seconds)
            print(f"    {prog.name} rep {rep + 1}/{ctx.reps} {peer}: {sample.seconds:.3f} s",
                  file=sys.stderr, flush=True)
    for peer, t in timings.items():
        if cols[peer]["status"] == "ok" and t.times_s:
            cols[peer].update(t.as_json(None))
    ratios = {f"{a}/{b}": round(cols[b]["median_s"] / cols[a]["median_s"], 4)
              for a, b in RATIOS
              if cols[a].get("median_s") and cols[b].get("median_s")}
    return {"program": prog.name, "argv": argv, "peers": cols, "ratios": ratios}


def _tables(rows: list[dict]) -> list[str]:
    times = []
    for r in rows:
        for peer in PEERS:
            c = r["peers"].get(peer, {})
            cells = ([f"{c['median_s']:.3f}", f"{c['min_s']:.3f}", f"{c['max_s']:.3f}"]
                     if c.get("median_s") else [c.get("status", r.get("note", "-")).upper()] * 3)
            times.append([r["program"], peer, *cells])
    ratio_rows = [[r["program"], *[fmt_ratio(r.get("ratios", {}).get(f"{a}/{b}"))
                                   for a, b in RATIOS]] for r in rows]
    return [format_table(["program", "peer", "median_s", "min_s", "max_s"], times,
                         right={2, 3, 4}),
            format_table(["program", *[f"{a}/{b}" for a, b in RATIOS]], ratio_rows,
                         right={1, 2, 3})]


@benchmark("host_programs", "Debian's dynamic ls -la /usr/bin and python3 -c pass: probesim vs "
           "qemu-user vs native")
def host_programs(ctx: Context) -> BenchResult:
    if "x86_64" not in ctx.arches:
        return BenchResult({"status": "skipped", "note": "x86_64 not selected"})
    if ctx.tool("probesim") is None:
        ctx.note("host_programs skipped: probesim CLI not built")
        return BenchResult({"status": "skipped"})
    rows = [_measure(ctx, p) for p in PROGRAMS]
    ok = all(c.get("status") != "failed" for r in rows for c in r["peers"].values())
    return BenchResult({"status": "ok" if ok else "failed", "env": GUEST_ENV, "rows": rows},
                       _tables(rows), [], ok)
