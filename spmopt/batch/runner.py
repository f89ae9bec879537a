"""Run many scenarios end to end, one Dask task per scenario, skipping those whose outputs are already current.

A batch is planned in this process: every scenario is loaded (a file that does not validate is a failure, not
an abort), given its output folder `DIR/<name>` and its run key, and compared with the manifest of the folder
an earlier batch left there. Only the scenarios whose key changed are run, each exactly as `spmopt run` runs
one (stages with the shared `DIR/.spmopt-cache`, then the atomic output folder), on a local Dask cluster, an
existing one, or in this process. The ledger `DIR/batch.json` is rewritten atomically after every completion,
so an interrupted batch leaves an accurate record and the rerun picks up where it stopped.

The run key is what `manifest.json` records about a run's inputs: the sha256 of the resolved configuration, the
sha256 of every input file and spmopt's code fingerprint. Because output folders appear whole or not at all, a
folder whose manifest matches the key is a finished run of exactly this scenario.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from spmopt.cache import StageCache
from spmopt.cluster import dask_client as cluster_client
from spmopt.config import ScenarioConfig
from spmopt.data.loader import input_files
from spmopt.errors import ConfigError, SpmoptError
from spmopt.folder import check_output_folder
from spmopt.hashing import code_fingerprint, config_sha256, sha256_file
from spmopt.manifest import read_manifest
from spmopt.scenario import load_scenario

Status = Literal["pending", "done", "skipped", "failed"]
LEDGER = "batch.json"
CACHE = ".spmopt-cache"
OutcomeHook = Callable[["Outcome"], None]
MessageHook = Callable[[str, str], None]


class DuplicateScenarioError(ConfigError):
    """Two scenarios of one batch have the same name, so they would write the same output folder."""


@dataclass(frozen=True, slots=True)
class BatchOptions:
    """The command line of one batch."""

    out_dir: Path
    workers: int | None = None
    """Workers of the local Dask cluster (one per core when None); 1 runs the scenarios in this process."""
    scheduler: str | None = None
    """Address of an existing Dask scheduler; its workers must see the same files (shared file system)."""
    fresh: bool = False
    """Rerun every scenario and recompute every stage."""
    overrides: tuple[str, ...] = ()
    """`key.path=value` applied to every scenario."""


@dataclass(frozen=True, slots=True)
class RunKey:
    """What a finished output folder's manifest must record for the folder to count as current."""

    config_sha256: str
    inputs: dict[str, str]
    code_fingerprint: str

    @property
    def digest(self) -> str:
        """One sha256 over the three parts (the ledger's `run_key`)."""
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ScenarioTask:
    """One scenario ready to run; pickled to a Dask worker, so it carries the validated config, not a file to
    re-read there (a remote worker's working directory may differ from ours)."""

    index: int
    """Position on the command line."""
    file: Path
    name: str
    config: ScenarioConfig
    target: Path
    cache_dir: Path
    fresh: bool
    run_key: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """One scenario's line in the ledger."""

    index: int
    file: str
    name: str
    status: Status
    run_key: str | None = None
    error: str | None = None
    error_type: str | None = None
    traceback: str | None = None
    seconds: float | None = None
    """Wall seconds this batch spent on the scenario (None: not run by this batch)."""
    worker: str | None = None


@dataclass(frozen=True, slots=True)
class BatchPlan:
    """What a batch will do: every scenario's initial outcome (pending, skipped or failed to load) and the tasks
    for the pending ones."""

    out_dir: Path
    outcomes: tuple[Outcome, ...]
    tasks: tuple[ScenarioTask, ...]


@dataclass(frozen=True, slots=True)
class Executor:
    """Where the tasks ran."""

    kind: Literal["dask", "in-process", "none"]
    scheduler: str | None = None
    workers: int = 0
    dashboard: str | None = None


@dataclass(frozen=True, slots=True)
class BatchReport:
    """A finished batch: every scenario's outcome in command-line order."""

    out_dir: Path
    outcomes: tuple[Outcome, ...]
    executor: Executor
    seconds: float
    ledger: Path


# ---------------------------------------------------------------- planning


def check_overrides(overrides: Sequence[str]) -> None:
    """Refuse a malformed `--set` once for the whole batch rather than once per scenario."""
    for item in overrides:
        key, sep, _ = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {item!r}: expected key.path=value")


def batch_overrides(cfg: ScenarioConfig) -> list[str]:
    """Settings every batch task runs with, added after the user's overrides.

    The batch parallelises across scenarios, so a scenario's own replications stay in its task's process (a
    nested cluster per task would oversubscribe the cores), and HiGHS gets one thread where the scenario leaves
    the count open, so two tasks on two cores do not each start a pool sized to the machine."""
    extra = []
    if cfg.simulation is not None:
        extra += ["simulation.workers=1", "simulation.scheduler=null"]
    if cfg.territory.solver.threads is None:
        extra.append("territory.solver.threads=1")
    if cfg.quota is not None and cfg.quota.solver.threads is None:
        extra.append("quota.solver.threads=1")
    return extra


def load_for_batch(file: Path, overrides: Sequence[str]) -> ScenarioConfig:
    """The scenario as a batch task runs it: the user's overrides, then `batch_overrides`."""
    cfg = load_scenario(file, overrides)
    return load_scenario(file, [*overrides, *batch_overrides(cfg)])


def input_hashes(cfg: ScenarioConfig) -> dict[str, str]:
    """sha256 of every input file the scenario reads, without loading any of them.

    The file list is the loader's own (the one the manifest's `inputs` is built from), so the two compare key
    for key. A missing file hashes as "missing": the scenario then runs and fails with the loader's message."""
    return {str(p): sha256_file(p) if p.is_file() else "missing" for p in input_files(cfg)}


def run_key(cfg: ScenarioConfig) -> RunKey:
    """The key a finished folder of this scenario must carry."""
    return RunKey(config_sha256(cfg), input_hashes(cfg), code_fingerprint())


def is_current(target: Path, key: RunKey) -> bool:
    """True when `target` holds a finished run with exactly this configuration, inputs and code."""
    try:
        manifest = read_manifest(target)
    except SpmoptError:
        return False  # no folder, an unfinished one, or one another spmopt wrote: run it again
    return (
        manifest.command == "run"
        and manifest.config_sha256 == key.config_sha256
        and manifest.inputs == key.inputs
        and manifest.code_fingerprint == key.code_fingerprint
    )


def refuse_duplicate_names(loaded: Sequence[tuple[int, Path, ScenarioConfig]], out_dir: Path) -> None:
    """Each scenario owns `DIR/<name>`; two with one name would overwrite each other's outputs."""
    first: dict[str, Path] = {}
    for _, file, cfg in loaded:
        if cfg.name in first:
            raise DuplicateScenarioError(
                f"{first[cfg.name]} and {file} both have the name '{cfg.name}'; each scenario writes to "
                f"{out_dir / cfg.name}, so give them distinct names (name: in the scenario file)"
            )
        first[cfg.name] = file


def plan_batch(files: Sequence[Path], options: BatchOptions) -> BatchPlan:
    """Load every scenario, refuse duplicate names, and decide which to run; writes nothing."""
    check_overrides(options.overrides)
    out_dir = options.out_dir.resolve()
    outcomes: dict[int, Outcome] = {}
    loaded: list[tuple[int, Path, ScenarioConfig]] = []
    for index, given in enumerate(files):
        file = given.resolve()
        try:
            loaded.append((index, file, load_for_batch(file, options.overrides)))
        except SpmoptError as exc:
            outcomes[index] = _failed_outcome(index, file, file.stem, exc, traceback.format_exc(), None, None, None)
    refuse_duplicate_names(loaded, out_dir)
    tasks = []
    for index, file, cfg in loaded:
        key = run_key(cfg)
        target = out_dir / cfg.name
        if not options.fresh and is_current(target, key):
            outcomes[index] = Outcome(index, str(file), cfg.name, "skipped", key.digest)
            continue
        try:
            check_output_folder(target, [file, *cfg.input_paths()])
        except SpmoptError as exc:
            outcomes[index] = _failed_outcome(index, file, cfg.name, exc, "", key.digest, None, None)
            continue
        outcomes[index] = Outcome(index, str(file), cfg.name, "pending", key.digest)
        tasks.append(ScenarioTask(index, file, cfg.name, cfg, target, out_dir / CACHE, options.fresh, key.digest))
    return BatchPlan(out_dir, tuple(outcomes[i] for i in sorted(outcomes)), submission_order(tasks))


def submission_order(tasks: Sequence[ScenarioTask]) -> tuple[ScenarioTask, ...]:
    """The first scenario of each territory design first, then the others, each group in command-line order.

    Dask starts tasks roughly in submission order, so a scenario that shares its design with an earlier one
    usually starts after that design is in the shared cache instead of solving it again at the same moment (a
    time-limited design solved twice may even come out different). Usually, not always: with fewer distinct
    designs than workers, scenarios sharing one still start together."""
    from spmopt.pipeline import territory_key

    seen: set[str] = set()
    first, rest = [], []
    for task in tasks:
        try:
            key = territory_key(task.config)
        except OSError:  # an input file is missing: the task fails with the loader's message, alone
            key = f"unreadable:{task.name}"
        (rest if key in seen else first).append(task)
        seen.add(key)
    return (*first, *rest)


# ---------------------------------------------------------------- one task


def worker_label() -> str:
    """The Dask worker running this task, or "this process" outside Dask."""
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return "this process"


def run_task(task: ScenarioTask, progress: Callable[[str], None] | None = None) -> Outcome:
    """One scenario end to end as `spmopt run` does it: the stages (reusing the shared cache), then the atomic
    output folder. Never raises an `Exception`: a failure comes back as a failed outcome with its traceback,
    so one bad scenario cannot stop the others."""
    from spmopt.pipeline import run_scenario
    from spmopt.report.outputs import write_outputs

    clock = time.perf_counter()
    worker = worker_label()
    try:
        cache = StageCache(task.cache_dir, reuse=not task.fresh)
        result = run_scenario(task.config, progress=progress or _quiet, cache=cache)
        write_outputs(result, task.target, task.file)
    except Exception as exc:  # noqa: BLE001 - whatever went wrong belongs to this scenario alone
        seconds = time.perf_counter() - clock
        return _failed_outcome(
            task.index, task.file, task.name, exc, traceback.format_exc(), task.run_key, seconds, worker
        )
    return Outcome(
        task.index, str(task.file), task.name, "done", task.run_key, seconds=time.perf_counter() - clock, worker=worker
    )


def _quiet(_: str) -> None:
    return None


def _failed_outcome(
    index: int,
    file: Path,
    name: str,
    exc: BaseException,
    trace: str,
    key: str | None,
    seconds: float | None,
    worker: str | None,
) -> Outcome:
    # spmopt's own errors are written for the planner; anything else also needs its type to mean something.
    message = str(exc) if isinstance(exc, SpmoptError) else f"{type(exc).__name__}: {exc}"
    return Outcome(index, str(file), name, "failed", key, message, type(exc).__name__, trace, seconds, worker)


# ---------------------------------------------------------------- ledger


def write_text_atomic(path: Path, text: str) -> None:
    """Write a file through a sibling temp file and a rename, so readers see the old or the new text, whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        Path(tmp).chmod(0o644)  # mkstemp makes it private; the ledger and comparison are meant to be shared
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def counts(outcomes: Sequence[Outcome]) -> dict[str, int]:
    """Scenarios per status."""
    return {s: sum(o.status == s for o in outcomes) for s in ("done", "skipped", "failed", "pending")}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Ledger:
    """`DIR/batch.json`: the batch's settings and every scenario's outcome, rewritten after each completion."""

    def __init__(self, plan: BatchPlan, options: BatchOptions) -> None:
        self.path = plan.out_dir / LEDGER
        self.outcomes = {o.index: o for o in plan.outcomes}
        self.facts: dict[str, Any] = {
            "out": str(plan.out_dir),
            "started_utc": _now(),
            "finished_utc": None,
            "fresh": options.fresh,
            "overrides": list(options.overrides),
            "code_fingerprint": code_fingerprint(),
            "executor": asdict(Executor("none")),
        }

    def record(self, outcome: Outcome) -> None:
        self.outcomes[outcome.index] = outcome
        self.write()

    def ordered(self) -> tuple[Outcome, ...]:
        return tuple(self.outcomes[i] for i in sorted(self.outcomes))

    def write(self) -> None:
        ordered = self.ordered()
        body = {"batch": {**self.facts, "updated_utc": _now(), "counts": counts(ordered)}}
        body["scenarios"] = [asdict(o) for o in ordered]
        write_text_atomic(self.path, json.dumps(body, indent=2) + "\n")


# ---------------------------------------------------------------- running


def runs_in_process(options: BatchOptions) -> bool:
    """One worker and no scheduler: no cluster to start, the tasks run here one after another."""
    return options.scheduler is None and options.workers == 1


def run_batch(
    plan: BatchPlan,
    options: BatchOptions,
    on_outcome: OutcomeHook | None = None,
    on_message: MessageHook | None = None,
) -> BatchReport:
    """Run the plan's tasks, keeping the ledger; `on_outcome` hears every scenario's final outcome (skips and
    load failures first), `on_message` the stage messages of scenarios run in this process."""
    clock = time.perf_counter()
    hook = on_outcome or (lambda _: None)
    ledger = Ledger(plan, options)
    for outcome in plan.outcomes:
        if outcome.status != "pending":
            hook(outcome)

    def record(outcome: Outcome) -> None:
        ledger.record(outcome)
        hook(outcome)

    try:
        _execute(plan, options, ledger, record, on_message)
    except KeyboardInterrupt:
        # Finished scenarios are in the ledger and their folders; the rest stay pending for the rerun.
        ledger.facts["interrupted_utc"] = _now()
        ledger.write()
        raise
    ledger.facts["finished_utc"] = _now()
    ledger.write()
    executor = Executor(**ledger.facts["executor"])
    return BatchReport(plan.out_dir, ledger.ordered(), executor, time.perf_counter() - clock, ledger.path)


def _execute(
    plan: BatchPlan, options: BatchOptions, ledger: Ledger, record: OutcomeHook, on_message: MessageHook | None
) -> None:
    """The plan's tasks on nothing (all skipped), in this process, or on Dask."""
    if not plan.tasks:
        return
    if runs_in_process(options):
        ledger.facts["executor"] = asdict(Executor("in-process", None, 1))
        ledger.write()
        for task in plan.tasks:
            say = (lambda msg, name=task.name: on_message(name, msg)) if on_message else None
            record(run_task(task, say))
        return
    with dask_client(options.workers, options.scheduler) as (client, executor):
        ledger.facts["executor"] = asdict(executor)
        ledger.write()
        run_on_dask(client, plan.tasks, record)


@contextmanager
def dask_client(workers: int | None, scheduler: str | None) -> Iterator[tuple[Any, Executor]]:
    """A Dask client for the batch (see spmopt.cluster) and where its tasks will run."""
    hint = "use --workers 1 to run the scenarios in this process, or --scheduler to use a running cluster"
    with cluster_client(workers, scheduler, hint) as (client, n_workers):
        address = scheduler or client.scheduler.address
        yield client, Executor("dask", address, n_workers, client.dashboard_link)


def run_on_dask(client: Any, tasks: Sequence[ScenarioTask], record: OutcomeHook) -> None:
    """Submit one task per scenario and record each outcome as it completes, in whatever order that is."""
    from distributed import as_completed

    futures = {
        client.submit(run_task, task, pure=False, key=f"spmopt-batch-{task.name}-{os.urandom(4).hex()}"): task
        for task in tasks
    }
    for future in as_completed(futures):
        record(_collect(future, futures[future]))
        future.release()


def _collect(future: Any, task: ScenarioTask) -> Outcome:
    """The task's own outcome, or a failure when Dask lost it (a worker killed, say, by running out of memory:
    the task never got to report)."""
    if future.status == "finished":
        return future.result()
    try:
        exc = future.exception()
        trace = "".join(traceback.format_exception(type(exc), exc, future.traceback()))
    except Exception as lost:  # noqa: BLE001 - a cancelled future has no exception of its own to give
        exc, trace = lost, f"{type(lost).__name__}: {lost}"
    outcome = _failed_outcome(task.index, task.file, task.name, exc, trace, task.run_key, None, None)
    return replace(outcome, error=f"the Dask task did not complete ({outcome.error})")
