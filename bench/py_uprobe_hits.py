"""py_uprobe_hits: host time per uprobe hit with a Python handler (the venv's probesim).

    usage: <venv>/bin/python bench/py_uprobe_hits.py GUEST_DIR [hits=20000] [arch ...]

The Python twin of `bench_uprobes hits` (bench/uprobe_bench.cc): for each arch it runs
GUEST_DIR/<arch>-glibc/uprobed `loop hits` (probe_me called `hits` times) in a fresh Machine,
once unprobed, once with a uprobe on probe_me and once with a uretprobe on it, whose Python
handler counts its calls. Per kind it prints one JSON line, as bench_uprobes does:
  {"arch":A,"kind":K,"hits":H,"ns_per_hit":T,"modelled_cycles":C,"modelled_ns":N}
T = (probed run - unprobed run) host ns / hits, best of ROUNDS (whole runs, from spawn to
exit); C = guest cycles charged per hit, N = C at the modelled 2 GHz clock.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import probesim

ROUNDS = 3
CLOCK_HZ = 2_000_000_000  # the modelled clock (bench_uprobes' kHz)
FLAVOURS = {"x86_64": "x86_64-glibc", "aarch64": "aarch64-glibc"}


def run_loop(arch: str, prog: str, hits: int, kind: str | None) -> tuple[float, int]:
    """Best-of-ROUNDS host ns of `uprobed loop hits`, and the guest cycles of that run."""
    best, best_cycles = float("inf"), 0
    for _ in range(ROUNDS):
        m = probesim.Machine(arch, seed=1)
        calls = [0]

        def count(*_args) -> None:
            calls[0] += 1
        if kind == "uprobe":
            m.uprobes.register(prog, "probe_me", handler=count)
        elif kind == "uretprobe":
            m.uretprobes.register(prog, "probe_me", count)
        p = m.spawn([prog, "loop", str(hits)])
        t0 = time.perf_counter_ns()
        m.run()
        ns = time.perf_counter_ns() - t0
        assert p.exit_code == 0, p.exit
        assert kind is None or calls[0] == hits, "the handler did not run on every hit"
        if ns < best:
            best, best_cycles = ns, m.cycles
        m.close()
    return best, best_cycles


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    guest_dir = Path(argv[1]).resolve()  # a guest path: absolute (the guest root is /)
    hits = int(argv[2]) if len(argv) > 2 else 20_000
    for arch in argv[3:] or list(probesim.ARCHES):
        prog = str(guest_dir / FLAVOURS[arch] / "uprobed")
        base_ns, base_cycles = run_loop(arch, prog, hits, None)
        for kind in ("uprobe", "uretprobe"):
            ns, cycles = run_loop(arch, prog, hits, kind)
            per_hit = (cycles - base_cycles) / hits
            print(json.dumps({"arch": arch, "kind": kind, "hits": hits,
                              "ns_per_hit": round((ns - base_ns) / hits, 1),
                              "modelled_cycles": round(per_hit, 1),
                              "modelled_ns": round(per_hit * 1e9 / CLOCK_HZ, 1)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
