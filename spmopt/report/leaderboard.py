"""Reps ranked by simulated attainment under the recommended candidate, beside what the plan paid on the
plan-year transactions."""

from __future__ import annotations

import pandas as pd

from spmopt.candidate import DESIGNED, Candidate
from spmopt.report.run_files import RunFiles
from spmopt.report.summary import Recommendation


def recommended_leaderboard(run: RunFiles, rec: Recommendation | None) -> pd.DataFrame | None:
    """The leaderboard under the recommended candidate (None when the run has no simulated year for it); actual
    pay only exists for the designed alignment, the one the comp stage paid."""
    if rec is None or rec.alignment not in run.simulation or rec.alignment not in run.quotas:
        return None
    sim = run.simulation[rec.alignment]
    payees = run.payees.get(rec.plan) if rec.alignment == DESIGNED else None
    return leaderboard(sim.seat_months, Candidate(rec.plan, rec.coaching).variant, run.quotas[rec.alignment], payees)


def leaderboard(
    seat_months: pd.DataFrame, plan: str, quotas: pd.DataFrame, payees: pd.DataFrame | None
) -> pd.DataFrame:
    """Per territory: mean attainment, its 10th-90th percentile over simulated years, chance of reaching quota,
    expected revenue and pay; and, when given, the attainment and pay on the actual transactions."""
    rows = seat_months[seat_months["plan"] == plan]
    year = rows.groupby(["replication", "territory_id"], as_index=False)[["revenue", "payment"]].sum()
    year = year.merge(quotas[["territory_id", "rep_id", "annual_quota"]], on="territory_id", how="inner")
    year["attainment"] = year["revenue"] / year["annual_quota"]
    by = year.groupby(["territory_id", "rep_id"])
    board = pd.DataFrame(
        {
            "mean_attainment": by["attainment"].mean(),
            "attainment_p10": by["attainment"].quantile(0.10),
            "attainment_p90": by["attainment"].quantile(0.90),
            "chance_at_quota": by["attainment"].apply(lambda a: float((a >= 1.0).mean())),
            "expected_revenue": by["revenue"].mean(),
            "expected_pay": by["payment"].mean(),
            "annual_quota": by["annual_quota"].first(),
        }
    ).reset_index()
    if payees is not None:
        actual = payees.rename(columns={"payee_id": "rep_id"})
        measure = next((c for c in actual.columns if c.startswith("attainment_")), None)
        keep = ["rep_id", "paid"] + ([measure] if measure else [])
        actual = actual[keep].rename(columns={"paid": "actual_pay", measure: "actual_attainment"})
        board = board.merge(actual, on="rep_id", how="left")
    board = board.sort_values(["mean_attainment", "territory_id"], ascending=[False, True]).reset_index(drop=True)
    board.insert(0, "rank", range(1, len(board) + 1))
    return board
