"""Shared fixtures and the fast default run.

One end-to-end demo run serves every test that reads a full run's outputs.

`pytest` alone runs the fast selection for development: tests marked `slow` (more than about 3 s each) and the
notebooks (executed by nbmake) are deselected, and the summary says how many. `pytest --full` runs everything, as
the README's test command and CI do. Naming a test by its node id (`path::test`) or selecting by a marker expression
that mentions `slow` (`-m slow`) also runs slow tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from spmopt.cli import app

ROOT = Path(__file__).resolve().parents[1]
DEMO_ARGS = ["--set", "territory.solver.time_limit=60", "--set", "simulation.replications=30"]
DESELECTED = pytest.StashKey[int]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--full",
        action="store_true",
        default=False,
        help="run the whole suite: also the tests marked slow and the notebooks (the README's test command and CI)",
    )


def _runs_slow(config: pytest.Config) -> bool:
    return config.getoption("--full") or "slow" in (config.getoption("markexpr") or "")


@pytest.hookimpl(tryfirst=True)  # before `-m` filtering, so `-m slow` sees the notebooks' mark
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the notebooks slow; without --full, deselect every slow item not named by its node id."""
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.slow)
    if _runs_slow(config):
        return
    named = [arg.replace("\\", "/").removeprefix("./") for arg in config.args if "::" in arg]
    keep, slow = [], []
    for item in items:
        explicit = any(item.nodeid == n or item.nodeid.startswith((n + "[", n + "::")) for n in named)
        (slow if item.get_closest_marker("slow") and not explicit else keep).append(item)
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = keep
    config.stash[DESELECTED] = len(slow)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    deselected = config.stash.get(DESELECTED, 0)
    if deselected:
        terminalreporter.write_line(
            f"fast run: {deselected} slow test{'s' if deselected != 1 else ''} (notebooks included) deselected; "
            "`pytest --full` runs everything"
        )


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """The demo scenario run through the CLI (30 replications): its output folder and the CLI arguments."""
    out = tmp_path_factory.mktemp("demo-run") / "demo"
    args = ["run", str(ROOT / "scenarios" / "demo.yaml"), "--out", str(out), *DEMO_ARGS]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return out, args
