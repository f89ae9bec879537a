"""Workbench update latency: how long after an edit the planner sees every figure of `spmopt assess` redrawn.

Three sizes: the demo (159 Georgia counties, 9 reps, today's alignment), a 2,025-unit grid (45 x 45 units 1 km
apart, rook adjacency, 20 reps at seeded cells, two balance measures, contiguity, a disruption cap; today's
alignment gives each unit to the nearest rep), and a CRM export over Texas (40,000 seeded accounts at the 1,745
standard ZIPs of the offline ZIP data, 25 reps at seeded ZIPs, each account owned by its nearest rep, 15% by
another; drawn as the ZIPs' Voronoi cells, moved share counted account by account). Each edit moves one boundary
unit (seeded) into a neighbour's territory, as a planner's click does. Two figures per edit:

* server: the edit applied and the whole page recomputed (assessment, map colours and outlines, table, summary)
  in the workbench's own handler, without a browser;
* browser: in headless chromium (when installed), timed inside the page: from the click on Assign to the first
  frame painted after the page's model holds the last updated figure (the latency field the server sets last):
  the websocket round trip, the server's work and the redraw of the map and the table.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from spmopt.preparation import prepare
from spmopt.scenario import load_scenario
from spmopt.workbench.session import Session

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "scenarios" / "demo.yaml"
SIDE, REPS = 45, 20
CRM_ACCOUNTS, CRM_REPS = 40_000, 25


def write_grid(folder: Path, seed: int = 7) -> Path:
    """The 2,025-unit grid scenario (see the module docstring)."""
    rng = np.random.default_rng(seed)
    ids = [f"g{r:02d}{c:02d}" for r in range(SIDE) for c in range(SIDE)]
    x = np.array([1000.0 * (i % SIDE) for i in range(SIDE * SIDE)])
    y = np.array([1000.0 * (i // SIDE) for i in range(SIDE * SIDE)])
    units = pd.DataFrame(
        {"unit_id": ids, "x": x, "y": y, "potential": rng.lognormal(10, 0.5, len(ids)).round(), "workload": 10.0}
    )
    units.to_csv(folder / "units.csv", index=False)
    edges = [(ids[i], ids[i + 1]) for i in range(len(ids)) if (i + 1) % SIDE]
    edges += [(ids[i], ids[i + SIDE]) for i in range(len(ids) - SIDE)]
    pd.DataFrame(edges, columns=["unit_a", "unit_b"]).to_csv(folder / "adjacency.csv", index=False)
    homes = rng.choice(len(ids), REPS, replace=False)
    reps = pd.DataFrame({"rep_id": [f"R{t + 1:02d}" for t in range(REPS)], "x": x[homes], "y": y[homes]})
    reps.to_csv(folder / "reps.csv", index=False)
    nearest = np.hypot(x[:, None] - x[homes][None], y[:, None] - y[homes][None]).argmin(axis=1)
    pd.DataFrame({"unit_id": ids, "territory_id": reps["rep_id"].to_numpy()[nearest]}).to_csv(
        folder / "current.csv", index=False
    )
    spec = {
        "name": "grid2025",
        "seed": seed,
        "data": {
            "units": "units.csv",
            "adjacency": "adjacency.csv",
            "reps": "reps.csv",
            "current_alignment": "current.csv",
        },
        "territory": {
            "balance": [{"measure": "potential", "tolerance": 0.1}, {"measure": "workload", "tolerance": 0.15}],
            "contiguity": True,
            "max_disruption": 0.3,
        },
    }
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def write_crm(folder: Path, seed: int = 3) -> Path:
    """A CRM export over the 1,745 standard ZIPs of Texas (see the module docstring)."""
    import zipcodes

    rng = np.random.default_rng(seed)
    rows = [z for z in zipcodes.filter_by(state="TX") if z["zip_code_type"] == "STANDARD" and z["lat"]]
    lat = np.array([float(z["lat"]) for z in rows])
    lon = np.array([float(z["long"]) for z in rows])
    at = rng.integers(0, len(rows), CRM_ACCOUNTS)
    homes = rng.choice(len(rows), CRM_REPS, replace=False)
    reps = pd.DataFrame({"rep_id": [f"Rep {k + 1:02d}" for k in range(CRM_REPS)], "lat": lat[homes], "lon": lon[homes]})
    reps.to_csv(folder / "reps.csv", index=False)
    nearest = ((lat[at, None] - lat[homes]) ** 2 + (lon[at, None] - lon[homes]) ** 2).argmin(axis=1)
    owner = reps["rep_id"].to_numpy()[nearest]
    elsewhere = rng.random(CRM_ACCOUNTS) < 0.15
    owner[elsewhere] = reps["rep_id"].to_numpy()[rng.integers(0, CRM_REPS, int(elsewhere.sum()))]
    pd.DataFrame(
        {
            "Account ID": [f"A{i:06d}" for i in range(CRM_ACCOUNTS)],
            "Account Name": [f"Account {i}" for i in range(CRM_ACCOUNTS)],
            "BillingPostalCode": [rows[i]["zip_code"] for i in at],
            "Account Owner": owner,
            "Annual Potential": rng.lognormal(10, 1, CRM_ACCOUNTS).round(),
            "Visits per Year": rng.integers(2, 20, CRM_ACCOUNTS),
        }
    ).to_csv(folder / "accounts.csv", index=False)
    columns = {"account_id": "Account ID", "name": "Account Name", "owner": "Account Owner"}
    columns |= {"postal_code": "BillingPostalCode", "potential": "Annual Potential", "workload": "Visits per Year"}
    spec = {
        "name": "crm_texas",
        "seed": seed,
        "data": {
            "accounts": {"file": "accounts.csv", "columns": columns},
            "reps": "reps.csv",
            "adjacency_from": "points",
        },
        "territory": {
            "balance": [{"measure": "potential", "tolerance": 0.1}, {"measure": "accounts", "tolerance": 0.15}],
            "contiguity": True,
            "islands": "bridge",
            "max_disruption": 0.5,
            "compactness": "distance",
            "distance_weight": "workload",
        },
    }
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def boundary_moves(session: Session, count: int, seed: int) -> list[tuple[str, str]]:
    """(unit, neighbour's territory) for `count` seeded boundary units."""
    rng = np.random.default_rng(seed)
    graph = session.data.adjacency
    moves = []
    for unit in rng.permutation(list(session.units)):
        others = {session.alignment[v] for v in graph.neighbors(unit)} - {session.alignment[unit]}
        if others:
            moves.append((str(unit), sorted(others)[0]))
        if len(moves) == count:
            break
    return moves


def _stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median_ms": round(statistics.median(ordered), 1),
        "p90_ms": round(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))], 1),
        "max_ms": round(ordered[-1], 1),
    }


def _server(scenario: Path, edits: int) -> tuple[int, dict[str, float]]:
    from bokeh.document import Document
    from bokeh.events import ButtonClick

    from spmopt.workbench.view import build

    session = Session.open(scenario, prepare(load_scenario(scenario)), None)
    doc = Document()
    page = build(doc, session)
    assign = doc.select_one({"name": "assign"})
    ids = page.units.data["unit_id"]
    times = []
    for unit, territory in boundary_moves(session, edits, 1):
        page.units.selected.indices = [ids.index(unit)]
        page.territory.value = territory
        clock = time.perf_counter()
        assign._trigger_event(ButtonClick(assign))
        times.append(1000 * (time.perf_counter() - clock))
    return len(ids), _stats(times)


def _browser(scenario: Path, edits: int) -> dict[str, float] | None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        return None
    from playwright.sync_api import sync_playwright

    from spmopt.workbench.server import Workbench

    session = Session.open(scenario, prepare(load_scenario(scenario)), None)
    bench = Workbench(session)
    url = bench.start_in_thread()
    times = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1400, "height": 1200})
            page.goto(url, wait_until="networkidle")
            page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0")
            ids = list(session.units)
            for unit, territory in boundary_moves(session, edits, 1):
                page.evaluate(
                    "([i, t]) => { const d = Bokeh.documents[0];"
                    " d.get_model_by_name('units').data_source.selected.indices = [i];"
                    " d.get_model_by_name('territory').value = t; }",
                    [ids.index(unit), territory],
                )
                page.wait_for_timeout(300)
                times.append(float(page.evaluate(ROUND_TRIP)))
            browser.close()
    finally:
        bench.stop()
    return _stats(times)


ROUND_TRIP = """() => new Promise((resolve, reject) => {
  const doc = Bokeh.documents[0];
  const latency = doc.get_model_by_name('latency');
  const button = Bokeh.index.find_one(doc.get_model_by_name('assign'));
  let start = 0;
  latency.properties.text.change.connect(() =>
    requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now() - start))));
  start = performance.now();
  setTimeout(() => reject(new Error('no refresh within 10 s of the click')), 10000);
  button.button_el.click();
})"""
"""Milliseconds from the click to the second animation frame after the last figure arrived (one frame painted)."""


def workbench_benchmark(edits: int = 20, browser: bool = True) -> dict[str, object]:
    """Latency of `edits` edits on the demo and on the 2,025-unit grid."""
    out: dict[str, object] = {"edits": edits, "sizes": []}
    with tempfile.TemporaryDirectory(prefix="spmopt-workbench-") as tmp:
        root = Path(tmp)
        (root / "grid").mkdir()
        (root / "crm").mkdir()
        sizes = (("demo", DEMO), ("grid2025", write_grid(root / "grid")), ("crm_texas", write_crm(root / "crm")))
        for name, scenario in sizes:
            units, server = _server(scenario, edits)
            row = {"scenario": name, "units": units, "server": server}
            if browser:
                row["browser"] = _browser(scenario, edits)
            out["sizes"].append(row)
    return out
