"""Lifecycle events (Machine.on_fork / on_exec / on_exit / on_signal), ending a run from a
handler (probesim.STOP, Machine.request_stop), and Process.argv / threads / children."""
import os

import pytest

import probesim
from probesim.testing import assert_exit, assert_stdout, run_program


def test_fork_exec_and_exit_events_in_order(machine, guest_program):
    events = []
    machine.on_fork(lambda parent, child: events.append(
        ("fork", parent.pid, child.pid, child.ppid, parent.children)))
    machine.on_exec(lambda p: events.append(("exec", p.pid, p.argv, p.comm)))
    machine.on_exit(lambda p, ctx: events.append(("exit", p.pid, len(p.threads), ctx.pid)))
    p = run_program(machine, [guest_program("etxtbsy")])
    assert_exit(p, 0)
    forks = [e for e in events if e[0] == "fork"]
    assert forks and all(e[1] == p.pid and e[3] == p.pid for e in forks)
    assert all(any(c.pid == e[2] for c in e[4]) for e in forks)  # listed among the children
    children = {e[2] for e in forks}
    execs = [e for e in events if e[0] == "exec"]
    assert execs and all(pid in children for pid, *_ in (e[1:] for e in execs))
    for _, pid, argv, comm in execs:
        assert argv and comm == os.path.basename(argv[0])[:15]
    exits = [e for e in events if e[0] == "exit"]
    assert {e[1] for e in exits} == children | {p.pid} and exits[-1][1] == p.pid
    assert all(pid == ctx_pid for _, pid, _, ctx_pid in exits)  # the dying task is current
    assert all(threads == 0 for _, _, threads, _ in exits)  # every task is dead
    for i, e in enumerate(events):  # a child's events come after its fork
        if e[0] == "fork":
            assert all(j > i for j, f in enumerate(events) if f[0] != "fork" and f[1] == e[2])


def test_signal_events(machine, guest_program):
    got = []
    machine.on_signal(lambda p, tid, signo: got.append((p.pid, tid, signo)))
    p = run_program(machine, [guest_program("signals")])
    assert_exit(p, 0)
    assert (p.pid, p.pid, 10) in got  # SIGUSR1 sent to itself
    assert (p.pid, p.pid, 11) in got  # the SIGSEGV it catches


def test_callbacks_can_be_removed_and_are_checked(machine, guest_program):
    with pytest.raises(TypeError, match=r"on_fork: the callback must take \(parent, child\) "
                                        r"or \(parent, child, ctx\)"):
        machine.on_fork(lambda p: None)
    with pytest.raises(TypeError, match="on_exit: expected a callable or None"):
        machine.on_exit(3)
    seen = []
    machine.on_exit(lambda p: seen.append(p.pid))
    machine.on_exit(None)
    run_program(machine, [guest_program("hello")])
    assert seen == []


def test_a_handler_returning_stop_ends_the_run_cleanly(machine, guest_program):
    hits = []

    def pre(regs, ctx):
        hits.append(ctx.cycles)
        return probesim.STOP

    kp = machine.kprobes.register("ksys_write", pre=pre)
    p = machine.spawn([guest_program("hello"), "a"])
    assert machine.run() is False and p.exit is None and len(hits) == 1
    assert repr(probesim.STOP) == "probesim.STOP"
    kp.unregister()
    assert machine.run() is True  # the next run continues where it stopped
    assert_exit(p, 2)
    assert_stdout(p, "EXIT-SUCCESS")


def test_request_stop_from_a_uprobe_and_from_a_lifecycle_callback(machine, guest_program):
    prog = str(guest_program("uprobed"))
    machine.uprobes.register(prog, "fact", handler=lambda regs: machine.request_stop())
    p = machine.spawn([prog, "recurse"])
    assert machine.run() is False and p.exit is None
    assert machine.uprobes.probes[0].hits == 1
    machine.uprobes.probes[0].unregister()
    machine.on_fork(lambda parent, child: probesim.STOP)
    q = machine.spawn([prog, "fork"])
    assert machine.run() is False and q.exit is None and len(q.children) == 1
    machine.on_fork(None)
    with pytest.raises(probesim.Error, match="request_stop: only from a probe handler"):
        machine.request_stop()
    assert machine.run() is True
    assert_exit(p, 0)
    assert_exit(q, 0)


def test_process_argv_threads_and_children(arch, guest_program):
    m = probesim.Machine(arch, seed=1, cpus=2)
    prog = str(guest_program("pthreads"))
    seen = []
    m.on_exit(lambda p: seen.append(len(p.threads)))
    p = m.spawn([prog, "x", "y"])
    assert p.argv == [prog, "x", "y"] and p.threads == [p.pid] and p.children == []
    most = 0
    while not m.run(until=20_000):
        most = max(most, len(p.threads))
    assert most > 1 and p.threads == [] and seen == [0]
    assert_exit(p, 0)
