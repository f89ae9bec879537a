"""Replications in parallel on Dask distributed: a LocalCluster by default, or an existing scheduler by address.

The plan-independent inputs, the plan contexts and the parameters are scattered to every worker once; each
task plays a contiguous chunk of replications. Results come back in replication order whatever order the
tasks finish in, so a run is identical on 1 worker or 20.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from spmopt.errors import SpmoptError
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
    uplift: np.ndarray | None = None
    """(seats, 12) coaching uplift of the win rate; every plan is then also played with coaching."""


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


def run_local(job: Job, n: int, progress: Progress | None = None) -> list[list[PlanYear]]:
    """All replications in this process, in order (tests, notebooks, a single core)."""
    out = []
    for r in range(n):
        out.append(
            simulate_replication(job.inputs, list(job.contexts), job.params, job.seed, r, job.fixed_effort, job.uplift)
        )
        if progress is not None:
            progress(r + 1, n)
    return out


def run_dask(
    job: Job, n: int, workers: int | None = None, scheduler: str | None = None, progress: Progress | None = None
) -> tuple[list[list[PlanYear]], dict[str, object]]:
    """All replications on a Dask cluster; returns them in replication order and facts about the cluster."""
    import dask
    from distributed import Client, LocalCluster, as_completed

    # Workers sample every running task's stack every 10 ms by default; on pure-Python replications that
    # sampling (and the GIL hand-offs it forces) costs more than a third of the throughput.
    dask.config.set({"distributed.worker.profile.enabled": False})
    cluster = None
    try:
        if scheduler is not None:
            client = Client(scheduler, timeout="20s")
        else:
            cluster = LocalCluster(
                n_workers=workers or os.cpu_count() or 1,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",  # a free port: two runs at once never collide
                silence_logs=logging.ERROR,
            )
            client = Client(cluster)
    except (OSError, RuntimeError, TimeoutError) as exc:
        if scheduler:
            raise SpmoptError(f"cannot connect to Dask scheduler {scheduler}: {exc}") from None
        raise SpmoptError(
            f"cannot start a local Dask cluster: {exc}; set simulation.workers: 1 to run the replications in this "
            "process, or simulation.scheduler to use a running cluster"
        ) from None
    try:
        n_workers = len(client.scheduler_info()["workers"])
        if n_workers == 0:
            raise SpmoptError(f"Dask scheduler {scheduler} has no workers")
        shared = client.scatter(job, broadcast=True)
        futures = [client.submit(play, shared, block, pure=False) for block in chunks(n, n_workers)]
        results: dict[int, list[PlanYear]] = {}
        for future in as_completed(futures):
            for r, years in future.result():
                results[r] = years
            if progress is not None:
                progress(len(results), n)
        facts = {"executor": "dask", "scheduler": scheduler or "local", "workers": n_workers, "tasks": len(futures)}
        return [results[r] for r in range(n)], facts
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
