"""The address space of a stopped process: VMAs, memory, registers."""
import pytest

import probesim
from helpers import run_until_heap, text_vma

PC = {"x86_64": "rip", "aarch64": "pc"}
SP = {"x86_64": "rsp", "aarch64": "sp"}


def test_vmas_of_a_running_process_include_stack_heap_and_the_file(machine, guest_program):
    path = str(guest_program("hello"))
    p = machine.spawn([path])
    run_until_heap(machine, p)
    vmas = p.mm.vmas
    assert [v.start for v in vmas] == sorted(v.start for v in vmas)
    assert all(a.end <= b.start for a, b in zip(vmas, vmas[1:]))
    by_name = {v.name: v for v in vmas if v.name}
    assert by_name["[stack]"].flags == "rw-p" and by_name["[heap]"].flags == "rw-p"
    assert by_name["[heap]"].start <= p.mm.brk <= by_name["[heap]"].end
    assert by_name["[stack]"].start <= getattr(p.regs, SP[machine.arch]) < by_name["[stack]"].end
    text = text_vma(p)
    assert text.ino is not None and not text.private_copy and text.pid == p.pid
    assert text.start <= getattr(p.regs, PC[machine.arch]) < text.end
    assert p.mm.vma_at(text.start + 1).start == text.start
    assert p.mm.vma_at(0x1000) is None
    assert any(v.file == p.exe and v.flags == "rw-p" for v in vmas)  # .data


def test_read_of_the_first_file_page_is_the_elf_header(machine, guest_program):
    path = guest_program("hello")
    p = machine.spawn([path])
    [first] = [v for v in p.mm.vmas if v.file == p.exe and v.pgoff == 0]
    assert p.mm.read(first.start, 64) == path.read_bytes()[:64]
    assert p.mm.read(first.start, 4) == b"\x7fELF"
    assert p.mm.read(first.start, 0) == b""


def test_write_then_read_back_and_unmapped_access_is_bad_argument(machine, guest_program):
    p = machine.spawn([guest_program("hello")])
    sp = p.regs.sp
    p.mm.write(sp - 64, b"probesim")
    p.mm.write(sp - 56, bytearray(b"!"))
    assert p.mm.read(sp - 64, 9) == b"probesim!"
    with pytest.raises(probesim.BadArgument, match="not all mapped"):
        p.mm.read(0xDEAD0000, 4)
    with pytest.raises(probesim.BadArgument, match="not all mapped"):
        p.mm.write(0xDEAD0000, b"x")
    with pytest.raises(probesim.BadArgument, match="64 MiB"):
        p.mm.read(sp, 1 << 40)


def test_registers_are_attributes_readable_and_writable_between_runs(machine, guest_program):
    p = machine.spawn([guest_program("hello")])
    machine.run(until=1000)
    regs = p.regs
    assert regs.pc == getattr(regs, PC[machine.arch]) and regs.sp == getattr(regs, SP[machine.arch])
    assert set(regs.as_dict()) == set(regs.names) and "pc" in dir(regs)
    name = "r12" if machine.arch == "x86_64" else "x19"
    saved = getattr(regs, name)
    setattr(regs, name, 0x1234)
    assert getattr(regs, name) == 0x1234
    setattr(regs, name, saved)
    with pytest.raises(AttributeError, match="no register 'xmm99'"):
        regs.xmm99
    machine.run()
    with pytest.raises(probesim.Error, match="has exited"):
        p.regs.pc


def test_a_code_write_takes_effect_at_the_next_run(machine, guest_program):
    """Translations of patched code are dropped: the new instruction is what runs."""
    p = machine.spawn([guest_program("hello")])
    machine.run(until=3000)
    pc = p.regs.pc
    illegal = b"\x0f\x0b" if machine.arch == "x86_64" else b"\x00\x00\x00\x00"  # ud2 / udf #0
    p.mm.write(pc, illegal)
    assert p.mm.read(pc, len(illegal)) == illegal
    machine.run()
    assert p.exit.signaled and p.exit.signo == 4, p.exit  # SIGILL
    assert p.exit.fault.pc == pc


def test_mm_stays_inspectable_after_exit(machine, guest_program):
    path = str(guest_program("hello"))
    p = machine.spawn([path])
    machine.run()
    assert p.exited and text_vma(p).file == p.exe
    assert p.mm.stats["private_copies"] >= 1  # .data is a private copy of the file
