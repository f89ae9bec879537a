"""`spmopt validate`, `spmopt run` and `spmopt simulate`: one scenario, with progress and a summary."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from spmopt.cli.common import Overrides, app, console, fail, interrupted, number, out, print_warnings
from spmopt.errors import SpmoptError
from spmopt.folder import check_output_folder


@app.command()
def validate(scenario: Path, overrides: Overrides = None) -> None:
    """Check a scenario file and every input it names, without solving."""
    from spmopt.preparation import prepare
    from spmopt.scenario import load_scenario

    try:
        data = prepare(load_scenario(scenario, overrides or ())).data
    except SpmoptError as exc:
        fail(exc, scenario)
    edges = data.adjacency.number_of_edges() if data.adjacency is not None else 0
    bridged = f" ({len(data.bridged_edges)} added to link islands)" if data.bridged_edges else ""
    out.print(
        f"[green]ok[/] {scenario}: {len(data.units)} units{_from_accounts(data)}, {edges} adjacency edges{bridged}, "
        f"measures {', '.join(data.measures) or '(none)'}"
    )
    print_warnings(data.warnings)


def _from_accounts(data) -> str:
    """How the units came from the accounts file, when they did."""
    accounts = data.accounts
    if accounts is None:
        return ""
    named = len(accounts.named_units)
    geographic = len(data.units) - named
    grouping = {"zip": "ZIPs", "county": "counties", "unit": "units"}[accounts.grouping]
    return (
        f" ({geographic} {grouping} and {named} named accounts, from {len(accounts.table):,} accounts: "
        f"{len(accounts.unplaced):,} unplaced, {int(accounts.open_owners['accounts'].sum()):,} open)"
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
        fail(exc, scenario)
    except KeyboardInterrupt:
        interrupted(target)
    _print_summary(result, target)


def _print_summary(result, target: Path) -> None:
    t = result.territory_facts
    out.print(
        f"[bold]{result.config.name}[/]: {t.status}, objective {number(t.objective)}, bound {number(t.bound)}, "
        f"gap {'n/a' if t.gap is None else f'{100 * t.gap:.3f}%'}; build {t.build_seconds:.2f} s, "
        f"hand-over {t.handover_seconds:.2f} s, solve {t.solve_seconds:.2f} s"
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
            f"quotas: total {q.quota_total:,} (target {q.target:,}, {q.over_assignment_pct:+.2f}%), "
            f"quota/potential index {q.index_min:.3f}-{q.index_max:.3f}, expected share at quota "
            f"{q.predicted_share_at_quota:.1%} (Monte Carlo {q.monte_carlo_share_at_quota:.1%} "
            f"+- {q.monte_carlo_ci95_half_width:.1%}), sigma {q.dispersion.sigma:.3f}, "
            f"{q.territories_at_bound} at a bound, solve {q.solve_seconds_total:.2f} s"
        )
    print_warnings(result.warnings)
    if result.simulation is not None:
        _print_simulation(result.simulation, result.coaching)
        _print_decision(result.decision)
    out.print(f"outputs in {target}")


def _print_simulation(sim, coaching=None) -> None:
    """Each candidate's cost and attainment with 95% CIs, paired differences from the baseline, the coaching
    plan's return and the decision."""
    facts = sim.facts
    out.print(
        f"simulation: {facts.replications} replications x {len(sim.plans)} candidates ({facts.mode}), "
        f"{facts.events:,} events in {facts.simulate_seconds:.1f} s on {facts.workers} worker(s)"
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
            f"coaching: uplift {f.method} u_max {f.max_uplift:.3f} "
            f"[{f.max_uplift_ci[0]:.3f}, {f.max_uplift_ci[1]:.3f}], {f.hours_per_month:g} h a month over "
            f"{f.reps_coached} reps, cost {f.cost:,.0f} a year"
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
        from spmopt.preparation import prepare

        prep = prepare(cfg)
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
                from spmopt.decision import decision_table
                from spmopt.pipeline import simulate_from_files
                from spmopt.preparation import prepare
                from spmopt.report.outputs import write_simulation_outputs

                prep = prepare(cfg, say)
                sim, coaching = simulate_from_files(prep, alignment, quotas, tick, message=say)
                decision = decision_table(sim, coaching.cost if coaching else 0, cfg.simulation.criterion)
                files = [alignment, quotas]
                write_simulation_outputs(sim, coaching, decision, cfg, prep.data, target, scenario, files)
            else:
                from spmopt.pipeline import run_prepared
                from spmopt.report.outputs import write_outputs

                result = run_prepared(prep, progress=say)
                write_outputs(result, target, scenario)
                sim, coaching, decision = result.simulation, result.coaching, result.decision
    except SpmoptError as exc:
        fail(exc, scenario)
    except KeyboardInterrupt:
        interrupted(out_dir)
    _print_simulation(sim, coaching)
    _print_decision(decision)
    print_warnings(sim.warnings if alignment is not None else result.warnings)
    out.print(f"outputs in {target}")
