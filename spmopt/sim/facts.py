"""The simulation stage's facts in the manifest: where it ran, what it played, how fast, and its headline."""

from __future__ import annotations

from typing import Literal

from spmopt.facts import Facts


class SimulationFacts(Facts):
    """What the simulation stage did."""

    stage: Literal["simulation"] = "simulation"
    executor: str
    """local (this process) or dask."""
    scheduler: str | None = None
    workers: int
    tasks: int | None = None
    """Dask tasks submitted (None when run locally)."""
    mode: str
    """responsive (effort answers the plan) or fixed_effort."""
    replications: int
    plans: list[str]
    seats: int
    behaviour_file: str
    behaviour_sha256: str
    behaviour_version: int
    dispersion_sigma: float | None = None
    """Sigma of seats' normal-effort years, matched to the quota stage's (None when the quotas carry none)."""
    skill_sigma: float
    seed: int
    prepare_seconds: float
    simulate_seconds: float
    events: int
    events_per_second: float | None = None
    headline: dict[str, dict[str, tuple[float, float, float]]]
    """Per candidate and metric: (mean, 95% CI low, 95% CI high)."""
