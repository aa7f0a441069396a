"""/proc/<pid>/maps and status in Linux's formats (fs/proc/task_mmu.c, array.c), read by a
guest, and execve of /proc/self/exe (busybox's standalone applets). cmdline and comm are
compared with native runs in e2e.busybox.sh.proc."""
import os
import re

import pytest

import probesim
from probesim.testing import assert_exit, run_program

BUSYBOX = "/bin/busybox"
pytestmark = pytest.mark.skipif(not os.path.exists(BUSYBOX), reason="needs Debian's busybox-static")

# show_vma_header_prefix: start-end perms offset major:minor inode, then the name at column 73.
MAPS = re.compile(r"([0-9a-f]{8,})-([0-9a-f]{8,}) ([r-][w-][x-][ps]) ([0-9a-f]{8}) "
                  r"([0-9a-f]{2}):([0-9a-f]{2}) (\d+) (.*)")


def machine():
    return probesim.Machine("x86_64", seed=1)


def test_maps_has_linux_columns_and_names_at_column_73():
    p = run_program(machine(), [BUSYBOX, "cat", "/proc/self/maps"])
    assert_exit(p, 0)
    lines = p.stdout.decode().splitlines()
    parsed = [MAPS.fullmatch(line) for line in lines]
    assert all(parsed), [l for l, m in zip(lines, parsed) if not m]
    starts = [int(m[1], 16) for m in parsed]
    assert starts == sorted(starts)
    named = {m[8].strip(): (m, line) for m, line in zip(parsed, lines) if m[8].strip()}
    exe = os.path.realpath(BUSYBOX)  # d_path: the canonical path (/bin may be a symlink)
    assert {exe, "[heap]", "[stack]"} <= set(named)
    for name, (m, line) in named.items():
        assert line.index(name) == 73, line
    text, _ = named[exe]
    assert int(text[7]) > 0 and (text[5], text[6]) == ("00", "20")  # the root fs: 0:32
    stack, _ = named["[stack]"]
    assert stack[3] == "rw-p" and stack[4] == "00000000" and stack[7] == "0"
    unnamed = [line for m, line in zip(parsed, lines) if not m[8]]
    assert all(line.endswith(" 0 ") for line in unnamed)  # anonymous: a trailing space


def test_status_names_the_process_with_linux_fields():
    p = run_program(machine(), [BUSYBOX, "cat", "/proc/self/status"])
    assert_exit(p, 0)
    fields = dict(line.split(":\t", 1) for line in p.stdout.decode().splitlines())
    assert list(fields)[:8] == ["Name", "Umask", "State", "Tgid", "Ngid", "Pid", "PPid",
                                "TracerPid"]
    assert fields["Name"] == "busybox" and fields["Umask"] == "0022"
    assert fields["State"] == "R (running)"
    assert fields["Pid"] == fields["Tgid"] == str(p.pid) and fields["PPid"] == "1"
    assert fields["Uid"] == "0\t0\t0\t0" and fields["Threads"] == "1"
    assert re.fullmatch(r" +\d+ kB", fields["VmSize"]) and int(fields["VmSize"].split()[0]) > 0
    assert all(re.fullmatch(r"[0-9a-f]{16}", fields[k])
               for k in ("SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt", "CapEff"))


def test_proc_pid_lists_the_text_files():
    p = run_program(machine(), [BUSYBOX, "ls", "/proc/self/"])
    assert_exit(p, 0)
    assert p.stdout.split() == [b"cmdline", b"comm", b"cwd", b"exe", b"fd", b"maps", b"stat",
                                b"statm", b"status", b"task"]


def test_execve_of_proc_self_exe_runs_busybox_standalone_applets():
    # No applet links on PATH: busybox sh re-executes /proc/self/exe for `wc` (not NOFORK).
    p = run_program(machine(), [BUSYBOX, "sh", "-c", "ls / | wc -l"],
                    env={"PATH": "/nonexistent"})
    assert_exit(p, 0)
    assert int(p.stdout) == len([n for n in os.listdir("/") if not n.startswith(".")])


def test_proc_lists_every_live_process_and_shows_another_ones_files():
    # The shell forks ls (pid + 1): /proc holds both; the shell's own maps are readable by a
    # child (head is not run in the shell's process either).
    p = run_program(machine(), [BUSYBOX, "sh", "-c", "ls /proc; head -n 1 /proc/$$/maps"],
                    env={"PATH": "/nonexistent"})
    assert_exit(p, 0)
    lines = p.stdout.decode().splitlines()
    assert {str(p.pid), str(p.pid + 1), "self"} <= set(lines)
    assert lines[-1].endswith(os.path.realpath(BUSYBOX)) and MAPS.fullmatch(lines[-1])
