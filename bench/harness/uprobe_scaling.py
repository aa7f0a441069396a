"""Benchmark "uprobe_scaling": uprobe registration and unregistration time versus the number N
of address spaces mapping the probed file (N = 1 ... 1e4; each also holds 40 other VMAs), and
the cost of finding the (mm, vaddr) pairs alone: the i_mmap stabbing query the engine uses
versus a linear scan over every VMA of every mm (bench/uprobe_bench.cc, `bench_uprobes scale`;
model mms without CPUs). Best of 3 in the process, median over ctx.reps runs.
"""
from __future__ import annotations

import json
import statistics

from harness.context import Context
from harness.lines import line_plot
from harness.measure import run_once
from harness.registry import BenchResult, benchmark
from harness.table import format_table

METRICS = ("register_ns", "unregister_ns", "stab_ns", "linear_scan_ns")


@benchmark("uprobe_scaling", "uprobe (un)registration vs N mapping processes, i_mmap vs linear scan")
def uprobe_scaling(ctx: Context) -> BenchResult:
    exe = ctx.build / "bench" / "bench_uprobes"
    guest = ctx.build / "guest" / "x86_64-glibc" / "uprobed"
    if not exe.exists() or not guest.exists():
        ctx.note(f"uprobe_scaling skipped: {exe} or {guest} is not built")
        return BenchResult({"status": "skipped"})
    runs = []
    for _ in range(ctx.reps):
        s = run_once(ctx, [str(exe), "scale", str(guest), "10000"])
        if s.returncode != 0:
            return BenchResult({"status": "failed", "stderr": s.stderr[-500:]},
                               [f"bench_uprobes scale failed (rc={s.returncode}): {s.stderr[-300:]}"],
                               ok=False)
        runs.append({d["n"]: d for d in map(json.loads, filter(lambda l: l.startswith("{"),
                                                                s.stdout.splitlines()))})
    ns = sorted(runs[0])
    rows = []
    for n in ns:
        med = {m: statistics.median(r[n][m] for r in runs) for m in METRICS}
        rows.append({"n": n, "vmas": runs[0][n]["vmas"], **med,
                     "register_per_mm_ns": med["register_ns"] / n,
                     "scan_over_stab": med["linear_scan_ns"] / max(med["stab_ns"], 1)})
    table = format_table(
        ["N mms", "VMAs", "register us", "unregister us", "per mm ns", "stab us", "linear scan us",
         "scan/stab"],
        [[str(r["n"]), str(r["vmas"]), f"{r['register_ns'] / 1e3:.1f}",
          f"{r['unregister_ns'] / 1e3:.1f}", f"{r['register_per_mm_ns']:.0f}",
          f"{r['stab_ns'] / 1e3:.2f}", f"{r['linear_scan_ns'] / 1e3:.1f}",
          f"{r['scan_over_stab']:.0f}x"] for r in rows],
        right=set(range(8)))
    fig = line_plot(ctx.results_dir / "uprobe_scaling.png",
                    "uprobe registration vs processes mapping the file",
                    {"uprobe_register": (ns, [r["register_ns"] for r in rows]),
                     "uprobe_unregister": (ns, [r["unregister_ns"] for r in rows]),
                     "find mms: i_mmap stab": (ns, [r["stab_ns"] for r in rows]),
                     "find mms: linear scan": (ns, [r["linear_scan_ns"] for r in rows])},
                    "address spaces mapping the file (N)", "host ns (best of 3, median of runs)")
    return BenchResult({"status": "ok", "rows": rows}, [table], [fig] if fig else [])
