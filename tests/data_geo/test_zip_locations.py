"""Unit locations from the offline ZIP data (`data.locations_from: zip`): ZIP text normalised, every ZIP of a
state located without a network, given coordinates kept, and ids that locate no ZIP refused by name."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import zipcodes
from zip_geo_helpers import state_zips, write_zip_scenario

from spmopt.data import zip_locations
from spmopt.data.loader import load_planning_data
from spmopt.data.zip_locations import fill_from_zips, normalise_zip
from spmopt.errors import DataError
from spmopt.scenario import load_scenario


@pytest.mark.parametrize(
    ("text", "zip5"),
    [
        ("02903", "02903"),
        (" 02903 ", "02903"),
        ("02903-1234", "02903"),
        ("02903 1234", "02903"),
        ("029031234", "02903"),
        ("2903", "02903"),  # a spreadsheet dropped the leading zero
        ("501", "00501"),
        ("19901", "19901"),
        ("1990", "01990"),
        ("ABC12", None),
        ("12", None),
        ("123456", None),
        ("02903-12", None),
        ("", None),
    ],
)
def test_zip_text_is_normalised_to_five_digits(text: str, zip5: str | None) -> None:
    assert normalise_zip(text) == zip5


def blank(n: int) -> np.ndarray:
    return np.full(n, np.nan)


def test_every_zip_of_a_state_is_located_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the ZIP data must not need the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    zip_locations._zip_table.cache_clear()
    ids = state_zips("RI")
    lat, lon = fill_from_zips(pd.Series(ids), blank(len(ids)), blank(len(ids)), Path("units.csv"))
    assert np.isfinite(lat).all()
    assert np.isfinite(lon).all()
    assert lat.min() > 41.0
    assert lat.max() < 42.1
    assert lon.min() > -72.0
    assert lon.max() < -71.0
    providence = ids.index("02903")
    assert (lat[providence], lon[providence]) == (41.82, -71.4158)


def test_zip_plus_four_and_dropped_zeros_take_their_zips_location() -> None:
    ids = pd.Series(["02903", "02903-1234", "029035678", "2903"])
    lat, lon = fill_from_zips(ids, blank(4), blank(4), Path("units.csv"))
    assert len(set(zip(lat.tolist(), lon.tolist(), strict=True))) == 1


def test_given_coordinates_are_kept_and_only_blank_rows_filled() -> None:
    ids = pd.Series(["02903", "02840"])
    lat, lon = fill_from_zips(ids, np.array([41.5, np.nan]), np.array([-71.3, np.nan]), Path("units.csv"))
    newport = zipcodes.matching("02840")[0]
    assert (lat[0], lon[0]) == (41.5, -71.3)
    assert (lat[1], lon[1]) == (float(newport["lat"]), float(newport["long"]))


def test_half_a_coordinate_is_refused() -> None:
    with pytest.raises(DataError, match=r"row 3: give both lat and lon"):
        fill_from_zips(pd.Series(["02903", "02840"]), np.array([41.5, 41.4]), np.array([-71.3, np.nan]), Path("u"))


def test_ids_that_locate_no_zip_are_named_counted_and_explained() -> None:
    ids = ["02903", "99999", "ABC12", "09001", "00000", "12", "99998-1234", "02840"]
    with pytest.raises(DataError) as err:
        fill_from_zips(pd.Series(ids), blank(len(ids)), blank(len(ids)), Path("units.csv"))
    text = str(err.value)
    assert text.startswith("units.csv: 6 unit(s) without lat,lon are not ZIPs the offline ZIP data (zipcodes ")
    assert (
        "99999 (unknown ZIP), ABC12 (not a ZIP), 09001 (ZIP 09001 has no location), 00000 (unknown ZIP), "
        "12 (not a ZIP) and 1 more; give them lat,lon columns, or correct their unit_id"
    ) in text
    assert "99998-1234" not in text  # beyond the first five


def test_scenario_units_without_coordinates_take_their_zips_location(tmp_path: Path) -> None:
    ids = [*state_zips("RI"), "02903-2001"]
    data = load_planning_data(load_scenario(write_zip_scenario(tmp_path, ids)))
    assert list(data.units.index) == ids  # the ids as given: other files name units by them
    xy = data.units[["x_km", "y_km"]]
    assert np.isfinite(xy.to_numpy()).all()
    assert xy.loc["02903-2001"].equals(xy.loc["02903"])
    assert any("02903, 02903-2001" in w for w in data.warnings)


def test_unknown_zip_in_a_scenario_is_a_clear_error(tmp_path: Path) -> None:
    ids = [*state_zips("RI")[:10], "99999", "02-903"]
    message = r"units.csv: 2 unit\(s\) without lat,lon .*: 99999 \(unknown ZIP\), 02-903 \(not a ZIP\);"
    with pytest.raises(DataError, match=message):
        load_planning_data(load_scenario(write_zip_scenario(tmp_path, ids)))
