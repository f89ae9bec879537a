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
