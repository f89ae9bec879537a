"""Shared fixtures: one end-to-end demo run serves every test that reads a full run's outputs."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from spmopt.cli import app

ROOT = Path(__file__).resolve().parents[1]
DEMO_ARGS = ["--set", "territory.solver.time_limit=60", "--set", "simulation.replications=30"]


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """The demo scenario run through the CLI (30 replications): its output folder and the CLI arguments."""
    out = tmp_path_factory.mktemp("demo-run") / "demo"
    args = ["run", str(ROOT / "scenarios" / "demo.yaml"), "--out", str(out), *DEMO_ARGS]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return out, args
