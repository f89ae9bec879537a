"""Crediting and comp inputs on tiny hand-written files: who is credited (rep, territory, unit through the
alignment, splits, overlays, manager roll-up, cancellations), in which payout period, how quotas are read,
and an end-to-end `evaluate_plan` whose totals reconcile. Every expected amount is hand-computed in cents
(counts in hundredths of a deal)."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from instance_helpers import write

from spmopt.comp.crediting import CreditingRules, CreditLedger, credit, read_splits
from spmopt.comp.inputs import comp_inputs, measure_quota, read_quotas
from spmopt.comp.plan import COUNT_SCALE, CompPlan
from spmopt.comp.run import evaluate_plan, merged_quotas, rules_from_files
from spmopt.comp.statements import statements
from spmopt.comp.transactions import load_transactions
from spmopt.errors import DataError

TX_HEADER = "transaction_id,date,rep_id,territory_id,unit_id,product,amount,new_logo,reason,original_id"
QUOTAS = "territory_id,rep_id,annual_quota\nT1,R1,1200.00\nT2,R2,1200.00\nT3,,1200.00\n"
"""Three territories; T3 is vacant (no rep)."""
ALIGNMENT = "unit_id,territory_id\nU1,T1\nU2,T2\nU3,T3\n"
HIERARCHY = "payee_id,manager_id,role\nR1,M1,rep\nR2,M1,rep\nM1,D1,manager\n"
"""R1 and R2 report to manager M1, who reports to director D1."""
COMMISSION = {"name": "rev", "tiers": [{"from": "0", "rate": "0.1"}]}


def plan(*measures: dict, **extra: object) -> CompPlan:
    spec = {"name": "p", "year_start": "2027-01-01", "target_incentive": "1000.00", "measures": list(measures)}
    return CompPlan.model_validate({**spec, **extra})


def tx_file(root: Path, *rows: str) -> Path:
    """A transactions CSV with TX_HEADER; each row gives its cells in that order."""
    return write(root / "tx.csv", "\n".join([TX_HEADER, *rows]) + "\n")


def ledger_of(
    root: Path,
    rows: list[str],
    *,
    p: CompPlan | None = None,
    hierarchy: str | None = None,
    overlays: str | None = None,
    splits: str | None = None,
) -> CreditLedger:
    """Credit the rows against QUOTAS/ALIGNMENT (+ optional hierarchy, overlays, splits) under plan `p`."""
    p = p or plan(COMMISSION)
    tx = load_transactions(tx_file(root, *rows), p)
    rules = rules_from_files(
        write(root / "quotas.csv", QUOTAS),
        write(root / "alignment.csv", ALIGNMENT),
        write(root / "hierarchy.csv", hierarchy) if hierarchy is not None else None,
        write(root / "overlays.csv", overlays) if overlays is not None else None,
    )
    if splits is not None:
        rules = replace(rules, splits=read_splits(write(root / "splits.csv", splits), tx, rules.payees))
    return credit(tx, rules, p.clawback_days)


def lines(ledger: CreditLedger, how: str | None = None) -> set[tuple]:
    """(transaction, payee, how, amount cents, deals hundredths) of the ledger's lines (of one kind)."""
    frame = ledger.lines if how is None else ledger.lines[ledger.lines["how"] == how]
    cols = ["transaction_id", "payee_id", "how", "amount", "deals"]
    return {tuple(r) for r in frame[cols].itertuples(index=False)}


# ------------------------------------------------------------------------------------------ who is credited


def test_rep_territory_and_unit_crediting_and_a_vacant_territory(tmp_path: Path) -> None:
    ledger = ledger_of(
        tmp_path,
        [
            "A,2027-01-05,R1,,,license,100.00,0,,",
            "B,2027-02-05,,T2,,license,200.00,0,,",
            "C,2027-03-05,,,U1,license,300.00,0,,",
            "D,2027-04-05,,,U3,license,400.00,0,,",
            "E,2027-04-06,,T3,,license,50.00,0,,",
        ],
    )
    assert lines(ledger) == {
        ("A", "R1", "direct", 10_000, 100),
        ("B", "R2", "direct", 20_000, 100),
        ("C", "R1", "direct", 30_000, 100),
    }
    territory = dict(zip(ledger.lines["transaction_id"], ledger.lines["territory_id"], strict=True))
    assert territory == {"A": "T1", "B": "T2", "C": "T1"}
    assert ledger.direct_total() == 60_000
    un = ledger.uncredited.set_index("transaction_id")
    assert un["amount"].to_dict() == {"D": 40_000, "E": 5_000}
    assert un.loc["D", "why"] == "territory T3 has no rep"
    assert un.loc["E", "why"] == "territory T3 has no rep"


def test_transaction_naming_nobody_is_an_error_naming_the_row(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"tx\.csv: row 3"):
        ledger_of(tmp_path, ["A,2027-01-05,R1,,,license,100.00,0,,", "B,2027-01-06,,,,license,1.00,0,,"])


def test_sixty_forty_split_of_an_odd_cent_amount(tmp_path: Path) -> None:
    ledger = ledger_of(
        tmp_path,
        [
            "A,2027-01-05,R1,,,license,100.01,1,,",
            "N,2027-01-06,R1,,,license,-100.01,0,credit_note,",
        ],
        splits="transaction_id,payee_id,percent,reason\nA,R1,60,joint\nA,R2,40,joint\nN,R1,60,joint\nN,R2,40,joint\n",
    )
    # 100.01 x 60% = 60.006 and x 40% = 40.004: floors 60.00 + 40.00, the spare cent to the larger remainder.
    # -100.01: exact -60.006 / -40.004, floors -60.01 / -40.01, the spare cent goes to the 40% part.
    # A deal counts one (60 + 40 hundredths); a credit note takes money back but no deal.
    assert lines(ledger) == {
        ("A", "R1", "split", 6_001, 60),
        ("A", "R2", "split", 4_000, 40),
        ("N", "R1", "split", -6_001, 0),
        ("N", "R2", "split", -4_000, 0),
    }
    a = ledger.lines[ledger.lines["transaction_id"] == "A"]
    assert a["new_logos"].tolist() == [60, 40]
    assert a["percent"].tolist() == ["60", "40"]
    assert ledger.direct_total() == 0


def test_three_way_split_of_a_dollar(tmp_path: Path) -> None:
    rows = ["Z,2027-01-07,R1,,,license,1.00,0,,"]
    quotas = QUOTAS + "T4,R3,1200.00\n"
    write(tmp_path / "quotas.csv", quotas)
    p = plan(COMMISSION)
    tx = load_transactions(tx_file(tmp_path, *rows), p)
    rules = rules_from_files(tmp_path / "quotas.csv")
    splits = write(tmp_path / "splits.csv", "transaction_id,payee_id,percent\nZ,R1,33.33\nZ,R2,33.33\nZ,R3,33.34\n")
    ledger = credit(tx, replace(rules, splits=read_splits(splits, tx, rules.payees)), None)
    # 33.33 / 33.33 / 33.34 cents: floors 33 each, the spare cent to the 0.34 remainder.
    assert ledger.lines["amount"].tolist() == [33, 33, 34]
    assert ledger.lines["deals"].tolist() == [33, 33, 34]


PAYEES = [f"R{k}" for k in range(1, 5)]

Deal = tuple[int, int, list[int]]
"""(cents, cancelled cents (0: none), percent parts in hundredths of a percent summing to 10000)."""


@st.composite
def split_deals(draw: st.DrawFn) -> list[Deal]:
    out = []
    for _ in range(draw(st.integers(1, 5))):
        cents = draw(st.integers(-(10**9), 10**9).filter(lambda c: c != 0))
        cancelled = 0 if cents < 0 else draw(st.sampled_from([0, cents, 1]) | st.integers(1, max(cents, 1)))
        n = draw(st.integers(1, len(PAYEES)))
        cuts = sorted(draw(st.lists(st.integers(1, 9_999), min_size=n - 1, max_size=n - 1, unique=True)))
        out.append((cents, cancelled, [b - a for a, b in zip([0, *cuts], [*cuts, 10_000], strict=True)]))
    return out


def text(cents: int) -> str:
    whole, rest = divmod(abs(cents), 100)
    return f"{'-' if cents < 0 else ''}{whole}.{rest:02d}"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(split_deals())
def test_split_parts_add_up_to_the_transaction_exactly(deals: list[Deal]) -> None:
    """Deals (random splits), credit notes (negative, with a reason) and whole or partial cancellations of split
    deals: every transaction's parts add up to it to the cent, and its deal counts to +-1 or 0 exactly."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        rows, split_rows = [], ["transaction_id,payee_id,percent"]
        for k, (cents, cancelled, parts) in enumerate(deals):
            rows.append(f"X{k},2027-05-01,R1,,,license,{text(cents)},1,{'credit_note' if cents < 0 else ''},")
            split_rows += [f"X{k},{PAYEES[j]},{Decimal(h) / 100}" for j, h in enumerate(parts)]
            if cancelled:
                rows.append(f"C{k},2027-06-01,,,,license,{text(-cancelled)},0,cancellation,X{k}")
        write(root / "quotas.csv", "rep_id,annual_quota\n" + "".join(f"{r},1.00\n" for r in PAYEES))
        p = plan(COMMISSION)
        tx = load_transactions(tx_file(root, *rows), p)
        rules = rules_from_files(root / "quotas.csv")
        splits = read_splits(write(root / "splits.csv", "\n".join(split_rows) + "\n"), tx, rules.payees)
        ledger = credit(tx, replace(rules, splits=splits), None)
    sums = ledger.lines.groupby("transaction_id")[["amount", "deals", "new_logos"]].sum()
    for k, (cents, cancelled, parts) in enumerate(deals):
        deal = 1 if cents > 0 else 0  # a credit note takes money back, not a deal
        assert sums.loc[f"X{k}"].tolist() == [cents, deal * COUNT_SCALE, deal * COUNT_SCALE]
        got = ledger.lines.loc[ledger.lines["transaction_id"] == f"X{k}", "amount"].tolist()
        assert all(abs(Decimal(g) - Decimal(cents) * h / 10_000) < 1 for g, h in zip(got, parts, strict=True))
        if cancelled:
            whole = -COUNT_SCALE if cancelled == cents else 0  # only a whole cancellation takes the deal back
            claw = ledger.lines[ledger.lines["transaction_id"] == f"C{k}"]
            assert claw["how"].tolist() == ["clawback"] * len(parts)
            assert claw["payee_id"].tolist() == PAYEES[: len(parts)]
            assert sums.loc[f"C{k}"].tolist() == [-cancelled, whole, whole]
    assert ledger.direct_total() == sum(c - x for c, x, _ in deals)
    assert ledger.uncredited.empty


def test_overlay_gets_its_product_only_and_managers_get_each_deal_once(tmp_path: Path) -> None:
    ledger = ledger_of(
        tmp_path,
        [
            "A,2027-01-05,R1,,,license,100.01,0,,",
            "B,2027-02-05,,T2,,services,200.00,0,,",
            "C,2027-03-05,,,U1,services,300.00,0,,",
            "D,2027-03-06,,,U3,services,400.00,0,,",
        ],
        hierarchy=HIERARCHY,
        overlays="payee_id,territory_id,product\nS1,,services\nS2,T2,\n",
        splits="transaction_id,payee_id,percent\nA,R1,60\nA,R2,40\n",
    )
    # S1: 100% of every credited services deal; S2: everything in T2. D sits in the vacant T3: uncredited.
    assert lines(ledger, "overlay") == {
        ("B", "S1", "overlay", 20_000, 100),
        ("C", "S1", "overlay", 30_000, 100),
        ("B", "S2", "overlay", 20_000, 100),
    }
    # A is split between M1's two reps: M1 (and D1 above M1) get it once, at 100%; overlay credit never rolls up.
    assert lines(ledger, "rollup") == {
        (t, m, "rollup", cents, 100) for m in ("M1", "D1") for t, cents in (("A", 10_001), ("B", 20_000), ("C", 30_000))
    }
    assert ledger.uncredited["transaction_id"].tolist() == ["D"]
    rules = rules_from_files(tmp_path / "quotas.csv", None, tmp_path / "hierarchy.csv", tmp_path / "overlays.csv")
    assert [rules.role(p) for p in ("R1", "M1", "D1", "S1")] == ["rep", "manager", "manager", "overlay"]


# ------------------------------------------------------------------------------------------ cancellations

SPLIT_DEAL = [
    "A,2027-01-10,R1,,,license,100.00,1,,",
    "C1,2027-02-10,,,,license,-50.01,0,cancellation,A",
]
SIXTY_FORTY = "transaction_id,payee_id,percent\nA,R1,60\nA,R2,40\n"


@pytest.mark.parametrize("order", [1, -1], ids=["deal-first", "cancellation-first"])
def test_partial_cancellation_follows_the_original_split(tmp_path: Path, order: int) -> None:
    ledger = ledger_of(
        tmp_path, SPLIT_DEAL[::order], p=plan(COMMISSION, clawback_days=31), hierarchy=HIERARCHY, splits=SIXTY_FORTY
    )
    # -50.01 at 60/40: exact -30.006 / -20.004, floors -30.01 / -20.01, the spare cent to the 40% part.
    # A partial cancellation is money only: the deal (and its new logo) still counts.
    assert lines(ledger, "clawback") == {("C1", "R1", "clawback", -3_001, 0), ("C1", "R2", "clawback", -2_000, 0)}
    claw = ledger.lines[ledger.lines["transaction_id"] == "C1"]
    assert claw["new_logos"].tolist() == [0, 0, 0, 0]  # R1, R2, M1, D1
    assert set(claw["period"]) == {1}  # February, the cancellation's own period
    assert {str(d) for d in claw["deal_date"]} == {"2027-01-10"}
    assert ("C1", "M1", "rollup", -5_001, 0) in lines(ledger, "rollup")
    assert ledger.direct_total() == 10_000 - 5_001
    assert ledger.uncredited.empty


def test_whole_cancellation_takes_the_deal_and_new_logo_back(tmp_path: Path) -> None:
    rows = [SPLIT_DEAL[0], "C1,2027-03-10,,,,license,-100.00,0,cancellation,A"]
    ledger = ledger_of(tmp_path, rows, hierarchy=HIERARCHY, splits=SIXTY_FORTY)
    claw = ledger.lines[ledger.lines["transaction_id"] == "C1"].set_index("payee_id")
    assert claw[["how", "amount", "deals", "new_logos"]].to_dict("index") == {
        "R1": {"how": "clawback", "amount": -6_000, "deals": -60, "new_logos": -60},
        "R2": {"how": "clawback", "amount": -4_000, "deals": -40, "new_logos": -40},
        "M1": {"how": "rollup", "amount": -10_000, "deals": -100, "new_logos": -100},
        "D1": {"how": "rollup", "amount": -10_000, "deals": -100, "new_logos": -100},
    }
    net = ledger.lines.groupby("payee_id")[["amount", "deals", "new_logos"]].sum()
    assert (net.to_numpy() == 0).all()


def test_cancellation_outside_the_clawback_window_is_uncredited(tmp_path: Path) -> None:
    ledger = ledger_of(
        tmp_path, SPLIT_DEAL, p=plan(COMMISSION, clawback_days=30), splits="transaction_id,payee_id,percent\nA,R1,100\n"
    )
    assert lines(ledger) == {("A", "R1", "split", 10_000, 100)}
    assert ledger.uncredited.to_dict("records") == [
        {"transaction_id": "C1", "amount": -5_001, "why": "cancellation 31 days after the deal, outside 30"}
    ]


def test_cancellation_of_an_uncredited_deal_is_uncredited_too(tmp_path: Path) -> None:
    rows = ["D,2027-01-10,,T3,,license,100.00,0,,", "C1,2027-02-10,,,,license,-10.00,0,cancellation,D"]
    ledger = ledger_of(tmp_path, rows)
    assert ledger.lines.empty
    assert ledger.uncredited.set_index("transaction_id")["why"].to_dict() == {
        "D": "territory T3 has no rep",
        "C1": "cancels D, which credited nobody",
    }


def test_cancellations_together_exceeding_the_deal_are_refused(tmp_path: Path) -> None:
    rows = [
        "A,2027-01-10,R1,,,license,100.00,0,,",
        "C1,2027-02-10,R1,,,license,-60.00,0,cancellation,A",
        "C2,2027-02-11,R1,,,license,-60.00,0,cancellation,A",
    ]
    with pytest.raises(DataError, match=r"row 4: .*C2"):
        load_transactions(tx_file(tmp_path, *rows), plan(COMMISSION))


# ------------------------------------------------------------------------------------------ period placement

DATES = ["2027-01-01", "2027-03-31", "2027-04-01", "2027-07-15", "2027-12-31"]


@pytest.mark.parametrize(("payout", "periods"), [("month", [0, 2, 3, 6, 11]), ("quarter", [0, 0, 1, 2, 3])])
def test_period_placement(tmp_path: Path, payout: str, periods: list[int]) -> None:
    rows = [f"X{k},{d},R1,,,license,1.00,0,," for k, d in enumerate(DATES)]
    tx = load_transactions(tx_file(tmp_path, *rows), plan(COMMISSION, payout=payout))
    assert tx.frame["period"].tolist() == periods


def test_period_placement_of_a_plan_year_starting_in_july(tmp_path: Path) -> None:
    rows = [f"X{k},{d},R1,,,license,1.00,0,," for k, d in enumerate(["2027-07-01", "2027-12-31", "2028-06-30"])]
    tx = load_transactions(tx_file(tmp_path, *rows), plan(COMMISSION, year_start="2027-07-01", payout="quarter"))
    assert tx.frame["period"].tolist() == [0, 1, 3]


@pytest.mark.parametrize("date", ["2026-12-31", "2028-01-01"])
def test_date_outside_the_plan_year_names_the_row(tmp_path: Path, date: str) -> None:
    path = tx_file(tmp_path, "A,2027-05-01,R1,,,license,1.00,0,,", f"B,{date},R1,,,license,1.00,0,,")
    with pytest.raises(DataError) as err:
        load_transactions(path, plan(COMMISSION))
    assert str(err.value) == (
        f"{path}: row 3: date {date} is outside the plan year 2027-01-01 to 2027-12-31 of plan 'p'"
    )


def test_dated_transactions_need_a_plan_year(tmp_path: Path) -> None:
    p = CompPlan.model_validate({"name": "p", "target_incentive": "1000.00", "measures": [COMMISSION]})
    with pytest.raises(DataError, match="needs a year_start"):
        load_transactions(tx_file(tmp_path, "A,2027-05-01,R1,,,license,1.00,0,,"), p)


# ------------------------------------------------------------------------------------------ quotas

MONTHLY = ",".join(f"m{k:02d}" for k in range(1, 13))


def test_monthly_quota_columns_plain_and_prefixed(tmp_path: Path) -> None:
    values = ",".join(f"{k}.{k:02d}" for k in range(1, 13))
    cents = [100 * k + k for k in range(1, 13)]
    plain = write(tmp_path / "q1.csv", f"rep_id,{MONTHLY}\nR1,{values}\n")
    prefixed = write(
        tmp_path / "q2.csv", "payee_id," + ",".join(f"quota_m{k:02d}" for k in range(1, 13)) + f"\nR1,{values}\n"
    )
    for path in (plain, prefixed):
        assert read_quotas(path, plan(COMMISSION))[("R1", None)].tolist() == cents
    # a quarterly plan sums the months three by three
    quarters = [sum(cents[3 * q : 3 * q + 3]) for q in range(4)]
    assert read_quotas(plain, plan(COMMISSION, payout="quarter"))[("R1", None)].tolist() == quarters


def test_quarterly_quotas_need_a_quarterly_plan(tmp_path: Path) -> None:
    path = write(tmp_path / "q.csv", "rep_id,q1,q2,q3,q4\nR1,1.00,2.50,3,4.01\n")
    assert read_quotas(path, plan(COMMISSION, payout="quarter"))[("R1", None)].tolist() == [100, 250, 300, 401]
    with pytest.raises(DataError, match=r"q\.csv: quotas are quarterly \(q1\.\.q4\) but plan 'p' pays monthly"):
        read_quotas(path, plan(COMMISSION))


def test_annual_quota_is_split_evenly_to_the_cent(tmp_path: Path) -> None:
    path = write(tmp_path / "q.csv", "rep_id,annual_quota\nR1,1000.05\nR2,\n")
    with pytest.raises(DataError, match=r"q\.csv: row 3: annual_quota missing: must be a number"):
        read_quotas(path, plan(COMMISSION))  # R2's quota is blank
    # 100005 cents / 12 = 8333 remainder 9: the first nine months carry the spare cents.
    write(path, "rep_id,annual_quota\nR1,1000.05\n,500.00\n")
    rows = read_quotas(path, plan(COMMISSION))
    assert rows[("R1", None)].tolist() == [8334] * 9 + [8333] * 3
    assert sum(rows[("R1", None)]) == 100_005
    assert list(rows) == [("R1", None)]  # the row without a payee is a vacant territory: nobody to pay
    assert read_quotas(path, plan(COMMISSION, payout="quarter"))[("R1", None)].tolist() == [
        25_002,
        25_001,
        25_001,
        25_001,
    ]


def test_quota_with_three_decimals_names_row_and_column(tmp_path: Path) -> None:
    path = write(tmp_path / "q.csv", "rep_id,annual_quota\nR1,1.00\nR2,1.005\n")
    with pytest.raises(DataError, match=r"q\.csv: row 3: annual_quota = .*1\.005.* must be a number >= 0"):
        read_quotas(path, plan(COMMISSION))


def test_quota_error_shows_the_value_as_written(tmp_path: Path) -> None:
    path = write(tmp_path / "q.csv", "rep_id,annual_quota\nR1,1.00\nR2,1.005\n")
    with pytest.raises(DataError) as err:
        read_quotas(path, plan(COMMISSION))
    assert "np.float64" not in str(err.value)


COUNT = {"name": "logos", "weight": "0.5", "credit": {"field": "new_logos"}}
CURVE = [{"attainment": "0.5", "payout": "0"}, {"attainment": "1", "payout": "1"}]


def measures_plan() -> CompPlan:
    return plan(
        {"name": "rev", "weight": "0.3", "curve": CURVE},
        {"name": "margin", "weight": "0.2", "curve": CURVE, "credit": {"field": "margin"}, "quota_scale": "0.65"},
        {**COUNT, "curve": CURVE},
        payout="quarter",
    )


def test_measure_rows_and_quota_scale(tmp_path: Path) -> None:
    path = write(tmp_path / "q.csv", "rep_id,measure,q1,q2,q3,q4\nR1,,100.00,100.01,0.03,1\nR1,logos,1,2,0.5,3\n")
    p = measures_plan()
    rows = read_quotas(path, p)
    assert rows[("R1", None)].tolist() == [10_000, 10_001, 3, 100]
    assert rows[("R1", "logos")].tolist() == [100, 200, 50, 300]  # hundredths of a deal
    assert measure_quota(rows, "R1", p, 0).tolist() == [10_000, 10_001, 3, 100]
    # 65%, half to even: 6500, 6500.65 -> 6501, 1.95 -> 2, 65
    assert measure_quota(rows, "R1", p, 1).tolist() == [6_500, 6_501, 2, 65]
    assert measure_quota(rows, "R1", p, 2).tolist() == [100, 200, 50, 300]
    assert measure_quota(rows, "R2", p, 0) is None
    # a count measure is never scaled from the money row
    only_money = read_quotas(write(tmp_path / "q2.csv", "rep_id,q1,q2,q3,q4\nR1,1,1,1,1\n"), p)
    assert measure_quota(only_money, "R1", p, 2) is None


def test_quota_row_for_a_measure_not_in_the_plan(tmp_path: Path) -> None:
    path = write(tmp_path / "q.csv", "rep_id,measure,q1,q2,q3,q4\nR1,,1,1,1,1\nR1,units,1,1,1,1\n")
    with pytest.raises(DataError, match=r"q\.csv: row 3: measure 'units' is not in plan 'p'"):
        read_quotas(path, measures_plan())


def test_manager_quota_rolls_up_from_the_reps(tmp_path: Path) -> None:
    p = plan(COMMISSION, payout="quarter")
    quotas = write(tmp_path / "quotas.csv", "territory_id,rep_id,q1,q2,q3,q4\nT1,R1,1,2,3,4\nT2,R2,10,20,30,40.01\n")
    rules = rules_from_files(quotas, None, write(tmp_path / "hierarchy.csv", HIERARCHY))
    tx = load_transactions(tx_file(tmp_path, "A,2027-01-05,R1,,,license,100.00,0,,"), p)
    inp = comp_inputs(p, credit(tx, rules, None), read_quotas(quotas, p), rules, quotas)
    assert inp.payees == ("R1", "R2", "M1", "D1")
    assert inp.roles == ("rep", "rep", "manager", "manager")
    expected = [[100, 200, 300, 400], [1_000, 2_000, 3_000, 4_001], [1_100, 2_200, 3_300, 4_401]]
    assert inp.quota[:, :, 0].tolist() == [*expected, expected[2]]
    assert inp.credit[:, :, 0].tolist() == [[10_000, 0, 0, 0], [0, 0, 0, 0], [10_000, 0, 0, 0], [10_000, 0, 0, 0]]


def test_missing_count_quota_is_an_error_naming_the_payee(tmp_path: Path) -> None:
    p = plan({"name": "rev", "weight": "0.5", "curve": CURVE}, {**COUNT, "curve": CURVE}, payout="quarter")
    quotas = write(tmp_path / "quotas.csv", "rep_id,q1,q2,q3,q4\nR1,1,1,1,1\n")
    rules = rules_from_files(quotas)
    tx = load_transactions(tx_file(tmp_path, "A,2027-01-05,R1,,,license,1.00,1,,"), p)
    with pytest.raises(DataError, match=r"no quota for 1 payee/measure pair\(s\): R1 \(logos\)"):
        comp_inputs(p, credit(tx, rules, None), read_quotas(quotas, p), rules, quotas)


# ------------------------------------------------------------------------------------------ end to end


def test_evaluate_plan_reconciles_and_statements_add_up(tmp_path: Path) -> None:
    p = plan(
        {"name": "rev", "weight": "1", "curve": [{"attainment": "0.5", "payout": "0.2"}, CURVE[1]], "cap": "2"},
        roles={"manager": {"target_incentive": "2000.00"}, "overlay": {"target_incentive": "500.00"}},
        payout="quarter",
        clawback_days=60,
    )
    write(tmp_path / "overlay_quotas.csv", "payee_id,annual_quota\nS1,600.00\n")
    ledger_rows = [
        "A,2027-01-10,R1,,,license,100.01,0,,",
        "B,2027-02-05,,T2,,services,450.00,1,,",
        "C,2027-05-05,,,U1,services,900.00,0,,",
        "D,2027-06-06,,,U3,license,400.00,0,,",
        "C1,2027-06-10,,,,license,-50.01,0,cancellation,A",
        "C2,2027-06-01,,,U1,services,-100.00,0,cancellation,C",
    ]
    ledger = ledger_of(
        tmp_path,
        ledger_rows,
        p=p,
        hierarchy=HIERARCHY,
        overlays="payee_id,territory_id,product\nS1,,services\n",
        splits="transaction_id,payee_id,percent\nA,R1,60\nA,R2,40\n",
    )
    rules = rules_from_files(
        tmp_path / "quotas.csv", tmp_path / "alignment.csv", tmp_path / "hierarchy.csv", tmp_path / "overlays.csv"
    )
    rows = merged_quotas([tmp_path / "quotas.csv", tmp_path / "overlay_quotas.csv"], p)
    result = evaluate_plan(p, tmp_path / "tx.csv", rows, rules, tmp_path / "splits.csv")
    # C1 is 151 days after A: outside the 60-day window. D is in the vacant T3.
    direct = 10_001 + 45_000 + 90_000 - 10_000
    assert result.ledger.direct_total() == ledger.direct_total() == direct
    assert result.reconciliation.reconciled is True
    assert result.reconciliation.transactions_total == "1700.00"
    assert result.reconciliation.credited_direct_total == "1350.01"
    assert result.reconciliation.uncredited_total == "349.99"
    assert set(result.ledger.uncredited["transaction_id"]) == {"C1", "D"}
    ev, inp = result.evaluation, result.inputs
    assert result.reconciliation.payments_total == f"{Decimal(int(ev.payment.sum())) / 100:.2f}"
    assert result.kpis.revenue == direct
    assert inp.payees == ("R1", "R2", "M1", "D1", "S1")
    assert result.kpis.total_cost == int(ev.payment.sum()) > 0
    # statement lines of each payee-period add up to the payment, exactly
    table = statements(p, inp, ev)
    summed = table.assign(amount=table["amount"].map(Decimal)).groupby(["payee_id", "period"])["amount"].sum()
    for i, payee in enumerate(inp.payees):
        for period in range(p.periods):
            assert summed.loc[(payee, period + 1)] * 100 == int(ev.payment[i, period])
    # S1's credit: B and C net of C2 (services); rollups: M1 = D1 = everything credited to R1/R2
    year = inp.credit[:, :, 0].sum(axis=1)
    assert dict(zip(inp.payees, year.tolist(), strict=True)) == {
        "R1": 6_001 + 90_000 - 10_000,
        "R2": 4_000 + 45_000,
        "M1": direct,
        "D1": direct,
        "S1": 45_000 + 90_000 - 10_000,
    }
    assert np.array_equal(inp.quota[4, :, 0], [15_000] * 4)


def test_reconciliation_totals_match_the_ledger_by_hand(tmp_path: Path) -> None:
    p = plan(COMMISSION)
    ledger_of(tmp_path, ["A,2027-01-05,R1,,,license,10.00,0,,", "B,2027-01-05,,T3,,license,5.00,0,,"], p=p)
    rules = rules_from_files(tmp_path / "quotas.csv", tmp_path / "alignment.csv")
    result = evaluate_plan(p, tmp_path / "tx.csv", tmp_path / "quotas.csv", rules)
    # 10% commission on $10.00 in January: $1.00 paid to R1
    assert result.reconciliation.model_dump() == {
        "transactions_total": "15.00",
        "credited_direct_total": "10.00",
        "uncredited_total": "5.00",
        "statement_lines_total": "1.00",
        "payments_total": "1.00",
        "earned_total": "1.00",
        "owed_back_total": "0.00",
        "draw_guarantees_total": "0.00",
        "reconciled": True,
        "failures": [],
    }
    assert result.kpis.revenue == 1_000
    assert pd.Series(result.evaluation.payment[0]).tolist() == [100] + [0] * 11


def test_rules_need_a_quota_row_for_every_aligned_territory(tmp_path: Path) -> None:
    quotas = write(tmp_path / "quotas.csv", QUOTAS)
    alignment = write(tmp_path / "alignment.csv", ALIGNMENT + "U4,T9\n")
    with pytest.raises(DataError, match="no quota row for territory T9 of the alignment"):
        rules_from_files(quotas, alignment)


def test_payees_of_the_rules(tmp_path: Path) -> None:
    rules = rules_from_files(
        write(tmp_path / "quotas.csv", QUOTAS), None, write(tmp_path / "hierarchy.csv", HIERARCHY), None
    )
    assert isinstance(rules, CreditingRules)
    assert rules.rep_of_territory == {"T1": "R1", "T2": "R2", "T3": None}
    assert rules.payees == ("R1", "R2", "M1", "D1")
    assert rules.managers_above("R2") == ["M1", "D1"]
