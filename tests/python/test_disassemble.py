"""Machine.disassemble: Capstone listings of guest memory."""
import pytest

import probesim
from helpers import text_vma


def test_listing_at_the_entry_point_matches_memory(machine, guest_program):
    p = machine.spawn([guest_program("hello")])
    entry = p.regs.pc
    insns = machine.disassemble(p.pid, entry, 8)
    assert len(insns) == 8 and insns[0].addr == entry
    for a, b in zip(insns, insns[1:]):
        assert b.addr == a.addr + len(a.bytes)
    for insn in insns:
        assert p.mm.read(insn.addr, len(insn.bytes)) == insn.bytes
    addr, raw, mnemonic, op_str = insns[0]  # unpacks like a tuple
    assert (addr, raw, mnemonic, op_str) == tuple(insns[0])
    if machine.arch == "x86_64":
        assert (mnemonic, op_str) == ("xor", "ebp, ebp")  # glibc's _start
    else:
        assert all(len(i.bytes) == 4 for i in insns)
        assert ("mov", "x29, #0") in [(i.mnemonic, i.op_str) for i in insns]


def test_listing_stops_at_the_end_of_the_mapping(machine, guest_program):
    p = machine.spawn([guest_program("hello")])
    end = text_vma(p).end
    nops = b"\x90" * 4 if machine.arch == "x86_64" else b"\x1f\x20\x03\xd5"
    p.mm.write(end - 4, nops)
    insns = machine.disassemble(p.pid, end - 4, 100)
    assert [i.mnemonic for i in insns] == ["nop"] * (4 if machine.arch == "x86_64" else 1)
    assert insns[-1].addr + len(insns[-1].bytes) == end


def test_listing_stops_at_bytes_that_do_not_decode(machine, guest_program):
    p = machine.spawn([guest_program("hello")])
    sp = p.regs.sp
    nop, bad = ((b"\x90", b"\x06") if machine.arch == "x86_64"
                else (b"\x1f\x20\x03\xd5", b"\xff\xff\xff\xff"))
    p.mm.write(sp, nop * 2 + bad * 2)
    assert [i.mnemonic for i in machine.disassemble(p.pid, sp, 10)] == ["nop", "nop"]


def test_bad_disassemble_arguments(machine, guest_program):
    p = machine.spawn([guest_program("hello")])
    assert machine.disassemble(p.pid, p.regs.pc, 0) == []
    with pytest.raises(probesim.BadArgument, match="not mapped"):
        machine.disassemble(p.pid, 0xDEAD0000, 4)
    with pytest.raises(probesim.BadArgument, match="no process with pid 999"):
        machine.disassemble(999, p.regs.pc, 4)
