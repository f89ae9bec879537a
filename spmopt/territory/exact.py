"""The general path: the full Pyomo model with every constraint family, solved by HiGHS.

It handles whatever the specialised methods do not: labels for locks and disruption in
chosen-centre mode, disruption penalties, and contiguity, where a shortest-path model first finds a
contiguous alignment that the exact flow model then starts from.
"""

from __future__ import annotations

import dataclasses
import time

import pyomo.environ as pyo

from spmopt.config import SolverSettings
from spmopt.optim.solve import SolveStatus, solve
from spmopt.territory.alignment import Alignment, Progress, quiet
from spmopt.territory.inputs import TerritoryInputs
from spmopt.territory.model import build_territory_model
from spmopt.territory.start import contiguous_start


def solve_exact(inp: TerritoryInputs, settings: SolverSettings, progress: Progress = quiet) -> Alignment:
    """Build the full model, seed it when contiguity is asked for, and solve it within the time limit."""
    progress(f"Building the territory model ({len(inp.units)} units, {inp.territories} territories)")
    clock = time.perf_counter()
    model = build_territory_model(inp)
    build_seconds = time.perf_counter() - clock
    warm = False
    start_report = None
    if inp.contiguity:
        progress("Finding a first contiguous alignment (shortest-path model)")
        seed_limit = max(min(settings.time_limit / 3, 60.0), 1.0)
        start_report = contiguous_start(model, inp, settings.model_copy(update={"time_limit": seed_limit}))
        warm = start_report.status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)
        remaining = max(settings.time_limit - start_report.solve_seconds, 1.0)
        settings = settings.model_copy(update={"time_limit": remaining})
    progress(f"Solving with HiGHS (time limit {settings.time_limit:g} s, gap {settings.mip_gap:g})")
    report = solve(model, settings, warm_start=warm)
    report = dataclasses.replace(report, build_seconds=build_seconds)
    site_of: dict[str, str] = {}
    label_of: dict[str, str] = {}
    if report.status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE):
        site_of = {i: j for i, j in inp.pairs if pyo.value(model.assign[i, j]) > 0.5}
        if inp.labels:
            used = set(site_of.values())
            label_of = {j: next(lab for lab in inp.labels if pyo.value(model.label[j, lab]) > 0.5) for j in used}
    return Alignment(
        site_of=site_of,
        report=report,
        method="exact",
        label_of=label_of,
        details={
            "start": start_report.as_dict() if start_report is not None else None,
            "variables": model.nvariables(),
            "constraints": model.nconstraints(),
        },
    )
