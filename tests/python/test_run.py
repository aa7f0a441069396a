"""Spawning, running, exit statuses and captured stdio, on both architectures."""
import gc
import os
from pathlib import Path

import pytest

import probesim
from probesim.testing import assert_exit, assert_stdout, run_program

HELLO_OUT = (b"hello from hello\nargc=3\nargv[1]=a\nargv[2]=b\nHELLO_ENV=set\n"
             b"probe_target sum=145\nEXIT-SUCCESS\n")


def test_spawned_program_exits_with_its_status_and_captured_stdio(machine, guest_program):
    p = run_program(machine, [guest_program("hello"), "a", "b"], env={"HELLO_ENV": "set"})
    assert_exit(p, 3)
    assert p.exited and not p.exit.signaled and p.exit.fault is None
    assert p.exit.code == 3 and p.exit.shell_status == 3
    assert p.stdout == HELLO_OUT
    assert p.stderr == b"hello: this line goes to stderr\n"
    assert p.comm == "hello" and p.pid == 100


def test_run_returns_true_only_when_every_process_exited(machine, guest_program):
    p = machine.spawn([guest_program("hello")])
    assert machine.run(until=100) is False
    assert p.exit is None and p.exit_code is None and not p.exited
    assert 100 <= machine.instructions < 1000  # stops at a block boundary after the budget
    assert machine.run(until=0) is False  # nothing runs
    assert machine.run() is True
    assert_exit(p, 1)
    assert machine.run() is True  # nothing left to run


def test_processes_get_deterministic_pids_and_can_be_looked_up(machine, guest_program):
    a = machine.spawn([guest_program("hello"), "x"])
    b = machine.spawn([guest_program("hello")])
    assert (a.pid, b.pid) == (100, 101)
    assert machine.processes == [a, b]
    assert machine.process(101) == b and a != b and a != "not a process"
    assert len({a, b, machine.process(100)}) == 2
    machine.run()
    assert (a.exit_code, b.exit_code) == (2, 1)
    with pytest.raises(probesim.BadArgument, match="no process with pid 7"):
        machine.process(7)


def test_stdin_bytes_reach_the_guest():
    if not Path("/bin/busybox").is_file():
        pytest.skip("/bin/busybox (Debian's busybox-static) is not installed")
    m = probesim.Machine("x86_64", seed=1)
    p = run_program(m, ["/bin/busybox", "cat"], stdin=b"line one\nline two\n")
    assert_exit(p, 0)
    assert p.stdout == b"line one\nline two\n"


def test_guest_fault_is_a_value_on_the_process_not_an_exception(machine, guest_program):
    p = machine.spawn([guest_program("segv")])
    assert machine.run() is True
    assert p.exit_code == -11 and p.exit.signaled and p.exit.signo == 11
    assert p.exit.shell_status == 139
    fault = p.exit.fault
    assert fault.signo == 11 and fault.addr == 0xDEAD0000 and fault.si_code == 1
    assert fault.what == "read of unmapped memory"
    assert p.exit.description.startswith("killed by SIGSEGV")
    assert_stdout(p, "segv: reading 0xdead0000")
    assert machine.stats["faults"] == 1


def test_not_an_elf_is_bad_program_naming_the_file(machine, tmp_path):
    script = tmp_path / "notelf.sh"
    script.write_text("echo hi\n")  # no "#!": ENOEXEC, as execve
    script.chmod(0o755)
    with pytest.raises(probesim.BadProgram, match="notelf.sh") as e:
        machine.spawn([script])
    assert isinstance(e.value, probesim.Error)
    assert machine.processes == []


def test_missing_program_is_bad_program_naming_the_file(machine, tmp_path):
    with pytest.raises(probesim.BadProgram, match="no-such-program"):
        machine.spawn([str(tmp_path / "no-such-program")])


def test_program_of_the_other_arch_is_bad_program(guest_dir):
    m = probesim.Machine("x86_64")
    path = guest_dir / "aarch64-glibc" / "hello"
    if not path.is_file():
        pytest.skip(f"{path} not built")
    with pytest.raises(probesim.BadProgram, match=r"hello.*aarch64"):
        m.spawn([path])


def test_dynamic_program_runs_with_its_interpreter(guest_dir):
    path = guest_dir / "x86_64-dynamic" / "hello"
    if not path.is_file():
        pytest.skip(f"{path} not built")
    m = probesim.Machine("x86_64")
    p = m.spawn([path, "a"])
    assert m.run() is True
    assert p.exit_code == 2
    assert_stdout(p, "hello from hello\nargc=2\n")
    # ld.so and libc.so.6 are file mappings of the guest root, next to the program's own.
    files = {v.file for v in p.mm.vmas if v.file}
    assert any("ld-linux-x86-64.so.2" in f for f in files)
    assert any("libc.so.6" in f for f in files)


def test_missing_interpreter_is_bad_program_naming_it(guest_dir):
    path = guest_dir / "x86_64-dynamic" / "badinterp"
    if not path.is_file():
        pytest.skip(f"{path} not built")
    with pytest.raises(probesim.BadProgram, match="/nonexistent/ld-probesim.so.2"):
        probesim.Machine("x86_64").spawn([path])


@pytest.mark.parametrize("make, message", [
    (lambda: probesim.Machine("arm"), "arch 'arm'"),
    (lambda: probesim.Machine("x86_64", quantum=0), "quantum"),
    (lambda: probesim.Machine("x86_64", seed=-1), "seed"),
    (lambda: probesim.Machine("x86_64", root="/no/such/root/dir"), "/no/such/root/dir"),
    (lambda: probesim.Machine("x86_64").spawn("/bin/true"), "argv"),
    (lambda: probesim.Machine("x86_64").spawn([]), "argv"),
    (lambda: probesim.Machine("x86_64").spawn(["/bin/true"], env={"A=B": "1"}), "env key"),
    (lambda: probesim.Machine("x86_64").spawn(["/bin/true"], env={"A": 1}), "env value"),
    (lambda: probesim.Machine("x86_64").spawn(["/bin/tr\0ue"]), "NUL"),
    (lambda: probesim.Machine("x86_64").run(until=-1), "until"),
])
def test_bad_arguments_raise_bad_argument_with_a_message(make, message):
    with pytest.raises(probesim.BadArgument, match=message):
        make()


def test_spawn_accepts_path_like_arguments(machine, guest_program):
    p = run_program(machine, [guest_program("hello"), Path("rel/arg")], cwd=Path("/"))
    assert_stdout(p, "argv[1]=rel/arg")
    assert_exit(p, 2)


def test_spawn_does_not_leak_the_host_environment(machine, guest_program):
    os.environ["HELLO_ENV"] = "from-host"
    try:
        p = run_program(machine, [guest_program("hello")])
    finally:
        del os.environ["HELLO_ENV"]
    assert_stdout(p, "HELLO_ENV=(unset)")


@pytest.mark.parametrize("mode", ["pipe", "full", "wait", "mutex"])
def test_a_machine_dropped_with_tasks_still_blocked_tears_down_cleanly(arch, guest_program, mode):
    # Teardown freed tasks before closing the pipes that wake them (ASan: use-after-free).
    m = probesim.Machine(arch, seed=1)
    p = m.spawn([guest_program("deadlock"), mode])
    assert m.run() is True
    assert p.exit is None and m.blocked_tids
    del p, m
    gc.collect()


def test_sleep_forever_is_reported_as_blocked_at_once(machine, guest_program):
    # busybox `sleep infinity` is nanosleep({INT64_MAX, 0}): host memory grew ~1 GB/s.
    p = machine.spawn([guest_program("deadlock"), "sleep"])
    assert machine.run() is True
    assert p.exit is None and machine.blocked_tids == [p.pid]
    assert machine.virtual_time < 1 and len(machine.schedule_log) < 10


def test_capture_limit_keeps_the_first_bytes_and_counts_the_rest(arch, guest_program):
    m = probesim.Machine(arch, seed=1, capture_limit=6)
    assert m.capture_limit == 6
    p = m.spawn([guest_program("hello"), "a", "b"])
    assert m.run() is True and p.exit_code == 3  # the guest's writes all succeeded
    full = probesim.Machine(arch, seed=1)
    q = full.spawn([guest_program("hello"), "a", "b"])
    full.run()
    assert p.stdout == q.stdout[:6] and p.stdout_dropped == len(q.stdout) - 6
    assert q.stdout_dropped == 0 and full.capture_limit is None
    with pytest.raises(probesim.BadArgument, match="capture_limit"):
        probesim.Machine(arch, capture_limit=0)


@pytest.mark.parametrize("how", ["pop", "ret"])
def test_a_fault_at_the_top_of_the_stack_has_its_exact_pc(machine, guest_program, how):
    """Without a SIGSEGV handler the fault PC is recovered by decoding the block: x86 pop and
    ret read [rsp, rsp + 8), which must count as their access (else: the block start)."""
    p = machine.spawn([str(guest_program("stackfault")), how, "show"])
    machine.run()
    site = int(p.stdout.decode().split()[2], 16)  # "fault site 0x..."
    assert p.exit.signaled and p.exit.signo == 11, p.exit
    assert p.exit.fault.addr == 0xDEAD0000
    assert (p.exit.fault.pc, p.exit.fault.pc_precise) == (site, True)
