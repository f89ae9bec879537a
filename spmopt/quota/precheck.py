"""Feasibility of quota bounds, checked exactly before any solve.

The allocation model is box bounds plus one equality, so it is feasible if and only if every
territory's range is non-empty and sum(lower) <= total <= sum(upper); each failure names its bounds.
"""

from __future__ import annotations

from spmopt.errors import InfeasibleModelError
from spmopt.quota.inputs import QuotaInputs


def steps_range(inp: QuotaInputs) -> tuple[int, int | None]:
    """Smallest and largest quota total (in steps) the bounds allow (None: no upper limit)."""
    low = sum(inp.lower[t].steps or 0 for t in inp.territories)
    if any(inp.upper[t].steps is None for t in inp.territories):
        return low, None
    return low, sum(inp.upper[t].steps or 0 for t in inp.territories)


def check_bounds(inp: QuotaInputs, total_steps: int, total_text: str) -> None:
    """Raise `InfeasibleModelError` naming the bounds that make `total_steps` unreachable."""
    g = inp.granularity
    for t in inp.territories:
        lo, hi = inp.lower[t], inp.upper[t]
        if hi.steps is not None and (lo.steps or 0) > hi.steps:
            raise InfeasibleModelError(
                f"quota bounds of territory {t} are contradictory: lower bound {g * (lo.steps or 0):,} "
                f"({lo.rule}) is above upper bound {g * hi.steps:,} ({hi.rule})"
            )
    low, high = steps_range(inp)
    if low > total_steps:
        raise InfeasibleModelError(
            f"quota lower bounds add up to {g * low:,}, {g * (low - total_steps):,} above {total_text} "
            f"{g * total_steps:,}; the binding lower bounds are: {_binding(inp, 'lower')}"
        )
    if high is not None and high < total_steps:
        raise InfeasibleModelError(
            f"quota upper bounds add up to {g * high:,}, {g * (total_steps - high):,} short of {total_text} "
            f"{g * total_steps:,}; the binding upper bounds are: {_binding(inp, 'upper')}"
        )


def _binding(inp: QuotaInputs, side: str) -> str:
    limits = inp.lower if side == "lower" else inp.upper
    named = [(t, limits[t]) for t in inp.territories if limits[t].rule != "none"]
    named.sort(key=lambda item: -(item[1].steps or 0))
    shown = "; ".join(f"{t}: {inp.granularity * (lim.steps or 0):,} ({lim.rule})" for t, lim in named[:5])
    more = f"; and {len(named) - 5} more" if len(named) > 5 else ""
    return shown + more
