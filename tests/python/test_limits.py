"""Machine(limits=...): machine-wide limits the guest sees as Linux's errnos."""
import pytest

import probesim
from probesim.testing import assert_exit, run_program

DEFAULTS = {"mem": 4 << 30, "disk": 2 << 30, "tasks": 4096, "files": 4096}


def test_limits_default_to_the_documented_values(arch):
    m = probesim.Machine(arch)
    assert m.limits == DEFAULTS
    stats = m.stats
    assert stats["mem_committed"] == 0 and stats["disk_used"] == 0 and stats["tasks"] == 0


def test_limits_given_as_a_dict_override_only_their_keys(arch):
    m = probesim.Machine(arch, limits={"tasks": 10, "disk": 1 << 20})
    assert m.limits == dict(DEFAULTS, tasks=10, disk=1 << 20)


def test_a_fork_bomb_stops_at_the_task_limit_with_eagain(arch, guest_program):
    m = probesim.Machine(arch, limits={"tasks": 16})
    p = run_program(m, [guest_program("forkbomb"), "16"])
    assert_exit(p, 0)
    assert b"fork failed with EAGAIN after 15 children (limit 16)" in p.stdout
    assert m.stats["tasks"] == 0  # every task is gone again


def test_memory_and_disk_usage_show_in_stats(arch, guest_program):
    m = probesim.Machine(arch, limits={"disk": 4 << 20})
    p = run_program(m, [guest_program("diskfill")])
    assert_exit(p, 0)
    assert b"write: ENOSPC after 4 MiB" in p.stdout
    assert m.stats["disk_used"] == 4 << 20  # the second file is still there
    assert m.stats["mem_committed"] > 0  # the zombie's mm stays for inspection


@pytest.mark.parametrize("limits, message", [
    ({"mem": 1 << 20}, "below the 16 MiB minimum"),
    ({"tasks": 0}, "task limit must be at least 1"),
    ({"files": 2_000_000}, "nr_open"),
    ({"cpu": 1}, "unknown key 'cpu'"),
    ({"mem": "4G"}, "expected an int"),
    ({"mem": -1}, "limits['mem']"),
    ([("mem", 1)], "expected a dict"),
])
def test_bad_limits_are_rejected_with_a_message_naming_them(arch, limits, message):
    with pytest.raises(probesim.BadArgument, match=message.replace("[", r"\[").replace("]", r"\]")):
        probesim.Machine(arch, limits=limits)
