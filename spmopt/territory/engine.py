"""The territory engine: one entry point that picks the method suited to the problem's structure.

`spmopt run` and `spmopt bench` both call `solve_territory`, so the public benchmarks measure the
product. Every method returns an `Alignment` in ids; its objective is re-scored from the alignment
itself by `score_alignment`, so a method cannot report a value its assignment does not have.
"""

from __future__ import annotations

from spmopt.config import SolverSettings
from spmopt.territory.alignment import Alignment, Progress, quiet
from spmopt.territory.inputs import TerritoryInputs


def solve_territory(inp: TerritoryInputs, settings: SolverSettings, progress: Progress = quiet) -> Alignment:
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
