"""Machine.kprobes: Python handlers on kernel probes, on both architectures."""
import _thread
import gc
import threading
import time
import weakref

import pytest

import probesim
from probesim.testing import assert_exit

ARG0 = {"x86_64": "di", "aarch64": "x0"}


def test_pre_sees_the_arguments_the_instruction_runs_then_post(machine):
    addr, _ = machine.kernel.lookup("kprobe_target")
    seen = []
    kp = machine.kprobes.register(
        "kprobe_target",
        pre=lambda regs: seen.append(("pre", regs.arg(0), regs.arg(1), regs.ip)),
        post=lambda regs: seen.append(("post", regs.ip)))
    assert machine.kernel_call("kprobe_target", 3, 4) == 11
    # Linux's pre handlers see x86 ip after the int3 (probe + 1), arm64 pc at the BRK.
    pre_ip = addr + (1 if machine.arch == "x86_64" else 0)
    assert seen[0] == ("pre", 3, 4, pre_ip)
    assert seen[1][0] == "post" and seen[1][1] > pre_ip and len(seen) == 2
    assert (kp.hits, kp.nmissed, kp.addr, kp.symbol) == (1, 0, addr, "kprobe_target+0x0")
    kp.unregister()
    assert machine.kernel_call("kprobe_target", 3, 4) == 11 and kp.hits == 1


def test_a_pre_handler_can_change_registers(machine):
    def double_first_argument(regs):
        setattr(regs, ARG0[machine.arch], regs.arg(0) * 10)
    machine.kprobes.register("kprobe_target", pre=double_first_argument)
    assert machine.kernel_call("kprobe_target", 3, 4) == 30 + 8


def test_a_pre_handler_returning_nonzero_skips_the_instruction_and_post(machine):
    posts = []

    def return_42(regs):  # emulate `return 42` at the entry, as a Linux handler would
        if machine.arch == "x86_64":
            regs.ip = int.from_bytes(machine.kernel.read(regs.sp, 8), "little")
            regs.sp += 8
            regs.ax = 42
        else:
            regs.pc = regs.lr
            regs.x0 = 42
        return 1
    machine.kprobes.register("kprobe_target", pre=return_42, post=posts.append)
    assert machine.kernel_call("kprobe_target", 3, 4) == 42 and posts == []


def test_probes_at_one_address_aggregate_and_run_newest_first(machine):
    order = []
    p1 = machine.kprobes.register("kprobe_target2", pre=lambda r: order.append("p1"),
                                  post=lambda r: order.append("post1"), name="p1")
    p2 = machine.kprobes.register("kprobe_target2", pre=lambda r: order.append("p2"), name="p2")
    p3 = machine.kprobes.register("kprobe_target2", pre=lambda r: order.append("p3"), name="p3")
    info = machine.kprobes.info("kprobe_target2")
    assert info.aggregated and info.armed and info.probes == [p3, p2, p1]
    assert info.symbol == "kprobe_target2+0x0" and info.flags == []
    assert machine.kernel_call("kprobe_target2", 3, 4) == 13
    assert order == ["p3", "p2", "p1", "post1"]

    order.clear()
    p2.disable()
    assert not p2.enabled and p2.registered and "[DISABLED]" in machine.kprobes.list()
    machine.kernel_call("kprobe_target2", 3, 4)
    assert order == ["p3", "p1", "post1"]
    p2.enable()
    p3.unregister()
    order.clear()
    machine.kernel_call("kprobe_target2", 3, 4)
    assert order == ["p2", "p1", "post1"]
    assert (p1.hits, p2.hits, p3.hits) == (3, 2, 2)
    assert machine.kprobes.probes == [p1, p2] and len(machine.kprobes) == 2


def test_a_single_probe_can_be_disabled_and_reenabled(machine):
    before = machine.kernel.read("kprobe_target", 4)
    kp = machine.kprobes.register("kprobe_target", pre=lambda r: None, disabled=True)
    assert not kp.enabled and machine.kernel.read("kprobe_target", 4) == before
    assert machine.kprobes.info("kprobe_target").flags == ["DISABLED"]
    machine.kernel_call("kprobe_target", 1, 2)
    assert kp.hits == 0
    kp.enable()
    machine.kernel_call("kprobe_target", 1, 2)
    assert kp.enabled and kp.hits == 1 and machine.kprobes.info("kprobe_target").armed


def test_disarm_all_removes_every_breakpoint_and_arm_all_restores_them(machine):
    before = machine.kernel.read("kprobe_target", 4)
    kp = machine.kprobes.register("kprobe_target", pre=lambda r: None)
    machine.kprobes.disarm_all()
    assert not machine.kprobes.armed and machine.kernel.read("kprobe_target", 4) == before
    machine.kernel_call("kprobe_target", 1, 2)
    assert kp.hits == 0 and kp.enabled
    machine.kprobes.arm_all()
    machine.kernel_call("kprobe_target", 1, 2)
    assert machine.kprobes.armed and kp.hits == 1


def test_list_is_debugfs_kprobes_list(machine):
    machine.kprobes.register("kprobe_target")
    machine.kretprobes.register("kprobe_target2")
    lines = sorted(machine.kprobes.list().splitlines())
    addr, _ = machine.kernel.lookup("kprobe_target")
    assert any(line.startswith(f"{addr:016x}  k  kprobe_target+0x0") for line in lines)
    assert any("  r  kprobe_target2+0x0" in line for line in lines)


def test_registration_errors_are_bad_probe_with_linux_errno(machine):
    def errno_of(where):
        with pytest.raises(probesim.BadProbe) as e:
            machine.kprobes.register(where)
        text = where if isinstance(where, str) else hex(where)
        assert str(e.value).startswith(f"register_kprobe({text}): {e.value.errno_name}: ")
        return e.value.errno_name

    assert errno_of("no_such_symbol") == "ENOENT"
    assert errno_of("kprobe_nokprobe_target") == "EINVAL"       # NOKPROBE_SYMBOL
    assert errno_of("kprobe_kprobes_text_target") == "EINVAL"   # .kprobes.text
    assert errno_of(machine.kernel.address("kprobe_selftest_counter")) == "EINVAL"  # data
    if machine.arch == "x86_64":  # inside an instruction: can_probe() says EILSEQ
        insn = next(i for i in machine.kernel.disassemble("vfs_read", original=True)
                    if len(i.bytes) > 1)
        offset = insn.addr - machine.kernel.address("vfs_read") + 1
        assert errno_of(f"vfs_read+{offset:#x}") == "EILSEQ"
    else:  # misaligned
        assert errno_of("vfs_read+2") == "EINVAL"
    assert machine.kprobes.probes == [] and machine.kprobes.list() == ""


def test_bad_arguments_are_python_errors(machine):
    with pytest.raises(TypeError, match="pre: expected a callable"):
        machine.kprobes.register("kprobe_target", pre=42)
    with pytest.raises(probesim.BadArgument, match="expected an address"):
        machine.kprobes.register(3.5)
    with pytest.raises(probesim.BadArgument, match="not 'symbol'"):
        machine.kprobes.register("vfs read")


def test_unregister_is_idempotent_and_counters_stay_readable(machine):
    kp = machine.kprobes.register("kprobe_target", pre=lambda r: None)
    machine.kernel_call("kprobe_target", 1, 2)
    kp.unregister()
    kp.unregister()
    assert not kp.registered and not kp.enabled and kp.hits == 1 and "unregistered" in repr(kp)
    with pytest.raises(probesim.BadProbe) as e:
        kp.enable()
    assert e.value.errno_name == "EINVAL"


def test_a_handler_that_raises_stops_run_names_the_probe_and_the_machine_resumes(
        machine, guest_program):
    plain = probesim.Machine(machine.arch, seed=1)
    expected = plain.spawn([guest_program("hello"), "x"])
    plain.run()
    calls = []

    def fail_on_second_write(regs):
        calls.append(regs.arg(0))
        if len(calls) == 2:
            raise RuntimeError("second write")
    kp = machine.kprobes.register("ksys_write", pre=fail_on_second_write, name="writes")
    p = machine.spawn([guest_program("hello"), "x"])
    with pytest.raises(probesim.ProbeHandlerError) as e:
        machine.run()
    err = e.value
    assert (err.probe, err.handler) == ("writes", "pre")
    assert "kprobe 'writes' (ksys_write+0x0) pre handler raised RuntimeError: second write" in str(err)
    assert isinstance(err.__cause__, RuntimeError) and err.__cause__.__traceback__ is not None
    assert p.exit is None and not machine.running
    assert machine.run() is True  # the machine stayed consistent: the program finishes
    assert_exit(p, expected.exit_code)
    assert p.stdout == expected.stdout and p.stderr == expected.stderr
    assert kp.hits == len(calls) >= 2 and kp.registered


def test_a_post_handler_that_raises_surfaces_from_kernel_call(machine):
    def post(regs):
        raise ValueError("post failed")
    machine.kprobes.register("kprobe_target", post=post)
    with pytest.raises(probesim.ProbeHandlerError, match="post handler raised ValueError") as e:
        machine.kernel_call("kprobe_caller_target", 3, 4)
    assert e.value.handler == "post" and isinstance(e.value.__cause__, ValueError)
    machine.close()
    assert machine.kernel_call("kprobe_caller_target", 3, 4) == 12


def test_a_pre_handler_must_return_none_or_an_int(machine):
    machine.kprobes.register("kprobe_target", pre=lambda regs: "yes")
    with pytest.raises(probesim.ProbeHandlerError) as e:
        machine.kernel_call("kprobe_target", 1, 2)
    assert isinstance(e.value.__cause__, TypeError)
    assert "must return None or an int" in str(e.value.__cause__)


def test_probes_cannot_be_changed_from_inside_a_handler(machine):
    other = machine.kprobes.register("kprobe_target2")
    attempts = [lambda: machine.kprobes.register("kprobe_target2"), other.unregister,
                other.disable, machine.kprobes.disarm_all, machine.close]
    errors = []

    def pre(regs):
        for attempt in attempts:
            try:
                attempt()
            except probesim.Error as e:
                errors.append(str(e))
    machine.kprobes.register("kprobe_target", pre=pre)
    assert machine.kernel_call("kprobe_target", 1, 2) == 5
    assert len(errors) == len(attempts)
    assert all("inside a probe handler" in e or "is running" in e for e in errors)
    assert other.registered and other.enabled and machine.kprobes.armed


def test_a_handler_may_read_kernel_memory_and_nest_kernel_calls(machine):
    """A nested call hits `inner` while `outer` runs: Linux counts it missed."""
    got = {}

    def outer_pre(regs):
        got["nested"] = machine.kernel_call("kprobe_target", 5, 6)
        got["bytes"] = machine.kernel.read_original("kprobe_target", 4)
    outer = machine.kprobes.register("kprobe_caller_target", pre=outer_pre)
    inner = machine.kprobes.register("kprobe_target", pre=lambda r: None)
    assert machine.kernel_call("kprobe_caller_target", 3, 4) == 12
    assert got["nested"] == 17 and got["bytes"] == machine.kernel.read_original("kprobe_target", 4)
    assert (outer.hits, inner.hits, inner.nmissed) == (1, 1, 1)


def test_regs_are_valid_only_inside_the_handler(machine):
    kept = []
    machine.kprobes.register("kprobe_target", pre=kept.append)
    machine.kernel_call("kprobe_target", 1, 2)
    [regs] = kept
    with pytest.raises(probesim.Error, match="only inside the handler"):
        regs.ip
    with pytest.raises(probesim.Error, match="only inside the handler"):
        regs.arg(0)


def test_regs_read_and_write_by_linux_name(machine):
    seen = {}

    def pre(regs):
        seen.update(regs.as_dict())
        seen["names"] = regs.names
        seen["ip"], seen["sp"], seen["dir"] = regs.ip, regs.sp, dir(regs)
        with pytest.raises(AttributeError, match="no register 'rax'"):
            regs.rax
        with pytest.raises(probesim.BadArgument, match="expected an int"):
            regs.sp = "high"
    machine.kprobes.register("kprobe_target", pre=pre)
    machine.kernel_call("kprobe_target", 7, 8)
    if machine.arch == "x86_64":
        assert seen["names"][:3] == ["r15", "r14", "r13"] and seen["di"] == 7
        assert seen["ip"] == seen["ip"] and seen["cs"] == 0x10 and "return_value" in seen["dir"]
    else:
        assert seen["names"][0] == "x0" and seen["names"][-1] == "pstate" and seen["x1"] == 8
        assert seen["ip"] == seen["pc"] and "lr" in seen["dir"]
    assert seen["sp"] == seen["sp"] and seen["sp"] > 0


def test_a_hit_costs_the_modelled_trap_and_step_cycles(arch):
    for boost in (True, False):
        m = probesim.Machine(arch, seed=1, kprobe_boost=boost)

        def cycles_of_call():
            before = m.cycles
            m.kernel_call("kprobe_target", 1, 2)
            return m.cycles - before
        plain = cycles_of_call()
        kp = m.kprobes.register("kprobe_target", pre=lambda r: None)
        info = m.kprobes.info("kprobe_target")
        costs = m.kprobes.costs
        assert set(costs) == {"trap", "single-step", "kretprobe-return", "optimized"}
        # A probe queued for optimization runs the detour's copy after the trap (Linux's
        # setup_detour_execution): no second trap either.
        stepped = info.step == "slot" and not info.boosted and not info.optimized
        assert info.boosted == (boost and arch == "x86_64")
        extra = costs["trap"] + (costs["single-step"] if stepped else 0)
        assert cycles_of_call() >= plain + extra
        kp.unregister()
        assert cycles_of_call() == plain


def test_probes_on_a_real_programs_syscalls_see_its_writes(machine, guest_program):
    writes = []
    kp = machine.kprobes.register("ksys_write",
                                  pre=lambda regs: writes.append((regs.arg(0), regs.arg(2))))
    p = machine.spawn([guest_program("hello"), "x"])
    machine.run()
    assert_exit(p, 2)
    assert sum(n for fd, n in writes if fd == 1) == len(p.stdout)
    assert sum(n for fd, n in writes if fd == 2) == len(p.stderr)
    assert kp.hits == len(writes) and kp.nmissed == 0


def test_close_unregisters_every_probe_and_with_closes(arch):
    with probesim.Machine(arch, seed=1) as m:
        before = m.kernel.read("kprobe_target", 4)
        kp = m.kprobes.register("kprobe_target", pre=lambda r: None)
        rp = m.kretprobes.register("kprobe_target2", handler=lambda ri, r: None)
    assert not kp.registered and not rp.registered and m.kprobes.probes == []
    assert m.kernel.read("kprobe_target", 4) == before
    assert m.kernel_call("kprobe_target", 1, 2) == 5 and kp.hits == 0


def test_a_machine_referenced_from_its_handlers_is_garbage_collected(arch):
    m = probesim.Machine(arch, seed=1)
    kp = m.kprobes.register("kprobe_target", pre=lambda regs: m.kernel)  # a reference cycle
    gone = weakref.ref(m)
    del m
    gc.collect()
    assert gone() is None and not kp.registered
    with pytest.raises(probesim.Error, match="machine is gone"):
        kp.enable()
    kp.unregister()  # a no-op


def test_interrupt_during_a_kernel_call_whose_handlers_keep_firing(machine):
    hits = []
    kp = machine.kprobes.register("kprobe_target", pre=lambda regs: hits.append(1))
    threading.Timer(0.3, _thread.interrupt_main).start()
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt) as e:
        machine.kernel_call("kprobe_loop_target", 5_000_000)
    assert time.monotonic() - start < 4
    # kernel_call polls no signals: Python saw Ctrl-C inside a handler, which names the probe
    assert "raised in kprobe 'kprobe_target' (kprobe_target+0x0) pre handler" in e.value.__notes__
    assert 0 < kp.hits < 5_000_000 and not machine.running
    assert machine.kernel_call("kprobe_target", 3, 4) == 11  # consistent: probes still work
    assert len(hits) <= kp.hits <= len(hits) + 1  # the interrupted call counted, maybe unfinished


def test_interrupt_during_a_long_run_with_probes_armed(machine, guest_program):
    writes = machine.kprobes.register("ksys_write", pre=lambda regs: None)
    p = machine.spawn([guest_program("sha256"), "512M"])
    threading.Timer(0.3, _thread.interrupt_main).start()
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        machine.run(until=3_000_000_000)
    assert time.monotonic() - start < 20 and p.exit is None and not machine.running
    done = machine.instructions
    assert machine.run(until=10_000) is False and machine.instructions >= done + 10_000
    assert writes.registered and machine.kprobes.info("ksys_write").armed


def test_interrupt_while_every_syscall_hits_a_python_handler(guest_program):
    busybox = "/bin/busybox"
    import os
    if not os.path.isfile(busybox):
        pytest.skip("/bin/busybox (Debian's busybox-static) is not installed")
    m = probesim.Machine("x86_64", seed=1)
    reads = m.kprobes.register("ksys_read", pre=lambda regs: None)
    p = m.spawn([busybox, "dd", "if=/dev/zero", "of=/dev/null", "bs=1", "count=100000000"])
    threading.Timer(0.5, _thread.interrupt_main).start()
    with pytest.raises(KeyboardInterrupt):
        m.run()
    hits = reads.hits
    assert hits > 100 and p.exit is None
    m.run(until=1_000_000)
    assert reads.hits > hits


def test_kunit_test_kprobe_missed_counts_nested_hits_of_a_warm_nested_engine(machine):
    # The nested engine translates kprobe_recursed_target before the probe exists.
    warm = machine.kprobes.register(
        "kprobe_target", pre=lambda r: machine.kernel_call("kprobe_recursed_target", 3) and 0)
    assert machine.kernel_call("kprobe_target", 1, 2) == 5
    warm.unregister()
    # lib/test_kprobes.c test_kprobe_missed: pre and post both call the probed function.
    kp = machine.kprobes.register(
        "kprobe_recursed_target",
        pre=lambda r: machine.kernel_call("kprobe_recursed_target", 1) and 0,
        post=lambda r: machine.kernel_call("kprobe_recursed_target", 1))
    assert machine.kernel_call("kprobe_recursed_target", 1) == 1
    assert (kp.hits, kp.nmissed) == (1, 2)


def test_after_unregister_a_handlers_nested_call_runs_the_original_code(machine):
    # Issue 11's reproducer: x86 looped forever holding the GIL, arm64 raised EFAULT.
    p = machine.kprobes.register("kprobe_recursed_target")
    y = machine.kprobes.register(
        "kprobe_branch_target",
        pre=lambda r: machine.kernel_call("kprobe_recursed_target", 1) and 0)
    assert machine.kernel_call("kprobe_branch_target", 20) == 10
    assert p.nmissed == 1
    p.unregister()
    assert machine.kernel_call("kprobe_branch_target", 20) == 10
    assert (y.hits, p.nmissed) == (2, 1)
