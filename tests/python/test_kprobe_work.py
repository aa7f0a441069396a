"""Kprobe operations as kernel work (issues 16 and 17): kprobes.register(..., at=N) runs
register_kprobe as steps of the machine's kworker (the breakpoint is its own text_poke under
text_mutex), and from then on the optimizer's text_poke_bp writes (int3, rel32 tail, E9) are
kworker steps too, so CPUs executing the probed function run between them. guest
kprobe_hammer: three threads each write one byte to fd 42 200 times, through ksys_write."""
import os
import re
import subprocess

import pytest

import probesim
from probesim.testing import find_guest_program

WRITES = 600
DELAY_NS = 20_000  # OPTIMIZE_DELAY shortened: the optimizer runs while the threads write


@pytest.fixture
def prog(guest_program):
    return str(guest_program("kprobe_hammer"))


def test_a_queued_kprobe_is_pending_until_the_kworker_armed_it(arch, prog):
    m = probesim.Machine(arch, cpus=2)
    p = m.spawn([prog])
    kp = m.kprobes.register("vfs_write", at=0)
    assert kp.pending and not kp.registered and kp.error is None
    with pytest.raises(probesim.BadProbe, match="EBUSY: its registration is queued"):
        kp.unregister()
    m.run()
    assert p.exit_code == 0
    assert not kp.pending and kp.registered and kp.hits > 0
    steps = [what for _, _, what in m.kernel_steps]
    assert steps[:2] == ["mutex_lock(kprobe_mutex) of register_kprobe(vfs_write)",
                         "prepare_kprobe of register_kprobe(vfs_write)"]
    assert steps[2].startswith("arm_kprobe at 0x")
    kp.unregister()
    assert not kp.registered


def test_a_queued_registration_that_fails_says_why(arch, prog):
    m = probesim.Machine(arch)
    m.spawn([prog])
    kp = m.kprobes.register("no_such_function", at=0)
    m.run()
    assert not kp.pending and not kp.registered
    assert "unknown kernel symbol 'no_such_function'" in kp.error


def hammer_setup(state):
    """ksys_write probed at once (every write to fd 42 must hit it) and vfs_write queued for
    the kworker, which hands the optimizer to the kworker: ksys_write's text_poke_bp races
    the writing threads."""
    def setup(m):
        m.kprobes.optimize_delay = DELAY_NS
        state.update(hits=0, during_poke=0)

        def count(regs):
            if regs.arg(0) == 42:
                state["hits"] += 1
                state["during_poke"] += m.kprobes.info("ksys_write").poked > 0

        state["kp"] = m.kprobes.register("ksys_write", pre=count)
        m.kprobes.register("vfs_write", at=0)
        state["m"] = m
    return setup


@pytest.mark.parametrize("strategy", ["random", "pct:3"])
def test_explored_schedules_of_the_optimizer_never_crash_or_lose_a_hit(arch, prog, strategy,
                                                                       tmp_path):
    state, seen = {}, {"during_poke": 0, "jumped": 0}

    def lost(p):
        seen["during_poke"] += state["during_poke"]
        seen["jumped"] += state["m"].kprobes.info("ksys_write").jumped
        return p.exit_code != 0 or state["hits"] != WRITES or state["m"].kernel.oopses

    result = probesim.explore([prog], strategy=strategy, runs=25, seed=1, arch=arch, cpus=2,
                              quantum=2000, setup=hammer_setup(state), until=lost,
                              save=tmp_path)
    assert not result, str(result)
    assert result.runs_done == 25
    assert seen["jumped"] > 0
    if strategy == "random":  # (pct may give the kworker all three pokes in a row)
        assert seen["during_poke"] > 0  # some schedules ran ksys_write between the pokes


# The kprobes race toggle (issue 16): Linux's delayed unoptimizing once cleared
# KPROBE_FLAG_OPTIMIZED before the text was back (fixed by f66c0447cca1). x86 only: arm64's
# jump is one instruction, so no CPU can see half of it.
UNOPT_AT = 60_000  # scheduling steps: ksys_write is jump-optimized then in most schedules
RACE_RUNS = 30


def unoptimize_setup(m):
    """ksys_write probed at once and optimized by the kworker, then debug.kprobes-optimization
    = 0 at UNOPT_AT: the kworker puts the int3 over the jump, then the tail back."""
    m.kprobes.optimize_delay = DELAY_NS
    m.kprobes.register("ksys_write")
    m.kprobes.register("vfs_write", at=0)
    m.kprobes.set_optimization(False, at=UNOPT_AT)


def explore_unoptimize(prog, bugs, save):
    return probesim.explore([prog, "1000"], strategy="random", runs=RACE_RUNS, seed=1,
                            arch="x86_64", cpus=2, quantum=2000, bugs=bugs,
                            setup=unoptimize_setup, save=save)


@pytest.fixture
def x86_prog(guest_dir):
    return str(find_guest_program(guest_dir, "x86_64", "kprobe_hammer"))


def test_the_kprobe_race_toggle_is_known():
    with pytest.raises(probesim.BadArgument, match="kprobe_unoptimize_flag_early"):
        probesim.Machine("x86_64", bugs={"nope"})


def test_set_optimization_at_n_is_off_only():
    m = probesim.Machine("x86_64")
    with pytest.raises(ValueError, match="only turning optimization off"):
        m.kprobes.set_optimization(True, at=0)


def test_clearing_the_optimized_flag_early_is_found_by_exploration(x86_prog, tmp_path):
    found = explore_unoptimize(x86_prog, {"kprobe_unoptimize_flag_early"}, tmp_path)
    assert found, str(found)
    again = found.replay()
    assert again.divergence is None
    steps = [what for _, _, what in again.kernel_steps]
    assert any(s.startswith("text_poke breakpoint over the jump at 0x") for s in steps)
    # The shrunk schedule names both racing operations in kernel terms: the kworker preempted
    # between the two pokes of ksys_write's unoptimizing, and the task that ran meanwhile, the
    # writer whose ksys_write oopsed (it hit the int3 over the jump).
    oops = re.search(r"kernel oops: .* at ksys_write\+0x[0-9a-f]+/0x[0-9a-f]+ \(pid 100, "
                     r"tid (\d+)\)", found.outcome)
    assert oops, found.outcome
    shrunk = found.shrink()
    kernel = [p.kernel for p in shrunk.critical if p.tid == 2 and p.kernel]
    assert kernel, str(shrunk)
    assert re.fullmatch(rf"task {oops.group(1)} ran between text_poke breakpoint over the jump "
                        r"at 0x[0-9a-f]+ <ksys_write\+0x0/0x[0-9a-f]+> and text_poke original "
                        r"tail at 0x[0-9a-f]+ <ksys_write\+0x0/0x[0-9a-f]+> of task 2 "
                        r"kworker/0:1 \(unoptimize_all_kprobes\)", kernel[0]), kernel[0]


def test_with_the_flag_kept_the_same_schedules_find_nothing(x86_prog, tmp_path):
    result = explore_unoptimize(x86_prog, set(), tmp_path)
    assert not result and result.runs_done == RACE_RUNS


# Delayed unoptimizing and unregister(at=N): the kworker unregisters ksys_write's probe while the
# threads write; a jump-optimized probe waits on unoptimizing_list for the optimizer (which puts
# the int3 and the tail back, then frees it) while CPUs still take the jump without calling it.
UNREGISTER_AT = 20_000


def test_unregister_at_n_is_kernel_work_and_no_hit_is_lost_or_added(arch, prog):
    m = probesim.Machine(arch, cpus=2, sched="random", seed=1, quantum=2000)
    m.kprobes.optimize_delay = DELAY_NS
    state = {"hits": 0, "ref_on": 0, "unoptimizing": 0}

    def count(regs):
        state["hits"] += regs.arg(0) == 42

    kp = m.kprobes.register("ksys_write", pre=count)

    def reference(regs):  # runs before ksys_write in the same write
        if regs.arg(0) == 42:
            state["ref_on"] += kp.registered
            info = m.kprobes.info("ksys_write")
            state["unoptimizing"] += bool(info and info.unoptimizing)

    m.kprobes.register("__do_sys_write", pre=reference, post=lambda regs: None)
    m.kprobes.register("vfs_write", at=0)
    m.kprobes.unregister(kp, at=UNREGISTER_AT)
    assert kp.unregistering and kp.registered
    with pytest.raises(probesim.BadProbe, match="EBUSY"):
        kp.unregister(at=UNREGISTER_AT + 1)
    p = m.spawn([prog])
    m.run()
    assert p.exit_code == 0
    assert not kp.unregistering and not kp.registered
    assert 0 < state["hits"] == state["ref_on"] < WRITES
    assert m.kprobes.info("ksys_write") is None
    steps = [what for _, _, what in m.kernel_steps]
    assert "mutex_lock(kprobe_mutex) of unregister_kprobe(ksys_write)" in steps
    assert "synchronize_rcu of unregister_kprobe(ksys_write)" in steps


def test_unregister_at_n_before_the_registration_is_refused(arch):
    m = probesim.Machine(arch)
    kp = m.kprobes.register("vfs_write", at=5000)
    with pytest.raises(probesim.BadProbe, match="before its registration"):
        kp.unregister(at=4000)


def test_a_recorded_notebook_run_keeps_its_queued_work_for_probesim_replay(x86_prog, tmp_path):
    """Work queued from Python (register(at=N), unregister(at=M), uprobes at=N) goes into the
    trace header as the CLI spells it, so `probesim replay` queues it again and follows the
    recorded schedule."""
    trace = tmp_path / "hammer.trace"
    m = probesim.Machine("x86_64", cpus=2, sched="random", seed=1, quantum=2000)
    m.record(trace)
    m.kprobes.register("vfs_write", at=0)
    kp = m.kprobes.register("ksys_write", at=0)
    kp.unregister(at=30_000)
    m.uprobes.register(x86_prog, "hammer", at=5_000)
    p = m.spawn([x86_prog])
    m.run()
    assert p.exit_code == 0 and not kp.registered
    cli = os.environ["PROBESIM_CLI"]
    show = subprocess.run([cli, "trace", "show", str(trace)], capture_output=True, text=True)
    assert (f"kernel work: 'kprobe vfs_write@0' 'kprobe ksys_write@0-30000' "
            f"'uprobe {x86_prog}:hammer@5000'") in show.stdout, show.stdout
    rep = subprocess.run([cli, "replay", str(trace)], capture_output=True, text=True)
    assert rep.returncode == 0, rep.stderr
    assert "no divergence" in rep.stderr, rep.stderr
