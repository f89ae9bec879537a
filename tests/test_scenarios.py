"""Every shipped scenario validates; the demo runs end to end through the CLI; demo data regenerate exactly."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest
from typer.testing import CliRunner

from spmopt.cli import app
from spmopt.coaching.run import CoachingFacts
from spmopt.data.loader import load_planning_data
from spmopt.manifest import read_manifest
from spmopt.quota.plan import QuotaFacts
from spmopt.scenario import load_scenario
from spmopt.sim.facts import SimulationFacts
from spmopt.territory.design import TerritoryFacts

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))


def test_there_are_scenarios() -> None:
    assert {p.name for p in SCENARIOS} >= {"demo.yaml", "georgia_realign.yaml"}


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_scenario_validates(path: Path) -> None:
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output


def test_extends_and_overrides_merge() -> None:
    cfg = load_scenario(ROOT / "scenarios" / "georgia_realign.yaml", ["territory.solver.time_limit=7"])
    assert cfg.name == "georgia_realign"
    assert cfg.territory.max_disruption == 0.25
    assert cfg.territory.contiguity is True  # inherited from demo.yaml
    assert cfg.territory.solver.time_limit == 7
    assert cfg.data.units == (ROOT / "scenarios" / "demo" / "units.csv").resolve()


def test_georgia_adjacency_is_connected_and_queen_is_superset_of_rook() -> None:
    queen = load_planning_data(load_scenario(ROOT / "scenarios" / "demo.yaml"))
    rook = load_planning_data(load_scenario(ROOT / "scenarios" / "demo.yaml", ["data.adjacency_rule=rook"]))
    assert len(queen.units) == 159
    assert nx.is_connected(queen.adjacency)
    assert set(map(frozenset, rook.adjacency.edges())) <= set(map(frozenset, queen.adjacency.edges()))
    assert queen.adjacency.number_of_edges() > rook.adjacency.number_of_edges() > 300


def test_demo_data_regenerate_exactly(tmp_path: Path) -> None:
    pytest.importorskip("libpysal")
    from spmopt.synthetic import DEMO_SEED, write_georgia_demo

    for path in write_georgia_demo(tmp_path, DEMO_SEED):
        shipped = ROOT / "scenarios" / "demo" / path.name
        assert path.read_bytes() == shipped.read_bytes(), f"{path.name} differs from the shipped demo file"


@pytest.mark.slow
def test_demo_runs_end_to_end(demo_run: tuple[Path, list[str]]) -> None:
    out, args = demo_run
    names = {p.name for p in out.iterdir()}
    assert names == {
        "alignment.csv",
        "territories.csv",
        "map.png",
        "manifest.json",
        "config.resolved.yaml",
        "quotas.csv",
        "comp",
        "comp_summary.csv",
        "simulation",
        "decision.csv",
        "coaching.csv",
        "alignments",
        "report.html",
        "report.pdf",
        "report.xlsx",
        ".spmopt-output.json",
    }
    alignment = pd.read_csv(out / "alignment.csv", dtype=str)
    units = pd.read_csv(ROOT / "scenarios" / "demo" / "units.csv", dtype={"unit_id": str})
    assert sorted(alignment["unit_id"]) == sorted(units["unit_id"])
    terr = pd.read_csv(out / "territories.csv")
    assert len(terr) == 9
    assert terr["contiguous"].all()
    assert (terr["potential_dev_pct"].abs() <= 8 + 1e-6).all()
    assert (terr["workload_dev_pct"].abs() <= 15 + 1e-6).all()
    # Totals reconcile: territory totals add up to the units' totals.
    assert terr["potential"].sum() == pytest.approx(units["potential"].sum())
    manifest = read_manifest(out)
    stage = manifest.stage("territory")
    assert isinstance(stage, TerritoryFacts)
    assert stage.status in ("optimal", "feasible")
    assert stage.gap is not None
    assert stage.objective >= stage.bound - 1e-6
    # Rep-based and contiguous: the rooted method, which says what stopped it and whether the clock decided.
    assert stage.method == "rooted"
    assert stage.stopped_by in ("gap", "round_limit", "node_limit", "time_limit")
    assert stage.reproducible == (stage.stopped_by != "time_limit" and not stage.clock_stopped)
    assert set(manifest.inputs.values())
    assert all(len(h) == 64 for h in manifest.inputs.values())
    assert manifest.outputs["alignment.csv"]
    quotas = pd.read_csv(out / "quotas.csv")
    quota = manifest.stage("quota")
    assert isinstance(quota, QuotaFacts)
    assert quotas["annual_quota"].sum() == quota.quota_total
    assert (quotas["annual_quota"] % 1000 == 0).all()
    assert (quotas.filter(regex=r"^quota_m\d\d$").sum(axis=1) == quotas["annual_quota"]).all()
    assert set(quotas["territory_id"]) == set(terr["territory_id"])
    # Calibrated to 60% of reps at quota, confirmed by the seeded Monte-Carlo check.
    assert quota.predicted_share_at_quota >= 0.6
    assert abs(quota.monte_carlo_share_at_quota - 0.6) <= 2 * quota.monte_carlo_ci95_half_width + 0.005
    last = quotas["last_year_sales"].to_numpy()
    full_year = quotas["annual_quota"].to_numpy() / quotas["ramp_factor"].to_numpy()
    assert (full_year >= 0.95 * last - 1000).all()
    assert (full_year <= 1.20 * last + 1000).all()
    # Two candidate plans paid on the FY2027 transactions; every total reconciles to the cent.
    money = ("payments_total", "credited_direct_total", "uncredited_total")
    summary = pd.read_csv(out / "comp_summary.csv", dtype=dict.fromkeys(money, str))
    assert sorted(summary["plan"]) == ["commission", "target_incentive"]
    assert summary["reconciled"].all()
    transactions = pd.read_csv(ROOT / "scenarios" / "demo" / "transactions.csv", dtype=str)
    total = sum(Decimal(a) for a in transactions["amount"])
    for _, row in summary.iterrows():
        folder = out / "comp" / row["plan"]
        lines = pd.read_csv(folder / "statements.csv", dtype={"amount": str})
        payees = pd.read_csv(folder / "payees.csv", dtype={"paid": str})
        assert sum(Decimal(a) for a in lines["amount"]) == sum(Decimal(a) for a in payees["paid"])
        assert Decimal(row["payments_total"]) == sum(Decimal(a) for a in payees["paid"])
        assert Decimal(row["credited_direct_total"]) + Decimal(row["uncredited_total"]) == total
    assert set(pd.read_csv(out / "comp" / "commission" / "payees.csv")["role"]) == {"rep"}
    # The simulation: both plans, 30 paired replications; the tidy tables add up to the summary.
    sim = manifest.stage("simulation")
    assert isinstance(sim, SimulationFacts)
    assert sim.replications == 30
    assert sim.plans == ["target_incentive", "commission"]
    assert len(sim.behaviour_sha256) == 64
    reps = pd.read_csv(out / "simulation" / "replications.csv")
    months = pd.read_csv(out / "simulation" / "seat_months.csv")
    summary = pd.read_csv(out / "simulation" / "summary.csv")
    assert len(reps) == 4 * 30  # two plans, each with and without coaching
    assert len(months) == 4 * 30 * 9 * 12
    per_rep = months.groupby(["plan", "replication"])[["revenue", "payment"]].sum().add_suffix("_months")
    joined = reps.set_index(["plan", "replication"]).join(per_rep)
    assert (joined["revenue"] - joined["revenue_months"]).abs().max() < 0.005
    assert (joined["payout"] - joined["payment_months"]).abs().max() < 0.005
    for plan in ("target_incentive", "commission", "target_incentive+coaching", "commission+coaching"):
        row = summary[(summary["plan"] == plan) & (summary["metric"] == "payout")].iloc[0]
        assert row["ci_low"] < row["mean"] < row["ci_high"]
        assert row["mean"] == pytest.approx(reps.loc[reps["plan"] == plan, "payout"].mean(), rel=1e-5)
    # Normal-effort sales are calibrated to the quota stage's forecast; behaviour moves them only a little.
    revenue = summary[(summary["plan"] == "target_incentive") & (summary["metric"] == "revenue")].iloc[0]
    assert 0.85 * quotas["expected_sales"].sum() < revenue["mean"] < 1.15 * quotas["expected_sales"].sum()
    # Coaching: fitted from the demo's history (true u_max 0.12), managers' capacity respected, one best candidate.
    coaching = pd.read_csv(out / "coaching.csv")
    assert coaching.groupby("manager_id")["hours_per_month"].sum().le(6 + 1e-9).all()
    assert coaching["hours_per_month"].le(4).all()
    fitted = manifest.stage("coaching")
    assert isinstance(fitted, CoachingFacts)
    assert fitted.method == "two-way fixed effects"
    assert fitted.max_uplift_ci[0] < 0.12 < fitted.max_uplift_ci[1]
    decision = pd.read_csv(out / "decision.csv")
    assert decision["best"].sum() == 1
    assert len(decision) == 8  # (designed, current) x (two plans) x (with, without coaching)
    assert set(decision["alignment"]) == {"designed", "current"}
    best = decision.loc[decision["best"]].iloc[0]
    assert best["margin_after_pay"] == decision["margin_after_pay"].max()
    current = pd.read_csv(out / "alignments" / "current" / "quotas.csv")
    assert current["annual_quota"].sum() % 1000 == 0
    assert (out / "alignments" / "current" / "simulation" / "summary.csv").is_file()
    today = pd.read_csv(out / "alignments" / "current" / "territories.csv")
    assert len(today) == 9
    assert not today["ok"].all()  # today's nearest-rep alignment is what the redesign fixes: it breaks the bands
    roi = pd.read_csv(out / "simulation" / "coaching_roi.csv")
    assert set(roi["plan"]) == {"target_incentive", "commission"}
    # A second run with unchanged inputs reuses every expensive stage and writes the same results.
    before = {n: (out / n).read_bytes() for n in ("alignment.csv", "quotas.csv", "decision.csv", "coaching.csv")}
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    rerun = read_manifest(out)
    hits = {(s.stage, s.alignment) for s in rerun.stages if s.cached}
    assert hits == {
        ("territory", None),
        ("quota", None),
        ("coaching", None),
        ("simulation", None),
        ("quota", "current"),
        ("coaching", "current"),
        ("simulation", "current"),
    }
    for name, content in before.items():
        assert (out / name).read_bytes() == content, name
