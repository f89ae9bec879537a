"""Evaluate a plan on actual data: transactions -> credit -> engine -> statements, KPIs and reconciliation.

Reconciliation re-derives each paid figure a second way from the credit lines and refuses a plan whose figures
differ (see `reconcile`); plausibility warnings flag what is legal but likely wrong (see `plan_warnings`,
`zero_quota_warnings`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from spmopt.comp.crediting import (
    DIRECT_CREDIT,
    OWN_CREDIT,
    CreditingRules,
    CreditLedger,
    credit,
    read_hierarchy,
    read_overlays,
    read_splits,
)
from spmopt.comp.engine import SAFE_CENTS, Evaluation, evaluate, exact_sum
from spmopt.comp.inputs import (
    CompInputs,
    QuotaRows,
    Roster,
    comp_inputs,
    measure_quota,
    merged_terms,
    payee_terms,
    quota_rows,
    read_payee_terms,
    read_quotas,
)
from spmopt.comp.kpi import PlanKpis, plan_kpis
from spmopt.comp.plan import COUNT_SCALE, CompPlan, Credit, Measure, PayCap, cents, plan_warnings, with_plan_year
from spmopt.comp.statements import money
from spmopt.comp.transactions import Transactions, load_transactions
from spmopt.config import CompConfig
from spmopt.data.tables import read_table, require_columns
from spmopt.errors import DataError
from spmopt.facts import Facts

SHOWN = 5
"""Failures (or warnings) of one kind listed by name before the rest are counted."""


class Reconciliation(Facts):
    """The totals a plan's evaluation must reconcile to, as exact money text, and what failed to."""

    transactions_total: str
    credited_direct_total: str
    uncredited_total: str
    statement_lines_total: str
    payments_total: str
    earned_total: str
    owed_back_total: str
    draw_guarantees_total: str
    reconciled: bool
    """True only when every check holds."""
    failures: list[str] = []


@dataclass(frozen=True, slots=True)
class CompResult:
    """One plan evaluated on one data set."""

    plan: CompPlan
    ledger: CreditLedger
    inputs: CompInputs
    evaluation: Evaluation
    kpis: PlanKpis
    reconciliation: Reconciliation
    warnings: tuple[str, ...] = ()
    """Legal but likely wrong: falling payout curves, payees with credit but a zero quota."""


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
    terms: Roster | None = None,
) -> CompResult:
    """Credit the transactions, pay the plan, build KPIs and check that every total reconciles (raises a
    `DataError` listing what does not). `terms` are the payees' own pay terms (`inputs.payee_terms`); when
    `quotas` is a file and `terms` is None they are read from it."""
    tx = transactions if isinstance(transactions, Transactions) else load_transactions(transactions, plan)
    if splits is not None:
        rules = replace(rules, splits=read_splits(splits, tx, rules.payees))
    ledger = credit(tx, rules, plan.clawback_days)
    if isinstance(quotas, Path):
        if terms is None:
            terms = read_payee_terms(quotas)
        quotas_name, quotas = quotas, read_quotas(quotas, plan)
    quotas = with_manager_quotas(plan, ledger, quotas, rules, quotas_name)
    inp = comp_inputs(plan, ledger, quotas, rules, quotas_name, terms)
    # SPIFs pay on the payee's own credit only; comp_inputs counts every line (roll-up included) for them.
    inp = replace(inp, spif_credit=own_spif_credit(plan, ledger, inp.payees))
    ev = evaluate(plan, inp.credit, inp.quota, inp.target_incentive, inp.spif_credit, inp.draw)
    reps = np.array([r == "rep" for r in inp.roles])
    kpis = plan_kpis(plan, ev, inp.credit, inp.quota, inp.target_incentive, np.where(reps, inp.revenue, 0))
    facts = reconcile(tx, ledger, ev, plan, inp, rules)
    if not facts.reconciled:
        totals = facts.model_dump(exclude={"reconciled", "failures"})
        raise DataError(f"{plan.source}: reconciliation failed: {'; '.join(facts.failures)} (totals: {totals})")
    warnings = (*plan_warnings(plan), *tx.warnings, *ledger.warnings, *zero_quota_warnings(plan, inp, ev))
    return CompResult(plan, ledger, inp, ev, kpis, facts, warnings)


def own_spif_credit(plan: CompPlan, ledger: CreditLedger, payees: tuple[str, ...]) -> np.ndarray:
    """(payees, periods, spifs) qualifying SPIF credit: the payee's own lines (`OWN_CREDIT`: direct, split,
    clawback, overlay; never managers' roll-up) of the SPIF's products whose deal date is in its window."""
    index = {p: i for i, p in enumerate(payees)}
    lines = ledger.own_lines()
    lines = lines[lines["payee_id"].isin(index)]
    pos = lines["payee_id"].map(index).to_numpy(dtype=np.int64)
    period = lines["period"].to_numpy(dtype=np.int64)
    deal = pd.to_datetime(lines["deal_date"])
    out = np.zeros((len(payees), plan.periods, len(plan.spifs)), dtype=np.int64)
    for j, spif in enumerate(plan.spifs):
        mask = (
            _of_products(lines, spif.credit)
            & (deal >= pd.Timestamp(spif.start)).to_numpy()
            & (deal <= pd.Timestamp(spif.end)).to_numpy()
        )
        np.add.at(out[:, :, j], (pos[mask], period[mask]), lines[spif.credit.field].to_numpy()[mask])
    return out


def _of_products(lines: pd.DataFrame, credit: Credit) -> np.ndarray:
    if credit.products is None:
        return np.ones(len(lines), dtype=bool)
    return lines["product"].isin(credit.products).to_numpy()


def with_manager_quotas(
    plan: CompPlan, ledger: CreditLedger, rows: QuotaRows, rules: CreditingRules, path: Path | str
) -> QuotaRows:
    """The quota rows plus, for each manager this plan pays who has no quota for a measure, the sum of that
    measure's quota over every report whose credit rolls up to them, whether this plan pays the report or not,
    so attainment = roll-up credit / roll-up quota covers the same people. Reports are the payees below the
    manager (any depth) with direct, split or clawback credit or a quota row, except managers (their quota is a
    team's) and overlays (overlay credit does not roll up). Raises if a report has no quota for the measure."""
    out = dict(rows)
    overlays = {o.payee_id for o in rules.overlays}
    sellers = ledger.lines.loc[ledger.lines["how"].isin(DIRECT_CREDIT), "payee_id"].tolist()
    people = dict.fromkeys([*(p for p, _ in rows), *sellers])
    below_of: dict[str, list[str]] = {}
    for p in people:
        if rules.role(p) not in ("manager", "overlay") and p not in overlays:
            for manager in rules.managers_above(p):
                below_of.setdefault(manager, []).append(p)
    for manager, below in below_of.items():
        if plan.eligible_roles is not None and rules.role(manager) not in plan.eligible_roles:
            continue
        for k, measure in enumerate(plan.measures):
            if measure_quota(rows, manager, plan, k) is None:
                out[(manager, measure.name)] = _summed_quota(plan, rows, manager, below, k, rules, path)
    return out


def _summed_quota(
    plan: CompPlan, rows: QuotaRows, manager: str, below: list[str], k: int, rules: CreditingRules, path: Path | str
) -> np.ndarray:
    name = plan.measures[k].name
    parts = {p: measure_quota(rows, p, plan, k) for p in below}
    missing = [p for p, q in parts.items() if q is None]
    if missing:
        shown = ", ".join(f"{p} (role {rules.role(p)})" for p in missing[:SHOWN])
        more = f" and {len(missing) - SHOWN} more" if len(missing) > SHOWN else ""
        raise DataError(
            f"{path}: manager {manager} has no {name} quota row, so it is the sum over the reports whose credit rolls "
            f"up to them (paid by plan '{plan.name}' or not), but {shown}{more} ha{'s' if len(missing) == 1 else 've'} "
            f"no {name} quota; add their quota rows or a {name} row for {manager}"
        )
    # Python integers: a large team's sum must not wrap before the engine's range check sees it.
    total = [exact_sum([int(q[t]) for q in parts.values()]) for t in range(plan.periods)]
    if max(map(abs, total), default=0) >= SAFE_CENTS:
        raise DataError(f"{path}: manager {manager}'s summed {name} quota is beyond the engine's int64 range")
    return np.array(total, dtype=np.int64)


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
    account_unit: pd.Series | None = None,
    account_rep: pd.Series | None = None,
) -> list[CompResult]:
    """Every candidate plan of a scenario on the designed alignment, the set quotas and the transactions;
    `account_unit` (account -> unit, from the scenario's accounts file) credits transactions keyed by account,
    and `account_rep` those of accounts it cannot place, which stay with their owner."""
    c = cfg.crediting
    manager_of, roles = read_hierarchy(c.hierarchy) if c.hierarchy is not None else ({}, {})
    rules = CreditingRules(
        rep_of_territory=reps_of,
        alignment=alignment,
        manager_of=manager_of,
        roles=roles,
        overlays=read_overlays(c.overlays) if c.overlays is not None else (),
        account_unit=account_unit,
        account_rep=account_rep,
    )
    names = [p.name for p in plans]
    if len(set(names)) < len(names):
        raise DataError(f"comp.plans: two plans share the name '{next(n for n in names if names.count(n) > 1)}'")
    extra = [cfg.quotas] if cfg.quotas is not None else []
    # The quota stage's table knows new hires' start months; comp.quotas may add anyone's own terms.
    terms = merged_terms(extra, payee_terms(quota_table, "the quota stage's quotas"))
    results = []
    for plan in scenario_plans(cfg, plans):
        stage = quota_rows(quota_table, "the quota stage's quotas", plan)
        rows = merged_quotas(extra, plan, stage)
        results.append(evaluate_plan(plan, cfg.transactions, rows, rules, c.splits, cfg.quotas or "quotas", terms))
    return results


def scenario_plans(cfg: CompConfig, plans: list[CompPlan]) -> list[CompPlan]:
    """The plans on the scenario's plan year (`comp.plan_year`) when it sets one, else as written."""
    if cfg.plan_year is None:
        return list(plans)
    start = dt.date.fromisoformat(cfg.plan_year)
    return [with_plan_year(p, start, "the scenario's comp.plan_year") for p in plans]


def reconcile(
    tx: Transactions, ledger: CreditLedger, ev: Evaluation, plan: CompPlan, inp: CompInputs, rules: CreditingRules
) -> Reconciliation:
    """Every total two ways, and every paid figure traced back to credit lines:

    * transactions = direct credit + uncredited;
    * per payee and period, measure + bonus + SPIF lines + adjustment + draw = payment; per payee, payments =
      earnings + owed back + non-recoverable draw top-ups (>= 0, and 0 without such a draw);
    * each payee's credit per measure and period = the sum of their credit lines (of the measure's products);
    * each manager's roll-up credit = the sum of the direct, split and clawback lines of everyone below them;
    * SPIF earnings = the SPIF's rate (or amount per deal) x the payee's own qualifying credit (no roll-up);
    * bonus earnings = the bonuses whose levels the traced credit / quota reaches (milestones and gates applied);
    * every pay cap re-applied, period by period, to the uncapped amounts gives the capped ones;
    * no draw is scheduled in a period the payee is not on the plan for any month.

    `reconciled` is True only when every check holds; otherwise it is False and `failures` lists them."""
    transactions = exact_sum(tx.frame["amount"])
    uncredited = exact_sum(ledger.uncredited["amount"]) if len(ledger.uncredited) else 0
    lines = sum(exact_sum(a) for a in (ev.lines, ev.spif_lines, ev.pay_cap_lines, ev.adjustment, ev.draw))
    paid, earned, owed = exact_sum(ev.payment), exact_sum(ev.earned), exact_sum(ev.unrecovered)
    direct = ledger.direct_total()
    failures: list[str] = []
    if transactions != direct + uncredited:
        failures.append(
            f"transactions {money(transactions)} != credited {money(direct)} + uncredited {money(uncredited)}"
        )
    if lines != paid:
        failures.append(f"statement lines {money(lines)} != payments {money(paid)}")
    failures += _statement_failures(plan, inp, ev)
    failures += _credit_failures(plan, ledger, inp)
    failures += _rollup_failures(ledger, rules)
    failures += _spif_failures(plan, ledger, inp, ev)
    failures += _bonus_failures(plan, inp, ev)
    failures += _cap_failures(plan, inp, ev)
    failures += _draw_failures(plan, inp)
    return Reconciliation(
        transactions_total=money(transactions),
        credited_direct_total=money(direct),
        uncredited_total=money(uncredited),
        statement_lines_total=money(lines),
        payments_total=money(paid),
        earned_total=money(earned),
        owed_back_total=money(owed),
        draw_guarantees_total=money(paid - earned - owed),
        reconciled=not failures,
        failures=failures,
    )


def _listed(what: str, items: list[str]) -> list[str]:
    """At most `SHOWN` items of one kind, then a count of the rest."""
    if len(items) <= SHOWN:
        return items
    return [*items[:SHOWN], f"{what}: {len(items) - SHOWN} more like these"]


def _statement_failures(plan: CompPlan, inp: CompInputs, ev: Evaluation) -> list[str]:
    out = []
    explained = ev.lines.sum(axis=2) + ev.spif_lines.sum(axis=2) + ev.pay_cap_lines + ev.adjustment + ev.draw
    for i, p in np.argwhere(explained != ev.payment):
        out.append(
            f"payee {inp.payees[i]}, period {p + 1}: statement lines add up to {money(int(explained[i, p]))}, "
            f"the payment is {money(int(ev.payment[i, p]))}"
        )
    guarantee = ev.payment.sum(axis=1) - ev.earned - ev.unrecovered
    # Only a non-recoverable draw pays more than earnings plus what is owed back.
    may_top_up = plan.draw is not None and not plan.draw.recoverable
    for i in np.flatnonzero((guarantee < 0) | ((guarantee != 0) & (not may_top_up))):
        out.append(
            f"payee {inp.payees[i]}: payments {money(int(ev.payment[i].sum()))} != earned {money(int(ev.earned[i]))} "
            f"+ owed back {money(int(ev.unrecovered[i]))}"
            + (" + draw top-ups >= 0" if may_top_up else " (the plan has no non-recoverable draw)")
        )
    return _listed("statements", out)


def _traced(frame: pd.DataFrame, column: str, index: dict[str, int], periods: int) -> np.ndarray:
    """(payees, periods) sums of `column` over the frame's lines, by payee and period (payees not in `index`
    are left out)."""
    out = np.zeros((len(index), periods), dtype=np.int64)
    if frame.empty:
        return out
    sums = frame.groupby(["payee_id", "period"])[column].sum()
    for (payee, period), value in sums.items():
        if payee in index:
            out[index[payee], int(period)] = value
    return out


def _credit_failures(plan: CompPlan, ledger: CreditLedger, inp: CompInputs) -> list[str]:
    index = {p: i for i, p in enumerate(inp.payees)}
    out = []
    for k, m in enumerate(plan.measures):
        lines = ledger.lines
        if m.credit.products is not None:
            lines = lines[lines["product"].isin(m.credit.products)]
        expected = _traced(lines, m.credit.field, index, plan.periods)
        for i, p in np.argwhere(expected != inp.credit[:, :, k]):
            out.append(
                f"payee {inp.payees[i]}, period {p + 1}: {m.name} credit {money(int(inp.credit[i, p, k]))} but "
                f"their credit lines add up to {money(int(expected[i, p]))}"
            )
    return _listed("credit", out)


def _managers_above(payee: str, manager_of: dict[str, str]) -> list[str]:
    chain: list[str] = []
    while payee in manager_of and manager_of[payee] not in chain and manager_of[payee] != payee:
        payee = manager_of[payee]
        chain.append(payee)
    return chain


def _rollup_failures(ledger: CreditLedger, rules: CreditingRules) -> list[str]:
    cols = ["amount", "margin", "deals", "new_logos"]
    own = ledger.lines[ledger.lines["how"].isin(DIRECT_CREDIT)]
    chains = {p: _managers_above(p, rules.manager_of) for p in own["payee_id"].unique()}
    below = own.assign(manager=own["payee_id"].map(chains)).explode("manager").dropna(subset=["manager"])
    expected = below.groupby(["manager", "period"])[cols].sum()
    rollup = ledger.lines[ledger.lines["how"] == "rollup"]
    actual = rollup.groupby(["payee_id", "period"])[cols].sum().rename_axis(["manager", "period"])
    both = expected.merge(
        actual, how="outer", left_index=True, right_index=True, suffixes=("_below", "_rollup")
    ).fillna(0)
    out = []
    for (manager, period), row in both.iterrows():
        for col in cols:
            want, got = int(row[f"{col}_below"]), int(row[f"{col}_rollup"])
            if want != got:
                shown = money if col in ("amount", "margin") else (lambda v: f"{v / COUNT_SCALE:g}")
                out.append(
                    f"manager {manager}, period {int(period) + 1}: roll-up {col} {shown(got)} but the direct, split "
                    f"and clawback lines of everyone below them add up to {shown(want)}"
                )
    return _listed("roll-up", out)


def _rounded(value: Fraction, rule: str) -> int:
    """Whole cents: half to even, or half away from zero."""
    if rule == "half_even":
        return round(value)
    return int(value + Fraction(1, 2)) if value >= 0 else -int(-value + Fraction(1, 2))


def _spif_failures(plan: CompPlan, ledger: CreditLedger, inp: CompInputs, ev: Evaluation) -> list[str]:
    index = {p: i for i, p in enumerate(inp.payees)}
    own = ledger.lines[ledger.lines["how"].isin(OWN_CREDIT)]
    out = []
    for j, spif in enumerate(plan.spifs):
        # A boolean array, not a list: an empty list would select columns.
        sel = own[np.array([spif.start <= d <= spif.end for d in own["deal_date"]], dtype=bool)]
        if spif.credit.products is not None:
            sel = sel[sel["product"].isin(spif.credit.products)]
        ytd = np.cumsum(_traced(sel, spif.credit.field, index, plan.periods), axis=1)
        per_unit = Fraction(cents(spif.per_deal), COUNT_SCALE) if spif.per_deal is not None else Fraction(spif.rate)
        paid = ev.spif_ytd[:, :, j]
        for i, p in np.argwhere((ytd != 0) | (paid != 0)):
            want = _rounded(per_unit * int(ytd[i, p]), plan.rounding)
            if want != int(paid[i, p]):
                out.append(
                    f"SPIF {spif.name}: payee {inp.payees[i]}, period {p + 1}: earned {money(int(paid[i, p]))} year to "
                    f"date, but their own qualifying credit ({', '.join(OWN_CREDIT)} lines, not roll-up) of "
                    f"{int(ytd[i, p]) / (COUNT_SCALE if spif.credit.is_count else 100):.2f} pays {money(want)}"
                )
    return _listed("SPIF", out)


def _at_least(c: np.ndarray, q: np.ndarray, level: object) -> np.ndarray:
    """C / Q >= level in Python integers (never while Q = 0)."""
    f = Fraction(level)
    return (q > 0) & np.asarray(c.astype(object) * f.denominator >= q.astype(object) * f.numerator, dtype=bool)


def _bonus_failures(plan: CompPlan, inp: CompInputs, ev: Evaluation) -> list[str]:
    c, q = np.cumsum(inp.credit, axis=1), np.cumsum(inp.quota, axis=1)
    names = plan.measure_names
    periods = np.arange(plan.periods)
    out = []
    for k, m in enumerate(plan.measures):
        want = np.zeros(c.shape[:2], dtype=object)
        for b in m.bonuses:
            # A milestone's verdict is taken at its deadline and kept.
            at = periods if b.by_period is None else np.minimum(periods, b.by_period - 1)
            want = want + cents(b.amount) * _at_least(c[:, at, k], q[:, at, k], b.attainment)
        if m.gate is not None:
            g = names.index(m.gate.measure)
            want = want * _at_least(c[:, :, g], q[:, :, g], m.gate.min_attainment)
        for i, p in np.argwhere(want != ev.bonus_ytd[:, :, k]):
            out.append(
                f"payee {inp.payees[i]}, period {p + 1}: {m.name} bonuses {money(int(ev.bonus_ytd[i, p, k]))} year to "
                f"date, but their credit {money(int(c[i, p, k]))} against quota {money(int(q[i, p, k]))} earns "
                f"{money(int(want[i, p]))}"
            )
    return _listed("bonus", out)


def _under_cap(uncapped: list[int], cap: PayCap) -> list[int]:
    """One payee's year-to-date amounts under a pay cap, period by period: a rise above the period cap is cut to
    it (and lost), a fall counts whole, and the running total stops at the year cap."""
    out, kept, before = [], 0, 0
    for value in uncapped:
        rise = value - before
        before = value
        kept += rise if cap.period is None else min(rise, cents(cap.period))
        out.append(kept if cap.year is None else min(kept, cents(cap.year)))
    return out


def _cap_failures(plan: CompPlan, inp: CompInputs, ev: Evaluation) -> list[str]:
    out = []
    capped = [(m.name, m.pay_cap, ev.earned_ytd[:, :, k], ev.cap_ytd[:, :, k]) for k, m in enumerate(plan.measures)]
    total = ev.earned_ytd.sum(axis=2) + ev.spif_ytd.sum(axis=2)
    capped.append(("the plan's pay cap on total pay", plan.pay_cap, total + ev.pay_cap_ytd, ev.pay_cap_ytd))
    for name, cap, after, cut in capped:
        if cap is None:
            for i, p in np.argwhere(cut != 0):
                out.append(
                    f"payee {inp.payees[i]}, period {p + 1}: {name} has no pay cap but {money(int(cut[i, p]))} capped"
                )
            continue
        for i in range(len(inp.payees)):
            want = _under_cap([int(v) for v in after[i] - cut[i]], cap)
            for p in np.flatnonzero(np.array(want, dtype=object) != after[i].astype(object)):
                out.append(
                    f"payee {inp.payees[i]}, period {p + 1}: {name} pays {money(int(after[i, p]))} year to date after "
                    f"its pay cap, but the cap on {money(int(after[i, p] - cut[i, p]))} leaves {money(want[p])}"
                )
    return _listed("pay cap", out)


def _draw_failures(plan: CompPlan, inp: CompInputs) -> list[str]:
    out = []
    per = 12 // plan.periods
    for i, payee in enumerate(inp.payees):
        for p in np.flatnonzero(inp.draw[i]):
            first, last = p * per + 1, (p + 1) * per
            if last < inp.start_month[i] or first > inp.end_month[i]:
                out.append(
                    f"payee {payee}, period {p + 1}: a draw of {money(int(inp.draw[i, p]))} though they are on the "
                    f"plan from month {inp.start_month[i]} to {inp.end_month[i]} only"
                )
    return _listed("draw", out)


def zero_quota_warnings(plan: CompPlan, inp: CompInputs, ev: Evaluation) -> list[str]:
    """Payees with credit on a measure but a year quota of 0: attainment is undefined, so say what was paid."""
    year_c, year_q = inp.credit.sum(axis=1), inp.quota.sum(axis=1)
    out = []
    for i, k in np.argwhere((year_q == 0) & (year_c > 0)):
        m = plan.measures[k]
        unit = f" {m.credit.field}" if m.credit.is_count else ""
        out.append(
            f"{plan.source}: payee {inp.payees[i]} has {money(int(year_c[i, k]))}{unit} of {m.name} credit but a "
            f"{m.name} quota of 0, so attainment is undefined; the plan paid them "
            f"{money(int(ev.earned_ytd[i, -1, k]))} on {m.name} ({_no_quota_rule(m)})"
        )
    return _listed(f"{plan.source}: payees with credit but a zero quota", out)


def _no_quota_rule(m: Measure) -> str:
    if m.curve is not None:
        return "a curve measure pays nothing without a quota"
    first = m.tiers[0]
    if first.start == 0:
        return f"commission at the first tier's rate {first.rate}, which starts at 0"
    return f"no commission: the first tier starts at attainment {first.start}"


class PlanFacts(Facts):
    """One plan's evaluation in the manifest: KPIs, reconciliation, credit exceptions and warnings."""

    kpis: PlanKpis
    reconciliation: Reconciliation
    uncredited_transactions: int
    credit_lines: int
    warnings: list[str] = []


class CompFacts(Facts):
    """What the comp stage did: every plan's facts, by plan name."""

    stage: Literal["comp"] = "comp"
    plans: dict[str, PlanFacts]


def comp_facts(results: list[CompResult]) -> CompFacts:
    """Manifest facts of a comp evaluation: per plan, its KPIs, reconciliation, credit exceptions and warnings."""
    return CompFacts(
        plans={
            r.plan.name: PlanFacts(
                kpis=r.kpis,
                reconciliation=r.reconciliation,
                uncredited_transactions=len(r.ledger.uncredited),
                credit_lines=len(r.ledger.lines),
                warnings=list(r.warnings),
            )
            for r in results
        }
    )


def comp_warnings(results: list[CompResult]) -> list[str]:
    """Every plan's warnings, in plan order, once each (plans share the transactions' warnings)."""
    return list(dict.fromkeys(w for r in results for w in r.warnings))
