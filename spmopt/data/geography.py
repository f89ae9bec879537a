"""Geography: read unit polygons, put every coordinate in one planar frame (km), derive adjacency."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from spmopt.errors import DataError

M_PER_KM = 1000.0


REPAIR_AREA_TOLERANCE = 0.01
"""An invalid polygon is repaired only when the repair changes its area by at most this share."""


def read_geometry(path: Path) -> tuple[gpd.GeoDataFrame, tuple[str, ...]]:
    """Polygons keyed by `unit_id`, one row per unit, every one valid; and warnings naming repaired units."""
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
    frame = frame.set_index("unit_id")
    polygonal = frame.geometry.geom_type.isin(("Polygon", "MultiPolygon"))
    if not polygonal.all():
        unit = frame.index[~polygonal.to_numpy()][0]
        raise DataError(
            f"{path}: unit_id '{unit}' is a {frame.geometry.loc[unit].geom_type}, not a polygon; units need areas"
        )
    return _valid_polygons(frame, path)


def _valid_polygons(frame: gpd.GeoDataFrame, path: Path) -> tuple[gpd.GeoDataFrame, tuple[str, ...]]:
    """Invalid polygons (self-intersections, ...) break overlays and map drawing later: repair those whose
    repair keeps their area, refuse the others naming the unit and GEOS's reason."""
    geoms = frame.geometry.to_numpy()
    invalid = np.flatnonzero(~shapely.is_valid(geoms))
    if not len(invalid):
        return frame, ()
    repaired = []
    for pos in invalid:
        unit, geom = frame.index[pos], geoms[pos]
        fixed = _polygonal_part(shapely.make_valid(geom))
        reason = shapely.is_valid_reason(geom)
        before, after = float(geom.area), float(fixed.area) if fixed is not None else 0.0
        if fixed is None or abs(after - before) > REPAIR_AREA_TOLERANCE * max(before, after):
            raise DataError(
                f"{path}: unit_id '{unit}' has an invalid polygon ({reason}) that cannot be repaired without "
                f"changing its area ({before:.6g} -> {after:.6g} in the file's units); fix its outline"
            )
        geoms[pos] = fixed
        repaired.append(f"{unit} ({reason})")
    frame = frame.set_geometry(gpd.GeoSeries(geoms, index=frame.index, crs=frame.crs))
    shown = ", ".join(repaired[:5]) + (f" and {len(repaired) - 5} more" if len(repaired) > 5 else "")
    return frame, (f"{path}: repaired {len(repaired)} invalid polygon(s) keeping their area: {shown}",)


def _polygonal_part(geom: shapely.Geometry) -> shapely.Geometry | None:
    """The polygons of a repaired geometry (make_valid may add the lines a spike collapses to); None if none."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", ()) if g.geom_type in ("Polygon", "MultiPolygon") and not g.is_empty]
    return shapely.union_all(parts) if parts else None


MAP_MARGIN_SHARE = 0.10
MAP_MARGIN_KM = 25.0
"""Units and reps may lie beyond the polygons' bounding box by 10% of its larger side or 25 km, the larger."""


@dataclass(frozen=True, slots=True)
class Points:
    """Points that must lie on the map: the file giving them, their ids, planar km and whether given as lon/lat."""

    path: Path
    what: str
    ids: pd.Index
    xy: np.ndarray
    lonlat: bool


def check_on_map(path: Path, raw: gpd.GeoDataFrame, km: gpd.GeoDataFrame, frame: CRS | None, points: Points) -> None:
    """Refuse points off the map (`raw`: the polygons as read, `km`: in the planar km frame whose CRS is `frame`).

    A wrong coordinate system puts things hundreds of km away while every table still looks fine; when the
    points came as lon/lat and the polygons declare a UTM zone, the neighbouring zones are tried for a hint."""
    bounds = km.total_bounds
    margin = max(MAP_MARGIN_SHARE * max(bounds[2] - bounds[0], bounds[3] - bounds[1]), MAP_MARGIN_KM)
    far = _beyond(points.xy, bounds)
    off = np.flatnonzero(far > margin)
    if not len(off):
        return
    shown = ", ".join(f"{points.ids[i]} ({far[i]:,.0f} km)" for i in off[:3])
    more = f" and {len(off) - 3} more" if len(off) > 3 else ""
    hint = (
        _crs_hint(path, raw, frame, points, bounds)
        if points.lonlat
        else f"; are their x,y in the coordinate system of {path.name}?"
    )
    raise DataError(
        f"{points.path}: {len(off)} of {len(points.ids)} {points.what} lie off the map of {path.name} (more than "
        f"{margin:,.0f} km beyond its polygons): {shown}{more}{hint}"
    )


def _beyond(xy: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """km from each point to the bounding box (0 inside)."""
    dx = np.maximum(np.maximum(bounds[0] - xy[:, 0], xy[:, 0] - bounds[2]), 0.0)
    dy = np.maximum(np.maximum(bounds[1] - xy[:, 1], xy[:, 1] - bounds[3]), 0.0)
    return np.hypot(dx, dy)


def _crs_hint(path: Path, raw: gpd.GeoDataFrame, frame: CRS | None, points: Points, bounds: np.ndarray) -> str:
    declared = raw.crs
    if declared is None or declared.is_geographic or frame is None:
        return f"; is the coordinate system {path.name} declares right?"
    x, y = np.median(points.xy[:, 0]), np.median(points.xy[:, 1])
    dx, dy = x - np.clip(x, bounds[0], bounds[2]), y - np.clip(y, bounds[1], bounds[3])
    text = (
        f"; {path.name} declares {_crs_label(declared)} but the {points.what} sit {np.hypot(dx, dy):,.0f} km "
        f"{_compass(dx, dy)} of it"
    )
    lon, lat = _to_lonlat(points.xy, frame)
    guess = _neighbour_utm(declared, lon, lat, raw.total_bounds)
    return text + (f"; is it {_crs_label(guess)}?" if guess is not None else "")


def _crs_label(crs: CRS) -> str:
    epsg = crs.to_epsg()
    return f"EPSG:{epsg} ({crs.name})" if epsg else crs.name


def _compass(dx: float, dy: float) -> str:
    names = ("east", "north-east", "north", "north-west", "west", "south-west", "south", "south-east")
    return names[int(np.round(np.arctan2(dy, dx) / (np.pi / 4))) % 8]


def _to_lonlat(xy: np.ndarray, crs: CRS) -> tuple[np.ndarray, np.ndarray]:
    pts = gpd.GeoSeries(gpd.points_from_xy(xy[:, 0] * M_PER_KM, xy[:, 1] * M_PER_KM), crs=crs).to_crs("EPSG:4326")
    return pts.x.to_numpy(), pts.y.to_numpy()


def _neighbour_utm(declared: CRS, lon: np.ndarray, lat: np.ndarray, raw_bounds: np.ndarray) -> CRS | None:
    """The UTM zone next to the declared one (same datum, same hemisphere) that puts every point on the map."""
    found = re.search(r"zone (\d+)([NS])", declared.name)
    if found is None:
        return None
    zone, hemisphere = int(found.group(1)), found.group(2)
    extent = max(raw_bounds[2] - raw_bounds[0], raw_bounds[3] - raw_bounds[1])
    margin = max(MAP_MARGIN_SHARE * extent, MAP_MARGIN_KM * M_PER_KM)
    for other in (zone - 1, zone + 1, zone - 2, zone + 2):
        if not 1 <= other <= 60:
            continue
        try:
            candidate = CRS(declared.name.replace(found.group(0), f"zone {other}{hemisphere}"))
        except CRSError:
            continue
        xy = np.column_stack(project_lonlat(lon, lat, candidate)) * M_PER_KM
        if (_beyond(xy, raw_bounds) <= margin).all():
            return candidate
    return None


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
