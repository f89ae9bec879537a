"""The workbench page built without a browser: its buttons drive the session, the table and the map follow each
edit, and with a hierarchy the districts roll up live and the map can be coloured by district."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml
from bokeh.document import Document
from bokeh.events import ButtonClick
from grid import make_grid
from instance_helpers import write_csv

from spmopt.preparation import prepare
from spmopt.scenario import load_scenario
from spmopt.workbench.session import Session
from spmopt.workbench.versions import save_version
from spmopt.workbench.view import build


def click(doc: Document, name: str) -> None:
    button = doc.select_one({"name": name})
    button._trigger_event(ButtonClick(button))


def open_page(root: Path, hierarchy: bool = False):
    path = make_grid(root)
    if hierarchy:
        write_csv(
            root / "districts.csv", ("territory_id", "district_id"), [["R1", "West"], ["R2", "West"], ["R3", "East"]]
        )
        spec = yaml.safe_load(path.read_text())
        spec["hierarchy"] = {"file": "districts.csv"}
        path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    session = Session.open(path, prepare(load_scenario(path)), None)
    doc = Document()
    return doc, build(doc, session)


def two_districts(root: Path, tolerance: float) -> Session:
    """A session on the grid with two districts designed within +-`tolerance` on potential."""
    path = make_grid(root)
    spec = yaml.safe_load(path.read_text())
    spec["hierarchy"] = {"districts": 2, "balance": [{"measure": "potential", "tolerance": tolerance}]}
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return Session.open(path, prepare(load_scenario(path)), None)


def test_the_buttons_move_lock_and_undo_and_the_table_follows(tmp_path: Path) -> None:
    doc, page = open_page(tmp_path)
    ids = page.units.data["unit_id"]
    page.units.selected.indices = [ids.index("u01"), ids.index("u11")]
    page.territory.value = "R2"
    click(doc, "assign")
    assert page.table.source.data["units"] == [10, 14, 12]
    assert page.table.source.data["ok"] == [False, False, True]
    assert page.units.data["territory"][ids.index("u01")] == "R2"
    assert page.units.data["line"][ids.index("u01")] != page.units.data["line"][ids.index("u05")]
    click(doc, "lock")
    assert len(page.locked.data["x"]) == 2
    click(doc, "undo")
    click(doc, "undo")
    assert page.table.source.data["units"] == [12, 12, 12]
    assert page.status.text == "undid the last edit"
    assert float(page.latency.text.split()[1]) > 0


def test_districts_roll_up_live_and_colour_the_map(tmp_path: Path) -> None:
    doc, page = open_page(tmp_path, hierarchy=True)
    assert page.level.visible
    assert page.rollup.source.data["district_id"] == ["East", "West"]
    assert page.rollup.source.data["units"] == [12, 24]
    ids = page.units.data["unit_id"]
    page.units.selected.indices = [ids.index("u03")]
    page.territory.value = "R3"
    click(doc, "assign")
    assert page.rollup.source.data["units"] == [13, 23]
    page.level.value = "district"
    colours = page.units.data["colour"]
    assert colours[ids.index("u00")] == colours[ids.index("u02")]  # R1 and R2 are both West
    assert colours[ids.index("u00")] != colours[ids.index("u05")]


def test_designed_districts_are_redesigned_for_the_edited_alignment_and_undo_restores_them(tmp_path: Path) -> None:
    session = two_districts(tmp_path, 0.5)
    doc = Document()
    page = build(doc, session)
    assert doc.select_one({"name": "districts"}).visible
    before = session.hierarchy.table.copy()
    ids = page.units.data["unit_id"]
    page.units.selected.indices = [ids.index(f"u{r}3") for r in range(6)]  # column 3: R2 -> R3
    page.territory.value = "R3"
    click(doc, "assign")
    click(doc, "districts")
    assert page.status.text.startswith("districts re-designed for this alignment")
    # Each district within +-50% of half of the 360 potential, for the alignment as edited.
    totals = page.rollup.source.data["potential"]
    assert len(totals) == 2
    assert all(90 <= t <= 270 for t in totals)
    assert sum(totals) == 360
    click(doc, "undo")
    assert session.hierarchy.table.equals(before)
    assert session.alignment["u03"] == "R3"  # undo took back the re-design only
    click(doc, "redo")
    # A saved version keeps the districts as the planner saw them.
    folder = save_version(session, "regrouped")
    saved = pd.read_csv(folder / "districts.csv")
    assert saved["potential"].tolist() == totals
    assert (
        pd.read_csv(folder / "hierarchy.csv")["district_id"].tolist() == session.hierarchy.table["district_id"].tolist()
    )


def test_districts_from_a_file_are_not_redesigned(tmp_path: Path) -> None:
    doc, page = open_page(tmp_path, hierarchy=True)
    assert not doc.select_one({"name": "districts"}).visible
    click(doc, "districts")
    assert "come from" in page.status.text
    assert "districts.csv" in page.status.text


def test_two_saved_versions_are_compared_with_each_other(tmp_path: Path) -> None:
    doc, page = open_page(tmp_path)
    session = page.session
    page.version_name.value = "before"
    click(doc, "save")
    session.assign(["u02", "u12"], "R1")
    page.version_name.value = "after"
    click(doc, "save")
    session.undo()
    assert page.base.options == ["current edits", "after", "before"]
    page.versions.value = "after"
    click(doc, "compare")  # the alignment being edited (as before) against "after"
    assert page.status.text.startswith("2 unit(s) differ between the alignment being edited and version after")
    page.base.value = "after"
    page.versions.value = "before"
    click(doc, "compare")
    assert page.status.text.startswith("2 unit(s) differ between version after and version before")
    delta = page.delta.source.data
    assert dict(zip(delta["territory_id"], delta["units"], strict=True)) == {"R1": 2, "R2": -2, "R3": 0}
    assert dict(zip(delta["territory_id"], delta["potential"], strict=True)) == {"R1": 20, "R2": -20, "R3": 0}
    assert len(page.compared.data["xs"]) == 2


def test_districts_that_cannot_be_designed_at_the_start_come_once_the_territories_allow(tmp_path: Path) -> None:
    # Two districts within +-5% of 180 potential: impossible from three territories of 120 each.
    session = two_districts(tmp_path, 0.05)
    assert session.hierarchy is None
    assert session.start_note.startswith("no districts yet: they cannot be designed for the starting alignment")
    doc = Document()
    page = build(doc, session)
    assert page.status.text.startswith("Editing today. No districts yet")
    assert page.level.options == ["territory"]
    assert doc.select_one({"name": "districts"}).visible
    click(doc, "districts")
    assert page.status.text.startswith("<b>refused</b>: hierarchy: 2 districts")
    ids = page.units.data["unit_id"]
    page.units.selected.indices = [ids.index(f"u{r}3") for r in range(6)]  # R2 60, R3 180: R1+R2 | R3
    page.territory.value = "R3"
    click(doc, "assign")
    click(doc, "districts")
    assert sorted(page.rollup.source.data["potential"]) == [180, 180]
    assert page.level.options == ["territory", "district"]
    page.level.value = "district"
    colours = page.units.data["colour"]
    assert colours[ids.index("u00")] == colours[ids.index("u02")]  # R1 and R2 share a district
    assert colours[ids.index("u00")] != colours[ids.index("u05")]
    click(doc, "undo")  # no districts again
    assert page.level.options == ["territory"]
    assert page.level.value == "territory"
    assert page.rollup.source.data["potential"] == []
