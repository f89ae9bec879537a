"""Geography: read unit polygons, put every coordinate in one planar frame (km), derive adjacency."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
from pyproj import CRS

from spmopt.errors import DataError

M_PER_KM = 1000.0


def read_geometry(path: Path) -> gpd.GeoDataFrame:
    """Polygons keyed by `unit_id`, one row per unit."""
    if not path.is_file():
        raise DataError(f"{path}: geometry file not found")
    try:
        frame = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several unrelated types for unreadable files
        raise DataError(f"{path}: cannot read geometry: {exc}") from None
    if "unit_id" not in frame.columns:
        raise DataError(f"{path}: geometry has no 'unit_id' column; columns are: {', '.join(frame.columns)}")
    frame["unit_id"] = frame["unit_id"].astype(str)
    if frame["unit_id"].duplicated().any():
        dup = frame.loc[frame["unit_id"].duplicated(), "unit_id"].iloc[0]
        raise DataError(f"{path}: unit_id '{dup}' has more than one geometry row")
    empty = frame.geometry.isna() | frame.geometry.is_empty
    if empty.any():
        raise DataError(f"{path}: unit_id '{frame.loc[empty, 'unit_id'].iloc[0]}' has no geometry")
    return frame.set_index("unit_id")


def local_projected_crs(lon: np.ndarray, lat: np.ndarray) -> CRS:
    """The UTM zone covering the points, so Euclidean distances are close to true ones."""
    points = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    return points.estimate_utm_crs()


def project_lonlat(lon: np.ndarray, lat: np.ndarray, crs: CRS) -> tuple[np.ndarray, np.ndarray]:
    """Longitude/latitude to planar km in `crs` (whose axis unit is metres)."""
    pts = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs="EPSG:4326").to_crs(crs)
    return pts.x.to_numpy() / M_PER_KM, pts.y.to_numpy() / M_PER_KM


def geometry_to_km(geometry: gpd.GeoDataFrame, crs: CRS | None, scale: float) -> gpd.GeoDataFrame:
    """Polygons in planar km: reprojected to `crs` (metres) when they carry another CRS, else scaled."""
    target = crs
    if geometry.crs is not None and geometry.crs.is_geographic and target is None:
        target = geometry.estimate_utm_crs()
    if geometry.crs is not None and target is not None and geometry.crs != target:
        geometry, scale = geometry.to_crs(target), 1 / M_PER_KM
    scaled = geometry.geometry.scale(scale, scale, origin=(0, 0))
    return gpd.GeoDataFrame(geometry.drop(columns="geometry"), geometry=scaled.values, crs=None)


def adjacency_from_polygons(geometry: gpd.GeoDataFrame, rule: str) -> list[tuple[str, str]]:
    """Edges between polygons that touch: queen = any shared point, rook = a shared boundary segment."""
    frame = gpd.GeoDataFrame({"uid": geometry.index.to_numpy()}, geometry=geometry.geometry.values)
    pairs = gpd.sjoin(frame, frame, predicate="intersects", how="inner")
    pairs = pairs[pairs["uid_left"] < pairs["uid_right"]]
    left = pairs["uid_left"].to_numpy()
    right = pairs["uid_right"].to_numpy()
    if rule == "rook" and len(pairs):
        geo = geometry.geometry
        shared = (
            geo.loc[left].boundary.reset_index(drop=True).intersection(geo.loc[right].boundary.reset_index(drop=True))
        )
        keep = shared.length.to_numpy() > 0
        left, right = left[keep], right[keep]
    return list(zip(left.tolist(), right.tolist(), strict=True))


def adjacency_graph(units: pd.Index, edges: list[tuple[str, str]]) -> nx.Graph:
    """Undirected graph on every unit (isolated units included) with the given edges."""
    graph = nx.Graph()
    graph.add_nodes_from(units)
    graph.add_edges_from(edges)
    return graph


Bridge = tuple[str, str, float]
"""An added edge: two unit ids and their centre-to-centre distance in km."""


def bridge_components(graph: nx.Graph, xy: pd.DataFrame) -> tuple[nx.Graph, tuple[Bridge, ...]]:
    """A connected copy of `graph` and the edges added to make it so.

    Rule: starting from the largest component, the component nearest to the connected part joins it by one edge
    between its closest pair of units (centre-to-centre km from `xy`'s `x_km`, `y_km`, indexed by unit id),
    until every unit is connected. This is Prim's minimum spanning tree over components, so the added length is
    the least possible. Ties (equal to the metre) go to the pair with the smaller unit ids, and the largest of
    equal-sized components is the one with the smallest unit id, so the result does not depend on row order.
    """
    out = graph.copy()
    parts = sorted((sorted(map(str, p)) for p in nx.connected_components(graph)), key=lambda p: (-len(p), p[0]))
    if len(parts) < 2:
        return out, ()
    ids = {str(u): u for u in graph.nodes}
    coords = xy.set_axis(xy.index.map(str))[["x_km", "y_km"]]
    outside = [u for part in parts[1:] for u in part]
    part_of = np.repeat(np.arange(1, len(parts)), [len(p) for p in parts[1:]])
    out_xy = coords.loc[outside].to_numpy(dtype=float)
    best = np.full(len(outside), np.inf)
    partner = np.full(len(outside), "", dtype=object)
    waiting = np.ones(len(outside), dtype=bool)
    added: list[Bridge] = []
    joined = parts[0]
    while True:
        _nearest_in(joined, coords, out_xy, waiting, best, partner)
        if not waiting.any():
            break
        pick = _closest_waiting(outside, best, partner, waiting)
        a, b = sorted((outside[pick], partner[pick]))
        km = float(np.hypot(*(coords.loc[a].to_numpy() - coords.loc[b].to_numpy())))
        out.add_edge(ids[a], ids[b])
        added.append((a, b, round(km, 3)))
        joined = parts[part_of[pick]]
        waiting &= part_of != part_of[pick]
    return out, tuple(added)


def _nearest_in(
    joined: list[str],
    coords: pd.DataFrame,
    out_xy: np.ndarray,
    waiting: np.ndarray,
    best: np.ndarray,
    partner: np.ndarray,
) -> None:
    """Lower each waiting unit's distance to the connected part with the units that just joined it."""
    rows = np.flatnonzero(waiting)
    new_xy = coords.loc[joined].to_numpy(dtype=float)  # `joined` is sorted, so argmin keeps the smallest id
    step = max(1, 2_000_000 // len(joined))  # keeps each block of distances to a few tens of MB
    for start in range(0, len(rows), step):
        chunk = rows[start : start + step]
        d = np.round(np.hypot(*(out_xy[chunk, None, :] - new_xy[None, :, :]).transpose(2, 0, 1)), 3)
        col = d.argmin(axis=1)
        dist = d[np.arange(len(chunk)), col]
        names = np.asarray(joined, dtype=object)[col]
        better = (dist < best[chunk]) | ((dist == best[chunk]) & (names < partner[chunk]))
        best[chunk[better]] = dist[better]
        partner[chunk[better]] = names[better]


def _closest_waiting(outside: list[str], best: np.ndarray, partner: np.ndarray, waiting: np.ndarray) -> int:
    """Position of the waiting unit with the shortest link; equal links go to the smaller pair of ids."""
    rows = np.flatnonzero(waiting)
    shortest = best[rows].min()
    tied = rows[best[rows] == shortest]
    return int(min(tied, key=lambda r: tuple(sorted((outside[r], partner[r])))))
