"""Every combination of the optional sections runs end to end and writes a complete report.

A tiny instance (a 4 x 4 grid of 10 km square units, 3 reps, 12 months of history, a year of transactions) is
written into `tmp_path` and run through `spmopt run` for each geography (polygons, an adjacency CSV, or only
the units' x,y) and each combination of quota, comp, simulation, coaching and alternative alignments the schema
allows; the combinations it does not allow must be refused with a ConfigError naming what is missing.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from spmopt.cli import app
from spmopt.errors import ConfigError
from spmopt.manifest import read_manifest
from spmopt.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
PLANS = ("target_incentive", "commission")
SIDE = 4
CELL_M = 10_000
UNITS = [f"U{r}{c}" for r in range(SIDE) for c in range(SIDE)]
"""U{row}{column}: the unit whose square has its lower-left corner at (column, row) x 10 km."""
REPS = {"R1": (0, 0), "R2": (3, 0), "R3": (1, 3)}
"""Rep -> (row, column) of the unit holding the home base."""
GEOGRAPHIES = ("geometry", "adjacency", "xy")
OPTIONAL = ("quota", "comp", "simulation", "coaching", "alignments")
NEEDS = {"comp": "quota", "simulation": "comp", "coaching": "simulation"}
"""Section -> the section it cannot run without (spmopt.config.ScenarioConfig's cross-section rules)."""
REFUSAL = {
    "comp": "comp needs a quota section",
    "simulation": "simulation needs a comp section",
    "coaching": "coaching needs the simulation section",
}
ALWAYS = {"alignment.csv", "territories.csv", "map.png", "config.resolved.yaml", "manifest.json"}
ALWAYS |= {"report.html", "report.xlsx", "report.pdf"}
TX_HEADER = "transaction_id,date,unit_id,product,amount,margin,new_logo,reason,original_id"
SIM_FILES = ("summary.csv", "differences.csv", "replications.csv", "attainment_histogram.csv", "seat_months.csv")


def allowed(sections: frozenset[str]) -> bool:
    return all(NEEDS[s] in sections for s in sections if s in NEEDS)


COMBINATIONS = [frozenset(c) for k in range(len(OPTIONAL) + 1) for c in itertools.combinations(OPTIONAL, k)]
VALID = [c for c in COMBINATIONS if allowed(c)]
REFUSED = [c for c in COMBINATIONS if not allowed(c)]


def label(sections: frozenset[str]) -> str:
    return "+".join(s for s in OPTIONAL if s in sections) or "territory-only"


# ------------------------------------------------------------------------------------------ the tiny instance


def _write_lines(path: Path, header: str, rows: list[str]) -> None:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")


def _cell(uid: str) -> tuple[int, int]:
    return int(uid[1]), int(uid[2])


def write_data(root: Path) -> dict[str, float]:
    """Every input file any combination reads; returns each unit's potential."""
    rng = np.random.default_rng(5)
    potential = {u: 1000.0 * int(rng.integers(150, 300)) for u in UNITS}
    units = []
    for u in UNITS:
        r, c = _cell(u)
        workload, accounts = 100 + int(rng.integers(0, 50)), int(rng.integers(3, 9))
        units.append(f"{u},{(c + 0.5) * CELL_M},{(r + 0.5) * CELL_M},{potential[u]:.0f},{workload},{accounts}")
    _write_lines(root / "units.csv", "unit_id,x,y,potential,workload,accounts", units)
    reps = [f"{rep},{(c + 0.5) * CELL_M},{(r + 0.5) * CELL_M}" for rep, (r, c) in REPS.items()]
    _write_lines(root / "reps.csv", "rep_id,x,y", reps)
    _write_geometry(root / "units.geojson")
    edges = [f"U{r}{c},U{r}{c + 1}" for r in range(SIDE) for c in range(SIDE - 1)]
    edges += [f"U{r}{c},U{r + 1}{c}" for r in range(SIDE - 1) for c in range(SIDE)]
    _write_lines(root / "adjacency.csv", "unit_a,unit_b", edges)
    # Last year's sales run at 40% of potential; the plan year's deals continue them, one a unit and month.
    months = list(itertools.product(UNITS, range(1, 13)))
    history = [f"{u},2026-{m:02d},{round(0.4 * potential[u] / 12 * rng.lognormal(0, 0.1))}" for u, m in months]
    _write_lines(root / "history.csv", "unit_id,period,sales", history)
    deals = []
    for k, (u, m) in enumerate(months, start=1):
        amount = round(0.4 * potential[u] / 12 * rng.lognormal(0, 0.2), 2)
        product, share = ("services", 0.35) if k % 3 == 0 else ("license", 0.8)
        deals.append(f"T{k:05d},2027-{m:02d}-15,{u},{product},{amount:.2f},{share * amount:.2f},{int(k % 7 == 0)},,")
    _write_lines(root / "tx.csv", TX_HEADER, deals)
    hierarchy = [f"{rep},M1,rep" for rep in REPS] + ["M1,,manager"]
    _write_lines(root / "hierarchy.csv", "payee_id,manager_id,role", hierarchy)
    # Today's alignment: R1 the lower-left block, R2 the rest of the left half, R3 the right half.
    current = [f"{u},{'R3' if _cell(u)[1] >= 2 else ('R1' if _cell(u)[0] < 2 else 'R2')}" for u in UNITS]
    _write_lines(root / "current.csv", "unit_id,territory_id", current)
    return potential


def _write_geometry(path: Path) -> None:
    features = []
    for u in UNITS:
        r, c = _cell(u)
        x0, y0, x1, y1 = c * CELL_M, r * CELL_M, (c + 1) * CELL_M, (r + 1) * CELL_M
        ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
        shape = {"type": "Polygon", "coordinates": [ring]}
        features.append({"type": "Feature", "properties": {"unit_id": u}, "geometry": shape})
    crs = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32617"}}
    path.write_text(json.dumps({"type": "FeatureCollection", "crs": crs, "features": features}), encoding="utf-8")


def scenario(geography: str, sections: frozenset[str], **territory: object) -> dict:
    """The scenario for one geography and set of optional sections (contiguity whenever there is a graph)."""
    data: dict[str, object] = {"units": "units.csv", "reps": "reps.csv"}
    if geography == "geometry":
        data["geometry"] = "units.geojson"
    if geography == "adjacency":
        data["adjacency"] = "adjacency.csv"
    spec: dict[str, object] = {
        "name": "matrix",
        "seed": 3,
        "data": data,
        "territory": {
            "balance": [{"measure": "potential", "tolerance": 0.25}],
            "contiguity": geography != "xy",
            "solver": {"time_limit": 20, "threads": 1},
            **territory,
        },
    }
    if "quota" in sections:
        spec["quota"] = {"target": 1_500_000, "history": "history.csv"}
    if "comp" in sections:
        plans = [str(ROOT / "scenarios" / "plans" / f"{p}.yaml") for p in PLANS]
        spec["comp"] = {"plans": plans, "transactions": "tx.csv", "crediting": {"hierarchy": "hierarchy.csv"}}
    if "simulation" in sections:
        behaviour = str(ROOT / "models" / "behaviour" / "defaults.yaml")
        spec["simulation"] = {"behaviour": behaviour, "replications": 4, "workers": 1, "workload": "workload"}
    if "coaching" in sections:
        prior = str(ROOT / "models" / "coaching_uplift" / "prior-v1.json")
        spec["coaching"] = {"prior": prior, "capacity": 6, "hour_cost": 100}
    if "alignments" in sections:
        spec["alignments"] = {"current": "current.csv"}
    return spec


def write_scenario(root: Path, spec: dict) -> Path:
    path = root / "scenario.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def write_instance(root: Path, geography: str, sections: frozenset[str]) -> Path:
    """Every input file and the scenario YAML for one cell of the matrix; returns the YAML's path."""
    write_data(root)
    return write_scenario(root, scenario(geography, sections))


# ------------------------------------------------------------------------------------------ what a run must write


def expected_files(sections: frozenset[str]) -> set[str]:
    files = set(ALWAYS)
    if "quota" in sections:
        files.add("quotas.csv")
    if "comp" in sections:
        files.add("comp_summary.csv")
        files |= {f"comp/{p}/{name}" for p in PLANS for name in ("payees.csv", "payout_curve.csv", "statements.csv")}
    if "simulation" in sections:
        files.add("decision.csv")
        files |= {f"simulation/{name}" for name in SIM_FILES}
    if "coaching" in sections:
        files |= {"coaching.csv", "simulation/coaching_roi.csv"}
    if "alignments" in sections:
        files.add("alignments/current/territories.csv")
        if "quota" in sections:
            files.add("alignments/current/quotas.csv")
        if "simulation" in sections:
            files |= {f"alignments/current/simulation/{n}" for n in SIM_FILES}
        if "coaching" in sections:
            files |= {"alignments/current/coaching.csv", "alignments/current/simulation/coaching_roi.csv"}
    return files


def report_anchors(sections: frozenset[str]) -> dict[str, bool]:
    """Report section id -> whether the run's sections must produce it."""
    sim = "simulation" in sections
    return {
        "territories": True,
        "quotas": "quota" in sections,
        "comp": "comp" in sections,
        "decision": sim,
        "simulation": sim,
        "coaching": "coaching" in sections,
        "leaderboard": sim,
    }


def expected_stages(sections: frozenset[str]) -> list[tuple[str, str | None]]:
    """(stage, candidate alignment) of every stage record, in order (None: the designed alignment)."""
    stages = ["data", "territory"]
    stages += [s for s in ("quota", "comp") if s in sections]
    stages += ["coaching"] if "coaching" in sections else []
    stages += ["simulation"] if "simulation" in sections else []
    records: list[tuple[str, str | None]] = [(s, None) for s in stages]
    if "alignments" in sections:
        current = [s for s in ("quota", "coaching", "simulation") if s in sections]
        records += [(s, "current") for s in current]
    return records


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def _cells() -> list:
    """Every geography with every allowed set of sections, except that candidate alignments without a simulated year
    (their balance table and quotas only) run on one geography: they add no geography-specific path."""
    out = []
    for geography, sections in itertools.product(GEOGRAPHIES, VALID):
        if "alignments" in sections and "simulation" not in sections and geography != "adjacency":
            continue
        out.append(pytest.param(geography, sections, id=f"{geography}-{label(sections)}"))
    return out


@pytest.mark.slow
@pytest.mark.parametrize(("geography", "sections"), _cells())
def test_every_allowed_combination_writes_a_complete_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, geography: str, sections: frozenset[str]
) -> None:
    if sections != frozenset(OPTIONAL):
        # The PDF is the same HTML laid out by WeasyPrint, seconds a run whatever the sections: a stub keeps the
        # matrix fast, and the all-sections cells still make the real one.
        monkeypatch.setattr("spmopt.report.pdf.write_pdf", lambda html, path: path.write_bytes(b"%PDF-1.4\n"))
    path = write_instance(tmp_path, geography, sections)
    result = CliRunner().invoke(app, ["run", str(path), "--out", "out"])
    assert result.exit_code == 0, f"{result.exception!r}\n{result.output}"
    assert "Traceback" not in result.output
    out = tmp_path / "out"
    written = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    missing = expected_files(sections) - written
    assert not missing, f"not written: {sorted(missing)}"
    manifest = read_manifest(out)
    assert expected_files(sections) - {"manifest.json"} <= set(manifest.outputs)
    assert [(s.stage, s.alignment) for s in manifest.stages] == expected_stages(sections)
    assert not [w for w in manifest.warnings if "not drawn" in w or "Not drawn" in w], manifest.warnings
    html = (out / "report.html").read_text(encoding="utf-8")
    for anchor, present in report_anchors(sections).items():
        assert (f'<section id="{anchor}">' in html) == present, f"section '{anchor}' should be present: {present}"
    if "alignments" in sections and "simulation" in sections:
        assert "current/target_incentive" in html  # the candidate alignment's rows in the decision table
    contiguous = "contiguous" in (out / "territories.csv").read_text(encoding="utf-8").splitlines()[0]
    assert contiguous == (geography != "xy")
    assert ("Every territory is contiguous" in html) == (geography != "xy")


# ------------------------------------------------------------------------------------------ refused combinations


@pytest.mark.parametrize("sections", [pytest.param(s, id=label(s)) for s in REFUSED])
def test_a_combination_the_schema_refuses_names_the_missing_section(tmp_path: Path, sections: frozenset[str]) -> None:
    path = write_scenario(tmp_path, scenario("xy", sections))
    with pytest.raises(ConfigError) as err:
        load_scenario(path)
    text = str(err.value)
    unmet = [s for s in sections if s in NEEDS and NEEDS[s] not in sections]
    assert any(REFUSAL[s] in text for s in unmet), text
    assert str(path) in text


def test_coaching_without_a_hierarchy_is_refused(tmp_path: Path) -> None:
    spec = scenario("xy", frozenset(OPTIONAL))
    spec["comp"]["crediting"] = {}
    with pytest.raises(ConfigError, match=r"coaching needs the simulation section and comp.crediting.hierarchy"):
        load_scenario(write_scenario(tmp_path, spec))


@pytest.mark.parametrize(
    ("territory", "fragment"),
    [
        ({"contiguity": True}, "territory.contiguity needs data.geometry or data.adjacency"),
        ({"compactness": "cut_edges"}, "territory.compactness 'cut_edges' needs data.geometry or data.adjacency"),
        ({"islands": "bridge"}, "territory.islands 'bridge' needs data.geometry or data.adjacency"),
    ],
)
def test_graph_settings_without_geometry_or_adjacency_are_refused(
    tmp_path: Path, territory: dict[str, object], fragment: str
) -> None:
    spec = scenario("xy", frozenset({"quota"}), **territory)
    with pytest.raises(ConfigError) as err:
        load_scenario(write_scenario(tmp_path, spec))
    assert fragment in str(err.value)
