"""The simulation's output files: summary with confidence intervals, paired differences, per-replication
totals, attainment histogram and the tidy seat x month x replication table; with coaching, its return over the
parameter draws (coaching_roi.csv) and at fixed parameter sets side by side (coaching_sensitivity.csv)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from spmopt.coaching.run import CoachingPlan
from spmopt.sim.montecarlo import SimulationResult, plan_returns, sensitivity_table


def register_sim_files(
    result: SimulationResult, coaching: CoachingPlan | None, writers: dict[str, Callable[[Path], None]]
) -> None:
    """Add the simulation's files (under `simulation/`) and the coaching plan to an output folder's writers."""
    tables = {
        "simulation/summary.csv": result.summary,
        "simulation/differences.csv": result.differences,
        "simulation/replications.csv": result.replications,
        "simulation/attainment_histogram.csv": result.histogram,
        "simulation/seat_months.csv": result.seat_months,
    }
    if coaching is not None:
        tables["coaching.csv"] = coaching.table
        tables["simulation/coaching_roi.csv"] = plan_returns(result.coaching_roi)
        tables["simulation/coaching_sensitivity.csv"] = sensitivity_table(result.coaching_roi)
    for name, frame in tables.items():
        writers[name] = lambda p, frame=frame: frame.to_csv(p, index=False)
