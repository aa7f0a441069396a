"""Benchmark "rss_per_process": host memory probesim needs per guest process. The guest
`forkmany K` (guest/bench/forkmany.c) keeps K children alive at once, each with 4 private
(copy-on-write) pages; the peak RSS of the probesim host process (ru_maxrss from wait4 on
that one child) is measured for K = 1, 10, 50, and the least-squares slope of peak RSS
over K is the cost of one more live process (measured with /usr/bin/time's %M).
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from harness.context import Context
from harness.lines import line_plot, slope
from harness.measure import parse_checksum
from harness.registry import BenchResult, benchmark
from harness.table import format_table

CHILDREN = (1, 10, 50)
PAGES = 4  # private pages each child writes


def peak_rss_kib(ctx: Context, cmd: list[str], scratch: Path) -> tuple[int, int | None, float, str]:
    """Runs cmd; returns (returncode, peak RSS KiB of that process, seconds, stdout).

    Under /usr/bin/time (`%M`: ru_maxrss of its child, KiB) when installed. ru_maxrss of a
    child forked straight from this python would start at python's own RSS (Linux records
    the pre-exec mm's high-water mark at execve), hiding everything below ~60 MiB; /usr/bin/time
    is ~1 MiB, so its child's floor is negligible. Fallback: wait4 on a direct child."""
    time_tool = Path("/usr/bin/time")
    rss_file = scratch.with_suffix(".rss")
    if time_tool.exists():
        cmd = [str(time_tool), "-f", "%M", "-o", str(rss_file), *cmd]
    else:
        ctx.note("rss_per_process: /usr/bin/time not installed; RSS includes python's floor")
    start = time.perf_counter()
    with open(scratch, "w") as out:
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL, env=ctx.env())
    while True:
        pid, status, usage = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() - start > ctx.timeout_s:
            p.kill()
            _, status, usage = os.wait4(p.pid, 0)
            break
        time.sleep(0.01)
    p.returncode = os.waitstatus_to_exitcode(status)  # so Popen never waits on it again
    kib = usage.ru_maxrss
    if time_tool.exists():
        lines = rss_file.read_text().split() if rss_file.exists() else []
        kib = int(lines[-1]) if lines and lines[-1].isdigit() else None
    return p.returncode, kib, time.perf_counter() - start, scratch.read_text(errors="replace")


def _measure_arch(ctx: Context, probesim: str, arch: str) -> tuple[list[dict], list[str]]:
    binary = ctx.guest(arch, "forkmany")
    if not binary.exists():
        return [], [f"{binary} is not built (target bench_guests)"]
    rows, errors = [], []
    for k in CHILDREN:
        rss, secs = [], []
        for rep in range(ctx.reps):
            rc, kib, s, out = peak_rss_kib(ctx, [probesim, "run", "--", str(binary), str(k),
                                                 str(PAGES)], ctx.tmp / f"rss-{arch}-{k}.out")
            if rc != 0 or kib is None or parse_checksum(out) is None:
                errors.append(f"{arch} K={k}: rc={rc}, output {out.strip()[-200:]!r}")
                break
            rss.append(kib)
            secs.append(s)
        if rss:
            rows.append({"arch": arch, "children": k, "max_rss_kib": statistics.median(rss),
                         "rss_kib": rss, "median_s": round(statistics.median(secs), 3)})
            print(f"  rss_per_process {arch} K={k}: {rows[-1]['max_rss_kib']} KiB",
                  file=sys.stderr)
    return rows, errors


@benchmark("rss_per_process", "probesim host peak RSS vs live guest processes (K = 1, 10, 50)")
def rss_per_process(ctx: Context) -> BenchResult:
    probesim = ctx.tool("probesim")
    if probesim is None:
        ctx.note("rss_per_process skipped: probesim CLI not built")
        return BenchResult({"status": "skipped"})
    rows, errors, per_proc = [], [], {}
    for arch in ctx.arches:
        r, e = _measure_arch(ctx, str(probesim), arch)
        rows += r
        errors += e
        per_proc[arch] = slope([x["children"] for x in r], [x["max_rss_kib"] for x in r])
    table = format_table(
        ["arch", "K children", "peak RSS KiB", "median s"],
        [[r["arch"], str(r["children"]), f"{r['max_rss_kib']:.0f}", f"{r['median_s']:.2f}"]
         for r in rows], right={1, 2, 3})
    summary = "KiB per extra live process (slope): " + ", ".join(
        f"{a} {v:.0f}" if v is not None else f"{a} -" for a, v in per_proc.items())
    fig = line_plot(ctx.results_dir / "rss_per_process.png",
                    "probesim peak RSS vs live guest processes (forkmany)",
                    {a: ([r["children"] for r in rows if r["arch"] == a],
                         [r["max_rss_kib"] / 1024 for r in rows if r["arch"] == a])
                     for a in ctx.arches},
                    "live guest processes K", "peak host RSS (MiB)", logx=False, logy=False)
    return BenchResult({"status": "ok" if not errors else "failed", "pages_per_child": PAGES,
                        "rows": rows, "kib_per_process": per_proc, "errors": errors},
                       [table, summary] + [f"FAILED: {e}" for e in errors],
                       [fig] if fig else [], ok=not errors)
