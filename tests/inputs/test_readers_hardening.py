"""Input readers refuse, repair or warn about inputs a fault probe found silently mis-read: pandas' NA words in id
columns, duplicate column headers, unknown current territories, a geometry declaring the wrong coordinate system,
invalid polygons, duplicate history rows, margins above amounts and money values too large for int64 cents.

Every test builds a tiny instance in `tmp_path`: a 3x3 grid of 10 km squares near Atlanta in UTM zone 16N metres
(EPSG:26916), units at the square centres, three reps."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import yaml
from instance_helpers import write
from pyproj import Transformer
from shapely.geometry import box

from spmopt.comp.crediting import CreditingRules, credit, read_overlays
from spmopt.comp.inputs import read_quotas
from spmopt.comp.plan import CompPlan
from spmopt.comp.transactions import load_transactions
from spmopt.data.loader import load_planning_data
from spmopt.data.tables import money_column, read_table
from spmopt.errors import DataError
from spmopt.scenario import load_scenario

X0, Y0, SIDE = 720_000, 3_720_000, 10_000
"""South-west corner and side (m) of the grid, in EPSG:26916 (NAD83 / UTM zone 16N)."""
GRID = [f"u{r}{c}" for r in range(3) for c in range(3)]
REPS = {"R1": "u00", "R2": "u11", "R3": "u22"}
"""rep -> the unit holding their home base."""


PLAN = CompPlan.model_validate(
    {
        "name": "p",
        "year_start": "2027-01-01",
        "target_incentive": "1000",
        "measures": [{"name": "revenue", "tiers": [{"from": 0, "rate": "0.05"}]}],
    }
)


def centre(uid: str) -> tuple[float, float]:
    return X0 + SIDE * (int(uid[2]) + 0.5), Y0 + SIDE * (int(uid[1]) + 0.5)


def lonlat(uid: str) -> tuple[float, float]:
    """True longitude/latitude of a unit's centre."""
    return Transformer.from_crs("EPSG:26916", "EPSG:4326", always_xy=True).transform(*centre(uid))


def write_geometry(path: Path, crs: str = "EPSG:26916", shapes: dict | None = None) -> Path:
    """The grid's squares as GeoJSON declaring `crs`; `shapes` replaces some units' GeoJSON geometry."""
    boxes = {u: box(*centre(u), *centre(u)).buffer(SIDE / 2, cap_style="square") for u in GRID}
    frame = gpd.GeoDataFrame({"unit_id": GRID}, geometry=list(boxes.values()), crs=crs)
    doc = json.loads(frame.to_json())
    doc["crs"] = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{crs.split(':')[1]}"}}
    for feature in doc["features"]:
        uid = feature["properties"]["unit_id"]
        if shapes and uid in shapes:
            feature["geometry"] = shapes[uid]
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def units_csv(root: Path, lonlat_columns: bool = False) -> Path:
    if lonlat_columns:
        rows = [f"{u},{lonlat(u)[1]:.6f},{lonlat(u)[0]:.6f},10" for u in GRID]
        return write(root / "units.csv", "unit_id,lat,lon,potential\n" + "\n".join(rows) + "\n")
    rows = [f"{u},{centre(u)[0]:.0f},{centre(u)[1]:.0f},10" for u in GRID]
    return write(root / "units.csv", "unit_id,x,y,potential\n" + "\n".join(rows) + "\n")


def reps_csv(root: Path, lonlat_columns: bool = False) -> Path:
    if lonlat_columns:
        rows = [f"{r},{lonlat(u)[1]:.6f},{lonlat(u)[0]:.6f}" for r, u in REPS.items()]
        return write(root / "reps.csv", "rep_id,lat,lon\n" + "\n".join(rows) + "\n")
    rows = [f"{r},{centre(u)[0]:.0f},{centre(u)[1]:.0f}" for r, u in REPS.items()]
    return write(root / "reps.csv", "rep_id,x,y\n" + "\n".join(rows) + "\n")


def scenario(root: Path, **data: str) -> Path:
    """A scenario on the grid naming the given data files (units.csv, and the geometry unless told otherwise)."""
    spec = {
        "name": "tiny",
        "seed": 1,
        "data": {"units": "units.csv", "geometry": "grid.geojson", **data},
        "territory": {"balance": [{"measure": "potential", "tolerance": 0.2}]},
        "output": {"dir": "out"},
    }
    if "reps" not in data:
        spec["territory"]["territories"] = 3
    spec["data"] = {k: v for k, v in spec["data"].items() if v is not None}
    return write(root / "scenario.yaml", yaml.safe_dump(spec, sort_keys=False))


def load(root: Path, **data: str):
    return load_planning_data(load_scenario(scenario(root, **data)))


# ------------------------------------------------------------------------------------ 1. NA words are values


def test_na_words_in_id_and_text_columns_stay_text(tmp_path: Path) -> None:
    path = write(
        tmp_path / "t.csv",
        "unit_id,territory_id,product,reason,potential\nNA,None,N/A,null,1\n01001,nan,NULL,NaN,\n",
    )
    frame = read_table(path, "test")
    assert frame["unit_id"].tolist() == ["NA", "01001"]
    assert frame["territory_id"].tolist() == ["None", "nan"]
    assert frame["product"].tolist() == ["N/A", "NULL"]
    assert frame["reason"].tolist() == ["null", "NaN"]
    assert frame["potential"].iloc[0] == 1
    assert np.isnan(frame["potential"].iloc[1])


def test_whitespace_only_cells_are_missing_and_text_is_stripped(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", "unit_id,product,potential\n u1 ,  ,  \nu2,\t,3\n")
    frame = read_table(path, "test")
    assert frame["unit_id"].tolist() == ["u1", "u2"]
    assert frame["product"].isna().all()
    assert frame["potential"].dtype.kind == "f"
    assert frame["potential"].iloc[1] == 3


def test_na_word_in_a_numeric_column_is_missing(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", "transaction_id,amount,new_logo\nA,NA,1\nB,2.50,N/A\n")
    frame = read_table(path, "test")
    assert frame["new_logo"].tolist()[0] == 1
    assert np.isnan(frame["new_logo"].iloc[1])
    assert money_column(frame, "amount", path, "test", allow_blank=True).tolist() == [0, 250]
    with pytest.raises(DataError, match=r"t\.csv: row 2: amount is missing"):
        money_column(frame, "amount", path, "test")


def test_overlay_on_product_na_is_credited_only_on_na_deals(tmp_path: Path) -> None:
    tx = load_transactions(
        write(
            tmp_path / "tx.csv",
            "transaction_id,date,rep_id,product,amount\nA,2027-01-10,R1,NA,100.00\nB,2027-01-11,R1,license,250.00\n",
        ),
        PLAN,
    )
    assert tx.frame["product"].tolist() == ["NA", "license"]
    overlays = read_overlays(write(tmp_path / "overlays.csv", "payee_id,territory_id,product\nS1,,NA\n"))
    assert overlays[0].product == "NA"
    ledger = credit(tx, CreditingRules(rep_of_territory={"T1": "R1"}, overlays=overlays), None)
    lines = ledger.lines[ledger.lines["payee_id"] == "S1"]
    assert lines["transaction_id"].tolist() == ["A"]
    assert int(lines["amount"].sum()) == 10_000


def test_blank_numeric_cells_still_allowed_where_they_were(tmp_path: Path) -> None:
    units_csv(tmp_path)
    write_geometry(tmp_path / "grid.geojson")
    write(tmp_path / "reps.csv", "rep_id,x,y,start_month\nR1,725000,3725000,\nR2,735000,3735000,3\n")
    data = load(tmp_path, reps="reps.csv")
    assert data.reps["start_month"].tolist() == [0, 3]
    assert data.units.index.tolist() == GRID


# ------------------------------------------------------------------------------- 2. duplicate column headers


def test_duplicate_column_header_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "units.csv", "unit_id,x,potential,y,potential\nu00,1,2,3,4\n")
    with pytest.raises(DataError, match=r"units\.csv: column 'potential' appears twice \(columns 3 and 5\)"):
        read_table(path, "units")


def test_duplicate_column_header_is_found_behind_a_bom_and_spaces(tmp_path: Path) -> None:
    path = tmp_path / "units.csv"
    path.write_bytes("\ufeffunit_id, potential,potential ,potential\nu00,1,2,3\n".encode())
    with pytest.raises(DataError, match=r"column 'potential' appears 3 times \(columns 2, 3 and 4\)"):
        read_table(path, "units")


def test_unnamed_columns_are_not_duplicates(tmp_path: Path) -> None:
    frame = read_table(write(tmp_path / "t.csv", "unit_id,potential,,\nu00,1,,\n"), "test")
    assert frame["potential"].tolist() == [1]


# ---------------------------------------------------------------------- 3. unknown current territories warn


def test_current_alignment_naming_unknown_territory_warns_and_counts_as_moved(tmp_path: Path) -> None:
    units_csv(tmp_path)
    write_geometry(tmp_path / "grid.geojson")
    reps_csv(tmp_path)
    rows = {u: "R1" for u in GRID} | {"u20": "GONE", "u21": "GONE", "u22": "QUEUE"}
    write(tmp_path / "current.csv", "unit_id,territory_id\n" + "".join(f"{u},{t}\n" for u, t in rows.items()))
    data = load(tmp_path, reps="reps.csv", current_alignment="current.csv")
    assert data.current_alignment["u20"] == "GONE"  # kept, so the unit counts as moved whatever the design
    (warning,) = data.warnings
    assert "current.csv" in warning
    assert "GONE (2 units)" in warning
    assert "QUEUE (1 unit)" in warning
    assert "3 unit(s) must change owner and count as moved" in warning


def test_current_alignment_with_more_territories_than_designed_warns(tmp_path: Path) -> None:
    units_csv(tmp_path)
    write_geometry(tmp_path / "grid.geojson")
    write(tmp_path / "current.csv", "unit_id,territory_id\n" + "".join(f"{u},T{i}\n" for i, u in enumerate(GRID)))
    data = load(tmp_path, current_alignment="current.csv")
    assert any("has 9 territories but the scenario designs 3" in w for w in data.warnings)


def test_current_alignment_of_known_territories_gives_no_warning(tmp_path: Path) -> None:
    units_csv(tmp_path)
    write_geometry(tmp_path / "grid.geojson")
    reps_csv(tmp_path)
    write(tmp_path / "current.csv", "unit_id,territory_id\n" + "".join(f"{u},R2\n" for u in GRID))
    assert load(tmp_path, reps="reps.csv", current_alignment="current.csv").warnings == ()


# --------------------------------------------------------------------------------------- 4. CRS plausibility


def test_demo_geometry_declares_utm_16n() -> None:
    demo = Path(__file__).resolve().parents[2] / "scenarios" / "demo" / "counties.geojson"
    assert gpd.read_file(demo, rows=1).crs.to_epsg() == 26916


def test_reps_lonlat_with_geometry_declaring_the_next_utm_zone_is_refused_with_a_hint(tmp_path: Path) -> None:
    units_csv(tmp_path)
    write_geometry(tmp_path / "grid.geojson", crs="EPSG:26917")  # the coordinates are zone 16N
    reps_csv(tmp_path, lonlat_columns=True)
    with pytest.raises(DataError) as err:
        load(tmp_path, reps="reps.csv")
    text = str(err.value)
    assert text.startswith(f"{tmp_path / 'reps.csv'}: 3 of 3 reps lie off the map of grid.geojson"), text
    assert "R1 (" in text
    assert " km)" in text
    assert "grid.geojson declares EPSG:26917 (NAD83 / UTM zone 17N) but the reps sit" in text
    assert "km west of it; is it EPSG:26916 (NAD83 / UTM zone 16N)?" in text


def test_units_lonlat_with_wrong_zone_geometry_is_refused_with_a_hint(tmp_path: Path) -> None:
    units_csv(tmp_path, lonlat_columns=True)
    write_geometry(tmp_path / "grid.geojson", crs="EPSG:26915")
    with pytest.raises(DataError, match=r"units\.csv: 9 of 9 units lie off the map.*is it EPSG:26916"):
        load(tmp_path)


def test_lonlat_inputs_with_the_right_zone_are_accepted(tmp_path: Path) -> None:
    units_csv(tmp_path, lonlat_columns=True)
    write_geometry(tmp_path / "grid.geojson")
    reps_csv(tmp_path, lonlat_columns=True)
    data = load(tmp_path, reps="reps.csv")
    assert len(data.reps) == 3


def test_reps_xy_off_the_map_are_refused(tmp_path: Path) -> None:
    units_csv(tmp_path)
    write_geometry(tmp_path / "grid.geojson")
    write(tmp_path / "reps.csv", "rep_id,x,y\nR1,725000,3725000\nFAR,725000,3925000\n")
    with pytest.raises(DataError, match=r"reps\.csv: 1 of 2 reps lie off the map of grid\.geojson .*FAR \(175 km\)"):
        load(tmp_path, reps="reps.csv")


def test_reps_just_outside_the_polygons_are_accepted(tmp_path: Path) -> None:
    units_csv(tmp_path)
    write_geometry(tmp_path / "grid.geojson")
    write(tmp_path / "reps.csv", "rep_id,x,y\nR1,725000,3725000\nNEAR,700000,3725000\n")  # 20 km west
    assert len(load(tmp_path, reps="reps.csv").reps) == 2


# ----------------------------------------------------------------------------------------- 5. invalid polygons

X, Y = X0, Y0 + 2 * SIDE
"""South-west corner of u20, the square the invalid shapes replace."""
BOWTIE = {"type": "Polygon", "coordinates": [[[X, Y], [X + SIDE, Y + SIDE], [X + SIDE, Y], [X, Y + SIDE], [X, Y]]]}
SPIKE = {
    "type": "Polygon",
    "coordinates": [
        [[X, Y], [X + SIDE, Y], [X + SIDE, Y + SIDE], [X + 5000, Y + SIDE], [X + 5000, Y + SIDE + 3000],
         [X + 5000, Y + SIDE], [X, Y + SIDE], [X, Y]]
    ],
}  # fmt: skip


def test_self_intersecting_polygon_that_cannot_be_repaired_is_refused(tmp_path: Path) -> None:
    units_csv(tmp_path)
    write_geometry(tmp_path / "grid.geojson", shapes={"u20": BOWTIE})
    with pytest.raises(DataError, match=r"grid\.geojson: unit_id 'u20' has an invalid polygon \(Self-intersection"):
        load(tmp_path)


def test_repairable_invalid_polygon_is_repaired_with_a_warning(tmp_path: Path) -> None:
    units_csv(tmp_path)
    write_geometry(tmp_path / "grid.geojson", shapes={"u20": SPIKE})
    data = load(tmp_path)
    assert data.geometry.is_valid.all()
    assert data.geometry.geometry.loc["u20"].area == pytest.approx(100.0)  # km2
    (warning,) = data.warnings
    assert "grid.geojson: repaired 1 invalid polygon(s)" in warning
    assert "u20 (" in warning


def test_missing_or_empty_geometry_is_refused_naming_the_unit(tmp_path: Path) -> None:
    units_csv(tmp_path)
    write_geometry(tmp_path / "grid.geojson", shapes={"u21": None})
    with pytest.raises(DataError, match=r"grid\.geojson: unit_id 'u21' has no geometry"):
        load(tmp_path)
    write_geometry(tmp_path / "grid.geojson", shapes={"u21": {"type": "Polygon", "coordinates": []}})
    with pytest.raises(DataError, match=r"grid\.geojson: unit_id 'u21' has no geometry"):
        load(tmp_path)


def test_point_geometry_is_refused_naming_the_unit(tmp_path: Path) -> None:
    units_csv(tmp_path)
    write_geometry(tmp_path / "grid.geojson", shapes={"u21": {"type": "Point", "coordinates": [X, Y]}})
    with pytest.raises(DataError, match=r"unit_id 'u21' is a Point, not a polygon"):
        load(tmp_path)


# ------------------------------------------------------------------------------------ 6. duplicate history rows


def history_scenario(root: Path, rows: list[str]) -> Path:
    units_csv(root)
    months = [f"2025-{m:02d}" for m in range(1, 13)]
    body = [f"u00,{m},100" for m in months] + rows
    write(root / "history.csv", "unit_id,period,sales\n" + "\n".join(body) + "\n")
    path = scenario(root, geometry=None)
    spec = yaml.safe_load(path.read_text())
    spec["quota"] = {"target": 1000, "history": "history.csv"}
    return write(path, yaml.safe_dump(spec))


def test_duplicate_history_rows_are_refused_naming_both(tmp_path: Path) -> None:
    path = history_scenario(tmp_path, ["u01,2025-03,5", "u00,2025-03,7"])
    with pytest.raises(DataError, match=r"history\.csv: rows 4 and 15 are both for unit_id u00, period 2025-03"):
        load_planning_data(load_scenario(path))


def test_history_accounts_of_one_unit_are_summed(tmp_path: Path) -> None:
    units_csv(tmp_path)
    months = [f"2025-{m:02d}" for m in range(1, 13)]
    rows = [f"u00,A{a},{m},100" for m in months for a in (1, 2)]
    write(tmp_path / "history.csv", "unit_id,account_id,period,sales\n" + "\n".join(rows) + "\n")
    path = scenario(tmp_path, geometry=None)
    spec = yaml.safe_load(path.read_text()) | {"quota": {"target": 1000, "history": "history.csv"}}
    data = load_planning_data(load_scenario(write(path, yaml.safe_dump(spec))))
    assert data.history.year().loc["u00"] == 2400


# ---------------------------------------------------------------------------- 7./8. transactions: margin, size

TX_HEADER = "transaction_id,date,rep_id,amount,margin,reason,original_id\n"


def test_margin_above_amount_is_a_warning(tmp_path: Path) -> None:
    rows = "A,2027-01-10,R1,100.00,40.00,,\nB,2027-01-11,R1,100.00,150.00,,\nC,2027-01-12,R1,-10.00,-20.00,credit,\n"
    tx = load_transactions(write(tmp_path / "tx.csv", TX_HEADER + rows), PLAN)
    (warning,) = tx.warnings
    assert warning.startswith(f"{tmp_path / 'tx.csv'}: 2 transaction(s) have a margin above their amount, first B")
    assert "(row 3: margin 150.00, amount 100.00)" in warning


def test_margins_within_amounts_give_no_warning(tmp_path: Path) -> None:
    rows = "A,2027-01-10,R1,100.00,100.00,,\nC,2027-01-12,R1,-10.00,-5.00,credit,\n"
    assert load_transactions(write(tmp_path / "tx.csv", TX_HEADER + rows), PLAN).warnings == ()


@pytest.mark.parametrize("value", ["1e17", "-99999999999999.99", "1e30", "100000000000000"])
def test_huge_amount_is_refused_naming_the_row(tmp_path: Path, value: str) -> None:
    rows = f"A,2027-01-10,R1,100.00,40.00,,\nB,2027-01-11,R1,{value},1.00,credit,\n"
    with pytest.raises(DataError, match=rf"tx\.csv: row 3: amount = {value} is beyond the limit of 10,000,000,000,000"):
        load_transactions(write(tmp_path / "tx.csv", TX_HEADER + rows), PLAN)


def test_huge_margin_is_refused_naming_the_row(tmp_path: Path) -> None:
    rows = "A,2027-01-10,R1,100.00,1e17,,\n"
    with pytest.raises(DataError, match=r"tx\.csv: row 2: margin = 1e17 is beyond the limit"):
        load_transactions(write(tmp_path / "tx.csv", TX_HEADER + rows), PLAN)


def test_amount_at_the_limit_is_exact(tmp_path: Path) -> None:
    rows = "A,2027-01-10,R1,9999999999999.99,1.00,,\n"
    tx = load_transactions(write(tmp_path / "tx.csv", TX_HEADER + rows), PLAN)
    assert int(tx.frame["amount"].iloc[0]) == 999_999_999_999_999


def test_huge_quota_is_refused_naming_the_row(tmp_path: Path) -> None:
    path = write(tmp_path / "quotas.csv", "rep_id,annual_quota\nR1,1000.00\nR2,1e30\n")
    with pytest.raises(DataError, match=r"quotas\.csv: row 3: annual_quota = 1e\+30 is beyond the limit"):
        read_quotas(path, PLAN)


def test_money_column_keeps_exact_cents(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", "transaction_id,amount\nA,0.10\nB,0.20\nC,\n")
    cents = money_column(read_table(path, "t"), "amount", path, "t", allow_blank=True)
    assert cents.tolist() == [10, 20, 0]
    assert pd.api.types.is_integer_dtype(cents)
