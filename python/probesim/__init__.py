"""probesim: a deterministic emulated machine for running real Linux programs.

The machine runs static x86_64 and aarch64 ELF programs over a modelled kernel (MMU, VMAs,
page cache, i_mmap tree); everything a run produces is a function of its inputs and seed.

    import probesim
    m = probesim.Machine("x86_64", seed=1, cpus=2)
    p = m.spawn(["/path/to/hello", "arg"], env={"A": "1"})
    m.run()
    p.exit_code, p.stdout, m.cycles

The machine boots a guest kernel (``kernel=True``, the default) whose functions carry Linux's
names, so kernel probes work as on Linux::

    kp = m.kprobes.register("vfs_read", pre=lambda regs: print(regs.arg(2)))
    rp = m.kretprobes.register("vfs_read", handler=lambda ri, regs: print(regs.return_value))
    m.kernel_call("kprobe_target", 3, 4)     # call a kernel function directly
    kp.hits, kp.nmissed, m.kernel.read("vfs_read", 4), m.kprobes.list()

Guest faults are values (``p.exit.fault``), never exceptions. probesim's own exceptions
derive from :class:`probesim.Error`; a probe handler that raises stops the run, which raises
:class:`probesim.ProbeHandlerError` (the original is ``__cause__``). uprobes
(``m.uprobes``) are not in the machine yet.
"""

from probesim._core import (
    BadArgument,
    BadProbe,
    BadProgram,
    Error,
    Fault,
    ImmapNode,
    Inode,
    Insn,
    InsnSlot,
    InsnSlots,
    Kernel,
    KernelCallError,
    KernelSymbol,
    KprobeHandle,
    KprobeInfo,
    Kprobes,
    KretprobeHandle,
    KretprobeInstance,
    Kretprobes,
    Machine,
    Mm,
    PageInfo,
    ProbeHandlerError,
    Process,
    ProcessExit,
    PtRegs,
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
    "BadProbe",
    "BadProgram",
    "Error",
    "Fault",
    "ImmapNode",
    "Inode",
    "Insn",
    "InsnSlot",
    "InsnSlots",
    "Kernel",
    "KernelCallError",
    "KernelSymbol",
    "KprobeHandle",
    "KprobeInfo",
    "Kprobes",
    "KretprobeHandle",
    "KretprobeInstance",
    "Kretprobes",
    "Machine",
    "Mm",
    "PageInfo",
    "ProbeHandlerError",
    "Process",
    "ProcessExit",
    "PtRegs",
    "Registers",
    "SchedEvent",
    "Vma",
    "__version__",
]
