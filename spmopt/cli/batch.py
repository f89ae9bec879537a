"""`spmopt batch`: many scenarios on Dask, with progress, a ledger and a comparison."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from spmopt.cli.common import Overrides, app, console, fail, out
from spmopt.errors import SpmoptError


@app.command()
def batch(
    scenarios: Annotated[list[Path], typer.Argument(help="Scenario files; each writes DIR/<its name>")],
    out_dir: Annotated[
        Path, typer.Option("--out", help="Batch folder: one folder per scenario, batch.json, comparison.csv/.html")
    ] = Path("out/batch"),
    workers: Annotated[
        int | None, typer.Option(min=1, help="Local Dask workers (default one per core; 1: in this process)")
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="Address of an existing Dask scheduler, e.g. tcp://10.0.0.5:8786")
    ] = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="Rerun every scenario and recompute every stage")] = False,
    overrides: Overrides = None,
) -> None:
    """Run many scenarios end to end, one Dask task each, skipping those unchanged since their last run; write a
    ledger (batch.json) and a comparison (comparison.csv, comparison.html). Exit 1 when any scenario failed."""
    from spmopt.batch.compare import write_comparison
    from spmopt.batch.runner import BatchOptions, plan_batch

    options = BatchOptions(out_dir, workers, scheduler, fresh, tuple(overrides or ()))
    try:
        plan = plan_batch(scenarios, options)
        report = _run_batch_with_progress(plan, options)
        comparison = write_comparison(report.outcomes, report.out_dir)
    except SpmoptError as exc:
        fail(exc, out_dir)
    except KeyboardInterrupt:
        console.print(
            f"interrupted: finished scenarios are recorded in {out_dir / 'batch.json'}; run the same command again "
            "to resume (they are skipped)",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(code=130) from None
    _print_batch(report, comparison)
    raise typer.Exit(code=1 if any(o.status == "failed" for o in report.outcomes) else 0)


def _run_batch_with_progress(plan, options):
    """run_batch under a progress bar: scenarios finished / total, failures so far, the current stage when the
    scenarios run in this process."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from spmopt.batch.runner import run_batch

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[failed]} failed"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("Scenarios", total=len(plan.outcomes), failed=0)
        finished = []

        def done(outcome) -> None:
            finished.append(outcome)
            failed = sum(o.status == "failed" for o in finished)
            bar.update(task, completed=len(finished), failed=failed)

        def say(name: str, message: str) -> None:
            bar.update(task, description=f"{name}: {message}"[:60])

        return run_batch(plan, options, on_outcome=done, on_message=say)


def _print_batch(report, comparison) -> None:
    """The comparison as a table, each failure's message (its traceback is in the ledger) and where things are."""
    from rich.text import Text

    from spmopt.batch.compare import SUMMARY_HEADERS, summary_cells
    from spmopt.batch.runner import counts

    table = Table(show_header=True, header_style="bold", title="batch (* best by margin after pay)")
    for k, column in enumerate(SUMMARY_HEADERS):
        table.add_column(column, justify="left" if k in (0, 1, 2, 4) else "right", overflow="fold")
    for _, row in comparison.table.iterrows():
        table.add_row(*[Text(cell) for cell in summary_cells(row)])
    out.print(table)
    for outcome in report.outcomes:
        if outcome.status == "failed":
            console.print("[bold red]failed:[/] ", end="", highlight=False)
            console.print(f"{outcome.name} ({outcome.file}): {outcome.error}", markup=False, highlight=False)
    n = counts(report.outcomes)
    where = report.executor.kind + (f", {report.executor.workers} worker(s)" if report.executor.workers else "")
    out.print(
        f"{n['done']} done, {n['skipped']} skipped (unchanged), {n['failed']} failed in {report.seconds:.1f} s "
        f"({where})"
    )
    out.print(f"ledger {report.ledger}; comparison {comparison.csv}, {comparison.html}")
