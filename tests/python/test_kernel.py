"""Machine.kernel (the booted guest kernel) and Machine.kernel_call, on both architectures."""
import threading
import time

import pytest

import probesim

BREAKPOINT = {"x86_64": b"\xcc", "aarch64": (0xD4200080).to_bytes(4, "little")}  # int3 / BRK #4
RET = {"x86_64": "ret", "aarch64": "ret"}


def test_the_kernel_boots_through_linuxs_boot_steps(machine):
    k = machine.kernel
    assert machine.has_kernel and isinstance(k, probesim.Kernel)
    assert k.boot_log == ["start_kernel", "setup_arch", "trap_init", "mm_init", "init_kprobes",
                          "rest_init"]
    assert k.panic == "" and k.oopses == []


def test_without_a_kernel_there_is_no_kernel_view_and_no_kprobes(arch):
    m = probesim.Machine(arch, kernel=False)
    assert m.kernel is None and not m.has_kernel and "kernel=False" in repr(m)
    with pytest.raises(probesim.KernelCallError, match="without a guest kernel"):
        m.kernel_call("kprobe_target", 1, 2)
    with pytest.raises(probesim.Error, match="kernel=True"):
        m.kprobes.register("kprobe_target")
    with pytest.raises(probesim.Error, match="kernel=True"):
        m.kprobes.list()


def test_symbols_lookup_and_symbol_at_agree(machine):
    k = machine.kernel
    addr, size = k.lookup("kprobe_target")
    assert size > 0 and k.address("kprobe_target") == addr
    assert k.address("kprobe_target+0x4") == addr + 4 and k.address("kprobe_target+4") == addr + 4
    assert k.symbol_at(addr) == "kprobe_target+0x0"
    assert k.symbol_at(addr + size - 1) == f"kprobe_target+{size - 1:#x}"
    assert k.symbol_at(0x1000) is None
    symbols = k.symbols
    assert [s.addr for s in symbols] == sorted(s.addr for s in symbols)
    [target] = [s for s in symbols if s.name == "kprobe_target"]
    assert (target.addr, target.size) == (addr, size) and target.type in "Tt"
    with pytest.raises(probesim.BadArgument, match="no kernel symbol 'no_such_symbol'"):
        k.lookup("no_such_symbol")
    with pytest.raises(probesim.BadArgument, match="no kernel symbol"):
        k.address("no_such_symbol+4")
    with pytest.raises(probesim.BadArgument, match="bad offset"):
        k.address("kprobe_target+")
    with pytest.raises(probesim.BadArgument, match="symbol\\+offset"):
        k.address("bad name")


def test_the_blacklist_lists_nokprobe_functions(machine):
    names = {name for start, end, name in machine.kernel.blacklist}
    assert "kprobe_nokprobe_target" in names
    for start, end, _ in machine.kernel.blacklist:
        assert start < end


def test_read_shows_breakpoints_and_read_original_the_bytes_under_them(machine):
    k = machine.kernel
    bp = BREAKPOINT[machine.arch]
    before = k.read("kprobe_target", 8)
    assert k.read_original("kprobe_target", 8) == before and not before.startswith(bp)
    kp = machine.kprobes.register("kprobe_target")
    assert k.read("kprobe_target", 8) == bp + before[len(bp):]
    assert k.read_original("kprobe_target", 8) == before
    kp.unregister()
    assert k.read("kprobe_target", 8) == before
    with pytest.raises(probesim.BadArgument, match="not all kernel memory"):
        k.read(0x1000, 4)


def test_disassemble_lists_the_function_with_or_without_the_breakpoint(machine):
    k = machine.kernel
    whole = k.disassemble("kprobe_target")
    addr, size = k.lookup("kprobe_target")
    assert whole[0].addr == addr and whole[-1].addr + len(whole[-1].bytes) <= addr + size
    assert RET[machine.arch] in [i.mnemonic for i in whole]
    assert k.disassemble("kprobe_target", 2) == whole[:2]
    machine.kprobes.register("kprobe_target")
    first = k.disassemble("kprobe_target", 1)[0]
    assert first.mnemonic == ("int3" if machine.arch == "x86_64" else "brk")
    assert k.disassemble("kprobe_target", original=True) == whole


def test_kernel_call_runs_the_selftest_functions(machine):
    call = machine.kernel_call
    assert call("kprobe_target", 3, 4) == 11
    assert call("kprobe_target2", 3, 4) == 13
    assert call("kprobe_recursed_target", 5) == 120
    assert (call("kprobe_branch_target", 20), call("kprobe_branch_target", 5)) == (10, 105)
    assert call("kprobe_caller_target", 3, 4) == 12
    assert call("kprobe_six_args_target", 1, 1, 1, 1, 1, 1) == 21
    assert call("kprobe_target", -1, 0) == 2**64 - 1  # arguments are machine words


def test_kernel_call_errors_carry_linux_errno_names(machine):
    with pytest.raises(probesim.KernelCallError) as e:
        machine.kernel_call("no_such_function")
    assert (e.value.errno, e.value.errno_name) == (2, "ENOENT")
    assert "kernel_call(no_such_function): ENOENT" in str(e.value)
    with pytest.raises(probesim.KernelCallError) as e:
        machine.kernel_call("kprobe_target", 1, 2, 3, 4, 5, 6, 7)
    assert e.value.errno_name == "E2BIG"
    with pytest.raises(probesim.BadArgument, match="64 bits"):
        machine.kernel_call("kprobe_target", 2**64, 0)


def test_a_kernel_call_that_oopses_is_an_error_and_the_machine_keeps_working(machine):
    with pytest.raises(probesim.KernelCallError) as e:
        machine.kernel_call("kprobe_selftest_counter")  # data: executing it faults
    assert e.value.errno_name == "EFAULT"
    assert "kernel_call(kprobe_selftest_counter)" in str(e.value)
    assert machine.kernel_call("kprobe_target", 1, 1) == 3


def test_kernel_call_releases_the_gil_and_the_machine_is_busy_meanwhile(machine):
    result = []
    worker = threading.Thread(target=lambda: result.append(
        machine.kernel_call("kprobe_loop_target", 3_000_000)))
    worker.start()
    deadline = time.monotonic() + 10
    while not machine.running and time.monotonic() < deadline:
        time.sleep(0.0005)  # this thread runs while the kernel call emulates: the GIL is free
    busy = machine.running
    if busy:
        with pytest.raises(probesim.Error, match="the machine is running"):
            machine.kernel.read("kprobe_target", 4)
    worker.join()
    n = 3_000_000
    assert busy and result == [n * (n - 1) // 2 + 2 * n]


def test_kernel_call_cycles_count_in_the_machines_totals(machine):
    cycles, insns = machine.cycles, machine.instructions
    machine.kernel_call("kprobe_loop_target", 1000)
    assert machine.cycles > cycles and machine.instructions > insns + 1000


def test_insn_slots_hold_the_probed_instruction(machine):
    k = machine.kernel
    original = k.read_original("kprobe_target", 4)
    kp = machine.kprobes.register("kprobe_target")
    slots = k.insn_slots
    info = machine.kprobes.info("kprobe_target")
    assert info.slot in [s.addr for s in slots.used] and info.slot in [
        p + i * slots.slot_size for p in slots.pages for i in range(slots.slots_per_page)]
    assert slots.slot_size == (16 if machine.arch == "x86_64" else 8)
    assert slots.slots_per_page * slots.slot_size == 4096
    [slot] = [s for s in slots.used if s.addr == info.slot]
    insn = k.disassemble("kprobe_target", 1, original=True)[0]
    assert slot.bytes.startswith(insn.bytes) and insn.bytes == original[:len(insn.bytes)]
    if machine.arch == "aarch64":  # the copy, then BRK #6 (the single-step trap)
        assert slot.bytes[4:8] == (0xD42000C0).to_bytes(4, "little")
    kp.unregister()
    assert info.slot not in [s.addr for s in k.insn_slots.used]


def test_a_panicked_machine_says_so_on_every_later_call(machine, guest_program):
    hello = guest_program("hello")
    p = machine.spawn([hello])  # spawned before the panic: it never runs
    with pytest.raises(probesim.KernelPanic,
                       match=r"kernel_call\(panic\): .*Kernel panic - not syncing: \(no message\)"):
        machine.kernel_call("panic", 0)
    assert machine.kernel.panic == "(no message)"
    with pytest.raises(probesim.KernelPanic, match=r"^spawn: the guest kernel panicked"):
        machine.spawn([hello])
    with pytest.raises(probesim.KernelPanic, match=r"^run: the guest kernel panicked"):
        machine.run()
    with pytest.raises(probesim.KernelPanic, match=r"^kernel_call\(kprobe_target\): the guest"):
        machine.kernel_call("kprobe_target", 3, 4)
    assert p.exit is None and p.stdout == b""


def test_a_panic_in_a_handlers_kernel_call_ends_the_run(machine, guest_program):
    machine.kprobes.register("ksys_write", pre=lambda regs: machine.kernel_call("panic", 0))
    machine.spawn([guest_program("hello")])
    with pytest.raises(probesim.ProbeHandlerError) as e:  # the handler's call raised
        machine.run()
    assert isinstance(e.value.__cause__, probesim.KernelPanic)
    assert machine.kernel.panic == "(no message)"
    with pytest.raises(probesim.KernelPanic, match=r"^run: the guest kernel panicked"):
        machine.run()
