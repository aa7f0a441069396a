"""Machine.kretprobes: return probes with Python handlers, on both architectures."""
import struct

import pytest

import probesim
from probesim.testing import assert_exit


def test_the_handler_sees_the_return_value_and_the_real_return_address(machine):
    seen = []

    def entry(ri, regs):
        struct.pack_into("<Q", ri.data, 0, regs.arg(0))

    def handler(ri, regs):
        seen.append((regs.return_value, struct.unpack_from("<Q", ri.data)[0],
                     ri.ret_addr, regs.ip, ri.task))
    rp = machine.kretprobes.register("kprobe_target", handler=handler, entry=entry, data_size=8)
    assert machine.kernel_call("kprobe_target", 3, 4) == 11
    [(ret, entry_arg, ret_addr, ip, task)] = seen
    assert (ret, entry_arg, task) == (11, 3, 0)  # task 0: a kernel_call, no user task
    assert ip == ret_addr  # regs.ip is the real return address, not the trampoline
    assert machine.kernel.symbol_at(ret_addr).startswith("probesim_kernel_call_trampoline+")
    assert (rp.hits, rp.nmissed, rp.data_size, rp.symbol) == (1, 0, 8, "kprobe_target+0x0")
    rp.unregister()
    assert machine.kernel_call("kprobe_target", 3, 4) == 11 and len(seen) == 1


def test_nested_kretprobes_return_innermost_first(machine):
    order = []
    machine.kretprobes.register("kprobe_caller_target",
                                handler=lambda ri, regs: order.append(("outer", regs.return_value)))
    machine.kretprobes.register("kprobe_target",
                                handler=lambda ri, regs: order.append(("inner", regs.return_value)))
    assert machine.kernel_call("kprobe_caller_target", 3, 4) == 12
    assert order == [("inner", 11), ("outer", 12)]


def test_recursion_beyond_maxactive_is_missed_and_still_returns_right(machine):
    rets = []
    rp = machine.kretprobes.register("kprobe_recursed_target", maxactive=2,
                                     handler=lambda ri, regs: rets.append(regs.return_value))
    assert rp.maxactive == 2 and rp.free_instances == 2
    assert machine.kernel_call("kprobe_recursed_target", 5) == 120
    assert rets == [24, 120]  # five activations, two instances: the two outermost are hooked
    assert rp.nmissed == 3 and rp.free_instances == 2


def test_maxactive_zero_means_linuxs_default(machine):
    rp = machine.kretprobes.register("kprobe_target")
    assert rp.maxactive == 10 and rp.free_instances == 10  # max(10, 2 * ncpus)


@pytest.mark.parametrize("maxactive", [4097, 10**9, 10**30])
def test_maxactive_above_kretprobe_maxactive_max_is_e2big(machine, maxactive):
    # Linux caps instances at KRETPROBE_MAXACTIVE_MAX (4096); 10**9 used to allocate them all.
    with pytest.raises(probesim.BadProbe, match="KRETPROBE_MAXACTIVE_MAX") as e:
        machine.kretprobes.register("ksys_write", handler=lambda ri, regs: None,
                                    maxactive=maxactive)
    assert e.value.errno_name == "E2BIG"
    assert len(machine.kretprobes) == 0
    assert machine.kretprobes.register("ksys_write", maxactive=4096).maxactive == 4096


def test_an_entry_handler_that_declines_leaves_that_return_unhooked(machine):
    returns = []
    rp = machine.kretprobes.register(
        "kprobe_branch_target", entry=lambda ri, regs: 1 if regs.arg(0) > 10 else 0,
        handler=lambda ri, regs: returns.append(regs.return_value))
    assert machine.kernel_call("kprobe_branch_target", 20) == 10
    assert machine.kernel_call("kprobe_branch_target", 5) == 105
    assert returns == [105] and rp.nmissed == 0 and rp.hits == 2


def test_a_return_handler_can_change_the_return_value(machine):
    def handler(ri, regs):
        regs.return_value = -22  # -EINVAL, as a fault-injecting handler would
    machine.kretprobes.register("kprobe_target", handler=handler)
    assert machine.kernel_call("kprobe_target", 3, 4) == 2**64 - 22


def test_a_kretprobe_and_a_kprobe_share_the_entry_address(machine):
    order = []
    machine.kprobes.register("kprobe_target", pre=lambda regs: order.append("kprobe"))
    machine.kretprobes.register("kprobe_target", entry=lambda ri, regs: order.append("entry"),
                                handler=lambda ri, regs: order.append("return"))
    info = machine.kprobes.info("kprobe_target")
    assert info.aggregated and [type(p).__name__ for p in info.probes] == [
        "KretprobeHandle", "KprobeHandle"]
    machine.kernel_call("kprobe_target", 1, 2)
    assert order == ["entry", "kprobe", "return"]


def test_kretprobes_see_a_real_programs_write_results(machine, guest_program):
    results = []

    def entry(ri, regs):
        struct.pack_into("<Q", ri.data, 0, regs.arg(2))

    def handler(ri, regs):
        results.append((struct.unpack_from("<Q", ri.data)[0], regs.return_value, ri.task))
    machine.kretprobes.register("ksys_write", handler=handler, entry=entry, data_size=8)
    p = machine.spawn([guest_program("hello"), "x"])
    machine.run()
    assert_exit(p, 2)
    assert results and all(count == ret and task == p.pid for count, ret, task in results)
    assert sum(ret for _, ret, _ in results) == len(p.stdout) + len(p.stderr)


def test_registration_errors_carry_linux_errno(machine):
    with pytest.raises(probesim.BadProbe) as e:
        machine.kretprobes.register("kprobe_target+0x4")
    assert e.value.errno_name == "EINVAL" and "function entry" in str(e.value)
    with pytest.raises(probesim.BadProbe) as e:
        machine.kretprobes.register("kprobe_target", data_size=4097)
    assert e.value.errno_name == "E2BIG"
    with pytest.raises(probesim.BadProbe) as e:
        machine.kretprobes.register("no_such_function")
    assert e.value.errno_name == "ENOENT"
    with pytest.raises(TypeError, match="handler: expected a callable"):
        machine.kretprobes.register("kprobe_target", handler="not callable")
    assert machine.kretprobes.probes == [] and len(machine.kretprobes) == 0


def test_a_return_handler_that_raises_names_the_kretprobe(machine):
    def handler(ri, regs):
        raise KeyError("lost")
    rp = machine.kretprobes.register("kprobe_target", handler=handler, name="ret-of-target")
    with pytest.raises(probesim.ProbeHandlerError) as e:
        machine.kernel_call("kprobe_caller_target", 3, 4)
    assert (e.value.probe, e.value.handler) == ("ret-of-target", "handler")
    assert "kretprobe 'ret-of-target' (kprobe_target+0x0) return handler raised KeyError" in str(e.value)
    assert rp.free_instances == rp.maxactive  # nothing left in flight
    rp.unregister()
    assert machine.kernel_call("kprobe_caller_target", 3, 4) == 12


def test_an_entry_handler_that_raises_stops_the_call_and_recycles_its_instance(machine):
    calls = []

    def entry(ri, regs):
        calls.append(1)
        if len(calls) == 1:
            raise ZeroDivisionError("entry")
    rp = machine.kretprobes.register("kprobe_target", entry=entry, handler=lambda ri, r: None)
    with pytest.raises(probesim.ProbeHandlerError, match="entry handler raised ZeroDivisionError"):
        machine.kernel_call("kprobe_caller_target", 3, 4)
    assert rp.free_instances == rp.maxactive
    assert machine.kernel_call("kprobe_caller_target", 3, 4) == 12 and len(calls) == 2


def test_instance_data_keeps_its_size(machine):
    def entry(ri, regs):
        ri.data.extend(b"more")
    machine.kretprobes.register("kprobe_target", entry=entry, data_size=4)
    with pytest.raises(probesim.ProbeHandlerError) as e:
        machine.kernel_call("kprobe_target", 1, 2)
    assert isinstance(e.value.__cause__, ValueError)
    assert "must keep its 4 bytes" in str(e.value.__cause__)


def test_the_instance_is_valid_only_inside_the_handler(machine):
    kept = []
    machine.kretprobes.register("kprobe_target", handler=lambda ri, regs: kept.append(ri))
    machine.kernel_call("kprobe_target", 1, 2)
    with pytest.raises(probesim.Error, match="only valid inside the handler"):
        kept[0].ret_addr
