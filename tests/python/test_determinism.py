"""The determinism contract seen from Python: same inputs and seed, same everything."""
import probesim


def traced_run(arch, seed, argv):
    m = probesim.Machine(arch, seed=seed)
    lines = []
    m.strace(lines.append)
    p = m.spawn(argv, env={"HELLO_ENV": "d"})
    assert m.run()
    return {"stdout": p.stdout, "stderr": p.stderr, "exit": p.exit_code,
            "instructions": m.instructions, "cycles": m.cycles, "time": m.virtual_time,
            "strace": lines, "stats": m.stats}


def test_two_machines_with_the_same_seed_agree_on_everything(arch, guest_program):
    argv = [str(guest_program("hello")), "same"]
    first, second = traced_run(arch, 7, argv), traced_run(arch, 7, argv)
    assert first == second
    assert first["instructions"] > 1000 and first["cycles"] >= first["instructions"]
    assert len(first["strace"]) == sum(first["stats"]["syscalls"].values())
    assert any(line.startswith("write(1,") for line in first["strace"])


def test_the_seed_decides_at_random(arch, guest_program):
    argv = [str(guest_program("atrandom"))]
    a, b, c = traced_run(arch, 1, argv), traced_run(arch, 1, argv), traced_run(arch, 2, argv)
    assert b"AT_RANDOM=" in a["stdout"]
    assert a["stdout"] == b["stdout"]
    assert a["stdout"] != c["stdout"]
