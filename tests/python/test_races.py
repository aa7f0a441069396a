"""Races from Python (issue 15): probesim.explore finds a failing schedule, its trace replays
exactly (also with probes added), shrink names the critical preemption; Machine.record and
Machine(replay=...); the explore_schedules fixture of the pytest plugin."""
import re
from pathlib import Path

import pytest

import probesim
from probesim.testing import find_guest_program


def lost_update(p: probesim.Process) -> bool:
    """racy's two threads each add 200000: anything less lost an update."""
    return b"counter 400000 " not in p.stdout


def counter(stdout: bytes) -> int:
    return int(re.search(rb"counter (\d+) of", stdout).group(1))


def sched_of(m: probesim.Machine) -> list[tuple[int, int, str, int]]:
    return [(e.cpu, e.tid, e.reason, e.insns) for e in m.schedule_log if e.reason != "idle"]


@pytest.fixture(scope="module")
def racy(guest_dir: Path) -> Path:
    return find_guest_program(guest_dir, "x86_64", "racy")


@pytest.fixture(scope="module")
def found(racy: Path, tmp_path_factory: pytest.TempPathFactory) -> probesim.ExploreResult:
    """pct:2 over racy for seed 1: the first schedule that loses an update."""
    return probesim.explore([racy], strategy="pct:2", runs=100, seed=1, until=lost_update,
                            save=tmp_path_factory.mktemp("explore"))


def test_explore_finds_racys_lost_update_and_saves_its_trace(found):
    assert found, str(found)
    assert 0 <= found.run < 100 and found.runs_done == found.run + 1
    assert counter(found.stdout) < 400000 and found.outcome == "exited with status 0"
    path = Path(found.trace_path)
    assert path.is_file() and path.name == f"probesim-failure-1-{found.run}.trace"
    assert found.replay_command == f"probesim replay {path}"
    t = probesim.Trace(path)
    assert (t.arch, t.seed, t.cpus, t.run_index) == ("x86_64", 1, 2, found.run)
    assert t.strategy.startswith("pct:2:") and t.strategy == found.strategy
    assert t.preemptions and "probesim replay" in str(found)


def test_replaying_the_failing_trace_gives_the_same_counter(found):
    m = found.replay()
    assert m.divergence is None and m.replay_warnings == []
    assert m.replay_process.stdout == found.stdout
    again = probesim.Machine(replay=found.trace_path)
    assert again.sched == found.strategy and again.cpus == 2
    again.run()
    assert again.replay_process.stdout == found.stdout
    assert sched_of(again) == sched_of(m)


def test_a_uprobe_added_to_a_replay_changes_neither_interleaving_nor_counter(found, racy):
    plain = found.replay()
    m = found.replay(run=False)
    loads = []
    up = m.uprobes.register(racy, "next_value", handler=lambda regs: loads.append(regs.arg(0)))
    m.run()
    assert up.hits == 400000 and len(loads) == 400000
    assert m.divergence is None
    assert m.replay_process.stdout == found.stdout
    assert sched_of(m) == sched_of(plain)


def test_jobs_find_the_same_first_failure_as_a_serial_search(found, racy, tmp_path):
    parallel = probesim.explore([racy], strategy="pct:2", runs=100, seed=1, until=lost_update,
                                save=tmp_path, jobs=2)
    assert parallel.run == found.run and parallel.strategy == found.strategy
    assert parallel.stdout == found.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"probesim-failure-1-{found.run}.trace"]


def test_shrink_keeps_the_preemption_between_the_load_and_the_store(found, racy):
    s = found.shrink()
    assert 1 <= len(s.preemptions) <= s.original == len(probesim.Trace(found.trace_path).preemptions)
    assert s.trace_path.endswith(".shrunk.trace") and Path(s.trace_path).is_file()
    # One is inside the read-modify-write of bump (next_value+0 is between them too: bump
    # loaded counter and called next_value; the preemption found depends on the stack layout,
    # i.e. on the program's path); others may be needed to set the stage (main preempted in
    # pthread_create's clone3 so that a worker runs beside the other on 2 CPUs).
    rmw = [p for p in s.critical
           if re.match(r"<?(bump|next_value)\+(0x[0-9a-f]+|0) .*racy\)", p.where)]
    assert rmw, [p.describe() for p in s.critical]
    for p in rmw:
        assert p.tid != p.next_tid and p.tid in {101, 102}
    assert "critical preemption: task" in str(s)
    # The shrunk run watched memory: the preemption names the load of counter before it, the
    # other thread's store meanwhile and the preempted thread's own store after it.
    lost = [p for p in rmw if p.memory]
    assert lost, [(p.describe(), p.memory) for p in s.critical]
    bump = r"at 0x[0-9a-f]+ <bump\+0x[0-9a-f]+ \([^)]*racy\)>"
    named = re.fullmatch(rf"task (\d+) {bump} read counter \(0x[0-9a-f]+, 8 bytes\) before it was "
                         rf"preempted; task (\d+) {bump} wrote it meanwhile; task (\d+) {bump} then "
                         r"overwrote it", lost[0].memory)
    assert named, lost[0].memory
    assert named[1] == named[3] == str(lost[0].tid) and {named[1], named[2]} == {"101", "102"}
    assert f"on memory: {lost[0].memory}" in str(s)
    m = s.replay()
    assert m.divergence is None and lost_update(m.replay_process)
    # A replay of the shrunk trace watches memory as the shrinking run did: the same preemptions
    # name the same accesses (watch_memory on a replay: spawned, not yet run).
    w = probesim.Machine(replay=s.trace_path)
    w.watch_memory()
    w.run()
    assert w.divergence is None
    assert [(p.tid, p.insns, p.memory) for p in w.preemptions] == \
        [(p.tid, p.insns, p.memory) for p in s.critical]
    with pytest.raises(probesim.Error, match="before the guest runs"):
        w.watch_memory()
    assert probesim.Trace(s.trace_path).strategy == f"guided:{len(s.preemptions)}"
    assert s.choices == probesim.Trace(found.trace_path).choices  # repeated, never dropped
    guided = probesim.Machine("x86_64", seed=1, cpus=2, preemptions=s.preemptions,
                              choices=s.choices)
    p = guided.spawn([racy])
    guided.run()
    assert p.stdout == m.replay_process.stdout


def test_record_writes_a_trace_that_machine_replay_reproduces(racy, tmp_path):
    path = tmp_path / "racy.trace"
    m = probesim.Machine("x86_64", seed=3, cpus=2, sched="random", quantum=20000)
    m.record(path)
    assert m.recording
    p = m.spawn([racy])
    m.run()
    assert path.is_file() and m.preemptions
    t = probesim.Trace(path)
    assert (t.seed, t.cpus, t.strategy, t.arch) == (3, 2, "random", "x86_64")
    assert "decisions" in t.text
    r = probesim.Machine(replay=path)
    assert r.replay_process.argv == [str(racy)]
    r.run()
    assert r.divergence is None
    assert r.replay_process.stdout == p.stdout and r.replay_process.exit_code == 0
    assert sched_of(r) == sched_of(m)


def test_record_and_replay_refuse_what_they_cannot_do(racy, tmp_path):
    m = probesim.Machine("x86_64")
    m.spawn([racy])
    with pytest.raises(probesim.Error, match="before the first spawn"):
        m.record(tmp_path / "late.trace")
    fresh = probesim.Machine("x86_64")
    with pytest.raises(probesim.Error, match="not recording"):
        fresh.save_trace(tmp_path / "x.trace")
    fresh.record()
    with pytest.raises(probesim.Error, match="records already"):
        fresh.record()
    with pytest.raises(probesim.BadArgument, match="no path"):
        fresh.save_trace()
    with pytest.raises(probesim.BadArgument, match="arch: required"):
        probesim.Machine()


def test_machine_replay_takes_its_configuration_from_the_trace_only(found):
    with pytest.raises(probesim.BadArgument, match="drop seed, cpus"):
        probesim.Machine(replay=found.trace_path, seed=2, cpus=4)
    with pytest.raises(probesim.BadArgument, match="recorded on x86_64, not aarch64"):
        probesim.Machine("aarch64", replay=found.trace_path)
    assert probesim.Machine("x86_64", replay=found.trace_path).arch == "x86_64"


def test_bad_traces_raise_bad_argument_naming_file_and_problem(found, tmp_path):
    junk = tmp_path / "junk.trace"
    junk.write_bytes(b"hello, I am not a trace at all")
    with pytest.raises(probesim.BadArgument, match=r"junk.trace: not a probesim trace"):
        probesim.Machine(replay=junk)
    cut = tmp_path / "cut.trace"
    cut.write_bytes(Path(found.trace_path).read_bytes()[:200])
    with pytest.raises(probesim.BadArgument, match=r"cut.trace: truncated probesim trace"):
        probesim.Trace(cut)
    with pytest.raises(probesim.BadArgument, match="cannot read trace"):
        probesim.Machine(replay=tmp_path / "missing.trace")


def test_explore_without_a_failure_says_so(guest_dir, tmp_path):
    prog = find_guest_program(guest_dir, "x86_64", "pthreads")
    r = probesim.explore([prog], strategy="random", runs=3, seed=5, save=tmp_path)
    assert not r and r.runs_done == 3 and r.trace_path is None and r.replay_command is None
    assert str(r) == "no failing schedule in 3 runs of random (seed 5)"
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="no failing schedule"):
        r.replay()


def test_explore_checks_its_arguments(racy):
    with pytest.raises(ValueError, match="runs must be at least 1"):
        probesim.explore([racy], runs=0)
    with pytest.raises(ValueError, match="jobs must be at least 1"):
        probesim.explore([racy], jobs=0)
    with pytest.raises(TypeError, match="until must be a callable"):
        probesim.explore([racy], until=3)
    with pytest.raises(ValueError, match="argv is empty"):
        probesim.explore([])
    with pytest.raises(probesim.BadArgument, match="strategy"):
        probesim.explore([racy], strategy="fastest")


def test_explore_finds_and_replays_the_lost_update_on_aarch64(guest_dir, tmp_path):
    prog = find_guest_program(guest_dir, "aarch64", "racy")
    r = probesim.explore([prog], strategy="pct:2", runs=100, seed=2, until=lost_update,
                         save=tmp_path)
    assert r and counter(r.stdout) < 400000
    m = r.replay()
    assert m.arch == "aarch64" and m.divergence is None and m.replay_process.stdout == r.stdout
    # arm64's memory hooks see blocks: the accesses are named by the block that made them.
    lost = [p.memory for p in r.shrink().critical if "read counter" in p.memory]
    assert lost and re.match(r"task 10[12] in the block at 0x[0-9a-f]+ <bump\+0x[0-9a-f]+ .*> read "
                             r"counter \(0x[0-9a-f]+, 8 bytes\) before it was preempted; task 10[12] "
                             r"in the block at .* wrote it meanwhile; .* then overwrote it", lost[0]), lost


FIXTURE_TEST = """
import probesim
from probesim.testing import find_guest_program

def lost_update(p):
    return b"counter 400000 " not in p.stdout

def test_racy_keeps_every_update(explore_schedules, guest_program):
    explore_schedules([guest_program("racy")], until=lost_update, runs=100, shrink={shrink})

def test_pthreads_never_fails(explore_schedules, guest_program):
    r = explore_schedules([guest_program("pthreads")], strategy="random", runs=2)
    assert not r and r.runs_done == 2
"""


@pytest.mark.parametrize("shrink", [False, True])
def test_the_explore_schedules_fixture_fails_with_the_replay_command(pytester, shrink):
    pytester.makeconftest('pytest_plugins = ["probesim.testing"]')
    pytester.makepyfile(FIXTURE_TEST.format(shrink=shrink))
    result = pytester.runpytest("-q", "-p", "no:cacheprovider", "-k", "x86_64")
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert re.search(r"a schedule fails: run \d+ of pct:2:\d+:\d+ \(seed 1\) fails: exited with status 0",
                     out), out
    assert re.search(r"replay it with: probesim replay \S+/probesim-failure-1-\d+\.trace", out), out
    assert re.search(r"counter \d+ of 400000", out)
    assert ("critical preemption: task" in out) == shrink


def test_bounded_search_finds_the_ordering_bug_and_resumes_at_any_run(guest_dir, tmp_path):
    prog = find_guest_program(guest_dir, "x86_64", "ordering")
    r = probesim.explore([prog], strategy="bounded:2", runs=20000, seed=1, save=tmp_path)
    assert r, str(r)
    assert re.fullmatch(r"bounded:2:\d+:4:\d+", r.strategy)  # main and three threads ran
    assert b"ordering bug hit: a=1 b=1" in r.stdout and r.runs_done == r.run + 1
    assert r.replay().replay_process.stdout == r.stdout
    resumed = probesim.explore([prog], strategy=r.strategy, runs=5, seed=1, save=tmp_path,
                               first_run=r.run)
    assert (resumed.run, resumed.runs_done) == (r.run, 1)
    assert len(probesim.Trace(r.trace_path).preemptions) >= 1


def test_a_bounded_search_stops_after_its_last_schedule(guest_dir, tmp_path):
    assert probesim.Machine.strategy_runs("bounded:1:650:2") == 65
    assert probesim.Machine.strategy_runs("pct:2") is None
    with pytest.raises(probesim.BadArgument, match="unknown scheduling strategy 'fifo'"):
        probesim.Machine.strategy_runs("fifo")
    prog = find_guest_program(guest_dir, "x86_64", "pthreads")
    r = probesim.explore([prog], strategy="bounded:1:5000:2", runs=1000, seed=1, save=tmp_path)
    assert not r and r.runs_done == 65
    with pytest.raises(ValueError, match="first_run 65 is beyond the 65 schedules"):
        probesim.explore([prog], strategy="bounded:1:5000:2", first_run=65)


def test_sched_replay_file_is_a_replay_of_that_trace(found):
    m = probesim.Machine(sched=f"replay:{found.trace_path}")
    assert m.replay_process is not None and m.sched == found.strategy
    m.run()
    assert m.divergence is None and m.replay_process.stdout == found.stdout
    with pytest.raises(probesim.BadArgument, match="not both"):
        probesim.Machine(sched=f"replay:{found.trace_path}", replay=found.trace_path)
    with pytest.raises(probesim.BadArgument, match="drop cpus"):
        probesim.Machine(sched=f"replay:{found.trace_path}", cpus=3)


# Mnemonics of the scheduling points at atomics (emu/sched/README.md), as Capstone prints them.
ATOMIC = re.compile(r"lock |xchg|cmpxchg|ld[a]?xr|st[l]?xr|ld[a]?xp|st[l]?xp|cas|swp|ldadd")


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_a_uprobe_on_the_atomic_of_a_recorded_preemption_keeps_the_replay(guest_dir, tmp_path, arch):
    """publish's race window lies between two atomics of one block, so its failing run was
    preempted in mid-block, in front of an atomic (a scheduling point). A replay with a uprobe
    exactly there follows the trace: the breakpoint stands in for the atomic's scheduling point
    at the same retired count, and its trap and out-of-line step add none. arm64 (Cortex-A72:
    no LSE, so the atomic is a load-exclusive) refuses a uprobe on it, as Linux does; the probe
    then goes on the instruction before it, whose out-of-line step resumes at the decision."""
    prog = find_guest_program(guest_dir, arch, "publish")
    r = probesim.explore([prog], strategy="pct:2", runs=200, seed=1, save=tmp_path,
                         env={"LC_ALL": "C"})
    assert r and b"half-published record seen" in r.stdout, str(r)
    plain = r.replay()
    assert plain.divergence is None
    m = r.replay(run=False)
    pid = m.replay_process.pid
    at_atomic = [p for p in probesim.Trace(r.trace_path).preemptions
                 if ATOMIC.match(m.disassemble(pid, p.pc, 1)[0].mnemonic + " ")]
    assert at_atomic, [p.describe() for p in probesim.Trace(r.trace_path).preemptions]
    p = at_atomic[0]
    target = m.symbolize(p.pc, pid)  # "publish+0x10": the CLI's --uprobe PATH:SYM+OFF
    if arch == "aarch64":
        with pytest.raises(probesim.BadProbe, match="cannot probe arm64 instruction"):
            m.uprobes.register(prog, target, handler=lambda regs: None)
        sym, off = target.split("+")
        target = f"{sym}+{int(off, 0) - 4:#x}"
    tids = []
    up = m.uprobes.register(prog, target, handler=lambda regs: tids.append(m.current_tid))
    m.run()
    assert m.divergence is None, m.divergence.message
    assert m.replay_process.stdout == r.stdout and m.replay_process.exit_code == 1
    assert sched_of(m) == sched_of(plain)
    assert up.hits > 0 and p.tid in tids
