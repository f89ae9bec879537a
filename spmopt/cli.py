"""Command line: `spmopt validate` and `spmopt run` (thin: parsing, progress and error display)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from spmopt.errors import InfeasibleModelError, SolverError, SpmoptError
from spmopt.folder import check_output_folder, mismatched_pair

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Sales performance management optimisation.")
console = Console(stderr=True)
out = Console()

Overrides = Annotated[list[str] | None, typer.Option("--set", help="Override a key: --set territory.contiguity=false")]


def _fail(exc: SpmoptError, scenario: Path) -> None:
    message = str(exc)
    if isinstance(exc, InfeasibleModelError | SolverError):  # these concern the scenario as a whole
        message = f"{scenario}: {message}"
    console.print("[bold red]error:[/] ", end="", highlight=False)
    console.print(message, markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


def _interrupted(target: Path | None) -> None:
    where = f"; {target} is as it was before this run" if target is not None else ""
    console.print(f"interrupted: nothing was written{where}", markup=False, highlight=False)
    raise typer.Exit(code=130)


@app.command()
def validate(scenario: Path, overrides: Overrides = None) -> None:
    """Check a scenario file and every input it names, without solving."""
    from spmopt.data.loader import load_planning_data
    from spmopt.scenario import load_scenario
    from spmopt.territory.diagnose import precheck
    from spmopt.territory.inputs import territory_inputs

    try:
        cfg = load_scenario(scenario, overrides or ())
        if cfg.comp is not None:
            from spmopt.comp.plan import load_plan

            plans = [load_plan(p) for p in cfg.comp.plans]
            if cfg.simulation is not None:
                from spmopt.sim.run import check_simulation

                check_simulation(cfg, plans)
            if cfg.coaching is not None:
                from spmopt.coaching.run import check_coaching

                check_coaching(cfg)
        data = load_planning_data(cfg)
        inp = territory_inputs(data, cfg)
        precheck(inp)
        if cfg.quota is not None and cfg.quota.bounds is not None and inp.fixed_sites:
            from spmopt.quota.inputs import read_bounds

            read_bounds(cfg.quota.bounds, tuple(inp.site_territory.values()))
    except SpmoptError as exc:
        _fail(exc, scenario)
    edges = data.adjacency.number_of_edges() if data.adjacency is not None else 0
    bridged = f" ({len(data.bridged_edges)} added to link islands)" if data.bridged_edges else ""
    out.print(
        f"[green]ok[/] {scenario}: {len(data.units)} units, {edges} adjacency edges{bridged}, "
        f"measures {', '.join(data.measures) or '(none)'}"
    )


@app.command()
def run(
    scenario: Path,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Output folder (default: output.dir)")] = None,
    overrides: Overrides = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="Recompute every stage, even with unchanged inputs")] = False,
) -> None:
    """Run a scenario end to end and write its outputs; stages whose inputs are unchanged are reused."""
    from spmopt.cache import StageCache
    from spmopt.pipeline import run_scenario
    from spmopt.report.outputs import write_outputs
    from spmopt.scenario import load_scenario

    target = out_dir
    try:
        cfg = load_scenario(scenario, overrides or ())
        target = out_dir if out_dir is not None else cfg.output_dir()
        check_output_folder(target, [scenario, *cfg.input_paths()])
        cache = StageCache(target.resolve().parent / ".spmopt-cache", reuse=not fresh)
        with console.status("Starting") as status:
            result = run_scenario(cfg, progress=lambda msg: status.update(msg), cache=cache)
            status.update("Writing outputs")
            write_outputs(result, target, scenario)
    except SpmoptError as exc:
        _fail(exc, scenario)
    except KeyboardInterrupt:
        _interrupted(target)
    _print_summary(result, target)


def _print_summary(result, target: Path) -> None:
    details = next(s.details for s in result.stages if s.name == "territory")
    gap = details.get("gap")
    out.print(
        f"[bold]{result.config.name}[/]: {details['status']}, objective {details['objective']:,.2f}, "
        f"bound {details['bound'] if details['bound'] is None else format(details['bound'], ',.2f')}, "
        f"gap {'n/a' if gap is None else f'{100 * gap:.3f}%'}; build {details['build_seconds']:.2f} s, "
        f"hand-over {details['handover_seconds']:.2f} s, solve {details['solve_seconds']:.2f} s"
    )
    table = Table(show_header=True, header_style="bold")
    terr = result.territory.territories
    cols = ["territory_id", "units"] + [c for c in terr.columns if c.endswith("_dev_pct")]
    cols += [c for c in ("contiguous", "mean_distance_km") if c in terr.columns]
    for c in cols:
        table.add_column(c)
    for _, row in terr[cols].iterrows():
        table.add_row(*[f"{v:.2f}" if isinstance(v, float) else str(v) for v in row])
    out.print(table)
    if result.quota is not None:
        q = result.quota.facts
        out.print(
            f"quotas: total {q['quota_total']:,} (target {q['target']:,}, {q['over_assignment_pct']:+.2f}%), "
            f"quota/potential index {q['index_min']:.3f}-{q['index_max']:.3f}, expected share at quota "
            f"{q['predicted_share_at_quota']:.1%} (Monte Carlo {q['monte_carlo_share_at_quota']:.1%} "
            f"+- {q['monte_carlo_ci95_half_width']:.1%}), sigma {q['dispersion']['sigma']:.3f}, "
            f"{q['territories_at_bound']} at a bound, solve {q['solve_seconds_total']:.2f} s"
        )
    _print_warnings(result.warnings)
    if result.simulation is not None:
        _print_simulation(result.simulation, result.coaching)
        _print_decision(result.decision)
    out.print(f"outputs in {target}")


def _print_warnings(warnings) -> None:
    for warning in warnings:
        console.print("[bold yellow]warning:[/] ", end="", highlight=False)
        console.print(warning, markup=False, highlight=False, soft_wrap=True)


comp_app = typer.Typer(no_args_is_help=True, help="Evaluate compensation plans on actual or simulated data.")
app.add_typer(comp_app, name="comp")

FileOption = Annotated[Path | None, typer.Option(exists=False)]


@comp_app.command("evaluate")
def comp_evaluate(
    plan: Path,
    transactions: Annotated[Path, typer.Option(help="Transactions CSV (transaction_id, date, amount, who)")],
    quotas: Annotated[list[Path], typer.Option(help="Quotas CSV (repeatable): spmopt's quotas.csv, or payee rows")],
    out_dir: Annotated[Path, typer.Option("--out", help="Output folder")],
    alignment: Annotated[Path | None, typer.Option(help="unit_id,territory_id for unit-level crediting")] = None,
    hierarchy: Annotated[Path | None, typer.Option(help="payee_id,manager_id[,role] for manager roll-up")] = None,
    overlays: Annotated[Path | None, typer.Option(help="payee_id[,territory_id][,product] overlay credit")] = None,
    splits: Annotated[Path | None, typer.Option(help="transaction_id,payee_id,percent[,reason] split credit")] = None,
) -> None:
    """Credit transactions, pay PLAN, write statements, payee summary, credit lines, KPIs and a manifest."""
    from spmopt.comp.plan import load_plan
    from spmopt.comp.run import evaluate_plan, merged_quotas, rules_from_files
    from spmopt.comp.write import write_comp_outputs

    try:
        inputs = [p for p in (plan, transactions, *quotas, alignment, hierarchy, overlays, splits) if p is not None]
        check_output_folder(out_dir, inputs)
        comp_plan = load_plan(plan)
        rules = rules_from_files(quotas[0], alignment, hierarchy, overlays)
        result = evaluate_plan(comp_plan, transactions, merged_quotas(quotas, comp_plan), rules, splits, quotas[0])
        mismatch = mismatched_pair(alignment, quotas[0]) if alignment is not None else None
        if mismatch is not None:
            result = replace(result, warnings=(mismatch, *result.warnings))
        write_comp_outputs([result], out_dir, inputs)
    except SpmoptError as exc:
        _fail(exc, plan)
    except KeyboardInterrupt:
        _interrupted(out_dir)
    _print_comp([result])
    _print_warnings(result.warnings)
    out.print(f"outputs in {out_dir}")


def _print_comp(results) -> None:
    table = Table(show_header=True, header_style="bold")
    table.add_column("KPI")
    for r in results:
        table.add_column(r.plan.name, justify="right")

    def money(cents: int | None) -> str:
        return "n/a" if cents is None else f"{cents / 100:,.2f}"

    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.2f}%"

    rows = [
        ("payees", lambda k: str(k.payees)),
        ("total cost", lambda k: money(k.total_cost)),
        ("cost of sales", lambda k: pct(k.cost_of_sales_pct)),
        ("cost vs target", lambda k: pct(k.cost_vs_target_pct)),
        ("pay p10 / p50 / p90", lambda k: f"{money(k.pay_p10)} / {money(k.pay_p50)} / {money(k.pay_p90)}"),
        (
            "attainment p10 / p50 / p90",
            lambda k: f"{k.attainment_p10:.1%} / {k.attainment_p50:.1%} / {k.attainment_p90:.1%}",
        ),
        ("leverage (p90 pay / TI)", lambda k: "n/a" if k.leverage is None else f"{k.leverage:.2f}"),
        (
            "pay-for-performance rho",
            lambda k: "n/a" if k.pay_for_performance is None else f"{k.pay_for_performance:.3f}",
        ),
        ("at cap / below threshold", lambda k: f"{k.share_at_cap:.1%} / {k.share_below_threshold:.1%}"),
    ]
    for label, cell in rows:
        table.add_row(label, *[cell(r.kpis) for r in results])
    table.add_row("reconciled", *[str(r.reconciliation["reconciled"]) for r in results])
    out.print(table)


def _print_simulation(sim, coaching=None) -> None:
    """Each candidate's cost and attainment with 95% CIs, paired differences from the baseline, the coaching
    plan's return and the decision."""
    facts = sim.facts
    out.print(
        f"simulation: {facts['replications']} replications x {len(sim.plans)} candidates ({facts['mode']}), "
        f"{facts['events']:,} events in {facts['simulate_seconds']:.1f} s on {facts['workers']} worker(s)"
    )
    rows = [
        ("total payout", "payout", "{:,.0f}", 1),
        ("revenue", "revenue", "{:,.0f}", 1),
        ("margin after pay", "margin_after_pay", "{:,.0f}", 1),
        ("cost of sales", "cost_of_sales_pct", "{:.3f}%", 1),
        ("reps at quota", "share_at_quota", "{:.1f}%", 100),
        ("mean attainment", "attainment_mean", "{:.1f}%", 100),
        ("mean effort", "effort_mean", "{:.3f}", 1),
        ("deals pulled in", "deals_pulled_in", "{:.1f}", 1),
        ("deals pushed out", "deals_pushed_out", "{:.1f}", 1),
        ("leavers", "leavers", "{:.2f}", 1),
    ]

    def cell(fmt: str, scale: float, mean: float, low: float, high: float) -> str:
        half = (high - low) / 2 if high == high and low == low else float("nan")
        return f"{fmt.format(scale * mean)} ± {fmt.format(scale * half)}"

    table = Table(show_header=True, header_style="bold", title="mean ± 95% CI half-width")
    table.add_column("")
    for plan in sim.plans:
        table.add_column(plan, justify="right")
    for label, metric, fmt, scale in rows:
        cells = []
        for plan in sim.plans:
            m = sim.metric(plan, metric)
            cells.append(cell(fmt, scale, m["mean"], m["ci_low"], m["ci_high"]))
        table.add_row(label, *cells)
    out.print(table)
    if len(sim.plans) > 1:
        diffs = sim.differences
        table = Table(show_header=True, header_style="bold", title=f"paired difference from {sim.plans[0]}")
        table.add_column("")
        for plan in sim.plans[1:]:
            table.add_column(plan, justify="right")
        for label, metric, fmt, scale in rows[:6]:
            cells = []
            for plan in sim.plans[1:]:
                d = diffs[(diffs["plan"] == plan) & (diffs["metric"] == metric)].iloc[0]
                cells.append(cell(fmt, scale, d["mean"], d["ci_low"], d["ci_high"]))
            table.add_row(label, *cells)
        out.print(table)
    if coaching is not None:
        f = coaching.facts()
        out.print(
            f"coaching: uplift {f['method']} u_max {f['max_uplift']:.3f} "
            f"[{f['max_uplift_ci'][0]:.3f}, {f['max_uplift_ci'][1]:.3f}], {f['hours_per_month']:g} h a month over "
            f"{f['reps_coached']} reps, cost {f['cost']:,.0f} a year"
        )
        roi = sim.coaching_roi
        for plan in roi["plan"].unique():
            part = roi[roi["plan"] == plan].set_index("metric")
            net, ret = part.loc["net_gain"], part.loc["return_on_cost"]
            out.print(
                f"  under {plan}: net gain {net['mean']:,.0f} [{net['ci_low']:,.0f}, {net['ci_high']:,.0f}], "
                f"return on cost {ret['mean']:.1f}x [{ret['ci_low']:.1f}, {ret['ci_high']:.1f}]"
            )


def _print_decision(decision) -> None:
    """The candidates ranked by the scenario's criterion, the best marked."""
    if decision is None or decision.empty:
        return
    criterion = decision["criterion"].iloc[0]
    table = Table(show_header=True, header_style="bold", title=f"decision: best by {criterion} (mean [95% CI])")
    for column in ("candidate", "margin after pay", "cost of sales", "reps at quota", "coaching return", "flags"):
        table.add_column(column, justify="left" if column == "candidate" else "right")
    for _, row in decision.iterrows():
        roi = row.get("coaching_return_on_cost")
        table.add_row(
            ("★ " if row["best"] else "  ") + str(row["candidate"]),
            f"{row['margin_after_pay']:,.0f} [{row['margin_after_pay_ci_low']:,.0f}, "
            f"{row['margin_after_pay_ci_high']:,.0f}]",
            f"{row['cost_of_sales_pct']:.3f}%",
            f"{100 * row['share_at_quota']:.1f}%",
            ""
            if roi is None or roi != roi
            else f"{roi:.1f}x [{row['coaching_roi_ci_low']:.1f}, {row['coaching_roi_ci_high']:.1f}]",
            str(row.get("flags") or ""),
        )
    out.print(table)
    notes = decision.loc[decision["best"], "best_note"].tolist() if "best_note" in decision.columns else []
    for note in notes:
        if isinstance(note, str) and note:
            console.print(note, markup=False, highlight=False, soft_wrap=True)


@app.command()
def simulate(
    scenario: Path,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Output folder (default: output.dir)")] = None,
    replications: Annotated[int | None, typer.Option(help="Replications per plan (default: the scenario's)")] = None,
    mode: Annotated[str | None, typer.Option(help="behaviour or fixed_effort (default: the scenario's)")] = None,
    workers: Annotated[int | None, typer.Option(help="Workers of the local Dask cluster")] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="Address of an existing Dask scheduler, e.g. tcp://10.0.0.5:8786")
    ] = None,
    alignment: Annotated[
        Path | None, typer.Option(help="alignment.csv of an earlier run: skip territory design (needs --quotas)")
    ] = None,
    quotas: Annotated[Path | None, typer.Option(help="quotas.csv of an earlier run: skip quota setting")] = None,
    overrides: Overrides = None,
) -> None:
    """Simulate the reps' year under each candidate comp plan (Monte Carlo on Dask) and write the results."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from spmopt.scenario import load_scenario

    extra = list(overrides or ())
    for key, value in (("replications", replications), ("mode", mode), ("workers", workers), ("scheduler", scheduler)):
        if value is not None:
            extra.append(f"simulation.{key}={value}")
    try:
        if (alignment is None) != (quotas is None):
            raise SpmoptError("give both --alignment and --quotas (an earlier run's outputs), or neither")
        cfg = load_scenario(scenario, extra)
        if cfg.simulation is None:
            raise SpmoptError(f"{scenario}: no simulation section (behaviour file, replications)")
        from spmopt.comp.plan import load_plan
        from spmopt.sim.run import check_simulation

        check_simulation(cfg, [load_plan(p) for p in cfg.comp.plans] if cfg.comp is not None else [])
        if cfg.coaching is not None:
            from spmopt.coaching.run import check_coaching

            check_coaching(cfg)
        target = out_dir if out_dir is not None else cfg.output_dir()
        check_output_folder(target, [scenario, *cfg.input_paths(), *(p for p in (alignment, quotas) if p)])
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task("Preparing", total=cfg.simulation.replications)

            def tick(done: int, total: int) -> None:
                bar.update(task, description="Replications", completed=done, total=total)

            def say(msg: str) -> None:
                bar.update(task, description=msg[:60])

            if alignment is not None and quotas is not None:
                from spmopt.report.outputs import write_simulation_outputs
                from spmopt.sim.run import simulate_from_files

                sim, coaching, data = simulate_from_files(cfg, alignment, quotas, tick, message=say)
                write_simulation_outputs(sim, coaching, cfg, data, target, scenario, [alignment, quotas])
            else:
                from spmopt.pipeline import run_scenario
                from spmopt.report.outputs import write_outputs

                result = run_scenario(cfg, progress=say)
                write_outputs(result, target, scenario)
                sim, coaching = result.simulation, result.coaching
    except SpmoptError as exc:
        _fail(exc, scenario)
    except KeyboardInterrupt:
        _interrupted(out_dir)
    _print_simulation(sim, coaching)
    _print_decision(sim.decision if alignment is not None else result.decision)
    _print_warnings(sim.warnings if alignment is not None else result.warnings)
    out.print(f"outputs in {target}")


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
        _fail(exc, out_dir)
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


bench_app = typer.Typer(
    no_args_is_help=True, help="Benchmarks that measure spmopt on this machine (from a source checkout)."
)
app.add_typer(bench_app, name="bench")

CHECKOUT = Path(__file__).resolve().parents[1]
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
        _fail(ConfigError(message), folder)
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
        _fail(exc, file)
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
        _fail(ConfigError(f"--matrix {matrix} is only read with --distance matrix (got --distance {distance})"), file)
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
        _fail(exc, Path(name))
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
        _fail(exc, Path(suite))
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
        _fail(exc, Path("planner"))
    facts = end_facts(facts)
    if out_md is not None:
        raw = write_comparison(rows, facts, out_md)
        console.print(f"wrote {out_md} and {raw}", markup=False, highlight=False)
    out.print(compare_markdown(rows, facts), markup=False, highlight=False, soft_wrap=True)
