"""Linux's kprobes KUnit suite (lib/test_kprobes.c, "kprobes_test") on probesim's Python API,
case by case, against the same target functions built into the guest kernel
(guest/kernel/lib/test_kprobes.c; the names kernel/kprobe_selftest.c already uses carry a
`kunit_` prefix). A KUNIT_EXPECT inside a handler is an assert there: a failing one raises
from the handler, and kernel_call() raises ProbeHandlerError. Handlers receive (regs, ctx);
ctx.probe is the `struct kprobe *p` argument. (KUNIT_EXPECT_FALSE(preemptible()) has no
counterpart: the guest kernel is never preempted.)"""
import random

import pytest

import probesim

DIV_FACTOR = 3  # #define div_factor 3


@pytest.fixture
def rand1(probesim_seed):
    """kprobes_test_init: rand1 = get_random_u32_above(div_factor), from the test seed."""
    return random.Random(probesim_seed).randrange(DIV_FACTOR + 1, 2**32)


def target(m, value):
    return m.kernel_call("kunit_kprobe_target", value)


def target2(m, value):
    return m.kernel_call("kunit_kprobe_target2", value)


def recursed_target(m, value):
    return m.kernel_call("kunit_kprobe_recursed_target", value)


def stacktrace_driver(m):
    return m.kernel_call("kprobe_stacktrace_driver")


def target_return_address(m, i):
    """The guest's target_return_address[i] (recorded by the stack-trace targets)."""
    return int.from_bytes(m.kernel.read(f"target_return_address+{8 * i}", 8), "little")


class Vals:
    """The suite's statics: preh_val, posth_val, krph_val."""
    preh_val = posth_val = krph_val = 0


@pytest.fixture
def vals():
    return Vals()


def kp_spec(m, rand1, vals, symbol="kunit_kprobe_target"):
    """static struct kprobe kp = {kprobe_target, kp_pre_handler, kp_post_handler}."""
    def kp_pre_handler(regs, ctx):
        assert ctx.probe is None or ctx.probe.name == symbol
        vals.preh_val = rand1 // DIV_FACTOR
        return 0

    def kp_post_handler(regs, ctx):
        assert vals.preh_val == rand1 // DIV_FACTOR
        vals.posth_val = vals.preh_val + DIV_FACTOR

    return dict(where=symbol, pre=kp_pre_handler, post=kp_post_handler)


def kp2_spec(rand1, vals):
    def kp_pre_handler2(regs):
        vals.preh_val = rand1 // DIV_FACTOR + 1
        return 0

    def kp_post_handler2(regs):
        assert vals.preh_val == rand1 // DIV_FACTOR + 1
        vals.posth_val = vals.preh_val + DIV_FACTOR

    return dict(where="kunit_kprobe_target2", pre=kp_pre_handler2, post=kp_post_handler2)


def test_kprobe(machine, rand1, vals):
    spec = kp_spec(machine, rand1, vals)
    kp = machine.kprobes.register(spec["where"], pre=spec["pre"], post=spec["post"])
    assert target(machine, rand1) == rand1 // DIV_FACTOR
    kp.unregister()
    assert vals.preh_val != 0
    assert vals.posth_val != 0
    assert kp.hits == 1


def test_kprobes(machine, rand1, vals):
    kps = machine.kprobes.register_kprobes([kp_spec(machine, rand1, vals), kp2_spec(rand1, vals)])
    assert len(kps) == 2 and all(k.registered for k in kps)
    vals.preh_val = vals.posth_val = 0
    target(machine, rand1)
    assert vals.preh_val != 0 and vals.posth_val != 0
    vals.preh_val = vals.posth_val = 0
    target2(machine, rand1)
    assert vals.preh_val != 0 and vals.posth_val != 0
    machine.kprobes.unregister_kprobes(kps)
    assert not any(k.registered for k in kps) and len(machine.kprobes) == 0
    assert [k.hits for k in kps] == [1, 1]


def test_kprobe_missed(machine, rand1, vals):
    """Both handlers call the probed function again: each of those hits finds a kprobe
    running on this CPU, skips its handlers and counts in nmissed."""
    def kp_pre_handler(regs):
        vals.preh_val = recursed_target(machine, rand1)
        return 0

    def kp_post_handler(regs):
        expval = recursed_target(machine, rand1)
        assert vals.preh_val == expval
        vals.posth_val = vals.preh_val + DIV_FACTOR

    kp_missed = machine.kprobes.register("kunit_kprobe_recursed_target", pre=kp_pre_handler,
                                         post=kp_post_handler)
    recursed_target(machine, rand1)
    assert kp_missed.nmissed == 2
    assert vals.preh_val != 0
    assert vals.posth_val != 0
    kp_missed.unregister()


def rp_spec(rand1, vals, symbol, expected_ret):
    def entry_handler(ri, regs):
        vals.krph_val = rand1 // DIV_FACTOR
        return 0

    def return_handler(ri, regs):
        ret = regs.return_value
        assert ret == expected_ret
        assert vals.krph_val != 0
        vals.krph_val = rand1
        return 0

    return dict(where=symbol, handler=return_handler, entry=entry_handler)


def test_kretprobe(machine, rand1, vals):
    spec = rp_spec(rand1, vals, "kunit_kprobe_target", rand1 // DIV_FACTOR)
    rp = machine.kretprobes.register(spec["where"], handler=spec["handler"], entry=spec["entry"])
    target(machine, rand1)
    rp.unregister()
    assert vals.krph_val == rand1


def test_kretprobes(machine, rand1, vals):
    rps = machine.kretprobes.register_kretprobes([
        rp_spec(rand1, vals, "kunit_kprobe_target", rand1 // DIV_FACTOR),
        rp_spec(rand1, vals, "kunit_kprobe_target2", rand1 // DIV_FACTOR + 1)])
    vals.krph_val = 0
    target(machine, rand1)
    assert vals.krph_val == rand1
    vals.krph_val = 0
    target2(machine, rand1)
    assert vals.krph_val == rand1
    machine.kretprobes.unregister_kretprobes(rps)
    assert len(machine.kretprobes) == 0 and [r.hits for r in rps] == [1, 1]


STACK_BUF_SIZE = 16


def assert_called_for_real(m, retaddr):
    """KUNIT_ASSERT_NE(test, myretaddr, stacktrace_driver()): the driver returns its own
    return address, which must be in the caller (kernel_call's trampoline), not inlined."""
    assert m.symbolize(retaddr).startswith("probesim_kernel_call_trampoline+")


def stacktrace_return_handler(m, seen):
    def handler(ri, regs, ctx):
        retval = regs.return_value
        assert retval == target_return_address(m, 1)
        # stack_trace_save(): inside the handler the trace passes the kretprobe trampoline
        # and must hold the target's real return address.
        stack_buf = [f.address for f in ctx.kernel_stack(max=STACK_BUF_SIZE)]
        assert len(stack_buf) != 0
        assert target_return_address(m, 1) in stack_buf
        # stack_trace_save_regs(regs): the trace starts from the target return address.
        assert stack_buf[0] == target_return_address(m, 1)
        seen.append("rp3")
        return 0
    return handler


def test_stacktrace_on_kretprobe(machine):
    seen = []
    # Run the driver once to record the real return addresses (and prove no inlining).
    assert_called_for_real(machine, stacktrace_driver(machine))
    rp3 = machine.kretprobes.register("kprobe_stacktrace_target",
                                      handler=stacktrace_return_handler(machine, seen))
    assert_called_for_real(machine, stacktrace_driver(machine))
    rp3.unregister()
    assert seen == ["rp3"]


def test_stacktrace_on_nested_kretprobe(machine):
    seen = []

    def stacktrace_internal_return_handler(ri, regs, ctx):
        retval = regs.return_value
        tra = [target_return_address(machine, 0), target_return_address(machine, 1)]
        assert retval == tra[0]
        # The unwinder meets the trampoline as kprobe_stacktrace_target's return address
        # (that function is kretprobed too): the real one must follow the internal target's.
        stack_buf = [f.address for f in ctx.kernel_stack(max=STACK_BUF_SIZE)]
        assert len(stack_buf) != 0
        i = stack_buf.index(tra[0])
        assert i < len(stack_buf) - 1 and stack_buf[i + 1] == tra[1]
        # Ditto for the regs version.
        assert stack_buf[0] == tra[0]
        assert stack_buf[1] == tra[1]
        seen.append("rp4")
        return 0

    assert_called_for_real(machine, stacktrace_driver(machine))  # records the addresses
    rps = machine.kretprobes.register_kretprobes([
        dict(where="kprobe_stacktrace_target", handler=stacktrace_return_handler(machine, seen)),
        dict(where="kprobe_stacktrace_internal_target",
             handler=stacktrace_internal_return_handler)])
    assert_called_for_real(machine, stacktrace_driver(machine))
    machine.kretprobes.unregister_kretprobes(rps)
    assert seen == ["rp4", "rp3"]  # the inner function returns first


def test_register_kprobes_is_all_or_nothing(machine):
    """register_kprobes' failure path: the ones registered before the bad entry go away."""
    with pytest.raises(probesim.BadProbe, match="entry 1") as e:
        machine.kprobes.register_kprobes(["kunit_kprobe_target", "no_such_function"])
    assert e.value.errno_name == "ENOENT"
    assert len(machine.kprobes) == 0 and "kunit_kprobe_target" not in machine.kprobes.list()
    with pytest.raises(probesim.BadProbe, match="entry 0"):
        machine.kretprobes.register_kretprobes(["kprobe_nokprobe_target"])
    with pytest.raises(TypeError, match="unexpected key 'prehandler'"):
        machine.kprobes.register_kprobes([dict(where="kunit_kprobe_target", prehandler=None)])
