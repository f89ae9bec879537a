"""spmopt: territory design, quotas, comp plans, rep-behaviour simulation and coaching for sales planners."""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("spmopt")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

# Public API, imported on first use so `spmopt --help` does not pay for Pyomo and geopandas.
_PUBLIC = {
    "load_scenario": "spmopt.scenario",
    "load_planning_data": "spmopt.data.loader",
    "run_scenario": "spmopt.pipeline",
    "write_outputs": "spmopt.report.outputs",
    "ScenarioResult": "spmopt.pipeline",
    "prepare": "spmopt.preparation",
    "simulate_year": "spmopt.pipeline",
    "simulate_from_files": "spmopt.pipeline",
    "SimulationResult": "spmopt.sim.montecarlo",
    "load_behaviour": "spmopt.sim.params",
    "SpmoptError": "spmopt.errors",
    "load_plan": "spmopt.comp.plan",
    "evaluate": "spmopt.comp.engine",
    "payout_curves": "spmopt.comp.kpi",
    "what_if": "spmopt.comp.kpi",
    "UpliftModel": "spmopt.coaching.uplift",
    "uplift_model": "spmopt.coaching.run",
    "plan_coaching": "spmopt.coaching.run",
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'spmopt' has no attribute {name!r}")
