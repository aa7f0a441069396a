"""Every value snapshot the bindings return pickles (multiprocessing sweeps): the round trip
gives an object of the same type with the same fields."""
import pickle

import probesim
from probesim import _core

# The value snapshots; the other classes are live views, handles or managers.
VALUE_TYPES = {
    "Vma", "PageInfo", "ImmapNode", "Fault", "ProcessExit", "SchedEvent", "Insn",
    "KernelSymbol", "InsnSlot", "InsnSlots", "KprobeInfo", "EarlyKprobe", "UprobeInfo",
    "ReturnInstance", "StackFrame", "Preemption", "Divergence", "TraceEvent",
}
# Fields holding live handles, which cannot cross processes: None after unpickling.
HANDLE_FIELDS = {("KprobeInfo", "probes"), ("UprobeInfo", "consumers")}


def fields(value):
    out = {}
    for name in dir(type(value)):
        if name.startswith("_") or callable(getattr(value, name)):
            continue
        v = getattr(value, name)
        if (type(value).__name__, name) in HANDLE_FIELDS:
            v = [None] * len(v)
        elif type(v).__name__ in VALUE_TYPES:
            v = fields(v)
        elif isinstance(v, list):
            v = [fields(x) if type(x).__name__ in VALUE_TYPES else x for x in v]
        out[name] = v
    return out


def assert_round_trips(value):
    copy = pickle.loads(pickle.dumps(value))
    assert type(copy) is type(value)
    assert fields(copy) == fields(value), type(value).__name__
    return copy


def test_the_value_type_list_names_classes_of_the_module():
    assert VALUE_TYPES <= {n for n in dir(_core) if isinstance(getattr(_core, n), type)}


def kernel_values(guest_program):
    m = probesim.Machine("x86_64", seed=1, early_kprobes=["vfs_read"])
    kp = m.kprobes.register("ksys_write", pre=lambda regs: None)
    m.events.add("p:w ksys_write fd=$arg1:s32 c=$comm")
    frames = []
    m.kretprobes.register("ksys_write", handler=lambda ri, regs, ctx: frames.extend(
        ctx.kernel_stack()) if not frames else None)
    p = m.spawn([str(guest_program("hello", "x86_64-glibc")), "a"])
    m.run()
    assert kp.hits and frames
    yield from [m.kernel.symbols[0], m.kernel.insn_slots, m.kernel.insn_slots.slots[0],
                m.kprobes.info("ksys_write"), m.kprobes.early[0], m.trace()[0], frames[0],
                m.schedule_log[0], p.exit]


def user_values(guest_program):
    m = probesim.Machine("x86_64", seed=1)
    prog = str(guest_program("uprobed", "x86_64-glibc"))
    pending = []
    m.uretprobes.register(prog, "fact", handler=lambda func, regs: None)
    m.uprobes.register(prog, "fact", handler=lambda regs, ctx: pending.extend(
        m.uprobes.return_instances(ctx.tid)))
    p = m.spawn([prog, "recurse"])
    text = next(v for v in p.mm.vmas if "x" in v.flags)
    yield from [text, p.mm.page_info(text.start), m.find_inode(prog).i_mmap[0],
                m.disassemble(p.pid, text.start, 1)[0], m.find_inode(prog).uprobes[0]]
    m.run()
    assert pending
    yield pending[0]
    segv = m.spawn([str(guest_program("segv", "x86_64-glibc"))])
    m.run()
    yield from [segv.exit, segv.exit.fault]


def schedule_values(guest_program, tmp_path):
    racy = str(guest_program("racy", "x86_64-glibc"))
    path = tmp_path / "racy.trace"
    m = probesim.Machine("x86_64", seed=3, cpus=2, sched="random", quantum=20000)
    m.record(path)
    m.spawn([racy])
    m.run()
    yield m.preemptions[0]
    # Replaying another program than the one recorded departs from the trace at once.
    r = probesim.Machine(replay=path)
    r.spawn([str(guest_program("hello", "x86_64-glibc"))])
    r.run()
    assert r.divergence is not None
    yield r.divergence


def test_every_value_snapshot_round_trips_through_pickle(guest_program, tmp_path):
    seen = set()
    for source in (kernel_values(guest_program), user_values(guest_program),
                   schedule_values(guest_program, tmp_path)):
        for value in source:
            assert_round_trips(value)
            seen.add(type(value).__name__)
    assert seen == VALUE_TYPES


def test_handles_in_a_snapshot_unpickle_as_none(machine):
    machine.kprobes.register("vfs_read", pre=lambda regs: None)
    info = machine.kprobes.info("vfs_read")
    assert len(info.probes) == 1 and info.probes[0] is not None
    assert pickle.loads(pickle.dumps(info)).probes == [None]
