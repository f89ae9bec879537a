"""One benchmark run: a public instance solved by the product's territory engine, its result re-scored.

The instance becomes the same `TerritoryInputs` that `spmopt run` builds and goes through
`solve_territory`, so what is measured is the product. The reported objective is recomputed from the
returned assignment by `score`, which also checks every constraint; an engine objective that
disagrees with it is an engine bug and stops the run.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from spmopt.config import SolverSettings
from spmopt.errors import SolverError
from spmopt.optim.solve import SolveStatus, relative_gap
from spmopt.territory.alignment import Alignment
from spmopt.territory.engine import solve_territory
from spmopt.territory.instances import BenchInstance, score, to_inputs

Progress = Callable[[str], None]
AGREEMENT = 1e-6
"""Largest relative difference allowed between the engine's objective and the re-scored one."""


def _quiet(_: str) -> None:
    return None


def assignment_of(inst: BenchInstance, alignment: Alignment) -> list[int]:
    """Per point: its median's index (pmedian, cpmp), or its district label 0..k-1 numbered by smallest member."""
    sites = [alignment.site_of[str(i)] for i in range(inst.n)]
    if inst.kind != "district":
        return [int(s) for s in sites]
    first: dict[str, int] = {}
    for i, site in enumerate(sites):
        first.setdefault(site, i)  # points are visited in index order, so this is each district's smallest node
    label = {site: rank for rank, site in enumerate(sorted(first, key=first.__getitem__))}
    return [label[s] for s in sites]


def run_instance(
    inst: BenchInstance,
    time_limit: float,
    threads: int | None = None,
    mip_gap: float = 0.0,
    *,
    started: float | None = None,
    extra: dict[str, object] | None = None,
    progress: Progress = _quiet,
) -> dict[str, object]:
    """Solve `inst` with `solve_territory` and return the JSON-ready result (objective = score(assignment)).

    `started` is the `time.perf_counter()` reading taken before the instance was read, so `seconds`
    covers read + solve + score; without it the clock starts here.
    """
    clock = time.perf_counter() if started is None else started
    settings = SolverSettings(time_limit=time_limit, mip_gap=mip_gap, threads=threads)
    inp = to_inputs(inst)
    alignment = solve_territory(inp, settings, progress)
    report = alignment.report
    solved = report.status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE) and bool(alignment.site_of)
    assignment: list[int] = []
    objective: float | None = None
    if solved:
        assignment = assignment_of(inst, alignment)
        try:
            objective = score(inst, assignment)
        except ValueError as exc:
            raise SolverError(
                f"{inst.path}: the engine returned an assignment that violates the instance: {exc}"
            ) from None
        engine = report.objective
        if engine is not None and abs(engine - objective) > AGREEMENT * max(1.0, abs(objective)):
            raise SolverError(
                f"{inst.path}: the engine reports objective {engine!r} but its assignment scores {objective!r} "
                f"(method {alignment.method})"
            )
    bound = report.bound if report.bound is not None and math.isfinite(report.bound) else None
    seconds = time.perf_counter() - clock
    return {
        "instance": inst.name,
        "objective": objective,
        "bound": bound,
        "gap": relative_gap(objective, bound),
        "status": report.status.value,
        "seconds": round(seconds, 3),
        "kind": inst.kind,
        "file": str(inst.path),
        "n": inst.n,
        "k": inst.k,
        "method": alignment.method,
        "engine_objective": report.objective,
        "termination": report.termination,
        "solve_seconds": round(report.solve_seconds, 3),
        "build_seconds": round(report.build_seconds, 3),
        "handover_seconds": round(report.handover_seconds, 3),
        "solver": report.solver,
        "solver_version": report.solver_version,
        "time_limit": time_limit,
        "threads": threads,
        "mip_gap": mip_gap,
        **(extra or {}),
        "details": alignment.details,
        "assignment": assignment,
    }


def write_result(path: Path, result: dict[str, object]) -> None:
    """Write the result as JSON through a sibling temp file and a rename, so the file is whole or absent."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=1, default=str) + "\n"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        Path(tmp).chmod(0o644)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def summary_line(result: dict[str, object]) -> str:
    """instance, objective, bound, gap, status, seconds on one line."""

    def num(value: object) -> str:
        return "-" if value is None else f"{value:.10g}" if isinstance(value, float) else str(value)

    gap = result.get("gap")
    gap_text = "-" if gap is None else f"{100 * float(gap):.4f}%"
    return (
        f"{result['instance']}: objective {num(result.get('objective'))}, bound {num(result.get('bound'))}, "
        f"gap {gap_text}, status {result['status']}, {float(result['seconds']):.2f} s"
    )
