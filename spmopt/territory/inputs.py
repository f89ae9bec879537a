"""Shape `PlanningData` + `TerritoryConfig` into the sparse index sets and parameters the MILP reads.

All pruning happens here, in plain Python/numpy, so the model builder never loops over a dense
product. The MILP assigns every unit to a *site*: either a fixed rep home base (one site per rep,
labelled with the rep's territory) or a candidate centre unit chosen by the model (p-median style).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from spmopt.config import ScenarioConfig
from spmopt.data import loader
from spmopt.data.accounts import Ownership
from spmopt.data.loader import PlanningData
from spmopt.errors import ConfigError, DataError, InfeasibleModelError

UnitId = str
SiteId = str
TerritoryId = str


@dataclass(frozen=True, slots=True)
class Band:
    """Balance band of one measure: each territory's total within [lower[site], upper[site]]."""

    measure: str
    tolerance: float
    values: dict[UnitId, float]
    lower: dict[SiteId, float]
    upper: dict[SiteId, float]
    target: dict[SiteId, float]


@dataclass(frozen=True, slots=True)
class Disruption:
    """Moved share of `measure` against the current alignment: capped and/or penalised."""

    measure: str | None
    """None counts units."""
    weights: dict[UnitId, float]
    """Measure per unit that has a current territory (new units cannot be moved)."""
    total: float
    cap: float | None
    penalty_per_point: float
    unavoidable: float = 0.0
    """Weight that changes owner in every alignment (accounts of open owners, accounts in a unit whose owner is
    not the unit's largest): counted in the moved share, and so against the cap."""
    on_accounts: bool = False
    """Weights are the accounts a unit's current territory keeps (`data.accounts`), not the unit's whole measure:
    an upper bound on what moving the unit moves (it may go to a territory whose rep owns some of its accounts)."""


@dataclass(frozen=True, slots=True)
class TerritoryInputs:
    """Everything the territory MILP needs, already validated, pruned and keyed by ids."""

    units: tuple[UnitId, ...]
    sites: tuple[SiteId, ...]
    fixed_sites: bool
    """True: sites are rep home bases, always open. False: sites are units, k of them opened."""
    territories: int
    pairs: tuple[tuple[UnitId, SiteId], ...]
    """Eligible (unit, site) assignments; in chosen-centre mode always includes (j, j)."""
    distance: dict[tuple[UnitId, SiteId], float]
    """Distance from unit to site (km, or the benchmark's own units)."""
    distance_weight: dict[UnitId, float]
    site_territory: dict[SiteId, TerritoryId] = field(default_factory=dict)
    """Fixed sites' territory ids (empty in chosen-centre mode)."""
    site_rep: dict[SiteId, str] = field(default_factory=dict)
    bands: tuple[Band, ...] = ()
    compactness: str = "distance"
    contiguity: bool = False
    edges: tuple[tuple[UnitId, UnitId], ...] = ()
    labels: tuple[TerritoryId, ...] = ()
    """Territory labels the model must carry (chosen-centre mode with locks or disruption)."""
    locks: dict[UnitId, TerritoryId] = field(default_factory=dict)
    current: dict[UnitId, TerritoryId] = field(default_factory=dict)
    disruption: Disruption | None = None
    ownership: Ownership | None = None
    """Today's owners account by account (`data.accounts`): the moved share is measured on them."""
    roots: dict[SiteId, UnitId] = field(default_factory=dict)
    """Unit each territory grows from under contiguity: the rep's home unit, or the centre itself."""
    root_distance: dict[SiteId, dict[UnitId, float]] = field(default_factory=dict)
    """Shortest-path length (km along adjacency edges) from each site's root to every unit."""

    @property
    def needs_cut_edges(self) -> bool:
        """Cut-edge indicators are needed for the cut-edge objective and for flow contiguity."""
        return self.compactness == "cut_edges" or self.contiguity

    @property
    def flow_capacity(self) -> int:
        """Largest possible territory minus its root: n - k units (every other territory keeps one)."""
        return max(len(self.units) - self.territories, 1)


def territory_inputs(data: PlanningData, cfg: ScenarioConfig) -> TerritoryInputs:
    """Build the model inputs for a scenario from its validated data."""
    t = cfg.territory
    units = data.units
    unit_ids = tuple(units.index)
    n = len(unit_ids)
    reps = data.reps
    if reps is not None:
        k = len(reps)
        if t.territories is not None and t.territories != k:
            raise ConfigError(
                f"territory.territories = {t.territories} but {cfg.data.reps} lists {k} reps; "
                "with reps given there is one territory per rep (drop territories: or fix the reps file)"
            )
    else:
        k = int(t.territories)  # the config validator guarantees one of the two
    if k > n:
        raise DataError(f"{k} territories requested but {cfg.data.units} has only {n} units")

    xy = units[["x_km", "y_km"]].to_numpy()
    if reps is not None:
        sites = tuple(reps.index)
        site_xy = reps[["x_km", "y_km"]].to_numpy()
        shares = reps["target_share"].to_numpy() / reps["target_share"].sum()
        site_territory = dict(zip(sites, reps["territory_id"], strict=True))
        site_rep = {s: s for s in sites}
    else:
        sites = unit_ids
        site_xy = xy
        shares = np.full(n, 1.0 / k)
        site_territory, site_rep = {}, {}
    pairs, dist = eligible_pairs(unit_ids, xy, sites, site_xy, t.candidate_sites, reps is None)

    weight_col = t.distance_weight
    dweight = dict(zip(unit_ids, units[weight_col] if weight_col else np.ones(n), strict=True))
    bands = tuple(balance_band(units, b.measure, b.tolerance, sites, shares) for b in t.balance)

    locks = dict(data.locks.items()) if data.locks is not None else {}
    current = dict(data.current_alignment.items()) if data.current_alignment is not None else {}
    if reps is not None:
        known = set(site_territory.values())
        bad = {u: tid for u, tid in locks.items() if tid not in known}
        if bad:
            u, tid = next(iter(bad.items()))
            raise DataError(
                f"{t.locks}: unit '{u}' is locked to territory '{tid}', which no rep in "
                f"{cfg.data.reps} covers (known: {', '.join(sorted(known))})"
            )
    if reps is not None:
        # A unit may always stay where it is or where it is locked, whatever the pruning says.
        site_of = {tid: s for s, tid in site_territory.items()}
        keep = [(u, site_of[tid]) for u, tid in (*current.items(), *locks.items()) if tid in site_of]
        pairs, dist = _with_pairs(pairs, dist, keep, xy, site_xy, unit_ids, sites)
    disruption = _disruption(cfg, units, current, data.ownership)
    labels: tuple[str, ...] = ()
    if reps is None and (locks or disruption is not None):
        labels = _labels(k, locks, current)

    edges: tuple[tuple[str, str], ...] = ()
    if data.adjacency is not None:
        edges = tuple(sorted((str(min(a, b)), str(max(a, b))) for a, b in data.adjacency.edges()))
    roots: dict[str, str] = {}
    root_distance: dict[str, dict[str, float]] = {}
    if t.contiguity:
        roots = home_units(data) if reps is not None else {u: u for u in unit_ids}
        root_distance = root_distances(data, roots)
    return TerritoryInputs(
        units=unit_ids,
        sites=sites,
        fixed_sites=reps is not None,
        territories=k,
        pairs=pairs,
        distance=dist,
        distance_weight=dweight,
        site_territory=site_territory,
        site_rep=site_rep,
        bands=bands,
        compactness=t.compactness,
        contiguity=t.contiguity,
        edges=edges,
        labels=labels,
        locks=locks,
        current=current,
        disruption=disruption,
        ownership=data.ownership,
        roots=roots,
        root_distance=root_distance,
    )


def home_units(data: PlanningData) -> dict[str, str]:
    """Each rep's home unit: the polygon holding the home base, else the unit with the nearest centre."""
    named = frozenset(data.named_units.index) if data.named_units is not None else frozenset()
    return loader.home_units(data.units, data.geometry, data.reps, named)


def root_distances(data: PlanningData, roots: dict[str, str]) -> dict[str, dict[str, float]]:
    """Dijkstra from every root over the adjacency graph, edges weighted by centre-to-centre km."""
    graph = nx.Graph()
    xy = data.units[["x_km", "y_km"]]
    for a, b in data.adjacency.edges():
        graph.add_edge(a, b, km=float(np.hypot(*(xy.loc[a].to_numpy() - xy.loc[b].to_numpy()))))
    graph.add_nodes_from(data.units.index)
    by_root = {r: nx.single_source_dijkstra_path_length(graph, r, weight="km") for r in set(roots.values())}
    return {site: by_root[root] for site, root in roots.items()}


def eligible_pairs(
    unit_ids: tuple[str, ...],
    xy: np.ndarray,
    sites: tuple[str, ...],
    site_xy: np.ndarray,
    nearest: int | None,
    chosen: bool,
) -> tuple[tuple[tuple[str, str], ...], dict[tuple[str, str], float]]:
    """(unit, site) pairs within each unit's `nearest` sites (all when None), with distances."""
    n_sites = len(sites)
    k = n_sites if nearest is None else min(nearest, n_sites)
    if k == n_sites:
        diff = xy[:, None, :] - site_xy[None, :, :]
        dmat = np.sqrt((diff**2).sum(axis=2))
        rows = np.repeat(np.arange(len(unit_ids)), n_sites)
        cols = np.tile(np.arange(n_sites), len(unit_ids))
        dist = dmat.ravel()
    else:
        d, idx = cKDTree(site_xy).query(xy, k=k)
        rows = np.repeat(np.arange(len(unit_ids)), k)
        cols = idx.ravel()
        dist = d.ravel()
    keys = [(unit_ids[r], sites[c]) for r, c in zip(rows.tolist(), cols.tolist(), strict=True)]
    distance = dict(zip(keys, dist.tolist(), strict=True))
    if chosen:  # a chosen centre always serves itself
        for u in unit_ids:
            distance.setdefault((u, u), 0.0)
    pairs = tuple(sorted(distance))
    return pairs, distance


def _with_pairs(
    pairs: tuple[tuple[str, str], ...],
    dist: dict[tuple[str, str], float],
    extra: list[tuple[str, str]],
    xy: np.ndarray,
    site_xy: np.ndarray,
    unit_ids: tuple[str, ...],
    sites: tuple[str, ...],
) -> tuple[tuple[tuple[str, str], ...], dict[tuple[str, str], float]]:
    missing = [p for p in extra if p not in dist]
    if not missing:
        return pairs, dist
    row = {u: r for r, u in enumerate(unit_ids)}
    col = {s: c for c, s in enumerate(sites)}
    dist = dict(dist)
    for u, s in missing:
        dist[u, s] = float(np.hypot(*(xy[row[u]] - site_xy[col[s]])))
    return tuple(sorted(dist)), dist


def balance_band(units: pd.DataFrame, measure: str, tol: float, sites: tuple[str, ...], shares: np.ndarray) -> Band:
    values = units[measure]
    total = float(values.sum())
    if total <= 0:
        raise DataError(f"balance measure '{measure}' sums to {total:g} over all units; nothing to balance")
    target = total * shares
    return Band(
        measure=measure,
        tolerance=tol,
        values=dict(zip(units.index, values.astype(float), strict=True)),
        lower=dict(zip(sites, (1 - tol) * target, strict=True)),
        upper=dict(zip(sites, (1 + tol) * target, strict=True)),
        target=dict(zip(sites, target, strict=True)),
    )


def _disruption(
    cfg: ScenarioConfig, units: pd.DataFrame, current: dict[str, str], owned: Ownership | None
) -> Disruption | None:
    t = cfg.territory
    if t.max_disruption is None and t.disruption_weight == 0:
        return None
    if owned is not None:
        unavoidable = owned.unavoidable
        if t.max_disruption is not None and unavoidable > t.max_disruption * owned.total * (1 + 1e-12):
            raise InfeasibleModelError(
                f"territory.max_disruption {t.max_disruption:.1%} cannot be met: "
                f"{unavoidable / owned.total:.2%} of {owned.measure} changes owner in every alignment (accounts "
                "whose owner is not a rep, and accounts in a unit whose largest owner is someone else); raise the "
                f"cap to at least {unavoidable / owned.total:.2%}, or give those accounts an owner who is a rep"
            )
        return Disruption(
            measure=owned.measure,
            weights={u: owned.kept[u][tid] for u, tid in current.items()},
            total=owned.total,
            cap=t.max_disruption,
            penalty_per_point=t.disruption_weight,
            unavoidable=unavoidable,
            on_accounts=True,
        )
    measure = cfg.disruption_measure
    col = units[measure] if measure else pd.Series(1.0, index=units.index)
    weights = {u: float(col[u]) for u in current}
    total = float(col.sum())
    return Disruption(
        measure=measure,
        weights=weights,
        total=total,
        cap=t.max_disruption,
        penalty_per_point=t.disruption_weight,
    )


def _labels(k: int, locks: dict[str, str], current: dict[str, str]) -> tuple[str, ...]:
    """Current and locked territory ids, padded with NEW-n so every one of the k territories has one."""
    known = sorted(set(current.values()) | set(locks.values()))
    fresh = (f"NEW-{i}" for i in range(1, k + 1))
    labels = list(known)
    while len(labels) < k:
        labels.append(next(fresh))
    return tuple(labels)
