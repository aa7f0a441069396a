"""py_kernel_work: a probe registered at once by the host versus queued as kernel work for the
kworker (at=N, issue 16), on the same program (the venv's probesim).

    usage: <venv>/bin/python bench/py_kernel_work.py GUEST_DIR [pairs=40] [arch ...]

Program: GUEST_DIR/<arch>-glibc/uprobe_remap ITERATIONS, seed 000's mapping churn (it maps the
page of its executable that holds remap_target, then the same page of a copy, in turn). PAIRS
registrations of one probe (a uprobe on remap_target; a kprobe on the guest kernel's
vm_mmap_pgoff, which every mmap of the loop runs), each unregistered again: pair i is
registered at START + i * GAP and unregistered GAP / 2 later, spread over the unprobed run's
middle 80%. Modes, each a fresh Machine (1 CPU, rr, seed 1) from spawn to exit:
  base     no probe;
  at_once  the host stops the machine at each window's ends (run(until=...)) and calls
           register() / unregister() there: no kworker step, no virtual time;
  queued   register(at=N) and unregister(at=M) before the run: the kworker runs both as steps
           (lock operations are scheduling points), competing with the program.
Per probe and mode one JSON line:
  {"arch","probe","mode","pairs","run_ns","base_ns","ns_per_pair","call_ns_per_pair",
   "kworker_steps_per_pair","virtual_ns_per_pair"}
run_ns: best of ROUNDS whole runs (host ns, from the first registration call to the exit);
ns_per_pair = (run_ns - base run_ns) / pairs; call_ns_per_pair: the register() + unregister()
calls alone (at once: the whole work; queued: queueing it); kworker_steps_per_pair: the
kworker's steps run (machine.kernel_steps, blocked attempts not counted) / pairs;
virtual_ns_per_pair: (the run's virtual time - base's) / pairs (the kworker's steps, 1000
cycles each, and probe hits). The uprobe is registered by file offset (resolved once), so no
ELF symbol lookup is timed. Windows: in scheduling steps (retired user instructions) for at=N,
in instructions for run(until=).
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import probesim

ROUNDS = 3
ITERATIONS = 400  # uprobe_remap's remap loop: ~5M instructions on x86_64
KPROBE_SYMBOL = "vm_mmap_pgoff"
FLAVOURS = {"x86_64": "x86_64-glibc", "aarch64": "aarch64-glibc"}


def windows(total: int, pairs: int) -> list[tuple[int, int]]:
    """(register at, unregister at) of each pair, in the middle 80% of a run of `total`."""
    start, gap = total // 10, (total * 8 // 10) // pairs
    return [(start + i * gap, start + i * gap + gap // 2) for i in range(pairs)]


def user_steps(m: probesim.Machine) -> int:
    """Scheduling steps run so far: the tasks' retired user instructions (at=N counts these;
    run(until=) counts every guest instruction, the kernel's too)."""
    last: dict[int, int] = {}
    for e in m.schedule_log:
        last[e.tid] = max(last.get(e.tid, 0), e.insns)
    return sum(v for tid, v in last.items() if tid > 2)


def target_offset(arch: str, prog: str) -> int:
    """remap_target's file offset: registrations by offset leave the ELF's symbol lookup out."""
    m = probesim.Machine(arch, seed=1)
    offset = m.uprobes.register(prog, "remap_target").offset
    m.close()
    return offset


def register(m: probesim.Machine, prog: str, probe: str, offset: int, at: int | None = None):
    if probe == "uprobe":
        return m.uprobes.register(prog, offset=offset, at=at)
    return m.kprobes.register(KPROBE_SYMBOL, at=at)


def timed(fn):
    """(fn(), host ns it took)."""
    t0 = time.perf_counter_ns()
    r = fn()
    return r, time.perf_counter_ns() - t0


def run_once(arch: str, prog: str, probe: str, mode: str, wins: dict, offset: int) -> dict:
    """One whole run of the program in `mode` (registration calls included): host ns, the
    calls' ns, kworker steps, virtual time. wins: the windows in scheduling steps ("steps",
    queued) and in instructions ("insns", at_once)."""
    m = probesim.Machine(arch, seed=1)
    p = m.spawn([prog, str(ITERATIONS)])
    calls_ns = 0
    t0 = time.perf_counter_ns()
    if mode == "queued":
        for n, until in wins["steps"]:
            h, ns = timed(lambda: register(m, prog, probe, offset, at=n))
            _, ns2 = timed(lambda: h.unregister(at=until))
            calls_ns += ns + ns2
    if mode == "at_once":
        for n, until in wins["insns"]:
            m.run(until=max(1, n - m.instructions))
            h, ns = timed(lambda: register(m, prog, probe, offset))
            m.run(until=max(1, until - m.instructions))
            _, ns2 = timed(h.unregister)
            calls_ns += ns + ns2
    m.run()
    ns = time.perf_counter_ns() - t0
    assert p.exit_code == 0, (mode, p.exit)
    assert not m.invariant_violations, m.invariant_violations
    done = sum(1 for _, _, what in m.kernel_steps if not what.endswith(" (blocked)"))
    out = {"run_ns": ns, "call_ns": calls_ns, "kworker_steps": done,
           "virtual_ns": round(m.virtual_time * 1e9), "instructions": m.instructions,
           "steps": user_steps(m)}
    m.close()
    return out


def best(arch: str, prog: str, probe: str, mode: str, wins: dict, offset: int) -> dict:
    runs = [run_once(arch, prog, probe, mode, wins, offset) for _ in range(ROUNDS)]
    return min(runs, key=lambda r: r["run_ns"])


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    guest_dir = Path(argv[1]).resolve()  # a guest path: absolute (the guest root is /)
    pairs = int(argv[2]) if len(argv) > 2 else 40
    for arch in argv[3:] or list(probesim.ARCHES):
        prog = str(guest_dir / FLAVOURS[arch] / "uprobe_remap")
        offset = target_offset(arch, prog)
        base = best(arch, prog, "uprobe", "base", {}, offset)
        wins = {"steps": windows(base["steps"], pairs),
                "insns": windows(base["instructions"], pairs)}
        for probe in ("uprobe", "kprobe"):
            for mode in ("at_once", "queued"):
                r = best(arch, prog, probe, mode, wins, offset)
                print(json.dumps({
                    "arch": arch, "probe": probe, "mode": mode, "pairs": pairs,
                    "run_ns": r["run_ns"], "base_ns": base["run_ns"],
                    "ns_per_pair": round((r["run_ns"] - base["run_ns"]) / pairs),
                    "call_ns_per_pair": round(r["call_ns"] / pairs),
                    "kworker_steps_per_pair": r["kworker_steps"] / pairs,
                    "virtual_ns_per_pair": round((r["virtual_ns"] - base["virtual_ns"]) / pairs)}),
                    flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
