"""Early kprobes (seed 002) through Machine(early_kprobes=..., kernel_cmdline=...): registered
during boot before init_kprobes as branches, hits during boot counted and logged, converted
into ordinary optimized kprobes at init_kprobes, refusals with Linux's errnos."""
import errno

import pytest

import probesim


@pytest.mark.parametrize("arch", probesim.ARCHES)
def test_boot_hits_are_counted_and_the_probes_convert_at_init(arch):
    m = probesim.Machine(arch, seed=1, early_kprobes=["mem_init", "boot_step"])
    log = m.kernel.boot_log
    reg = log.index("early kprobe mem_init registered at mem_init+0x0")
    hit = log.index("early kprobe hit at mem_init+0x0")
    conv = log.index("init_kprobes: 2 early kprobes converted")
    assert log.index("setup_arch") < reg < log.index("mm_init") < hit < log.index("init_kprobes") < conv
    assert log.count("early kprobe hit at boot_step+0x0") == 3
    early = m.kprobes.early
    assert [(e.spec, e.hits, e.error) for e in early] == [
        ("mem_init", 1, None), ("boot_step", 4, None)]
    info = m.kprobes.info("mem_init")
    assert info.optimized and info.jumped and info.detour is not None
    assert "mem_init+0x0    [OPTIMIZED]" in m.kprobes.list()
    m.kernel_call("mem_init")
    assert m.kprobes.early[0].hits == 2


def test_the_command_line_ekprobe_list_and_refusals():
    m = probesim.Machine("x86_64", seed=1,
                         kernel_cmdline="quiet ekprobe=kprobe_target,nope,kprobe_target")
    early = m.kprobes.early
    assert [e.spec for e in early] == ["kprobe_target", "nope", "kprobe_target"]
    assert early[0].errno == 0 and early[0].addr == m.kernel.lookup("kprobe_target")[0]
    assert early[1].errno == errno.ENOENT and early[1].addr is None
    assert early[2].errno == errno.EBUSY and "early kprobe" in early[2].error
    assert m.kernel_call("kprobe_target", 3, 4) == 11
    assert m.kprobes.early[0].hits == 1


def test_a_command_line_too_long_is_refused():
    with pytest.raises(probesim.BadArgument, match="COMMAND_LINE_SIZE"):
        probesim.Machine("x86_64", kernel_cmdline="x" * 4096)
