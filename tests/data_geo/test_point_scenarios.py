"""Point-only scenarios (`data.adjacency_from: points`): the loader builds the adjacency and approximate cells
from the units' locations, polygons win when given, and `spmopt validate` / `spmopt run` work on ZIP units
with no polygons at all, down to the map."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import networkx as nx
import pandas as pd
import pytest
import yaml
from shapely.geometry import box
from typer.testing import CliRunner
from zip_geo_helpers import state_zips, write_zip_scenario

from spmopt.cli import app
from spmopt.data.loader import load_planning_data
from spmopt.data.points import point_geography
from spmopt.errors import ConfigError
from spmopt.report.map import map_warnings
from spmopt.scenario import load_scenario


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def test_loader_builds_adjacency_and_approximate_cells_from_points(tmp_path: Path) -> None:
    ids = state_zips("DE")
    data = load_planning_data(load_scenario(write_zip_scenario(tmp_path, ids)))
    found = point_geography(data.units[["x_km", "y_km"]])
    assert sorted(tuple(sorted(e)) for e in data.adjacency.edges()) == found.edges
    assert nx.is_connected(data.adjacency)
    assert data.bridged_edges == ()
    assert data.geometry_approximate
    assert list(data.geometry.index) == ids
    assert data.geometry.is_valid.all()
    assert [w for w in data.warnings if "share their location" in w] == [
        f"{tmp_path / 'units.csv'}: 21 units share their location with another unit (2 place(s): 19712, 19714, "
        "19715, 19718, ...; 19884, 19885, 19886, 19893, ...); for the adjacency and the map each group is spread a "
        "few metres apart, its units neighbouring each other and the place's neighbours"
    ]


def test_adjacency_csv_adds_to_the_point_edges(tmp_path: Path) -> None:
    ids = state_zips("RI")
    plain = load_planning_data(load_scenario(write_zip_scenario(tmp_path, ids)))
    assert not plain.adjacency.has_edge("02807", "02903")
    pd.DataFrame({"unit_a": ["02807"], "unit_b": ["02903"]}).to_csv(tmp_path / "ferry.csv", index=False)
    data = load_planning_data(load_scenario(write_zip_scenario(tmp_path, ids, data={"adjacency": "ferry.csv"})))
    assert data.adjacency.number_of_edges() == plain.adjacency.number_of_edges() + 1
    assert data.adjacency.has_edge("02807", "02903")


def write_xy_scenario(root: Path, data: dict) -> Path:
    """Four 10 km squares in a row (a0..a3), units at their centres in metres (UTM 17N), no ZIPs."""
    boxes = {f"a{i}": (10_000 * i, 0, 10_000 * (i + 1), 10_000) for i in range(4)}
    frame = gpd.GeoDataFrame({"unit_id": list(boxes)}, geometry=[box(*b) for b in boxes.values()], crs="EPSG:26917")
    frame.to_file(root / "units.geojson", driver="GeoJSON")
    rows = [(u, (b[0] + b[2]) / 2, (b[1] + b[3]) / 2, 1.0) for u, b in boxes.items()]
    pd.DataFrame(rows, columns=["unit_id", "x", "y", "potential"]).to_csv(root / "units.csv", index=False)
    spec = {
        "name": "xy",
        "data": {"units": "units.csv", "adjacency_from": "points", **data},
        "territory": {"territories": 2, "contiguity": True},
    }
    path = root / "scenario.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def test_points_work_for_projected_units_too(tmp_path: Path) -> None:
    data = load_planning_data(load_scenario(write_xy_scenario(tmp_path, {})))
    assert sorted(data.adjacency.edges()) == [("a0", "a1"), ("a1", "a2"), ("a2", "a3")]
    assert data.geometry_approximate


def test_polygons_win_over_points_when_given(tmp_path: Path) -> None:
    data = load_planning_data(load_scenario(write_xy_scenario(tmp_path, {"geometry": "units.geojson"})))
    assert not data.geometry_approximate
    assert data.geometry.area.round(6).tolist() == [100.0] * 4  # the squares, in km2
    assert data.warnings == (
        "data.adjacency_from: points is not used: the polygons of units.geojson give the adjacency and map",
    )


def test_contiguity_needs_some_source_of_adjacency(tmp_path: Path) -> None:
    path = write_xy_scenario(tmp_path, {"adjacency_from": "polygons"})
    with pytest.raises(ConfigError, match=r"contiguity needs data.geometry or data.adjacency or data.adjacency_from"):
        load_scenario(path)
    assert load_scenario(write_xy_scenario(tmp_path, {})).territory.contiguity


def invoke(*args: str | Path) -> object:
    return CliRunner().invoke(app, [str(a) for a in args])


def test_validate_a_point_only_zip_scenario(tmp_path: Path) -> None:
    scenario = write_zip_scenario(tmp_path, state_zips("RI"))
    result = invoke("validate", scenario)
    assert result.exit_code == 0, result.output
    assert "91 units, 254 adjacency edges, measures potential" in result.output


def test_validate_names_the_islands_open_water_leaves(tmp_path: Path) -> None:
    scenario = write_zip_scenario(tmp_path, state_zips("HI"), territory={"islands": "error"})
    result = invoke("validate", scenario)
    assert result.exit_code == 2, result.output
    assert "the adjacency graph falls into 2 separate pieces" in " ".join(result.output.split())
    bridged = invoke("validate", write_zip_scenario(tmp_path, state_zips("HI")))
    assert bridged.exit_code == 0, bridged.output
    assert "(1 added to link islands)" in bridged.output


@pytest.mark.slow
def test_run_a_point_only_zip_scenario_to_a_map(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = invoke("run", write_zip_scenario(tmp_path, state_zips("RI")), "--out", out)
    assert result.exit_code == 0, result.output
    assert (out / "map.png").stat().st_size > 10_000
    assert map_warnings(out / "map.png") == []
    alignment = pd.read_csv(out / "alignment.csv", dtype=str)
    assert sorted(alignment["unit_id"]) == state_zips("RI")
    territories = pd.read_csv(out / "territories.csv")
    assert len(territories) == 3
    assert territories["contiguous"].all()
    assert "report.html" in {p.name for p in out.iterdir()}
