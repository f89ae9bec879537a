"""`spmopt workbench`: edit an alignment on a map in the browser, with the assessment redrawn after every edit."""

from __future__ import annotations

import webbrowser
from pathlib import Path
from typing import Annotated

import typer

from spmopt.cli.common import Overrides, app, fail, out, print_warnings
from spmopt.errors import SpmoptError


@app.command()
def workbench(
    scenario: Path,
    alignment: Annotated[
        Path | None,
        typer.Option(
            help="unit_id,territory_id for every unit to start from (default: today's alignment; without one, "
            "each unit with its nearest rep)"
        ),
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port on 127.0.0.1 (default: a free one)")] = None,
    browser: Annotated[bool, typer.Option(help="Open the page in the default browser")] = True,
    overrides: Overrides = None,
) -> None:
    """Open the territory workbench: move units on the map, lock them, undo, re-optimise around your edits and save
    versions that `spmopt run` accepts (in the scenario's workbench/ folder). Serves on 127.0.0.1 only; Ctrl-C
    stops it."""
    from spmopt.preparation import prepare
    from spmopt.scenario import load_scenario
    from spmopt.workbench.server import Workbench
    from spmopt.workbench.session import Session

    try:
        prepared = prepare(load_scenario(scenario, overrides or ()))
        session = Session.open(scenario, prepared, alignment)
    except SpmoptError as exc:
        fail(exc, scenario)
    print_warnings(list(prepared.data.warnings))
    bench = Workbench(session, port)

    def ready(url: str) -> None:
        out.print(f"workbench for {scenario} at {url}", soft_wrap=True, highlight=False)
        out.print("Ctrl-C stops it", highlight=False)
        if browser:
            webbrowser.open(url)

    try:
        bench.run(ready)
    except KeyboardInterrupt:
        out.print("workbench stopped")
