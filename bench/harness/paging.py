"""Benchmark "paging" (issue 14, stage 2): the paged MMU in real Unicorn engines, from
bench/paging_bench.cc (`bench_paging`, one JSON line per measurement; see its header):

  fill   per arch: ns per TLB-hit iteration, per fill of a present PTE after uc_ctl_flush_tlb,
         per miss that demand-zeroes a frame (with the host's first touch of it), per
         PagedMm::fill alone, and per uc_ctl_flush_tlb. Host thread CPU time (a shared machine
         moves wall time), best of 3 in the process, median over --reps processes.
  vmas   N = 1e3, 1e4, 1e5 one-page VMAs in one model Mm, then one load from each in the
         engine: ns per mmap (the model's: O(log N) with the Mm's hole index) and per first
         touch. There is no Unicorn region per VMA, so N is not bounded by the ~4,094 (x86_64)
         / ~1,020 (aarch64) regions of mm_scaling.
"""
from __future__ import annotations

import json
import statistics

from harness.context import Context
from harness.measure import run_once
from harness.registry import BenchResult, benchmark
from harness.table import format_table

PAGES = 4096
MAX_VMAS = 100000
FILL_METRICS = ("hit_ns", "refill_ns", "miss_ns", "model_ns", "flush_ns")
VMA_METRICS = ("mmap_ns", "touch_ns")


def parse(stdout: str) -> dict[tuple, dict]:
    """JSON lines keyed by (arch, kind, n): n is `pages` for fill rows."""
    rows = {}
    for line in stdout.splitlines():
        if line.startswith("{"):
            d = json.loads(line)
            rows[(d["arch"], d["kind"], d.get("n", d.get("pages")))] = d
    return rows


def medians(runs: list[dict[tuple, dict]]) -> list[dict]:
    """One row per key of the first run, each metric the median over runs."""
    out = []
    for key, first in runs[0].items():
        metrics = FILL_METRICS if key[1] == "fill" else VMA_METRICS
        row = {"arch": key[0], "kind": key[1], "n": key[2]}
        row.update({m: round(statistics.median(r[key][m] for r in runs if key in r), 2)
                    for m in metrics})
        if "frames" in first:
            row["frames"] = first["frames"]
        out.append(row)
    return out


def tables(rows: list[dict]) -> list[str]:
    fills = [r for r in rows if r["kind"] == "fill"]
    vmas = [r for r in rows if r["kind"] == "vmas"]
    return [
        format_table(["arch", "pages", "hit ns/iter", "fill ns (present PTE)",
                      "miss ns (demand-zero)", "PagedMm::fill ns", "flush_tlb ns"],
                     [[r["arch"], str(r["n"]), f"{r['hit_ns']:.2f}", f"{r['refill_ns']:.0f}",
                       f"{r['miss_ns']:.0f}", f"{r['model_ns']:.0f}", f"{r['flush_ns']:.0f}"]
                      for r in fills], right={1, 2, 3, 4, 5, 6}),
        format_table(["arch", "N VMAs", "mmap ns (model)", "first touch ns", "frames"],
                     [[r["arch"], str(r["n"]), f"{r['mmap_ns']:.0f}", f"{r['touch_ns']:.0f}",
                       str(r.get("frames", "-"))] for r in vmas], right={1, 2, 3, 4}),
    ]


@benchmark("paging", "paged MMU in Unicorn: TLB fill/miss/flush cost, VMAs without regions")
def paging(ctx: Context) -> BenchResult:
    exe = ctx.build / "bench" / "bench_paging"
    if not exe.exists():
        ctx.note(f"paging skipped: {exe} is not built (target bench_paging)")
        return BenchResult({"status": "skipped"})
    runs = []
    for _ in range(ctx.reps):
        s = run_once(ctx, [str(exe), str(PAGES), str(MAX_VMAS)])
        if s.returncode != 0:
            return BenchResult({"status": "failed", "stderr": s.stderr[-500:]},
                               [f"bench_paging failed (rc={s.returncode}): {s.stderr[-300:]}"],
                               ok=False)
        runs.append(parse(s.stdout))
    rows = medians(runs)
    return BenchResult({"status": "ok", "rows": rows}, tables(rows))
