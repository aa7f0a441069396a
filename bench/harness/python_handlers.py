"""Benchmark "python_handlers": host ns per probe hit with a Python handler (the venv's
probesim, bench/py_probe_hits.py) next to the same hit with a C++ handler (bench_probe_hits,
bench/probe_hits_bench.cc), both on the guest kernel's kprobe_loop_target. The difference is
the price of the single trampoline into Python (GIL, the PtRegs view, the call).

Needs the build's bench_probe_hits and a venv whose probesim has kernel probes
(<repo>/.venv, made by scripts/venv.sh; --tool python=PATH picks another interpreter);
either missing skips the benchmark with a note. Runs in a few seconds (HITS hits per kind,
best of 3 inside each program, median over ctx.reps runs).
"""
from __future__ import annotations

import json
import statistics
import subprocess
from pathlib import Path

from harness.context import REPO, Context
from harness.measure import run_once
from harness.plots import grouped_bars
from harness.registry import BenchResult, benchmark
from harness.table import format_table

HITS = 20_000
SCRIPT = REPO / "bench" / "py_probe_hits.py"
KEYS = ("arch", "kind")


def _venv_python(ctx: Context) -> Path | None:
    """The interpreter whose probesim has kprobes, or None (with a note saying why)."""
    python = ctx.overrides.get("python", REPO / ".venv" / "bin" / "python")
    if not python.exists():
        ctx.note(f"python_handlers skipped: {python} is missing (make venv / scripts/venv.sh)")
        return None
    probe = subprocess.run([str(python), "-c", "import probesim; probesim.Machine.kernel_call"],
                           capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        ctx.note(f"python_handlers skipped: {python} has no probesim with kernel probes "
                 "(re-run scripts/venv.sh)")
        return None
    return python


def _parse(stdout: str) -> dict[tuple[str, str], dict]:
    rows = (json.loads(line) for line in stdout.splitlines() if line.startswith("{"))
    return {(d["arch"], d["kind"]): d for d in rows}


def _runs(ctx: Context, cmd: list[str], what: str) -> list[dict] | str:
    """ctx.reps parsed runs of cmd, or the error text of the first failing one."""
    runs = []
    for _ in range(ctx.reps):
        s = run_once(ctx, cmd)
        if s.returncode != 0:
            return f"{what} failed (rc={s.returncode}): {s.stderr[-300:]}"
        runs.append(_parse(s.stdout))
    return runs


def _median(runs: list[dict], key: tuple[str, str]) -> float | None:
    values = [r[key]["ns_per_hit"] for r in runs if key in r]
    return round(statistics.median(values), 1) if values else None


@benchmark("python_handlers", "host ns per kprobe hit: Python handler vs C++ handler")
def python_handlers(ctx: Context) -> BenchResult:
    cpp = ctx.build / "bench" / "bench_probe_hits"
    if not cpp.exists():
        ctx.note(f"python_handlers skipped: {cpp} is not built (target bench_probe_hits)")
        return BenchResult({"status": "skipped"})
    python = _venv_python(ctx)
    if python is None:
        return BenchResult({"status": "skipped"})
    py_runs = _runs(ctx, [str(python), str(SCRIPT), str(HITS), *ctx.arches], "py_probe_hits")
    cpp_runs = _runs(ctx, [str(cpp), str(HITS)], "bench_probe_hits")
    for runs in (py_runs, cpp_runs):
        if isinstance(runs, str):
            return BenchResult({"status": "failed", "error": runs}, [runs], ok=False)
    rows = []
    for key in py_runs[0]:
        py_ns, cpp_ns = _median(py_runs, key), _median(cpp_runs, key)
        rows.append({"arch": key[0], "kind": key[1], "python_ns": py_ns, "cpp_ns": cpp_ns,
                     "python_overhead_ns": None if cpp_ns is None else round(py_ns - cpp_ns, 1),
                     "ratio": None if not cpp_ns else round(py_ns / cpp_ns, 2),
                     "modelled_cycles": py_runs[0][key]["modelled_cycles"]})
    table = format_table(
        ["arch", "probe kind", "C++ handler ns/hit", "Python handler ns/hit", "Python extra ns",
         "Python/C++", "modelled cycles"],
        [[r["arch"], r["kind"], _fmt(r["cpp_ns"]), _fmt(r["python_ns"]),
          _fmt(r["python_overhead_ns"]), "" if r["ratio"] is None else f"{r['ratio']:.2f}x",
          f"{r['modelled_cycles']:.0f}"] for r in rows],
        right={2, 3, 4, 5, 6})
    fig = grouped_bars(ctx.results_dir / "python_handlers.png",
                       "Host time per probe hit: C++ vs Python handler",
                       [f"{r['arch']}\n{r['kind']}" for r in rows],
                       {"C++ handler": [r["cpp_ns"] for r in rows],
                        "Python handler": [r["python_ns"] for r in rows]},
                       "host ns per hit")
    return BenchResult({"status": "ok", "hits": HITS, "rows": rows}, [table],
                       [fig] if fig else [])


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.0f}"
