"""`spmopt comp evaluate`: pay a plan on actual transactions and print its KPIs."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from spmopt.cli.common import app, fail, interrupted, out, print_warnings
from spmopt.errors import ConfigError, SpmoptError
from spmopt.folder import check_output_folder, mismatched_pair

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
    plan_year: Annotated[
        str | None, typer.Option(help="First day of the plan year (YYYY-MM-01), replacing the plan's year_start")
    ] = None,
) -> None:
    """Credit transactions, pay PLAN, write statements, payee summary, credit lines, KPIs and a manifest."""
    from spmopt.comp.inputs import merged_terms
    from spmopt.comp.plan import load_plan, with_plan_year
    from spmopt.comp.run import evaluate_plan, merged_quotas, rules_from_files
    from spmopt.report.outputs import write_comp_outputs

    try:
        inputs = [p for p in (plan, transactions, *quotas, alignment, hierarchy, overlays, splits) if p is not None]
        start = _plan_year(plan_year)
        check_output_folder(out_dir, inputs)
        comp_plan = load_plan(plan)
        if start is not None:
            comp_plan = with_plan_year(comp_plan, start, "--plan-year")
        rules = rules_from_files(quotas[0], alignment, hierarchy, overlays)
        rows, terms = merged_quotas(quotas, comp_plan), merged_terms(quotas)
        result = evaluate_plan(comp_plan, transactions, rows, rules, splits, quotas[0], terms)
        mismatch = mismatched_pair(alignment, quotas[0]) if alignment is not None else None
        if mismatch is not None:
            result = replace(result, warnings=(mismatch, *result.warnings))
        write_comp_outputs([result], out_dir, inputs)
    except SpmoptError as exc:
        fail(exc, plan)
    except KeyboardInterrupt:
        interrupted(out_dir)
    _print_comp([result])
    print_warnings(result.warnings)
    out.print(f"outputs in {out_dir}")


def _plan_year(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"--plan-year {text!r} is not a date YYYY-MM-DD (the first day of the plan year)") from None


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
    table.add_row("reconciled", *[str(r.reconciliation.reconciled) for r in results])
    out.print(table)
