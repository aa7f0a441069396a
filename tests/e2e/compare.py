#!/usr/bin/python3
"""End-to-end differential runner: a program under the probesim CLI versus the real thing.

The reference run is native for x86-64 binaries and `qemu-aarch64` for AArch64 ones (the
architecture is read from the ELF header). Both runs get a clean environment (LC_ALL=C, TZ=UTC
plus --env K=V), stdin from /dev/null, and a freshly made fixture directory at the same path,
so paths printed by a program (e.g. `busybox wc`) agree. Placeholders in the arguments:
@FIXTURE@ is that directory, @TEXTFILE@ an executable plain text file, @SCRIPTS@ a directory
of executable "#!" scripts (make_scripts).

With --root DIR (an arm64 Debian root, scripts/install-deps.sh), PROGRAM and its arguments are
paths inside DIR: probesim runs with --root DIR, and the reference is `chroot DIR` running
DIR/usr/libexec/probesim/qemu-aarch64-static (Debian's static qemu; `qemu-aarch64 -L DIR`
redirects open but not stat, so it would show the host's files). chroot needs root: without
it the test is skipped (exit status 77).

Modes (exit status 0 = pass, 1 = fail or bad setup, 2 = usage error, 77 = skipped):
  diff         stdout and exit status equal (stderr too with --stderr)
  determinism  two probesim runs with --seed 1 --stats --strace --output F: same stdout,
               stderr, exit status and F
  seeds        probesim --seed 1 twice gives the same stdout, --seed 2 a different one
  segv         the reference dies by SIGSEGV; probesim exits 139, prints the same stdout and
               names SIGSEGV and --fault-addr on stderr
  badinput     probesim exits 1..127 (--status: exactly that) and stderr names the program
               and each --expect text
  simonly      probesim only, for programs that would hurt the host natively (limits) or that
               the reference gets wrong (qemu-user has no ETXTBSY): exit status 0, stdout ends
               with EXIT-SUCCESS and holds each --expect text; with --max-rss-mib the probesim
               process's peak RSS stays below it (the run prints what it measured)

Example: compare.py --probesim build/cli/probesim diff -- build/guest/x86_64-glibc/fileio @FIXTURE@
Python 3 standard library only (run with /usr/bin/python3).
"""
import argparse
import difflib
import os
import re
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

FIXTURE_TIME = 981173106  # 2001-02-03 04:05:06 UTC: fixed and old, so `ls -la` shows a year
BASE_ENV = {"LC_ALL": "C", "TZ": "UTC"}
# The host side of a probesim run keeps the sanitizer settings of make test-asan (suppressions,
# leak checking); the guest never sees them (--env-clear).
CHROOT_QEMU = "/usr/libexec/probesim/qemu-aarch64-static"  # inside a --root DIR
SKIPPED = 77
SANITIZER_ENV = ("ASAN_OPTIONS", "LSAN_OPTIONS", "UBSAN_OPTIONS")
ELF_MACHINES = {62: "x86_64", 183: "aarch64"}  # e_machine: EM_X86_64, EM_AARCH64
LINES = ["pear", "apple", "fig", "banana", "cherry", "date", "elderberry", "grape", "apple"]


@dataclass
class Run:
    cmd: list
    status: int  # shell convention: 128+S when killed by signal S
    stdout: str
    stderr: str


def make_fixture(root: Path) -> Path:
    """(Re)creates root/fixture with fixed contents, modes and timestamps; returns its path."""
    if root.exists():
        shutil.rmtree(root)
    fixture = root / "fixture"
    (fixture / "sub").mkdir(parents=True)
    (fixture / "hello.txt").write_text("hello fixture\n")
    (fixture / "lines.txt").write_text("\n".join(LINES) + "\n")
    (fixture / "data.bin").write_bytes(bytes((i * 31 + 7) % 251 for i in range(10000)))
    (fixture / "sub" / "nested.txt").write_text("nested file\n")
    os.symlink("hello.txt", fixture / "link")
    for path in [fixture / "hello.txt", fixture / "lines.txt", fixture / "data.bin",
                 fixture / "sub" / "nested.txt"]:
        path.chmod(0o644)
    for path in [fixture / "sub", fixture, root]:
        path.chmod(0o755)
    for path in [fixture / "link", *fixture.rglob("*"), fixture, root]:
        os.utime(path, (FIXTURE_TIME, FIXTURE_TIME), follow_symlinks=False)
    return fixture


def make_scripts(d: Path):
    """Executable "#!" files for binfmt_script tests: `args` (an interpreter argument with inner
    spaces, trailing blanks), `nest1`..`nest6` (nestN runs nest(N-1); nest1 runs /bin/echo:
    Linux runs 5 levels, the 6th is ELOOP), `bbsh` (busybox sh), `noterp` (a missing
    interpreter: ENOENT), `noexec` (its interpreter `data` is not executable: EACCES), `plain`
    (no "#!": ENOEXEC, so shells run it themselves)."""
    d.mkdir()
    scripts = {
        "args": "#!/bin/echo  one  two \t \n",
        "nest1": "#!/bin/echo level\n",
        **{f"nest{n}": f"#!{d}/nest{n - 1}\n" for n in range(2, 7)},
        "bbsh": '#!/bin/busybox sh\necho "bbsh: $0 $# $*"\nexit 7\n',
        "noterp": "#!/nonexistent/interp -x\n",
        "noexec": f"#!{d}/data\n",
        "plain": 'echo "plain: $0 $*"\n',
    }
    for name, text in scripts.items():
        (d / name).write_text(text)
        (d / name).chmod(0o755)
    (d / "data").write_text("not executable\n")
    (d / "data").chmod(0o644)


def elf_arch(path: str, depth: int = 0) -> str:
    with open(path, "rb") as f:
        header = f.read(256)
    if header[:2] == b"#!" and depth < 5:  # a script runs on its interpreter's machine
        interp = header[2:].split(b"\n")[0].split()
        if interp:
            return elf_arch(interp[0].decode(), depth + 1)
    if header[:4] != b"\x7fELF":
        raise SystemExit(f"compare.py: {path} is not an ELF file")
    machine = int.from_bytes(header[18:20], "little")
    if machine not in ELF_MACHINES:
        raise SystemExit(f"compare.py: {path}: unsupported e_machine {machine}")
    return ELF_MACHINES[machine]


def execute(cmd, env, cwd, timeout) -> Run:
    try:
        p = subprocess.run(cmd, env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return Run(cmd, -1, "", f"compare.py: timed out after {timeout} s\n")
    except OSError as e:
        return Run(cmd, 127, "", f"compare.py: cannot run {cmd[0]}: {e}\n")
    status = p.returncode if p.returncode >= 0 else 128 - p.returncode
    decode = lambda b: b.decode("utf-8", errors="backslashreplace")
    return Run(cmd, status, decode(p.stdout), decode(p.stderr))


class Session:
    """One test: a temp dir, the command lines, and run helpers for both sides."""

    def __init__(self, opts):
        self.opts = opts
        self.tmp = Path(tempfile.mkdtemp(prefix="probesim-e2e-"))
        self.root = self.tmp / "root"  # fixture parent; `ls -la` shows it as ".."
        self.textfile = self.tmp / "not-an-elf.txt"
        self.textfile.write_text("this is a text file, not a program\n")
        self.textfile.chmod(0o755)  # executable, so what fails is the format (ENOEXEC)
        self.scripts = self.tmp / "scripts"
        make_scripts(self.scripts)
        self.env = dict(BASE_ENV, **dict(kv.split("=", 1) for kv in opts.env))

    def close(self):
        if self.opts.keep:
            print(f"kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def argv(self):
        """The program and its arguments with placeholders substituted."""
        subst = {"@FIXTURE@": str(self.root / "fixture"), "@TEXTFILE@": str(self.textfile),
                 "@SCRIPTS@": str(self.scripts)}
        out = []
        for word in self.opts.command:
            for key, value in subst.items():
                word = word.replace(key, value)
            out.append(word)
        return out

    def reference(self) -> Run:
        make_fixture(self.root)
        argv = self.argv()
        if self.opts.root:
            qemu = [shutil.which("chroot") or "/usr/sbin/chroot", self.opts.root, CHROOT_QEMU]
            return execute(qemu + argv, self.env, self.tmp, self.opts.timeout)
        if elf_arch(argv[0]) == "aarch64":
            argv = [self.opts.qemu_aarch64] + argv
        clean_env = [shutil.which("env") or "/usr/bin/env", "-i"] + [f"{k}={v}" for k, v in self.env.items()]
        return execute(clean_env + argv, self.env, self.tmp, self.opts.timeout)

    def probesim(self, *extra) -> Run:
        make_fixture(self.root)
        cmd = [self.opts.probesim, "run", *shlex.split(self.opts.sim_flags), *extra, "--env-clear"]
        if self.opts.root:
            cmd += ["--root", self.opts.root]
        for key, value in self.env.items():
            cmd += ["--env", f"{key}={value}"]
        # The guest's environment goes in through --env only: the host process must not load
        # the guest's LD_PRELOAD or LD_LIBRARY_PATH.
        host_env = dict(BASE_ENV, **{k: os.environ[k] for k in SANITIZER_ENV if k in os.environ})
        return execute(cmd + ["--"] + self.argv(), host_env, self.tmp, self.opts.timeout)


def show(run: Run, label: str):
    """Prints how to reproduce a run, its status and the tails of its output."""
    print(f"--- {label}: {shlex.join(run.cmd)}\n    exit status {run.status}")
    for name, text in (("stdout", run.stdout), ("stderr", run.stderr)):
        if text:
            print(f"    {name} (last 20 lines):")
            print("".join(f"    | {line}\n" for line in text.splitlines()[-20:]), end="")


def same(what: str, a: str, b: str, la: str, lb: str) -> bool:
    if a == b:
        return True
    print(f"FAIL: {what} differs")
    sys.stdout.writelines(difflib.unified_diff(a.splitlines(True), b.splitlines(True), la, lb))
    print()
    return False


def check(cond: bool, message: str) -> bool:
    if not cond:
        print(f"FAIL: {message}")
    return cond


def mode_diff(s: Session) -> bool:
    ref, sim = s.reference(), s.probesim()
    ok = same("stdout", ref.stdout, sim.stdout, "reference", "probesim")
    ok &= check(ref.status == sim.status, f"exit status {sim.status}, reference {ref.status}")
    if s.opts.stderr:
        ok &= same("stderr", ref.stderr, sim.stderr, "reference", "probesim")
    if s.opts.expect_success:
        lines = ref.stdout.splitlines()
        ok &= check(lines[-1:] == ["EXIT-SUCCESS"], "reference run did not end with EXIT-SUCCESS")
    if not ok:
        show(ref, "reference")
        show(sim, "probesim")
    return ok


def mode_determinism(s: Session) -> bool:
    log = s.tmp / "probesim.log"
    flags = ["--seed", "1", "--stats", "--strace", "--output", str(log)]
    runs, logs = [], []
    for _ in range(2):
        log.unlink(missing_ok=True)
        runs.append(s.probesim(*flags))
        logs.append(log.read_text(errors="backslashreplace") if log.exists() else "")
    a, b = runs
    ok = check(a.status == b.status, f"exit status {a.status} then {b.status}")
    ok &= same("stdout", a.stdout, b.stdout, "run 1", "run 2")
    ok &= same("stderr", a.stderr, b.stderr, "run 1", "run 2")
    ok &= check(logs[0].strip() != "", "--stats --strace wrote nothing to --output")
    ok &= same("stats+strace log", logs[0], logs[1], "run 1", "run 2")
    if not ok:
        show(a, "probesim run 1")
    return ok


def mode_seeds(s: Session) -> bool:
    one, again, two = (s.probesim("--seed", seed) for seed in ("1", "1", "2"))
    ok = all(check(r.status == 0, f"seed run exited {r.status}") for r in (one, again, two))
    ok &= same("stdout with --seed 1", one.stdout, again.stdout, "seed 1", "seed 1 again")
    ok &= check(one.stdout != two.stdout, "--seed 1 and --seed 2 gave the same stdout")
    if not ok:
        show(two, "probesim --seed 2")
    return ok


def mode_segv(s: Session) -> bool:
    ref, sim = s.reference(), s.probesim()
    sigsegv = 128 + signal.SIGSEGV
    addr = int(s.opts.fault_addr, 16)
    named = {int(h, 16) for h in re.findall(r"\b(?:0x)?([0-9a-fA-F]{4,16})\b", sim.stderr)}
    ok = check(ref.status == sigsegv, f"reference exited {ref.status}, not by SIGSEGV")
    ok &= check(sim.status == sigsegv, f"probesim exited {sim.status}, expected {sigsegv}")
    ok &= same("stdout", ref.stdout, sim.stdout, "reference", "probesim")
    ok &= check("SIGSEGV" in sim.stderr, "probesim stderr does not name SIGSEGV")
    ok &= check(addr in named, f"probesim stderr does not name the fault address {hex(addr)}")
    if not ok:
        show(ref, "reference")
        show(sim, "probesim")
    return ok


def mode_badinput(s: Session) -> bool:
    sim = s.probesim()
    name = os.path.basename(s.argv()[0])
    ok = check(0 < sim.status < 128, f"probesim exited {sim.status}, expected 1..127")
    if s.opts.status is not None:
        ok &= check(sim.status == s.opts.status, f"probesim exited {sim.status}, not {s.opts.status}")
    ok &= check(name in sim.stderr, f"probesim stderr does not name {name}")
    for text in s.opts.expect:
        ok &= check(text.lower() in sim.stderr.lower(), f"probesim stderr lacks '{text}'")
    if not ok:
        show(sim, "probesim")
    return ok


def mode_simonly(s: Session) -> bool:
    sim = s.probesim()
    # Only this probesim run has been waited for: the children's peak RSS is its peak RSS.
    rss_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"probesim peak RSS: {rss_mib:.0f} MiB")
    ok = check(sim.status == 0, f"probesim exited {sim.status}, expected 0")
    ok &= check(sim.stdout.splitlines()[-1:] == ["EXIT-SUCCESS"], "stdout lacks EXIT-SUCCESS")
    for text in s.opts.expect:
        ok &= check(text in sim.stdout, f"probesim stdout lacks '{text}'")
    if s.opts.max_rss_mib:
        ok &= check(rss_mib < s.opts.max_rss_mib,
                    f"peak RSS {rss_mib:.0f} MiB, allowed below {s.opts.max_rss_mib} MiB")
    if not ok:
        show(sim, "probesim")
    return ok


MODES = {"diff": mode_diff, "simonly": mode_simonly, "determinism": mode_determinism, "seeds": mode_seeds,
         "segv": mode_segv, "badinput": mode_badinput}


def parse(argv):
    """Options, then `--`, then the program and its arguments (taken verbatim)."""
    split = argv.index("--") if "--" in argv else len(argv)
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                usage="%(prog)s [options] MODE [mode options] -- PROGRAM [ARGS...]")
    p.add_argument("--probesim", required=True, help="path of the probesim CLI binary")
    p.add_argument("--qemu-aarch64", default="qemu-aarch64", help="reference runner for AArch64")
    p.add_argument("--timeout", type=float, default=120, help="seconds per run")
    p.add_argument("--root", help="PROGRAM is inside this arm64 root (see above)")
    p.add_argument("--sim-flags", default="", help="extra probesim run options (one string)")
    p.add_argument("--keep", action="store_true", help="keep the temp dir")
    p.add_argument("mode", choices=sorted(MODES))
    p.add_argument("--env", action="append", default=[], metavar="K=V", help="extra environment")
    p.add_argument("--stderr", action="store_true", help="diff: compare stderr too")
    p.add_argument("--expect-success", action="store_true", help="diff: require EXIT-SUCCESS")
    p.add_argument("--fault-addr", default="0", help="segv: the faulting address, hex")
    p.add_argument("--expect", action="append", default=[],
                   help="badinput: stderr text; simonly: stdout text")
    p.add_argument("--max-rss-mib", type=float, default=0, help="simonly: peak RSS bound")
    p.add_argument("--status", type=int, help="badinput: the exact exit status")
    opts = p.parse_args(argv[:split])
    opts.command = argv[split + 1:]
    if not opts.command:
        p.error("missing PROGRAM after --")
    # Runs happen in a temp dir, so relative paths of the caller's cwd are made absolute (also,
    # qemu-user's /proc/self/exe is wrong after a chdir when started with a relative path).
    opts.probesim = os.path.abspath(opts.probesim)
    if os.path.exists(opts.command[0]) and not opts.root:
        opts.command[0] = os.path.abspath(opts.command[0])
    return opts


def main(argv) -> int:
    opts = parse(argv)
    if not os.access(opts.probesim, os.X_OK):
        print(f"FAIL: probesim CLI not found at {opts.probesim} (build target probesim_cli)")
        return 1
    if opts.root and not os.path.isfile(os.path.join(opts.root, CHROOT_QEMU.lstrip("/"))):
        print(f"FAIL: {opts.root} is not an arm64 root made by scripts/install-deps.sh")
        return 1
    if opts.root and os.geteuid() != 0:
        print("SKIP: the reference run needs root to chroot into the arm64 root")
        return SKIPPED
    session = Session(opts)
    try:
        ok = MODES[opts.mode](session)
    finally:
        session.close()
    print(("PASS " if ok else "FAILED ") + opts.mode + ": " + shlex.join(opts.command))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
