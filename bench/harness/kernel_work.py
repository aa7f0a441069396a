"""Benchmark "kernel_work" (issue 16): what interleaving kernel operations costs.

  registration  bench/py_kernel_work.py (the venv's probesim) on uprobe_remap: PAIRS
                register/unregister pairs of a uprobe (remap_target) and of a kprobe
                (vm_mmap_pgoff), made at once by the host between run() calls versus queued
                as kworker work (at=N / unregister(at=M)). Per pair: extra host ns over the
                unprobed run, the register/unregister calls alone, the kworker's steps and the
                extra virtual time (at once: no kworker step; host calls take no virtual
                time). Median over ctx.reps runs of the script (each the best of 3 inside).
  seed000       schedules/s of the seed-000 scenario, as e2e.kops.uprobe_no_revalidate.*
                runs it (`explore --strategy random --quantum 8000 --cpus 1
                --until-invariant --uprobe uprobe_remap:remap_target@100000`, --no-shrink,
                1 job): with the toggle off over RUNS schedules (none fails), and with
                --bug uprobe_no_revalidate for seeds 0..SEEDS-1, each stopping at its first
                failure (schedules to the failure per seed; schedules/s over all of them).
"""
from __future__ import annotations

import json
import re
import statistics
import sys
from pathlib import Path

from harness.context import REPO, Context
from harness.measure import run_once
from harness.registry import BenchResult, benchmark
from harness.table import format_table

PAIRS = 40
SCRIPT = REPO / "bench" / "py_kernel_work.py"
RUNS = 100   # the toggle-off budget of e2e.kops.uprobe_no_revalidate.fixed
SEEDS = 10
BUG = "uprobe_no_revalidate"
RUN_RE = re.compile(r"^run (\d+) of \S+ \(seed \d+\) fails: invariant violated", re.M)
NONE_RE = re.compile(r"^no failing schedule in (\d+) runs", re.M)


def parse_pairs(stdout: str) -> dict[tuple[str, str, str], dict]:
    """py_kernel_work.py's JSON lines keyed by (arch, probe, mode)."""
    rows = (json.loads(line) for line in stdout.splitlines() if line.startswith("{"))
    return {(d["arch"], d["probe"], d["mode"]): d for d in rows}


def schedules_run(stdout: str) -> tuple[int | None, bool]:
    """(schedules run, whether one failed) from `probesim explore --no-shrink` output; None
    when the output says neither."""
    m = RUN_RE.search(stdout)
    if m:
        return int(m.group(1)) + 1, True
    m = NONE_RE.search(stdout)
    return (int(m.group(1)), False) if m else (None, False)


FIGURES = ("ns_per_pair", "call_ns_per_pair", "kworker_steps_per_pair", "virtual_ns_per_pair")


def median_rows(runs: list[dict]) -> list[dict]:
    """Per (arch, probe, mode): the median of each per-pair figure over the script's runs."""
    rows = []
    for key, first in runs[0].items():
        per = [r[key] for r in runs if key in r]
        row = {"arch": key[0], "probe": key[1], "mode": key[2], "pairs": first["pairs"]}
        for f in FIGURES:
            row[f] = statistics.median(p[f] for p in per)
        rows.append(row)
    return rows


def _registration(ctx: Context) -> tuple[list[dict], list[str]]:
    python = ctx.overrides.get("python", REPO / ".venv" / "bin" / "python")
    if not python.exists():
        ctx.note(f"kernel_work registration skipped: {python} is missing (scripts/venv.sh)")
        return [], []
    guests = [ctx.build / "guest" / f"{arch}-glibc" / "uprobe_remap" for arch in ctx.arches]
    if missing := [str(g) for g in guests if not g.exists()]:
        ctx.note("kernel_work registration skipped: no guest " + ", ".join(missing))
        return [], []
    cmd = [str(python), str(SCRIPT), str(ctx.build / "guest"), str(PAIRS), *ctx.arches]
    runs = []
    for rep in range(ctx.reps):
        s = run_once(ctx, cmd)
        if s.returncode != 0:
            return [], [f"py_kernel_work.py failed (rc={s.returncode}): {s.stderr[-400:]}"]
        runs.append(parse_pairs(s.stdout))
        print(f"  kernel_work registration rep {rep + 1}/{ctx.reps} done", file=sys.stderr,
              flush=True)
    return median_rows(runs), []


def _explore(ctx: Context, probesim: str, prog: Path, seed: int, runs: int,
             bug: bool) -> tuple[dict | None, str | None]:
    cmd = [probesim, "explore", "--strategy", "random", "--runs", str(runs), "--seed", str(seed),
           "--quantum", "8000", "--cpus", "1", "--jobs", "1", "--until-invariant", "--no-shrink",
           "--uprobe", f"{prog}:remap_target@100000", "--env-clear", "--env", "LC_ALL=C",
           "--save", str(ctx.tmp / "seed000.trace"), *(["--bug", BUG] if bug else []),
           "--", str(prog)]
    s = run_once(ctx, cmd)
    n, failed = schedules_run(s.stdout)
    if n is None or failed != bug:
        return None, (f"seed000 {'--bug ' + BUG if bug else 'toggle off'} seed {seed}: "
                      f"rc={s.returncode} {(s.stdout + s.stderr).strip()[-300:]}")
    return {"seed": seed, "schedules": n, "seconds": round(s.seconds, 3)}, None


def _seed000(ctx: Context) -> tuple[dict, list[str]]:
    probesim = ctx.tool("probesim")
    prog = ctx.build / "guest" / "x86_64-glibc" / "uprobe_remap"
    if probesim is None or not prog.exists() or "x86_64" not in ctx.arches:
        ctx.note("kernel_work seed000 skipped: needs the probesim CLI, x86_64 and " + str(prog))
        return {}, []
    out, errors = {}, []
    off, e = _explore(ctx, str(probesim), prog, 0, RUNS, False)
    if off:
        out["off"] = {**off, "schedules_per_s": round(off["schedules"] / off["seconds"], 2)}
        print(f"  kernel_work seed000 toggle off: {out['off']['schedules_per_s']} schedules/s",
              file=sys.stderr, flush=True)
    errors += [e] if e else []
    found = []
    for seed in range(SEEDS):
        r, e = _explore(ctx, str(probesim), prog, seed, RUNS, True)
        if e:
            errors.append(e)
            break
        found.append(r)
    if found:
        n, secs = sum(r["schedules"] for r in found), sum(r["seconds"] for r in found)
        counts = [r["schedules"] for r in found]
        out["on"] = {"seeds": found, "schedules": n, "seconds": round(secs, 3),
                     "schedules_per_s": round(n / secs, 2), "median": statistics.median(counts),
                     "min": min(counts), "max": max(counts)}
        print(f"  kernel_work seed000 toggle on: {out['on']['schedules_per_s']} schedules/s",
              file=sys.stderr, flush=True)
    return out, errors


def _tables(rows: list[dict], s0: dict) -> list[str]:
    tables = []
    if rows:
        tables.append(format_table(
            ["arch", "probe", "registered", f"host us/pair ({PAIRS})", "calls us/pair",
             "kworker steps/pair", "virtual ns/pair"],
            [[r["arch"], r["probe"], r["mode"].replace("_", " "), f"{r['ns_per_pair'] / 1e3:.0f}",
              f"{r['call_ns_per_pair'] / 1e3:.1f}", f"{r['kworker_steps_per_pair']:.1f}",
              f"{r['virtual_ns_per_pair']:.0f}"] for r in rows], right={3, 4, 5, 6}))
    if s0:
        cells = []
        if "off" in s0:
            cells.append(["off", "0", str(s0["off"]["schedules"]), "none found",
                          f"{s0['off']['schedules_per_s']:.2f}"])
        if "on" in s0:
            on = s0["on"]
            cells.append([f"--bug {BUG}", f"0..{len(on['seeds']) - 1}", str(on["schedules"]),
                          f"median {on['median']:g} ({on['min']}..{on['max']})",
                          f"{on['schedules_per_s']:.2f}"])
        tables.append(format_table(["seed 000 (x86_64)", "seeds", "schedules",
                                    "schedules to the failure", "schedules/s"],
                                   cells, right={2, 4}))
    return tables


@benchmark("kernel_work", "issue 16: probe registration at once vs queued as kworker work "
           "(host us, kworker steps, virtual ns per pair) and schedules/s of the seed-000 scenario")
def kernel_work(ctx: Context) -> BenchResult:
    rows, errors = _registration(ctx)
    s0, e = _seed000(ctx)
    errors += e
    if not rows and not s0 and not errors:
        return BenchResult({"status": "skipped"})
    tables = _tables(rows, s0) + [f"FAILED: {x}" for x in errors]
    return BenchResult({"status": "ok" if not errors else "failed", "pairs": PAIRS,
                        "registration": rows, "seed000": s0, "runs": RUNS, "seeds": SEEDS,
                        "errors": errors}, tables, [], ok=not errors)
