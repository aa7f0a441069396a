"""Machine.uprobes / Machine.uretprobes: Python handlers and filters on user-space probes, on
both architectures, with guest/tests/uprobed (scenarios work, fork, recurse, longjmp, loop N)."""
import gc

import pytest

import probesim
from probesim.testing import assert_exit, assert_stdout

# The breakpoint each arch writes: x86 int3, arm64 BRK #5.
SWBP = {"x86_64": b"\xcc", "aarch64": bytes.fromhex("a00020d4")}


@pytest.fixture
def prog(guest_program):
    return str(guest_program("uprobed"))


def vaddr_in(up, p):
    """The address of up's probed instruction in process p."""
    [addr] = [a for pid, a in up.map_info() if pid == p.pid]
    return addr


def test_a_filter_arms_one_processes_page_the_others_share_the_page_cache(machine, prog):
    procs = [machine.spawn([prog, "work"]) for _ in range(3)]
    chosen = procs[1]
    asked = []

    def only_chosen(mm):
        asked.append(mm.pid)
        assert any(v.file for v in mm.vmas)  # read-only queries work inside a filter
        return mm.pid == chosen.pid

    up = machine.uprobes.register(prog, "work", handler=lambda regs: None, filter=only_chosen)
    addr = vaddr_in(up, chosen)
    assert sorted(asked) == [p.pid for p in procs]
    assert [p.mm.page_state(addr) for p in procs] == ["page-cache", "replaced", "page-cache"]
    index = procs[0].mm.page_info(addr).index
    assert up.inode.page_mapcount(index) == 2  # the other two map the page-cache frame itself
    width = len(SWBP[machine.arch])
    original = procs[0].mm.read(addr, width)
    assert chosen.mm.read(addr, width) == SWBP[machine.arch] != original
    assert chosen.mm.read_original(addr, 16) == procs[0].mm.read(addr, 16)
    assert machine.disassemble(chosen.pid, addr, 1, original=True) == \
        machine.disassemble(procs[0].pid, addr, 1)

    # Unregistering (while the processes are alive) drops the private page: all share again.
    up.unregister()
    assert [p.mm.page_state(addr) for p in procs] == ["page-cache"] * 3
    assert up.inode.page_mapcount(index) == 3 and not up.registered

    hits = {}
    up = machine.uprobes.register(prog, "work", filter=lambda mm: mm.pid == chosen.pid,
                                  handler=lambda regs: hits.update(
                                      {machine.current_pid: hits.get(machine.current_pid, 0) + 1}))
    assert machine.run() is True
    for p in procs:
        assert_exit(p, 0)
        assert p.stdout == procs[0].stdout
    assert hits == {chosen.pid: 6} and up.hits == 6  # work() runs six times, in chosen only


def test_apply_moves_the_breakpoint_after_a_filter_change(machine, prog):
    procs = [machine.spawn([prog, "work"]) for _ in range(3)]
    wanted = {procs[0].pid}
    up = machine.uprobes.register(prog, "work", handler=lambda regs: None,
                                  filter=lambda mm: mm.pid in wanted)
    addr = vaddr_in(up, procs[0])
    states = lambda: [p.mm.page_state(addr) for p in procs]  # noqa: E731
    assert states() == ["replaced", "page-cache", "page-cache"]
    wanted.clear()
    wanted.add(procs[2].pid)
    assert states() == ["replaced", "page-cache", "page-cache"]  # nothing moves before apply()
    up.apply()
    assert states() == ["page-cache", "page-cache", "replaced"]
    up.filter = None  # every process
    up.apply()
    assert states() == ["replaced"] * 3 and up.filter is None
    up.unregister()
    assert states() == ["page-cache"] * 3
    with pytest.raises(probesim.BadProbe) as e:
        up.apply()
    assert e.value.errno_name == "ENOENT"


def test_a_spawned_process_is_offered_to_the_filter_with_its_pid(machine, prog):
    asked = []
    up = machine.uprobes.register(prog, "work", handler=lambda regs: None,
                                  filter=lambda mm: asked.append(mm.pid) or mm.pid % 2 == 0)
    procs = [machine.spawn([prog, "work"]) for _ in range(2)]
    assert asked == [p.pid for p in procs]
    addr = vaddr_in(up, procs[0])
    assert [p.mm.page_state(addr) for p in procs] == [
        "replaced" if p.pid % 2 == 0 else "page-cache" for p in procs]
    assert [p.mm.has_uprobes for p in procs] == [p.pid % 2 == 0 for p in procs]


def test_registered_before_exec_the_filter_sees_the_new_image(machine, prog):
    if machine.arch != "x86_64":
        pytest.skip("Debian's busybox-static here is x86_64")
    asked = []

    def filt(mm):
        asked.append((mm.pid, sorted({v.file for v in mm.vmas if v.file and v.file != "[vdso]"})))
        return True
    up = machine.uprobes.register(prog, "fact", handler=lambda regs: None, filter=filt)
    sh = machine.spawn(["/bin/busybox", "sh", "-c", f"{prog} recurse"])  # sh execs it
    assert asked == []  # busybox does not map the probed file
    assert machine.run() is True
    assert_stdout(sh, "fact(6)=720")
    assert up.hits == 6 and asked == [(sh.pid, [prog])]  # once, with the new image


def test_fork_children_inherit_the_breakpoint_and_hits_are_counted_per_pid(machine, prog):
    hits, parents = {}, {}

    def count(regs):
        pid = machine.current_pid
        hits[pid] = hits.get(pid, 0) + 1
        parents[pid] = machine.process(pid).ppid  # read-only queries work in a handler
        assert regs.ip == addr  # regs.ip is the probed address
    up = machine.uprobes.register(prog, "probe_me", handler=count)
    p = machine.spawn([prog, "fork"])
    addr = vaddr_in(up, p)
    assert machine.run() is True
    assert_exit(p, 0)
    assert_stdout(p, "child 2: probe_me=102\nparent: probe_me=100")
    assert len(hits) == 3 and set(hits.values()) == {1} and up.hits == 3
    assert sorted(parents.values()) == [1, p.pid, p.pid]  # the parent's parent: init


def test_uretprobe_sees_recursive_returns_innermost_first_with_their_values(machine, prog):
    seen = []
    depth = []

    def on_return(func, regs):
        seen.append((func, regs.return_value))
        depth.append(len(machine.uprobes.return_instances(machine.current_tid)))
    rp = machine.uretprobes.register(prog, "fact", on_return)
    p = machine.spawn([prog, "recurse"])
    fact = vaddr_in(rp, p)
    assert machine.run() is True
    assert_stdout(p, "fact(6)=720")
    assert seen == [(fact, v) for v in (1, 2, 6, 24, 120, 720)]
    assert depth == [5, 4, 3, 2, 1, 0]  # the instances still pending under each return
    # hits counts entries, as Linux's uprobe_profile does for a uretprobe (trace_uprobe nhit)
    assert (rp.kind, rp.hits, rp.ret_hits) == ("uretprobe", 6, 6)
    assert machine.uretprobes.probes == [rp] and machine.uprobes.probes == []


def test_entry_and_return_handlers_of_one_consumer_and_the_ignore_verdict(machine, prog):
    entries, returns = [], []

    def entry(regs):
        entries.append(regs.arg(0))
        return probesim.UPROBE_HANDLER_IGNORE if regs.arg(0) == 3 else None
    up = machine.uprobes.register(prog, "fact", handler=entry,
                                  ret_handler=lambda func, regs: returns.append(regs.return_value))
    machine.spawn([prog, "recurse"])
    machine.run()
    assert entries == [6, 5, 4, 3, 2, 1]
    assert returns == [1, 2, 24, 120, 720]  # fact(3)'s return was not hooked
    assert (up.hits, up.ret_hits) == (6, 5)


def test_returning_remove_drops_the_breakpoint_once_the_filter_agrees(machine, prog):
    # Linux re-checks the filters before removing (perf's uprobe_perf_filter pattern).
    procs = [machine.spawn([prog, "loop", "5"]) for _ in range(2)]
    wanted = {p.pid for p in procs}

    def once(regs):
        wanted.discard(machine.current_pid)
        return probesim.UPROBE_HANDLER_REMOVE
    up = machine.uprobes.register(prog, "probe_me", handler=once,
                                  filter=lambda mm: mm.pid in wanted)
    addr = vaddr_in(up, procs[0])
    assert [p.mm.page_state(addr) for p in procs] == ["replaced"] * 2
    assert machine.run() is True
    for p in procs:
        assert_stdout(p, "loop: sum=510")
        assert p.mm.page_state(addr) == "page-cache"  # restored, identical again: shared
    assert up.hits == 2 and up.registered

    keep = machine.uprobes.register(prog, "probe_me",
                                    handler=lambda regs: probesim.UPROBE_HANDLER_REMOVE)
    machine.spawn([prog, "loop", "5"])
    machine.run()
    assert keep.hits == 5  # no filter: every process is still wanted, nothing is removed


def test_the_xol_area_appears_in_the_vmas_and_the_inode_lists_its_uprobes(machine, prog):
    views = []

    def look(regs):
        mm = machine.process(machine.current_pid).mm
        views.append((mm.xol_vaddr, [v.start for v in mm.vmas if v.name == "[uprobes]"]))
    up = machine.uprobes.register(prog, "probe_me", handler=look, name="pm")
    p = machine.spawn([prog, "loop", "3"])
    machine.run()
    assert views[0] == (None, [])  # created lazily, at the first step out of line
    xol = views[1][0]
    assert xol is not None and views[1:] == [(xol, [xol])] * 2
    [info] = up.inode.uprobes
    assert (info.offset, info.hits, info.consumers) == (up.offset, 3, [up])
    assert info.insn == p.mm.read_original(vaddr_in(up, p), len(info.insn))
    if info.step == "xol":
        assert info.xol_slot.startswith(info.insn)
    assert up.name == "pm" and up.target == "probe_me" and up.path == prog


def test_symbol_and_offset_name_the_same_probe(machine, prog):
    by_symbol = machine.uprobes.register(prog, "probe_me+0", handler=lambda regs: None)
    by_offset = machine.uprobes.register(prog, offset=by_symbol.offset, handler=lambda regs: None)
    assert by_offset.target == hex(by_symbol.offset) and by_offset.name == by_offset.target
    [info] = by_symbol.inode.uprobes
    assert info.consumers == [by_offset, by_symbol]  # newest first
    machine.spawn([prog, "loop", "4"])
    machine.run()
    assert (by_symbol.hits, by_offset.hits) == (4, 4) and info.ref >= 2
    assert machine.uprobes.stats["uprobes"] == 1


def test_a_handler_that_raises_stops_run_names_the_probe_and_the_machine_resumes(machine, prog):
    calls = []

    def fail_second(regs):
        calls.append(machine.current_pid)
        if len(calls) == 2:
            raise RuntimeError("second hit")
    up = machine.uprobes.register(prog, "probe_me", handler=fail_second, name="pm")
    p = machine.spawn([prog, "loop", "4"])
    with pytest.raises(probesim.ProbeHandlerError) as e:
        machine.run()
    err = e.value
    assert (err.probe, err.handler) == ("pm", "handler")
    where = f"{prog}:{up.offset:#x}"
    assert f"uprobe 'pm' ({where}) handler raised RuntimeError: second hit" in str(err)
    assert isinstance(err.__cause__, RuntimeError) and p.exit is None and not machine.running
    assert machine.run() is True  # consistent: the program finishes, its output unchanged
    assert_stdout(p, "loop: sum=406")
    assert up.hits == len(calls) == 4


def test_a_ret_handler_or_a_filter_raising_during_run_stops_it(machine, prog):
    returns = []

    def bad_return(func, regs):
        returns.append(regs.return_value)
        if len(returns) == 1:
            raise ArithmeticError("ret")
    rp = machine.uretprobes.register(prog, "fact", bad_return, name="f")
    p = machine.spawn([prog, "recurse"])
    with pytest.raises(probesim.ProbeHandlerError, match="uretprobe 'f' .* ret_handler") as e:
        machine.run()
    assert e.value.handler == "ret_handler" and isinstance(e.value.__cause__, ArithmeticError)
    assert machine.run() is True and p.exit_code == 0
    assert returns == [1, 2, 6, 24, 120, 720] and rp.ret_hits == 6
    machine.close()

    # maptwice maps its own text twice more: uprobe_mmap asks the filter during the run.
    m = probesim.Machine(machine.arch, seed=1)
    asked = []

    def filter_fails_on_mmap(mm):
        asked.append(mm.pid)
        if len(asked) == 2:  # the first mmap (the first ask was at spawn)
            raise LookupError("mmap")
        return True
    up = m.uprobes.register(prog, "leaf", handler=lambda regs: None, filter=filter_fails_on_mmap)
    p = m.spawn([prog, "maptwice"])
    with pytest.raises(probesim.ProbeHandlerError) as e:
        m.run()
    assert e.value.handler == "filter" and isinstance(e.value.__cause__, LookupError)
    assert m.run() is True
    assert_stdout(p, "maptwice: sum=48")
    assert len(asked) == 3 and up.hits == 3  # a filter that raised counts as wanting the mm


def test_a_filter_raising_during_spawn_raises_from_spawn(machine, prog):
    # README: a uprobe filter that raises surfaces from the call that ran it (it was swallowed).
    def broken(mm):
        raise LookupError("spawn")
    up = machine.uprobes.register(prog, "leaf", handler=lambda regs: None, filter=broken,
                                  name="sp")
    with pytest.raises(probesim.ProbeHandlerError, match="uprobe 'sp' .* filter") as e:
        machine.spawn([prog, "work"])
    assert e.value.handler == "filter" and isinstance(e.value.__cause__, LookupError)
    [p] = machine.processes  # the process exists; the filter counted as wanting its mm
    assert p.mm.has_uprobes and not machine.running
    assert machine.run() is True and p.exit_code == 0 and up.hits > 0


def test_a_filter_raising_at_exec_during_run_raises_from_run(machine, prog):
    if machine.arch != "x86_64":
        pytest.skip("Debian's busybox-static here is x86_64")

    def fails_on_exec(mm):
        if any(v.file == prog for v in mm.vmas):
            raise LookupError("exec")
        return True
    machine.uprobes.register(prog, "fact", handler=lambda regs: None, filter=fails_on_exec)
    sh = machine.spawn(["/bin/busybox", "sh", "-c", f"{prog} recurse"])  # sh execs it
    with pytest.raises(probesim.ProbeHandlerError) as e:
        machine.run()
    assert e.value.handler == "filter" and isinstance(e.value.__cause__, LookupError)
    assert machine.run() is True
    assert_stdout(sh, "fact(6)=720")


def test_a_bad_verdict_or_a_mutation_from_a_handler_is_a_handler_error(machine, prog):
    machine.uprobes.register(prog, "probe_me", handler=lambda regs: 7)
    machine.spawn([prog, "loop", "2"])
    with pytest.raises(probesim.ProbeHandlerError) as e:
        machine.run()
    assert isinstance(e.value.__cause__, ValueError) and "UPROBE_HANDLER_REMOVE" in str(e.value)
    machine.close()

    m2 = probesim.Machine(machine.arch, seed=1)
    m2.uprobes.register(prog, "probe_me",
                        handler=lambda regs: m2.uprobes.register(prog, "fact", handler=print))
    m2.spawn([prog, "loop", "1"])
    with pytest.raises(probesim.ProbeHandlerError) as e:
        m2.run()
    assert isinstance(e.value.__cause__, probesim.Error)
    assert "from inside a probe handler" in str(e.value.__cause__)


def test_a_filter_that_raises_undoes_the_registration(machine, prog):
    p = machine.spawn([prog, "work"])

    def broken(mm):
        raise KeyError("no such table")
    with pytest.raises(probesim.ProbeHandlerError) as e:
        machine.uprobes.register(prog, "work", handler=lambda regs: None, filter=broken,
                                 name="w")
    assert (e.value.probe, e.value.handler) == ("w", "filter")
    assert isinstance(e.value.__cause__, KeyError)
    assert machine.uprobes.probes == [] and machine.find_inode(p.exe).uprobes == []
    assert not machine.running
    [text] = [v for v in p.mm.vmas if v.flags == "r-xp" and v.file == p.exe]
    assert {p.mm.page_state(a) for a in range(text.start, text.end, 4096)} == {"page-cache"}
    assert machine.run() is True and p.exit_code == 0


def test_registration_errors_are_bad_probe_with_linux_errno(machine, prog):
    def errno_of(*args, **kwargs):
        kwargs.setdefault("handler", lambda regs: None)
        with pytest.raises(probesim.BadProbe) as e:
            machine.uprobes.register(*args, **kwargs)
        assert str(e.value).startswith("uprobe_register(") and e.value.errno_name in str(e.value)
        return e.value.errno_name

    assert errno_of(prog, "no_such_symbol") == "ENOENT"
    assert errno_of("/no/such/program", "main") == "ENOENT"
    assert errno_of(prog, offset=1 << 40) == "EINVAL"           # beyond the file
    assert errno_of(prog, "probe_me+100000") == "EINVAL"         # beyond the symbol
    if machine.arch == "aarch64":
        assert errno_of(prog, offset=machine.uprobes.register(
            prog, "probe_me", handler=print).offset + 2) == "EINVAL"  # misaligned
    assert all(p.name == "probe_me" for p in machine.uprobes.probes)


def test_bad_arguments_are_python_errors(machine, prog):
    with pytest.raises(probesim.BadArgument, match="not both"):
        machine.uprobes.register(prog, "main", offset=0x1000, handler=print)
    with pytest.raises(probesim.BadArgument, match="not both"):
        machine.uprobes.register(prog, handler=print)
    with pytest.raises(probesim.BadArgument, match="malformed"):
        machine.uprobes.register(prog, "main+zz", handler=print)
    with pytest.raises(probesim.BadArgument, match="offset="):
        machine.uprobes.register(prog, 0x1000, handler=print)
    with pytest.raises(TypeError, match="filter: expected a callable"):
        machine.uprobes.register(prog, "main", handler=print, filter=3)
    up = machine.uprobes.register(prog, "main", handler=print)
    with pytest.raises(TypeError, match="filter"):
        up.filter = "yes"
    assert machine.current_pid is None and machine.current_tid is None


def test_uprobes_work_without_the_guest_kernel(guest_program, arch):
    prog = str(guest_program("uprobed"))
    m = probesim.Machine(arch, seed=1, kernel=False)
    rets = []
    m.uretprobes.register(prog, "fact", handler=lambda func, regs: rets.append(regs.return_value))
    p = m.spawn([prog, "recurse"])
    assert m.run() is True and p.exit_code == 0 and rets[-1] == 720


def test_costs_are_charged_and_listed(machine, prog):
    plain = probesim.Machine(machine.arch, seed=1)
    plain.spawn([prog, "loop", "10"])
    plain.run()
    machine.uprobes.register(prog, "probe_me", handler=lambda regs: None)
    machine.spawn([prog, "loop", "10"])
    machine.run()
    costs = machine.uprobes.costs
    assert set(costs) == {"uprobe-trap", "uprobe-single-step", "uretprobe-return"}
    assert machine.cycles >= plain.cycles + 10 * costs["uprobe-trap"]


def test_close_and_garbage_collection_unregister_and_restore_the_pages(arch, guest_program):
    prog = str(guest_program("uprobed"))
    m = probesim.Machine(arch, seed=1)
    p = m.spawn([prog, "work"])
    up = m.uprobes.register(prog, "work", handler=lambda regs: m.cycles, filter=lambda mm: True)
    addr = vaddr_in(up, p)
    assert p.mm.page_state(addr) == "replaced"
    m.close()
    assert not up.registered and up.filter is None and p.mm.page_state(addr) == "page-cache"
    assert m.run() is True and up.hits == 0

    m = probesim.Machine(arch, seed=1)  # a cycle: the handler refers to its machine
    up = m.uprobes.register(prog, "work", handler=lambda regs: m.cycles)
    del m
    gc.collect()
    assert not up.registered
    with pytest.raises(probesim.Error, match="machine is gone"):
        up.apply()


def test_a_usdt_semaphore_is_raised_in_each_process_while_its_probe_is_armed(machine, prog):
    """ref_ctr= (Linux's ref_ctr_offset): uprobed's usdt scenario runs its SDT site only while
    the semaphore is non-zero, as <sys/sdt.h> sites do; arming the uprobe in a process raises
    the semaphore there, by offset or by symbol, live or at exec, from Python or tracefs."""
    quiet = machine.spawn([prog, "usdt"])
    live = machine.spawn([prog, "usdt"])
    hits = []
    up = machine.uprobes.register(prog, "usdt_site", ref_ctr="usdt_sema",
                                  handler=lambda regs: hits.append(regs.arg(0)),
                                  filter=lambda mm: mm.pid == live.pid)
    assert up.ref_ctr_offset and up.ref_ctr_offset % 2 == 0
    with pytest.raises(probesim.BadProbe, match="EINVAL.*another reference counter"):
        machine.uprobes.register(prog, "usdt_site", ref_ctr=up.ref_ctr_offset + 2)
    assert machine.kernel.boot_log[-1].startswith("ref_ctr_offset mismatch. inode: ")
    assert machine.run() is True
    assert_exit(quiet)
    assert_exit(live)
    assert_stdout(quiet, "usdt 0: semaphore 0\nusdt 1: semaphore 0\nusdt 2: semaphore 0\n")
    assert_stdout(live, "usdt 0: semaphore 1, site 0\nusdt 1: semaphore 1, site 10\n"
                        "usdt 2: semaphore 1, site 20\n")
    assert hits == [0, 1, 2]
    offset, ref_ctr = up.offset, up.ref_ctr_offset
    up.unregister()

    # The same probe through uprobe_events' PATH:OFFSET(REF_CTR_OFFSET), armed at exec.
    ev = machine.events.add(f"p:usdt {prog}:{offset:#x}({ref_ctr:#x})")
    assert f"({ref_ctr:#x})" in machine.events.list
    with pytest.raises(probesim.BadProbe, match="Invalid argument"):
        machine.events.add(f"p:other {prog}:{offset:#x}({ref_ctr + 2:#x})")  # one counter per site
    p = machine.spawn([prog, "usdt"])
    assert machine.run() is True
    assert_stdout(p, "usdt 2: semaphore 1, site 20\n")
    assert [e.event for e in machine.trace()] == ["usdt"] * 3
    ev.disable()
    with pytest.raises(probesim.BadProbe, match="EINVAL"):
        machine.uprobes.register(prog, "usdt_site", ref_ctr=ref_ctr + 1)  # not a short's offset


def test_observer_mode_a_counting_uprobe_leaves_a_race_and_its_cycles_alone(arch, guest_program):
    """Machine(probe_cost=0): racy on 2 CPUs under a random schedule computes the same counter
    in the same cycles with a uprobe on its read-modify-write as without (XOL steps and the
    breakpoint cost what the original instruction costs); the default costs move the clock."""
    racy = str(guest_program("racy"))

    def run(probe_cost, probed):
        m = probesim.Machine(arch, seed=3, cpus=2, sched="random", probe_cost=probe_cost)
        up = m.uprobes.register(racy, "next_value") if probed else None
        p = m.spawn([racy])
        assert m.run() is True
        assert_exit(p)
        return p.stdout, m.cycles, up.hits if up else 0

    plain = run(1, False)
    observed = run(0, True)
    assert observed[2] == 400000 and observed[:2] == plain[:2]
    assert run(1, True)[1] != plain[1]
    assert probesim.Machine(arch, probe_cost=0).probe_cost == 0
    with pytest.raises(probesim.BadArgument, match="probe_cost"):
        probesim.Machine(arch, probe_cost=-1)
