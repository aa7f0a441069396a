"""Machine.events / trace() / trace_text(): tracefs dynamic events from Python."""
import re

import pytest

import probesim
from probesim.testing import run_program

# ftrace's default line (Documentation/trace/ftrace.rst: "The trace file"): comm-pid, [cpu],
# five flag columns, timestamp in seconds with microseconds, then "event: (location) args".
LINE = re.compile(r"^\s*(?P<comm>.+)-(?P<pid>\d+)\s+\[(?P<cpu>\d{3})\] (?P<flags>[.dDnNhHsZ0-9]{5})"
                  r"\s+(?P<ts>\d+\.\d{6}): (?P<event>\w+): \((?P<loc>[^)]*)\)(?P<args>.*)$")


def test_an_event_records_its_args_and_the_lines_parse_as_ftrace(machine, guest_program):
    ev = machine.events.add("p:w ksys_write fd=$arg1:s32 n=$arg3:u64 c=$comm")
    assert (ev.group, ev.name, ev.enabled) == ("kprobes", "w", True)
    machine.events.add("p:wb ksys_write buf=+0($arg2):ustring")  # a second probe, same site
    p = run_program(machine, [guest_program("hello")])
    hits = machine.trace()
    # One aggregated kprobe: its newest probe runs first (add_new_kprobe's list_add_rcu).
    assert [h.event for h in hits] == ["wb", "w", "wb", "w"]
    assert all(h.comm == "hello" and h.pid == p.pid for h in hits)
    assert [h.fields.get("fd") for h in hits] == [None, "2", None, "1"]
    assert hits[0].fields["buf"] == '"hello: this line goes to stderr\n"'
    assert hits[2].fields["buf"].startswith('"hello from hello\n')
    assert hits[1].fields["c"] == '"hello"' and hits[1].location.startswith("ksys_write+0x0/0x")
    # Strings print raw (newlines included, as Linux's "%s"): parse the lines of "w".
    lines = [t for t in machine.trace_text().splitlines() if " w: (" in t]
    ws = [h for h in hits if h.event == "w"]
    assert len(lines) == len(ws) == 2
    for line, hit in zip(lines, ws):
        m = LINE.match(line)
        assert m, line
        assert (m["comm"].strip(), int(m["pid"]), int(m["cpu"]), m["event"]) == (
            hit.comm, hit.pid, hit.cpu, hit.event)
        assert float(m["ts"]) == pytest.approx(hit.timestamp, abs=1e-6)
        assert str(hit) == line


def test_retval_only_on_return_probes_and_errors_carry_linux_s_error_log(machine):
    with pytest.raises(probesim.BadProbe) as e:
        machine.events.add("p:k kprobe_target r=$retval")
    assert e.value.errno == 22
    assert "$retval is not available on probe" in str(e.value)
    assert machine.events.error_log.endswith(
        "trace_kprobe: error: $retval is not available on probe\n"
        "  Command: p:k kprobe_target r=$retval\n" + " " * (11 + 20) + "^\n")
    machine.events.add("r:kr kprobe_target ret=$retval:s32 a=$arg1")
    assert machine.kernel_call("kprobe_target", 3, 4) == 11
    [hit] = machine.trace()
    assert hit.fields == {"ret": "11", "a": "0x3"}
    assert hit.location.endswith(" <- kprobe_target")


def test_disable_stops_recording_and_the_trace_is_deterministic(make_machine):
    def once():
        m = make_machine()
        ev = m.events.add("p:kt kprobe_target a=$arg1:u8 b=$arg2:b4@4/8")
        m.kernel_call("kprobe_target", 0x1ff, 0x35)
        ev.disable()
        m.kernel_call("kprobe_target", 1, 2)
        return m.trace_text()
    text = once()
    assert text == once()
    assert text.count("\n") == 1
    assert re.search(r"kt: \(kprobe_target\+0x0/0x[0-9a-f]+\) a=255 b=3$", text.strip())


def test_guest_defined_events_and_cli_lines_are_the_same_table_and_text(make_machine,
                                                                         guest_program, arch):
    """The guest's /sys/kernel/tracing, Machine.events and `probesim run -e` share one
    table: Python reads what a guest shell defined, and a CLI run of the same program with
    the same seed writes the same trace text as Python's."""
    import os
    import subprocess
    from pathlib import Path
    m = make_machine(seed=1)
    sh = "/bin/busybox"
    if not os.path.exists(sh):
        pytest.skip("no /bin/busybox")
    if arch == "x86_64":
        p = m.spawn([sh, "sh", "-c",
                     "echo 'p:gw ksys_write n=$arg3:u64' > /sys/kernel/tracing/kprobe_events && "
                     "echo 1 > /sys/kernel/tracing/events/kprobes/gw/enable && echo hi"])
        m.run()
        assert p.exit_code == 0 and p.stdout.startswith(b"hi\n")
        assert "p:kprobes/gw ksys_write n=$arg3:u64\n" in m.events.list
        assert [h.fields["n"] for h in m.trace() if h.event == "gw"][-1] == "3"
    line = "p:w ksys_write fd=$arg1:s32 n=$arg3:u64 c=$comm"
    prog = str(guest_program("hello"))
    py = make_machine(seed=1)
    py.events.add(line)
    run_program(py, [prog])
    cli = Path(os.environ.get("PROBESIM_GUEST_DIR", "build/guest")).parent / "cli" / "probesim"
    out = Path(prog).parent / f"trace-{arch}-{os.getpid()}.txt"
    subprocess.run([str(cli), "run", "--seed", "1", "--env-clear", "-e", line, "--trace",
                    str(out), "--", prog], check=False, capture_output=True, timeout=120)
    try:
        assert out.read_text() == py.trace_text()
    finally:
        out.unlink(missing_ok=True)


def test_tracefs_files_from_python_match_what_the_guest_reads(machine, guest_program):
    """m.tracefs.write/read: the same files a guest shell sees at /sys/kernel/tracing."""
    tfs = machine.tracefs
    tfs.write("kprobe_events", "p:w ksys_write n=$arg3:u64\n", truncate=True)
    assert tfs.read("kprobe_events") == "p:kprobes/w ksys_write n=$arg3:u64\n"
    assert tfs.read("events/kprobes/w/id") == "1000\n"
    assert "\tfield:u64 n;\toffset:16;\tsize:8;\tsigned:0;\n" in tfs.read("events/kprobes/w/format")
    tfs.write("events/kprobes/w/enable", "1")
    run_program(machine, [guest_program("hello")])
    trace = tfs.read("trace")
    assert trace.startswith("# tracer: nop\n")
    body = [ln for ln in trace.splitlines() if not ln.startswith("#")]
    assert body == machine.trace_text().splitlines() and len(body) == 2
    assert all(LINE.match(ln) for ln in body)
    piped = tfs.read("trace_pipe")  # consuming
    assert piped.splitlines() == body and tfs.read("trace_pipe") == ""
    assert machine.trace() == []
    # A refused definition: BadProbe with the errno and Linux's error_log line.
    with pytest.raises(probesim.BadProbe) as e:
        tfs.write("kprobe_events", "p:bad ksys_write $retval")
    assert e.value.errno_name == "EINVAL"
    assert "$retval is not available on probe" in str(e.value)
    with pytest.raises(probesim.BadProbe) as e:
        tfs.write("kprobe_events", "", truncate=True)  # `echo > kprobe_events` while enabled
    assert e.value.errno_name == "EBUSY"
    with pytest.raises(probesim.BadArgument, match="EINVAL"):
        tfs.write("tracing_on", "on")
    with pytest.raises(probesim.BadArgument, match="no such file"):
        tfs.read("nothere")
    with pytest.raises(probesim.BadArgument, match="a directory"):
        tfs.read("events")
    assert tfs.read("available_events").endswith("sched:sched_process_exit\nkprobes:w\n")


def test_static_tracepoints_from_python(machine, guest_program):
    """events.add('GRP:EVENT') enables a static tracepoint; its hits come back parsed."""
    ev = machine.events.add("sched:sched_process_exit")
    assert (ev.group, ev.name, ev.enabled) == ("sched", "sched_process_exit", True)
    machine.tracefs.write("events/raw_syscalls/sys_enter/enable", "1")
    p = run_program(machine, [guest_program("hello")])
    hits = machine.trace()
    exits = [h for h in hits if h.event == "sched_process_exit"]
    assert len(exits) == 1 and exits[0].fields["pid"] == str(p.pid)
    assert str(exits[0]).endswith(f": sched_process_exit: comm=hello pid={p.pid} prio=120")
    enters = [h for h in hits if h.event == "sys_enter"]
    # A tracepoint's line: the same context columns, then "event: body" (its TP_printk).
    tp_line = re.compile(r"^\s*hello-(\d+)\s+\[\d{3}\] \.{5}\s+\d+\.\d{6}: sys_enter: "
                         r"NR \d+ \(([0-9a-f]+, ){5}[0-9a-f]+\)$")
    assert enters and all(h.pid == p.pid and tp_line.match(str(h)) for h in enters)
    ev.disable()
    assert machine.tracefs.read("events/sched/sched_process_exit/enable") == "0\n"


def test_context_trace_line_prints_a_hit_as_tracefs_prints_the_same_event(machine, guest_program):
    prog = str(guest_program("uprobed"))
    p = machine.spawn([prog, "work"])
    ours = []
    machine.kprobes.register("ksys_write", name="w", pre=lambda regs, ctx: ours.append(
        ctx.trace_line(fd=regs.arg(0))))
    machine.kretprobes.register("ksys_write", name="rw", handler=lambda ri, regs, ctx: ours.append(
        ctx.trace_line()))
    filtered = []
    up = machine.uprobes.register(prog, "leaf", name="u", handler=lambda regs, ctx: ours.append(
        ctx.trace_line()), filter=lambda mm, ctx: filtered.append(ctx) or True)
    machine.uretprobes.register(prog, "leaf", name="ur", handler=lambda f, regs, ctx: ours.append(
        ctx.trace_line()))
    machine.events.add("p:w ksys_write fd=$arg1:s32")
    machine.events.add("r:rw ksys_write")
    machine.events.add(f"p:u {prog}:{up.offset:#x}")
    machine.events.add(f"r:ur {prog}:{up.offset:#x}")
    assert machine.run() is True and p.exit_code == 0
    theirs = [str(e) for e in machine.trace()]
    assert len(ours) == len(theirs) > 4
    assert sorted(ours) == sorted(theirs)
    assert any(" w: (ksys_write+0x0/0x" in line and line.endswith(" fd=1") for line in ours)
    assert any(" rw: (" in line and " <- ksys_write)" in line for line in ours)
    with pytest.raises(probesim.Error, match="no probe hit"):
        filtered[0].trace_line()  # a filter's context: no hit
