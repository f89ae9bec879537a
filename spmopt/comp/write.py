"""Write comp-plan evaluations atomically: per-plan folders, a KPI summary across plans, and a manifest."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from spmopt.comp.crediting import CreditLedger
from spmopt.comp.kpi import payout_curves
from spmopt.comp.run import CompResult
from spmopt.comp.statements import money, payee_summary, statements


def comp_summary(results: list[CompResult]) -> pd.DataFrame:
    """One row of KPIs per plan."""
    totals = [r.reconciliation.model_dump(exclude={"failures"}) for r in results]
    rows = [{"plan": r.plan.name, **r.kpis.as_dict(), **t} for r, t in zip(results, totals, strict=True)]
    return pd.DataFrame(rows)


def register_comp_files(results: list[CompResult], writers: dict[str, Callable[[Path], None]]) -> None:
    """Add every plan's files under comp/<plan>/ and comp_summary.csv to a folder writer."""
    for r in results:
        _plan_files(r, writers, prefix=f"comp/{r.plan.name}/")
    writers["comp_summary.csv"] = lambda p: comp_summary(results).to_csv(p, index=False)


def _plan_files(result: CompResult, write: dict, prefix: str = "") -> None:
    """Register the plan's files with an atomic folder writer: statements, payees, credit lines, payout curve."""
    plan, inp, ev = result.plan, result.inputs, result.evaluation
    write[f"{prefix}statements.csv"] = lambda p: statements(plan, inp, ev).to_csv(p, index=False)
    write[f"{prefix}payees.csv"] = lambda p: payee_summary(plan, inp, ev).to_csv(p, index=False)
    write[f"{prefix}credit.csv"] = lambda p: _credit_table(result.ledger).to_csv(p, index=False)
    if len(result.ledger.uncredited):
        write[f"{prefix}uncredited.csv"] = lambda p: result.ledger.uncredited.assign(
            amount=money(result.ledger.uncredited["amount"].to_numpy())
        ).to_csv(p, index=False)
    ti = int(np.median(inp.target_incentive)) if len(inp.target_incentive) else int(plan.target_incentive * 100)
    reps = np.array([r == "rep" for r in inp.roles])
    q_year = int(np.median(inp.quota[reps].sum(axis=1)[:, 0])) if reps.any() else 0
    if q_year > 0:
        write[f"{prefix}payout_curve.csv"] = lambda p: payout_curves(plan, ti, q_year).to_csv(p, index=False)


def _credit_table(ledger: CreditLedger) -> pd.DataFrame:
    out = ledger.lines.copy()
    for col in ("amount", "margin"):
        out[col] = money(out[col].to_numpy())
    for col in ("deals", "new_logos"):
        out[col] = out[col] / 100
    return out
