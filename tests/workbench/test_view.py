"""The workbench page built without a browser: its buttons drive the session, the table and the map follow each
edit, and with a hierarchy the districts roll up live and the map can be coloured by district."""

from __future__ import annotations

from pathlib import Path

import yaml
from bokeh.document import Document
from bokeh.events import ButtonClick
from grid import make_grid
from instance_helpers import write_csv

from spmopt.preparation import prepare
from spmopt.scenario import load_scenario
from spmopt.workbench.session import Session
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
