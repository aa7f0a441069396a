"""Stack traces from handlers: Context.kernel_stack() (stack_trace_save_regs: regs.ip first,
frame-pointer walk of the guest kernel stack, the real return address in place of the
kretprobe trampoline) and Context.user_stack() (frame records, or a bounded scan marked
unreliable), as probesim.StackFrame values printed like %pS."""
import pickle

import pytest

import probesim
from probesim.testing import assert_exit, run_program

SYSCALL_ENTRY = {"x86_64": "entry_SYSCALL_64", "aarch64": "el0t_64_sync"}


def names(frames):
    return [f.symbol for f in frames]


def test_a_kprobe_on_a_function_called_from_a_probed_function_shows_both(machine):
    traces = {}

    def record(name):
        def pre(regs, ctx):
            traces[name] = ctx.kernel_stack()
        return pre

    machine.kprobes.register("kprobe_caller_target", pre=record("caller"))
    machine.kprobes.register("kprobe_target", pre=record("target"))
    assert machine.kernel_call("kprobe_caller_target", 1, 2) == 6
    assert names(traces["target"]) == ["kprobe_target", "kprobe_caller_target",
                                       "probesim_kernel_call_trampoline"]
    assert names(traces["caller"]) == ["kprobe_caller_target", "probesim_kernel_call_trampoline"]
    entry, = machine.kernel.lookup("kprobe_target")[:1]
    # The first entry is regs.ip (x86 reports it one past the int3, as Linux does).
    assert traces["target"][0].address - entry == (1 if machine.arch == "x86_64" else 0)
    # The caller's frame is its return address: just after the call instruction.
    call_site = traces["target"][1].address
    insns = machine.kernel.disassemble("kprobe_caller_target", original=True)
    call = next(i for i in insns if i.addr + len(i.bytes) == call_site)
    assert call.mnemonic in ("call", "bl")


def test_a_kretprobe_handler_sees_the_real_return_address_not_the_trampoline(machine):
    traces = []

    def handler(ri, regs, ctx):
        traces.append((regs.ip, ri.ret_addr, ctx.kernel_stack()))

    machine.kretprobes.register("kprobe_target", handler=handler)
    machine.kretprobes.register("kprobe_caller_target", handler=handler)
    machine.kernel_call("kprobe_caller_target", 1, 2)
    (ip1, ret1, inner), (ip2, ret2, outer) = traces
    # stack_trace_save_regs(regs): regs->ip first, the real return address.
    assert inner[0].address == ip1 == ret1 and inner[0].symbol == "kprobe_caller_target"
    # The caller's own return was hijacked too: corrected through the task's instances.
    assert names(inner) == ["kprobe_caller_target", "probesim_kernel_call_trampoline"]
    assert inner[1].address == ret2 == ip2 and names(outer) == ["probesim_kernel_call_trampoline"]
    trampoline, _ = machine.kernel.lookup("__kretprobe_trampoline")
    assert all(f.address != trampoline for f in inner + outer)


def test_a_syscall_kprobe_walks_down_to_the_entry_code_and_the_user_caller(machine,
                                                                          guest_program):
    seen = []

    def pre(regs, ctx):
        if not seen:
            seen.append((ctx.kernel_stack(), ctx.user_stack(), ctx.pid))

    machine.kprobes.register("ksys_write", pre=pre)
    p = run_program(machine, [guest_program("hello"), "a"])
    assert_exit(p, 2)
    kernel, user, pid = seen[0]
    assert kernel[0].symbol == "ksys_write" and kernel[-1].symbol == SYSCALL_ENTRY[machine.arch]
    assert "__do_sys_write" in names(kernel) and len(kernel) >= 5
    assert all(f.path is None for f in kernel)
    # The user stack starts where the syscall was made, in the program's own file.
    assert user[0].symbol in ("write", "__write", "__libc_write") and user[0].reliable
    assert str(guest_program("hello")) in {f.path for f in user}
    assert "main" in names(user)
    assert machine.symbolize(user[0].address, pid=pid).startswith(user[0].symbol + "+")


def test_a_uprobe_at_a_function_entry_shows_its_caller(machine, guest_program):
    stacks = []
    prog = guest_program("uprobed")
    machine.uprobes.register(prog, "fact", handler=lambda regs, ctx: stacks.append(
        (ctx.user_stack(), ctx.kernel_stack())))
    p = run_program(machine, [prog, "recurse"])
    assert_exit(p, 0)
    assert len(stacks) == 6  # fact(6) .. fact(1)
    first, kernel = stacks[0]
    assert kernel == []  # a user hit has no kernel frames
    assert names(first[:2]) == ["fact", "main"] and first[0].offset == 0
    assert first[1].reliable  # still at [sp] / in x30 at the function's first instruction
    innermost, _ = stacks[-1]
    # fact(1) was called from fact(2) ... from main: the recursion shows as fact frames.
    assert innermost[0].symbol == "fact" and innermost[1].symbol == "fact"
    assert names(innermost).count("fact") >= 6 and "main" in names(innermost)


def test_stack_frames_print_like_pS_compare_and_pickle():
    f = probesim.StackFrame(0xffffffff81001234, "vfs_read", 0x4, 0x90)
    assert str(f) == "vfs_read+0x4/0x90"
    assert "0xffffffff81001234" in repr(f)
    assert str(probesim.StackFrame(0x401000)) == "0x401000"
    u = probesim.StackFrame(0x401234, "main", 0x34, 0x100, "/bin/prog", reliable=False)
    assert str(u) == "? main+0x34/0x100"
    for frame in (f, u):
        copy = pickle.loads(pickle.dumps(frame))
        assert copy == frame and hash(copy) == hash(frame)
    assert f != u


def test_a_stack_asked_for_inside_the_handler_is_kept_and_one_asked_after_is_an_error(
        machine):
    kept = []

    def pre(regs, ctx):
        ctx.kernel_stack()  # computed while the stack exists
        kept.append(ctx)

    kp = machine.kprobes.register("kprobe_target", pre=pre)
    machine.kernel_call("kprobe_target", 1, 2)
    assert names(kept[0].kernel_stack(max=1)) == ["kprobe_target"]
    kp.unregister()
    late = []
    machine.kprobes.register("kprobe_target", pre=lambda regs, ctx: late.append(ctx))
    machine.kernel_call("kprobe_target", 1, 2)
    with pytest.raises(probesim.Error, match="inside the handler"):
        late[0].kernel_stack()
