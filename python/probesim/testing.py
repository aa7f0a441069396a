"""pytest support for regression harnesses that run programs in probesim.

Enable it in a conftest.py::

    pytest_plugins = ["probesim.testing"]

and write tests such as::

    def test_hello(machine, guest_program):
        writes = machine.kprobes.register("ksys_write")
        mains = machine.uprobes.register(guest_program("hello"), "main", handler=lambda r: None)
        p = run_program(machine, [guest_program("hello"), "a"])
        assert_exit(p, 2)
        assert_stdout(p, "argv[1]=a")
        assert_probe_hits(writes, at_least=1)
        assert_probe_hits(mains, 1)

Fixtures:
  arch            each test runs once per architecture ("x86_64", "aarch64")
  probesim_seed   the seed: ``pytest --probesim-seed N``, else DEFAULT_SEED
  machine         a fresh Machine(arch, seed=probesim_seed)
  make_machine    make_machine(arch=, seed=, cpus=, sched=, **kw) -> Machine; closes every
                  machine it made when the test ends
  guest_dir       the directory of guest programs built by the main build (see below)
  guest_program   guest_program(name, flavour=None) -> path of that program for `arch`

  explore_schedules
                  explore_schedules(argv, until=None, strategy="pct:2", runs=100, shrink=False,
                  **kwargs) explores schedules of argv on `arch` with seed probesim_seed
                  (probesim.explore); a failing schedule fails the test with its outcome and
                  the command that replays it (the trace is kept under the test's tmp_path).

Guest programs come from ``$PROBESIM_GUEST_DIR/<flavour>/<name>``; the variable defaults to
``<pytest rootdir>/build/guest``. A missing program skips the test with a message saying how
to build it, unless ``PROBESIM_REQUIRE_GUESTS=1`` (ctest sets it), where it fails instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import pytest

import probesim

#: The seed of the `machine` fixture: runs are reproducible bit for bit.
DEFAULT_SEED = 1

#: The guest flavour used by default for each architecture.
DEFAULT_FLAVOURS = {"x86_64": "x86_64-glibc", "aarch64": "aarch64-glibc"}

# Helpers only: the fixtures reach tests through pytest_plugins, not imports.
__all__ = [
    "DEFAULT_FLAVOURS",
    "DEFAULT_SEED",
    "assert_exit",
    "assert_probe_hits",
    "assert_stdout",
    "explore_failure_message",
    "find_guest_program",
    "run_program",
]


def run_program(machine: probesim.Machine, argv: Sequence[str | os.PathLike[str]], *,
                env: Mapping[str, str] | None = None, stdin: bytes = b"", cwd: str = "/",
                until: int | None = None) -> probesim.Process:
    """Spawn argv in `machine`, run the machine (to completion, or `until` more
    instructions) and return the process."""
    p = machine.spawn(argv, env=env, stdin=stdin, cwd=cwd)
    machine.run(until=until)
    return p


def _describe(p: probesim.Process) -> str:
    def tail(data: bytes) -> str:
        text = data.decode("utf-8", "backslashreplace")
        return text if len(text) <= 2000 else "..." + text[-2000:]

    ending = p.exit.description if p.exit else "still running"
    return (f"pid {p.pid} ({p.comm}): {ending}\n"
            f"--- stdout ---\n{tail(p.stdout)}\n--- stderr ---\n{tail(p.stderr)}")


def assert_exit(p: probesim.Process, code: int = 0) -> None:
    """Assert that p exited with status `code` (a negative code means killed by signal
    -code, as subprocess.returncode); the failure shows how it ended and its output."""
    __tracebackhide__ = True
    if p.exit_code != code:
        raise AssertionError(f"expected exit code {code}, got {p.exit_code}\n{_describe(p)}")


def assert_stdout(p: probesim.Process, contains: str | bytes) -> None:
    """Assert that p's stdout contains `contains`."""
    __tracebackhide__ = True
    needle = contains.encode() if isinstance(contains, str) else contains
    if needle not in p.stdout:
        raise AssertionError(f"stdout does not contain {needle!r}\n{_describe(p)}")


def assert_probe_hits(probe: probesim.KprobeHandle | probesim.KretprobeHandle
                      | probesim.UprobeHandle, expected: int | None = None, *,
                      at_least: int | None = None, nmissed: int | None = 0,
                      ret_hits: int | None = None) -> None:
    """Assert on a probe's counters: exactly `expected` hits and/or at least `at_least`,
    `nmissed` misses (default 0; None accepts any; uprobes have none) and, for a uprobe
    handle, `ret_hits` returns seen. The failure names the probe."""
    __tracebackhide__ = True
    problems = []
    if expected is not None and probe.hits != expected:
        problems.append(f"expected {expected} hits")
    if at_least is not None and probe.hits < at_least:
        problems.append(f"expected at least {at_least} hits")
    if nmissed is not None and getattr(probe, "nmissed", 0) != nmissed:
        problems.append(f"expected nmissed={nmissed}")
    if ret_hits is not None and getattr(probe, "ret_hits", None) != ret_hits:
        problems.append(f"expected {ret_hits} ret_hits")
    if problems:
        raise AssertionError(f"{'; '.join(problems)}: {probe!r}")


def find_guest_program(directory: Path, arch: str, name: str, flavour: str | None = None) -> Path:
    """Path of guest program `name` for `arch`; skips (or fails under
    PROBESIM_REQUIRE_GUESTS=1) when it was not built."""
    __tracebackhide__ = True
    flavour = flavour or DEFAULT_FLAVOURS[arch]
    path = directory / flavour / name
    if not path.is_file():
        message = (f"guest program {path} is missing: build the guests (make build) or set "
                   f"PROBESIM_GUEST_DIR to the directory holding <flavour>/<program>")
        if os.environ.get("PROBESIM_REQUIRE_GUESTS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(params=probesim.ARCHES)
def arch(request: pytest.FixtureRequest) -> str:
    """The architecture under test; tests using it run once per architecture."""
    return request.param


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--probesim-seed", type=int, default=None, metavar="N",
                     help=f"seed of the machine and make_machine fixtures (default "
                          f"{DEFAULT_SEED}): rerun a suite under another seed")


@pytest.fixture
def probesim_seed(pytestconfig: pytest.Config) -> int:
    """The seed machines get: --probesim-seed, else DEFAULT_SEED."""
    seed = pytestconfig.getoption("--probesim-seed")
    return DEFAULT_SEED if seed is None else seed


@pytest.fixture
def machine(arch: str, probesim_seed: int) -> probesim.Machine:
    """A fresh machine of `arch` with the seed probesim_seed (DEFAULT_SEED by default)."""
    return probesim.Machine(arch, seed=probesim_seed)


@pytest.fixture
def make_machine(arch: str, probesim_seed: int) -> Iterator[Callable[..., probesim.Machine]]:
    """make_machine(arch=<the arch param>, seed=<probesim_seed>, cpus=1,
    sched="round_robin", **kwargs): a new Machine; every machine made is closed (its probes
    and callbacks released) when the test ends."""
    made: list[probesim.Machine] = []

    def make(arch: str = arch, seed: int | None = None, cpus: int = 1,
             sched: str = "round_robin", **kwargs: object) -> probesim.Machine:
        m = probesim.Machine(arch, seed=probesim_seed if seed is None else seed, cpus=cpus,
                             sched=sched, **kwargs)
        made.append(m)
        return m

    yield make
    for m in made:
        m.close()


@pytest.fixture(scope="session")
def guest_dir(pytestconfig: pytest.Config) -> Path:
    """$PROBESIM_GUEST_DIR, or <rootdir>/build/guest."""
    value = os.environ.get("PROBESIM_GUEST_DIR")
    return Path(value) if value else Path(pytestconfig.rootpath) / "build" / "guest"


@pytest.fixture
def guest_program(guest_dir: Path, arch: str) -> Callable[..., Path]:
    """guest_program(name, flavour=None): the path of a guest program for `arch`."""
    def find(name: str, flavour: str | None = None) -> Path:
        __tracebackhide__ = True
        return find_guest_program(guest_dir, arch, name, flavour)
    return find


def explore_failure_message(result: probesim.ExploreResult,
                            shrunk: probesim.ShrinkResult | None = None) -> str:
    """What a test says when `result` found a failing schedule: the run, how it ended, its
    stdout, the trace and the command that replays it (and the critical preemptions when
    `shrunk` is given)."""
    stdout = result.stdout.decode("utf-8", "backslashreplace")
    lines = [f"a schedule fails: {result}",
             f"--- stdout of the failing run ---\n{stdout if len(stdout) <= 2000 else '...' + stdout[-2000:]}"]
    if shrunk is not None:
        lines.append(str(shrunk))
    return "\n".join(lines)


@pytest.fixture
def explore_schedules(arch: str, probesim_seed: int,
                      tmp_path: Path) -> Callable[..., probesim.ExploreResult]:
    """explore_schedules(argv, until=None, strategy="pct:2", runs=100, shrink=False, **kwargs):
    probesim.explore(argv, arch=<the arch param>, seed=<probesim_seed>, save=<tmp_path>, ...).
    When a schedule fails (until(process) is true; default: a non-zero exit or a deadlock) the
    test fails with the run, its outcome and `probesim replay <trace>`; shrink=True adds the
    critical preemptions. Returns the ExploreResult when no schedule failed."""
    def run(argv: Sequence[str | os.PathLike[str]], until: Callable[[probesim.Process], bool]
            | None = None, strategy: str = "pct:2", runs: int = 100, shrink: bool = False,
            **kwargs: object) -> probesim.ExploreResult:
        __tracebackhide__ = True
        result = probesim.explore(argv, arch=arch, seed=probesim_seed, until=until,
                                  strategy=strategy, runs=runs, save=tmp_path, **kwargs)
        if result:
            pytest.fail(explore_failure_message(result, result.shrink() if shrink else None),
                        pytrace=False)
        return result
    return run
