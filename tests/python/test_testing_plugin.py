"""probesim.testing: the helpers a regression harness uses."""
import pytest

from probesim.testing import (DEFAULT_SEED, assert_exit, assert_probe_hits, assert_stdout,
                              find_guest_program, run_program)


def test_machine_fixture_has_the_fixed_seed_and_the_param_arch(machine, arch):
    assert machine.seed == DEFAULT_SEED and machine.arch == arch


def test_assert_exit_failure_shows_how_it_ended_and_the_output(machine, guest_program):
    p = run_program(machine, [guest_program("hello")])
    assert_exit(p, 1)
    with pytest.raises(AssertionError) as e:
        assert_exit(p, 0)
    text = str(e.value)
    assert "expected exit code 0, got 1" in text and "exited with status 1" in text
    assert "EXIT-SUCCESS" in text and "goes to stderr" in text


def test_assert_stdout_checks_containment(machine, guest_program):
    p = run_program(machine, [guest_program("hello")])
    assert_stdout(p, "argc=1")
    assert_stdout(p, b"argc=1")
    with pytest.raises(AssertionError, match="does not contain b'nope'"):
        assert_stdout(p, "nope")


def test_assert_probe_hits_checks_hits_and_misses(machine, guest_program):
    writes = machine.kprobes.register("ksys_write", name="writes")
    p = run_program(machine, [guest_program("hello")])
    assert_exit(p, 1)
    assert_probe_hits(writes, at_least=2)
    assert_probe_hits(writes, writes.hits)
    with pytest.raises(AssertionError, match="expected 0 hits: <KprobeHandle 'writes'"):
        assert_probe_hits(writes, 0)
    with pytest.raises(AssertionError, match="expected nmissed=1"):
        assert_probe_hits(writes, nmissed=1)


def test_run_program_with_until_leaves_the_process_running(machine, guest_program):
    p = run_program(machine, [guest_program("hello")], until=500)
    assert p.exit is None
    with pytest.raises(AssertionError, match="still running"):
        assert_exit(p, 0)


def test_a_missing_guest_skips_or_fails_when_guests_are_required(tmp_path, monkeypatch):
    monkeypatch.delenv("PROBESIM_REQUIRE_GUESTS", raising=False)
    with pytest.raises(pytest.skip.Exception, match="make build"):
        find_guest_program(tmp_path, "x86_64", "hello")
    monkeypatch.setenv("PROBESIM_REQUIRE_GUESTS", "1")
    with pytest.raises(pytest.fail.Exception, match="PROBESIM_GUEST_DIR"):
        find_guest_program(tmp_path, "aarch64", "hello")
    (tmp_path / "x86_64-musl").mkdir()
    (tmp_path / "x86_64-musl" / "hello").write_bytes(b"")
    assert find_guest_program(tmp_path, "x86_64", "hello", "x86_64-musl").name == "hello"


def test_assert_probe_hits_takes_uprobe_handles(machine, guest_program):
    prog = guest_program("uprobed")
    rp = machine.uretprobes.register(prog, "fact", lambda func, regs: None, name="fact")
    p = run_program(machine, [prog, "recurse"])
    assert_exit(p, 0)
    assert_probe_hits(rp, 6, ret_hits=6)  # a uretprobe's hits are its entries
    with pytest.raises(AssertionError, match="expected 5 ret_hits: <UprobeHandle uretprobe 'fact'"):
        assert_probe_hits(rp, ret_hits=5)


def test_make_machine_builds_with_defaults(make_machine, arch, probesim_seed):
    a = make_machine()
    b = make_machine(seed=7, cpus=2, sched="random", kernel=False)
    assert (a.arch, a.seed, a.cpus, a.sched) == (arch, probesim_seed, 1, "round_robin")
    assert (b.seed, b.cpus, b.sched, b.has_kernel) == (7, 2, "random", False)
    assert probesim_seed == DEFAULT_SEED  # ctest passes no --probesim-seed


def test_make_machine_closes_what_it_made_and_the_seed_option_reaches_the_fixtures(pytester):
    pytester.makeconftest('pytest_plugins = ["probesim.testing"]')
    pytester.makepyfile("""
        probes = []

        def test_seed(machine, make_machine, probesim_seed):
            assert probesim_seed == 42 and machine.seed == 42 and make_machine().seed == 42
            probes.append(make_machine().kprobes.register("kprobe_target"))

        def test_closed_after_the_test():
            assert len(probes) == 2 and not any(p.registered for p in probes)
    """)
    result = pytester.runpytest("--probesim-seed", "42", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)  # test_seed once per arch
