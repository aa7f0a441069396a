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

User-space probes go on an instruction of a file, in every process mapping it (they need no
guest kernel)::

    up = m.uprobes.register(prog, "main", handler=lambda regs: print(m.current_pid),
                            filter=lambda mm: mm.pid == p.pid)   # or offset=0x1234
    rp = m.uretprobes.register(prog, "fact", handler=lambda func, regs: print(regs.return_value))
    p.mm.page_state(addr), m.find_inode(prog).uprobes, up.hits, rp.ret_hits
    m.uprobes.register(pid=p.pid, addr=0x401126)   # by virtual address; no handler: counts hits

Every handler and filter may declare one more parameter after its usual arguments, ``ctx``
(a :class:`probesim.Context`: pid, tid, comm, cpu, cycles, time_ns, mm, probe, and for return
handlers entry_cycles); the signature is checked at registration::

    rp = m.kretprobes.register("vfs_read",
                               handler=lambda ri, regs, ctx: lat.append(ctx.cycles - ri.entry_cycles))
    m.current   # the same Context from code that was not handed one (None outside run())

Lifecycle events: ``m.on_fork(lambda parent, child: ...)``, ``m.on_exec``, ``m.on_exit``,
``m.on_signal(lambda process, tid, signo: ...)``. A handler or callback may return
``probesim.STOP`` (or call ``m.request_stop()``) to end ``run()`` cleanly.

Inside handlers and callbacks ``m.cycles``, ``m.stats`` and other queries read the machine as
it is at that instant.

Races: ``probesim.explore(argv, strategy="pct:2", runs=100, until=lambda p: ...)`` runs
schedules until one fails and returns an :class:`ExploreResult` (``.trace_path``,
``.replay()``, ``.shrink()``: the critical preemptions). ``m.record(path)`` records a run;
``Machine(replay=path)`` replays one exactly, also with probes added (``m.divergence`` says
where a replay departed from its trace).

Guest faults are values (``p.exit.fault``), never exceptions. probesim's own exceptions
derive from :class:`probesim.Error`; a probe handler (or uprobe filter) that raises stops the
run, which raises :class:`probesim.ProbeHandlerError` (the original is ``__cause__``).
"""

from probesim._core import (
    BadArgument,
    BadProbe,
    BadProgram,
    Context,
    Divergence,
    EarlyKprobe,
    Error,
    EventHandle,
    Events,
    Fault,
    ImmapNode,
    Inode,
    Insn,
    InsnSlot,
    InsnSlots,
    Kernel,
    KernelCallError,
    KernelPanic,
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
    Preemption,
    ProbeHandlerError,
    Process,
    ProcessExit,
    PtRegs,
    Registers,
    ReturnInstance,
    STOP,
    SchedEvent,
    StackFrame,
    StopType,
    Trace,
    TraceEvent,
    Tracefs,
    UPROBE_HANDLER_IGNORE,
    UPROBE_HANDLER_REMOVE,
    UprobeHandle,
    UprobeInfo,
    Uprobes,
    Uretprobes,
    Vma,
)

from probesim.explore import ExploreResult, ShrinkResult, explore
from probesim.output import log2_buckets, print_log2_hist

__version__ = "0.1.0"

#: The architectures Machine(arch=...) accepts.
ARCHES = ("x86_64", "aarch64")

__all__ = [
    "ARCHES",
    "BadArgument",
    "BadProbe",
    "BadProgram",
    "Context",
    "Divergence",
    "EarlyKprobe",
    "Error",
    "EventHandle",
    "Events",
    "ExploreResult",
    "Fault",
    "ImmapNode",
    "Inode",
    "Insn",
    "InsnSlot",
    "InsnSlots",
    "Kernel",
    "KernelCallError",
    "KernelPanic",
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
    "Preemption",
    "ProbeHandlerError",
    "Process",
    "ProcessExit",
    "PtRegs",
    "Registers",
    "ReturnInstance",
    "STOP",
    "SchedEvent",
    "StackFrame",
    "ShrinkResult",
    "StopType",
    "Trace",
    "TraceEvent",
    "Tracefs",
    "UPROBE_HANDLER_IGNORE",
    "UPROBE_HANDLER_REMOVE",
    "UprobeHandle",
    "UprobeInfo",
    "Uprobes",
    "Uretprobes",
    "Vma",
    "__version__",
    "explore",
    "log2_buckets",
    "print_log2_hist",
]
