"""Replications in parallel on Dask distributed: a LocalCluster by default, or an existing scheduler by address.

The plan-independent inputs, the plan contexts and the parameters are scattered to every worker once; each
task plays a contiguous chunk of replications. Results come back in replication order whatever order the
tasks finish in, so a run is identical on 1 worker or 20.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from spmopt.cluster import dask_client
from spmopt.coaching.paths import CoachingPaths
from spmopt.sim.incentives import PlanContext
from spmopt.sim.inputs import SimInputs
from spmopt.sim.params import BehaviourParams
from spmopt.sim.replication import PlanYear, simulate_replication

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class Job:
    """Everything a worker needs to play replications."""

    inputs: SimInputs
    contexts: tuple[PlanContext, ...]
    params: BehaviourParams
    seed: int
    fixed_effort: bool
    uplift: np.ndarray | CoachingPaths | None = None
    """Coaching uplift of the win rate: (seats, 12), or per-draw and sensitivity paths (replication r plays draw r
    mod n)."""


def play(job: Job, replications: range) -> list[tuple[int, list[PlanYear]]]:
    """A chunk of replications, each under every plan."""
    return [
        (r, simulate_replication(job.inputs, list(job.contexts), job.params, job.seed, r, job.fixed_effort, job.uplift))
        for r in replications
    ]


def chunks(n: int, workers: int) -> list[range]:
    """About four tasks per worker (load balance) of at least one replication each."""
    size = max(1, n // max(4 * workers, 1))
    return [range(k, min(k + size, n)) for k in range(0, n, size)]


def run_local(job: Job, n: int, progress: Progress | None = None, start: int = 0) -> list[list[PlanYear]]:
    """Replications `start`..n-1 in this process, in order (tests, notebooks, a single core, a timing pilot)."""
    out = []
    for r in range(start, n):
        out.append(
            simulate_replication(job.inputs, list(job.contexts), job.params, job.seed, r, job.fixed_effort, job.uplift)
        )
        if progress is not None:
            progress(r + 1, n)
    return out


def run_dask(
    job: Job,
    n: int,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
    start: int = 0,
    connected: Callable[[int], None] | None = None,
) -> tuple[list[list[PlanYear]], dict[str, object]]:
    """Replications `start`..n-1 on a Dask cluster; returns them in replication order and facts about the
    cluster. `connected` hears the number of workers once the cluster is up, before any replication runs."""
    from distributed import as_completed

    hint = "set simulation.workers: 1 to run the replications in this process, or simulation.scheduler to use a "
    hint += "running cluster"
    with dask_client(workers, scheduler, hint) as (client, n_workers):
        if connected is not None:
            connected(n_workers)
        shared = client.scatter(job, broadcast=True)
        blocks = [range(start + b.start, start + b.stop) for b in chunks(n - start, n_workers)]
        futures = [client.submit(play, shared, block, pure=False) for block in blocks]
        results: dict[int, list[PlanYear]] = {}
        for future in as_completed(futures):
            for r, years in future.result():
                results[r] = years
            if progress is not None:
                progress(start + len(results), n)
        facts = {"executor": "dask", "scheduler": scheduler or "local", "workers": n_workers, "tasks": len(futures)}
        return [results[r] for r in range(start, n)], facts
