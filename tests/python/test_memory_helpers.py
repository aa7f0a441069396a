"""Reading guest memory the way handlers need it: C strings (Mm.read_str, Kernel.read_str),
signed return values and errno (PtRegs), and symbolization of kernel and user addresses."""
import pytest

import probesim
from probesim.testing import assert_exit, run_program
from helpers import text_vma

ETXTBSY = 26


def test_openat_filenames_and_errors_from_handlers(machine, guest_program):
    opened, returned = [], []

    def on_open(regs, ctx):  # do_sys_openat2(dfd, filename, how)
        opened.append(ctx.mm.read_str(regs.arg(1)))

    machine.kprobes.register("do_sys_openat2", pre=on_open)
    machine.kretprobes.register(
        "do_sys_openat2",
        handler=lambda ri, regs: returned.append((regs.return_value_signed, regs.errno)))
    p = run_program(machine, [guest_program("etxtbsy")])
    assert_exit(p, 0)
    assert "/proc/self/exe" in opened and len(opened) == len(returned)
    assert (-ETXTBSY, ETXTBSY) in returned  # open("/proc/self/exe", O_WRONLY)
    assert all(err == 0 for ret, err in returned if ret >= 0)
    assert all(ret == -err for ret, err in returned if ret < 0)
    assert all(r[0] >= -4095 for r in returned)


def test_read_str_stops_at_nul_at_max_and_at_unmapped_memory(machine, guest_program):
    p = machine.spawn([guest_program("hello")])
    machine.run(until=1)
    [stack] = [v for v in p.mm.vmas if v.name == "[stack]"]
    p.mm.write(stack.start + 16, b"caf\xc3\xa9\0tail")
    assert p.mm.read_str(stack.start + 16) == "caf\u00e9"
    assert p.mm.read_str(stack.start + 16, max=2) == "ca"
    assert p.mm.read_str(stack.start + 16, max=0) == ""
    p.mm.write(stack.end - 3, b"xy\xff")  # no NUL before the end of the mapping
    assert p.mm.read_str(stack.end - 3) == "xy\\xff"  # invalid UTF-8 as an escape
    p.mm.write(stack.end - 4096 - 2, b"ab")  # a string crossing a page boundary
    p.mm.write(stack.end - 4096, b"cd\0")
    assert p.mm.read_str(stack.end - 4096 - 2) == "abcd"
    with pytest.raises(probesim.BadArgument, match=r"Mm.read_str: 0x10 is not mapped in pid"):
        p.mm.read_str(0x10)


def test_kernel_read_str(machine):
    code = machine.kernel.read("vfs_read", 256)
    assert b"\0" in code
    expected = code[:code.index(b"\0")].decode("utf-8", "backslashreplace")
    assert machine.kernel.read_str("vfs_read", max=256) == expected
    first = code[:1].split(b"\0")[0].decode("utf-8", "backslashreplace")
    assert machine.kernel.read_str("vfs_read", max=1) == first
    with pytest.raises(probesim.BadArgument, match="Kernel.read_str: 0x10 is not kernel memory"):
        machine.kernel.read_str(0x10)


def test_errno_is_zero_for_values_that_are_not_errors(machine):
    got = []
    machine.kretprobes.register("kprobe_target",
                                handler=lambda ri, regs: got.append(
                                    (regs.return_value, regs.return_value_signed, regs.errno)))
    machine.kernel_call("kprobe_target", -15, 0)    # a + 2 * b
    machine.kernel_call("kprobe_target", 0, 2**62)  # 2**63: negative, but not an -errno
    [(raw, signed, err), (_, big, big_err)] = got
    assert (raw, signed, err) == (2**64 - 15, -15, 15)
    assert (big, big_err) == (-2**63, 0)


def test_symbolize_kernel_and_user_addresses(machine, guest_program):
    prog = str(guest_program("uprobed"))
    where = []
    machine.uprobes.register(prog, "leaf",
                             handler=lambda regs, ctx: where.append(
                                 (machine.symbolize(regs.ip, pid=ctx.pid),
                                  machine.symbolize(regs.ip))))
    p = run_program(machine, [prog, "work"])
    assert_exit(p, 0)
    assert where and set(where) == {("leaf+0x0", None)}
    vfs_read = machine.kernel.address("vfs_read")
    assert machine.symbolize(vfs_read + 4) == "vfs_read+0x4"
    assert machine.symbolize(vfs_read + 4, pid=p.pid) == "vfs_read+0x4"
    leaf = machine.uprobes.probes[0]
    [(pid, addr)] = leaf.map_info()
    assert machine.symbolize(addr + 3, pid=p.pid) == "leaf+0x3"
    [stack] = [v for v in p.mm.vmas if v.name == "[stack]"]
    assert machine.symbolize(stack.start, pid=p.pid) is None  # anonymous memory
    assert machine.symbolize(text_vma(p).start - 4096 * 1000, pid=p.pid) is None
    with pytest.raises(probesim.BadArgument, match="symbolize: no process with pid 7"):
        machine.symbolize(addr, pid=7)
