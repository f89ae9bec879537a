"""Scale benchmark: a synthetic fixed-site, balanced, contiguous design on real US ZIP centroids.

The instance is built deterministically from a seed, like a product run with a reps file:
* units: `n_units` active ZIPs of the 48 contiguous states and DC (coordinates deduplicated, placeholder
  coordinates outside the contiguous US dropped, a seeded sample), projected to km by a spherical Albers
  equal-area conic (standard parallels 29.5N and 45.5N);
* adjacency: the Delaunay triangulation of the projected points; edges longer than `max_edge_km` (150 km
  at 30,000 units) are dropped, and the shortest dropped edges joining the pieces are put back so the
  graph stays connected;
* potential per ZIP: seeded lognormal (median 1, sigma 0.75);
* reps: `k` home bases from a recursive bisection of the units into `k` cells of equal potential, each rep
  at the ZIP nearest its cell's potential-weighted centroid (reps hired where the business is);
* objective: potential-weighted km from every ZIP to its rep's base (call effort grows with potential);
* balance: each territory's potential within +-`tolerance` of total / k; contiguity required;
* eligible pairs: each ZIP's `nearest` bases (the product's `candidate_sites`); the design problem,
  and so its bound, is defined on these pairs.
"""

from __future__ import annotations

import math
import resource
import time
from collections.abc import Callable

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components, dijkstra, minimum_spanning_tree
from scipy.spatial import Delaunay, cKDTree

from spmopt.config import SolverSettings
from spmopt.territory.inputs import Band, TerritoryInputs

_OUTSIDE_CONUS = {"AK", "HI", "PR", "VI", "GU", "AS", "MP", "FM", "MH", "PW", "AA", "AE", "AP"}
_EARTH_KM = 6371.0088
_LAT, _LON = (24.0, 50.0), (-125.5, -66.0)
"""Bounding box of the contiguous US (degrees)."""


def albers_km(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Spherical Albers equal-area conic for the contiguous US: x = rho sin(theta), y = rho0 - rho cos(theta)."""
    p1, p2, p0, l0 = (math.radians(v) for v in (29.5, 45.5, 23.0, -96.0))
    n = (math.sin(p1) + math.sin(p2)) / 2
    c = math.cos(p1) ** 2 + 2 * n * math.sin(p1)
    rho0 = _EARTH_KM * math.sqrt(c - 2 * n * math.sin(p0)) / n
    rho = _EARTH_KM * np.sqrt(c - 2 * n * np.sin(np.radians(lat))) / n
    theta = n * (np.radians(lon) - l0)
    return np.column_stack([rho * np.sin(theta), rho0 - rho * np.cos(theta)])


def conus_zips() -> tuple[np.ndarray, np.ndarray]:
    """Active ZIPs of the contiguous US with distinct coordinates inside its bounding box (first ZIP per
    coordinate, in code order)."""
    import zipcodes

    seen: set[tuple[float, float]] = set()
    codes, latlon = [], []
    for row in sorted(zipcodes.list_all(), key=lambda r: r["zip_code"]):
        if not row["active"] or row["state"] in _OUTSIDE_CONUS or not row["lat"] or not row["long"]:
            continue
        key = (float(row["lat"]), float(row["long"]))
        # Some ZIPs (military, federal agencies) carry placeholder coordinates such as 0, 0.
        if key in seen or not (_LAT[0] <= key[0] <= _LAT[1] and _LON[0] <= key[1] <= _LON[1]):
            continue
        seen.add(key)
        codes.append(row["zip_code"])
        latlon.append(key)
    return np.array(codes), np.array(latlon)


def delaunay_edges(xy: np.ndarray, max_edge_km: float) -> np.ndarray:
    """Delaunay edges (u < v) no longer than `max_edge_km`, plus the shortest longer ones that keep it connected.

    Points Qhull leaves out of the triangulation (coincident within its precision) join their nearest vertex.
    """
    tri = Delaunay(xy)
    s = tri.simplices
    e = np.vstack([s[:, [0, 1]], s[:, [1, 2]], s[:, [0, 2]], tri.coplanar[:, [0, 2]]])
    e.sort(axis=1)
    e = np.unique(e, axis=0)
    length = np.hypot(*(xy[e[:, 0]] - xy[e[:, 1]]).T)
    short = length <= max_edge_km
    n = len(xy)
    g = sparse.coo_array((np.ones(short.sum()), (e[short, 0], e[short, 1])), shape=(n, n))
    pieces, label = connected_components(g, directed=False)
    if pieces == 1:
        return e[short]
    # Minimum spanning tree over the pieces, each pair of pieces linked by its shortest dropped edge.
    long_e, long_len = e[~short], length[~short]
    a, b = label[long_e[:, 0]], label[long_e[:, 1]]
    lo_piece, hi_piece = np.minimum(a, b), np.maximum(a, b)
    best: dict[tuple[int, int], int] = {}
    for idx in np.lexsort((long_len, lo_piece, hi_piece)).tolist():
        if a[idx] != b[idx]:
            best.setdefault((int(lo_piece[idx]), int(hi_piece[idx])), idx)
    links = list(best.items())
    h = sparse.coo_array(
        ([long_len[i] for _, i in links], ([p for (p, _), _ in links], [q for (_, q), _ in links])),
        shape=(pieces, pieces),
    ).tocsr()
    tree = minimum_spanning_tree(h).tocoo()
    keep = [best[min(pa, pb), max(pa, pb)] for pa, pb in zip(tree.row.tolist(), tree.col.tolist(), strict=True)]
    if len(keep) != pieces - 1:
        raise ValueError(
            f"the Delaunay graph falls into {pieces - len(keep)} pieces; points are not in general position"
        )
    return np.vstack([e[short], long_e[keep]])


def balanced_bases(xy: np.ndarray, weight: np.ndarray, k: int) -> np.ndarray:
    """Unit index of each of k rep bases: recursive bisection into k cells of equal weight, base nearest each
    cell's weighted centroid (split along the cell's wider axis, shares in proportion to the territories)."""
    bases: list[int] = []

    def split(idx: np.ndarray, parts: int) -> None:
        if parts == 1:
            w = weight[idx]
            centre = (xy[idx] * w[:, None]).sum(axis=0) / w.sum()
            bases.append(int(idx[np.argmin(np.hypot(*(xy[idx] - centre).T))]))
            return
        left = parts // 2
        span = xy[idx].max(axis=0) - xy[idx].min(axis=0)
        axis = int(np.argmax(span))
        idx = idx[np.argsort(xy[idx, axis], kind="stable")]
        cum = np.cumsum(weight[idx])
        cut = int(np.searchsorted(cum, cum[-1] * left / parts)) + 1
        cut = min(max(cut, left), len(idx) - (parts - left))
        split(idx[:cut], left)
        split(idx[cut:], parts - left)

    split(np.arange(len(xy)), k)
    return np.array(bases)


def make_scale_inputs(
    n_units: int = 30_000,
    k: int = 300,
    seed: int = 2026,
    tolerance: float = 0.05,
    nearest: int = 20,
    max_edge_km: float | None = None,
    root_distances: bool = False,
) -> TerritoryInputs:
    """The synthetic scale design as `TerritoryInputs` (fixed sites = reps "R000".., units = ZIP codes).

    `max_edge_km` defaults to 150 km at 30,000 units, scaled by sqrt(30000 / n_units) for sparser samples.
    `root_distances` adds shortest-path km from every root (what the exact model's contiguous start needs;
    k x n entries, so for small instances).
    """
    codes, latlon = conus_zips()
    rng = np.random.default_rng(seed)
    if n_units > len(codes):
        raise ValueError(f"only {len(codes)} distinct contiguous-US ZIP centroids; {n_units} units requested")
    pick = np.sort(rng.choice(len(codes), size=n_units, replace=False))
    codes, latlon = codes[pick], latlon[pick]
    xy = albers_km(latlon[:, 0], latlon[:, 1])
    potential = np.round(rng.lognormal(mean=0.0, sigma=0.75, size=n_units), 4)
    edges = delaunay_edges(xy, max_edge_km or 150.0 * math.sqrt(30_000 / n_units))
    base = balanced_bases(xy, potential, k)
    units = tuple(codes.tolist())
    sites = tuple(f"R{j:03d}" for j in range(k))
    near = min(nearest, k)
    dist, col = cKDTree(xy[base]).query(xy, k=near)
    dist, col = dist.reshape(n_units, near), col.reshape(n_units, near)
    distance = {(units[i], sites[c]): float(d) for i in range(n_units) for c, d in zip(col[i], dist[i], strict=True)}
    for j, b in enumerate(base):  # a rep's home ZIP is always eligible for the rep (it roots the territory)
        distance[units[b], sites[j]] = float(np.hypot(*(xy[b] - xy[base[j]])))
    target = float(potential.sum()) / k
    values = dict(zip(units, potential.tolist(), strict=True))
    band = Band(
        measure="potential",
        tolerance=tolerance,
        values=values,
        lower=dict.fromkeys(sites, (1 - tolerance) * target),
        upper=dict.fromkeys(sites, (1 + tolerance) * target),
        target=dict.fromkeys(sites, target),
    )
    root_distance: dict[str, dict[str, float]] = {}
    if root_distances:
        km = np.hypot(*(xy[edges[:, 0]] - xy[edges[:, 1]]).T)
        graph = sparse.coo_array((km, (edges[:, 0], edges[:, 1])), shape=(n_units, n_units)).tocsr()
        table = dijkstra(graph, directed=False, indices=base)
        root_distance = {sites[j]: dict(zip(units, table[j].tolist(), strict=True)) for j in range(k)}
    edge_ids = tuple(sorted((min(units[a], units[b]), max(units[a], units[b])) for a, b in edges.tolist()))
    return TerritoryInputs(
        units=units,
        sites=sites,
        fixed_sites=True,
        territories=k,
        pairs=tuple(sorted(distance)),
        distance=distance,
        distance_weight=values,
        site_territory={s: f"T{s[1:]}" for s in sites},
        site_rep={s: s for s in sites},
        bands=(band,),
        compactness="distance",
        contiguity=True,
        edges=edge_ids,
        roots={sites[j]: units[b] for j, b in enumerate(base)},
        root_distance=root_distance,
    )


def check_alignment(inp: TerritoryInputs, site_of: dict[str, str]) -> tuple[bool, float]:
    """(every territory connected and holding its root, largest balance deviation from target in %)."""
    index = {u: i for i, u in enumerate(inp.units)}
    site_index = {s: j for j, s in enumerate(inp.sites)}
    lab = np.array([site_index[site_of[u]] for u in inp.units])
    a = np.array([index[u] for u, _ in inp.edges], dtype=np.int64)
    b = np.array([index[v] for _, v in inp.edges], dtype=np.int64)
    same = lab[a] == lab[b]
    n = len(inp.units)
    g = sparse.coo_array((np.ones(same.sum()), (a[same], b[same])), shape=(n, n))
    pieces, comp = connected_components(g, directed=False)
    used = np.unique(lab)
    roots_ok = all(site_of[inp.roots[s]] == s for s in inp.sites) if inp.roots else True
    contiguous = pieces == len(used) and roots_ok
    worst = 0.0
    for band in inp.bands:
        v = np.array([band.values[u] for u in inp.units])
        total = np.bincount(lab, weights=v, minlength=len(inp.sites))
        tgt = np.array([band.target[s] for s in inp.sites])
        worst = max(worst, float(np.max(np.abs(total - tgt) / tgt)) * 100)
    return bool(contiguous), worst


def peak_memory_gib() -> float:
    """Peak resident memory of this process plus its finished children (ru_maxrss is KiB on Linux)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + kids) / 1024**2


def run_scale(
    time_limit: float = 600.0,
    seed: int = 2026,
    n_units: int = 30_000,
    k: int = 300,
    threads: int | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, object]:
    """Build the instance, solve it with the large-design method and check the result from scratch.

    `seconds` is total wall time: instance build plus solve (the time limit covers the solve; the build is
    charged to the run as well).
    """
    from spmopt.territory.alignment import score_alignment
    from spmopt.territory.large import solve_large

    clock = time.perf_counter()
    inp = make_scale_inputs(n_units=n_units, k=k, seed=seed)
    build = time.perf_counter() - clock
    progress(f"instance built in {build:.1f} s: {len(inp.units)} units, {len(inp.edges)} edges, {len(inp.pairs)} pairs")
    settings = SolverSettings(time_limit=max(time_limit - build, 1.0), mip_gap=1e-4, threads=threads)
    result = solve_large(inp, settings, progress)
    seconds = time.perf_counter() - clock
    objective = score_alignment(inp, result.site_of) if result.site_of else None
    contiguous, dev = check_alignment(inp, result.site_of) if result.site_of else (False, math.inf)
    bound = result.report.bound
    gap = (objective - bound) / objective if objective and bound is not None else None
    site_pos = {s: j for j, s in enumerate(inp.sites)}
    return {
        "instance": f"zip{n_units}_k{k}_seed{seed}",
        "objective": objective,
        "bound": bound,
        "gap": gap,
        "status": result.report.status.value,
        "seconds": round(seconds, 2),
        "assignment": [site_pos[result.site_of[u]] for u in inp.units] if result.site_of else [],
        "peak_memory_gib": round(peak_memory_gib(), 3),
        "units": len(inp.units),
        "edges": len(inp.edges),
        "pairs": len(inp.pairs),
        "territories": inp.territories,
        "contiguous": contiguous,
        "max_balance_dev_pct": round(dev, 4),
        "tolerance_pct": inp.bands[0].tolerance * 100,
        "details": result.details,
    }
