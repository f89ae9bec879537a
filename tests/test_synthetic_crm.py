"""The Connecticut CRM demo: deterministic per seed, the documented shares of dirt and owners, and the committed
files in scenarios/crm_demo/ equal to a fresh generation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spmopt.synthetic_crm import CRM_SEED, DEPARTED, NEW_HIRES, QUEUE, write_crm_demo

COMMITTED = Path(__file__).resolve().parents[1] / "scenarios" / "crm_demo"
NAMES = ("accounts.csv", "reps.csv", "history.csv", "transactions.csv")


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("crm")
    assert [p.name for p in write_crm_demo(out, CRM_SEED)] == list(NAMES)
    return out


def _read(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / name, dtype=str, keep_default_na=False)


def test_same_seed_same_bytes(fresh: Path, tmp_path: Path) -> None:
    write_crm_demo(tmp_path, CRM_SEED)
    for name in NAMES:
        assert (tmp_path / name).read_bytes() == (fresh / name).read_bytes(), name


def test_committed_files_match_the_generator(fresh: Path) -> None:
    for name in NAMES:
        assert (COMMITTED / name).read_bytes() == (fresh / name).read_bytes(), f"regenerate {name}"


def test_accounts_shares(fresh: Path) -> None:
    accounts = _read(fresh, "accounts.csv")
    reps = _read(fresh, "reps.csv")
    assert list(accounts.columns) == [
        "Account ID", "Account Name", "BillingPostalCode", "BillingCity", "Account Owner", "Strategic Account",
        "Industry", "Annual Potential", "Visits per Year",
    ]  # fmt: skip
    assert 2500 <= len(accounts) <= 3500
    ids = accounts["Account ID"]
    assert ids.is_unique
    assert (ids.str.len() == 18).all()
    assert ids.str.startswith("001").all()
    potential = accounts["Annual Potential"].astype(int)
    assert 70e6 <= potential.sum() <= 130e6
    code = accounts["BillingPostalCode"]
    assert 0.15 <= code.str.fullmatch(r"06\d{3}-\d{4}").mean() <= 0.25
    assert 0.05 <= code.str.fullmatch(r"6\d{3}").mean() <= 0.11
    assert 0.003 <= (code == "").mean() <= 0.02
    assert 0.001 <= code.isin(["N/A", "00000"]).mean() <= 0.01
    owner = accounts["Account Owner"]
    roster = set(reps["rep_id"])
    assert 0.01 <= (owner == DEPARTED).mean() <= 0.03
    assert 0.02 <= (owner == QUEUE).mean() <= 0.045
    assert 1 <= (owner == "").sum() <= 10
    assert set(owner) - roster == {DEPARTED, QUEUE, ""}
    assert not set(NEW_HIRES) & set(owner)
    assert reps.loc[reps["rep_id"].isin(NEW_HIRES), "start_month"].tolist() == ["4"]
    strategic = accounts["Strategic Account"] == "true"
    assert strategic.sum() == 12
    assert owner[strategic].isin(roster).all()
    assert set(potential[strategic]) == set(potential.nlargest(12))
    clean = code.str.fullmatch(r"06\d{3}")
    per_zip = accounts[clean].groupby(code[clean])["Account Owner"].nunique()
    assert (per_zip > 1).mean() > 0.3


def test_history_and_transactions(fresh: Path) -> None:
    accounts = set(_read(fresh, "accounts.csv")["Account ID"])
    history = _read(fresh, "history.csv")
    assert history["period"].nunique() == 24
    assert (history["period"].min(), history["period"].max()) == ("2024-11", "2026-10")
    assert not history.duplicated(["account_id", "period"]).any()
    assert (history["sales"].astype(int) >= 0).all()
    assert 0.005 <= (~history["account_id"].isin(accounts)).mean() <= 0.02
    deals = _read(fresh, "transactions.csv")
    assert list(deals.columns) == [
        "transaction_id", "date", "account_id", "rep_id", "product", "amount", "margin", "new_logo", "reason",
        "original_id",
    ]  # fmt: skip
    assert deals["transaction_id"].is_unique
    assert deals["account_id"].isin(accounts).all()
    assert deals["date"].str.startswith("2027-").all()
    assert 30e6 <= deals["amount"].astype(float).sum() <= 55e6
    cancelled = deals[deals["reason"] == "cancellation"]
    assert 0.005 <= len(cancelled) / len(deals) <= 0.015
    assert cancelled["original_id"].isin(deals["transaction_id"]).all()
    credited = deals[(deals["rep_id"] != "") & (deals["reason"] == "")]
    assert set(credited["rep_id"]) == {DEPARTED}
    assert credited["date"].str[5:7].isin(["01", "02"]).all()
    assert 0.005 <= len(credited) / len(deals) <= 0.02


def test_owner_sales_move_year_on_year(fresh: Path) -> None:
    # per-owner and per-owner-year effects: an owner's book of 100+ accounts has good and bad years, which account
    # noise alone averages away (log-sd 0.057 across owners before the effects; 0.18 with them)
    accounts = _read(fresh, "accounts.csv")
    history = _read(fresh, "history.csv")
    month = history["period"].str[5:7].astype(int)
    history["year"] = history["period"].str[:4].astype(int) + (month >= 11)
    history["owner"] = history["account_id"].map(accounts.set_index("Account ID")["Account Owner"])
    history = history.dropna(subset=["owner"])
    yearly = history.groupby(["owner", "year"])["sales"].apply(lambda s: s.astype(int).sum()).unstack()
    assert list(yearly.columns) == [2025, 2026]
    big = accounts["Account Owner"].value_counts()
    ratios = np.log(yearly[2026] / yearly[2025])[big[big >= 100].index]
    assert len(ratios) >= 7
    assert ratios.std() > 0.10  # above 0.05 with a margin: the effect-free data gave 0.057
