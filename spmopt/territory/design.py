"""The territory stage: validated inputs -> the engine's alignment -> a named, summarised plan with its facts, or
a planner-readable error saying which requirement cannot be met."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from pydantic import JsonValue

from spmopt.config import SolverSettings
from spmopt.data.loader import PlanningData
from spmopt.errors import InfeasibleModelError, SolverError
from spmopt.facts import SolveFacts
from spmopt.optim.deadline import Deadline
from spmopt.optim.solve import SolveStatus
from spmopt.territory.diagnose import explain_infeasibility
from spmopt.territory.engine import solve_territory
from spmopt.territory.inputs import TerritoryInputs
from spmopt.territory.plan import TerritoryPlan, extract_territory_plan, moved_share_pct

SHARED_DETAILS = ("stopped_by", "reproducible", "clock_stopped", "first_plan_seconds")
"""Details several methods report, typed in `TerritoryFacts`; the rest stay in `method_details`."""


class TerritoryFacts(SolveFacts):
    """What the territory stage did: the solve, the method and how it stopped, the plan's headline figures."""

    stage: Literal["territory"] = "territory"
    method: str
    """The engine path that produced the alignment (`rooted`, `pmedian`, `capacitated`, ...)."""
    units: int
    territories: int
    compactness: float
    """The plan's compactness recomputed from scratch (distance-weighted sum, or cut edges)."""
    moved_share_pct: float | None = None
    """Share of the disruption measure that changed territory (None without a current alignment)."""
    stopped_by: str | None = None
    """The work limit or clock that ended the search."""
    reproducible: bool | None = None
    """True when only work limits (not the clock) decided where the search stopped."""
    clock_stopped: list[str] = []
    """Phases the clock cut short (empty when the run is reproducible under any load)."""
    first_plan_seconds: float | None = None
    method_details: dict[str, JsonValue] = {}
    """Method-specific counts (rounds, cuts, fixed columns, start quality)."""


Progress = Callable[[str], None]


def design_territories(
    inp: TerritoryInputs, settings: SolverSettings, data: PlanningData, progress: Progress = lambda _: None
) -> tuple[TerritoryPlan, TerritoryFacts]:
    """The engine's alignment of `inp` named and summarised; raises `InfeasibleModelError` naming the requirement
    that cannot be met (within what is left of the time limit) or `SolverError` when no plan was found in time."""
    deadline = Deadline.after(settings.time_limit)
    solved = solve_territory(inp, settings, progress)
    report = solved.report
    if report.status == SolveStatus.INFEASIBLE:
        # The diagnosis gets what is left of the stage's time limit, so the whole run ends near it; a few
        # seconds at least, which settles small designs even after a solve that used the whole limit.
        left = deadline.left(at_least=5.0)
        progress(f"Model is infeasible: finding which requirement conflicts (up to {left:.0f} s)")
        raise explain_infeasibility(inp, settings, budget_seconds=left)
    if report.status == SolveStatus.NO_SOLUTION:
        raise SolverError(
            f"no alignment found within the time limit of {settings.time_limit:g} s; raise "
            "territory.solver.time_limit, relax tolerances, or set territory.candidate_sites to prune"
        )
    plan = extract_territory_plan(solved, inp, data)
    if inp.contiguity and "contiguous" in plan.territories and not plan.territories["contiguous"].all():
        bad = plan.territories.loc[~plan.territories["contiguous"], "territory_id"].tolist()
        raise InfeasibleModelError(f"internal check failed: territories {bad} are not contiguous")
    details = dict(solved.details)
    shared = {k: details.pop(k) for k in SHARED_DETAILS if k in details}
    facts = TerritoryFacts(
        **report.as_dict(),
        **shared,
        method=solved.method,
        units=len(inp.units),
        territories=inp.territories,
        compactness=plan.objective_breakdown["compactness"],
        moved_share_pct=moved_share_pct(plan.alignment, inp),
        method_details=details,
    )
    return plan, facts
