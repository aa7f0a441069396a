"""The handler Context: ctx after a handler's usual arguments, its arity checked at
registration, Machine.current, entry_cycles of return probes, and machine counters read from
inside handlers."""
import functools

import pytest

import probesim
from probesim.testing import assert_exit, run_program


def test_a_kprobe_handler_declaring_ctx_gets_who_where_and_when(machine, guest_program):
    seen = []

    def pre(regs, ctx):
        seen.append(ctx)
        assert machine.current is ctx  # the same object, inside the handler
        assert ctx.mm.pid == ctx.pid and any(v.name == "[stack]" for v in ctx.mm.vmas)

    kp = machine.kprobes.register("ksys_write", pre=pre)
    p = run_program(machine, [guest_program("hello"), "a"])
    assert_exit(p, 2)
    assert len(seen) == kp.hits >= 2
    assert {(c.pid, c.tid, c.comm, c.cpu) for c in seen} == {(p.pid, p.pid, "hello", 0)}
    assert all(c.probe == kp and c.entry_cycles is None for c in seen)
    cycles = [c.cycles for c in seen]
    assert cycles == sorted(cycles) and len(set(cycles)) == len(cycles)
    assert [c.time_ns for c in seen] == [c * 1_000_000_000 // 2_000_000_000 for c in cycles]
    assert machine.current is None  # outside run()


def test_machine_counters_read_inside_a_handler_are_up_to_date(machine, guest_program):
    readings = []

    def pre(regs):
        stats = machine.stats
        readings.append((machine.cycles, machine.instructions, machine.virtual_time,
                         stats["cycles"], stats["syscalls"].get("write", 0)))

    machine.kprobes.register("ksys_write", pre=pre)
    run_program(machine, [guest_program("hello"), "a"])
    assert len(readings) >= 2
    for cycles, insns, vtime, stats_cycles, writes in readings:
        assert 0 < cycles == stats_cycles <= machine.cycles
        assert 0 < insns < machine.instructions
        assert 0 < vtime <= machine.virtual_time
    assert [r[0] for r in readings] == sorted({r[0] for r in readings})
    assert [r[4] for r in readings] == list(range(len(readings)))  # counted after the probe


def test_kretprobe_instances_carry_entry_cycles_for_latency(machine, guest_program):
    entries, latencies = [], []

    def entry(ri, regs, ctx):
        entries.append((ri.entry_cycles, ctx.cycles, ctx.entry_cycles))

    def handler(ri, regs, ctx):
        assert ctx.entry_cycles == ri.entry_cycles and ctx.probe == rp
        latencies.append(ctx.cycles - ri.entry_cycles)

    rp = machine.kretprobes.register("vfs_write", handler=handler, entry=entry)
    p = run_program(machine, [guest_program("hello"), "a"])
    assert_exit(p, 2)
    assert len(latencies) == len(entries) == rp.hits >= 2
    assert all(a == b == c for a, b, c in entries)
    assert all(lat > 0 for lat in latencies)


def test_a_kretprobe_without_entry_handler_still_stamps_entry_cycles(machine):
    got = []
    machine.kretprobes.register("kprobe_target",
                                handler=lambda ri, regs, ctx: got.append((ri.entry_cycles, ctx)))
    before = machine.cycles
    assert machine.kernel_call("kprobe_target", 3, 4) == 11
    [(entry, ctx)] = got
    assert 0 < ctx.cycles - entry <= machine.cycles - before  # CPU 0's clock; the total
    # kernel_call runs as no task, like Linux's idle task
    assert (ctx.pid, ctx.tid, ctx.comm, ctx.mm, ctx.cpu) == (0, 0, "swapper/0", None, 0)


def test_uprobe_handlers_and_filters_get_contexts(machine, guest_program):
    prog = str(guest_program("uprobed"))
    filtered, entries, returns = [], [], []

    def want(mm, ctx):
        filtered.append((mm.pid, ctx.pid, ctx.probe))
        return True

    up = machine.uprobes.register(prog, "fact", filter=want,
                                  handler=lambda regs, ctx: entries.append(ctx.cycles),
                                  ret_handler=lambda func, regs, ctx: returns.append(ctx))
    p = run_program(machine, [prog, "recurse"])
    assert_exit(p, 0)
    assert filtered == [(p.pid, p.pid, up)]
    assert len(entries) == len(returns) == 6
    assert [c.entry_cycles for c in returns] == entries[::-1]  # innermost returns first
    assert all(c.cycles > c.entry_cycles and c.pid == p.pid and c.probe == up for c in returns)


def test_a_uretprobe_handler_gets_the_entry_cycles(machine, guest_program):
    prog = str(guest_program("uprobed"))
    seen = []
    rp = machine.uretprobes.register(prog, "leaf", lambda func, regs, ctx: seen.append(ctx))
    run_program(machine, [prog, "work"])
    assert len(seen) == rp.ret_hits == rp.hits > 0
    assert all(0 < c.entry_cycles < c.cycles and c.comm == "uprobed" for c in seen)


def test_machine_current_outside_a_handler_without_ctx_is_the_same_object(machine):
    seen = []
    machine.kprobes.register("kprobe_target", pre=lambda regs: seen.append(machine.current))
    machine.kernel_call("kprobe_target", 1, 2)
    [ctx] = seen
    assert isinstance(ctx, probesim.Context) and ctx.probe.symbol == "kprobe_target+0x0"
    assert machine.current is None


def test_each_cpu_is_reported(arch, guest_program):
    m = probesim.Machine(arch, seed=1, cpus=2)
    cpus = set()
    m.kprobes.register("__x64_sys_generic" if arch == "x86_64" else "__arm64_sys_generic",
                       pre=lambda regs, ctx: cpus.add((ctx.cpu, ctx.pid)))
    p = run_program(m, [guest_program("pthreads")])
    assert_exit(p, 0)
    assert {c for c, _ in cpus} == {0, 1} and {pid for _, pid in cpus} == {p.pid}


class Counter:
    def __init__(self):
        self.n = 0

    def method(self, regs, ctx):
        self.n += ctx.pid == 0


RECEIVED = []  # what the handlers below were given after regs


@pytest.mark.parametrize("handler, takes_ctx", [
    (lambda regs: RECEIVED.append(None), False),
    (lambda regs, ctx: RECEIVED.append(ctx), True),
    (lambda regs, ctx=None: RECEIVED.append(ctx), True),
    (lambda regs, n=1: RECEIVED.append(n), False),  # the default-argument idiom keeps n
    (lambda regs, n=1, ctx=None: RECEIVED.append(ctx), False),
    (lambda regs, *rest: RECEIVED.append(rest), False),  # *args only: the usual arguments
    (lambda *args: RECEIVED.append(args[1:]), False),
    (functools.partial(lambda tag, regs, ctx: RECEIVED.append(ctx), "t"), True),
])
def test_accepted_signatures(machine, handler, takes_ctx):
    RECEIVED.clear()
    machine.kprobes.register("kprobe_target", pre=handler)
    machine.kprobes.register("kprobe_target", pre=print)  # a builtin: no signature to inspect
    machine.kernel_call("kprobe_target", 1, 2)
    [got] = RECEIVED
    assert isinstance(got, probesim.Context) == takes_ctx


def test_a_bound_method_takes_ctx(machine):
    c = Counter()
    machine.kprobes.register("kprobe_target", pre=c.method)
    machine.kernel_call("kprobe_target", 1, 2)
    assert c.n == 1


@pytest.mark.parametrize("register, message", [
    (lambda m: m.kprobes.register("kprobe_target", pre=lambda: None),
     r"kprobe 'kprobe_target': the pre handler must take \(regs\) or \(regs, ctx\); "
     r"it takes 0 positional arguments"),
    (lambda m: m.kprobes.register("kprobe_target", post=lambda a, b, c: None),
     r"the post handler must take \(regs\) or \(regs, ctx\); it takes 3 positional"),
    (lambda m: m.kretprobes.register("kprobe_target", handler=lambda regs: None, name="lat"),
     r"kretprobe 'lat': the handler handler must take \(ri, regs\) or \(ri, regs, ctx\)"),
    (lambda m: m.kretprobes.register("kprobe_target", entry=lambda ri, regs, *, k: None),
     r"the entry handler must take .* it requires a keyword-only argument"),
    (lambda m: m.kprobes.register("kprobe_target", pre=lambda a, b, c, d=2: None),
     r"it takes 3 to 4 positional arguments"),
])
def test_bad_signatures_are_refused_at_registration(machine, register, message):
    with pytest.raises(TypeError, match=message):
        register(machine)
    assert len(machine.kprobes) == 0 and len(machine.kretprobes) == 0


def test_bad_uprobe_signatures_are_refused(machine, guest_program):
    prog = str(guest_program("uprobed"))
    with pytest.raises(TypeError, match=r"uprobe 'fact': the ret_handler must take "
                                        r"\(func, regs\) or \(func, regs, ctx\)"):
        machine.uprobes.register(prog, "fact", ret_handler=lambda regs: None)
    with pytest.raises(TypeError, match=r"uretprobe 'fact': the handler must take \(func, regs\)"):
        machine.uretprobes.register(prog, "fact", lambda: None)
    with pytest.raises(TypeError, match=r"the filter must take \(mm\) or \(mm, ctx\)"):
        machine.uprobes.register(prog, "fact", handler=lambda r: None, filter=lambda: True)
    up = machine.uprobes.register(prog, "fact", handler=lambda r: None)
    with pytest.raises(TypeError, match=r"uprobe 'fact': the filter must take \(mm\)"):
        up.filter = lambda a, b, c: True
    assert up.filter is None and len(machine.uprobes) == 1
