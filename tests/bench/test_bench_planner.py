"""Planner designs on census-tract graphs: reproducible, feasible by construction, and judged by a checker that
catches every kind of broken plan. Nothing here solves; the whole file runs in seconds."""

from __future__ import annotations

import dataclasses

import pytest
from cli_helpers import assert_clean_failure
from typer.testing import CliRunner

from spmopt.cli import app
from spmopt.errors import ConfigError
from spmopt_bench import planner
from spmopt_bench.plan_check import check_plan, plan_objective
from spmopt_bench.planner import DESIGNS, MEASURES, PlannerSpec, build_design, planner_design
from spmopt_bench.planner_suite import _cross_check, compare_markdown, select_designs, target_met

try:
    planner.tract_folder()
    HAVE_TRACTS = True
except ConfigError:
    HAVE_TRACTS = False
needs_tracts = pytest.mark.skipif(not HAVE_TRACTS, reason="the shared census-tract graphs are not on this machine")

SMALL = PlannerSpec(
    "check-ms-k6", "28", 6, ("potential", "accounts"), (0.05, 0.10), locks=3, max_disruption=0.30, unequal_share=True
)
"""Mississippi, 664 tracts: every requirement the checker knows about in one small design."""


@pytest.fixture(scope="module")
def small() -> planner.PlannerDesign:
    return build_design(SMALL)


def _move(plan: dict[str, str], units: list[str], site: str) -> dict[str, str]:
    return {**plan, **dict.fromkeys(units, site)}


@needs_tracts
def test_same_seed_same_design_and_another_seed_another() -> None:
    spec = DESIGNS[1]
    first, planted = planner_design(spec)
    planner._read_tracts.cache_clear()  # from the file again, not the cached graph
    second, planted_again = planner_design(spec)
    assert first == second
    assert planted == planted_again
    other, _ = planner_design(dataclasses.replace(spec, seed=spec.seed + 1))
    assert other.bands[0].values != first.bands[0].values
    assert other.roots != first.roots or other.bands[1].values != first.bands[1].values


@needs_tracts
@pytest.mark.slow
def test_every_suite_design_is_feasible_by_its_planted_alignment() -> None:
    states, sizes = set(), []
    for spec in DESIGNS:
        design = build_design(spec)
        inp, facts = design.inputs, design.facts
        assert check_plan(inp, design.planted) == [], spec.name
        assert set(design.planted) == set(inp.units)
        assert inp.fixed_sites
        assert inp.territories == spec.reps
        assert len(inp.pairs) == len(inp.units) * spec.reps
        assert [b.measure for b in inp.bands] == list(spec.measures)
        assert all(e >= r for e, r in zip(facts["effective_tolerances"], spec.tolerances, strict=True))
        assert [b.tolerance for b in inp.bands] == facts["effective_tolerances"]
        assert inp.contiguity == spec.contiguity
        assert len(inp.locks) == spec.locks
        assert (inp.disruption is not None) == (spec.max_disruption is not None)
        if inp.disruption is not None:
            assert inp.disruption.cap >= spec.max_disruption
            assert inp.disruption.measure == "potential"
            # today's alignment is the nearest rep, not the planted one
            assert any(inp.current[u] != inp.site_territory[s] for u, s in design.planted.items())
        targets = sorted(inp.bands[0].target.values())
        assert (targets[-1] / targets[0] == pytest.approx(planner.UNEQUAL_SHARE)) == spec.unequal_share
        assert plan_objective(inp, design.planted) == pytest.approx(facts["planted_objective"])
        states.add(spec.state)
        sizes.append(len(inp.units))
    assert len(DESIGNS) >= 12
    assert len(states) >= 8
    assert min(sizes) >= 590
    assert max(sizes) == 1965
    assert {s.reps for s in DESIGNS} >= {5, 24}
    assert {len(s.measures) for s in DESIGNS} == {1, 2, 3}
    assert sum(not s.contiguity for s in DESIGNS) == 1
    assert any(s.locks for s in DESIGNS)
    assert any(s.max_disruption for s in DESIGNS)
    assert any(s.unequal_share for s in DESIGNS)
    assert any(len(s.measures) == 3 and s.reps >= 20 and max(s.tolerances[:2]) <= 0.03 for s in DESIGNS)


@needs_tracts
def test_islands_are_bridged_and_recorded() -> None:
    design = build_design(dataclasses.replace(DESIGNS[-1], name="ga"))  # Georgia's graph has three components
    assert len(design.facts["bridges"]) == 2
    edges = set(design.inputs.edges)
    for a, b, km in design.facts["bridges"]:
        assert (min(a, b), max(a, b)) in edges
        assert 0 < km < 50


@needs_tracts
def test_checker_accepts_the_planted_plan(small) -> None:
    assert check_plan(small.inputs, small.planted) == []
    assert small.inputs.locks
    assert small.inputs.disruption is not None
    assert small.inputs.contiguity


@needs_tracts
def test_checker_catches_a_missing_unit_an_unknown_site_and_an_ineligible_pair(small) -> None:
    inp, plan = small.inputs, small.planted
    unit = next(u for u in inp.units if u not in inp.roots.values())
    missing = {u: s for u, s in plan.items() if u != unit}
    assert any("have no territory" in p and unit in p for p in check_plan(inp, missing))
    assert any("unknown site" in p for p in check_plan(inp, {**plan, unit: "nobody"}))
    assert any("not in the design" in p for p in check_plan(inp, {**plan, "ghost": plan[unit]}))
    narrower = dataclasses.replace(inp, pairs=tuple(p for p in inp.pairs if p != (unit, plan[unit])))
    assert any("not eligible" in p and unit in p for p in check_plan(narrower, plan))


@needs_tracts
def test_checker_catches_each_band_limit(small) -> None:
    inp, plan = small.inputs, small.planted
    band = inp.bands[1]
    site = inp.sites[2]
    load = sum(band.values[u] for u, s in plan.items() if s == site)
    low = dataclasses.replace(band, upper={**band.upper, site: load * 0.99})
    high = dataclasses.replace(band, lower={**band.lower, site: load * 1.01})
    for changed, word in ((low, "above its upper limit"), (high, "below its lower limit")):
        problems = check_plan(dataclasses.replace(inp, bands=(inp.bands[0], changed)), plan)
        assert len(problems) == 1, problems
        assert word in problems[0]
        assert band.measure in problems[0]
    # a hair outside, within the 1e-6 relative slack, still passes
    edge = dataclasses.replace(band, upper={**band.upper, site: load * (1 - 1e-7)})
    assert check_plan(dataclasses.replace(inp, bands=(inp.bands[0], edge)), plan) == []


@needs_tracts
def test_checker_catches_a_disconnected_territory_and_a_missing_root(small) -> None:
    inp, plan = small.inputs, small.planted
    neighbours: dict[str, set[str]] = {}
    for a, b in inp.edges:
        neighbours.setdefault(a, set()).add(b)
        neighbours.setdefault(b, set()).add(a)
    roots = set(inp.roots.values())
    locked = set(inp.locks)
    unit, site = next(
        (u, s)
        for u in inp.units
        if u not in roots and u not in locked
        for s in inp.sites
        if s != plan[u] and all(plan[v] != s for v in neighbours[u])
    )
    problems = check_plan(inp, {**plan, unit: site})
    assert any("not connected" in p and unit in p for p in problems), problems
    target_site = inp.sites[0]
    root = inp.roots[inp.sites[1]]
    problems = check_plan(inp, {**plan, root: target_site})
    assert any("does not hold its root" in p and root in p for p in problems), problems
    free = dataclasses.replace(inp, contiguity=False)
    assert not any("contiguity" in p for p in check_plan(free, {**plan, unit: site}))


@needs_tracts
def test_checker_catches_a_broken_lock_an_exceeded_cap_and_an_empty_rep(small) -> None:
    inp, plan = small.inputs, small.planted
    unit, territory = next(iter(inp.locks.items()))
    other = next(s for s in inp.sites if inp.site_territory[s] != territory)
    problems = check_plan(inp, {**plan, unit: other})
    assert any("locked unit" in p and unit in p for p in problems), problems
    tight = dataclasses.replace(inp, disruption=dataclasses.replace(inp.disruption, cap=0.01))
    problems = check_plan(tight, plan)
    assert len(problems) == 1
    assert problems[0].startswith("disruption:")
    assert "potential" in problems[0]
    gone = inp.sites[3]
    emptied = _move(plan, [u for u, s in plan.items() if s == gone], inp.sites[4])
    assert any("have no unit" in p and gone in p for p in check_plan(inp, emptied))


def test_missing_tract_folder_is_a_clear_error(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(planner.SHARED_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(ConfigError, match=planner.SHARED_ENV):
        planner.tract_folder()
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["bench", "suite", "planner", "--only", "ar-*", "--out", str(tmp_path / "res")])
    assert_clean_failure(result, tmp_path, "districting-validi-buchanan/tract", planner.SHARED_ENV)
    assert not (tmp_path / "res").exists()
    result = CliRunner().invoke(app, ["bench", "compare", "planner", "--out", str(tmp_path / "cmp" / "planner.md")])
    assert_clean_failure(result, tmp_path, planner.SHARED_ENV)
    assert not (tmp_path / "cmp").exists()


def test_specs_and_selection_are_checked() -> None:
    with pytest.raises(ConfigError, match="measures"):
        PlannerSpec("bad", "13", 5, ("revenue",), (0.05,))
    with pytest.raises(ConfigError, match="tolerances"):
        PlannerSpec("bad", "13", 5, MEASURES[:2], (0.05,))
    assert [s.name for s in select_designs("ga-*")] == [s.name for s in DESIGNS if s.name.startswith("ga-")]
    with pytest.raises(ConfigError, match="no design matches"):
        select_designs("zz*")


def test_target_and_comparison_table_read_only_stored_figures() -> None:
    good = {"valid": True, "gap": 0.009, "seconds": 120.0}
    assert target_met(good)
    assert not target_met({**good, "gap": 0.02})
    assert not target_met({**good, "valid": False})
    assert not target_met({**good, "seconds": 301.0})
    assert not target_met({**good, "gap": None})
    run = {"status": "feasible", "valid": True, "problems": [], "objective": 1234.4, "gap": 0.05, "seconds": 3.0}
    row = {
        "instance": "x",
        "n": 10,
        "k": 2,
        "measures": ["potential"],
        "engine": run,
        "flow": {**run, "valid": False, "problems": ["no alignment returned"], "objective": None, "gap": None},
        "heuristic": {**run, "status": "not_available", "note": "missing", "gap": None},
    }
    assert not target_met({**good, "bound_valid": False})
    # a bound above a valid plan's value (another solver's or the planted one) is no bound
    checked = {**row, "planted_objective": 2000.0, "engine": {**run, "bound": 1300.0, "note": ""}}
    checked["flow"] = {**run, "objective": 1250.0, "bound": 1200.0, "note": ""}
    _cross_check(checked, ("engine", "flow"))
    assert checked["engine"]["bound_valid"] is False
    assert "exceeds a valid plan's 1,234.40" in checked["engine"]["note"]
    assert "bound_valid" not in checked["flow"]
    text = compare_markdown([row, {**row, "instance": "y"}])
    assert "| x | 10 | 2 | 1 | 1,234 | 5.00% | 3.0 | no plan | – | 3.0 | n/a | – | – |" in text
    assert text.count("heuristic: missing") == 1
