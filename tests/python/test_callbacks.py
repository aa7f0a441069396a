"""Python code during run(): the strace callback, exceptions in it, Ctrl-C, other threads."""
import _thread
import signal
import threading
import time

import pytest

import probesim
from probesim.testing import assert_exit, assert_stdout

LONG_RUN = 3_000_000_000  # instructions: a bound, in case an interrupt were lost


def test_an_exception_in_the_strace_callback_stops_run_and_resurfaces(machine, guest_program):
    p = machine.spawn([guest_program("hello"), "x"])
    seen = []

    def callback(line):
        seen.append(line)
        if len(seen) == 3:
            raise ValueError("boom from strace")

    machine.strace(callback)
    with pytest.raises(ValueError, match="boom from strace") as caught:
        machine.run()
    assert any("strace callback" in note for note in caught.value.__notes__)
    assert len(seen) == 3 and not machine.running
    machine.strace(None)
    assert machine.run() is True  # the machine stayed consistent: the program finishes
    assert_exit(p, 2)
    assert_stdout(p, "EXIT-SUCCESS")
    assert len(seen) == 3


def test_a_callback_may_query_the_machine_but_not_drive_it(machine, guest_program):
    p = machine.spawn([guest_program("hello")])
    counts = []

    def callback(line):
        counts.append((machine.instructions, machine.cycles, machine.current.pid,
                       machine.current.probe))
        if len(counts) == 2:
            machine.spawn([guest_program("hello")])
    machine.strace(callback)
    with pytest.raises(probesim.Error, match="spawn: the machine is running"):
        machine.run()
    assert counts[0][0] < counts[1][0] and counts[0][1] < counts[1][1]
    assert [c[2:] for c in counts] == [(p.pid, None)] * 2


def interrupted_run(machine, guest_program, interrupt):
    p = machine.spawn([guest_program("sha256"), "512M"])
    interrupt()
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        machine.run(until=LONG_RUN)
    assert time.monotonic() - start < 20
    return p


def check_machine_still_answers(machine, p):
    assert not machine.running and p.exit is None
    done = machine.instructions
    assert done > 0 and machine.cycles > 0
    assert p.regs.pc != 0
    assert any(v.size >= 512 << 20 for v in p.mm.vmas)  # the buffer being hashed
    assert machine.run(until=10_000) is False
    assert machine.instructions >= done + 10_000


def test_interrupt_main_during_run_raises_keyboard_interrupt(machine, guest_program):
    def interrupt():
        threading.Timer(0.3, _thread.interrupt_main).start()
    p = interrupted_run(machine, guest_program, interrupt)
    check_machine_still_answers(machine, p)


def test_a_signal_handler_raising_keyboard_interrupt_stops_run(machine, guest_program):
    def on_alarm(signo, frame):
        raise KeyboardInterrupt
    previous = signal.signal(signal.SIGALRM, on_alarm)
    try:
        p = interrupted_run(machine, guest_program,
                            lambda: signal.setitimer(signal.ITIMER_REAL, 0.3))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    check_machine_still_answers(machine, p)


def test_run_releases_the_gil_and_other_threads_cannot_touch_a_running_machine(
        machine, guest_program):
    machine.spawn([guest_program("sha256"), "512M"])
    worker = threading.Thread(target=machine.run, kwargs={"until": 100_000_000})
    worker.start()
    deadline = time.monotonic() + 10
    while not machine.running and time.monotonic() < deadline:
        time.sleep(0.001)  # this thread runs while the machine emulates: the GIL is free
    errors = []
    for query in (lambda: machine.instructions, lambda: machine.run(),
                  lambda: machine.processes):
        try:
            query()
        except probesim.Error as e:
            errors.append(str(e))
    worker.join()
    assert len(errors) == 3 and all("the machine is running" in e for e in errors)
    assert machine.instructions >= 100_000_000
