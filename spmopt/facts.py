"""The base of every stage's facts: typed, frozen records of what a stage did, written to the manifest and read
back from it by the report and the batch (`spmopt.manifest`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Facts(BaseModel):
    """Immutable, strict: a field the model does not declare is an error on reading a manifest back."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class SolveFacts(Facts):
    """One solver call: what kind of answer it found, why it stopped, and its figures."""

    status: str
    """What kind of solution: optimal, feasible, infeasible, unbounded, no_solution, error."""
    termination: str
    """Why the solver stopped (optimal, time_limit, node_limit, ...)."""
    objective: float | None = None
    bound: float | None = None
    """Best proven bound on the objective."""
    gap: float | None = None
    """Relative gap between objective and bound (0.01 = 1%)."""
    build_seconds: float = 0.0
    handover_seconds: float = 0.0
    """Time to hand the model to the solver."""
    solve_seconds: float = 0.0
    solver: str = "highs"
    solver_version: str = ""
