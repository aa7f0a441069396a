"""Machine.strace from Python on both architectures: lines as strace -f prints them ("[pid N]"
while more than one task exists), string_size as strace -s, fork's clone decoded."""
import re

import probesim

CLONE = (r"clone\(child_stack=NULL, flags=CLONE_CHILD_CLEARTID\|CLONE_CHILD_SETTID\|SIGCHLD, "
         r"child_tidptr=0x[0-9a-f]+\) = (\d+)")


def traced(machine, argv, **kw):
    lines = []
    machine.strace(lines.append, **kw)
    p = machine.spawn(argv)
    assert machine.run() is True and p.exit_code == 0
    return lines


def test_fork_is_decoded_and_lines_name_their_task_while_two_exist(machine, guest_program):
    lines = traced(machine, [str(guest_program("uprobed")), "fork"])
    clones = [re.fullmatch(CLONE, line) for line in lines if "clone(" in line]
    assert [int(c[1]) for c in clones if c] == [101, 102]  # each entered with one task alive
    assert '[pid   101] write(1, "child 1: probe_me=101\\n", 22) = 22' in lines
    assert "[pid   102] exit_group(0) = ?" in lines
    assert lines[-1] == "exit_group(0) = ?"  # the parent, alone again
    assert not any(line.startswith("[pid") for line in lines[:lines.index(clones[0][0]) + 1])


def test_string_size_cuts_buffers_as_strace_s_does(machine, guest_program):
    lines = traced(machine, [str(guest_program("uprobed")), "fork"], string_size=5)
    assert '[pid   101] write(1, "child"..., 22) = 22' in lines
