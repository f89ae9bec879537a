"""The result every territory method returns, and the objective recomputed from it.

Kept apart from the dispatcher (`engine.py`) so that methods import their result type without
importing the module that imports them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from spmopt.optim.solve import SolveReport
from spmopt.territory.inputs import SiteId, TerritoryId, TerritoryInputs, UnitId

Progress = Callable[[str], None]
"""Receives one-line progress messages for the terminal."""


def quiet(_: str) -> None:
    """A `Progress` that says nothing."""
    return None


@dataclass(frozen=True, slots=True)
class Alignment:
    """A solved design in ids: the site each unit joins, and the account of the search."""

    site_of: dict[UnitId, SiteId]
    """Every unit's site (a rep in fixed-site mode, the centre unit in chosen-centre mode)."""
    report: SolveReport
    """Objective, bound and gap refer to the model's objective (compactness plus any disruption penalty)."""
    method: str
    """Which engine path produced it, e.g. `pmedian`, `capacitated`, `rooted`."""
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
