#!/usr/bin/python3
"""probesim benchmarks: runs the registered benchmarks (harness/registry.py) and writes
results.json plus PNG figures. See bench/README.md.

    /usr/bin/python3 bench/run.py --build build-release            # full run (a few minutes)
    /usr/bin/python3 bench/run.py --build build-release --quick    # one repetition
    bench/run.py --list

Exit status: 0 when every run that was attempted succeeded and computed the reference
checksum; 1 otherwise (skipped runners, e.g. a missing probesim CLI, do not fail the run).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

from harness import all as _all  # noqa: F401  (registers the benchmarks)
from harness.context import REPO, Context
from harness.plots import pyplot
from harness.registry import BENCHMARKS

SCHEMA_VERSION = 1  # bump when results.json changes shape


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_build = Path(os.environ.get("PROBESIM_BUILD", REPO / "build"))
    p.add_argument("--build", type=Path, default=default_build,
                   help="CMake build dir with cli/probesim, bench/raw_unicorn, guest/bench/ "
                        "(default: $PROBESIM_BUILD or <repo>/build)")
    p.add_argument("--guest-dir", type=Path, help="workload binaries (default: BUILD/guest/bench)")
    p.add_argument("--output", type=Path, default=REPO / "bench" / "results" / "results.json",
                   help="results JSON; figures are written next to it")
    p.add_argument("--reps", type=int, default=5, help="repetitions per runner (default 5)")
    p.add_argument("--quick", action="store_true", help="one repetition")
    p.add_argument("--only", action="append", help="run only this benchmark (repeatable)")
    p.add_argument("--arch", action="append", choices=["x86_64", "aarch64"], help="repeatable")
    p.add_argument("--workload", action="append", help="repeatable (default: all)")
    p.add_argument("--runner", action="append", help="repeatable (default: all)")
    p.add_argument("--tool", action="append", default=[], metavar="NAME=PATH",
                   help="override a tool path: probesim, raw_unicorn, qemu-x86_64, qemu-aarch64")
    p.add_argument("--recount", action="store_true", help="ignore cached instruction counts")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds per child run")
    p.add_argument("--list", action="store_true", help="list benchmarks and exit")
    return p.parse_args(argv)


def make_context(a: argparse.Namespace) -> Context:
    build = a.build.resolve()
    overrides = {}
    for spec in a.tool:
        name, _, path = spec.partition("=")
        if not path:
            raise SystemExit(f"--tool wants NAME=PATH, got {spec!r}")
        overrides[name] = Path(path).resolve()
    return Context(build=build, guest_dir=(a.guest_dir or build / "guest" / "bench").resolve(),
                   results=a.output.resolve(), reps=1 if a.quick else max(1, a.reps),
                   timeout_s=a.timeout, arches=tuple(a.arch or ("x86_64", "aarch64")),
                   workloads=tuple(a.workload) if a.workload else None,
                   runners=tuple(a.runner) if a.runner else None, recount=a.recount,
                   overrides=overrides)


def _first_line(cmd: list[str]) -> str | None:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10, cwd=REPO)
        return out.stdout.splitlines()[0].strip() if out.returncode == 0 and out.stdout else None
    except (OSError, subprocess.TimeoutExpired):
        return None


def host_meta(ctx: Context) -> dict:
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), platform.processor())
    qemu = ctx.tool("qemu-x86_64")
    return {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "host": platform.node(), "cpu": cpu, "cpus": os.cpu_count(),
            "kernel": platform.release(), "python": sys.version.split()[0],
            "git": _first_line(["git", "rev-parse", "--short", "HEAD"]),
            "qemu": _first_line([str(qemu), "--version"]) if qemu else None,
            "build": str(ctx.build), "reps": ctx.reps}


def select(a: argparse.Namespace):
    if not a.only:
        return [b for b in BENCHMARKS.values() if b.default]
    unknown = [n for n in a.only if n not in BENCHMARKS]
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {unknown}; known: {list(BENCHMARKS)}")
    return [BENCHMARKS[n] for n in a.only]


def main(argv: list[str]) -> int:
    a = parse_args(argv)
    if a.list:
        for b in BENCHMARKS.values():
            print(f"{b.name:12} {'(default) ' if b.default else ''}{b.description}")
        return 0
    ctx = make_context(a)
    if pyplot() is None:
        ctx.note(f"matplotlib is not importable by {sys.executable}: no figures "
                 "(use Debian's /usr/bin/python3)")
    results = {"schema": SCHEMA_VERSION, "meta": host_meta(ctx), "benchmarks": {}}
    ok = True
    try:
        for b in select(a):
            print(f"== {b.name}: {b.description}", file=sys.stderr, flush=True)
            res = b.fn(ctx)
            results["benchmarks"][b.name] = res.data
            ok &= res.ok
            print(f"\n== {b.name}")
            for t in res.tables:
                print(t + "\n")
            for f in res.figures:
                print(f"figure: {f}")
    finally:
        ctx.cleanup()
    results["notes"] = ctx.notes
    ctx.results.parent.mkdir(parents=True, exist_ok=True)
    ctx.results.write_text(json.dumps(results, indent=1) + "\n")
    for n in ctx.notes:
        print(f"note: {n}")
    print(f"results: {ctx.results}" + ("" if ok else "  (FAILURES: see the tables above)"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
