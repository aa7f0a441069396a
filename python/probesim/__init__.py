"""probesim: a deterministic emulated machine for running real Linux programs.

The machine runs static x86_64 and aarch64 ELF programs over a modelled kernel (MMU, VMAs,
page cache, i_mmap tree); everything a run produces is a function of its inputs and seed.

    import probesim
    m = probesim.Machine("x86_64", seed=1, cpus=2)
    p = m.spawn(["/path/to/hello", "arg"], env={"A": "1"})
    m.run()
    p.exit_code, p.stdout, m.cycles

Guest faults are values (``p.exit.fault``), never exceptions. probesim's own exceptions
derive from :class:`probesim.Error`. Probes (``m.kprobes``, ``m.uprobes``) join this API as
they land in the machine.
"""

from probesim._core import (
    BadArgument,
    BadProgram,
    Error,
    Fault,
    ImmapNode,
    Inode,
    Insn,
    Machine,
    Mm,
    PageInfo,
    Process,
    ProcessExit,
    Registers,
    SchedEvent,
    Vma,
)

__version__ = "0.1.0"

#: The architectures Machine(arch=...) accepts.
ARCHES = ("x86_64", "aarch64")

__all__ = [
    "ARCHES",
    "BadArgument",
    "BadProgram",
    "Error",
    "Fault",
    "ImmapNode",
    "Inode",
    "Insn",
    "Machine",
    "Mm",
    "PageInfo",
    "Process",
    "ProcessExit",
    "Registers",
    "SchedEvent",
    "Vma",
    "__version__",
]
