"""Python ergonomics (issue 20): counting-only uprobes, uprobes by virtual address, relative
uprobe paths from the guest cwd, Mm.read_struct, find_inode through symlinks."""
import ctypes
import os
import struct

import pytest

import probesim


@pytest.fixture
def prog(guest_program):
    return str(guest_program("uprobed"))


def test_a_uprobe_without_handlers_counts_its_hits(machine, prog):
    up = machine.uprobes.register(prog, "fact")
    rp = machine.uretprobes.register(prog, "fact")
    p = machine.spawn([prog, "recurse"])
    assert machine.run() is True and p.exit_code == 0
    assert up.hits == 6 and up.ret_hits == 0  # fact(6) .. fact(1)
    assert rp.hits == 6 and rp.ret_hits == 6
    [info] = [u for u in machine.find_inode(prog).uprobes if u.offset == up.offset]
    assert info.hits == 6


def test_a_uprobe_by_virtual_address_resolves_to_the_files_offset(machine, prog):
    p = machine.spawn([prog, "work"])
    by_symbol = machine.uprobes.register(prog, "leaf")
    [(pid, vaddr)] = by_symbol.map_info()
    by_addr = machine.uprobes.register(pid=p.pid, addr=vaddr)
    assert pid == p.pid and by_addr.offset == by_symbol.offset
    assert by_addr.inode.name == by_symbol.inode.name and by_addr.name == hex(vaddr)
    assert machine.run() is True and p.exit_code == 0
    assert by_addr.hits == by_symbol.hits > 0
    ret = machine.uretprobes  # the same on a uretprobe
    q = machine.spawn([prog, "recurse"])
    fact = machine.uprobes.register(prog, "fact")
    [(_, fact_addr)] = [m for m in fact.map_info() if m[0] == q.pid]
    r = ret.register(pid=q.pid, addr=fact_addr, handler=lambda func, regs: None)
    assert machine.run() is True and r.ret_hits == 6


def test_a_uprobe_address_outside_an_executable_file_mapping_is_refused(machine, prog):
    p = machine.spawn([prog, "work"])
    stack = next(v for v in p.mm.vmas if v.name == "[stack]")
    with pytest.raises(probesim.BadArgument, match="not a file-backed executable mapping"):
        machine.uprobes.register(pid=p.pid, addr=stack.start)
    with pytest.raises(probesim.BadArgument, match="not mapped in pid"):
        machine.uprobes.register(pid=p.pid, addr=0x10)
    data = [v for v in p.mm.vmas if v.file and "x" not in v.flags]
    for v in data:  # the program's read-only or writable data
        with pytest.raises(probesim.BadArgument, match="not a file-backed executable"):
            machine.uprobes.register(pid=p.pid, addr=v.start)
    with pytest.raises(probesim.BadArgument, match="needs pid="):
        machine.uprobes.register(addr=stack.start)
    with pytest.raises(probesim.BadArgument, match="no process with pid 999"):
        machine.uprobes.register(pid=999, addr=stack.start)
    with pytest.raises(probesim.BadArgument, match="give no path"):
        machine.uprobes.register(prog, pid=p.pid, addr=stack.start)
    assert len(machine.uprobes) == 0


def test_a_relative_uprobe_path_resolves_against_the_guest_cwd(machine, prog):
    directory, name = os.path.split(prog)
    up = machine.uprobes.register(name, "leaf", cwd=directory)
    assert up.inode.name == prog
    p = machine.spawn([prog, "work"], cwd=directory)
    by_pid = machine.uprobes.register(name, "leaf", pid=p.pid)  # that process's cwd
    from_root = machine.uprobes.register(os.path.relpath(prog, "/"), "leaf")  # default cwd /
    assert by_pid.offset == from_root.offset == up.offset
    with pytest.raises(probesim.BadProbe) as e:
        machine.uprobes.register(name, "leaf")
    assert e.value.errno_name == "ENOENT"
    assert f"resolved against the guest cwd '/' as '/{name}'" in str(e.value)


def test_read_struct_decodes_struct_formats_and_ctypes_types(machine, prog):
    p = machine.spawn([prog, "work"])
    stack = next(v for v in p.mm.vmas if v.name == "[stack]")
    sp = stack.end - 4096
    p.mm.write(sp, struct.pack("<IIQ", 7, 9, 0x1122334455667788))
    assert p.mm.read_struct(sp, "<IIQ") == (7, 9, 0x1122334455667788)
    assert p.mm.read_struct(sp, struct.Struct("<Q")) == (9 << 32 | 7,)

    class Pair(ctypes.Structure):
        _fields_ = [("a", ctypes.c_uint32), ("b", ctypes.c_uint32), ("c", ctypes.c_uint64)]

    pair = p.mm.read_struct(sp, Pair)
    assert (pair.a, pair.b, pair.c) == (7, 9, 0x1122334455667788)
    assert list(p.mm.read_struct(sp, ctypes.c_uint32 * 2)) == [7, 9]
    with pytest.raises(probesim.BadArgument, match="bad struct format"):
        p.mm.read_struct(sp, "<Z")
    with pytest.raises(TypeError, match="fmt is a struct format"):
        p.mm.read_struct(sp, 3)
    with pytest.raises(probesim.BadArgument, match="not all mapped"):
        p.mm.read_struct(stack.end - 4, "<Q")


def test_find_inode_resolves_symlinks(machine, prog, tmp_path):
    link = tmp_path / "link-to-prog"
    link.symlink_to(prog)
    indirect = tmp_path / "dir-link"
    indirect.symlink_to(os.path.dirname(prog), target_is_directory=True)
    assert machine.find_inode(str(link)) is None  # not read yet
    machine.spawn([prog, "work"])
    inode = machine.find_inode(prog)
    assert inode is not None and inode.name == prog
    assert machine.find_inode(str(link)).ino == inode.ino
    assert machine.find_inode(str(indirect / os.path.basename(prog))).ino == inode.ino
    assert machine.find_inode(str(tmp_path / "missing")) is None
