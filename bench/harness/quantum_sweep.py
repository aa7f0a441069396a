"""Benchmark "quantum_sweep": probesim throughput of one compute workload versus the
scheduler quantum (`probesim run --quantum Q`, guest instructions per uc_emu_start slice),
Q = 1e3 ... 1e6. A smaller quantum means more returns to the host scheduler per guest
instruction. MIPS = instructions from the `--stats` file / median wall time of the process.
"""
from __future__ import annotations

import re
import statistics
import sys

from harness.context import Context
from harness.lines import line_plot
from harness.measure import parse_checksum, parse_instructions, run_once
from harness.registry import BenchResult, benchmark
from harness.table import fmt_count, format_table

QUANTA = (1_000, 10_000, 100_000, 1_000_000)
WORKLOAD, ARGS = "compute", ("524288", "4")   # SHA-256, 4 rounds over 512 KiB
QUANTA_RE = re.compile(r"^quanta:\s*(\d+)\s*$", re.M)


def _sweep_arch(ctx: Context, probesim: str, arch: str) -> tuple[list[dict], list[str]]:
    binary = ctx.guest(arch, WORKLOAD)
    if not binary.exists():
        return [], [f"{binary} is not built (target bench_guests)"]
    rows, errors, ref = [], [], None
    for q in QUANTA:
        times, insns, quanta = [], None, None
        stats = ctx.tmp / f"quantum-{arch}-{q}.txt"
        for _ in range(ctx.reps):
            s = run_once(ctx, [probesim, "run", "--quantum", str(q), "--stats", "--output",
                               str(stats), "--", str(binary), *ARGS])
            text = stats.read_text(errors="replace") if stats.exists() else ""
            got = parse_checksum(s.stdout)
            if s.returncode != 0 or got is None or (ref and got != ref):
                errors.append(f"{arch} Q={q}: rc={s.returncode} checksum={got} "
                              f"{s.stderr.strip()[-200:]}")
                break
            ref = ref or got
            times.append(s.seconds)
            insns = parse_instructions(text)
            m = QUANTA_RE.search(text)
            quanta = int(m.group(1)) if m else None
        if times and insns:
            med = statistics.median(times)
            rows.append({"arch": arch, "quantum": q, "instructions": insns, "quanta": quanta,
                         "median_s": round(med, 4), "times_s": [round(t, 4) for t in times],
                         "mips": round(insns / med / 1e6, 2)})
            print(f"  quantum_sweep {arch} Q={q}: {rows[-1]['mips']} MIPS", file=sys.stderr)
    return rows, errors


@benchmark("quantum_sweep", "probesim MIPS vs scheduler quantum (compute workload)")
def quantum_sweep(ctx: Context) -> BenchResult:
    probesim = ctx.tool("probesim")
    if probesim is None:
        ctx.note("quantum_sweep skipped: probesim CLI not built")
        return BenchResult({"status": "skipped"})
    rows, errors = [], []
    for arch in ctx.arches:
        r, e = _sweep_arch(ctx, str(probesim), arch)
        rows += r
        errors += e
    best = {a: max((r["mips"] for r in rows if r["arch"] == a), default=None) for a in ctx.arches}
    table = format_table(
        ["arch", "quantum", "instructions", "quanta", "median s", "MIPS", "vs best"],
        [[r["arch"], fmt_count(r["quantum"]), fmt_count(r["instructions"]),
          fmt_count(r["quanta"]), f"{r['median_s']:.3f}", f"{r['mips']:.0f}",
          f"{r['mips'] / best[r['arch']]:.2f}"] for r in rows], right={1, 2, 3, 4, 5, 6})
    tables = [table] + [f"FAILED: {e}" for e in errors]
    fig = line_plot(ctx.results_dir / "quantum_sweep.png",
                    f"probesim throughput vs quantum ({WORKLOAD} {' '.join(ARGS)})",
                    {a: ([r["quantum"] for r in rows if r["arch"] == a],
                         [r["mips"] for r in rows if r["arch"] == a]) for a in ctx.arches},
                    "quantum (guest instructions per slice)", "MIPS (median)", logy=False)
    return BenchResult({"status": "ok" if not errors else "failed", "workload": WORKLOAD,
                        "args": list(ARGS), "rows": rows, "errors": errors}, tables,
                       [fig] if fig else [], ok=not errors)
