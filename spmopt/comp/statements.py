"""Per-payee statements: every line a payee needs to check their pay, and a per-payee summary.

One statement row per payee x period x line. Lines: each measure's curve/commission amount, its bonuses,
what its pay cap took off, each SPIF, what the plan's pay cap took off the total, the carry-forward adjustment
and the draw. `amount` is this period's change of the line's year-to-date earnings; the lines of a payee-period
add up to its payment exactly (checked on build).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd

from spmopt.comp.engine import Evaluation
from spmopt.comp.inputs import CompInputs
from spmopt.comp.plan import CompPlan
from spmopt.data.tables import cents_text


def money(cents: np.ndarray | int) -> np.ndarray | str:
    """Cents as exact decimal text, e.g. -1234 -> '-12.34', elementwise for arrays."""
    if np.ndim(cents) == 0:
        return cents_text(int(cents))
    return np.array([cents_text(int(c)) for c in np.asarray(cents).ravel()], dtype=object).reshape(np.shape(cents))


def _rate(plan: CompPlan, k: int, attainment: float) -> float:
    """The rate applied at an attainment: the curve's payout multiple, or the commission tier's rate."""
    m = plan.measures[k]
    a = Fraction(attainment).limit_denominator(10**9)
    if m.curve is not None:
        return float(m.payout_at(a))
    band = [t for t in m.tiers if a >= t.start]
    return float(band[-1].rate) if band else 0.0


def statements(plan: CompPlan, inp: CompInputs, ev: Evaluation) -> pd.DataFrame:
    """The statement lines of every payee (see the module docstring); amounts as exact decimal text."""
    n, periods, k = inp.credit.shape
    ytd_c, ytd_q = np.cumsum(inp.credit, axis=1), np.cumsum(inp.quota, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        attain = np.where(ytd_q > 0, ytd_c / np.where(ytd_q > 0, ytd_q, 1), np.nan)
    frames = []
    payee = np.repeat(np.array(inp.payees, dtype=object), periods)
    role = np.repeat(np.array(inp.roles, dtype=object), periods)
    period = np.tile(np.arange(1, periods + 1), n)

    def block(line: str, amount_ytd: np.ndarray, **extra: object) -> pd.DataFrame:
        lines = np.diff(amount_ytd, axis=1, prepend=0)
        return pd.DataFrame(
            {
                "payee_id": payee,
                "role": role,
                "period": period,
                "line": line,
                **extra,
                "earned_ytd_cents": amount_ytd.ravel(),
                "amount_cents": lines.ravel(),
            }
        )

    for j, m in enumerate(plan.measures):
        a = attain[:, :, j]
        rates = np.vectorize(lambda x, j=j: np.nan if np.isnan(x) else _rate(plan, j, x), otypes=[float])(a)
        # money credit is in cents and counts in hundredths: both print as units with two decimals
        base = ev.earned_ytd[:, :, j] - ev.bonus_ytd[:, :, j] - ev.cap_ytd[:, :, j]
        frames.append(
            block(
                m.name,
                base,
                credit=money(inp.credit[:, :, j].ravel()),
                credit_ytd=money(ytd_c[:, :, j].ravel()),
                quota_ytd=money(ytd_q[:, :, j].ravel()),
                attainment_ytd=np.round(a, 6).ravel(),
                rate=np.round(rates, 6).ravel(),
                rate_kind="payout x TI share" if m.curve is not None else f"commission ({m.tier_mode})",
            )
        )
        if m.bonuses:
            frames.append(block(f"{m.name}:bonus", ev.bonus_ytd[:, :, j], rate_kind="bonus"))
        if m.pay_cap is not None:
            frames.append(block(f"{m.name}:cap", ev.cap_ytd[:, :, j], rate_kind="pay cap"))
    for j, s in enumerate(plan.spifs):
        frames.append(block(f"spif:{s.name}", ev.spif_ytd[:, :, j], rate_kind="spif"))
    if plan.pay_cap is not None:
        frames.append(block("pay_cap", ev.pay_cap_ytd, rate_kind="pay cap"))
    frames.append(block("adjustment", np.cumsum(ev.adjustment, axis=1), rate_kind="carry-forward"))
    if plan.draw is not None:
        frames.append(
            block("draw", np.cumsum(ev.draw, axis=1), rate_kind="recoverable" if plan.draw.recoverable else "guarantee")
        )
    table = pd.concat(frames, ignore_index=True)
    table = table.sort_values(["payee_id", "period"], kind="stable").reset_index(drop=True)
    # The statement is the payment's explanation: its lines must add up to it, to the cent.
    check = table.groupby(["payee_id", "period"], sort=False)["amount_cents"].sum()
    paid = pd.Series(ev.payment.ravel(), index=pd.MultiIndex.from_arrays([payee, period]))
    if not check.sort_index().equals(paid.sort_index()):
        raise AssertionError("statement lines do not add up to the payments")
    table["earned_ytd"] = money(table.pop("earned_ytd_cents").to_numpy())
    table["amount"] = money(table.pop("amount_cents").to_numpy())
    return table


def payee_summary(plan: CompPlan, inp: CompInputs, ev: Evaluation) -> pd.DataFrame:
    """One row per payee: target pay for their time on the plan, annual attainment per measure, earned, paid,
    owed, months on the plan and what pay caps took off."""
    year_c, year_q = inp.credit.sum(axis=1), inp.quota.sum(axis=1)
    out = pd.DataFrame({"payee_id": inp.payees, "role": inp.roles})
    out["base_salary"] = money(inp.base_salary)
    out["target_incentive"] = money(inp.target_incentive)
    for j, m in enumerate(plan.measures):
        with np.errstate(divide="ignore", invalid="ignore"):
            out[f"attainment_{m.name}"] = np.round(np.where(year_q[:, j] > 0, year_c[:, j] / year_q[:, j], np.nan), 6)
    paid = ev.payment.sum(axis=1)
    out["earned"] = money(ev.earned)
    out["paid"] = money(paid)
    out["owed_back"] = money(ev.unrecovered)
    out["pay_to_target"] = np.round(paid / np.maximum(inp.target_incentive, 1), 4)
    out["credited_revenue"] = money(inp.revenue)
    out["months_on_plan"] = inp.months_on_plan
    out["capped"] = money(-(ev.cap_ytd[:, -1].sum(axis=1) + ev.pay_cap_ytd[:, -1]))
    return out
