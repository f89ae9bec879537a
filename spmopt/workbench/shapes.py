"""What the map draws for each unit: its polygon parts (holes kept) in the planar km frame, or, for units with no
area (an adjacency file without polygons), a small disc at its location; and a label for the hover."""

from __future__ import annotations

import numpy as np
import shapely
from scipy.spatial import cKDTree

from spmopt.data.accounts import NAMED_PREFIX
from spmopt.data.loader import PlanningData
from spmopt.data.zip_locations import city_of, normalise_zip

Rings = list[list[list[float]]]
"""One unit for Bokeh's multi_polygons: per polygon part, the exterior ring then its holes."""


DRAWN_DETAIL = 4000
"""Outlines are simplified to 1/4000 of the map's larger side (a quarter pixel on the page's map at full extent):
a ZIP or tract file can carry hundreds of vertices a unit, which the browser would send and redraw on every edit
without any visible difference."""


def unit_shapes(data: PlanningData) -> tuple[list[Rings], list[Rings]]:
    """Each unit's x and y rings, in the units' order."""
    if data.geometry is not None:
        geoms = data.geometry.geometry.loc[data.units.index].to_numpy()
        bounds = data.geometry.total_bounds
        tolerance = max(bounds[2] - bounds[0], bounds[3] - bounds[1]) / DRAWN_DETAIL
        shapes = list(shapely.simplify(geoms, tolerance, preserve_topology=True))
    else:
        shapes = list(_discs(data.units[["x_km", "y_km"]].to_numpy()))
    xs, ys = [], []
    for shape in shapes:
        parts = list(shape.geoms) if hasattr(shape, "geoms") else [shape]
        ux, uy = [], []
        for part in parts:
            rings = [part.exterior, *part.interiors]
            ux.append([np.asarray(r.xy[0]).round(4).tolist() for r in rings])
            uy.append([np.asarray(r.xy[1]).round(4).tolist() for r in rings])
        xs.append(ux)
        ys.append(uy)
    return xs, ys


def unit_labels(data: PlanningData) -> list[str]:
    """A name for each unit: a ZIP's post office, a named account's name, else nothing."""
    names = []
    accounts = data.accounts
    for unit in data.units.index:
        unit = str(unit)
        if unit.startswith(NAMED_PREFIX) and accounts is not None:
            account = unit.removeprefix(NAMED_PREFIX)
            names.append(f"named account {accounts.table.loc[account, 'name'] or account}")
        elif (zip5 := normalise_zip(unit)) is not None and (city := city_of(zip5)) is not None:
            names.append(city)
        else:
            names.append("")
    return names


def _discs(xy: np.ndarray) -> list[shapely.Polygon]:
    """Discs a third of the typical spacing of the locations wide, so neighbours do not overlap."""
    spacing = float(np.median(cKDTree(xy).query(xy, k=2)[0][:, 1])) if len(xy) > 1 else 1.0
    radius = max(spacing / 3, 1e-3)
    return list(shapely.buffer(shapely.points(xy), radius, quad_segs=4))
