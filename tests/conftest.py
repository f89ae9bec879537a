"""Shared fixtures and the fast default run.

One end-to-end demo run serves every test that reads a full run's outputs; it starts in a second process before
the first test, so it overlaps the tests that do not read it.

`pytest` alone runs the fast selection for development: tests marked `slow` (more than about 3 s each) and the
notebooks (executed by nbmake) are deselected, and the summary says how many. `pytest --full` runs everything, as
the README's test command and CI do. Naming a test by its node id (`path::test`) or selecting by a marker expression
that mentions `slow` (`-m slow`) also runs slow tests.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
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


def _demo_args(out: Path) -> list[str]:
    return ["run", str(ROOT / "scenarios" / "demo.yaml"), "--out", str(out), *DEMO_ARGS]


@pytest.fixture(scope="session", autouse=True)
def _demo_run_started(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[subprocess.Popen, Path, Path] | None]:
    """When a selected test reads the demo run, the run starts before the session's first test, in a second
    process (the same CLI command), so its minutes of solving and simulating overlap the tests that come before
    the first reader instead of adding to them; `demo_run` waits for it."""
    if not any("demo_run" in getattr(item, "fixturenames", ()) for item in request.session.items):
        yield None
        return
    out = tmp_path_factory.mktemp("demo-run") / "demo"
    log = out.parent / "cli-output.txt"
    with log.open("w", encoding="utf-8") as sink:
        command = [sys.executable, "-c", "from spmopt.cli import app; app()", *_demo_args(out)]
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    yield process, out, log
    if process.poll() is None:  # the session ended before any reader waited for it
        process.terminate()  # SIGTERM: the run closes its Dask cluster
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def demo_run(
    _demo_run_started: tuple[subprocess.Popen, Path, Path] | None, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, list[str]]:
    """The demo scenario run through the CLI (30 replications): its output folder and the CLI arguments."""
    if _demo_run_started is None:  # requested dynamically: run it here
        out = tmp_path_factory.mktemp("demo-run") / "demo"
        result = CliRunner().invoke(app, _demo_args(out))
        assert result.exit_code == 0, result.output
        return out, _demo_args(out)
    process, out, log = _demo_run_started
    code = process.wait()
    assert code == 0, log.read_text(encoding="utf-8")
    return out, _demo_args(out)
