"""Design one level of the sales hierarchy (territories into districts, or districts into regions) with the
territory engine, each member of the level below acting as one unit.

The level model is the engine's chosen-centre design (p-median style, no reps) on members as units. With M the
members (territories, or districts), w_im the total of measure m over member i's units, W_m = sum_i w_im, d_ij the
distance (km) between the centroids of members i and j, and k the number of groups:

    min  sum_{i,j} d_ij x_ij                                   every member counts once (distance weight 1)
    s.t. sum_j x_ij = 1                       for all i        each member in exactly one group
         x_ij <= x_jj,  sum_j x_jj = k                          k groups, each around an open centre member j
         (1 - tol_m) W_m / k x_jj <= sum_i w_im x_ij <= (1 + tol_m) W_m / k x_jj     for every balance measure m
         contiguity (when asked): the members of each group connected on the member graph, where i ~ j when any
         unit of i is adjacent to a unit of j (so a group of contiguous members is contiguous on the units)

x_ij in {0, 1}. A member's centroid is the centroid of its units weighted by the first balance measure (the plain
mean when it has none of it). Groups are named D1.. (R1.. for regions) from north to south, as the engine names
territories. Config keys: `hierarchy.districts`, `regions`, `balance`, `contiguity`, `solver`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import networkx as nx
import numpy as np
import pandas as pd

from spmopt.config import BalanceConfig, SolverSettings
from spmopt.data.loader import PlanningData
from spmopt.errors import SpmoptError
from spmopt.facts import SolveFacts
from spmopt.territory.alignment import Progress, quiet
from spmopt.territory.design import design_territories
from spmopt.territory.diagnose import precheck

# The scenario builder's own pieces (pairs, bands, root distances), so a level is shaped exactly like a
# chosen-centre territory design; `territory_inputs` itself needs a whole ScenarioConfig.
from spmopt.territory.inputs import TerritoryInputs, balance_band, eligible_pairs, root_distances

Level = Literal["district", "region"]
PREFIX: dict[Level, str] = {"district": "D", "region": "R"}


class LevelFacts(SolveFacts):
    """One designed level of the hierarchy: the engine's solve (status, gap, ...) and how long it took."""

    level: Level
    groups: int
    """Districts (or regions) designed."""
    members: int
    """Territories (or districts) grouped."""
    method: str
    """The engine path that solved it (`contiguous`, `pmedian`, `exact`, ...)."""
    seconds: float


@dataclass(frozen=True, slots=True)
class LevelDesign:
    """A designed level: each member's group, and the facts of the solve."""

    group_of: dict[str, str]
    facts: LevelFacts


def level_data(
    units: pd.DataFrame, adjacency: nx.Graph | None, member_of: pd.Series, measures: Sequence[str]
) -> PlanningData:
    """The members of `member_of` (unit_id -> member) as units: `measures` summed, location the centroid of their
    units weighted by the first measure (plain mean without one, or when a member has none of it), adjacent when
    any of their units are."""
    member = member_of.reindex(units.index)
    if member.isna().any():
        raise SpmoptError(f"internal check failed: unit {member.index[member.isna()][0]} has no territory")
    order = list(dict.fromkeys(member.sort_values(kind="stable")))
    frame = units[list(measures)].groupby(member).sum().reindex(order)
    weight = units[measures[0]] if measures else pd.Series(1.0, index=units.index)
    weight = weight.where(weight.groupby(member).transform("sum") > 0, 1.0)
    for axis in ("x_km", "y_km"):
        frame[axis] = (units[axis] * weight).groupby(member).sum().reindex(order) / weight.groupby(member).sum()
    frame.index = pd.Index([str(m) for m in frame.index], name="unit_id")
    graph = None
    if adjacency is not None:
        graph = nx.Graph()
        graph.add_nodes_from(frame.index)
        graph.add_edges_from((str(member[a]), str(member[b])) for a, b in adjacency.edges() if member[a] != member[b])
    return PlanningData(units=frame[["x_km", "y_km", *measures]], measures=tuple(measures), adjacency=graph)


def chosen_centre_inputs(
    data: PlanningData, groups: int, bands: Sequence[BalanceConfig], contiguity: bool
) -> TerritoryInputs:
    """`TerritoryInputs` of a chosen-centre design without a scenario: every unit a candidate centre, equal
    shares, distance compactness with weight 1, contiguity on `data.adjacency` when asked."""
    units = data.units
    ids = tuple(units.index)
    xy = units[["x_km", "y_km"]].to_numpy()
    pairs, distance = eligible_pairs(ids, xy, ids, xy, None, True)
    shares = np.full(len(ids), 1.0 / groups)
    edges: tuple[tuple[str, str], ...] = ()
    if data.adjacency is not None:
        edges = tuple(sorted((min(a, b), max(a, b)) for a, b in data.adjacency.edges()))
    roots = {u: u for u in ids} if contiguity else {}
    return TerritoryInputs(
        units=ids,
        sites=ids,
        fixed_sites=False,
        territories=groups,
        pairs=pairs,
        distance=distance,
        distance_weight=dict.fromkeys(ids, 1.0),
        bands=tuple(balance_band(units, b.measure, b.tolerance, ids, shares) for b in bands),
        compactness="distance",
        contiguity=contiguity,
        edges=edges,
        roots=roots,
        root_distance=root_distances(data, roots) if contiguity else {},
    )


def design_level(
    data: PlanningData,
    level: Level,
    groups: int,
    bands: Sequence[BalanceConfig],
    contiguity: bool,
    settings: SolverSettings,
    progress: Progress = quiet,
) -> LevelDesign:
    """Group `data`'s units (the members) into `groups` balanced, compact (contiguous) groups named D1.. or R1..;
    raises the engine's `InfeasibleModelError` / `SolverError` with the level named."""
    clock = time.perf_counter()
    inp = chosen_centre_inputs(data, groups, bands, contiguity)
    try:
        precheck(inp)
        plan, facts = design_territories(inp, settings, data, progress)
    except SpmoptError as exc:
        members = "territories" if level == "district" else "districts"
        raise type(exc)(f"hierarchy: {groups} {level}s of the {len(inp.units)} {members}: {exc}") from None
    names = {t: PREFIX[level] + t.removeprefix("T") for t in plan.alignment["territory_id"]}
    group_of = {
        str(u): names[t] for u, t in zip(plan.alignment["unit_id"], plan.alignment["territory_id"], strict=True)
    }
    solve = facts.model_dump(include=set(SolveFacts.model_fields))
    return LevelDesign(
        group_of,
        LevelFacts(
            **solve,
            level=level,
            groups=groups,
            members=len(inp.units),
            method=facts.method,
            seconds=round(time.perf_counter() - clock, 4),
        ),
    )
