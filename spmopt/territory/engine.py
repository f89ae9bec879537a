"""The territory engine: one entry point that picks the method suited to the problem's structure.

`spmopt run` and `spmopt bench` both call `solve_territory`, so the public benchmarks measure the
product. Every method returns an `Alignment` in ids; its objective is re-scored from the alignment
itself by `score_alignment`, so a method cannot report a value its assignment does not have.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from spmopt.config import SolverSettings
from spmopt.optim.solve import SolveStatus, relative_gap
from spmopt.territory.alignment import Alignment, Progress, quiet, score_alignment
from spmopt.territory.inputs import TerritoryInputs


def solve_territory(inp: TerritoryInputs, settings: SolverSettings, progress: Progress = quiet) -> Alignment:
    """Solve the design with the strongest method that applies; a plan from the heuristic when it finds none.

    A method that ends without any alignment (its limits stopped it first) is followed by the general
    heuristic, whose plan is returned when it meets every requirement, with the method's bound if any.
    """
    solved = _dispatch(inp, settings, progress)
    if solved.site_of or solved.report.status == SolveStatus.INFEASIBLE:
        return solved
    return _heuristic_fallback(inp, solved, progress)


def _heuristic_fallback(inp: TerritoryInputs, solved: Alignment, progress: Progress) -> Alignment:
    from spmopt.territory.arrays import territory_arrays
    from spmopt.territory.heuristic import design_heuristic

    progress(f"{solved.method} found no alignment; trying the region-growing heuristic")
    try:
        arr = territory_arrays(inp)
        plan = design_heuristic(arr, time_limit=FALLBACK_SECONDS)
    except MemoryError:
        return solved
    if not plan.feasible:
        return solved
    site_of = {inp.units[i]: inp.sites[int(plan.site[t])] for i, t in enumerate(plan.slot.tolist())}
    label_of = {}
    if inp.labels:
        label_of = {inp.sites[int(plan.site[t])]: arr.slot_label[t] for t in range(arr.k)}
    value = score_alignment(inp, site_of) + (plan.cost - _compactness_only(plan, arr))
    bound = solved.report.bound
    report = dataclasses.replace(
        solved.report,
        status=SolveStatus.FEASIBLE,
        objective=value,
        bound=bound,
        gap=relative_gap(value, bound),
        solve_seconds=solved.report.solve_seconds + plan.seconds,
    )
    details = {**solved.details, "fallback": "heuristic", "heuristic_seconds": round(plan.seconds, 3)}
    return Alignment(
        site_of=site_of, report=report, method=f"{solved.method}+heuristic", label_of=label_of, details=details
    )


def _compactness_only(plan, arr) -> float:
    """The heuristic's cost without its disruption price (the price is added back to the re-scored compactness)."""
    moved = sum(
        float(arr.moved_weight[i])
        for i, t in enumerate(plan.slot.tolist())
        if arr.current[i] >= 0 and arr.current[i] != t
    )
    return plan.cost - arr.moved_price * (moved + arr.moved_forced) if arr.moved_price else plan.cost


FALLBACK_SECONDS = 30.0
"""Safety-net time of the heuristic run after a method found nothing (its effort limits usually stop it first)."""


@dataclass(frozen=True, slots=True)
class Method:
    """One entry of the registry: when it applies and how it solves, with one signature for all."""

    name: str
    applies: Callable[[TerritoryInputs], bool]
    solve: Callable[[TerritoryInputs, SolverSettings, Progress], Alignment]


def methods() -> tuple[Method, ...]:
    """The registry, strongest first: the first method whose predicate holds solves the design."""
    # Imported here so that importing the engine stays cheap and method modules never import it.
    from spmopt.territory import capacitated, contiguous, exact, large, pmedian, rooted

    return (
        Method("pmedian", pmedian.pmedian_applies, pmedian.solve_pmedian),
        Method("capacitated", capacitated.applies, lambda inp, st, _: capacitated.solve_capacitated(inp, st)),
        Method("contiguous", _districting, contiguous.solve_contiguous),
        Method("large", large_applies, large.solve_large),
        Method("rooted", rooted.applies, rooted.solve_rooted),
        Method("exact", lambda _: True, exact.solve_exact),
    )


def _districting(inp: TerritoryInputs) -> bool:
    from spmopt.territory.contiguous import handles

    return handles(inp) and (inp.contiguity or inp.compactness == "cut_edges")


def _dispatch(inp: TerritoryInputs, settings: SolverSettings, progress: Progress) -> Alignment:
    """The first registered method that applies to the design's structure."""
    method = next(m for m in methods() if m.applies(inp))
    return method.solve(inp, settings, progress)


LARGE_UNITS = 2000
"""Above this many units a rep-based design goes to the LP-rounding method: at 3,000 units and 30 reps it came
within 0.035% of the exact model's value 29x faster (models/territory/large.md); at 30,000 the exact flow model
is out of reach."""


def large_applies(inp: TerritoryInputs) -> bool:
    """Rep-based distance designs above `LARGE_UNITS` units without labels (locks and disruption included)."""
    return inp.fixed_sites and inp.compactness == "distance" and not inp.labels and len(inp.units) > LARGE_UNITS
