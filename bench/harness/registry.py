"""The table of benchmarks. A benchmark is a function (Context) -> BenchResult registered
with @benchmark; run.py runs the selected ones in registration order and merges their JSON.

To add one (e.g. probe-hit cost, uprobe registration scaling): write a module with a
function decorated by @benchmark("name", "one-line description"), import it in
harness/all.py, and return rows (JSON-able dicts), text tables and figure paths.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from harness.context import Context


@dataclass
class BenchResult:
    data: dict                                           # goes to results.json["benchmarks"][name]
    tables: list[str] = field(default_factory=list)      # printed in order
    figures: list[Path] = field(default_factory=list)    # PNGs written
    ok: bool = True                                      # False: a run failed or a checksum differs


@dataclass(frozen=True)
class Benchmark:
    name: str
    description: str
    fn: Callable[[Context], BenchResult]
    default: bool  # run when no --only is given


BENCHMARKS: dict[str, Benchmark] = {}


def benchmark(name: str, description: str, default: bool = True):
    def register(fn: Callable[[Context], BenchResult]):
        assert name not in BENCHMARKS, f"benchmark {name} registered twice"
        BENCHMARKS[name] = Benchmark(name, description, fn, default)
        return fn
    return register
