"""Optprobes through Machine.kprobes: jump optimization on x86_64 (E9 rel32) and, beyond
mainline Linux, on arm64 (B imm26), refusal reasons, the debug.kprobes-optimization switch."""
import pytest

import probesim


@pytest.fixture
def x86():
    return probesim.Machine("x86_64", seed=1)


def test_a_probe_is_queued_then_jump_optimized_with_e9_in_the_text(x86):
    addr, _ = x86.kernel.lookup("kprobe_target")
    ips = []
    kp = x86.kprobes.register("kprobe_target", pre=lambda regs: ips.append(regs.ip))
    info = x86.kprobes.info("kprobe_target")
    assert info.optimized and not info.jumped and "OPTIMIZED" in info.flags
    assert x86.kernel.read(addr, 1) == b"\xcc"
    assert "[OPTIMIZED]" in x86.kprobes.list()
    x86.kprobes.wait_for_optimizer()
    info = x86.kprobes.info("kprobe_target")
    assert info.jumped and info.opt_refusal is None
    text = x86.kernel.read(addr, 5)
    assert text[0] == 0xE9
    assert addr + 5 + int.from_bytes(text[1:], "little", signed=True) == info.detour
    assert info.detour_bytes[-5] == 0xE9 and 5 <= info.opt_size <= 20
    assert x86.kernel_call("kprobe_target", 3, 4) == 11
    assert ips == [addr + 1] and kp.hits == 1  # Linux's optimized_callback: ip = addr + 1
    kp.unregister()
    assert x86.kernel.read(addr, 1) != b"\xcc" and x86.kernel.read(addr, 1)[0] != 0xE9


def test_a_post_handler_refuses_and_the_reason_is_visible(x86):
    x86.kprobes.register("kprobe_target", pre=lambda r: None, post=lambda r: None)
    x86.kprobes.wait_for_optimizer()
    info = x86.kprobes.info("kprobe_target")
    assert not info.optimized and info.opt_refusal == "post-handler"
    assert "post handler" in info.opt_refusal_text


def test_optimization_switch_off_puts_int3_back_and_on_queues_again(x86):
    addr, _ = x86.kernel.lookup("kprobe_target")
    x86.kprobes.register("kprobe_target", pre=lambda r: None)
    x86.kprobes.wait_for_optimizer()
    assert x86.kprobes.optimization
    x86.kprobes.optimization = False
    assert x86.kernel.read(addr, 1) == b"\xcc"
    assert x86.kprobes.info(addr).opt_refusal == "sysctl-off"
    x86.kprobes.optimization = True
    x86.kprobes.wait_for_optimizer()
    assert x86.kernel.read(addr, 1)[0] == 0xE9


def test_hits_through_the_jump_equal_the_int3_path():
    counts = []
    for optimize in (False, True):
        m = probesim.Machine("x86_64", seed=1)
        m.kprobes.optimization = optimize
        kp = m.kprobes.register("kprobe_target", pre=lambda r: None)
        m.kprobes.wait_for_optimizer()
        assert m.kprobes.info("kprobe_target").jumped == optimize
        assert m.kernel_call("kprobe_loop_target", 200) == 200 * 199 // 2 + 400
        counts.append(kp.hits)
    assert counts == [200, 200]


def test_arm64_probes_become_b_imm26_beyond_mainline():
    m = probesim.Machine("aarch64", seed=1)
    addr, _ = m.kernel.lookup("kprobe_target")
    pcs = []
    m.kprobes.register("kprobe_target", pre=lambda r: pcs.append(r.pc))
    m.kprobes.wait_for_optimizer()
    info = m.kprobes.info("kprobe_target")
    assert info.jumped and info.opt_size == 4
    word = int.from_bytes(m.kernel.read(addr, 4), "little")
    assert word >> 26 == 0b000101  # B imm26
    offset = ((word & 0x3FFFFFF) ^ 0x2000000) - 0x2000000
    assert addr + 4 * offset == info.detour
    assert m.kernel_call("kprobe_target", 3, 4) == 11 and pcs == [addr]


def test_arm64_refuses_instructions_the_detour_cannot_run():
    m = probesim.Machine("aarch64", seed=1)
    adrp, _ = m.kernel.lookup("kprobe_riprel_target")
    m.kprobes.register(adrp + 4, pre=lambda r: None)  # adrp: simulated by the kprobe path
    m.kprobes.wait_for_optimizer()
    info = m.kprobes.info(adrp + 4)
    assert not info.optimized and info.opt_refusal == "not-relocatable"


@pytest.mark.parametrize("optimize", [True, False])
def test_observer_mode_kprobes_leave_the_cycles_and_the_schedule_alone(arch, guest_program,
                                                                       optimize):
    """Machine(probe_cost=0) with a kprobe and a kretprobe on ksys_write and a kprobe on
    vfs_write: kprobe_hammer (3 threads x 600 writes, 2 CPUs, random schedule) keeps the cycles
    and the scheduling log of the unprobed run, whether the probes are stepped out of line
    (optimization off), go through the detour from their int3 (queued for optimization) or jump
    (optimized after a shortened OPTIMIZE_DELAY): a probed block costs its original
    instructions; slots, detours, the trampoline and optimized_callback cost nothing."""
    prog = str(guest_program("kprobe_hammer"))

    def run(probe_cost, probed):
        m = probesim.Machine(arch, seed=3, cpus=2, sched="random", probe_cost=probe_cost)
        m.kprobes.optimization = optimize
        m.kprobes.optimize_delay = 200_000
        kps = [m.kprobes.register("ksys_write"), m.kprobes.register("vfs_write"),
               m.kretprobes.register("ksys_write")] if probed else []
        p = m.spawn([prog, "600"])
        assert m.run() is True and p.exit_code == 0
        jumped = probed and m.kprobes.info("ksys_write").jumped
        log = [(e.cpu, e.tid, e.insns, e.reason) for e in m.schedule_log]
        return p.stdout, m.cycles, log, [k.hits for k in kps], jumped

    plain = run(1, False)
    observed = run(0, True)
    assert observed[3] == [1801, 1801, 1801]  # 1800 writes and the printf
    assert observed[4] == optimize
    assert observed[:3] == plain[:3]
    assert run(1, True)[1] != plain[1]
