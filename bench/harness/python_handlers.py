"""Benchmark "python_handlers": host ns per probe hit with a Python handler (the venv's
probesim) next to the same hit with a C++ handler, for two suites:
  kprobes  bench/py_probe_hits.py vs bench_probe_hits (bench/probe_hits_bench.cc), on the guest
           kernel's kprobe_loop_target (kinds kprobe_int3, kprobe_boosted, kretprobe);
  uprobes  bench/py_uprobe_hits.py vs `bench_uprobes hits` (bench/uprobe_bench.cc), on
           guest/tests/uprobed `loop N` (kinds uprobe, uretprobe on probe_me).
The difference is the price of the single trampoline into Python (GIL, the PtRegs view, the
call). Both sides print the same JSON lines ({"arch","kind","ns_per_hit","modelled_cycles"}).

Needs a venv whose probesim has the suite's probes (<repo>/.venv, made by scripts/venv.sh;
--tool python=PATH picks another interpreter) and the suite's C++ program (and, for uprobes,
the build's uprobed guests); anything missing skips that suite with a note. Each program
takes the best of 3 inside; the table shows the median over ctx.reps runs.
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

HITS = 20_000          # kprobe hits per run (kernel_call loops)
UPROBE_HITS = 100_000  # uprobe hits per run (whole guest runs: more hits, less noise)
KPROBE_SCRIPT = REPO / "bench" / "py_probe_hits.py"
UPROBE_SCRIPT = REPO / "bench" / "py_uprobe_hits.py"
# What the venv's probesim must have for each suite.
FEATURES = {"kprobes": "probesim.Machine.kernel_call", "uprobes": "probesim.Machine.uretprobes"}
UPROBED_FLAVOURS = ("x86_64-glibc", "aarch64-glibc")


def _venv_features(ctx: Context) -> tuple[Path | None, set[str]]:
    """The interpreter and the suites its probesim supports (with notes for what is missing)."""
    python = ctx.overrides.get("python", REPO / ".venv" / "bin" / "python")
    if not python.exists():
        ctx.note(f"python_handlers skipped: {python} is missing (make venv / scripts/venv.sh)")
        return None, set()
    found = set()
    for suite, expr in FEATURES.items():
        probe = subprocess.run([str(python), "-c", f"import probesim; {expr}"],
                               capture_output=True, text=True, timeout=60)
        if probe.returncode == 0:
            found.add(suite)
        else:
            ctx.note(f"python_handlers: {python}'s probesim has no {suite} "
                     "(re-run scripts/venv.sh)")
    return python, found


def _suites(ctx: Context, python: Path, features: set[str]) -> list[tuple[list[str], list[str]]]:
    """(Python command, C++ command) of each suite that can run."""
    suites = []
    kp = ctx.build / "bench" / "bench_probe_hits"
    if "kprobes" in features and kp.exists():
        suites.append(([str(python), str(KPROBE_SCRIPT), str(HITS), *ctx.arches],
                       [str(kp), str(HITS)]))
    elif "kprobes" in features:
        ctx.note(f"python_handlers: kprobes skipped, {kp} is not built (target bench_probe_hits)")
    up = ctx.build / "bench" / "bench_uprobes"
    guests = [ctx.build / "guest" / f / "uprobed" for f in UPROBED_FLAVOURS]
    if "uprobes" in features and up.exists() and all(g.exists() for g in guests):
        suites.append(([str(python), str(UPROBE_SCRIPT), str(ctx.build / "guest"),
                        str(UPROBE_HITS), *ctx.arches],
                       [str(up), "hits", *map(str, guests), str(UPROBE_HITS)]))
    elif "uprobes" in features:
        ctx.note(f"python_handlers: uprobes skipped, {up} or the uprobed guests are not built")
    return suites


def _parse(stdout: str) -> dict[tuple[str, str], dict]:
    rows = (json.loads(line) for line in stdout.splitlines() if line.startswith("{"))
    return {(d["arch"], d["kind"]): d for d in rows}


def _runs(ctx: Context, cmd: list[str]) -> list[dict] | str:
    """ctx.reps parsed runs of cmd, or the error text of the first failing one."""
    runs = []
    for _ in range(ctx.reps):
        s = run_once(ctx, cmd)
        if s.returncode != 0:
            program = Path(cmd[1] if cmd[1].endswith(".py") else cmd[0]).name
            return f"{program} failed (rc={s.returncode}): {s.stderr[-300:]}"
        runs.append(_parse(s.stdout))
    return runs


def _median(runs: list[dict], key: tuple[str, str]) -> float | None:
    values = [r[key]["ns_per_hit"] for r in runs if key in r]
    return round(statistics.median(values), 1) if values else None


def _rows(py_runs: list[dict], cpp_runs: list[dict]) -> list[dict]:
    rows = []
    for key in py_runs[0]:
        py_ns, cpp_ns = _median(py_runs, key), _median(cpp_runs, key)
        rows.append({"arch": key[0], "kind": key[1], "python_ns": py_ns, "cpp_ns": cpp_ns,
                     "python_overhead_ns": None if cpp_ns is None else round(py_ns - cpp_ns, 1),
                     "ratio": None if not cpp_ns else round(py_ns / cpp_ns, 2),
                     "modelled_cycles": py_runs[0][key]["modelled_cycles"]})
    return rows


@benchmark("python_handlers", "host ns per kprobe / uprobe hit: Python handler vs C++ handler")
def python_handlers(ctx: Context) -> BenchResult:
    python, features = _venv_features(ctx)
    suites = _suites(ctx, python, features) if python else []
    if not suites:
        return BenchResult({"status": "skipped"})
    rows = []
    for py_cmd, cpp_cmd in suites:
        py_runs, cpp_runs = _runs(ctx, py_cmd), _runs(ctx, cpp_cmd)
        for runs in (py_runs, cpp_runs):
            if isinstance(runs, str):
                return BenchResult({"status": "failed", "error": runs}, [runs], ok=False)
        rows += _rows(py_runs, cpp_runs)
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
    return BenchResult({"status": "ok", "hits": HITS, "uprobe_hits": UPROBE_HITS, "rows": rows},
                       [table], [fig] if fig else [])


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.0f}"
