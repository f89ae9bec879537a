"""What the workbench map draws for each unit: outlines simplified below what the page can show, holes kept, and
discs that do not overlap for units without an area."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from spmopt.data.loader import PlanningData
from spmopt.workbench.shapes import DRAWN_DETAIL, unit_shapes


def _data(geoms: list[shapely.Geometry] | None, xy: list[tuple[float, float]]) -> PlanningData:
    ids = pd.Index([f"u{i}" for i in range(len(xy))], name="unit_id")
    units = pd.DataFrame(xy, columns=["x_km", "y_km"], index=ids)
    geometry = gpd.GeoDataFrame(geometry=geoms, index=ids) if geoms is not None else None
    return PlanningData(units=units, measures=(), geometry=geometry)


def _polygon(xs: list, ys: list) -> shapely.Polygon:
    rings = [list(zip(x, y, strict=True)) for x, y in zip(xs, ys, strict=True)]
    return shapely.Polygon(rings[0], rings[1:])


def test_dense_outlines_are_simplified_and_holes_kept() -> None:
    angle = np.linspace(0, 2 * np.pi, 10_000, endpoint=False)
    circle = shapely.Polygon(np.c_[5 * np.cos(angle), 5 * np.sin(angle)])  # a 5 km disc drawn with 10,000 vertices
    square = shapely.box(10, -5, 20, 5).difference(shapely.box(14, -1, 16, 1))  # a 10 km square with a hole
    xs, ys = unit_shapes(_data([circle, square], [(0, 0), (15, 0)]))
    drawn_circle = _polygon(xs[0][0], ys[0][0])
    assert len(xs[0][0][0]) < 1_000  # at most a quarter pixel off at full extent: far fewer vertices
    tolerance = 25 / DRAWN_DETAIL  # the map is 25 km wide
    assert abs(drawn_circle.area - circle.area) <= tolerance * circle.length  # no point moved more than that
    assert len(xs[1][0]) == 2  # exterior and hole
    assert _polygon(xs[1][0], ys[1][0]).area == square.area


def test_units_without_an_area_are_discs_that_do_not_overlap() -> None:
    xy = [(x, y) for x in range(5) for y in range(5)]
    xs, ys = unit_shapes(_data(None, xy))
    discs = [_polygon(x[0], y[0]) for x, y in zip(xs, ys, strict=True)]
    assert all(d.contains(shapely.Point(p)) for d, p in zip(discs, xy, strict=True))
    assert not any(a.intersects(b) for i, a in enumerate(discs) for b in discs[i + 1 :])
