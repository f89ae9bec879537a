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
