"""District and region roll-ups: totals, targets, deviations, contiguity, quotas that reconcile exactly (and a wrong
roll-up caught), and one `spmopt run` with a hierarchy through to its CSVs, workbook sheets and report."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import networkx as nx
import openpyxl
import pandas as pd
import pytest
from instance_helpers import GRID, make_instance, scenario
from typer.testing import CliRunner

from spmopt.cli import app
from spmopt.config import BalanceConfig
from spmopt.errors import SpmoptError
from spmopt.manifest import read_manifest
from spmopt.report.rollup import RollUp, reconcile, roll_up

ROW = ["a", "b", "c", "d"]
"""Four units in a row, a-b-c-d, each its own territory Ta..Td."""
UNITS = pd.DataFrame(
    {"x_km": [0.0, 1.0, 2.0, 3.0], "y_km": 0.0, "potential": [30.0, 10.0, 20.0, 40.0]},
    index=pd.Index(ROW, name="unit_id"),
)
ALIGNMENT = pd.Series([f"T{u}" for u in ROW], index=UNITS.index, name="territory_id")
PATH = nx.path_graph(ROW)
BANDS = (BalanceConfig(measure="potential", tolerance=0.15),)
QUOTAS = pd.DataFrame({"territory_id": ["Ta", "Tb", "Tc", "Td"], "annual_quota": [0.1, 0.2, 1000.35, 999.35]})
"""Cents that binary floats cannot add exactly: 0.1 + 0.2 != 0.3."""


def hierarchy(districts: list[str], regions: list[str | None] | None = None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "territory_id": [f"T{u}" for u in ROW],
            "rep_id": None,
            "district_id": districts,
            "region_id": regions or [None] * 4,
        }
    )


def test_districts_and_regions_roll_up() -> None:
    """D1 = {a, d} (not adjacent), D2 = {b}, D3 = {c}; regions N = {D1}, S = {D2, D3}."""
    table = hierarchy(["D1", "D2", "D3", "D1"], ["N", "S", "S", "N"])
    rollup = roll_up(table, ALIGNMENT, UNITS, PATH, BANDS, QUOTAS)
    districts = rollup.districts.set_index("district_id")
    assert districts["region_id"].to_dict() == {"D1": "N", "D2": "S", "D3": "S"}
    assert districts["territories"].to_dict() == {"D1": 2, "D2": 1, "D3": 1}
    assert districts["potential"].to_dict() == {"D1": 70.0, "D2": 10.0, "D3": 20.0}
    assert districts["potential_target"].tolist() == pytest.approx([100 / 3] * 3)
    assert districts["potential_dev_pct"].to_dict() == {"D1": 110.0, "D2": -70.0, "D3": -40.0}
    assert districts["contiguous"].to_dict() == {"D1": False, "D2": True, "D3": True}
    assert districts["annual_quota"].to_dict() == {"D1": 999.45, "D2": 0.2, "D3": 1000.35}
    assert rollup.regions is not None
    regions = rollup.regions.set_index("region_id")
    assert regions[["districts", "territories", "units"]].to_dict("index") == {
        "N": {"districts": 1, "territories": 2, "units": 2},
        "S": {"districts": 2, "territories": 2, "units": 2},
    }
    assert regions["potential_dev_pct"].to_dict() == {"N": 40.0, "S": -40.0}
    assert regions["contiguous"].to_dict() == {"N": False, "S": True}
    assert regions["annual_quota"].to_dict() == {"N": 999.45, "S": 1000.55}
    reconcile(table, QUOTAS, rollup, 2000)  # 0.1 + 0.2 + 1000.35 + 999.35, exactly


def test_without_regions_or_quotas() -> None:
    rollup = roll_up(hierarchy(["D1", "D1", "D2", "D2"]), ALIGNMENT, UNITS, None, BANDS)
    assert rollup.regions is None
    assert list(rollup.districts.columns) == [
        "district_id",
        "territories",
        "units",
        "potential",
        "potential_target",
        "potential_dev_pct",
    ]


def test_a_territory_counted_twice_is_caught() -> None:
    table = hierarchy(["D1", "D1", "D2", "D2"])
    twice = pd.concat([table, table.iloc[[1]].assign(district_id="D2")], ignore_index=True)
    rollup = roll_up(twice, ALIGNMENT, UNITS, PATH, BANDS, QUOTAS)
    with pytest.raises(SpmoptError, match=r"^roll-up does not reconcile: territory 'Tb' is counted in more than one"):
        reconcile(twice, QUOTAS, rollup, 2000)


def test_a_district_total_off_by_a_cent_is_caught() -> None:
    table = hierarchy(["D1", "D1", "D2", "D2"])
    rollup = roll_up(table, ALIGNMENT, UNITS, PATH, BANDS, QUOTAS)
    wrong = rollup.districts.assign(annual_quota=[0.31, 1999.7])
    with pytest.raises(SpmoptError, match=r"district 'D1' has quota 0.31 but its members add up to 0.3$"):
        reconcile(table, QUOTAS, RollUp(wrong, None), 2000)


def test_a_region_missing_a_district_is_caught() -> None:
    table = hierarchy(["D1", "D2", "D3", "D3"], ["N", "N", "S", "S"])
    rollup = roll_up(table, ALIGNMENT, UNITS, PATH, BANDS, QUOTAS)
    assert rollup.regions is not None
    wrong = replace(rollup, regions=rollup.regions.assign(annual_quota=[0.1, 1999.7]))
    with pytest.raises(SpmoptError, match=r"region 'N' has quota 0.1 but its members add up to 0.3$"):
        reconcile(table, QUOTAS, wrong, 2000)


def test_totals_must_reach_the_company_total_and_cover_every_territory() -> None:
    table = hierarchy(["D1", "D1", "D2", "D2"])
    rollup = roll_up(table, ALIGNMENT, UNITS, PATH, BANDS, QUOTAS)
    with pytest.raises(SpmoptError, match=r"levels add up to 2,000.00, the company total is 2,001$"):
        reconcile(table, QUOTAS, rollup, 2001)
    with pytest.raises(SpmoptError, match=r"territory 'Td' is in the quotas or the hierarchy, not both"):
        reconcile(table.iloc[:3], QUOTAS, rollup, 2000)


# ------------------------------------------------------------------------------------------ end to end


@pytest.mark.slow
def test_run_writes_the_hierarchy_files_sheets_and_report(tmp_path: Path) -> None:
    """Nine reps on the 3 x 3 grid, quotas, three designed districts in two regions."""
    spec = scenario({"territories": None})
    spec["data"]["reps"] = "reps.csv"
    spec["quota"] = {"target": 9_000_000, "attainment": {"dispersion": 0.2}}
    # Two regions of three equal districts are 60 and 30 units of potential: within +-50% of 45, not +-15%.
    spec["hierarchy"] = {"districts": 3, "regions": 2, "balance": [{"measure": "potential", "tolerance": 0.5}]}
    reps = [[f"R{n}", 1000 * int(u[2]), 1000 * int(u[1])] for n, u in enumerate(GRID)]
    path = make_instance(tmp_path, spec, files={"reps.csv": (("rep_id", "x", "y"), reps)})
    result = CliRunner().invoke(app, ["run", str(path)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"

    table = pd.read_csv(out / "hierarchy.csv", dtype=str)
    assert list(table.columns) == ["territory_id", "rep_id", "district_id", "region_id"]
    assert sorted(table["territory_id"]) == [f"R{n}" for n in range(9)]
    assert (table["territory_id"] == table["rep_id"]).all()
    assert table["district_id"].nunique() == 3
    assert table["region_id"].nunique() == 2
    quotas = pd.read_csv(out / "quotas.csv", dtype={"territory_id": str})
    districts = pd.read_csv(out / "districts.csv")
    regions = pd.read_csv(out / "regions.csv")
    district_sums = (
        quotas.set_index("territory_id")["annual_quota"].groupby(table.set_index("territory_id")["district_id"]).sum()
    )
    assert districts.set_index("district_id")["annual_quota"].to_dict() == district_sums.to_dict()
    assert int(regions["annual_quota"].sum()) == int(districts["annual_quota"].sum()) == 9_000_000
    assert districts["contiguous"].all()
    assert regions["contiguous"].all()
    assert (districts["potential_dev_pct"].abs() <= 50 + 1e-9).all()
    assert (regions["potential_dev_pct"].abs() <= 50 + 1e-9).all()

    sheets = openpyxl.load_workbook(out / "report.xlsx", read_only=True).sheetnames
    assert {"Hierarchy", "Districts", "Regions"} <= set(sheets)
    facts = read_manifest(out).stage("hierarchy")
    assert facts is not None
    assert (facts.source, facts.districts, facts.regions) == ("designed", 3, 2)
    assert [level.level for level in facts.levels] == ["district", "region"]

    html = (out / "report.html").read_text(encoding="utf-8")
    assert '<section id="hierarchy">' in html
    tagged = re.findall(
        r'data-source="((?:districts|regions)\.csv)" data-key="([^"]+)" data-column="(\w+)" '
        r'data-value="([^"]+)"',
        html,
    )
    assert {source for source, *_ in tagged} == {"districts.csv", "regions.csv"}
    frames = {"districts.csv": districts, "regions.csv": regions}
    for source, key, column, value in tagged:
        ((name, want),) = json.loads(key.replace("&#34;", '"')).items()
        frame = frames[source]
        assert float(value) == float(frame.loc[frame[name].astype(str) == want, column].iloc[0])
