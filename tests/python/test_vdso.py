"""The vDSO (guest/vdso) under uprobes. Linux's [vdso] has no file, so Linux cannot probe it;
probesim backs it with a synthetic inode named "[vdso]": probes by name, and by a process's
virtual address, land on it. Its clock_gettime runs without a syscall and returns the virtual
clock's time."""
import probesim
from probesim.testing import assert_exit

CLOCK_GETTIME = {"x86_64": "__vdso_clock_gettime", "aarch64": "__kernel_clock_gettime"}
CLOCK_MONOTONIC = 1


def test_the_vdso_clock_gettime_hits_and_returns_the_virtual_clock(arch, guest_program):
    prog = guest_program("cycles", flavour=f"{arch}-glibc")  # two clock_gettime(MONOTONIC)
    m = probesim.Machine(arch, seed=1)
    calls = []  # [clock id, timespec address, returned ns, ctx.time_ns at the return]

    def entry(regs, ctx):
        calls.append([regs.arg(0), regs.arg(1), None, None])

    def ret(func, regs, ctx):
        assert regs.return_value == 0
        sec, nsec = ctx.mm.read_struct(calls[-1][1], "<qq")
        calls[-1][2:] = [sec * 1_000_000_000 + nsec, ctx.time_ns]

    up = m.uprobes.register("[vdso]", CLOCK_GETTIME[arch], handler=entry, ret_handler=ret)
    p = m.spawn([prog])
    syscalls = []
    m.strace(lambda line: syscalls.append(line))
    assert m.run() is True
    assert_exit(p, 0)
    assert up.hits == up.ret_hits == 2 and [c[0] for c in calls] == [CLOCK_MONOTONIC] * 2
    for _, _, got, now in calls:  # read a few instructions before the return
        assert 0 <= now - got < 1_000, (got, now)
    assert calls[0][2] < calls[1][2]
    assert not [line for line in syscalls if "clock_gettime(" in line]


def test_an_address_in_a_process_vdso_resolves_to_its_synthetic_inode(arch, guest_program):
    prog = guest_program("cycles", flavour=f"{arch}-glibc")
    m = probesim.Machine(arch, seed=1)
    by_name = m.uprobes.register("[vdso]", CLOCK_GETTIME[arch])
    p = m.spawn([prog])
    [vdso] = [v for v in p.mm.vmas if v.file == "[vdso]"]
    assert vdso.flags == "r-xp"
    by_addr = m.uprobes.register(pid=p.pid, addr=vdso.start + by_name.offset)
    assert by_addr.inode == by_name.inode and by_addr.offset == by_name.offset
    assert by_name.map_info() == [(p.pid, vdso.start + by_name.offset)]
    assert m.run() is True
    assert_exit(p, 0)
    assert by_name.hits == by_addr.hits == 2
