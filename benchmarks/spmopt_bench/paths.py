"""Where the benchmarks find the checkout's files.

The package sits at `<checkout>/benchmarks/spmopt_bench/`; every instance, scenario, behaviour file and stored
result the benchmarks use is named from the checkout root found here, so one place knows that layout.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
"""The source checkout: the folder holding `benchmarks/`, `scenarios/`, `models/` and `spmopt/`."""
BENCHMARKS = ROOT / "benchmarks"
INSTANCES = BENCHMARKS / "instances"
"""The public instances of the suites."""
RESULTS = BENCHMARKS / "results"
"""Stored per-instance results, `<suite>/<instance>.json`."""
SCENARIOS = ROOT / "scenarios"
MODELS = ROOT / "models"
