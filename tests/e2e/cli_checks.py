#!/usr/bin/python3
"""Command-line checks of `probesim run`: bad flags and paths get a precise message, early.

Usage: cli_checks.py --probesim CLI --guests GUEST_DIR CASE
Each CASE runs the CLI once or twice in a temp dir and checks its exit status, stdout and
stderr. Exit status 0 = pass, 1 = fail. Python 3 standard library only.
"""
import argparse
import os
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
    for p in problems:
        print("FAIL:", p)
    if problems:
        print(f"--- stdout:\n{out}--- stderr:\n{err}")
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
