"""Place names on the workbench map: the post office cities inside the planning area, largest first."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import shapely
from grid import make_grid

from spmopt.preparation import prepare
from spmopt.scenario import load_scenario
from spmopt.workbench.places import places

ROOT = Path(__file__).resolve().parents[2]


def _data(path: Path):
    return prepare(load_scenario(path)).data


def test_georgia_places_are_its_cities_ranked_by_zip_codes_and_inside_the_state() -> None:
    data = _data(ROOT / "scenarios" / "demo.yaml")
    found = places(data)
    # Ranked by number of ZIP codes (zipcodes data: Atlanta 106, Macon 21, Savannah 18, Augusta 15).
    assert found.name[:4] == ("Atlanta", "Macon", "Savannah", "Augusta")
    assert list(found.zips) == sorted(found.zips, reverse=True)
    state = shapely.union_all(data.geometry.geometry.to_numpy())
    assert all(shapely.contains_xy(state, x, y) for x, y in zip(found.x, found.y, strict=True))
    # Every place is Georgia's (another state's would carry its state); Chattanooga, TN and Tallahassee, FL lie
    # just beyond the demo's counties.
    assert not [n for n in found.name if "," in n]
    assert not {"Chattanooga", "Tallahassee"} & set(found.name)
    atlanta = data.units.loc["13121", ["x_km", "y_km"]]  # Fulton County holds Atlanta
    assert abs(found.x[0] - atlanta.x_km) < 30
    assert abs(found.y[0] - atlanta.y_km) < 30


@pytest.mark.slow
def test_zip_units_name_their_cities_with_or_without_a_coordinate_system() -> None:
    data = _data(ROOT / "scenarios" / "crm_demo.yaml")
    found = places(data)
    assert found.name[0] == "Hartford"
    assert all(n.endswith((", NY", ", MA", ", RI")) for n in found.name if "," in n)
    bare = places(dataclasses.replace(data, crs=None))  # x,y given without a CRS: the ZIP units' own cities
    assert bare.name[0] == "Hartford, CT"
    assert set(bare.name) <= {f"{n}, CT" for n in found.name} | set(found.name)


def test_units_that_are_neither_located_nor_zips_have_no_places(tmp_path: Path) -> None:
    data = _data(make_grid(tmp_path, None))
    assert data.crs is None
    assert places(data).name == ()
