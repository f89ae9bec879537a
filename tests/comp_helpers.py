"""Shared builders for the comp-plan tests."""

from __future__ import annotations

from spmopt.comp.plan import CompPlan


def plan(*measures: dict, ti: str = "10000.00", **extra: object) -> CompPlan:
    """A plan named `p` with the given measures and target incentive."""
    return CompPlan.model_validate({"name": "p", "target_incentive": ti, "measures": list(measures), **extra})


# 0 below 50%, linear to 1.0 at 100%, slope 2 above, capped at 2.5 (reached at 175%).
CURVE = {
    "name": "rev",
    "weight": "1",
    "curve": [
        {"attainment": "0.5", "payout": "0"},
        {"attainment": "1", "payout": "1"},
        {"attainment": "1.5", "payout": "2"},
    ],
    "cap": "2.5",
}


# The plan of the comp CLI tests (also the fuzzers' starting point).
CLI_PLAN = """\
name: tiny
year_start: 2027-01-01
payout: quarter
target_incentive: 1000.00
roles:
  manager: {target_incentive: 2000.00}
  overlay: {target_incentive: 500.00}
measures:
  - name: revenue
    weight: 0.7
    curve:
      - {attainment: 0.5, payout: 0.2}
      - {attainment: 1.0, payout: 1.0}
      - {attainment: 1.5, payout: 2.0}
    cap: 2.5
    bonuses:
      - {attainment: 1.0, amount: 100.00}
  - name: margin
    weight: 0.3
    credit: {field: margin}
    quota_scale: 0.5
    curve:
      - {attainment: 0.6, payout: 0.0}
      - {attainment: 1.0, payout: 1.0}
    gate: {measure: revenue, min_attainment: 0.6}
clawback_days: 90
"""
