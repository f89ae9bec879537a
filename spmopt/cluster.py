"""Dask clients for spmopt's scale-out: an existing scheduler by address, or a local cluster of
single-threaded worker processes (the simulator's replications and batch scenarios are pure-Python tasks)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from spmopt.errors import SpmoptError


@contextmanager
def dask_client(workers: int | None, scheduler: str | None, fallback: str) -> Iterator[tuple[Any, int]]:
    """(client, number of workers) of `scheduler`, or of a local cluster of `workers` processes (one per core by
    default) with profiling off and the dashboard on a free port; closed on exit. `fallback` tells the user how
    to run without a cluster when a local one cannot start."""
    import dask
    from distributed import Client, LocalCluster

    # Workers sample every running task's stack every 10 ms by default; on pure-Python tasks that sampling
    # (and the GIL hand-offs it forces) costs more than a third of the throughput.
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
    except (OSError, RuntimeError, TimeoutError, ValueError) as exc:
        if cluster is not None:
            cluster.close()
        if scheduler is not None:
            raise SpmoptError(f"cannot connect to Dask scheduler {scheduler}: {exc}") from None
        raise SpmoptError(f"cannot start a local Dask cluster: {exc}; {fallback}") from None
    try:
        n_workers = len(client.scheduler_info()["workers"])
        if n_workers == 0:
            raise SpmoptError(f"Dask scheduler {scheduler} has no workers")
        yield client, n_workers
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
