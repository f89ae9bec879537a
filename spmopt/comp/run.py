"""Evaluate a plan on actual data: transactions -> credit -> engine -> statements, KPIs and reconciliation."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from spmopt.comp.crediting import CreditingRules, CreditLedger, credit, read_hierarchy, read_overlays, read_splits
from spmopt.comp.engine import Evaluation, evaluate
from spmopt.comp.inputs import CompInputs, QuotaRows, comp_inputs, quota_rows, read_quotas
from spmopt.comp.kpi import PlanKpis, plan_kpis
from spmopt.comp.plan import CompPlan
from spmopt.comp.statements import money
from spmopt.comp.transactions import Transactions, load_transactions
from spmopt.config import CompConfig
from spmopt.data.tables import read_table, require_columns
from spmopt.errors import DataError


@dataclass(frozen=True, slots=True)
class CompResult:
    """One plan evaluated on one data set."""

    plan: CompPlan
    ledger: CreditLedger
    inputs: CompInputs
    evaluation: Evaluation
    kpis: PlanKpis
    reconciliation: dict[str, object]


def rules_from_files(
    quotas: Path,
    alignment: pd.Series | Path | None = None,
    hierarchy: Path | None = None,
    overlays: Path | None = None,
) -> CreditingRules:
    """Crediting rules: territory -> rep from the quotas file (spmopt's quotas.csv has both columns)."""
    raw = read_table(quotas, "quotas")
    rep_of: dict[str, str | None] = {}
    who = "payee_id" if "payee_id" in raw.columns else "rep_id"
    require_columns(raw, [who], quotas, "quotas")
    for _, row in raw.iterrows():
        rep = row[who] if pd.notna(row[who]) and str(row[who]).strip() else None
        territory = row["territory_id"] if "territory_id" in raw.columns and pd.notna(row["territory_id"]) else rep
        if territory is not None:
            rep_of[str(territory)] = None if rep is None else str(rep).strip()
    if isinstance(alignment, Path):
        frame = read_table(alignment, "alignment")
        require_columns(frame, ["unit_id", "territory_id"], alignment, "alignment")
        alignment = pd.Series(frame["territory_id"].to_numpy(), index=frame["unit_id"].to_numpy())
        unknown = sorted(set(alignment.to_numpy()) - set(rep_of))
        if unknown:
            raise DataError(f"{quotas}: no quota row for territory {unknown[0]} of the alignment")
    manager_of, roles = read_hierarchy(hierarchy) if hierarchy is not None else ({}, {})
    return CreditingRules(
        rep_of_territory=rep_of,
        alignment=alignment,
        manager_of=manager_of,
        roles=roles,
        overlays=read_overlays(overlays) if overlays is not None else (),
    )


def evaluate_plan(
    plan: CompPlan,
    transactions: Path | Transactions,
    quotas: Path | QuotaRows,
    rules: CreditingRules,
    splits: Path | None = None,
    quotas_name: Path | str = "quotas",
) -> CompResult:
    """Credit the transactions, pay the plan, build KPIs and check that every total reconciles."""
    tx = transactions if isinstance(transactions, Transactions) else load_transactions(transactions, plan)
    if splits is not None:
        rules = replace(rules, splits=read_splits(splits, tx, rules.payees))
    ledger = credit(tx, rules, plan.clawback_days)
    if isinstance(quotas, Path):
        quotas_name, quotas = quotas, read_quotas(quotas, plan)
    inp = comp_inputs(plan, ledger, quotas, rules, quotas_name)
    ev = evaluate(plan, inp.credit, inp.quota, inp.target_incentive, inp.spif_credit)
    reps = np.array([r == "rep" for r in inp.roles])
    kpis = plan_kpis(plan, ev, inp.credit, inp.quota, inp.target_incentive, np.where(reps, inp.revenue, 0))
    return CompResult(plan, ledger, inp, ev, kpis, reconcile(tx, ledger, ev))


def merged_quotas(paths: list[Path], plan: CompPlan, first: QuotaRows | None = None) -> QuotaRows:
    """Quota rows of several files (and an in-memory table's), refusing a payee/measure given twice."""
    rows: QuotaRows = dict(first or {})
    for path in paths:
        extra = read_quotas(path, plan)
        clash = sorted(set(rows) & set(extra))
        if clash:
            raise DataError(f"{path}: {clash[0][0]} already has a quota ({clash[0][1] or 'all measures'})")
        rows.update(extra)
    return rows


def evaluate_scenario_plans(
    cfg: CompConfig,
    plans: list[CompPlan],
    alignment: pd.Series,
    reps_of: dict[str, str | None],
    quota_table: pd.DataFrame,
) -> list[CompResult]:
    """Every candidate plan of a scenario on the designed alignment, the set quotas and the transactions."""
    c = cfg.crediting
    manager_of, roles = read_hierarchy(c.hierarchy) if c.hierarchy is not None else ({}, {})
    rules = CreditingRules(
        rep_of_territory=reps_of,
        alignment=alignment,
        manager_of=manager_of,
        roles=roles,
        overlays=read_overlays(c.overlays) if c.overlays is not None else (),
    )
    names = [p.name for p in plans]
    if len(set(names)) < len(names):
        raise DataError(f"comp.plans: two plans share the name '{next(n for n in names if names.count(n) > 1)}'")
    results = []
    for plan in plans:
        stage = quota_rows(quota_table, "the quota stage's quotas", plan)
        rows = merged_quotas([cfg.quotas] if cfg.quotas is not None else [], plan, stage)
        results.append(evaluate_plan(plan, cfg.transactions, rows, rules, c.splits, cfg.quotas or "quotas"))
    return results


def reconcile(tx: Transactions, ledger: CreditLedger, ev: Evaluation) -> dict[str, object]:
    """Every total, two ways: transactions = direct credit + uncredited; lines = payments; payments = earnings +
    owed + forgiven draws. Raises if any pair differs by a cent."""
    transactions = int(tx.frame["amount"].sum())
    uncredited = int(ledger.uncredited["amount"].sum()) if len(ledger.uncredited) else 0
    lines = int(ev.lines.sum() + ev.spif_lines.sum() + ev.adjustment.sum() + ev.draw.sum())
    paid = int(ev.payment.sum())
    earned = int(ev.earned.sum())
    owed = int(ev.unrecovered.sum())
    forgiven = paid - earned - owed
    facts = {
        "transactions_total": money(transactions),
        "credited_direct_total": money(ledger.direct_total()),
        "uncredited_total": money(uncredited),
        "statement_lines_total": money(lines),
        "payments_total": money(paid),
        "earned_total": money(earned),
        "owed_back_total": money(owed),
        "draw_guarantees_total": money(forgiven),
    }
    checks = {
        "credit": transactions == ledger.direct_total() + uncredited,
        "statements": lines == paid,
        "payments": forgiven >= 0,
    }
    if not all(checks.values()):
        raise DataError(f"reconciliation failed: {facts}")
    return {**facts, "reconciled": True}
