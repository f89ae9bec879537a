"""The planner's path through the workbench on the Georgia demo, in chromium: open today's alignment (every band
broken), re-optimise to a plan within every band, move three counties by clicking them and watch a band break,
undo and watch it mend, move one county, lock it and re-optimise around it, save the version, and check that the
saved overlay is a scenario spmopt accepts; city names follow the zoom."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from test_browser import STATUS, TO_SCREEN, _browser, _click_unit, _table, _wait_for, open_page
from typer.testing import CliRunner

from spmopt.cli import app
from spmopt.preparation import prepare
from spmopt.scenario import load_scenario
from spmopt.workbench.server import Workbench
from spmopt.workbench.session import Session

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
ALL_OK = "() => Bokeh.documents[0].get_model_by_name('table').source.data.ok.every(x => x)"
NAMES = """() => { const doc = Bokeh.documents[0], p = doc.get_model_by_name('map'), out = [];
  const sx = p.inner_width / (p.x_range.end - p.x_range.start), sy = p.inner_height / (p.y_range.end - p.y_range.start);
  for (const [key, perChar] of [['rep_names', 3.8], ['place_names', 3.4]]) {
    const d = doc.get_model_by_name(key).data;
    d.name.forEach((n, i) => out.push([key, n, (d.x[i] - p.x_range.start) * sx + d.dx[i],
                                       (d.y[i] - p.y_range.start) * sy + d.dy[i], perChar * n.length + 4]));
  }
  return out }"""
ZOOM = """([x, y, r]) => { const p = Bokeh.documents[0].get_model_by_name('map');
  p.x_range.start = x - r; p.x_range.end = x + r; p.y_range.start = y - r; p.y_range.end = y + r; }"""
ANY_BROKEN = "() => !Bokeh.documents[0].get_model_by_name('table').source.data.ok.every(x => x)"


def test_the_demo_edited_in_the_workbench(tmp_path: Path) -> None:
    sync_playwright = _browser()
    from PIL import Image

    # A copy of the demo, so the version lands in a temporary scenario folder.
    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios")
    shutil.copytree(ROOT / "models", tmp_path / "models")
    scenario = tmp_path / "scenarios" / "demo.yaml"
    session = Session.open(scenario, prepare(load_scenario(scenario)), None)
    bench = Workbench(session)
    url = bench.start_in_thread()
    errors: list[str] = []
    requests: list[str] = []
    shots = []
    try:
        with sync_playwright() as p:
            browser, page = open_page(p, url, errors, requests)
            assert not _table(page)["ok"].any()  # today's nearest-rep alignment breaks every territory's band

            page.get_by_label("Re-optimise limit (s)").fill("40")
            page.get_by_role("button", name="Re-optimise", exact=True).click()
            _wait_for(page, ALL_OK, 150_000)
            designed = session.alignment.copy()

            # Three counties along the longest border between two territories change sides: a band breaks.
            graph = session.data.adjacency
            pairs: dict[tuple[str, str], list[str]] = {}
            homes = set(session.inputs.roots.values())  # a rep's home county must stay in its territory
            for u in (u for u in session.units if u not in homes):
                for t in sorted({designed[v] for v in graph.neighbors(u)} - {designed[u]}):
                    pairs.setdefault((designed[u], t), []).append(u)
            (source, target), along = max(pairs.items(), key=lambda kv: (len(kv[1]), kv[0]))
            border = along[:3]
            assert len(border) == 3
            for k, unit in enumerate(border):
                _click_unit(page, session, unit, shift=k > 0)
            page.locator("select").first.select_option(target)
            page.get_by_role("button", name="Assign", exact=True).click()
            _wait_for(page, ANY_BROKEN)
            assert sorted(u for u in session.units if session.alignment[u] != designed[u]) == sorted(border)
            broken = _table(page)
            assert not broken.loc[source, "ok"] or not broken.loc[target, "ok"]
            shots.append(tmp_path / "broken.png")
            page.screenshot(path=str(shots[-1]))

            page.get_by_role("button", name="Undo", exact=True).click()
            _wait_for(page, ALL_OK)

            # One county moved and locked; the engine finishes the rest around it. A click on open water (off the
            # south-east coast) clears the selection first.
            corner = session.data.units[["x_km", "y_km"]]
            page.wait_for_timeout(600)
            page.mouse.click(*page.evaluate(TO_SCREEN, [float(corner.x_km.max()), float(corner.y_km.min())]))
            _click_unit(page, session, border[0])
            page.get_by_role("button", name="Assign", exact=True).click()
            _wait_for(page, STATUS + ".startsWith('moved 1 unit(s)')")
            page.get_by_role("button", name="Lock", exact=True).click()
            _wait_for(page, STATUS + ".startsWith('locked 1 unit(s)')")
            page.get_by_role("button", name="Re-optimise", exact=True).click()
            _wait_for(page, ALL_OK, 150_000)
            assert session.alignment[border[0]] == target
            shots.append(tmp_path / "mended.png")
            page.screenshot(path=str(shots[-1]))

            page.get_by_label("Version name").fill("macon")
            page.get_by_role("button", name="Save version", exact=True).click()
            _wait_for(page, STATUS + ".startsWith('saved')")

            # Rep and city names: every rep's and the largest cities that fit at the state's scale; zoomed into
            # Atlanta, its suburbs.
            state = page.evaluate(NAMES)
            atlanta = session.data.units.loc["13121", ["x_km", "y_km"]]
            page.evaluate(ZOOM, [float(atlanta.x_km), float(atlanta.y_km), 40.0])
            page.wait_for_timeout(500)
            metro = page.evaluate(NAMES)
            browser.close()
    finally:
        bench.stop()
    assert sorted(n for k, n, *_ in state if k == "rep_names") == sorted(session.data.reps.index)
    assert {"Macon", "Savannah", "Augusta", "Columbus"} <= {n for k, n, *_ in state if k == "place_names"}
    assert {"Atlanta", "Decatur", "Marietta", "Roswell"} <= {n for k, n, *_ in metro if k == "place_names"}
    for shown in (state, metro):
        for i, (_, a, ax, ay, ah) in enumerate(shown):  # no two names drawn over each other
            for _, b, bx, by, bh in shown[i + 1 :]:
                assert abs(ax - bx) >= ah + bh or abs(ay - by) >= 13, (a, b)
    assert errors == []
    assert [u for u in requests if not u.startswith(f"http://127.0.0.1:{bench.port}/")] == []
    for shot in shots:
        image = np.asarray(Image.open(shot).convert("L"))
        assert (image < 200).mean() > 0.05, f"{shot.name} is (nearly) blank"
    overlay = tmp_path / "scenarios" / "workbench" / "macon" / "scenario.yaml"
    result = CliRunner().invoke(app, ["validate", str(overlay)])
    assert result.exit_code == 0, result.output
    locks = (overlay.parent / "locks.csv").read_text(encoding="utf-8").splitlines()
    assert locks == ["unit_id,territory_id", f"{border[0]},{target}"]
