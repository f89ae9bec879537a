"""Sanity checks on the recommendation: candidates that drop a rep, have fewer territories than reps, or lean on
an implausible coaching return are flagged in the decision table, and the best pick passes them over."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from spmopt.candidate import DESIGNED, candidates_of
from spmopt.decision import decision_table, mark_best
from spmopt.sim.montecarlo import SimulationResult

REPS = ("R01", "R02", "R03", "R12-NEW")


def candidate(name: str, margin: float, reps: tuple[str, ...] = REPS, **extra: object) -> dict[str, object]:
    return {
        "candidate": name,
        "alignment": name.split("/")[0] if "/" in name else "designed",
        "plan": "p",
        "coaching": "coaching_return_on_cost" in extra,
        "margin_after_pay": margin,
        "territories": len(reps),
        "rep_ids": ";".join(reps),
        **extra,
    }


def test_a_rep_without_a_territory_is_flagged_and_passed_over() -> None:
    table = pd.DataFrame(
        [candidate("p", 100.0), candidate("current/p", 120.0, reps=REPS[:3])]  # today's alignment drops the hire
    )
    marked = mark_best(table, "max_margin_after_pay").set_index("candidate")
    assert "no territory for 1 rep(s): R12-NEW" in marked.loc["current/p", "flags"]
    assert "3 territories with a rep for 4 reps" in marked.loc["current/p", "flags"]
    assert marked.loc["p", "flags"] == ""
    assert bool(marked.loc["p", "best"])
    assert not bool(marked.loc["current/p", "best"])
    assert "passed over current/p" in marked.loc["p", "best_note"]


def test_fewer_territories_than_reps_is_flagged_even_when_every_rep_is_named() -> None:
    # Constructed so the territory count alone trips the check (in a real table a rep goes missing with it).
    short = candidate("short/p", 130.0, territories=3)
    table = pd.DataFrame([candidate("p", 100.0), short])
    marked = mark_best(table, "max_margin_after_pay").set_index("candidate")
    assert marked.loc["short/p", "flags"] == "3 territories with a rep for 4 reps"
    assert bool(marked.loc["p", "best"])


def test_the_scenario_reps_catch_a_rep_missing_from_every_candidate() -> None:
    table = pd.DataFrame([candidate("p", 100.0, reps=REPS[:3]), candidate("current/p", 90.0, reps=REPS[:3])])
    unchecked = mark_best(table, "max_margin_after_pay")
    assert unchecked["flags"].eq("").all()  # no candidate knows the new hire
    checked = mark_best(table, "max_margin_after_pay", reps=REPS)
    assert checked["flags"].str.contains("R12-NEW").all()
    assert checked["best_note"].str.contains("every candidate is flagged").any()
    assert checked.loc[checked["best"], "candidate"].tolist() == ["p"]  # still the best by the criterion


def test_a_coaching_return_above_the_plausibility_bound_is_flagged() -> None:
    table = pd.DataFrame(
        [
            candidate("p", 100.0),
            candidate("p+coaching", 150.0, coaching_return_on_cost=200.0, coaching_return_bound=10.8),
            candidate("q+coaching", 110.0, coaching_return_on_cost=4.0, coaching_return_bound=10.8),
        ]
    )
    marked = mark_best(table, "max_margin_after_pay").set_index("candidate")
    assert marked.loc["p+coaching", "flags"].startswith("coaching return 200.0x is above the plausibility bound 10.8x")
    assert marked.loc["q+coaching", "flags"] == ""
    assert bool(marked.loc["q+coaching", "best"])
    assert marked["best"].sum() == 1


def test_min_criteria_skip_flagged_candidates_too() -> None:
    table = pd.DataFrame(
        [
            {**candidate("p", 0.0, reps=REPS[:3]), "cost_of_sales_pct": 1.0},
            {**candidate("q", 0.0), "cost_of_sales_pct": 2.0},
        ]
    )
    marked = mark_best(table, "min_cost_of_sales")
    assert marked.loc[marked["best"], "candidate"].tolist() == ["q"]


def fake_result(reps: tuple[str, ...], roi_mean: float, bound: float, alignment: str = DESIGNED) -> SimulationResult:
    """A result with two candidates (plan p with and without coaching) and the summary rows the decision table
    reads."""
    candidates = candidates_of(["p"], alignment, coaching=True)
    plans = tuple(c.variant for c in candidates)
    summary = pd.DataFrame(
        [
            {"plan": p, "metric": m, "mean": 10.0 + k, "sd": 1.0, "ci_low": 9.0 + k, "ci_high": 11.0 + k, "n": 30}
            for k, p in enumerate(plans)
            for m in ("payout", "revenue", "cost_of_sales_pct", "share_at_quota", "margin_after_pay")
        ]
    )
    roi = pd.DataFrame(
        [
            {"plan": "p", "metric": "return_on_cost", "mean": roi_mean, "ci_low": 1.0, "ci_high": 2 * roi_mean},
            {"plan": "p", "metric": "return_bound", "mean": bound, "ci_low": np.nan, "ci_high": np.nan},
        ]
    ).assign(sd=np.nan, n=30, parameters="draws", max_uplift=np.nan, half_stock=np.nan, decay=np.nan, interval="")
    empty = pd.DataFrame()
    return SimulationResult(
        plans=plans,
        seats=tuple(f"T{k}" for k in range(len(reps))),
        reps=reps,
        replications=empty,
        summary=summary,
        differences=empty,
        histogram=empty,
        seat_months=empty,
        coaching_roi=roi,
        candidates=candidates,
    )


def test_decision_table_carries_the_checks_inputs_and_flags() -> None:
    designed = decision_table(fake_result(REPS, roi_mean=250.0, bound=10.0), 100, "max_margin_after_pay")
    current = decision_table(
        fake_result(REPS[:3], roi_mean=3.0, bound=10.0, alignment="current"), 100, "max_margin_after_pay"
    )
    row = designed.set_index("candidate").loc["p+coaching"]
    assert row["territories"] == 4
    assert row["rep_ids"] == "R01;R02;R03;R12-NEW"
    assert row["coaching_return_bound"] == 10.0
    assert "above the plausibility bound" in row["flags"]
    # Across alignments (as the pipeline combines them) the dropped hire is caught too.
    both = mark_best(pd.concat([designed, current], ignore_index=True), "max_margin_after_pay").set_index("candidate")
    assert "R12-NEW" in both.loc["current/p+coaching", "flags"]
    assert both.loc["p", "flags"] == ""
    assert both.loc[both["best"]].index.tolist() == ["p"]


def test_a_coached_candidates_interval_carries_the_spread_over_parameter_draws() -> None:
    result = fake_result(REPS, roi_mean=3.0, bound=10.0)
    spread = "2.5-97.5 percentiles over replications (parameter draws)"
    gain = {"plan": "p", "metric": "net_gain", "mean": 5.0, "ci_low": 2.0, "ci_high": 9.0, "interval": spread}
    roi = pd.concat([result.coaching_roi, pd.DataFrame([gain]).assign(parameters="draws")], ignore_index=True)
    table = decision_table(replace(result, coaching_roi=roi), 100, "max_margin_after_pay")
    row = table.set_index("candidate").loc["p+coaching"]
    # Summary half-width 1 (simulation noise) and the gain's 3 below / 4 above, in quadrature.
    assert row["margin_after_pay"] == 11.0 - 1.0
    assert row["margin_after_pay_ci_low"] == pytest.approx(10.0 - np.hypot(1.0, 3.0))
    assert row["margin_after_pay_ci_high"] == pytest.approx(10.0 + np.hypot(1.0, 4.0))
    plain = table.set_index("candidate").loc["p"]
    assert plain["margin_after_pay_ci_high"] - plain["margin_after_pay_ci_low"] == 2.0
