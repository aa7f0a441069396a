"""py_probe_hits: host time per probe hit with a Python handler (the venv's probesim).

    usage: <venv>/bin/python bench/py_probe_hits.py [hits=20000] [arch ...]

The Python twin of bench_probe_hits (bench/probe_hits_bench.cc): for each arch it boots a
Machine and runs the guest kernel's kprobe_loop_target(hits) (kprobe_target called `hits`
times) through Machine.kernel_call, once unprobed and then with one probe of each kind on
kprobe_target whose Python handler counts its calls. Per kind it prints one JSON line:
  {"arch":A,"kind":K,"hits":H,"ns_per_hit":T,"modelled_cycles":C}
T = (probed time - unprobed time) / hits, best of ROUNDS; C = guest cycles charged per hit.
Kinds (as bench_probe_hits): kprobe_int3 (boost off: trap + single-step trap),
kprobe_boosted (x86: the slot jumps back), kprobe_optimized (jump-optimized: x86 E9 rel32, arm64 B imm26),
kretprobe (entry trap + trampoline trap). Optimization is off for the others.
"""
from __future__ import annotations

import json
import sys
import time

import probesim

ROUNDS = 3


def time_loop(m: probesim.Machine, hits: int) -> tuple[float, int]:
    """Best-of-ROUNDS host ns of kprobe_loop_target(hits), and the guest cycles of one run."""
    best, cycles = float("inf"), 0
    for _ in range(ROUNDS):
        c0 = m.cycles
        t0 = time.perf_counter_ns()
        result = m.kernel_call("kprobe_loop_target", hits)
        best = min(best, time.perf_counter_ns() - t0)
        cycles = m.cycles - c0
        assert result == hits * (hits - 1) // 2 + 2 * hits, result
    return best, cycles


def measure(arch: str, kind: str, hits: int) -> dict:
    m = probesim.Machine(arch, seed=1, kprobe_boost=kind != "kprobe_int3")
    m.kprobes.optimization = kind == "kprobe_optimized"
    time_loop(m, 1000)  # warm the translation cache
    base_ns, base_cycles = time_loop(m, hits)
    calls = [0]

    def count(*_args) -> None:
        calls[0] += 1
    if kind == "kretprobe":
        m.kretprobes.register("kprobe_target", handler=count, maxactive=4)
    else:
        m.kprobes.register("kprobe_target", pre=count)
        m.kprobes.wait_for_optimizer()
    ns, cycles = time_loop(m, hits)
    assert calls[0] == hits * ROUNDS, "the handler did not run on every hit"
    m.close()
    return {"arch": arch, "kind": kind, "hits": hits,
            "ns_per_hit": round((ns - base_ns) / hits, 1),
            "modelled_cycles": round((cycles - base_cycles) / hits, 1)}


def main(argv: list[str]) -> int:
    hits = int(argv[1]) if len(argv) > 1 else 20_000
    arches = argv[2:] or list(probesim.ARCHES)
    for arch in arches:
        x86_only = ["kprobe_boosted"] if arch == "x86_64" else []
        kinds = ["kprobe_int3"] + x86_only + ["kprobe_optimized", "kretprobe"]
        for kind in kinds:
            print(json.dumps(measure(arch, kind, hits)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
