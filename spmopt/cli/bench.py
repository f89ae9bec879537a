"""`spmopt bench`: the benchmarks, run from a source checkout."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from spmopt.cli.common import Overrides, app, console, fail, out
from spmopt.errors import SpmoptError

bench_app = typer.Typer(
    no_args_is_help=True, help="Benchmarks that measure spmopt on this machine (from a source checkout)."
)
app.add_typer(bench_app, name="bench")

CHECKOUT = Path(__file__).resolve().parents[2]
"""The source checkout when spmopt runs from one: the folder that holds `spmopt/` and `benchmarks/`."""
BENCH_PACKAGE = "spmopt_bench"


def _use_bench() -> None:
    """Make the benchmark package importable, or stop with the reason.

    The benchmarks read the checkout's instances, scenarios and stored results, so they are kept in the checkout
    (`benchmarks/spmopt_bench/`) and not installed with spmopt. Unless it is importable already, the checkout's
    `benchmarks/` folder goes on `sys.path` when spmopt runs from a checkout.
    """
    import importlib.util
    import sys

    if importlib.util.find_spec(BENCH_PACKAGE) is not None:
        return
    folder = CHECKOUT / "benchmarks"
    if not (folder / BENCH_PACKAGE / "__init__.py").is_file():
        from spmopt.errors import ConfigError

        message = (
            f"spmopt bench runs from a source checkout: the benchmarks (benchmarks/{BENCH_PACKAGE}/) are not part "
            f"of the installed spmopt and are not in {folder}; clone the spmopt repository and run "
            "`pip install -e '.[bench]'` in it"
        )
        fail(ConfigError(message), folder)
    sys.path.insert(0, str(folder))


@bench_app.command("sim")
def bench_sim(
    reps: Annotated[int, typer.Option(min=1, help="Reps (seats) in the synthetic organisation")] = 500,
    replications: Annotated[int, typer.Option(min=1, help="Replications per plan")] = 200,
    workers: Annotated[int, typer.Option(min=1, help="Local Dask workers")] = 2,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic instance and the replications")] = 0,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the measurements as JSON")] = None,
) -> None:
    """Simulator throughput: REPS reps x 1 plan year x REPLICATIONS x 2 plans on Dask, against a bare SimPy loop."""
    import json

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    _use_bench()
    from spmopt_bench.sim import sim_benchmark

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("Replications", total=replications)
        facts = sim_benchmark(
            reps=reps,
            replications=replications,
            workers=workers,
            seed=seed,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    text = json.dumps(facts, indent=2, default=str)
    if json_out is not None:
        json_out.write_text(text + "\n", encoding="utf-8")
    out.print(text, markup=False, highlight=False)


@bench_app.command("batch")
def bench_batch(
    scenarios: Annotated[int, typer.Option(min=1, help="Variants of the demo in the sensitivity sweep")] = 50,
    workers: Annotated[int, typer.Option(min=1, help="Local Dask workers of the batch run")] = 2,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the measurements as JSON")] = None,
    keep: Annotated[Path | None, typer.Option(help="Keep the variants and both runs' outputs in this folder")] = None,
    overrides: Overrides = None,
) -> None:
    """Batch speed-up: SCENARIOS demo variants one by one in this process (each with an empty cache) against one
    `spmopt batch` run on WORKERS local Dask workers (one shared cache), and whether their outputs agree."""
    import json

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    _use_bench()
    from spmopt_bench.batch import batch_benchmark

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("serial", total=scenarios)

        def tick(phase: str, done: int, total: int) -> None:
            bar.update(task, description=phase, completed=done, total=total)

        facts = batch_benchmark(scenarios, workers, tuple(overrides or ()), keep, tick)
    text = json.dumps(facts, indent=2, default=str)
    if json_out is not None:
        json_out.write_text(text + "\n", encoding="utf-8")
    summary = {k: v for k, v in facts.items() if k not in ("per_scenario", "machine", "agreement")}
    out.print(json.dumps(summary, indent=2, default=str), markup=False, highlight=False)


@bench_app.command("workbench")
def bench_workbench(
    edits: Annotated[int, typer.Option(min=1, help="Edits timed on each scenario")] = 20,
    browser: Annotated[bool, typer.Option(help="Also time the round trip in headless chromium")] = True,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the measurements as JSON")] = None,
) -> None:
    """Workbench update latency after an edit, at 159 units (the demo), 2,025 units (a grid) and 1,745 ZIPs of
    40,000 CRM accounts (Texas): the server's recomputation and, with chromium installed, the browser round
    trip."""
    import json

    _use_bench()
    from spmopt_bench.workbench import workbench_benchmark

    facts = workbench_benchmark(edits, browser)
    text = json.dumps(facts, indent=2)
    if json_out is not None:
        json_out.write_text(text + "\n", encoding="utf-8")
    out.print(text, markup=False, highlight=False)


def _bench_instance(
    file: Path, read, time_limit: float, threads: int | None, json_out: Path | None, extra: dict
) -> None:
    """Read, solve with the territory engine, re-score, write the JSON and print one summary line."""
    import time

    _use_bench()
    from spmopt_bench.territory import run_instance, summary_line, write_result

    clock = time.perf_counter()
    try:
        with console.status(f"Reading {file}") as status:
            inst = read()
            result = run_instance(inst, time_limit, threads, started=clock, extra=extra, progress=status.update)
        if json_out is not None:
            write_result(json_out, result)
    except SpmoptError as exc:
        fail(exc, file)
    out.print(summary_line(result), markup=False, highlight=False, soft_wrap=True)
    if result["objective"] is None:  # no solution within the limit (or proven infeasible): say so by the exit code
        raise typer.Exit(code=1)


TimeLimit = Annotated[float, typer.Option("--time-limit", min=0.001, help="Solver time limit, seconds")]
BenchJson = Annotated[Path | None, typer.Option("--json", help="Write the result (with the assignment) as JSON")]
Threads = Annotated[int | None, typer.Option("--threads", min=1, help="HiGHS threads (default: HiGHS chooses)")]


@bench_app.command("pmedian")
def bench_pmedian(
    file: Path, time_limit: TimeLimit = 60.0, json_out: BenchJson = None, threads: Threads = None
) -> None:
    """OR-Library p-median file (`n m p`, then m edges `i j cost`; a repeated pair keeps its last cost)."""
    from spmopt.territory.instances import read_pmedian

    _bench_instance(file, lambda: read_pmedian(file), time_limit, threads, json_out, {})


@bench_app.command("cpmp")
def bench_cpmp(
    file: Path,
    distance: Annotated[
        str, typer.Option(help="floor: floor(Euclidean) (Osman-Christofides); euclid: Euclidean; matrix: --matrix file")
    ] = "floor",
    matrix: Annotated[Path | None, typer.Option(help="n x n distances, whitespace-separated, row-major")] = None,
    time_limit: TimeLimit = 60.0,
    json_out: BenchJson = None,
    threads: Threads = None,
) -> None:
    """Capacitated p-median file (`n p`, then n lines `x y capacity demand`)."""
    from spmopt.errors import ConfigError
    from spmopt.territory.instances import read_cpmp

    if matrix is not None and distance != "matrix":
        fail(ConfigError(f"--matrix {matrix} is only read with --distance matrix (got --distance {distance})"), file)
    extra = {"distance": distance, **({"matrix": str(matrix)} if matrix is not None else {})}
    _bench_instance(file, lambda: read_cpmp(file, distance, matrix), time_limit, threads, json_out, extra)


@bench_app.command("district")
def bench_district(
    file: Path,
    k: Annotated[int, typer.Option("--k", help="Number of districts")],
    tolerance: Annotated[float, typer.Option(help="Population band: L = ceil((1-t)P/k), U = floor((1+t)P/k)")] = 0.005,
    contiguity: Annotated[
        bool, typer.Option("--contiguity/--no-contiguity", help="Require connected districts")
    ] = True,
    time_limit: TimeLimit = 600.0,
    json_out: BenchJson = None,
    threads: Threads = None,
) -> None:
    """Districting: networkx adjacency JSON, weight TOTPOP; k balanced districts minimising cut edges."""
    from spmopt.territory.instances import read_district

    def read():
        return read_district(file, k, tolerance, contiguity)

    extra = {"contiguity": contiguity, "tolerance": tolerance}
    _bench_instance(file, read, time_limit, threads, json_out, extra)


@bench_app.command("suite")
def bench_suite(
    name: Annotated[str, typer.Argument(help="cpmp, pmed, district, district-free, p3038, scale or planner")],
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", min=0.001, help="Per instance (default: the target's)")
    ] = None,
    only: Annotated[str | None, typer.Option(help="Only instances whose name matches this glob, e.g. 'cpmp0*'")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Folder of the per-instance JSON files")] = None,
    threads: Threads = None,
) -> None:
    """Run a named benchmark suite, store one JSON per instance and print the table against the known values."""
    _use_bench()
    from spmopt_bench.suites import run_suite
    from spmopt_bench.territory import summary_line

    def done(result: dict) -> None:
        console.print(summary_line(result), markup=False, highlight=False, soft_wrap=True)

    try:
        with console.status(f"Running suite {name}"):
            results = run_suite(name, time_limit, only, out_dir, threads, done)
    except SpmoptError as exc:
        fail(exc, Path(name))
    if name == "planner":
        _print_planner(results)
    else:
        _print_suite(name, results)


def _print_planner(results: list[dict]) -> None:
    from spmopt_bench.planner_suite import PLAN_SECONDS, describe_target

    def pct(value) -> str:
        return "-" if value is None else f"{100 * value:.2f}%"

    def num(value) -> str:
        return "-" if value is None else f"{value:,.0f}"

    from rich import box

    table = Table(title="suite planner", box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False)
    for column in ("design", "n/k/b", "plan", "objective", "gap", "plan s", "s", "status", "method", "target"):
        left = column in ("design", "plan", "status", "method")
        table.add_column(column, justify="left" if left else "right", no_wrap=True)
    for r in results:
        first = r.get("first_plan_seconds")
        table.add_row(
            str(r["instance"]),
            f"{r.get('n', '-')}/{r.get('k', '-')}/{len(r.get('measures', ()))}",
            "valid" if r.get("valid") else ("none" if r.get("problems") == ["no alignment returned"] else "invalid"),
            num(r.get("objective")),
            pct(r.get("gap")) + ("!" if r.get("bound_valid") is False else ""),
            "-" if first is None else f"{float(first):.1f}" + ("*" if r.get("first_plan_from") == "total" else ""),
            f"{float(r['seconds']):.1f}",
            str(r["status"]),
            str(r.get("method", "-")),
            "yes" if r.get("target_met") else "no",
        )
    # a table cut to an 80-column (or non-terminal) console would hide figures; longer lines are better
    Console(width=max(out.width, 110)).print(table)
    out.print(f"target: {describe_target()}")
    out.print("n/k/b: units, reps, balance measures; gap!: the bound exceeds the planted alignment's value")
    out.print("plan s: seconds to the first plan as the engine reports it; * = the whole solve's (not reported)")
    met = sum(bool(r.get("target_met")) for r in results)
    plans = sum(bool(r.get("plan_target_met")) for r in results)
    n = len(results)
    out.print(f"{met} of {n} reach the target; {plans} of {n} have a valid plan within {PLAN_SECONDS:g} s")
    for r in results:
        for problem in r.get("problems", [])[:3] if not r.get("valid") else []:
            out.print(f"{r['instance']}: {problem}", markup=False, highlight=False, soft_wrap=True)
        if r.get("note"):
            out.print(f"{r['instance']}: {r['note']}", markup=False, highlight=False, soft_wrap=True)
    if any(r.get("partial") for r in results):
        out.print("partial run: fewer designs or another time limit than the suite's (stored as partial)")


def _print_suite(name: str, results: list[dict]) -> None:
    def num(value) -> str:
        return "-" if value is None else f"{value:.10g}"

    def pct(value) -> str:
        return "-" if value is None else f"{100 * value:.4f}%"

    table = Table(title=f"suite {name}")
    for column in ("instance", "known", "ours", "gap to known", "proven gap", "seconds", "status", "target met"):
        left = column in ("instance", "status")
        table.add_column(column, justify="left" if left else "right", no_wrap=column == "instance")
    for r in results:
        table.add_row(
            str(r["instance"]),
            num(r.get("known")),
            num(r.get("objective")),
            pct(r.get("gap_to_known")),
            pct(r.get("gap")),
            f"{float(r['seconds']):.2f}",
            str(r["status"]),
            "yes" if r.get("target_met") else "no",
        )
    out.print(table)
    met = sum(bool(r.get("target_met")) for r in results)
    out.print(f"{met} of {len(results)} reach the target")


@bench_app.command("compare")
def bench_compare(
    suite: Annotated[str, typer.Argument(help="pmed, cpmp, district or planner")],
    only: Annotated[
        str | None, typer.Option(help="Glob over instance names, e.g. 'pmed1?' (default: a subset for ~20-30 min)")
    ] = None,
    time_limit: Annotated[float, typer.Option(min=0.01, help="Seconds per solver per instance")] = 120.0,
    threads: Annotated[int, typer.Option(min=1, help="HiGHS threads, the same for every solver")] = 1,
    no_contiguity: Annotated[bool, typer.Option("--no-contiguity", help="District: drop contiguity")] = False,
    out_md: Annotated[
        Path | None, typer.Option("--out", help="Write the markdown table here and the raw rows beside it as .json")
    ] = None,
) -> None:
    """spmopt against a textbook Pyomo+HiGHS model and PySAL spopt's p-median, one run on the same instances.

    `planner`: the engine, the flow model and the primal heuristic alone on the planner designs."""
    import os

    _use_bench()
    if suite == "planner":
        _compare_planner(only, time_limit, threads, out_md)
        return

    from spmopt_bench.compare import compare_instances, markdown_table, suite_instances, write_results
    from spmopt_bench.machine import comparison_facts

    try:
        instances = suite_instances(suite, only, contiguity=not no_contiguity)
        facts = comparison_facts(threads, time_limit, 1e-4)
        rows = compare_instances(
            instances, time_limit, threads, progress=lambda msg: console.print(msg, markup=False, highlight=False)
        )
    except SpmoptError as exc:
        fail(exc, Path(suite))
    facts["load_average_end"] = list(os.getloadavg())
    if out_md is not None:
        raw = write_results(rows, facts, out_md)
        console.print(f"wrote {out_md} and {raw}", markup=False, highlight=False)
    out.print(markdown_table(rows, facts), markup=False, highlight=False, soft_wrap=True)


def _compare_planner(only: str | None, time_limit: float, threads: int, out_md: Path | None) -> None:
    from spmopt_bench.planner_suite import compare_facts, compare_markdown, compare_planner, end_facts, write_comparison

    try:
        facts = compare_facts(threads, time_limit)
        rows = compare_planner(
            only, time_limit, threads, progress=lambda msg: console.print(msg, markup=False, highlight=False)
        )
    except SpmoptError as exc:
        fail(exc, Path("planner"))
    facts = end_facts(facts)
    if out_md is not None:
        raw = write_comparison(rows, facts, out_md)
        console.print(f"wrote {out_md} and {raw}", markup=False, highlight=False)
    out.print(compare_markdown(rows, facts), markup=False, highlight=False, soft_wrap=True)
