"""uprobes on a shared library: one libc.so.6 inode mapped by every dynamically linked process.
Registering walks its i_mmap tree; processes that map libc later (ld.so's mmap, after execve)
are armed by uprobe_mmap. Programs: the <arch>-dynamic guest flavour and, on x86_64, Debian's
own dash, ls, sort and head from the host root."""
import os

import pytest

import probesim
from probesim.testing import assert_exit

LIBC = {"x86_64": "/lib/x86_64-linux-gnu/libc.so.6",
        "aarch64": "/usr/aarch64-linux-gnu/lib/libc.so.6"}  # the aarch64-dynamic RUNPATH


@pytest.fixture
def libc(arch):
    if not os.path.exists(LIBC[arch]):
        pytest.skip(f"{LIBC[arch]} is not installed")
    return LIBC[arch]


def test_malloc_uprobe_hits_in_every_process_and_sees_its_libc_mapping(arch, libc,
                                                                       guest_program):
    prog = guest_program("hello", flavour=f"{arch}-dynamic")
    m = probesim.Machine(arch, seed=1, quantum=5_000)  # small quanta: the three overlap
    sizes = {}

    def on_malloc(regs):
        sizes.setdefault(m.current_pid, []).append(regs.arg(0))
        assert m.process(m.current_pid).mm.page_state(regs.pc) == "replaced"  # its COW'd page

    # Registered before any process runs: libc is not mapped anywhere yet (ld.so maps it).
    up = m.uprobes.register(libc, "malloc", handler=on_malloc)
    assert up.map_info() == []
    procs = [m.spawn([prog, str(i)]) for i in range(3)]
    pids = [p.pid for p in procs]
    while sorted(sizes) != pids:  # until each has called malloc once
        assert m.run(until=5_000) is False
    # Now libc's i_mmap holds VMAs of all three, and each has its own breakpoint page.
    assert {n.vma.pid for n in up.inode.i_mmap} == set(pids)
    assert all(n.vma.file.endswith("libc.so.6") for n in up.inode.i_mmap)
    assert sorted(pid for pid, _ in up.map_info()) == pids
    for pid, addr in up.map_info():
        assert m.process(pid).mm.page_state(addr) == "replaced"
    assert m.run() is True
    for p in procs:
        assert_exit(p, 2)
    assert up.hits == sum(len(v) for v in sizes.values()) > 0
    assert len({tuple(v) for v in sizes.values()}) == 1  # the same program: the same mallocs


def test_uretprobe_on_malloc_follows_fork_and_execve_of_dash_pipelines(libc, arch):
    if arch != "x86_64" or not os.path.exists("/bin/dash"):
        pytest.skip("Debian's dash and coreutils from the host root (x86_64)")
    m = probesim.Machine(arch, seed=1)
    returned = {}
    up = m.uretprobes.register(libc, "malloc", handler=lambda func, regs: returned.setdefault(
        m.current_pid, []).append(regs.return_value))
    sh = m.spawn(["/bin/dash", "-c", "ls /etc | sort | head -n 2 | wc -l"],
                 env={"PATH": "/usr/bin:/bin"})
    assert m.run() is True
    assert_exit(sh, 0)
    assert sh.stdout == b"2\n"
    comms = {p.pid: p.comm for p in m.processes}
    # The exec'd children mapped libc after registration and were armed then.
    assert {"dash", "ls", "sort", "head", "wc"} <= {comms[pid] for pid in returned}
    assert all(addr != 0 for v in returned.values() for addr in v)  # malloc succeeded
    assert up.ret_hits == sum(len(v) for v in returned.values())
