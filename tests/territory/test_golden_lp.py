"""Golden LP files: each constraint family of the territory MILP, written alone and compared with a reviewed file.

For every family in `CONSTRAINT_FAMILIES` the model is built by `build_territory_model` on a hand-made
instance of 3 units (a line a - b - c) and 2 territories. While it is built, `add_<family>` is watched to
record the constraint components it declares; every other constraint is then deactivated, the objective
removed, and what is left written as an LP file with symbolic labels (`assign(b_R1)` is x_{b,R1}). The
text, normalised (comments and blank lines dropped, trailing spaces stripped), must equal
`tests/territory/lp_files/<case>.lp`. Families whose algebra differs between rep-based designs (fixed
sites) and chosen centres have a second case, `<family>.chosen`.

After an intended change to a family, regenerate the files and read the diff before committing it:

    SPMOPT_REGEN_LP=1 .venv/bin/pytest -o addopts="" tests/territory/test_golden_lp.py

Each file's rows must be the algebra its family's docstring in `spmopt/territory/model.py` states.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import pyomo.environ as pyo
import pytest

from spmopt.territory import model as territory_model
from spmopt.territory.inputs import Band, Disruption, TerritoryInputs
from spmopt.territory.model import CONSTRAINT_FAMILIES, build_territory_model

LP_FILES = Path(__file__).parent / "lp_files"
REGENERATE = os.environ.get("SPMOPT_REGEN_LP") == "1"

UNITS = ("a", "b", "c")
"""On a line a - b - c; positions 0, 1, 2."""
EDGES = (("a", "b"), ("b", "c"))
POP = {"a": 3.0, "b": 2.0, "c": 1.0}


def fixed_sites(**changes: object) -> TerritoryInputs:
    """Reps R1 (home a, territory T1) and R2 (home c, T2); distance = |position - home position| + 1."""
    home = {"R1": 0, "R2": 2}
    distance = {(u, s): float(abs(p - home[s]) + 1) for p, u in enumerate(UNITS) for s in home}
    inp = TerritoryInputs(
        units=UNITS,
        sites=("R1", "R2"),
        fixed_sites=True,
        territories=2,
        pairs=tuple(sorted(distance)),
        distance=distance,
        distance_weight=dict.fromkeys(UNITS, 1.0),
        site_territory={"R1": "T1", "R2": "T2"},
        site_rep={"R1": "R1", "R2": "R2"},
        edges=EDGES,
        roots={"R1": "a", "R2": "c"},
        root_distance={"R1": {"a": 0.0, "b": 1.0, "c": 2.0}, "R2": {"a": 2.0, "b": 1.0, "c": 0.0}},
    )
    return replace(inp, **changes)


def chosen_centres(**changes: object) -> TerritoryInputs:
    """Every unit a candidate centre, 2 to open; distance = |position difference|."""
    distance = {(u, v): float(abs(p - q)) for p, u in enumerate(UNITS) for q, v in enumerate(UNITS)}
    inp = TerritoryInputs(
        units=UNITS,
        sites=UNITS,
        fixed_sites=False,
        territories=2,
        pairs=tuple(sorted(distance)),
        distance=distance,
        distance_weight=dict.fromkeys(UNITS, 1.0),
        edges=EDGES,
        roots={u: u for u in UNITS},
        root_distance={u: {v: float(abs(p - q)) for q, v in enumerate(UNITS)} for p, u in enumerate(UNITS)},
    )
    return replace(inp, **changes)


def pop_band(sites: tuple[str, ...]) -> Band:
    """Population within +-20% of an equal share: target 3, band [2.4, 3.6]."""
    return Band(
        measure="pop",
        tolerance=0.2,
        values=dict(POP),
        lower=dict.fromkeys(sites, 2.4),
        upper=dict.fromkeys(sites, 3.6),
        target=dict.fromkeys(sites, 3.0),
    )


def pop_disruption() -> Disruption:
    """At most 20% of the population (6) may leave today's territory {a, b} | {c}."""
    return Disruption(measure="pop", weights=dict(POP), total=6.0, cap=0.2, penalty_per_point=0.0)


TODAY = {"a": "T1", "b": "T1", "c": "T2"}


@dataclass(frozen=True)
class Case:
    family: str
    name: str
    inputs: Callable[[], TerritoryInputs]
    contiguity: str = "flow"


CASES = (
    Case("each_unit_assigned_once", "each_unit_assigned_once", fixed_sites),
    Case("territory_count", "territory_count", chosen_centres),
    Case("assign_only_to_open_centre", "assign_only_to_open_centre", chosen_centres),
    Case("every_territory_served", "every_territory_served", fixed_sites),
    Case("balance_band", "balance_band", lambda: fixed_sites(bands=(pop_band(("R1", "R2")),))),
    Case("balance_band", "balance_band.chosen", lambda: chosen_centres(bands=(pop_band(UNITS),))),
    Case("cut_edge_indicator", "cut_edge_indicator", lambda: fixed_sites(compactness="cut_edges")),
    Case("rep_home_in_territory", "rep_home_in_territory", lambda: fixed_sites(contiguity=True)),
    Case("contiguity_flow", "contiguity_flow", lambda: fixed_sites(contiguity=True)),
    Case("contiguity_flow", "contiguity_flow.chosen", lambda: chosen_centres(contiguity=True)),
    Case(
        "contiguity_shortest_path",
        "contiguity_shortest_path",
        lambda: fixed_sites(contiguity=True),
        contiguity="shortest_path",
    ),
    Case("territory_labels", "territory_labels", lambda: chosen_centres(labels=("T1", "T2"), locks={"a": "T1"})),
    Case("locked_units_stay", "locked_units_stay", lambda: fixed_sites(locks={"b": "T2"})),
    Case(
        "locked_units_stay",
        "locked_units_stay.chosen",
        lambda: chosen_centres(labels=("T1", "T2"), locks={"a": "T1"}),
    ),
    Case(
        "disruption_cap",
        "disruption_cap",
        lambda: fixed_sites(current=dict(TODAY), disruption=pop_disruption()),
    ),
    Case(
        "disruption_cap",
        "disruption_cap.chosen",
        lambda: chosen_centres(labels=("T1", "T2"), current=dict(TODAY), disruption=pop_disruption()),
    ),
)


@contextmanager
def watching(family: str) -> Iterator[list[str]]:
    """Record the names of the constraint components `add_<family>` declares while the model is built."""
    original = getattr(territory_model, f"add_{family}")
    declared: list[str] = []

    def recording(m: pyo.ConcreteModel, *args: object, **kwargs: object) -> None:
        before = {c.local_name for c in m.component_objects(pyo.Constraint)}
        original(m, *args, **kwargs)
        declared.extend(c.local_name for c in m.component_objects(pyo.Constraint) if c.local_name not in before)

    setattr(territory_model, f"add_{family}", recording)
    try:
        yield declared
    finally:
        setattr(territory_model, f"add_{family}", original)


def family_lp(case: Case, tmp_path: Path) -> str:
    """The case's model with only its family's constraints, as normalised LP text."""
    with watching(case.family) as declared:
        m = build_territory_model(case.inputs(), contiguity=case.contiguity)
    assert declared, f"the {case.name} instance does not switch on family {case.family}"
    for con in m.component_objects(pyo.Constraint):
        if con.local_name not in declared:
            con.deactivate()
    m.del_component(m.total_cost)  # the LP writer then writes a constant objective
    path = tmp_path / f"{case.name}.lp"
    m.write(str(path), io_options={"symbolic_solver_labels": True})
    return normalise(path.read_text(encoding="utf-8"))


NUMBER = re.compile(r"(?<![\w.])([+-]?)(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)(?![\w.(])")
"""A coefficient or right-hand side (digits inside labels such as `R1` are preceded by a letter)."""


def normalise(text: str) -> str:
    """Drop comments, blank lines and trailing spaces, and write every number to 12 significant digits, so a
    float's last bit (2.4 - 3 = -0.6000000000000001) or a writer's `1` against `1.0` is not a difference."""
    lines = (line.rstrip() for line in text.splitlines())
    kept = (line for line in lines if line and not line.startswith("\\*"))
    return "\n".join(NUMBER.sub(lambda m: m[1] + format(float(m[2]), ".12g"), line) for line in kept) + "\n"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_family_matches_its_golden_lp_file(case: Case, tmp_path: Path) -> None:
    written = family_lp(case, tmp_path)
    golden = LP_FILES / f"{case.name}.lp"
    if REGENERATE:
        golden.write_text(written, encoding="utf-8")
    assert golden.exists(), f"no golden file {golden.name}; regenerate with SPMOPT_REGEN_LP=1 and review it"
    assert written == golden.read_text(encoding="utf-8"), (
        f"{case.name}: the LP rows differ from {golden.name}; if the change is intended, regenerate with "
        "SPMOPT_REGEN_LP=1 and check the new rows against the family's docstring"
    )


def test_every_family_has_a_builder_a_case_and_a_golden_file() -> None:
    for family in CONSTRAINT_FAMILIES:
        assert callable(getattr(territory_model, f"add_{family}", None)), f"no add_{family} in model.py"
    covered = {c.family for c in CASES}
    assert covered == set(CONSTRAINT_FAMILIES), f"families without a case: {set(CONSTRAINT_FAMILIES) - covered}"
    missing = [f for f in CONSTRAINT_FAMILIES if not (LP_FILES / f"{f}.lp").exists()]
    assert not missing, f"constraint families without a golden LP file: {missing}"


def test_no_golden_file_is_left_without_a_case() -> None:
    names = {c.name for c in CASES}
    stale = sorted(p.name for p in LP_FILES.glob("*.lp") if p.stem not in names)
    assert not stale, f"golden files no case writes: {stale}"
