"""Territories rolled up into districts and regions: the scenario section, the designed levels (contiguous, within
tolerance, a partition, a hand-checked optimum) and the planner's file with its errors."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pandas as pd
import pytest
from instance_helpers import GRID, grid_units, make_instance, scenario, write_csv

from spmopt.errors import ConfigError, DataError, InfeasibleModelError
from spmopt.preparation import prepare
from spmopt.scenario import load_scenario
from spmopt.territory.hierarchy import build_hierarchy
from spmopt.territory.hierarchy_file import read_hierarchy_file

REPS = [[f"R{n}", 1000 * int(u[2]), 1000 * int(u[1])] for n, u in enumerate(GRID)]
"""One rep a grid unit: R0 lives in u00, R1 in u01, ... R8 in u22."""


def grid_spec(hierarchy: dict | None, **territory: object) -> dict:
    spec = scenario({"territories": 9, **territory})
    if hierarchy is not None:
        spec["hierarchy"] = hierarchy
    return spec


def own_territories(units: list[str]) -> pd.Series:
    """Every unit its own territory `T-<unit>` (the design below the hierarchy is not under test)."""
    return pd.Series([f"T-{u}" for u in units], index=pd.Index(units, name="unit_id"), name="territory_id")


def hierarchy_of(path: Path, alignment: pd.Series):
    cfg = load_scenario(path)
    data = prepare(cfg).data
    return build_hierarchy(cfg, data, alignment, dict.fromkeys(sorted(set(alignment)))), data


def config_error(tmp_path: Path, spec: dict) -> str:
    with pytest.raises(ConfigError) as err:
        load_scenario(make_instance(tmp_path, spec))
    return str(err.value)


# ------------------------------------------------------------------------------------------ the scenario section


@pytest.mark.parametrize(
    ("hierarchy", "message"),
    [
        ({}, "hierarchy (line 17): Value error, give file (territory_id,district_id[,region_id]) or districts"),
        ({"file": "h.csv", "districts": 2}, "or districts (how many to design); not both"),
        ({"districts": 3, "regions": 3}, "regions (3) must be fewer than districts (3): each region groups"),
        ({"file": "h.csv", "regions": 2}, "regions only apply to designed districts (districts: N)"),
        ({"districts": 0}, "hierarchy.districts (line 18): Input should be greater than or equal to 1"),
        ({"districts": 3, "tolerance": 0.1}, "hierarchy.tolerance (line 19): unknown key"),
    ],
)
def test_section_errors_name_the_key(tmp_path: Path, hierarchy: dict, message: str) -> None:
    assert message in config_error(tmp_path, grid_spec(hierarchy))


def test_contiguity_needs_an_adjacency_graph(tmp_path: Path) -> None:
    spec = grid_spec({"districts": 3, "contiguity": True}, contiguity=False)
    del spec["data"]["adjacency"]
    assert "hierarchy.contiguity needs data.geometry or data.adjacency" in config_error(tmp_path, spec)


def test_defaults_follow_the_territory_section(tmp_path: Path) -> None:
    cfg = load_scenario(make_instance(tmp_path, grid_spec({"districts": 3})))
    assert cfg.hierarchy is not None
    assert [(b.measure, b.tolerance) for b in cfg.hierarchy.balance_for(cfg.territory)] == [("potential", 0.15)]
    assert cfg.hierarchy.contiguous(cfg.data) is True


@pytest.mark.parametrize(
    ("hierarchy", "message"),
    [
        ({"districts": 9}, "hierarchy.districts: 9 districts from 9 territories; give fewer districts than"),
        (
            {"districts": 3, "balance": [{"measure": "workload", "tolerance": 0.2}]},
            "hierarchy.balance: measure 'workload' is not one the scenario reads",
        ),
    ],
)
def test_checks_before_any_solve(tmp_path: Path, hierarchy: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        prepare(load_scenario(make_instance(tmp_path, grid_spec(hierarchy))))


# ------------------------------------------------------------------------------------------ designed districts


def test_grid_districts_partition_contiguous_and_balanced(tmp_path: Path) -> None:
    """Nine one-unit territories of equal potential into three districts: the optimum puts every non-centre
    territory 1 km from its centre (six of them, none can be nearer), so the objective is exactly 6."""
    hierarchy, data = hierarchy_of(make_instance(tmp_path, grid_spec({"districts": 3})), own_territories(GRID))
    table = hierarchy.table
    assert sorted(table["territory_id"]) == sorted(f"T-{u}" for u in GRID)
    assert table["district_id"].value_counts().to_dict() == {"D1": 3, "D2": 3, "D3": 3}
    assert table["region_id"].isna().all()
    assert hierarchy.source == "designed"
    graph = data.adjacency
    for _, members in table.groupby("district_id")["territory_id"]:
        assert nx.is_connected(graph.subgraph([t.removeprefix("T-") for t in members]))
    (level,) = hierarchy.levels
    assert (level.level, level.groups, level.members, level.status, level.gap) == ("district", 3, 9, "optimal", 0.0)
    assert level.objective == pytest.approx(6.0)
    assert hierarchy.facts.districts == 3
    assert hierarchy.facts.regions is None


def test_balance_decides_a_unique_optimum(tmp_path: Path) -> None:
    """Four territories in a row, potential 30, 10, 10, 30 at x = 0..3 km, two districts within 1%: only
    {0, 1} | {2, 3} gives both 40; each district has one territory 1 km from its centre, objective 2. D1 is the
    western one (districts are named north to south, then west to east)."""
    row = ["u00", "u01", "u02", "u10"]
    units = [[u, 1000 * n, 0, p, 5] for n, (u, p) in enumerate(zip(row, (30, 10, 10, 30), strict=True))]
    edges = [[row[n], row[n + 1]] for n in range(3)]
    spec = scenario({"territories": 4, "balance": [], "distance_weight": "potential"})
    spec["hierarchy"] = {"districts": 2, "balance": [{"measure": "potential", "tolerance": 0.01}]}
    hierarchy, _ = hierarchy_of(make_instance(tmp_path, spec, units=units, edges=edges), own_territories(row))
    assert dict(zip(hierarchy.table["territory_id"], hierarchy.table["district_id"], strict=True)) == {
        "T-u00": "D1",
        "T-u01": "D1",
        "T-u02": "D2",
        "T-u10": "D2",
    }
    assert hierarchy.levels[0].objective == pytest.approx(2.0)


def test_territories_of_several_units_into_districts_and_regions(tmp_path: Path) -> None:
    """A 6 x 4 grid, territories of two side-by-side units, four districts in two regions: every level is a
    partition, contiguous on the units and within +-15% of an equal share."""
    ids = [f"u{r}{c}" for r in range(4) for c in range(6)]
    units = [[u, 1000 * int(u[2]), 1000 * int(u[1]), 10 + (n % 3), 5] for n, u in enumerate(ids)]
    edges = [[f"u{r}{c}", f"u{r}{c + 1}"] for r in range(4) for c in range(5)]
    edges += [[f"u{r}{c}", f"u{r + 1}{c}"] for r in range(3) for c in range(6)]
    spec = scenario({"territories": 12})
    spec["hierarchy"] = {"districts": 4, "regions": 2}
    alignment = pd.Series({u: f"T{u[1]}{int(u[2]) // 2}" for u in ids}, name="territory_id").rename_axis("unit_id")
    hierarchy, data = hierarchy_of(make_instance(tmp_path, spec, units=units, edges=edges), alignment)
    table = hierarchy.table
    assert len(table) == 12
    assert table["territory_id"].is_unique
    assert table["district_id"].nunique() == 4
    assert table["region_id"].nunique() == 2
    assert (table.groupby("district_id")["region_id"].nunique() == 1).all()
    potential = data.units["potential"]
    for level, k in (("district_id", 4), ("region_id", 2)):
        unit_group = alignment.map(dict(zip(table["territory_id"], table[level], strict=True)))
        totals = potential.groupby(unit_group).sum()
        assert (abs(totals / (potential.sum() / k) - 1) <= 0.15 + 1e-9).all(), totals
        for _, members in unit_group.groupby(unit_group):
            assert nx.is_connected(data.adjacency.subgraph(members.index))
    assert [lv.level for lv in hierarchy.levels] == ["district", "region"]
    assert all(lv.status in ("optimal", "feasible") for lv in hierarchy.levels)


def test_a_territory_larger_than_a_district_band_is_named(tmp_path: Path) -> None:
    units = grid_units(potential={"u11": 80})
    spec = grid_spec(
        {"districts": 3, "balance": [{"measure": "potential", "tolerance": 0.15}]},
        balance=[],
        distance_weight="potential",  # so the units' potential is read with no territory band on it
    )
    with pytest.raises(InfeasibleModelError, match=r"^hierarchy: 3 districts of the 9 territories: .*T-u11"):
        hierarchy_of(make_instance(tmp_path, spec, units=units), own_territories(GRID))


# ------------------------------------------------------------------------------------------ the planner's file


def file_instance(tmp_path: Path, rows: list[list[object]], header: tuple[str, ...]) -> Path:
    spec = scenario({"territories": None})
    spec["data"]["reps"] = "reps.csv"
    spec["hierarchy"] = {"file": "hierarchy_in.csv"}
    files = {"reps.csv": (("rep_id", "x", "y"), REPS), "hierarchy_in.csv": (header, rows)}
    return make_instance(tmp_path, spec, files=files)


GOOD = [[f"R{n}", f"D{n // 3}", "EAST" if n < 6 else "WEST"] for n in range(9)]


def test_file_is_read_with_rep_ids_and_regions(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    write_csv(path, ("territory_id", "district_id", "region_id"), [["T0", "01", "E"], ["R1", "01", "E"]])
    table = read_hierarchy_file(path, ["T0", "T1"], {"T0": "R0", "T1": "R1"})
    assert table.to_dict("list") == {
        "territory_id": ["T0", "T1"],
        "district_id": ["01", "01"],
        "region_id": ["E", "E"],
    }


def test_file_hierarchy_runs_through_prepare_and_the_stage(tmp_path: Path) -> None:
    cfg = load_scenario(file_instance(tmp_path, GOOD, ("territory_id", "district_id", "region_id")))
    prep = prepare(cfg)
    alignment = pd.Series({u: f"R{n}" for n, u in enumerate(GRID)}, name="territory_id")
    hierarchy = build_hierarchy(cfg, prep.data, alignment, {f"R{n}": f"R{n}" for n in range(9)})
    assert hierarchy.source == "file"
    assert hierarchy.levels == ()
    assert hierarchy.table.iloc[7].to_dict() == {
        "territory_id": "R7",
        "rep_id": "R7",
        "district_id": "D2",
        "region_id": "WEST",
    }
    assert (hierarchy.facts.districts, hierarchy.facts.regions) == (3, 2)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda rows: rows[:4] + [["R99", "D1", "EAST"]] + rows[5:],
            "hierarchy_in.csv: row 6: territory_id 'R99' in hierarchy is neither a territory of the alignment nor "
            "a rep_id of the reps file",
        ),
        (
            lambda rows: rows[:8],
            "hierarchy_in.csv: territory 'R8' has no row in hierarchy; every territory needs a district",
        ),
        (
            lambda rows: [*rows[:3], [rows[3][0], rows[3][1], "WEST"], *rows[4:]],
            "hierarchy_in.csv: row 6: district 'D1' is put in region 'EAST' but row 5 puts it in region 'WEST'; a "
            "district belongs to one region",
        ),
        (
            lambda rows: [*rows, ["R2", "D0", "EAST"]],
            "hierarchy_in.csv: row 11: territory 'R2' is listed again (first on row 4); each territory belongs to "
            "one district",
        ),
        (
            lambda rows: [*rows[:2], ["R2", "", "EAST"], *rows[3:]],
            "hierarchy_in.csv: row 4: district_id is empty for territory 'R2'",
        ),
    ],
    ids=["unknown", "missing", "two-regions", "twice", "no-district"],
)
def test_file_errors_name_file_and_row(tmp_path: Path, edit, message: str) -> None:
    path = file_instance(tmp_path, edit([list(r) for r in GOOD]), ("territory_id", "district_id", "region_id"))
    with pytest.raises(DataError) as err:
        prepare(load_scenario(path))
    assert str(err.value) == f"{tmp_path / message.split(':')[0]}:{message.split(':', 1)[1]}"


def test_file_without_regions(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    write_csv(path, ("territory_id", "district_id"), [["T1", "D"], ["T0", "D"]])
    table = read_hierarchy_file(path, ["T0", "T1"], {"T0": None, "T1": None})
    assert table["district_id"].tolist() == ["D", "D"]
    assert table["region_id"].isna().all()
