"""Inodes, the page cache and the i_mmap tree, seen through two processes of one binary."""
import os

import probesim
from helpers import text_vma


def spawn_two(machine, guest_program):
    path = str(guest_program("hello"))
    p1, p2 = machine.spawn([path, "one"]), machine.spawn([path, "two"])
    return p1.exe, p1, p2  # the resolved path, as inodes and VMAs name the file


def test_two_processes_of_one_binary_share_the_page_cache_frame(machine, guest_program):
    path, p1, p2 = spawn_two(machine, guest_program)
    t1, t2 = text_vma(p1), text_vma(p2)
    i1, i2 = p1.mm.page_info(t1.start), p2.mm.page_info(t2.start)
    assert i1.kind == i2.kind == "page-cache frame" == str(i1)
    assert (i1.ino, i1.index) == (i2.ino, i2.index) == (t1.ino, t1.pgoff)
    assert i1.mapcount == 2
    inode = machine.find_inode(path)
    assert inode.ino == t1.ino and inode.size == os.path.getsize(path)
    assert inode.page_uptodate(t1.pgoff) and inode.page_mapcount(t1.pgoff) == 2
    assert inode.nrpages >= 1 and inode.i_count >= 2


def test_i_mmap_holds_the_file_vmas_of_both_processes(machine, guest_program):
    path, p1, p2 = spawn_two(machine, guest_program)
    nodes = machine.find_inode(path).i_mmap
    file_vmas = {(v.pid, v.start) for p in (p1, p2) for v in p.mm.vmas if v.file == path}
    assert {(n.vma.pid, n.vma.start) for n in nodes} == file_vmas
    assert {n.vma.pid for n in nodes} == {p1.pid, p2.pid}
    for n in nodes:
        assert n.interval == (n.vma.pgoff, n.vma.pgoff + n.vma.size // 4096 - 1)


def test_i_mmap_nodes_form_an_augmented_red_black_tree(machine, guest_program):
    path, _, _ = spawn_two(machine, guest_program)
    nodes = machine.find_inode(path).i_mmap  # in order
    assert [n.start for n in nodes] == sorted(n.start for n in nodes)
    [root] = [n for n in nodes if n.depth == 0]
    assert root.color == "black"
    for i, n in enumerate(nodes):
        lo = i  # the subtree of n is the in-order run around it of deeper nodes
        while lo > 0 and nodes[lo - 1].depth > n.depth:
            lo -= 1
        hi = i
        while hi + 1 < len(nodes) and nodes[hi + 1].depth > n.depth:
            hi += 1
        assert n.subtree_last == max(m.last for m in nodes[lo:hi + 1])


def test_a_write_to_text_gives_a_private_copy_and_leaves_the_page_cache_intact(
        machine, guest_program):
    path, p1, p2 = spawn_two(machine, guest_program)
    addr = text_vma(p1).start
    original = p1.mm.read(addr, 1)
    p1.mm.write(addr, b"\xcc")
    assert p1.mm.page_info(addr).kind == "private copy"
    assert p1.mm.page_info(addr).mapcount is None
    assert text_vma(p1).private_copy
    info2 = p2.mm.page_info(text_vma(p2).start)
    assert info2.kind == "page-cache frame" and info2.mapcount == 1
    assert p1.mm.read(addr, 1) == b"\xcc" and p2.mm.read(addr, 1) == original
    assert p1.mm.stats["private_copies"] >= 1
    p1.mm.write(addr, original)
    assert machine.run()
    assert (p1.exit_code, p2.exit_code) == (2, 2)


def test_inode_numbers_are_deterministic_and_inodes_are_listed_in_order(arch, guest_program):
    path = os.path.realpath(guest_program("hello"))
    listings = []
    for _ in range(2):
        m = probesim.Machine(arch, seed=1)
        m.spawn([path])
        listings.append([(i.ino, i.name) for i in m.inodes])
    assert listings[0] == listings[1]
    assert [ino for ino, _ in listings[0]] == sorted(ino for ino, _ in listings[0])
    # Boot-time mounts (/dev/shm's tmpfs root) come first, then the program, then its pipes.
    numbers = {name: ino for ino, name in listings[0]}
    assert path in numbers
    assert all(numbers[path] < ino for name, ino in numbers.items() if name.startswith("pipe:"))


def test_anonymous_memory_has_no_file_page(machine, guest_program):
    p = machine.spawn([guest_program("hello")])
    info = p.mm.page_info(p.regs.sp)
    assert info.kind == "anonymous" and info.ino is None and info.index is None
    assert info.vma.name == "[stack]"
