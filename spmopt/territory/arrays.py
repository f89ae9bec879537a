"""One validated array view of `TerritoryInputs`, shared by the heuristic and the array-path methods.

Units are indexed 0..n-1 in `inp.units` order, sites 0..m-1 in `inp.sites` order. Pairs are kept
grouped by unit (CSR), adjacency as CSR neighbour lists. Territory *slots* 0..k-1 are the sites
themselves when sites are rep bases, and the territory labels (or plain slots) when centres are
chosen; locks and the current alignment are stated in slots so every method reads them one way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from spmopt.errors import DataError
from spmopt.territory.inputs import TerritoryInputs

DENSE_LIMIT = 40_000_000
"""Largest n x m cost matrix kept dense (float64, 320 MB); above it methods use the pair lists."""


@dataclass(frozen=True, slots=True, eq=False)
class TerritoryArrays:
    """The design in integer indices and numpy arrays (read-only by convention)."""

    inp: TerritoryInputs
    n: int
    m: int
    """Sites: rep bases (fixed) or candidate centre units (chosen)."""
    k: int
    """Territories."""
    site_unit: np.ndarray
    """Chosen mode: the unit index of each site; fixed mode: -1."""
    pair_unit: np.ndarray
    pair_site: np.ndarray
    pair_km: np.ndarray
    pair_cost: np.ndarray
    """Distance weight times km: the distance objective's coefficient of pair p."""
    unit_start: np.ndarray
    """Pairs of unit i are unit_start[i]:unit_start[i+1] (sites ascending)."""
    measure: np.ndarray
    """(B, n) balance measure values."""
    lower: np.ndarray
    """(B, m) lower band limit per site."""
    upper: np.ndarray
    target: np.ndarray
    adj_start: np.ndarray
    adj: np.ndarray
    """Neighbours of unit i are adj[adj_start[i]:adj_start[i+1]]."""
    edges: np.ndarray
    """(E, 2) adjacency edges as unit indices."""
    root: np.ndarray
    """Fixed mode: the home unit of each site under contiguity (-1 without)."""
    lock: np.ndarray
    """Slot each unit is locked to, -1 when free."""
    current: np.ndarray
    """Slot each unit is in today, -1 when new (or in a territory nobody covers)."""
    moved_weight: np.ndarray
    """Disruption measure of each unit that has a current slot (0 otherwise)."""
    moved_total: float
    moved_cap: float | None
    """Largest total `moved_weight` that may move, in the measure's own units (after `moved_forced`)."""
    moved_forced: float
    """Weight of units whose current territory no rep covers: they move whatever the plan."""
    moved_price: float
    """Objective cost per unit of `moved_weight` moved (penalty per point x 100 / total)."""
    slot_label: tuple[str, ...]
    """Chosen mode: the territory label of each slot ('' when the design carries none)."""

    @property
    def fixed(self) -> bool:
        """Sites are rep home bases, one territory each."""
        return self.inp.fixed_sites

    @property
    def contiguity(self) -> bool:
        """Every territory must be connected."""
        return self.inp.contiguity

    @property
    def cut_edges(self) -> bool:
        """The objective counts cut adjacency edges instead of weighted distance."""
        return self.inp.compactness == "cut_edges"

    def neighbours(self, i: int) -> np.ndarray:
        """Adjacency neighbours of unit i."""
        return self.adj[self.adj_start[i] : self.adj_start[i + 1]]

    def dense_cost(self) -> np.ndarray | None:
        """(n, m) objective coefficient of every pair, +inf where a pair is not eligible; None when too large."""
        if self.n * self.m > DENSE_LIMIT:
            return None
        cost = np.full((self.n, self.m), np.inf)
        cost[self.pair_unit, self.pair_site] = self.pair_cost
        return cost

    def pair_index(self) -> dict[tuple[int, int], int]:
        """(unit, site) -> pair position."""
        return {(int(i), int(j)): p for p, (i, j) in enumerate(zip(self.pair_unit, self.pair_site, strict=True))}


def territory_arrays(inp: TerritoryInputs) -> TerritoryArrays:
    """Index and validate `inp` once: finite, non-negative distances, weights and measures."""
    unit_ix = {u: i for i, u in enumerate(inp.units)}
    site_ix = {s: j for j, s in enumerate(inp.sites)}
    n, m = len(inp.units), len(inp.sites)
    order = sorted(inp.pairs, key=lambda p: (unit_ix[p[0]], site_ix[p[1]]))
    pair_unit = np.fromiter((unit_ix[u] for u, _ in order), dtype=np.int64, count=len(order))
    pair_site = np.fromiter((site_ix[s] for _, s in order), dtype=np.int64, count=len(order))
    pair_km = np.fromiter((inp.distance[p] for p in order), dtype=np.float64, count=len(order))
    weight = np.array([inp.distance_weight[u] for u in inp.units], dtype=np.float64)
    _check_finite(pair_km, "distance", lambda p: f"unit '{order[p][0]}' to site '{order[p][1]}'")
    _check_finite(weight, "distance weight", lambda i: f"unit '{inp.units[i]}'")
    pair_cost = weight[pair_unit] * pair_km
    unit_start = np.searchsorted(pair_unit, np.arange(n + 1))
    missing = np.flatnonzero(np.diff(unit_start) == 0)
    if len(missing):
        raise DataError(f"unit '{inp.units[missing[0]]}' has no eligible territory; raise territory.candidate_sites")

    measure = np.array([[b.values[u] for u in inp.units] for b in inp.bands], dtype=np.float64).reshape(-1, n)
    for b, band in enumerate(inp.bands):
        _check_finite(measure[b], f"balance measure '{band.measure}'", lambda i: f"unit '{inp.units[i]}'", signed=True)
    lower = np.array([[b.lower[s] for s in inp.sites] for b in inp.bands], dtype=np.float64).reshape(-1, m)
    upper = np.array([[b.upper[s] for s in inp.sites] for b in inp.bands], dtype=np.float64).reshape(-1, m)
    target = np.array([[b.target[s] for s in inp.sites] for b in inp.bands], dtype=np.float64).reshape(-1, m)

    edges = np.array([(unit_ix[a], unit_ix[b]) for a, b in inp.edges], dtype=np.int64).reshape(-1, 2)
    both = np.concatenate([edges, edges[:, ::-1]]) if len(edges) else edges
    both = both[np.lexsort((both[:, 1], both[:, 0]))] if len(both) else both
    adj_start = np.searchsorted(both[:, 0], np.arange(n + 1)) if len(both) else np.zeros(n + 1, dtype=np.int64)
    adj = both[:, 1].copy() if len(both) else np.zeros(0, dtype=np.int64)

    root = np.full(m, -1, dtype=np.int64)
    if inp.contiguity and inp.fixed_sites:
        for s, u in inp.roots.items():
            root[site_ix[s]] = unit_ix[u]
    slot_of_territory, slot_label, k = _slots(inp, site_ix)
    lock = np.full(n, -1, dtype=np.int64)
    for u, t in inp.locks.items():
        lock[unit_ix[u]] = slot_of_territory[t]
    current = np.full(n, -1, dtype=np.int64)
    for u, t in inp.current.items():
        current[unit_ix[u]] = slot_of_territory.get(t, -1)
    moved_weight = np.zeros(n)
    moved_total, moved_cap, moved_price, moved_forced = 0.0, None, 0.0, 0.0
    dis = inp.disruption
    if dis is not None:
        for u, w in dis.weights.items():
            if current[unit_ix[u]] >= 0:
                moved_weight[unit_ix[u]] = w
            else:
                moved_forced += w
        moved_forced += dis.unavoidable
        moved_total = float(dis.total)
        moved_cap = None if dis.cap is None else dis.cap * moved_total - moved_forced
        moved_price = dis.penalty_per_point * 100.0 / moved_total if moved_total > 0 else 0.0
    site_unit = np.array([unit_ix[s] for s in inp.sites], dtype=np.int64) if not inp.fixed_sites else np.full(m, -1)
    return TerritoryArrays(
        inp=inp,
        n=n,
        m=m,
        k=k,
        site_unit=site_unit,
        pair_unit=pair_unit,
        pair_site=pair_site,
        pair_km=pair_km,
        pair_cost=pair_cost,
        unit_start=unit_start,
        measure=measure,
        lower=lower,
        upper=upper,
        target=target,
        adj_start=adj_start,
        adj=adj,
        edges=edges,
        root=root,
        lock=lock,
        current=current,
        moved_weight=moved_weight,
        moved_total=moved_total,
        moved_cap=moved_cap,
        moved_forced=moved_forced,
        moved_price=moved_price,
        slot_label=slot_label,
    )


def _slots(inp: TerritoryInputs, site_ix: dict[str, int]) -> tuple[dict[str, int], tuple[str, ...], int]:
    """Territory id -> slot, each slot's label, and the number of slots."""
    if inp.fixed_sites:
        return (
            {t: site_ix[s] for s, t in inp.site_territory.items()},
            tuple(inp.site_territory[s] for s in inp.sites),
            len(inp.sites),
        )
    labels = inp.labels
    return {t: i for i, t in enumerate(labels)}, tuple(labels) or ("",) * inp.territories, inp.territories


def _check_finite(values: np.ndarray, what: str, where, signed: bool = False) -> None:
    bad = np.flatnonzero(~np.isfinite(values) | (False if signed else values < 0))
    if len(bad):
        value = values[bad[0]]
        shown = "missing" if math.isnan(value) else f"{value:g}"
        raise DataError(
            f"{what} of {where(int(bad[0]))} is {shown}; it must be a finite number"
            + ("" if signed else " of at least 0")
        )
