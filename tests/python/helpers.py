"""Shared helpers of the probesim pytest suite."""
import probesim


def run_until_heap(machine: probesim.Machine, p: probesim.Process, step: int = 500) -> None:
    """Run in small steps until p has a [heap] VMA, with p still alive."""
    for _ in range(200):
        if any(v.name == "[heap]" for v in p.mm.vmas):
            break
        machine.run(until=step)
    assert p.exit is None, "the program ended before its heap appeared"
    assert any(v.name == "[heap]" for v in p.mm.vmas)


def text_vma(p: probesim.Process) -> probesim.Vma:
    """The executable mapping of p's program (VMAs name files by resolved path, as p.exe)."""
    [vma] = [v for v in p.mm.vmas if v.file == p.exe and v.flags == "r-xp"]
    return vma
