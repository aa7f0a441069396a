"""Finding races: explore schedules until one fails, replay it, shrink it.

    result = probesim.explore([prog], strategy="pct:2", runs=100, seed=1,
                              until=lambda p: b"counter 400000" not in p.stdout)
    if result:                      # a failing schedule was found
        print(result.replay_command)         # probesim replay ./probesim-failure-1-7.trace
        m = result.replay()                  # the same run again, exactly (add probes first
                                             # with result.replay(run=False))
        print(result.shrink())               # the critical preemption(s)

Kernel work that races (issue 16): bugs={"uprobe_no_revalidate"} re-creates a kernel bug,
setup=lambda m: m.uprobes.register(prog, "remap_target", at=100_000) queues a registration
for the machine's kworker in every run (and in replay()), and until_invariant=True fails a run
that breaks a kernel invariant (the CLI's --until-invariant). A shrunk preemption of the
kworker is also named in kernel terms (Preemption.kernel).

Run i of a strategy is a pure function of (seed, i): the same program, seed and strategy find
the same first failure serially, with jobs=N (forked worker processes) or with client=a Dask
distributed Client (probesim.explore_dask).
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from probesim._core import Machine, Preemption, Process, Trace

__all__ = ["ExploreResult", "ShrinkResult", "explore"]

Until = Callable[[Process], bool]
Setup = Callable[[Machine], object]

_ELF_MACHINES = {62: "x86_64", 183: "aarch64"}  # e_machine: EM_X86_64, EM_AARCH64


def _default_until(p: Process) -> bool:
    """A run fails when the program did not exit with status 0 (a deadlock included)."""
    return p.exit is None or p.exit_code != 0


def _detect_arch(root: str, program: str, cwd: str) -> str:
    guest = program if program.startswith("/") else os.path.join(cwd, program)
    host = os.path.join(root, guest.lstrip("/"))
    try:
        with open(host, "rb") as f:
            head = f.read(20)
    except OSError as e:
        raise ValueError(f"explore: cannot read the program {program}: {e.strerror}") from None
    if head[:4] != b"\x7fELF" or len(head) < 20:
        raise ValueError(f"explore: {program} is not an ELF file")
    machine = int.from_bytes(head[18:20], "little")
    if machine not in _ELF_MACHINES:
        raise ValueError(f"explore: {program}: unsupported machine {machine}")
    return _ELF_MACHINES[machine]


@dataclass(frozen=True)
class _Config:
    """Everything a run depends on except the schedule."""
    argv: tuple[str, ...]
    arch: str
    seed: int
    cpus: int
    quantum: int
    root: str
    env: Mapping[str, str] | None
    stdin: bytes
    cwd: str
    limits: Mapping[str, int] | None
    until: Until | None
    bugs: frozenset[str] = frozenset()
    setup: Setup | None = None
    until_invariant: bool = False

    def run(self, record: bool, watch: bool = False, **schedule) -> tuple[bool, Machine, Process]:
        """One schedule; record: record it; watch: name the conflicting accesses around its
        preemptions (Machine.watch_memory)."""
        m = Machine(self.arch, seed=self.seed, cpus=self.cpus, quantum=self.quantum,
                    root=self.root, limits=dict(self.limits) if self.limits else None,
                    bugs=set(self.bugs) or None, **schedule)
        if record:
            m.record()
        if watch:
            m.watch_memory()
        p = m.spawn(list(self.argv), env=self.env, stdin=self.stdin, cwd=self.cwd)
        if self.setup:
            self.setup(m)
        m.run()
        return self.failed(m, p), m, p

    def failed(self, m: Machine, p: Process) -> bool:
        if self.until_invariant and m.invariant_violations:
            return True
        until = self.until or (None if self.until_invariant else _default_until)
        return bool(until(p)) if until else False

    def outcome(self, m: Machine, p: Process) -> str:
        what = p.exit.description if p.exit else "deadlock: tasks blocked forever"
        v = m.invariant_violations if self.until_invariant else []
        return f"invariant violated: {v[0]}; {what}" if v else what


@dataclass
class ShrinkResult:
    """A failing schedule reduced to the preemptions it needs (delta debugging)."""
    preemptions: list[Preemption]   #: the kept preemptions, as Machine(preemptions=...) takes
    critical: list[Preemption]      #: the same as recorded, pcs symbolized (where, next_where)
    original: int                   #: preemptions of the failing run before shrinking
    runs: int                       #: schedules run while shrinking
    trace_path: str                 #: the shrunk run's trace

    setup: Setup | None = None      #: explore's setup, run again by replay()
    #: the failing run's choices where a task stopped by itself, repeated with the kept
    #: preemptions (Machine(preemptions=..., choices=...) runs the shrunk schedule again)
    choices: list[Preemption] = field(default_factory=list)

    def replay(self, *, run: bool = True) -> Machine:
        """Machine.replay of the shrunk trace, explore's setup applied (run unless run=False:
        add probes first)."""
        return _replay(self.trace_path, self.setup, run)

    def __str__(self) -> str:
        lines = [f"shrunk: {len(self.preemptions)} of {self.original} preemptions needed "
                 f"({self.runs} runs); trace {self.trace_path}"]
        if not self.critical:
            lines.append("the failure needs no preemption (it happens in a non-preemptive schedule)")
        for p in self.critical:
            lines.append(f"critical preemption: {p.describe()}")
            if p.kernel:
                lines.append(f"in kernel terms: {p.kernel}")
            if p.memory:
                lines.append(f"on memory: {p.memory}")
        lines.append(f"replay it with: probesim replay {self.trace_path}")
        return "\n".join(lines)


@dataclass
class ExploreResult:
    """What explore() found. True when a schedule failed."""
    strategy: str                 #: the strategy as run (pct:D gets its step estimate)
    seed: int
    runs_done: int                #: schedules run (serially: up to and including the failure)
    run: int | None = None        #: the first failing run, if any
    trace_path: str | None = None  #: its trace (replayable), if any
    outcome: str = ""             #: how the failing run ended ("exited with status 1")
    stdout: bytes = b""           #: its stdout
    _config: _Config | None = field(default=None, repr=False)

    def __bool__(self) -> bool:
        return self.run is not None

    @property
    def replay_command(self) -> str | None:
        """The shell command that replays the failing run."""
        return f"probesim replay {self.trace_path}" if self.trace_path else None

    def replay(self, *, run: bool = True) -> Machine:
        """Machine.replay of the failing run's trace, explore's setup applied (run unless
        run=False: add probes first)."""
        if not self.trace_path:
            raise ValueError("replay: no failing schedule was found")
        return _replay(self.trace_path, self._config.setup if self._config else None, run)

    def shrink(self, save: str | os.PathLike[str] | None = None) -> ShrinkResult:
        """Remove preemptions while the run still fails (ddmin over a guided schedule), run
        the result once more recording it (to `save`, default <trace>.shrunk.trace) and name
        its critical preemptions."""
        if not self.trace_path or self._config is None:
            raise ValueError("shrink: no failing schedule was found")
        trace = Trace(self.trace_path)
        original = list(trace.preemptions)
        # Who ran next where a task blocked, exited or yielded: no preemptions, so every run
        # repeats them (the guided strategy's own picks there would lead elsewhere).
        choices = list(trace.choices)
        runs = 0

        def fails(q: list[Preemption]) -> bool:
            nonlocal runs
            runs += 1
            return self._config.run(False, preemptions=q, choices=choices)[0]

        kept = _ddmin(original, fails)
        path = str(save) if save else re.sub(r"(\.trace)?$", ".shrunk.trace", self.trace_path, count=1)
        failed, m, _ = self._config.run(True, True, preemptions=kept, choices=choices)
        runs += 1
        if not failed:
            raise RuntimeError("shrink: the shrunk schedule did not fail again")
        m.save_trace(path)
        return ShrinkResult(kept, list(m.preemptions), len(original), runs, path,
                            self._config.setup, choices)

    def __str__(self) -> str:
        if not self:
            return (f"no failing schedule in {self.runs_done} runs of {self.strategy} "
                    f"(seed {self.seed})")
        return (f"run {self.run} of {self.strategy} (seed {self.seed}) fails: {self.outcome}\n"
                f"trace: {self.trace_path}\nreplay it with: {self.replay_command}\n"
                f"or in Python: probesim.Machine.replay({self.trace_path!r})")


def _replay(path: str, setup: Setup | None, run: bool) -> Machine:
    m = Machine.replay(path)
    if setup:
        setup(m)  # the kernel work it queued is not in the trace's process: queue it again
    if run:
        m.run()
    return m


def _ddmin(p: list[Preemption], fails: Callable[[list[Preemption]], bool]) -> list[Preemption]:
    """Zeller's ddmin: a 1-minimal subset of p for which fails() holds."""
    if not fails(p):
        raise RuntimeError("shrink: the failure does not reproduce when only its preemptions and "
                           "choices are kept")
    if fails([]):
        return []
    n = 2
    while len(p) >= 2:
        chunk = -(-len(p) // n)
        parts = [p[i:i + chunk] for i in range(0, len(p), chunk)]
        reduced = False
        for i, part in enumerate(parts):  # a chunk alone, then its complement
            if len(part) < len(p) and fails(part):
                p, n, reduced = part, 2, True
                break
        if not reduced:
            for i in range(len(parts)):
                rest = [x for j, q in enumerate(parts) if j != i for x in q]
                if fails(rest):
                    p, n, reduced = rest, max(n - 1, 2), True
                    break
        if reduced:
            continue
        if n >= len(p):
            break
        n = min(len(p), 2 * n)
    return p


def _calibrated(config: _Config, strategy: str) -> str:
    """pct:D and bounded:K without a step estimate: one run without preemptions (pct:1,
    bounded:0) counts the steps and the scheduling points (atomics and syscalls), and for
    bounded the tasks that ran (a preemption hands the CPU to one of the others)."""
    kind = re.fullmatch(r"(pct|bounded):\d+", strategy)
    if not kind:
        return strategy
    _, m, _ = config.run(False, sched="pct:1" if kind.group(1) == "pct" else "bounded:0")
    strategy += f":{max(m.stats['user_instructions'], 1)}"
    if kind.group(1) == "bounded":
        tasks = len({e.tid for e in m.schedule_log if e.tid >= 0})
        strategy += f":{min(max(tasks, 2), 64)}"
    return strategy + f":{m.stats['scheduling_points']}"


def _failure_path(save: str | os.PathLike[str] | None, seed: int, run: int) -> str:
    if save is None:
        return f"./probesim-failure-{seed}-{run}.trace"
    save = Path(save)
    return str(save / f"probesim-failure-{seed}-{run}.trace") if save.is_dir() else str(save)


def _result(config: _Config, strategy: str, run: int, done: int, path: str) -> ExploreResult:
    _, m, p = config.run(False, sched=strategy, run_index=run)  # for its outcome and output
    return ExploreResult(strategy, config.seed, done, run, path, config.outcome(m, p),
                         p.stdout, config)


def _search_serial(config: _Config, strategy: str, runs: range, save) -> ExploreResult:
    for i in runs:
        failed, m, p = config.run(True, sched=strategy, run_index=i)
        if failed:
            path = _failure_path(save, config.seed, i)
            m.save_trace(path)
            return ExploreResult(strategy, config.seed, i + 1 - runs.start, i, path,
                                 config.outcome(m, p), p.stdout, config)
    return ExploreResult(strategy, config.seed, len(runs), _config=config)


def _worker(config: _Config, strategy: str, runs: range, jobs: int, k: int, first, found, done,
            save) -> None:
    """Forked worker k: runs start+k, start+k+jobs, ... until past the first failure any
    worker found."""
    i = runs.start + k
    while i < runs.stop and i < first.value:
        failed, m, _ = config.run(True, sched=strategy, run_index=i)
        with done.get_lock():
            done.value += 1
        if failed:
            m.save_trace(_failure_path(save, config.seed, i) + f".run{i}.part")
            found[k] = i
            with first.get_lock():
                first.value = min(first.value, i)
            break
        i += jobs
    os._exit(0)


def _search_parallel(config: _Config, strategy: str, runs: range, jobs: int, save) -> ExploreResult:
    ctx = multiprocessing.get_context("fork")  # workers inherit `until` (no pickling)
    none = runs.stop
    first, done = ctx.Value("q", none), ctx.Value("q", 0)
    found = ctx.Array("q", [none] * jobs)
    workers = [ctx.Process(target=_worker, args=(config, strategy, runs, jobs, k, first, found,
                                                   done, save)) for k in range(jobs)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if any(w.exitcode != 0 for w in workers):
        raise RuntimeError("explore: a worker process failed")
    best = first.value
    for k in range(jobs):  # workers may have saved later failures before hearing of an earlier one
        run = found[k]
        if run == none:
            continue
        part = _failure_path(save, config.seed, run) + f".run{run}.part"
        if run == best:
            os.replace(part, _failure_path(save, config.seed, run))
        else:
            os.unlink(part)
    if best == none:
        return ExploreResult(strategy, config.seed, done.value, _config=config)
    return _result(config, strategy, best, done.value, _failure_path(save, config.seed, best))


def _dask_batch(config: _Config, strategy: str, start: int, stop: int) -> tuple[int, int | None, bytes]:
    """On a Dask worker: runs start..stop-1 serially until one fails; returns (runs run, the
    failing run or None, its trace's bytes)."""
    for i in range(start, stop):
        failed, m, _ = config.run(True, sched=strategy, run_index=i)
        if failed:
            with tempfile.TemporaryDirectory(prefix="probesim-dask-") as tmp:
                path = os.path.join(tmp, "failure.trace")
                m.save_trace(path)
                return i + 1 - start, i, Path(path).read_bytes()
    return stop - start, None, b""


def _search_dask(config: _Config, strategy: str, runs: range, client, save) -> ExploreResult:
    from probesim.explore_dask import first_failure
    found = first_failure(client, functools.partial(_dask_batch, config, strategy), runs)
    if found.run is None:
        return ExploreResult(strategy, config.seed, found.done, _config=config)
    path = _failure_path(save, config.seed, found.run)
    Path(path).write_bytes(found.trace)
    return _result(config, strategy, found.run, found.done, path)


def explore(argv: Sequence[str | os.PathLike[str]], *, strategy: str = "pct:2", runs: int = 1000,
            seed: int = 0, until: Until | None = None, arch: str | None = None, cpus: int = 2,
            quantum: int = 1_000_000, root: str | os.PathLike[str] = "/",
            env: Mapping[str, str] | None = None, stdin: bytes = b"",
            cwd: str = "/", limits: Mapping[str, int] | None = None,
            save: str | os.PathLike[str] | None = None, jobs: int = 1,
            first_run: int = 0, client=None,
            bugs: set[str] | frozenset[str] | Sequence[str] = (), setup: Setup | None = None,
            until_invariant: bool = False) -> ExploreResult:
    """Run schedules first_run..first_run+runs-1 of `strategy` ('random', 'pct:D[:STEPS[:POINTS]]',
    'bounded:K[:STEPS[:TASKS[:POINTS]]]': every schedule with at most K preemptions, depth first; the
    search stops at the last) for `seed` until one fails: until(process) returns True (default:
    the program did not exit with status 0). first_run resumes an earlier search.
    The failing run's trace goes to `save` (a file, or a directory for
    probesim-failure-<seed>-<run>.trace; default that name in the current directory).
    jobs=N runs schedules in N forked processes, client=a dask.distributed Client on that
    cluster's workers (probesim.explore_dask says what they need; `until` travels by
    cloudpickle); both find the same first failure as a serial search.
    Kernel races (issue 16): bugs= the kernel bug toggles of every Machine; setup(machine) runs
    after the spawn of every run and replay (queue kernel work there: uprobes.register(...,
    at=N)); until_invariant=True fails a run that breaks a kernel invariant
    (Machine.invariant_violations), besides until(process) when that is given too."""
    if runs < 1:
        raise ValueError("explore: runs must be at least 1")
    if first_run < 0:
        raise ValueError("explore: first_run must be at least 0")
    if jobs < 1:
        raise ValueError("explore: jobs must be at least 1")
    if client is not None and jobs != 1:
        raise ValueError("explore: give jobs or client, not both (the cluster's workers are the jobs)")
    if until is not None and not callable(until):
        raise TypeError("explore: until must be a callable taking a Process")
    if setup is not None and not callable(setup):
        raise TypeError("explore: setup must be a callable taking a Machine")
    if isinstance(bugs, str):
        raise TypeError("explore: bugs must be a set of toggle names, not a string")
    args = tuple(os.fspath(a) for a in argv)
    if not args:
        raise ValueError("explore: argv is empty")
    root = os.fspath(root)
    config = _Config(args, arch or _detect_arch(root, args[0], cwd), seed, cpus, quantum, root,
                     env, stdin, cwd, limits, until, frozenset(bugs), setup, until_invariant)
    strategy = _calibrated(config, strategy)
    total = Machine.strategy_runs(strategy)
    if total is not None and first_run >= total:
        raise ValueError(f"explore: first_run {first_run} is beyond the {total} schedules of {strategy}")
    span = range(first_run, first_run + runs if total is None else min(first_run + runs, total))
    if client is not None:
        return _search_dask(config, strategy, span, client, save)
    if jobs == 1:
        return _search_serial(config, strategy, span, save)
    return _search_parallel(config, strategy, span, jobs, save)
