"""The territory engine: one entry point that picks the method suited to the problem's structure.

`spmopt run` and `spmopt bench` both call `solve_territory`, so the public benchmarks measure the
product. Every method returns an `Alignment` in ids; its objective is re-scored from the alignment
itself by `score_alignment`, so a method cannot report a value its assignment does not have.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from spmopt.config import SolverSettings
from spmopt.optim.solve import SolveReport
from spmopt.territory.inputs import SiteId, TerritoryId, TerritoryInputs, UnitId

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Alignment:
    """A solved design in ids: the site each unit joins, and the account of the search."""

    site_of: dict[UnitId, SiteId]
    """Every unit's site (a rep in fixed-site mode, the centre unit in chosen-centre mode)."""
    report: SolveReport
    """Objective, bound and gap refer to the model's objective (compactness plus any disruption penalty)."""
    method: str
    """Which engine path produced it, e.g. `pmedian`, `capacitated`, `exact`."""
    label_of: dict[SiteId, TerritoryId] = field(default_factory=dict)
    """Territory label per used site when the model carries labels (chosen centres with locks or disruption)."""
    details: dict[str, object] = field(default_factory=dict)
    """Method-specific facts for the manifest (iterations, cuts, reductions, start quality)."""


def score_alignment(inp: TerritoryInputs, site_of: dict[UnitId, SiteId]) -> float:
    """Compactness of an alignment, recomputed from scratch: sum_i w_i d_{i,s(i)} or the number of cut edges."""
    if inp.compactness == "cut_edges":
        return float(sum(1 for u, v in inp.edges if site_of[u] != site_of[v]))
    w, d = inp.distance_weight, inp.distance
    return float(sum(w[i] * d[i, j] for i, j in site_of.items() if w[i] != 0))


def solve_territory(inp: TerritoryInputs, settings: SolverSettings, progress: Progress = _quiet) -> Alignment:
    """Solve the design with the strongest method that applies to its structure (checked in this order)."""
    # Imported here: every method module imports `Alignment` from this one.
    from spmopt.territory.capacitated import applies as capacitated_applies
    from spmopt.territory.capacitated import solve_capacitated
    from spmopt.territory.contiguous import handles as contiguous_handles
    from spmopt.territory.contiguous import solve_contiguous
    from spmopt.territory.exact import solve_exact
    from spmopt.territory.large import solve_large
    from spmopt.territory.pmedian import pmedian_applies, solve_pmedian

    if pmedian_applies(inp):
        return solve_pmedian(inp, settings, progress)
    if capacitated_applies(inp):  # capacity bands; without bands it is the p-median above
        return solve_capacitated(inp, settings)
    if contiguous_handles(inp) and (inp.contiguity or inp.compactness == "cut_edges"):
        return solve_contiguous(inp, settings, progress)
    if large_applies(inp):
        return solve_large(inp, settings, progress)
    return solve_exact(inp, settings, progress)


LARGE_UNITS = 2000
"""Above this many units a rep-based design goes to the LP-rounding method: at 3,000 units and 30 reps it came
within 0.035% of the exact model's value 29x faster (models/territory/large.md); at 30,000 the exact flow model
is out of reach."""


def large_applies(inp: TerritoryInputs) -> bool:
    """Rep-based distance designs above `LARGE_UNITS` units without labels or disruption settings."""
    return (
        inp.fixed_sites
        and inp.compactness == "distance"
        and inp.disruption is None
        and not inp.labels
        and len(inp.units) > LARGE_UNITS
    )
