"""Faults a probe found in writing a run's outputs, each pinned down: a report over sections that wrote fewer
columns, a map over a polygon the geometry library refuses, a quota granularity that zeroes quotas, and a
simulation too large to finish, which must say so before it starts."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from sim_helpers import assert_same_years, context, defaults, demo_plan, synthetic
from test_section_matrix import scenario, write_data, write_instance, write_scenario
from typer.testing import CliRunner

from spmopt.cli import app
from spmopt.config import QuotaConfig
from spmopt.data.loader import PlanningData
from spmopt.errors import ConfigError
from spmopt.manifest import read_manifest
from spmopt.pipeline import run_scenario
from spmopt.quota.plan import ROUNDING_WARN_SHARE, set_quotas
from spmopt.report import charts
from spmopt.report.html import write_report_files
from spmopt.report.map import draw_alignment_map, map_warnings
from spmopt.report.numbers import Column, table
from spmopt.scenario import load_scenario
from spmopt.sim import run as sim_run
from spmopt.sim.parallel import Job, run_dask, run_local
from spmopt.territory.plan import TerritoryPlan


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def no_pdf(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about the HTML; WeasyPrint's seconds a run buy them nothing."""
    monkeypatch.setattr("spmopt.report.pdf.write_pdf", lambda html, path: path.write_bytes(b"%PDF-1.4\n"))


def run_cli(path: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["run", str(path), "--out", "out", *extra])
    return result.exit_code, result.output


# ------------------------------------------------------------------------------------------ 1, 2: missing columns


@pytest.mark.usefixtures("no_pdf")
def test_simulation_without_coaching_writes_the_report(tmp_path: Path) -> None:
    """decision.csv has no coaching_return_on_cost column without coaching; the report leaves the column out."""
    code, output = run_cli(write_instance(tmp_path, "adjacency", frozenset({"quota", "comp", "simulation"})))
    assert code == 0, output
    out = tmp_path / "out"
    assert "coaching_return_on_cost" not in (out / "decision.csv").read_text(encoding="utf-8")
    html = (out / "report.html").read_text(encoding="utf-8")
    assert '<section id="decision">' in html
    assert "coaching return on cost</th>" not in html


@pytest.mark.usefixtures("no_pdf")
def test_units_with_only_coordinates_write_the_report(tmp_path: Path) -> None:
    """Without geometry or adjacency there is no graph, so territories.csv has no contiguous column."""
    code, output = run_cli(write_instance(tmp_path, "xy", frozenset({"quota"})))
    assert code == 0, output
    out = tmp_path / "out"
    assert "contiguous" not in (out / "territories.csv").read_text(encoding="utf-8").splitlines()[0]
    html = (out / "report.html").read_text(encoding="utf-8")
    assert '<section id="territories">' in html
    assert "contiguous</th>" not in html
    assert {"report.html", "report.xlsx", "map.png"} <= set(read_manifest(out).outputs)


def test_table_leaves_out_columns_the_frame_lacks() -> None:
    frame = pd.DataFrame({"plan": ["a"], "payout": [1.5]})
    shown = table(
        frame, "x.csv", ["plan"], [Column("plan", "plan"), Column("payout", "pay", "money"), Column("gone", "g")]
    )
    assert shown.headers == ("plan", "pay")
    assert shown.numeric == (False, True)
    assert len(shown.rows[0]) == 2


# ------------------------------------------------------------------------------------------ 3: the map


def square_grid_with_a_bowtie() -> tuple[TerritoryPlan, PlanningData]:
    """Four 1 km squares in two territories; U11's ring crosses itself (a bowtie), which GEOS cannot union."""
    shapes = {f"U{r}{c}": shapely.box(c, r, c + 1, r + 1) for r in range(2) for c in range(2)}
    shapes["U11"] = shapely.Polygon([(1, 1), (2, 2), (2, 1), (1, 2)])
    ids = pd.Index(list(shapes), name="unit_id")
    geometry = gpd.GeoDataFrame(index=ids, geometry=list(shapes.values()))
    units = pd.DataFrame({"x_km": [0.5, 1.5, 0.5, 1.5], "y_km": [0.5, 0.5, 1.5, 1.5]}, index=ids)
    data = PlanningData(units=units, measures=(), geometry=geometry)
    alignment = pd.DataFrame({"unit_id": list(ids), "territory_id": ["A", "A", "B", "B"]})
    centres = pd.DataFrame(
        {"site": ["U00", "U10"], "rep_id": ["R1", "R2"], "x_km": [0.5, 0.5], "y_km": [0.5, 1.5]},
        index=pd.Index(["A", "B"], name="territory_id"),
    )
    return TerritoryPlan(alignment, pd.DataFrame(), centres, None, {}), data  # type: ignore[arg-type]


def test_self_intersecting_polygon_is_drawn_repaired_with_a_warning(tmp_path: Path) -> None:
    plan, data = square_grid_with_a_bowtie()
    with pytest.raises(shapely.errors.GEOSException):
        data.geometry.dissolve(by=[0, 0, 1, 1])  # what used to end the run
    path = tmp_path / "map.png"
    problems = draw_alignment_map(plan, data, "bowtie", path)
    assert problems == ["invalid polygon(s) of unit(s) U11 drawn repaired"]
    assert map_warnings(path) == problems
    assert path.stat().st_size > 10_000


def test_map_keeps_the_fill_when_territory_borders_cannot_be_merged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_: object, **__: object) -> None:
        raise shapely.errors.GEOSException("TopologyException: side location conflict")

    monkeypatch.setattr(gpd.GeoDataFrame, "dissolve", refuse)
    plan, data = square_grid_with_a_bowtie()
    problems = draw_alignment_map(plan, data, "no borders", tmp_path / "map.png")
    assert any(
        p.startswith("territory borders (merging the units' polygons failed: TopologyException") for p in problems
    )


def test_map_falls_back_to_points_when_no_polygon_can_be_drawn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object, **__: object) -> None:
        raise ValueError("cannot draw")

    monkeypatch.setattr(gpd.GeoDataFrame, "plot", refuse)
    plan, data = square_grid_with_a_bowtie()
    path = tmp_path / "map.png"
    problems = draw_alignment_map(plan, data, "points", path)
    assert "unit polygons (drawing failed: cannot draw); units shown as points" in problems
    assert map_warnings(path) == problems


def test_a_clean_map_records_no_warning(tmp_path: Path) -> None:
    plan, data = square_grid_with_a_bowtie()
    data.geometry.loc["U11", "geometry"] = shapely.box(1, 1, 2, 2)
    path = tmp_path / "map.png"
    assert draw_alignment_map(plan, data, "clean", path) == []
    assert map_warnings(path) == []


@pytest.mark.usefixtures("no_pdf")
def test_report_lifts_what_the_map_could_not_draw_into_the_warnings(tmp_path: Path) -> None:
    code, output = run_cli(write_instance(tmp_path, "xy", frozenset()))
    assert code == 0, output
    folder = tmp_path / "out"
    plan, data = square_grid_with_a_bowtie()
    draw_alignment_map(plan, data, "redrawn", folder / "map.png")
    problems = write_report_files(folder)
    assert problems == ["invalid polygon(s) of unit(s) U11 drawn repaired"]
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert html.count("invalid polygon(s) of unit(s) U11 drawn repaired") == 1


def test_a_chart_that_cannot_be_drawn_becomes_a_note_and_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = charts.quota_chart(pd.DataFrame({"territory_id": ["T1"]}))  # no quota columns at all
    assert isinstance(missing, charts.MissingChart)
    assert missing.startswith('<p class="note chart-missing">Chart not drawn: ')

    def no_bars(*_: object) -> str:
        raise ValueError("no bars to draw")

    monkeypatch.setattr(charts, "quota_chart", charts.guarded(no_bars))
    monkeypatch.setattr("spmopt.report.pdf.write_pdf", lambda html, path: path.write_bytes(b"%PDF-1.4\n"))
    code, output = run_cli(write_instance(tmp_path, "xy", frozenset({"quota"})))
    assert code == 0, output
    note = "report: chart 'Annual quota beside last-year and expected sales.' of section 'Quotas (designed "
    note += "alignment)' not drawn (ValueError: no bars to draw)"
    assert note in read_manifest(tmp_path / "out").warnings
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "Chart not drawn: ValueError: no bars to draw" in html
    assert '<section id="quotas">' in html


# ------------------------------------------------------------------------------------------ 4: quota granularity


def quota_plan(potential: list[float], **config: object):
    """Quotas with each unit its own territory (so a territory's potential is the number given)."""
    ids = pd.Index([f"T{k}" for k in range(len(potential))], name="unit_id")
    units = pd.DataFrame({"x_km": 0.0, "y_km": 0.0, "potential": potential}, index=ids)
    data = PlanningData(units=units, measures=("potential",))
    cfg = QuotaConfig.model_validate({"attainment": {"dispersion": 0.2}, **config})
    return set_quotas(cfg, data, pd.Series(ids, index=ids), {t: t for t in ids}, seed=7)


def test_granularity_that_rounds_quotas_to_zero_is_refused_naming_it() -> None:
    """Nine territories and a target of three steps: six quotas would be 0."""
    with pytest.raises(ConfigError) as err:
        quota_plan([100.0] * 9, target=9_000_000, granularity=3_000_000)
    text = str(err.value)
    assert "quota.granularity 3,000,000 is too coarse" in text
    assert "a quota of 0 (unrounded 1,000,000; the smallest unrounded quota is 1,000,000)" in text
    assert "e.g. to 50,000 (it divides the target 9,000,000)" in text


def test_coarse_granularity_warns_by_how_much_it_moves_quotas() -> None:
    """Fair quotas 100k, 130k, 170k rounded to 100k steps: 100k, 100k, 200k (-23.1% and +17.6%)."""
    plan = quota_plan([100.0, 130.0, 170.0], target=400_000, granularity=100_000, method="share")
    assert sorted(plan.table["annual_quota"]) == [100_000, 100_000, 200_000]
    (warning,) = [w for w in plan.warnings if "quota.granularity" in w]
    assert f"moves 2 of 3 quota(s) by more than {ROUNDING_WARN_SHARE:.0%}" in warning
    assert "territory T1, 130,000 -> 100,000, -23.1%" in warning
    assert "e.g. to 5,000" in warning


def test_fine_granularity_says_nothing() -> None:
    plan = quota_plan([100.0, 130.0, 170.0], target=400_000, granularity=1000)
    assert not [w for w in plan.warnings if "granularity" in w]


def test_run_with_a_zeroing_granularity_fails_cleanly_before_writing(tmp_path: Path) -> None:
    path = write_instance(tmp_path, "xy", frozenset({"quota"}))
    code, output = run_cli(path, "--set", "quota.granularity=1500000")
    assert code == 2, output
    assert output.startswith("error: ")
    assert "quota.granularity 1,500,000 is too coarse" in output
    assert "Traceback" not in output
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------------------------------ 5: run-time estimate


def test_run_time_warning_names_hours_workers_and_the_remedy() -> None:
    (warning,) = sim_run.run_time_warning(0.05, 10**9, 4, 8, 2)
    assert "1,000,000,000 replications x 4 candidates will take about 1,736 h (72 days) on 8 worker(s)" in warning
    assert "lower simulation.replications or add workers" in warning
    assert sim_run.run_time_warning(0.05, 1000, 4, 8, 2) == []


@pytest.mark.slow
def test_pilot_and_the_rest_are_the_same_replications() -> None:
    params = defaults()
    inputs = synthetic(params)
    job = Job(inputs, (context(demo_plan("target_incentive"), inputs, params),), params, 11, fixed_effort=False)
    whole = run_local(job, 4)
    assert_same_years(whole, run_local(job, 2) + run_local(job, 4, start=2))
    pytest.importorskip("distributed")
    rest, facts = run_dask(job, 4, workers=1, start=2, connected=lambda n: None)
    # replications 2 and 3 on one worker: about four tasks a worker, at least one replication each, so one task each
    assert (facts["workers"], facts["tasks"]) == (1, 2), facts
    assert_same_years(whole[2:], rest)


def _simulate(root: Path) -> tuple[object, list[str]]:
    root.mkdir()
    write_data(root)
    cfg = load_scenario(write_scenario(root, scenario("xy", frozenset({"quota", "comp", "simulation"}))))
    messages: list[str] = []
    return run_scenario(cfg, progress=messages.append), messages


def test_long_run_warns_and_results_do_not_depend_on_timing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain, _ = _simulate(tmp_path / "a")
    monkeypatch.setattr(sim_run, "LONG_RUN_SECONDS", 0.0)
    warned, _ = _simulate(tmp_path / "b")
    assert not [w for w in plain.simulation.warnings if "will take about" in w]
    (warning,) = [w for w in warned.simulation.warnings if "will take about" in w]
    assert "on 1 worker(s)" in warning
    assert warning in warned.warnings  # reaches the manifest and the report with every stage warning
    pd.testing.assert_frame_equal(plain.simulation.replications, warned.simulation.replications)
    pd.testing.assert_frame_equal(plain.decision, warned.decision)


def test_a_billion_replications_are_estimated_before_they_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Stop(Exception):
        pass

    real = sim_run.run_local

    def pilot_only(job: Job, n: int, progress: object = None, start: int = 0) -> list:
        if start > 0:
            raise Stop  # the rest of the billion: the test has what it came for
        return real(job, n, progress, start)

    monkeypatch.setattr(sim_run, "run_local", pilot_only)
    write_data(tmp_path)
    spec = scenario("xy", frozenset({"quota", "comp", "simulation"}))
    spec["simulation"]["replications"] = 10**9
    cfg = load_scenario(write_scenario(tmp_path, spec))  # accepted: a long run may be intended
    messages: list[str] = []
    with pytest.raises(Stop):
        run_scenario(cfg, progress=messages.append)
    # The two pilot replications report progress as usual, then the estimate comes before the rest start.
    assert messages[-3:-1] == ["Simulating: 1/1000000000 replications", "Simulating: 2/1000000000 replications"]
    assert messages[-1].startswith("Simulating: about ")
    assert messages[-1].endswith(" h to go on 1 worker(s)") or " days) to go on 1 worker(s)" in messages[-1]
