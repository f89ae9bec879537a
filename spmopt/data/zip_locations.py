"""Unit locations from US ZIP codes (`data.locations_from: zip`), read from the ZIP data the `zipcodes` package
bundles: offline, no network and no download, so a run gives the same coordinates wherever it runs."""

from __future__ import annotations

import re
from functools import cache
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd

from spmopt.errors import DataError

_ZIP = re.compile(r"(\d{5})(?:[- ]?\d{4})?")
_STRIPPED = re.compile(r"\d{3,4}")
SHOWN = 5
"""Unlocated ids named in the error message; the rest are counted."""


def normalise_zip(text: str) -> str | None:
    """The 5-digit ZIP `text` names, or None when it names none.

    `02903`, `02903-1234`, `02903 1234` and `029031234` (ZIP+4) all give `02903`. A 3- or 4-digit number is a ZIP
    whose leading zeros a spreadsheet dropped (`2903`, `501`) and is padded back."""
    text = str(text).strip()
    if (found := _ZIP.fullmatch(text)) is not None:
        return found.group(1)
    if _STRIPPED.fullmatch(text):
        return text.zfill(5)
    return None


def zip_data_version() -> str:
    """Version of the `zipcodes` package whose data gave the locations (for messages and provenance)."""
    return version("zipcodes")


@cache
def _zip_table() -> dict[str, tuple[float, float]]:
    """ZIP -> (lat, lon) for every ZIP with a usable location. Some (military APO/FPO ZIPs) carry 0, 0 as a
    placeholder, which would put them in the Gulf of Guinea: they count as unlocated."""
    import zipcodes

    table = {}
    for row in zipcodes.list_all():
        lat, lon = float(row["lat"] or "nan"), float(row["long"] or "nan")
        if np.isfinite(lat) and np.isfinite(lon) and (lat, lon) != (0.0, 0.0):
            table[row["zip_code"]] = (lat, lon)
    return table


@cache
def _counties() -> dict[str, str]:
    """ZIP -> its county as `Kent County, RI`, for every located ZIP whose record names one."""
    import zipcodes

    located = _zip_table()
    return {
        row["zip_code"]: f"{row['county']}, {row['state']}"
        for row in zipcodes.list_all()
        if row["zip_code"] in located and row.get("county") and row.get("state")
    }


@cache
def _county_centres() -> dict[str, tuple[float, float]]:
    """County -> the mean lat, lon of its located ZIPs (an approximate centre, for distances and the map)."""
    sums: dict[str, list[float]] = {}
    table = _zip_table()
    for zip5, county in _counties().items():
        lat, lon = table[zip5]
        acc = sums.setdefault(county, [0.0, 0.0, 0.0])
        acc[0] += lat
        acc[1] += lon
        acc[2] += 1
    return {c: (a[0] / a[2], a[1] / a[2]) for c, a in sums.items()}


@cache
def _cities() -> dict[str, str]:
    import zipcodes

    return {row["zip_code"]: f"{row['city']}, {row['state']}" for row in zipcodes.list_all() if row.get("city")}


@cache
def post_office_cities() -> pd.DataFrame:
    """Every post office city with a located ZIP: `city`, `state`, `lat`, `lon` (the median of its ZIPs'
    locations) and `zips`, its number of ZIP codes (a size a map can rank place names by: Atlanta has 106,
    Macon 21, a small town one), largest first."""
    import zipcodes

    located = _zip_table()
    rows = [
        (row["city"], row["state"], *located[row["zip_code"]])
        for row in zipcodes.list_all()
        if row["zip_code"] in located and row.get("city") and row.get("state")
    ]
    frame = pd.DataFrame(rows, columns=["city", "state", "lat", "lon"])
    grouped = frame.groupby(["city", "state"], as_index=False).agg(
        lat=("lat", "median"), lon=("lon", "median"), zips=("lat", "size")
    )
    return grouped.sort_values(["zips", "city"], ascending=[False, True], ignore_index=True)


def city_of(zip5: str) -> str | None:
    """The post office city of a 5-digit ZIP (`Providence, RI`), None for an unknown ZIP."""
    return _cities().get(zip5)


def county_of(zip5: str) -> str | None:
    """The county (`Kent County, RI`) of a located 5-digit ZIP, None when the ZIP data names none."""
    return _counties().get(zip5)


def zip_lat_lon(zips: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    """Lat, lon of located 5-digit ZIPs."""
    table = _zip_table()
    return np.array([table[z][0] for z in zips]), np.array([table[z][1] for z in zips])


def county_lat_lon(counties: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    """Lat, lon of the counties `county_of` names (the mean of each one's ZIPs)."""
    table = _county_centres()
    return np.array([table[c][0] for c in counties]), np.array([table[c][1] for c in counties])


@cache
def _known_zips() -> frozenset[str]:
    import zipcodes

    return frozenset(row["zip_code"] for row in zipcodes.list_all())


def unlocated_reason(zip5: str) -> str | None:
    """Why the offline ZIP data cannot locate the 5-digit `zip5`, in a planner's words; None when it can."""
    if zip5 in _zip_table():
        return None
    return "ZIP has no location" if zip5 in _known_zips() else "unknown ZIP"


def fill_from_zips(ids: pd.Series, lat: np.ndarray, lon: np.ndarray, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """`lat`, `lon` (degrees, NaN where the units table gives none) completed with the location of each such
    unit's ZIP (its `unit_id`); a unit whose id locates no ZIP is an error naming the first of them."""
    lat, lon = lat.astype(float).copy(), lon.astype(float).copy()
    blank = np.isnan(lat) & np.isnan(lon)
    half = np.isnan(lat) ^ np.isnan(lon)
    if half.any():
        pos = int(np.flatnonzero(half)[0])
        raise DataError(f"{path}: row {pos + 2}: give both lat and lon, or neither to take the ZIP's location")
    table = _zip_table()
    unlocated = []
    for pos in np.flatnonzero(blank):
        uid = str(ids.iloc[pos])
        zip5 = normalise_zip(uid)
        if zip5 is None or zip5 not in table:
            unlocated.append((uid, zip5))
            continue
        lat[pos], lon[pos] = table[zip5]
    if unlocated:
        raise DataError(_unlocated_message(unlocated, path))
    return lat, lon


def _unlocated_message(unlocated: list[tuple[str, str | None]], path: Path) -> str:
    known = _known_zips()

    def why(uid: str, zip5: str | None) -> str:
        if zip5 is None:
            return f"{uid} (not a ZIP)"
        if zip5 in known:
            return f"{uid} (ZIP {zip5} has no location)"
        return f"{uid} (no ZIP {zip5})" if zip5 != uid else f"{uid} (unknown ZIP)"

    shown = ", ".join(why(u, z) for u, z in unlocated[:SHOWN])
    more = f" and {len(unlocated) - SHOWN} more" if len(unlocated) > SHOWN else ""
    return (
        f"{path}: {len(unlocated)} unit(s) without lat,lon are not ZIPs the offline ZIP data (zipcodes "
        f"{zip_data_version()}) can locate: {shown}{more}; give them lat,lon columns, or correct their unit_id"
    )
