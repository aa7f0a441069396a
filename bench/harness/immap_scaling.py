"""Benchmark "immap_scaling": stabbing queries of the i_mmap interval tree (mmu::ImmapTree,
what uprobe registration asks: which VMAs map file page p) against a linear scan over the
same VMAs, for N = 10 ... 1e5 VMAs of one file. The C++ side is bench/immap_bench.cc
(`bench_immap`), which asserts that both find the same VMAs and prints one JSON line per N.
Each of ctx.reps runs of it gives a best-of-3 time; the table shows medians over runs.
"""
from __future__ import annotations

import json
import statistics

from harness.context import Context
from harness.lines import line_plot
from harness.measure import run_once
from harness.registry import BenchResult, benchmark
from harness.table import format_table

METRICS = ("tree_ns", "linear_ns", "insert_ns")


def _parse(stdout: str) -> dict[int, dict]:
    rows = {}
    for line in stdout.splitlines():
        if line.startswith("{"):
            d = json.loads(line)
            rows[d["n"]] = d
    return rows


@benchmark("immap_scaling", "i_mmap interval-tree stabbing query vs linear scan, N = 10..1e5")
def immap_scaling(ctx: Context) -> BenchResult:
    exe = ctx.build / "bench" / "bench_immap"
    if not exe.exists():
        ctx.note(f"immap_scaling skipped: {exe} is not built (target bench_immap)")
        return BenchResult({"status": "skipped"})
    runs: list[dict[int, dict]] = []
    for _ in range(ctx.reps):
        s = run_once(ctx, [str(exe)])
        if s.returncode != 0:
            return BenchResult({"status": "failed", "stderr": s.stderr[-500:]},
                               [f"bench_immap failed (rc={s.returncode}): {s.stderr[-300:]}"],
                               ok=False)
        runs.append(_parse(s.stdout))
    ns = sorted(runs[0])
    rows = []
    for n in ns:
        med = {m: statistics.median(r[n][m] for r in runs) for m in METRICS}
        rows.append({"n": n, "queries": runs[0][n]["queries"],
                     "hits_per_query": runs[0][n]["hits"] / runs[0][n]["queries"],
                     **{m: round(v, 2) for m, v in med.items()},
                     "speedup": round(med["linear_ns"] / med["tree_ns"], 2)})
    table = format_table(
        ["N VMAs", "hits/query", "tree ns/query", "linear ns/query", "linear/tree", "insert ns"],
        [[str(r["n"]), f"{r['hits_per_query']:.2f}", f"{r['tree_ns']:.1f}",
          f"{r['linear_ns']:.1f}", f"{r['speedup']:.1f}x", f"{r['insert_ns']:.1f}"] for r in rows],
        right={0, 1, 2, 3, 4, 5})
    fig = line_plot(ctx.results_dir / "immap_scaling.png",
                    "i_mmap stabbing query: interval tree vs linear scan",
                    {"ImmapTree::stab": (ns, [r["tree_ns"] for r in rows]),
                     "linear scan": (ns, [r["linear_ns"] for r in rows])},
                    "VMAs mapping the file (N)", "host ns per query (median of runs)")
    return BenchResult({"status": "ok", "rows": rows}, [table], [fig] if fig else [])
