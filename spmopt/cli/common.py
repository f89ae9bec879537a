"""What every command shares: the Typer app, the consoles, error and interrupt display."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from spmopt.errors import InfeasibleModelError, SolverError, SpmoptError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Sales performance management optimisation.")
console = Console(stderr=True)
out = Console()

Overrides = Annotated[list[str] | None, typer.Option("--set", help="Override a key: --set territory.contiguity=false")]


def fail(exc: SpmoptError, scenario: Path) -> None:
    message = str(exc)
    if isinstance(exc, InfeasibleModelError | SolverError):  # these concern the scenario as a whole
        message = f"{scenario}: {message}"
    console.print("[bold red]error:[/] ", end="", highlight=False)
    console.print(message, markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


def interrupted(target: Path | None) -> None:
    where = f"; {target} is as it was before this run" if target is not None else ""
    console.print(f"interrupted: nothing was written{where}", markup=False, highlight=False)
    if any(t.name == "spmopt-highs" and t.is_alive() for t in threading.enumerate()):
        # HiGHS is still unwinding in its own thread: tearing the interpreter down under it can crash the process
        # (exit -11 instead of 130), so leave at once; every file was already put back by then.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)
    raise typer.Exit(code=130)


def number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.2f}"


def print_warnings(warnings) -> None:
    for warning in warnings:
        console.print("[bold yellow]warning:[/] ", end="", highlight=False)
        console.print(warning, markup=False, highlight=False, soft_wrap=True)
