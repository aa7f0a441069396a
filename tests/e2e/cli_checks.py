#!/usr/bin/python3
"""Command-line checks of `probesim run`: bad flags and paths get a precise message, early.

Usage: cli_checks.py --probesim CLI --guests GUEST_DIR CASE
Each CASE runs the CLI once or twice in a temp dir and checks its exit status, stdout and
stderr. Exit status 0 = pass, 1 = fail. Python 3 standard library only.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

EXIT_ERROR = 126  # cli/main.cc kExitError: the program could not be started


def run(cli, args, cwd):
    p = subprocess.run([cli, "run", "--env-clear", *args], cwd=cwd, stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def expect(result, status, stderr_texts=(), stdout_text=None):
    """True when the run exited with `status`, its stderr holds every text and its stdout
    holds stdout_text (None: stdout must be empty, i.e. the guest never ran)."""
    code, out, err = result
    problems = []
    if code != status:
        problems.append(f"exit status {code}, expected {status}")
    problems += [f"stderr lacks {t!r}" for t in stderr_texts if t not in err]
    if stdout_text is None and out:
        problems.append("the guest ran (stdout is not empty)")
    if stdout_text is not None and stdout_text not in out:
        problems.append(f"stdout lacks {stdout_text!r}")
    return report(problems, f"--- stdout:\n{out}--- stderr:\n{err}")


def report(problems, dump):
    """Prints each problem and, if any, `dump` (what the run printed); True when none."""
    for p in problems:
        print("FAIL:", p)
    if problems:
        print(dump)
    return not problems


def case_uretprobe_offset(o, tmp):
    """--uretprobe SYM+OFF is refused: a return probe must be on a function entry."""
    prog = f"{o.guests}/x86_64-glibc/uprobed"
    r = run(o.probesim, ["--uretprobe", f"{prog}:leaf+4", "--", prog, "work"], tmp)
    ok = expect(r, EXIT_ERROR, ["--uretprobe", "leaf+4", "function entry"])
    r = run(o.probesim, ["--uretprobe", f"{prog}:leaf+0", "--", prog, "work"], tmp)
    return ok and expect(r, 0, ["uretprobe", "hits"], "EXIT-SUCCESS")


def case_root_missing(o, tmp):
    """--root naming no directory says so, instead of blaming the program."""
    r = run(o.probesim, ["--root", f"{tmp}/no-such-root", "--", "/bin/true"], tmp)
    return expect(r, EXIT_ERROR, [f"guest root '{tmp}/no-such-root' does not exist"])


def make_root(o, tmp):
    """tmp/root with bin/hello and bin/link -> /bin/hello (absolute: valid only in the root)."""
    root = Path(tmp) / "root"
    (root / "bin").mkdir(parents=True)
    shutil.copy(f"{o.guests}/x86_64-glibc/hello", root / "bin" / "hello")
    os.symlink("/bin/hello", root / "bin" / "link")
    return root


def case_relative_program(o, tmp):
    """--arch auto finds a relative program (and a symlink) as the guest will: from the guest
    cwd, inside the root."""
    root = make_root(o, tmp)
    ok = True
    for cwd, prog in ((root / "bin", "hello"), (root, "bin/link"), (root / "bin", "./link")):
        r = run(o.probesim, ["--root", str(root), "--", prog], cwd)
        ok &= expect(r, 1, [], "EXIT-SUCCESS")  # hello exits with argc
    return ok


def case_proc_self(o, tmp):
    """/proc/self/exe has no process at registration: the error names the path as given."""
    prog = f"{o.guests}/x86_64-glibc/uprobed"
    r = run(o.probesim, ["--uprobe", "/proc/self/exe:leaf", "--", prog, "work"], tmp)
    return expect(r, EXIT_ERROR, ["--uprobe /proc/self/exe:leaf: /proc/self/exe: ",
                                  "name the program file"])


def case_unwritable_outputs(o, tmp):
    """An unwritable --output or --sched-log stops the CLI before the guest runs."""
    prog = f"{o.guests}/x86_64-glibc/hello"
    ok = True
    for flag in ("--output", "--sched-log"):
        bad = f"{tmp}/no-such-dir/file"
        r = run(o.probesim, [flag, bad, "--stats", "--", prog], tmp)
        ok &= expect(r, EXIT_ERROR, [f"{flag} {bad}: cannot write: No such file or directory"])
    return ok


def case_directory_program(o, tmp):
    """A directory as the program: EACCES, as Linux's execve (and Machine.spawn) say."""
    os.mkdir(f"{tmp}/adir")
    ok = expect(run(o.probesim, ["--", f"{tmp}/adir"], tmp), EXIT_ERROR,
                [f"{tmp}/adir: Permission denied"])
    return ok and expect(run(o.probesim, ["--arch", "x86_64", "--", f"{tmp}/adir"], tmp),
                         EXIT_ERROR, [f"{tmp}/adir: Permission denied"])


def case_events(o, tmp):
    """-e LINE defines and enables a dynamic event; its ftrace lines go to --trace FILE (the
    same text twice: virtual time), or to stderr; a bad line shows Linux's error and caret."""
    prog = f"{o.guests}/x86_64-glibc/hello"
    line = "p:w ksys_write fd=$arg1:s32 n=$arg3:u64 c=$comm"
    traces = []
    ok = True
    for i in range(2):
        r = run(o.probesim, ["-e", line, "--trace", f"{tmp}/t{i}", "--", prog], tmp)
        ok = expect(r, 1, [], "EXIT-SUCCESS") and ok
        traces.append(Path(f"{tmp}/t{i}").read_text())
    lines = traces[0].splitlines()
    ok = ok and traces[0] == traces[1] and len(lines) >= 2
    ok = ok and all(" w: (ksys_write+0x0/0x" in t and "c=\"hello\"" in t for t in lines)
    ok = ok and any(t.startswith("           hello-") and " fd=1 " in t for t in lines)
    r = run(o.probesim, ["--event", "r:rr ksys_write ret=$retval:s64", "--", prog], tmp)
    ok = expect(r, 1, [" rr: (", " <- ksys_write) ret="], "EXIT-SUCCESS") and ok
    r = run(o.probesim, ["-e", "p:bad ksys_write $retval", "--", prog], tmp)
    caret = "  Command: p:bad ksys_write $retval\n" + " " * (11 + 17) + "^"
    return expect(r, EXIT_ERROR, ["-e 'p:bad ksys_write $retval': trace_kprobe: error: "
                                  "$retval is not available on probe", caret]) and ok


def case_events_list(o, tmp):
    """`probesim events --list` prints the probe-able kernel functions, blacklist excluded, then
    the static tracepoints as -e takes them (GRP:EVENT)."""
    ok = True
    for arch in ("x86_64", "aarch64"):
        p = subprocess.run([o.probesim, "events", "--list", "--arch", arch], cwd=tmp,
                           capture_output=True, text=True, timeout=120)
        names = p.stdout.split()
        ok = ok and p.returncode == 0 and "ksys_write" in names and "kprobe_target" in names
        ok = ok and "kprobe_nokprobe_target" not in names  # NOKPROBE_SYMBOL
        ok = ok and "sched:sched_switch" in names and "raw_syscalls:sys_enter" in names
        if not ok:
            print(f"FAIL {arch}: status {p.returncode}, {len(names)} names\n{p.stderr}")
    p = subprocess.run([o.probesim, "events"], cwd=tmp, capture_output=True, text=True)
    return ok and p.returncode == 2 and "usage: probesim events --list" in p.stderr


def case_tracefs_guest(o, tmp):
    """A busybox sh script drives /sys/kernel/tracing inside the guest as on Linux: define a
    kprobe event, enable it, run a command, read trace, kprobe_profile, kprobe_events and
    error_log; clearing kprobe_events while the event is enabled fails with EBUSY."""
    if not os.path.exists("/bin/busybox"):
        print("SKIP: no /bin/busybox")
        return True
    script = (
        "cd /sys/kernel/tracing && "
        "echo 'p:w ksys_write fd=$arg1:s32 n=$arg3:u64 c=$comm' > kprobe_events && "
        "echo 1 > events/kprobes/w/enable && echo hello-from-guest && "
        "echo 0 > events/kprobes/w/enable && cat trace && cat kprobe_profile && "
        "cat kprobe_events && ls events/kprobes/w && "
        "{ echo 'p:bad ksys_write $retval' >> kprobe_events || cat error_log; } && "
        "echo 1 > events/kprobes/w/enable && { echo > kprobe_events || echo cleared-refused; } && "
        "echo 0 > events/kprobes/w/enable && echo > kprobe_events && cat kprobe_events && "
        "echo done")
    r = run(o.probesim, ["--", "/bin/busybox", "sh", "-c", script], tmp)
    code, out, err = r
    caret = "  Command: p:bad ksys_write $retval\n" + " " * (11 + 17) + "^\n"
    wants = ["hello-from-guest\n", "# tracer: nop\n",
             ' w: (ksys_write+0x0/0x', ' fd=1 n=17 c="busybox"\n',
             "p:kprobes/w ksys_write fd=$arg1:s32 n=$arg3:u64 c=$comm\n", "enable\n",
             "trace_kprobe: error: $retval is not available on probe\n", caret,
             "cleared-refused\n", "done\n"]
    problems = [f"stdout lacks {w!r}" for w in wants if w not in out]
    if code != 0:
        problems.append(f"exit status {code}")
    if "Device or resource busy" not in err:
        problems.append("stderr lacks EBUSY")
    profile = [line.split() for line in out.splitlines() if line.startswith("  w ")]
    if profile != [["w", "2", "0"]]:  # the echo, and the "0" written to enable
        problems.append(f"kprobe_profile line {profile}")
    return report(problems, f"--- stdout:\n{out}--- stderr:\n{err}")


def case_tracefs_files(o, tmp):
    """The rest of tracefs from a busybox sh script, as on Linux: README, an event's id and
    format, events/GRP/enable, tracing_on, available_events, available_filter_functions, a
    blocking trace_pipe reader woken by a hit, debugfs's kprobes/list and /proc/kallsyms."""
    if not os.path.exists("/bin/busybox"):
        print("SKIP: no /bin/busybox")
        return True
    script = (
        "cd /sys/kernel/tracing && grep -c 'x8/16/32/64' README && "
        "echo 'p:w ksys_write n=$arg3:u64' > kprobe_events && "
        "echo id=$(cat events/kprobes/w/id) && cat events/kprobes/w/format && "
        "echo 1 > events/kprobes/enable && echo group=$(cat events/kprobes/enable) && "
        "cat /sys/kernel/debug/kprobes/list && "
        "echo 0 > tracing_on && echo quiet-write && echo 1 > tracing_on && "
        "echo 0 > events/kprobes/w/enable && echo quiet=$(grep -c 'n=12$' trace) && "
        "echo written=$(grep -c ' w: ' trace) && "
        "echo > trace && { head -n 1 trace_pipe & } && "
        "echo 1 > events/kprobes/w/enable && echo woken-by-this && wait && "
        "echo 0 > events/enable && cat available_events && "
        "grep -c '^ksys_write$' available_filter_functions && "
        "grep ' ksys_write$' /proc/kallsyms && echo done")
    r = run(o.probesim, ["--", "/bin/busybox", "sh", "-c", script], tmp)
    code, out, err = r
    wants = ["id=1000\n", "name: w\nID: 1000\nformat:\n",
             "\tfield:u64 n;\toffset:16;\tsize:8;\tsigned:0;\n",
             'print fmt: "(%lx) n=%Lu", REC->__probe_ip, REC->n\n', "group=1\n",
             "  k  ksys_write+0x0    ", "quiet-write\n", "woken-by-this\n", "kprobes:w\n",
             "done\n"]
    problems = [f"stdout lacks {w!r}" for w in wants if w not in out]
    lines = out.splitlines()
    if code != 0:
        problems.append(f"exit status {code}")
    # "quiet-write\n" (12 bytes) was written while tracing_on was 0: not in the buffer.
    if "quiet=0\n" not in out or "written=0\n" in out:
        problems.append("tracing_on 0 did not keep the write out, or nothing was traced")
    piped = [ln for ln in lines if " w: (ksys_write+0x0/0x" in ln]
    if len(piped) != 1 or "n=14" not in piped[0]:  # "woken-by-this\n"
        problems.append(f"trace_pipe lines {piped}")
    if not any(ln.endswith(" T ksys_write") and len(ln.split()[0]) == 16 for ln in lines):
        problems.append("no /proc/kallsyms line for ksys_write")
    return report(problems, f"--- stdout:\n{out}--- stderr:\n{err}")


def case_tracepoints(o, tmp):
    """-e GRP:EVENT enables a static tracepoint: a busybox sh forking and exec'ing its commands
    shows sched_process_fork/exec/exit, sched_switch and raw_syscalls lines, the same twice."""
    if not os.path.exists("/bin/busybox"):
        print("SKIP: no /bin/busybox")
        return True
    events = ["sched:sched_process_fork", "sched:sched_process_exec", "sched:sched_process_exit",
              "sched:sched_switch", "raw_syscalls:sys_exit"]
    flags = [x for e in events for x in ("-e", e)]
    traces = []
    ok = True
    for i in range(2):
        r = run(o.probesim, [*flags, "--trace", f"{tmp}/t{i}", "--", "/bin/busybox", "sh", "-c",
                             "/bin/busybox true; /bin/busybox echo hi"], tmp)
        ok = expect(r, 0, [], "hi\n") and ok
        traces.append(Path(f"{tmp}/t{i}").read_text())
    text = traces[0]
    wants = [": sched_process_fork: comm=busybox pid=", " child_comm=busybox child_pid=",
             ": sched_process_exec: filename=/bin/busybox pid=",
             ": sched_process_exit: comm=busybox pid=", ": sched_switch: prev_comm=busybox",
             ": sys_exit: NR "]
    problems = [f"trace lacks {w!r}" for w in wants if w not in text]
    if traces[0] != traces[1]:
        problems.append("two runs gave different traces")
    return report(problems, f"--- trace:\n{text[:3000]}") and ok


def case_observer(o, tmp):
    """--probe-cost 0 (observer mode): a uprobe and a uretprobe hit 400000 times each in racy
    (2 CPUs, random schedule) leave its output, its cycles and its interleaving (the scheduling
    log) as they are without the probes (instructions count the probes' XOL code too); with the
    default costs the clocks move."""
    prog = f"{o.guests}/x86_64-glibc/racy"
    base = ["--cpus", "2", "--sched", "random", "--seed", "3", "--stats"]
    probes = ["--uprobe", f"{prog}:next_value", "--uretprobe", f"{prog}:next_value"]
    runs = {name: run(o.probesim, flags + ["--sched-log", f"{tmp}/{name}.sched", "--", prog], tmp)
            for name, flags in
            {"plain": base, "observed": base + ["--probe-cost", "0"] + probes,
             "costed": base + probes}.items()}
    stats = {name: dict(re.findall(r"^(cycles): (\d+)$", r[2], re.M))
             for name, r in runs.items()}
    problems = [f"{name}: exit status {r[0]}" for name, r in runs.items() if r[0] != 0]
    if runs["observed"][1] != runs["plain"][1]:
        problems.append("observed stdout differs from plain")
    logs = {name: Path(f"{tmp}/{name}.sched").read_text() for name in ("plain", "observed")}
    if not logs["plain"] or logs["observed"] != logs["plain"]:
        diff = next((i for i, (a, b) in enumerate(zip(logs["plain"].splitlines(),
                     logs["observed"].splitlines())) if a != b), None)
        problems.append(f"observed scheduling log differs from plain (first at line {diff})")
    if not stats["plain"].get("cycles") or stats["observed"] != stats["plain"]:
        problems.append(f"observed stats {stats['observed']} != plain {stats['plain']}")
    if stats["costed"].get("cycles") == stats["plain"].get("cycles"):
        problems.append("the default probe costs did not move the cycles")
    if "hits 400000" not in runs["observed"][2]:
        problems.append("the observed run lacks 400000 uprobe hits")
    dump = "".join(f"--- {n} stdout:\n{r[1]}--- {n} stderr:\n{r[2]}" for n, r in runs.items())
    return report(problems, dump)


def case_observer_kprobes(o, tmp):
    """--probe-cost 0 (observer mode) with kprobes: kprobe_hammer (3 threads x 300 write(2)s,
    2 CPUs, random schedule) under a kprobe and a kretprobe on ksys_write and a kprobe on
    vfs_write, queued for jump optimization (the default: in a run this short their int3 leads
    into the detour's copy; test_optprobes.py covers the jump) or stepped out of line
    (--no-optimize), keeps the output, the cycles and the scheduling log of the run without
    probes, on both arches: the probed blocks cost their original instructions and the slots,
    detours, trampoline and optimized_callback cost nothing. With the default costs the cycles
    move."""
    problems, dump = [], ""
    for flavour in ("x86_64-glibc", "aarch64-glibc"):
        prog = f"{o.guests}/{flavour}/kprobe_hammer"
        base = ["--cpus", "2", "--sched", "random", "--seed", "3", "--stats"]
        probes = ["--kprobe", "ksys_write", "--kretprobe", "ksys_write", "--kprobe", "vfs_write"]
        variants = {"plain": base, "optimized": base + ["--probe-cost", "0"] + probes,
                    "stepped": base + ["--probe-cost", "0", "--no-optimize"] + probes,
                    "costed": base + probes}
        runs = {name: run(o.probesim, flags + ["--sched-log", f"{tmp}/{name}.sched", "--", prog,
                                               "300"], tmp)
                for name, flags in variants.items()}
        cycles = {name: re.findall(r"^cycles: (\d+)$", r[2], re.M) for name, r in runs.items()}
        logs = {name: Path(f"{tmp}/{name}.sched").read_text() for name in runs}
        dump += "".join(f"--- {flavour} {n} stderr:\n{r[2]}" for n, r in runs.items())
        problems += [f"{flavour} {n}: exit status {r[0]}" for n, r in runs.items() if r[0] != 0]
        if not cycles["plain"] or not logs["plain"]:
            problems.append(f"{flavour}: the plain run has no cycles or scheduling log")
        for name in ("optimized", "stepped"):
            if runs[name][1] != runs["plain"][1]:
                problems.append(f"{flavour} {name}: stdout differs from plain")
            if cycles[name] != cycles["plain"]:
                problems.append(f"{flavour} {name}: cycles {cycles[name]} != plain {cycles['plain']}")
            if logs[name] != logs["plain"]:
                problems.append(f"{flavour} {name}: the scheduling log differs from plain")
            if "kprobe ksys_write: hits 901" not in runs[name][2]:
                problems.append(f"{flavour} {name}: lacks 901 ksys_write hits (900 writes and the printf)")
        if cycles["costed"] == cycles["plain"]:
            problems.append(f"{flavour}: the default probe costs did not move the cycles")
    return report(problems, dump)


def case_epoch(o, tmp):
    """--epoch sets the guest's wall clock at boot, as seconds or a UTC date; a bad value is
    refused with what it takes."""
    if not os.path.isfile("/bin/busybox"):
        print("SKIP: /bin/busybox is not installed")
        return True
    date = ["--", "/bin/busybox", "date", "-u", "+%Y-%m-%dT%H:%M:%S"]
    ok = expect(run(o.probesim, ["--epoch", "86400", *date], tmp), 0, [], "1970-01-02T00:00:0")
    r = run(o.probesim, ["--epoch", "2030-05-06T07:08:09Z", *date], tmp)
    ok = expect(r, 0, [], "2030-05-06T07:08:") and ok
    ok = expect(run(o.probesim, ["--epoch", "2024-02-29", *date], tmp), 0, [], "2024-02-29T00:00:0") and ok
    for bad in ["2023-02-29", "-5", "10000-01-01", "2024-01-01T24:00:00", "yesterday"]:
        r = run(o.probesim, ["--epoch", bad, *date], tmp)
        ok = expect(r, 2, ["--epoch needs seconds since 1970 or a UTC date", f"got '{bad}'"]) and ok
    return ok


def strace_lines(o, tmp, flags, argv, status=0):
    out = Path(tmp) / "strace.txt"
    code, _, err = run(o.probesim, ["--strace", "--output", str(out), *flags, "--", *argv], tmp)
    if code != status:
        print(f"FAIL: exit status {code}: {err}")
        return []
    return out.read_text().splitlines()


def check_lines(lines, wanted):
    """Every regex of `wanted` matches some line; prints what is missing."""
    missing = [w for w in wanted if not any(re.fullmatch(w, line) for line in lines)]
    for w in missing:
        print(f"FAIL: no strace line matches {w!r}")
    if missing:
        print("--- strace:\n" + "\n".join(lines))
    return not missing


def case_strace_strings(o, tmp):
    """--strace shows buffers as strace does: escaped strings of at most -s N bytes (32 by
    default), "..." after the quote when cut; read buffers after the call."""
    hello = f"{o.guests}/x86_64-glibc/hello"
    lines = strace_lines(o, tmp, [], [hello, "a", "b"], status=3)  # hello exits with argc
    ok = check_lines(lines, [
        r'write\(2, "hello: this line goes to stderr\\n", 32\) = 32',
        r'write\(1, "hello from hello\\nargc=3\\nargv\[1\]="\.\.\., 96\) = 96',
    ])
    lines = strace_lines(o, tmp, ["-s", "5"], [hello, "a", "b"], status=3)
    ok = check_lines(lines, [r'write\(2, "hello"\.\.\., 32\) = 32']) and ok
    if os.path.isfile("/bin/busybox"):  # read(2): the bytes the kernel wrote, after the call
        lines = strace_lines(o, tmp, ["--string-size", "8"],
                             ["/bin/busybox", "head", "-n", "1", "/etc/passwd"])
        ok = check_lines(lines, [r'read\(3, "root:x:0"\.\.\., 4096\) = \d+']) and ok
    return ok


def case_strace_flags(o, tmp):
    """fork's clone, openat, mmap and mprotect flags are decoded as strace prints them, and
    lines carry "[pid N]" while more than one task exists (strace -f)."""
    uprobed = f"{o.guests}/x86_64-glibc/uprobed"
    lines = strace_lines(o, tmp, [], [uprobed, "fork"])
    ok = check_lines(lines, [
        r'clone\(child_stack=NULL, flags=CLONE_CHILD_CLEARTID\|CLONE_CHILD_SETTID\|SIGCHLD, '
        r'child_tidptr=0x[0-9a-f]+\) = 101',
        r'\[pid   101\] exit_group\(0\) = \?',
        r'\[pid   100\] wait4\(101, .*',
    ])
    first_clone = next(i for i, line in enumerate(lines) if line.startswith("clone("))
    if any(line.startswith("[pid") for line in lines[:first_clone + 1]):
        print("FAIL: a [pid N] prefix while only one task existed")
        ok = False
    if not lines[-1].startswith("exit_group("):  # the children are gone: one task again
        print(f"FAIL: the last line has a prefix: {lines[-1]}")
        ok = False
    if os.path.isfile("/bin/busybox"):
        lines = strace_lines(o, tmp, [], ["/bin/busybox", "cat", "/etc/passwd"])
        ok = check_lines(lines, [
            r'openat\(AT_FDCWD, "/etc/passwd", O_RDONLY\) = 3',
        ]) and ok
    ld = "/lib64/ld-linux-x86-64.so.2"
    if os.path.exists("/bin/true") and os.path.exists(ld):  # ld.so maps and protects libc
        lines = strace_lines(o, tmp, [], ["/bin/true"])
        ok = check_lines(lines, [
            r'mmap\(NULL, \d+, PROT_READ\|PROT_WRITE, MAP_PRIVATE\|MAP_ANONYMOUS, -1, 0\) = 0x[0-9a-f]+',
            r'mmap\(0x[0-9a-f]+, \d+, PROT_READ\|PROT_EXEC, MAP_PRIVATE\|MAP_FIXED\|MAP_DENYWRITE, 3, '
            r'0x[0-9a-f]+\) = 0x[0-9a-f]+',
            r'mprotect\(0x[0-9a-f]+, \d+, PROT_READ\) = 0',
            r'openat\(AT_FDCWD, "/etc/ld.so.cache", O_RDONLY\|O_CLOEXEC\) = 3',
        ]) and ok
    return ok


def case_vdso(o, tmp):
    """Time comes from the vDSO: glibc's and musl's clock_gettime take no syscall (strace shows
    none), Debian's dynamic date prints the virtual clock's second, and a uprobe on the vDSO's
    clock_gettime (by its synthetic inode, "[vdso]") hits once per call."""
    ok = True
    flavours = {"x86_64-glibc": "__vdso_clock_gettime", "x86_64-musl": "__vdso_clock_gettime",
                "aarch64-glibc": "__kernel_clock_gettime"}
    for flavour, sym in flavours.items():
        cycles = f"{o.guests}/{flavour}/cycles"  # two clock_gettime(CLOCK_MONOTONIC) calls
        if not os.path.isfile(cycles):
            continue
        lines = strace_lines(o, tmp, [], [cycles])
        problems = [] if lines else [f"{flavour}: no strace"]
        problems += [f"{flavour}: {line}" for line in lines if "clock_gettime(" in line]
        ok = report(problems, "--- strace:\n" + "\n".join(lines)) and ok
        r = run(o.probesim, ["--uprobe", f"[vdso]:{sym}", "--", cycles], tmp)
        ok = expect(r, 0, [f"uprobe [vdso]:{sym}: hits 2"], "EXIT-SUCCESS") and ok
    if os.path.isfile("/bin/date"):
        date = ["--env", "TZ=UTC", "--", "/bin/date", "+%s"]
        lines = strace_lines(o, tmp, [], date[3:])
        ok = report([line for line in lines if "clock_gettime(" in line], "") and ok
        ok = expect(run(o.probesim, date, tmp), 0, [], "1704067200\n") and ok  # the default epoch
    return ok


def case_procps_tree(o, tmp):
    """Debian's ps and top over a known tree: dash (pid 100, a session leader sleeping in wait4)
    runs ps (101), then top (102). Ids, states and the memory limit are the machine's, so ps's
    output is exact and top's summary has known counts (issue 18)."""
    if not (os.path.isfile("/usr/bin/ps") and os.path.isfile("/usr/bin/top")):
        return True
    script = "ps -e -o pid,ppid,pgid,sid,stat,nlwp,pri,ni,comm; top -b -n1"
    r = run(o.probesim, ["--env", "PATH=/usr/bin:/bin", "--env", "TZ=UTC", "--", "/bin/dash",
                         "-c", script], tmp)
    ok = expect(r, 0, [], "  PID  PPID  PGID   SID STAT NLWP PRI  NI COMMAND\n"
                          "  100     1   100   100 Ss      1  19   0 dash\n"
                          "  101   100   100   100 R       1  19   0 ps\n")
    patterns = [r"top - 00:00:0\d up 0 min, +\d+ users?, +load average: 0\.00, 0\.00, 0\.00",
                r"Tasks: +2 total, +1 running, +1 sleeping, +0 stopped, +0 zombie",
                r"%Cpu\(s\): .* us, .* sy, .* id, .*",
                r"MiB Mem : +4096\.0 total, .* free, .* used, .* buff/cache *",
                r" +100 root +20 +0 +\d+ +0 +0 S .* dash",
                r" +102 root +20 +0 +\d+ +0 +0 R .* top"]
    lines = r[1].splitlines()
    return report([f"no line matches {p!r}" for p in patterns
                   if not any(re.fullmatch(p, line) for line in lines)], r[1]) and ok


def case_lscpu(o, tmp):
    """Debian's lscpu on 4 CPUs: /sys/devices/system/cpu/cpuN/topology/ makes it count one
    socket of 4 cores of one thread (it printed 0 of each without it), /sys/devices/system/node
    one NUMA node with every CPU, and its per-CPU table shows each CPU's core (issue 18)."""
    if not os.path.isfile("/usr/bin/lscpu"):
        return True
    r = run(o.probesim, ["--cpus", "4", "--", "/usr/bin/lscpu"], tmp)
    ok = expect(r, 0, [], "CPU(s):              4\nOn-line CPU(s) list: 0-3\n")
    ok = expect(r, 0, [], "Thread(s) per core:  1\nCore(s) per socket:  4\nSocket(s):           1\n") and ok
    ok = expect(r, 0, [], "NUMA node(s):        1\nNUMA node0 CPU(s):   0-3\n") and ok
    r = run(o.probesim, ["--cpus", "4", "--", "/usr/bin/lscpu", "-e=CPU,SOCKET,CORE,ONLINE"], tmp)
    return expect(r, 0, [], "CPU SOCKET CORE ONLINE\n  0      0    0    yes\n  1      0    1    yes\n"
                            "  2      0    2    yes\n  3      0    3    yes\n") and ok


def case_symbols(o, tmp):
    """`probesim symbols PATH` lists a file's functions with the file offsets uprobes take: a
    uprobe at racy's listed offset of next_value hits as often as one on the name. `symbols
    --kernel` lists the probe-able kernel functions with their addresses (blacklisted ones such
    as optimized_callback left out). Bad arguments and files are clear errors."""
    prog = f"{o.guests}/x86_64-glibc/racy"
    p = subprocess.run([o.probesim, "symbols", prog], capture_output=True, text=True, timeout=60)
    rows = {name: off for off, _, name in (line.split(" ", 2) for line in p.stdout.splitlines())}
    problems = [] if p.returncode == 0 else [f"symbols PATH: exit status {p.returncode}"]
    for name in ("main", "next_value", "bump"):
        if name not in rows:
            problems.append(f"symbols PATH lacks {name}")
    if "next_value" in rows:
        hits = []
        for target in ("next_value", rows["next_value"]):
            r = run(o.probesim, ["--uprobe", f"{prog}:{target}", "--", prog], tmp)
            hits.append(re.findall(r"hits (\d+)", r[2]))
        if hits[0] != ["400000"] or hits[1] != hits[0]:
            problems.append(f"uprobe hits by name and by listed offset: {hits}")
    k = subprocess.run([o.probesim, "symbols", "--kernel", "--arch", "aarch64"],
                       capture_output=True, text=True, timeout=60)
    names = [line.split(" ", 1)[1] for line in k.stdout.splitlines()]
    if k.returncode != 0 or "ksys_write" not in names or "optimized_callback" in names:
        problems.append(f"symbols --kernel: status {k.returncode}, {len(names)} functions")
    for args, text in ((["symbols"], "usage: probesim symbols"),
                       (["symbols", "--kernel", prog], "usage: probesim symbols"),
                       (["symbols", f"{tmp}/missing"], "cannot read"),
                       (["symbols", "/etc/passwd"], "/etc/passwd")):
        r = subprocess.run([o.probesim, *args], capture_output=True, text=True, timeout=60)
        if r.returncode == 0 or text not in r.stderr:
            problems.append(f"{args}: status {r.returncode}, stderr {r.stderr!r}")
    return report(problems, p.stdout[-2000:] + p.stderr + k.stderr)


def case_optimize_delay(o, tmp):
    """--optimize-delay DURATION is OPTIMIZE_DELAY in virtual time. kprobe_hammer 300 (3 threads
    x 300 write(2)s, 2 CPUs, random schedule) under a kprobe on ksys_write, on both arches: with
    Linux's 5 jiffies (20ms, the default) the optimizer does not run in a run this short, so the
    probe ends as an int3; with 20us its jump is in the text at the end. Every write hits once
    either way. A recorded run keeps the delay in its trace header (`trace show`) and replays
    without divergence and with the same hits; replay refuses the flag (the trace sets it); bad
    durations are refused."""
    problems, dump = [], ""
    for flavour in ("x86_64-glibc", "aarch64-glibc"):
        prog = f"{o.guests}/{flavour}/kprobe_hammer"
        base = ["--cpus", "2", "--sched", "random", "--seed", "3", "--kprobe", "ksys_write"]
        trace = f"{tmp}/{flavour}.trace"
        runs = {"default": run(o.probesim, base + ["--", prog, "300"], tmp),
                "short": run(o.probesim, base + ["--optimize-delay", "20us", "--record", trace,
                                                 "--", prog, "300"], tmp)}
        shown = subprocess.run([o.probesim, "trace", "show", trace], capture_output=True,
                               text=True, timeout=60)
        replayed = subprocess.run([o.probesim, "replay", trace, "--kprobe", "ksys_write"],
                                  cwd=tmp, stdin=subprocess.DEVNULL, capture_output=True,
                                  text=True, timeout=120)
        dump += "".join(f"--- {flavour} {n} stderr:\n{r[2]}" for n, r in runs.items())
        dump += f"--- {flavour} trace show:\n{shown.stdout}--- replay stderr:\n{replayed.stderr}"
        problems += [f"{flavour} {n}: exit status {r[0]}" for n, r in runs.items() if r[0] != 0]
        for name, r in runs.items():
            if "kprobe ksys_write: hits 901 nmissed 0" not in r[2]:
                problems.append(f"{flavour} {name}: lacks 901 ksys_write hits (900 writes, printf)")
        if "(jump-optimized)" in runs["default"][2]:
            problems.append(f"{flavour}: jump-optimized within 20ms of virtual time")
        if "kprobe ksys_write: hits 901 nmissed 0 (jump-optimized)" not in runs["short"][2]:
            problems.append(f"{flavour}: not jump-optimized with --optimize-delay 20us")
        if "kprobe optimize delay: 20000 ns" not in shown.stdout:
            problems.append(f"{flavour}: trace show lacks the optimize delay")
        if replayed.returncode != 0 or "no divergence" not in replayed.stderr:
            problems.append(f"{flavour}: replay exit {replayed.returncode} or diverged")
        if "kprobe ksys_write: hits 901 nmissed 0 (jump-optimized)" not in replayed.stderr:
            problems.append(f"{flavour}: the replay's kprobe is not the recorded run's")
        refused = subprocess.run([o.probesim, "replay", trace, "--optimize-delay", "1ms"],
                                 cwd=tmp, capture_output=True, text=True, timeout=60)
        if refused.returncode == 0 or "--optimize-delay from the trace" not in refused.stderr:
            problems.append(f"{flavour}: replay accepted --optimize-delay: {refused.stderr!r}")
    prog = f"{o.guests}/x86_64-glibc/kprobe_hammer"
    for bad in ("0", "20", "5 ms", "-1us"):
        r = run(o.probesim, ["--optimize-delay", bad, "--", prog, "1"], tmp)
        if r[0] != 2 or "--optimize-delay needs a virtual duration" not in r[2]:
            problems.append(f"--optimize-delay {bad!r}: exit {r[0]}, stderr {r[2]!r}")
    return report(problems, dump)


def case_help(o, tmp):
    """`probesim run --help` prints the usage, then every option with a description and its
    default, and exits 0."""
    p = subprocess.run([o.probesim, "run", "--help"], capture_output=True, text=True, timeout=60)
    options = [line for line in p.stdout.splitlines() if line.startswith("  -")]
    lines = p.stdout.splitlines()
    problems = [] if p.returncode == 0 and not p.stderr else [f"status {p.returncode}: {p.stderr}"]
    if len(options) < 30:
        problems.append(f"only {len(options)} options described")
    for i, line in enumerate(lines):
        if not line.startswith("  -"):
            continue
        text = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if not lines[i + 1].startswith("      ") or not text:
            problems.append(f"{line.strip()}: no description")
        elif "--help" not in line and "(default: " not in text:
            problems.append(f"{line.strip()}: no default")
    for flag in ["--seed N", "--sched STRATEGY", "--strace", "-e, --event", "--max-time DURATION"]:
        if flag not in p.stdout:
            problems.append(f"{flag} is not described")
    for problem in problems:
        print("FAIL:", problem)
    return not problems


CASES = {name[5:].replace("_", "-"): fn for name, fn in globals().items()
         if name.startswith("case_")}


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--probesim", required=True)
    p.add_argument("--guests", required=True, help="PROBESIM_GUEST_DIR")
    p.add_argument("case", choices=sorted(CASES))
    o = p.parse_args(argv)
    o.probesim = os.path.abspath(o.probesim)
    tmp = tempfile.mkdtemp(prefix="probesim-cli-")
    try:
        ok = CASES[o.case](o, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(("PASS " if ok else "FAILED ") + o.case)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
