"""Turn a credit ledger and a quotas file into the engine's arrays (payees x periods x measures).

Quotas file: one row per payee (`rep_id` or `payee_id`), optionally per `measure`, with period columns
`m01`..`m12` or `q1`..`q4`, optionally prefixed `quota_` (or only `annual_quota`, split evenly by largest
remainder). spmopt's own `quotas.csv` is such a file. A measure without its own row uses the payee's row
times the measure's `quota_scale`; a manager without a row gets the sum of the quotas of everyone below them.

The same rows carry each payee's own pay terms (`payee_terms`), in optional columns: `target_incentive` and
`base_salary` (annual, overriding the plan's role and plan-wide values), `start_month` and `end_month` (the
plan-year months the payee is on the plan; spmopt's `quotas.csv` has `start_month` for new hires). A row whose
quota cells are all blank but which gives terms is a terms-only row, so a roster of terms can be its own file.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from spmopt.comp.crediting import CreditingRules, CreditLedger
from spmopt.comp.engine import draw_schedule, prorated
from spmopt.comp.plan import CompPlan, Credit, cents
from spmopt.data.tables import MAX_MONEY, read_table, require_columns, row_number, shown
from spmopt.errors import DataError
from spmopt.quota.periods import split_exact

MONTHS = tuple(f"m{k:02d}" for k in range(1, 13))
QUARTERS = ("q1", "q2", "q3", "q4")


@dataclass(frozen=True, slots=True)
class CompInputs:
    """The engine's inputs for one plan on one data set, plus what KPIs need."""

    payees: tuple[str, ...]
    roles: tuple[str, ...]
    credit: np.ndarray
    """(payees, periods, measures) int64: cents, or hundredths of a deal for count measures."""
    quota: np.ndarray
    target_incentive: np.ndarray
    """(payees,) cents for the payee's time on the plan: their own, their role's or the plan's annual target
    incentive x months on the plan / 12."""
    base_salary: np.ndarray
    """(payees,) cents, prorated like `target_incentive`."""
    spif_credit: np.ndarray
    """(payees, periods, spifs)."""
    revenue: np.ndarray
    """(payees,) cents of amount credited to the payee (any way), the base of cost of sales."""
    start_month: np.ndarray
    """(payees,) first plan-year month (1-12) on the plan."""
    end_month: np.ndarray
    """(payees,) last plan-year month (1-12) on the plan."""
    draw: np.ndarray
    """(payees, periods) cents of draw per payout period (`engine.draw_schedule`)."""

    @property
    def months_on_plan(self) -> np.ndarray:
        return self.end_month - self.start_month + 1


QuotaRows = dict[tuple[str, str | None], np.ndarray]

TERM_COLUMNS = ("target_incentive", "base_salary", "start_month", "end_month")


@dataclass(frozen=True, slots=True)
class PayeeTerms:
    """A payee's own pay terms from the quotas file; None where the file does not say."""

    target_incentive: int | None = None
    """Annual cents, > 0; overrides the plan's role and plan-wide value."""
    base_salary: int | None = None
    """Annual cents, >= 0."""
    start_month: int | None = None
    """First plan-year month on the plan, 1-12 (0 as in spmopt's quotas.csv: on board from the start)."""
    end_month: int | None = None
    """Last plan-year month on the plan, 1-12 (a leaver)."""


Roster = dict[str, PayeeTerms]
"""Payee -> their own pay terms."""


def read_quotas(path: Path, plan: CompPlan) -> QuotaRows:
    """(payee, measure or None) -> quota per payout period, in cents (hundredths for count measures)."""
    return quota_rows(read_table(path, "quotas"), path, plan)


def quota_rows(raw: pd.DataFrame, path: Path | str, plan: CompPlan) -> QuotaRows:
    """`read_quotas` on a table already in memory (e.g. the quota stage's); `path` names it in errors."""
    who = "payee_id" if "payee_id" in raw.columns else "rep_id"
    require_columns(raw, [who], path, "quotas")
    terms = [c for c in TERM_COLUMNS if c in raw.columns]
    columns = _period_columns(raw, plan, path, roster=bool(terms))
    measures = set(plan.measure_names)
    out: QuotaRows = {}
    if not columns:
        return out  # a roster: pay terms only
    for pos in range(len(raw)):
        row = raw.iloc[pos]
        payee = row[who]
        if payee is None or pd.isna(payee) or not str(payee).strip():
            continue  # a vacant territory: nobody to pay
        if all(_blank(row[c]) for c in columns) and any(not _blank(row[c]) for c in terms):
            continue  # a terms-only row: `payee_terms` reads it
        measure = None
        if "measure" in raw.columns and pd.notna(row["measure"]) and str(row["measure"]).strip():
            measure = str(row["measure"]).strip()
            if measure not in measures:
                raise DataError(
                    f"{path}: row {row_number(raw, pos)}: measure '{measure}' is not in plan '{plan.name}' "
                    f"(measures: {', '.join(plan.measure_names)})"
                )
        if isinstance(payee, float) and payee.is_integer():
            payee = int(payee)
        key = (str(payee).strip(), measure)
        if key in out:
            raise DataError(f"{path}: row {row_number(raw, pos)}: a second quota row for {key[0]} {measure or ''}")
        values = [_hundredths(row[c], path, row_number(raw, pos), c) for c in columns]
        if columns == ["annual_quota"]:
            values = split_exact(values[0], np.ones(plan.periods))
        elif len(columns) == 12 and plan.periods == 4:
            values = [sum(values[3 * k : 3 * k + 3]) for k in range(4)]
        out[key] = np.array(values, dtype=np.int64)
    return out


def _period_columns(raw: pd.DataFrame, plan: CompPlan, path: Path, roster: bool = False) -> list[str]:
    for prefix in ("", "quota_"):
        if all(prefix + c in raw.columns for c in MONTHS):
            return [prefix + c for c in MONTHS]
        if all(prefix + c in raw.columns for c in QUARTERS):
            if plan.payout == "month":
                raise DataError(
                    f"{path}: quotas are quarterly (q1..q4) but plan '{plan.name}' pays monthly; give monthly "
                    "quotas (m01..m12) or set the plan's payout: quarter"
                )
            return [prefix + c for c in QUARTERS]
    if "annual_quota" in raw.columns:
        return ["annual_quota"]
    if roster:
        return []  # only pay terms, no quotas
    raise DataError(
        f"{path}: quotas need period columns m01..m12 or q1..q4, or an annual_quota column (or, for a file of "
        f"pay terms only, some of {', '.join(TERM_COLUMNS)})"
    )


def _blank(value: object) -> bool:
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value))) or not str(value).strip()


def payee_terms(raw: pd.DataFrame, path: Path | str) -> Roster:
    """Each payee's own pay terms from the optional `TERM_COLUMNS` of a quotas table (any of the payee's rows
    may give them; rows that give one differently are refused, naming both)."""
    who = "payee_id" if "payee_id" in raw.columns else "rep_id"
    columns = [c for c in TERM_COLUMNS if c in raw.columns]
    if not columns or who not in raw.columns:
        return {}
    given: dict[str, dict[str, tuple[int, int]]] = {}
    for pos in range(len(raw)):
        row = raw.iloc[pos]
        payee = row[who]
        if _blank(payee):
            continue
        if isinstance(payee, float) and payee.is_integer():
            payee = int(payee)
        payee, line = str(payee).strip(), row_number(raw, pos)
        terms = given.setdefault(payee, {})
        for column in columns:
            if _blank(row[column]):
                continue
            value = _term(row[column], path, line, column)
            if column in terms and terms[column][0] != value:
                before, at = terms[column]
                raise DataError(
                    f"{path}: row {line}: {column} of {payee} is {_term_text(column, value)}, but row {at} gives "
                    f"{_term_text(column, before)}; give it once"
                )
            terms.setdefault(column, (value, line))
    out: Roster = {}
    for payee, terms in given.items():
        found = PayeeTerms(**{c: v for c, (v, _) in terms.items()})
        if "end_month" in terms:
            _check_tenure(found, payee, f"{path}: row {terms['end_month'][1]}")
        out[payee] = found
    return out


def _term(value: object, path: Path | str, line: int, column: str) -> int:
    """One pay-term cell: cents for money, a whole month for months."""
    if column in ("start_month", "end_month"):
        low = 0 if column == "start_month" else 1
        try:
            number = Decimal(repr(float(value)) if isinstance(value, float) else str(value).strip())
        except ArithmeticError:
            number = Decimal("NaN")
        if not number.is_finite() or number != number.to_integral_value() or not low <= number <= 12:
            meaning = "0 or blank: on the plan from the year's start" if low == 0 else "blank: to the year's end"
            raise DataError(
                f"{path}: row {line}: {column} = {shown(value)}: must be a whole plan-year month {low}..12 ({meaning})"
            )
        return int(number)
    amount = _hundredths(value, path, line, column)
    if column == "target_incentive" and amount == 0:
        raise DataError(
            f"{path}: row {line}: target_incentive = {shown(value)}: must be above 0 (leave it blank for the plan's)"
        )
    return amount


def _term_text(column: str, value: int) -> str:
    return str(value) if column.endswith("_month") else f"{Decimal(value) / 100:.2f}"


def _check_tenure(terms: PayeeTerms, payee: str, where: str) -> None:
    start = max(terms.start_month or 1, 1)
    if terms.end_month is not None and terms.end_month < start:
        raise DataError(
            f"{where}: end_month {terms.end_month} of {payee} is before their start_month {start}: "
            "a payee is on the plan from start_month to end_month, inclusive"
        )


def read_payee_terms(path: Path) -> Roster:
    """`payee_terms` of a quotas (or roster) file."""
    return payee_terms(read_table(path, "quotas"), path)


def merged_terms(
    paths: list[Path], first: Roster | None = None, first_name: str = "the quota stage's quota table"
) -> Roster:
    """The pay terms of several quotas files (after `first`, an in-memory table's), term by term; a term two
    sources give differently is refused, naming both."""
    out: Roster = dict(first or {})
    source = {(payee, c): first_name for payee, t in out.items() for c in TERM_COLUMNS if getattr(t, c) is not None}
    for path in paths:
        for payee, terms in read_payee_terms(path).items():
            before = out.get(payee, PayeeTerms())
            merged = {}
            for column in TERM_COLUMNS:
                old, new = getattr(before, column), getattr(terms, column)
                if old is not None and new is not None and old != new:
                    raise DataError(
                        f"{path}: {column} of {payee} is {_term_text(column, new)}, but {source[(payee, column)]} "
                        f"gives {_term_text(column, old)}; give it once"
                    )
                if old is None and new is not None:
                    source[(payee, column)] = str(path)
                merged[column] = new if new is not None else old
            found = PayeeTerms(**merged)
            _check_tenure(found, payee, str(path))
            out[payee] = found
    return out


def _hundredths(value: object, path: Path | str, line: int, column: str) -> int:
    try:
        amount = Decimal(repr(float(value)) if isinstance(value, float) else str(value).strip())
    except ArithmeticError:
        amount = Decimal("NaN")
    given = "missing" if isinstance(value, float) and value != value else f"= {shown(value)}"
    if amount.is_finite() and abs(amount) > MAX_MONEY:  # checked first: quantize cannot hold so many digits
        raise DataError(f"{path}: row {line}: {column} {given} is beyond the limit of {MAX_MONEY:,.0f} (1e13)")
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise DataError(f"{path}: row {line}: {column} {given}: must be a number >= 0 with at most two decimals")
    return int(amount * 100)


def measure_quota(rows: QuotaRows, payee: str, plan: CompPlan, k: int) -> np.ndarray | None:
    """One payee's per-period quota of measure k (cents, or hundredths for counts), or None if not given."""
    measure = plan.measures[k]
    if (payee, measure.name) in rows:
        return rows[(payee, measure.name)]
    if (payee, None) not in rows or measure.credit.is_count:
        return None
    scale = measure.quota_scale
    return np.array(
        [int((Decimal(int(v)) * scale).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)) for v in rows[(payee, None)]],
        dtype=np.int64,
    )


def comp_inputs(
    plan: CompPlan,
    ledger: CreditLedger,
    rows: QuotaRows,
    rules: CreditingRules,
    path: Path,
    terms: Roster | None = None,
) -> CompInputs:
    """Credit and quota arrays for every payee with credit or a quota (managers' missing quotas roll up), and
    each payee's target incentive, base salary and draws for their months on the plan (`terms`)."""
    credited = ledger.lines["payee_id"].unique().tolist()
    quota_payees = [p for p, _ in rows]
    wanted = set(credited) | set(quota_payees) | set(rules.manager_of.values())
    payees = tuple(p for p in dict.fromkeys([*rules.payees, *quota_payees, *credited]) if p in wanted)
    if plan.eligible_roles is not None:
        payees = tuple(p for p in payees if rules.role(p) in plan.eligible_roles)
    index = {p: i for i, p in enumerate(payees)}
    n, periods, k = len(payees), plan.periods, len(plan.measures)
    quota = np.zeros((n, periods, k), dtype=np.int64)
    given = np.zeros((n, k), dtype=bool)
    for p in payees:
        for j in range(k):
            q = measure_quota(rows, p, plan, j)
            if q is not None:
                quota[index[p], :, j], given[index[p], j] = q, True
    _roll_up_quotas(quota, given, payees, rules)
    missing = [(p, plan.measures[j].name) for p in payees for j in range(k) if not given[index[p], j]]
    if missing:
        shown = ", ".join(f"{p} ({m})" for p, m in missing[:5])
        raise DataError(
            f"{path}: no quota for {len(missing)} payee/measure pair(s): {shown}; add rows (with a `measure` column "
            "for count measures such as new logos)"
        )
    lines = ledger.lines[ledger.lines["payee_id"].isin(index)]
    pos = lines["payee_id"].map(index).to_numpy(dtype=np.int64)
    period = lines["period"].to_numpy()
    credit = np.zeros((n, periods, k), dtype=np.int64)
    for j, m in enumerate(plan.measures):
        mask = _matches(lines, m.credit)
        np.add.at(credit[:, :, j], (pos[mask], period[mask]), lines[m.credit.field].to_numpy()[mask])
    spif_credit = np.zeros((n, periods, len(plan.spifs)), dtype=np.int64)
    for j, s in enumerate(plan.spifs):
        deal = pd.to_datetime(lines["deal_date"])
        mask = (
            _matches(lines, s.credit)
            & (deal >= pd.Timestamp(s.start)).to_numpy()
            & (deal <= pd.Timestamp(s.end)).to_numpy()
        )
        np.add.at(spif_credit[:, :, j], (pos[mask], period[mask]), lines[s.credit.field].to_numpy()[mask])
    roles = tuple(rules.role(p) for p in payees)
    revenue = np.zeros(n, dtype=np.int64)
    np.add.at(revenue, pos, lines["amount"].to_numpy())
    own = [(terms or {}).get(p, PayeeTerms()) for p in payees]
    start = np.array([max(t.start_month or 1, 1) for t in own], dtype=np.int64)
    end = np.array([12 if t.end_month is None else t.end_month for t in own], dtype=np.int64)
    ti = [
        cents(plan.role(r).target_incentive) if t.target_incentive is None else t.target_incentive
        for r, t in zip(roles, own, strict=True)
    ]
    base = [
        cents(plan.role(r).base_salary) if t.base_salary is None else t.base_salary
        for r, t in zip(roles, own, strict=True)
    ]
    months = end - start + 1
    return CompInputs(
        payees=payees,
        roles=roles,
        credit=credit,
        quota=quota,
        target_incentive=prorated(np.array(ti, dtype=np.int64).reshape(n), months, plan.rounding),
        base_salary=prorated(np.array(base, dtype=np.int64).reshape(n), months, plan.rounding),
        spif_credit=spif_credit,
        revenue=revenue,
        start_month=start,
        end_month=end,
        draw=draw_schedule(plan, start, end),
    )


def _matches(lines: pd.DataFrame, credit: Credit) -> np.ndarray:
    if credit.products is None:
        return np.ones(len(lines), dtype=bool)
    return lines["product"].isin(credit.products).to_numpy()


def _roll_up_quotas(quota: np.ndarray, given: np.ndarray, payees: tuple[str, ...], rules: CreditingRules) -> None:
    """A manager without a quota row carries the sum of the given quotas of every rep below them."""
    index = {p: i for i, p in enumerate(payees)}
    for manager in dict.fromkeys(rules.manager_of.values()):
        if manager not in index:
            continue
        m = index[manager]
        below = [index[p] for p in payees if manager in rules.managers_above(p) and rules.role(p) != "manager"]
        for j in range(quota.shape[2]):
            if not given[m, j] and below and given[below, j].all():
                quota[m, :, j] = quota[below, :, j].sum(axis=0)
                given[m, j] = True
