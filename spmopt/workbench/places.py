"""Place names for the map: the post office cities inside the planning area, largest first.

Where the units' coordinate system is known (lat,lon or ZIP units, or polygons that declare one), every post office
city of the offline ZIP data whose location falls inside the units' area is a place, ranked by its number of ZIP
codes. Without a coordinate system (x,y given bare), the places are the cities of ZIP units, at their units' mean
location, ranked the same way; otherwise there are none. The page shows as many as fit without overlapping at the
current zoom, largest first, so zooming into a metro area names its suburbs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from spmopt.data.geography import project_lonlat
from spmopt.data.loader import PlanningData
from spmopt.data.zip_locations import city_of, normalise_zip, post_office_cities

SHOWN_AT_ONCE = 30
"""Most place names drawn at once, so the territories stay visible under them."""


@dataclass(frozen=True, slots=True)
class Places:
    """Place names in the map's km frame, largest first."""

    x: tuple[float, ...]
    y: tuple[float, ...]
    name: tuple[str, ...]
    zips: tuple[int, ...]
    """The place's number of ZIP codes: its rank."""


def places(data: PlanningData) -> Places:
    """The places of `data`'s planning area (see the module docstring)."""
    frame = _from_zip_data(data) if data.crs is not None else _from_zip_units(data)
    if frame.empty:
        return Places((), (), (), ())
    frame = frame.sort_values(["zips", "name"], ascending=[False, True], ignore_index=True)
    return Places(
        tuple(frame["x"].round(3)), tuple(frame["y"].round(3)), tuple(frame["name"]), tuple(frame["zips"].astype(int))
    )


def _from_zip_data(data: PlanningData) -> pd.DataFrame:
    cities = post_office_cities()
    x, y = project_lonlat(cities["lon"].to_numpy(), cities["lat"].to_numpy(), data.crs)
    inside = shapely.contains_xy(_area(data), x, y)
    states = cities.loc[inside, "state"]
    home = states.mode().iloc[0] if len(states) else ""
    # A city of the area's main state needs no state; one across a border says where it is.
    names = cities.loc[inside, "city"].where(states == home, cities.loc[inside, "city"] + ", " + states)
    return pd.DataFrame({"x": x[inside], "y": y[inside], "name": names, "zips": cities.loc[inside, "zips"]})


def _from_zip_units(data: PlanningData) -> pd.DataFrame:
    rows = []
    for unit, x, y in zip(data.units.index, data.units["x_km"], data.units["y_km"], strict=True):
        zip5 = normalise_zip(str(unit))
        city = city_of(zip5) if zip5 is not None else None
        if city is not None:
            rows.append((city, x, y))
    if not rows:
        return pd.DataFrame(columns=["x", "y", "name", "zips"])
    frame = pd.DataFrame(rows, columns=["name", "x", "y"])
    return frame.groupby("name", as_index=False).agg(x=("x", "mean"), y=("y", "mean"), zips=("x", "size"))


def _area(data: PlanningData) -> shapely.Geometry:
    """The planning area: the units' polygons, else the hull of their locations widened by their spacing."""
    if data.geometry is not None:
        return shapely.union_all(shapely.buffer(data.geometry.geometry.to_numpy(), 0.0))
    xy = data.units[["x_km", "y_km"]].to_numpy()
    hull = shapely.convex_hull(shapely.multipoints(xy))
    spread = float(np.ptp(xy, axis=0).max()) if len(xy) > 1 else 1.0
    return shapely.buffer(hull, 0.02 * spread)
