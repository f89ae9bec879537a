"""Geography of units known only as points (`data.adjacency_from: points`): neighbours from a pruned Delaunay
triangulation of their locations, and Voronoi cells standing in for the polygons on the map. Both approximate
the real boundaries; polygons given in `data.geometry` are always preferred.

The rules, in planar km (docs/point-geography.md has the measurements behind them):

* Spacing: a location's spacing is the distance to its `SPACING_NEIGHBOUR`-th nearest other location. The
  nearest one is often a PO-box or company ZIP a few hundred metres from the town's ZIP, too close to say how
  far apart places are there.
* Coincident units (several ids at one location, to the metre) are spread evenly over a disc of radius
  `SPREAD_SHARE` of the distance to the nearest other location, in id order (a sunflower pattern, no random
  numbers), so each gets its own vertex and cell, they neighbour each other, and the graph stays planar.
* Pruning: a triangulation edge longer than `PRUNE_FACTOR` times the spacing at both of its ends is dropped.
  Such edges are the slivers along the convex hull and the chords across bays and concave borders.
* Gaps: pruning never cuts the map into pieces unless the gap is real. The pieces it leaves are joined again
  by their shortest dropped edges (Kruskal, shortest first), except those longer than `PRUNE_FACTOR` times the
  spacing of the sparsest tenth of the locations (`GAP_QUANTILE`): open water, usually. Pieces across such a
  gap stay apart and are islands for `territory.islands`.
* Cells: Voronoi cells of the (spread) locations, clipped to their convex hull buffered by the median spacing,
  and each to a disc of `PRUNE_FACTOR` times its spacing around its location, so coastal and border cells do
  not reach far out over water.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import Delaunay, QhullError, cKDTree

SPACING_NEIGHBOUR = 3
PRUNE_FACTOR = 2.5
GAP_QUANTILE = 0.9
COINCIDENT_KM = 0.001
SPREAD_SHARE = 0.01
_GOLDEN_ANGLE = np.pi * (3.0 - np.sqrt(5.0))
_LONE_CELL_KM = 1.0
"""Radius of the cell drawn for units that all stand at one location (nothing else sets a scale)."""


@dataclass(frozen=True, slots=True)
class PointGeography:
    """Neighbours and cells of units given as points, and what the rules did to get them."""

    edges: list[tuple[str, str]]
    """Neighbouring unit ids (a < b), sorted."""
    cells: gpd.GeoDataFrame
    """Voronoi cell of every unit in the units' planar km frame, index `unit_id`, no CRS (like read polygons)."""
    triangulated: int
    """Edges of the triangulation before pruning."""
    pruned: int
    """Edges dropped as too long (net of those put back to keep the map in one piece)."""
    rejoined: int
    """Dropped edges put back because their pieces are not separated by a real gap."""
    pieces: int
    """Connected pieces left (more than one when real gaps separate them: islands for `territory.islands`)."""
    coincident: tuple[tuple[str, ...], ...]
    """Groups of units sharing one location, each sorted, in order of their first id."""


def point_geography(xy: pd.DataFrame) -> PointGeography:
    """Neighbours and cells of the units in `xy` (index unit id, columns `x_km`, `y_km`); the result does not
    depend on the rows' order."""
    ids = np.array(sorted(map(str, xy.index)), dtype=object)
    coords = xy.set_axis(xy.index.map(str)).loc[ids, ["x_km", "y_km"]].to_numpy(dtype=float)
    site, first = _locations(coords)
    places = coords[first]
    spacing = _spacing(places)
    spread = _spread(coords, site, places)
    pairs = _triangulation(spread)
    length = np.hypot(*(coords[pairs[:, 0]] - coords[pairs[:, 1]]).T)
    limit = PRUNE_FACTOR * spacing[site]
    long = (length > limit[pairs[:, 0]]) & (length > limit[pairs[:, 1]])
    gap = PRUNE_FACTOR * float(np.quantile(spacing, GAP_QUANTILE)) if len(places) > 1 else 0.0
    back = _rejoin(len(ids), pairs, length, long, gap)
    kept = pairs[~long | back]
    graph = nx.Graph()
    graph.add_nodes_from(range(len(ids)))
    graph.add_edges_from(map(tuple, kept.tolist()))
    edges = sorted(tuple(sorted((ids[a], ids[b]))) for a, b in kept.tolist())
    groups = [ids[site == s] for s in np.flatnonzero(np.bincount(site) > 1)]
    return PointGeography(
        edges=edges,
        cells=_cells(ids, spread, spacing[site]),
        triangulated=len(pairs),
        pruned=int(long.sum() - back.sum()),
        rejoined=int(back.sum()),
        pieces=nx.number_connected_components(graph),
        coincident=tuple(sorted(tuple(g) for g in groups)),
    )


def _locations(coords: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each point's location number and the first point at each location (coordinates equal to the metre)."""
    key = np.round(coords / COINCIDENT_KM).astype(np.int64)
    _, first, site = np.unique(key, axis=0, return_index=True, return_inverse=True)
    return site.ravel(), first


def _spacing(places: np.ndarray) -> np.ndarray:
    """Distance from each location to its `SPACING_NEIGHBOUR`-th nearest other location (the farthest there is
    when there are fewer)."""
    if len(places) < 2:
        return np.full(len(places), _LONE_CELL_KM)
    k = min(SPACING_NEIGHBOUR, len(places) - 1)
    dist, _ = cKDTree(places).query(places, k + 1)
    return dist[:, k]


def _spread(coords: np.ndarray, site: np.ndarray, places: np.ndarray) -> np.ndarray:
    """The points with each coincident group spread over a small disc around its location, in id order."""
    out = coords.copy()
    counts = np.bincount(site)
    if (counts < 2).all():
        return out
    nearest = cKDTree(places).query(places, 2)[0][:, 1] if len(places) > 1 else np.full(1, _LONE_CELL_KM)
    for s in np.flatnonzero(counts > 1):
        members = np.flatnonzero(site == s)
        m = len(members)
        step = np.arange(m)
        radius = SPREAD_SHARE * nearest[s] * np.sqrt((step + 0.5) / m)
        angle = step * _GOLDEN_ANGLE
        out[members] += np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    return out


def _triangulation(points: np.ndarray) -> np.ndarray:
    """Delaunay edges (a < b, unique, sorted) of the points; a path along them when they are collinear or fewer
    than three. Points Qhull leaves out (equal within its precision) join their nearest vertex."""
    if len(points) < 2:
        return np.empty((0, 2), dtype=np.int64)
    # Centred so the precision Qhull works to is spent on the differences between points, not on the offset.
    centred = points - points.mean(axis=0)
    try:
        tri = Delaunay(centred)
    except QhullError:
        order = np.lexsort((centred[:, 1], centred[:, 0]))
        pairs = np.column_stack([order[:-1], order[1:]])
    else:
        s = tri.simplices
        pairs = np.vstack([s[:, [0, 1]], s[:, [1, 2]], s[:, [0, 2]], tri.coplanar[:, [0, 2]]])
    pairs = np.sort(pairs, axis=1)
    return np.unique(pairs, axis=0).astype(np.int64)


def _rejoin(n: int, pairs: np.ndarray, length: np.ndarray, long: np.ndarray, gap: float) -> np.ndarray:
    """Which long edges to put back: the shortest ones joining the pieces pruning left, none longer than `gap`."""
    back = np.zeros(len(pairs), dtype=bool)
    pieces = nx.utils.UnionFind(range(n))
    for a, b in pairs[~long].tolist():
        pieces.union(a, b)
    candidates = np.flatnonzero(long & (length <= gap))
    for i in candidates[np.lexsort((pairs[candidates, 1], pairs[candidates, 0], length[candidates]))].tolist():
        a, b = pairs[i].tolist()
        if pieces[a] != pieces[b]:
            pieces.union(a, b)
            back[i] = True
    return back


def _cells(ids: np.ndarray, points: np.ndarray, spacing: np.ndarray) -> gpd.GeoDataFrame:
    """Voronoi cells of the points, clipped to the buffered hull and to a disc around each point."""
    sites = shapely.points(points)
    if len(points) > 1:
        hull = shapely.convex_hull(shapely.multipoints(points)).buffer(float(np.median(spacing)))
        diagram = shapely.voronoi_polygons(shapely.multipoints(points), extend_to=hull, ordered=True)
        cells = shapely.intersection(np.asarray(shapely.get_parts(diagram)), hull)
        cells = shapely.intersection(cells, shapely.buffer(sites, PRUNE_FACTOR * spacing))
    else:
        cells = shapely.buffer(sites, _LONE_CELL_KM)
    return gpd.GeoDataFrame(geometry=cells, index=pd.Index(ids, name="unit_id"), crs=None)
