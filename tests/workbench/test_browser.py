"""The workbench in a real browser (Playwright with Debian's chromium, as the report's test): click units on the map
and move them, watch the band break and mend, check that the table shows `spmopt assess`'s figures, undo, lock,
re-optimise around the edit, save a version that `spmopt run` accepts and compare with it after a reload; the page
logs no error, asks nothing of any other machine and draws a map."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from grid import make_grid
from instance_helpers import write_csv
from typer.testing import CliRunner

from spmopt.cli import app
from spmopt.preparation import prepare
from spmopt.scenario import load_scenario
from spmopt.workbench.server import Workbench
from spmopt.workbench.session import Session

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]

TO_SCREEN = """([x, y]) => {
  const plot = Bokeh.documents[0].get_model_by_name('map');
  const view = Bokeh.index.find_one(plot);
  const r = view.canvas_view.el.getBoundingClientRect();
  return [r.left + view.frame.x_scale.compute(x), r.top + view.frame.y_scale.compute(y)];
}"""
STATUS = "() => Bokeh.documents[0].get_model_by_name('status').text"
TABLE = "() => Bokeh.documents[0].get_model_by_name('table').source.data"
READY = "() => window.Bokeh && Bokeh.documents.length > 0 && Bokeh.documents[0].get_model_by_name('table') !== null"


def _browser():
    if CHROMIUM is None:
        if os.environ.get("SPMOPT_REQUIRE_BROWSER"):
            pytest.fail("chromium is not installed but SPMOPT_REQUIRE_BROWSER is set (.ci/run installs it)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return pytest.importorskip("playwright.sync_api").sync_playwright


def open_page(playwright, url: str, errors: list[str], requests: list[str]):
    """Chromium on the workbench page, once it shows its table; console errors, page errors and every request's
    address are collected into `errors` and `requests`."""
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
    page = browser.new_page(viewport={"width": 1400, "height": 1200})
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(url, wait_until="networkidle")
    _wait_for(page, READY)
    return browser, page


def _table(page) -> pd.DataFrame:
    return pd.DataFrame(page.evaluate(TABLE)).set_index("territory_id")


def _click_unit(page, session: Session, unit: str, shift: bool = False) -> None:
    x, y = session.data.units.loc[unit, ["x_km", "y_km"]].astype(float)
    point = page.evaluate(TO_SCREEN, [x, y])
    page.wait_for_timeout(600)  # two taps in quick succession would be read as a double tap
    if shift:
        page.keyboard.down("Shift")
    page.mouse.click(*point)
    if shift:
        page.keyboard.up("Shift")


def _wait_for(page, condition: str, timeout: float = 15_000) -> None:
    """Wait for `condition`; on a timeout, say what the page's status line said."""
    from playwright.sync_api import TimeoutError as PageTimeout

    try:
        page.wait_for_function(condition, timeout=timeout)
    except PageTimeout:
        pytest.fail(f"{condition} did not hold within {timeout / 1000:g} s; status: {page.evaluate(STATUS)!r}")


def _red_on_map(shot: Path) -> int:
    """Pixels of the broken-territory red (#c62828) in the map's part of a screenshot."""
    from PIL import Image

    from spmopt.workbench.view import MAP_HEIGHT, MAP_WIDTH

    rgb = np.asarray(Image.open(shot).convert("RGB")).astype(int)[: MAP_HEIGHT + 40, :MAP_WIDTH]
    close = (abs(rgb[..., 0] - 198) < 30) & (abs(rgb[..., 1] - 40) < 40) & (abs(rgb[..., 2] - 40) < 40)
    return int(close.sum())


def _assessed(tmp_path: Path, scenario: Path, session: Session, name: str) -> pd.DataFrame:
    """`spmopt assess` on the session's alignment, written to a file: the independent figures."""
    path = write_csv(tmp_path / f"{name}.csv", ("unit_id", "territory_id"), list(session.alignment.items()))
    out = tmp_path / f"assess-{name}"
    result = CliRunner().invoke(app, ["assess", str(scenario), "--alignment", str(path), "--out", str(out)])
    assert result.exit_code in (0, 1), result.output
    return pd.read_csv(out / "assessment.csv").set_index("territory_id")


def test_edit_undo_lock_reoptimise_save_and_compare_in_chromium(tmp_path: Path) -> None:
    sync_playwright = _browser()
    from PIL import Image

    root = tmp_path / "scenario"
    root.mkdir()
    scenario = make_grid(root)
    session = Session.open(scenario, prepare(load_scenario(scenario)), None)
    bench = Workbench(session)
    url = bench.start_in_thread()
    errors: list[str] = []
    requests: list[str] = []
    try:
        with sync_playwright() as p:
            browser, page = open_page(p, url, errors, requests)
            assert list(_table(page)["units"]) == [12, 12, 12]

            # Move three units of R1's column 1 to R2 by clicking them: R1 and R2 leave their ±5% band.
            for k, unit in enumerate(("u01", "u11", "u21")):
                _click_unit(page, session, unit, shift=k > 0)
            # The selection's sums, shown as it is made (10 potential a unit).
            assert page.get_by_text("unit(s) selected").inner_text() == "3 unit(s) selected: potential 30"
            page.locator("select").first.select_option("R2")
            page.get_by_role("button", name="Assign", exact=True).click()
            _wait_for(page, "() => Bokeh.documents[0].get_model_by_name('table').source.data.units[1] === 15")
            shown = _table(page)
            # What the grid draws, not only what its model holds: the R2 row shows the new figures.
            page.wait_for_function("() => true")
            drawn = page.locator(".slick-row").nth(1).inner_text()
            assert "R2" in drawn
            assert "15" in drawn
            assert "25.00%" in drawn
            assert not shown.loc["R2", "ok"]
            assert shown.loc["R2", "potential_dev_pct"] == 25.0
            independent = _assessed(tmp_path, scenario, session, "moved")
            for column in ("units", "potential", "potential_dev_pct", "pieces", "ok", "verdict"):
                assert shown[column].tolist() == independent[column].tolist(), column
            page.screenshot(path=str(tmp_path / "broken.png"))

            # Undo mends the bands; Ctrl+Y redoes and Ctrl+Z undoes as the buttons do, but not while typing.
            page.get_by_role("button", name="Undo", exact=True).click()
            _wait_for(page, "() => Bokeh.documents[0].get_model_by_name('table').source.data.ok.every(x => x)")
            page.keyboard.press("Control+y")
            _wait_for(page, "() => Bokeh.documents[0].get_model_by_name('table').source.data.units[1] === 15")
            page.get_by_label("Version name").press("Control+z")
            page.wait_for_timeout(500)
            assert page.evaluate(STATUS) == "redid the last edit"
            page.mouse.click(5, 5)  # out of the field
            page.keyboard.press("Control+z")
            _wait_for(page, "() => Bokeh.documents[0].get_model_by_name('table').source.data.ok.every(x => x)")

            # Move one unit, lock it, and re-optimise around it: the engine keeps it and mends the bands.
            _click_unit(page, session, "u02")
            page.locator("select").first.select_option("R1")
            page.get_by_role("button", name="Assign", exact=True).click()
            _wait_for(page, "() => !Bokeh.documents[0].get_model_by_name('table').source.data.ok[0]")
            page.get_by_role("button", name="Lock", exact=True).click()
            page.get_by_role("button", name="Re-optimise", exact=True).click()
            _wait_for(page, "() => Bokeh.documents[0].get_model_by_name('table').source.data.ok.every(x => x)", 90_000)
            assert session.alignment["u02"] == "R1"
            assert session.locks == {"u02": "R1"}

            # Save, then reload the page: the saved version is offered for comparison, and matches exactly.
            page.get_by_label("Version name").fill("v1")
            page.get_by_role("button", name="Save version", exact=True).click()
            _wait_for(page, STATUS + ".startsWith('saved')")
            page.reload(wait_until="networkidle")
            _wait_for(page, READY)
            page.get_by_label("with version").select_option("v1")
            page.get_by_role("button", name="Compare", exact=True).click()
            _wait_for(page, STATUS + ".includes('and version v1')")
            assert page.evaluate(STATUS).startswith(
                "0 unit(s) differ between the alignment being edited and version v1"
            )
            page.screenshot(path=str(tmp_path / "final.png"))
            browser.close()
    finally:
        bench.stop()
    assert errors == []
    assert [u for u in requests if not u.startswith(f"http://127.0.0.1:{bench.port}/")] == []
    for shot in ("broken.png", "final.png"):
        image = np.asarray(Image.open(tmp_path / shot).convert("L"))
        assert (image < 200).mean() > 0.05, f"{shot} is (nearly) blank"
        assert len(np.unique(image)) > 30
    # The map outlines the broken territories in red while they are broken, and nothing once every band holds.
    assert _red_on_map(tmp_path / "broken.png") > 2000
    assert _red_on_map(tmp_path / "final.png") < 50  # a few anti-aliased pixels of the toolbar logo
    folder = root / "workbench" / "v1"
    result = CliRunner().invoke(app, ["run", str(folder / "scenario.yaml")])
    assert result.exit_code == 0, result.output
    designed = pd.read_csv(root / "workbench" / "runs" / "v1" / "alignment.csv", dtype=str)
    assert designed.set_index("unit_id").loc["u02", "territory_id"] == "R1"


def test_a_page_without_the_signed_session_id_is_refused(tmp_path: Path) -> None:
    import urllib.error
    import urllib.request

    scenario = make_grid(tmp_path)
    bench = Workbench(Session.open(scenario, prepare(load_scenario(scenario)), None))
    url = bench.start_in_thread()
    try:
        bare = url.split("?")[0]
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(bare, timeout=10)
        assert caught.value.code == 403
        forged = bare + "?bokeh-session-id=abc.def"
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(forged, timeout=10)
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200
    finally:
        bench.stop()
    assert url.startswith("http://127.0.0.1:")
