"""Islands and extra edges: an adjacency CSV adds to the polygon adjacency, and `territory.islands` either refuses
a contiguous design with islands (naming them) or bridges each island to its nearest unit.

The instance is a 2x3 mainland of 10 km squares (m00..m12: row r, column c, centre (10c + 5, 10r + 5) km), an island
square i1 at x 45-50 km beside the mainland's east end, and two touching squares j1, j2 north of it, 15 km from the
mainland's top row. The nearest link for i1 is m02 (22.5 km); j1-m10 and j2-m11 tie at 30 km, so the smaller ids win.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import networkx as nx
import pandas as pd
import pytest
import yaml
from shapely.geometry import box
from typer.testing import CliRunner, Result

from spmopt.cli import app
from spmopt.data.geography import bridge_components
from spmopt.data.loader import load_planning_data
from spmopt.errors import ConfigError
from spmopt.scenario import load_scenario

KM = 1000.0
MAINLAND = {f"m{r}{c}": (10 * c, 10 * r, 10 * c + 10, 10 * r + 10) for r in range(2) for c in range(3)}
ISLANDS = {"i1": (45, 0, 50, 10), "j1": (0, 40, 10, 50), "j2": (10, 40, 20, 50)}
BOXES = {**MAINLAND, **ISLANDS}
QUEEN_EDGES = 11 + 1
"""Queen neighbours of the 2x3 mainland (7 sides, 4 corners) and the j1-j2 side."""
BRIDGES = (("i1", "m02", 22.5), ("j1", "m10", 30.0))


def write_instance(root: Path, territory: dict | None = None, data: dict | None = None) -> Path:
    """Geometry, units (potential 10 each) and a scenario of 2 contiguous territories within +-20%; its path."""
    frame = gpd.GeoDataFrame(
        {"unit_id": list(BOXES)},
        geometry=[box(*(KM * v for v in b)) for b in BOXES.values()],
        crs="EPSG:26917",
    )
    frame.to_file(root / "units.geojson", driver="GeoJSON")
    rows = [(u, KM * (b[0] + b[2]) / 2, KM * (b[1] + b[3]) / 2, 10) for u, b in BOXES.items()]
    pd.DataFrame(rows, columns=["unit_id", "x", "y", "potential"]).to_csv(root / "units.csv", index=False)
    spec = {
        "name": "islands",
        "seed": 1,
        "data": {"units": "units.csv", "geometry": "units.geojson", **(data or {})},
        "territory": {
            "territories": 2,
            "balance": [{"measure": "potential", "tolerance": 0.2}],
            "contiguity": True,
            "solver": {"time_limit": 20, "threads": 1},
            **(territory or {}),
        },
        "output": {"dir": "out"},
    }
    path = root / "scenario.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def run(scenario: Path, out: Path) -> Result:
    return CliRunner().invoke(app, ["run", str(scenario), "--out", str(out)])


def test_islands_error_refuses_a_contiguous_design_naming_the_island(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run(write_instance(tmp_path), out)
    assert result.exit_code == 2, result.output
    assert "no neighbours: i1" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_bridge_adds_exactly_the_nearest_edges(tmp_path: Path) -> None:
    plain = load_planning_data(load_scenario(write_instance(tmp_path, territory={"contiguity": False})))
    assert plain.adjacency.number_of_edges() == QUEEN_EDGES
    assert nx.number_connected_components(plain.adjacency) == 3
    assert plain.bridged_edges == ()

    data = load_planning_data(load_scenario(write_instance(tmp_path, territory={"islands": "bridge"})))
    assert nx.is_connected(data.adjacency)
    assert data.bridged_edges == BRIDGES
    assert data.adjacency.number_of_edges() == QUEEN_EDGES + len(BRIDGES)
    assert set(map(frozenset, data.adjacency.edges())) == set(map(frozenset, plain.adjacency.edges())) | {
        frozenset(e[:2]) for e in BRIDGES
    }


def test_bridging_ignores_row_order_and_leaves_a_connected_graph_alone() -> None:
    xy = pd.DataFrame({"x_km": [0.0, 2.0, 1.0, 5.0], "y_km": [0.0, 0.0, 0.0, 0.0]}, index=["d", "b", "c", "a"])
    forward = nx.Graph([("d", "c")])
    forward.add_nodes_from(["b", "a"])
    backward = nx.Graph()
    backward.add_nodes_from(["a", "b", "c", "d"])
    backward.add_edge("c", "d")
    # b is 1 km from c; a is 3 km from b: one chain, whatever the order the graph was built in
    expected = (("b", "c", 1.0), ("a", "b", 3.0))
    assert bridge_components(forward, xy)[1] == expected
    assert bridge_components(backward, xy.iloc[::-1])[1] == expected
    connected, added = bridge_components(nx.path_graph(["a", "b", "c", "d"]), xy)
    assert added == ()
    assert connected.number_of_edges() == 3


def test_bridged_run_connects_the_island_through_its_bridge(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run(write_instance(tmp_path, territory={"islands": "bridge"}), out)
    assert result.exit_code == 0, result.output

    edges = pd.read_csv(out / "bridged_edges.csv", dtype={"unit_a": str, "unit_b": str})
    assert list(edges.itertuples(index=False, name=None)) == list(BRIDGES)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert [tuple(e.values()) for e in manifest["bridged_edges"]] == list(BRIDGES)
    assert "bridged_edges.csv" in manifest["outputs"]

    alignment = pd.read_csv(out / "alignment.csv", dtype=str).set_index("unit_id")["territory_id"]
    # i1's only neighbour is m02 over the bridge, and j2 reaches the mainland only through j1 and its bridge to m10
    assert alignment["i1"] == alignment["m02"]
    assert alignment["j2"] == alignment["j1"] == alignment["m10"]
    territories = pd.read_csv(out / "territories.csv")
    assert territories["contiguous"].all()
    assert 'data-source="bridged_edges.csv"' in (out / "report.html").read_text(encoding="utf-8")


def test_adjacency_csv_adds_its_edges_to_the_polygons(tmp_path: Path) -> None:
    pd.DataFrame({"unit_a": ["i1", "j1"], "unit_b": ["m02", "m10"]}).to_csv(tmp_path / "ferries.csv", index=False)
    polygons = load_planning_data(load_scenario(write_instance(tmp_path, territory={"contiguity": False})))
    scenario = write_instance(tmp_path, data={"adjacency": "ferries.csv"})
    data = load_planning_data(load_scenario(scenario))
    assert data.adjacency.number_of_edges() == QUEEN_EDGES + 2
    assert set(map(frozenset, polygons.adjacency.edges())) <= set(map(frozenset, data.adjacency.edges()))
    assert nx.is_connected(data.adjacency)
    assert data.bridged_edges == ()
    result = CliRunner().invoke(app, ["validate", str(scenario)])
    assert result.exit_code == 0, result.output
    assert f"{QUEEN_EDGES + 2} adjacency edges" in result.output


def test_adjacency_csv_alone_is_the_whole_graph(tmp_path: Path) -> None:
    pd.DataFrame({"unit_a": ["m00", "i1"], "unit_b": ["m01", "m02"]}).to_csv(tmp_path / "edges.csv", index=False)
    scenario = write_instance(tmp_path, territory={"contiguity": False}, data={"adjacency": "edges.csv"})
    spec = yaml.safe_load(scenario.read_text(encoding="utf-8"))
    del spec["data"]["geometry"]
    scenario.write_text(yaml.safe_dump(spec), encoding="utf-8")
    assert load_planning_data(load_scenario(scenario)).adjacency.number_of_edges() == 2


@pytest.mark.parametrize(
    ("territory", "override", "fragment"),
    [
        ({}, "territory.islands=ferry", "territory.islands"),
        ({"contiguity": False}, "data.geometry=null", "territory.islands 'bridge' needs data.geometry"),
    ],
)
def test_bad_islands_setting_is_a_config_error(tmp_path: Path, territory: dict, override: str, fragment: str) -> None:
    scenario = write_instance(tmp_path, territory={"islands": "bridge", **territory})
    with pytest.raises(ConfigError, match=fragment):
        load_scenario(scenario, [override])
    result = CliRunner().invoke(app, ["validate", str(scenario), "--set", override])
    assert result.exit_code == 2
    assert fragment in result.output
