"""Multi-threaded guests: logical CPUs, scheduling policies, deadlocks, seen from Python."""
import pytest

import probesim
from probesim.testing import assert_exit, assert_stdout, run_program


def test_pthreads_program_succeeds_on_two_cpus(arch, guest_program):
    m = probesim.Machine(arch, seed=1, cpus=2)
    p = run_program(m, [guest_program("pthreads")])
    assert_exit(p, 0)
    assert_stdout(p, "EXIT-SUCCESS")
    assert {e.cpu for e in m.schedule_log} == {0, 1}
    assert len({e.tid for e in m.schedule_log}) > 1


def racy_run(arch, path, seed):
    m = probesim.Machine(arch, seed=seed, cpus=2, sched="random")
    p = run_program(m, [path])
    assert_exit(p, 0)
    return p.stdout, m.schedule_log, m.cycles


def test_random_schedule_repeats_for_a_seed_and_varies_across_seeds(arch, guest_program):
    path = guest_program("racy")
    first = racy_run(arch, path, 5)
    assert first == racy_run(arch, path, 5)
    outputs = {racy_run(arch, path, seed)[0] for seed in (1, 2, 3)} | {first[0]}
    assert len(outputs) > 1


def test_a_deadlocked_guest_is_reported_and_stays_inspectable(machine, guest_program):
    p = machine.spawn([guest_program("deadlock")])
    assert machine.run() is True  # nothing can run any more
    assert p.exit is None and machine.blocked_tids == [p.pid]
    assert p.stdout == b"locking twice\n"
    assert p.mm.vma_at(p.regs.pc).flags == "r-xp"  # blocked in a syscall, registers readable


def test_machine_options_are_reported_and_checked():
    m = probesim.Machine("aarch64", cpus=3, sched="random", seed=9, quantum=5000)
    assert (m.cpus, m.sched, m.seed, m.quantum, m.arch) == (3, "random", 9, 5000, "aarch64")
    assert probesim.Machine("x86_64").sched == "round_robin"
    with pytest.raises(probesim.BadArgument, match="cpus must be between 1 and 64"):
        probesim.Machine("x86_64", cpus=0)
    with pytest.raises(probesim.BadArgument, match="sched 'fifo'"):
        probesim.Machine("x86_64", sched="fifo")
