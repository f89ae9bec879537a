"""Bad input to `spmopt validate` / `spmopt run`: one clear error, exit code 2, no traceback, no output folder.

Every test builds a tiny instance in `tmp_path` (a 3x3 grid of units 1 km apart, given in metres, with a rook
adjacency CSV, or a short path of units), writes a scenario YAML next to it and calls the CLI in-process.
The working directory is `tmp_path`, so even a default `out/<name>` folder could only land there.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Sequence
from pathlib import Path

import pytest
import yaml
from instance_helpers import (
    GRID,
    UNITS_HEADER,
    Rows,
    grid_edges,
    grid_units,
    line_of,
    make_instance,
    scenario,
    write_csv,
)
from typer.testing import CliRunner, Result

from spmopt.cli import app

COMMANDS = ("validate", "run")
OUTPUTS = ("alignment.csv", "territories.csv", "map.png", "manifest.json", "config.resolved.yaml")
OUTPUTS += ("report.html", "report.pdf", "report.xlsx", ".spmopt-output.json")


# --------------------------------------------------------------------------------------------- CLI helpers


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def invoke(command: str, scenario_path: Path, *extra: str) -> Result:
    return CliRunner().invoke(app, [command, str(scenario_path), *extra])


def assert_clean_failure(result: Result, root: Path, *fragments: str) -> str:
    """Exit 2, a one-error message containing every fragment, no traceback, and no output written."""
    text = result.output  # typer's runner mixes stderr (where errors go) into output
    assert result.exit_code == 2, f"exit {result.exit_code}, exception {result.exception!r}:\n{text}"
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in text
    assert text.startswith("error: "), text
    assert sum(line.startswith("error:") for line in text.splitlines()) == 1, text
    assert text in result.stderr, "the error belongs on stderr"
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in:\n{text}"
    assert not (root / "out").exists(), "a failed command must not create the output folder"
    # The stage cache beside the output folder is kept on purpose: the fixed rerun reuses what did succeed.
    leftovers = [p.name for p in root.iterdir() if p.name.startswith(".") and p.name != ".spmopt-cache"]
    assert not leftovers, f"staging folders left behind: {leftovers}"
    return text


# --------------------------------------------------------------------------------------------- 1-6: the units table


@pytest.mark.parametrize("command", COMMANDS)
def test_scenario_file_missing(tmp_path: Path, command: str) -> None:
    result = invoke(command, tmp_path / "nope.yaml")
    assert_clean_failure(result, tmp_path, "nope.yaml", "not found")


@pytest.mark.parametrize("command", COMMANDS)
def test_units_file_missing(tmp_path: Path, command: str) -> None:
    path = make_instance(tmp_path)
    (tmp_path / "units.csv").unlink()
    result = invoke(command, path)
    assert_clean_failure(result, tmp_path, str(tmp_path.resolve() / "units.csv"), "not found")


@pytest.mark.parametrize("command", COMMANDS)
def test_misspelt_balance_measure_suggests_close_match(tmp_path: Path, command: str) -> None:
    path = make_instance(tmp_path, scenario({"balance": [{"measure": "potentail", "tolerance": 0.2}]}))
    result = invoke(command, path)
    assert_clean_failure(result, tmp_path, "units.csv", "'potentail'", "did you mean 'potential'")


@pytest.mark.parametrize("command", COMMANDS)
def test_duplicate_unit_id_names_both_rows(tmp_path: Path, command: str) -> None:
    units = grid_units()
    units[4][0] = "u01"  # u11's line (6) now repeats u01 (line 3)
    path = make_instance(tmp_path, units=units)
    result = invoke(command, path)
    assert_clean_failure(result, tmp_path, "units.csv", "row 6", "row 3", "duplicate unit_id 'u01'")


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        pytest.param("", ["missing"], id="empty-cell"),
        pytest.param("NaN", ["missing"], id="nan"),
        pytest.param("-5", ["-5", "negative"], id="negative"),
        pytest.param("abc", ["'abc'", "not a number"], id="non-numeric"),
        pytest.param("inf", ["infinite"], id="infinite"),
    ],
)
def test_bad_measure_value_names_row_and_column(tmp_path: Path, command: str, cell: str, expected: list[str]) -> None:
    path = make_instance(tmp_path, units=grid_units(potential={"u02": cell}))  # u02 is line 4
    result = invoke(command, path)
    assert_clean_failure(result, tmp_path, "units.csv", "row 4", "potential", *expected)


@pytest.mark.parametrize("command", COMMANDS)
def test_bad_value_in_an_unused_column_is_not_an_error(tmp_path: Path, command: str) -> None:
    """Only measures the scenario uses are checked: a broken workload column does not block a potential-only plan."""
    path = make_instance(tmp_path, units=grid_units(workload={"u02": "abc"}))
    result = invoke(command, path)
    assert result.exit_code == 0, result.output


# --------------------------------------------------------------------------------------------- 7-9: other tables


@pytest.mark.parametrize("command", COMMANDS)
def test_current_alignment_names_unknown_unit(tmp_path: Path, command: str) -> None:
    rows: Rows = [["u00", "A"], ["u01", "A"], ["u99", "B"], ["u22", "C"]]
    path = make_instance(
        tmp_path,
        scenario(data={"current_alignment": "current_alignment.csv"}),
        files={"current_alignment.csv": (("unit_id", "territory_id"), rows)},
    )
    result = invoke(command, path)
    assert_clean_failure(result, tmp_path, "current_alignment.csv", "row 4", "'u99'", "not a unit")


@pytest.mark.parametrize("command", COMMANDS)
def test_locks_name_unknown_unit(tmp_path: Path, command: str) -> None:
    rows: Rows = [["u00", "A"], ["u99", "B"]]
    path = make_instance(
        tmp_path, scenario({"locks": "locks.csv"}), files={"locks.csv": (("unit_id", "territory_id"), rows)}
    )
    result = invoke(command, path)
    assert_clean_failure(result, tmp_path, "locks.csv", "row 3", "'u99'", "not a unit")


@pytest.mark.parametrize("command", COMMANDS)
def test_lock_to_territory_no_rep_covers(tmp_path: Path, command: str) -> None:
    reps: Rows = [["R1", 0, 0, "North"], ["R2", 1000, 1000, "Mid"], ["R3", 2000, 2000, "South"]]
    locks: Rows = [["u11", "Mid"], ["u00", "East"]]
    path = make_instance(
        tmp_path,
        scenario({"territories": None, "locks": "locks.csv"}, data={"reps": "reps.csv"}),
        files={
            "reps.csv": (("rep_id", "x", "y", "territory_id"), reps),
            "locks.csv": (("unit_id", "territory_id"), locks),
        },
    )
    result = invoke(command, path)
    assert_clean_failure(result, tmp_path, "locks.csv", "reps.csv", "'u00'", "'East'", "Mid, North, South")


# --------------------------------------------------------------------------------------------- 10-13: prechecks


ISLAND_EDGES = grid_edges(drop=[("u21", "u22"), ("u12", "u22")])
SPLIT_EDGES = grid_edges(drop=[("u00", "u10"), ("u01", "u11"), ("u02", "u12")])  # top row cut off


@pytest.mark.parametrize("command", COMMANDS)
def test_island_unit_under_contiguity(tmp_path: Path, command: str) -> None:
    path = make_instance(tmp_path, edges=ISLAND_EDGES)
    result = invoke(command, path)
    text = assert_clean_failure(result, tmp_path, "contiguity", "no neighbours: u22", "data.adjacency")
    assert "contiguity: false" in text


@pytest.mark.parametrize("command", COMMANDS)
def test_disconnected_graph_under_contiguity(tmp_path: Path, command: str) -> None:
    path = make_instance(tmp_path, edges=SPLIT_EDGES)
    result = invoke(command, path)
    assert_clean_failure(result, tmp_path, "2 separate pieces", "u00, u01, u02", "data.adjacency", "contiguity: false")


def test_island_is_fine_without_contiguity(tmp_path: Path) -> None:
    path = make_instance(tmp_path, scenario({"contiguity": False}), edges=ISLAND_EDGES)
    assert invoke("validate", path).exit_code == 0


@pytest.mark.parametrize("command", COMMANDS)
def test_more_territories_than_units(tmp_path: Path, command: str) -> None:
    path = make_instance(tmp_path, scenario({"territories": 10}))
    result = invoke(command, path)
    assert_clean_failure(result, tmp_path, "10 territories", "units.csv", "only 9 units")


@pytest.mark.parametrize("command", COMMANDS)
def test_tolerance_unreachable_because_one_unit_is_too_big(tmp_path: Path, command: str) -> None:
    # u11 holds 80 of 160 = 50% of potential; 4 territories at +-5% allow at most 26.25% each.
    spec = scenario({"territories": 4, "contiguity": False, "balance": [{"measure": "potential", "tolerance": 0.05}]})
    path = make_instance(tmp_path, spec, units=grid_units(potential={"u11": 80}))
    result = invoke(command, path)
    assert_clean_failure(result, tmp_path, "unit u11", "50.0% of potential", "tolerance 5.0%")


# --------------------------------------------------------------------------------------------- 14-16: scenario YAML


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(
    ("text", "line"),
    [
        pytest.param("name: tiny\ndata:\n  units: units.csv\n   adjacency: adjacency.csv\n", 4, id="indentation"),
        pytest.param("name: tiny\ndata:\n  units: units.csv\n\tadjacency: adjacency.csv\n", 4, id="tab"),
        pytest.param("name: tiny\nterritory:\n  territories: 3\n  balance: [{measure: potential\n", 5, id="unclosed"),
    ],
)
def test_yaml_syntax_error_gives_line(tmp_path: Path, command: str, text: str, line: int) -> None:
    path = make_instance(tmp_path, text)
    result = invoke(command, path)
    assert_clean_failure(result, tmp_path, "scenario.yaml", f"line {line}", "YAML syntax error")


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(
    ("section", "key"),
    [
        pytest.param(("territory",), "contiguous", id="territory.contiguous"),
        pytest.param(("territory", "solver"), "timelimit", id="territory.solver.timelimit"),
        pytest.param(("data",), "adjacncy", id="data.adjacncy"),
        pytest.param((), "outptu", id="top-level"),
    ],
)
def test_unknown_key_names_key_path_and_line(tmp_path: Path, command: str, section: tuple[str, ...], key: str) -> None:
    spec = scenario()
    node = spec
    for part in section:
        node = node[part]
    node[key] = True
    path = make_instance(tmp_path, spec)
    result = invoke(command, path)
    key_path = ".".join((*section, key))
    line = line_of(path, f"{key}:")
    assert_clean_failure(result, tmp_path, "scenario.yaml", f"{key_path} (line {line})", "unknown key")


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(
    ("tolerance", "expected"),
    [
        pytest.param(1.5, "less than 1", id="1.5"),
        pytest.param(0, "greater than 0", id="zero"),
        pytest.param(-0.1, "greater than 0", id="negative"),
    ],
)
def test_tolerance_out_of_range(tmp_path: Path, command: str, tolerance: float, expected: str) -> None:
    balance = [{"measure": "potential", "tolerance": tolerance}, {"measure": "workload", "tolerance": 0.3}]
    spec = scenario({"balance": balance})
    path = make_instance(tmp_path, spec)
    result = invoke(command, path)
    line = line_of(path, f"tolerance: {tolerance}")
    assert_clean_failure(result, tmp_path, "scenario.yaml", f"territory.balance[0].tolerance (line {line})", expected)


# --------------------------------------------------------------------------------------------- 17: infeasible together


def path_units(potentials: Sequence[float]) -> Rows:
    """Units p0..p{n-1} on a line, 1 km apart."""
    return [[f"p{i}", 1000 * i, 0, v, 1] for i, v in enumerate(potentials)]


def path_edges(n: int) -> Rows:
    return [[f"p{i}", f"p{i + 1}"] for i in range(n - 1)]


def infeasible_balance_and_contiguity(root: Path) -> Path:
    # p0..p3 = 10, 10, 1, 1: only {p0,p2} / {p1,p3} balance within 5%, and neither is connected.
    spec = scenario({"territories": 2, "balance": [{"measure": "potential", "tolerance": 0.05}]})
    return make_instance(root, spec, units=path_units([10, 10, 1, 1]), edges=path_edges(4))


def infeasible_lock_and_contiguity(root: Path) -> Path:
    # Rep A lives at p0, rep B at p2; locking p4 to A cuts A's territory in two around B's home.
    reps: Rows = [["A", 0, 0], ["B", 2000, 0]]
    spec = scenario({"territories": None, "balance": [], "locks": "locks.csv"}, data={"reps": "reps.csv"})
    files = {"reps.csv": (("rep_id", "x", "y"), reps), "locks.csv": (("unit_id", "territory_id"), [["p4", "A"]])}
    return make_instance(root, spec, units=path_units([1] * 5), edges=path_edges(5), files=files)


def infeasible_grid_locks(root: Path) -> Path:
    # u00 and u22 locked together: a connected territory holding both needs >= 5 units, balance allows 3.
    locks: Rows = [["u00", "A"], ["u22", "A"], ["u02", "B"], ["u20", "C"]]
    spec = scenario({"locks": "locks.csv"})
    return make_instance(root, spec, files={"locks.csv": (("unit_id", "territory_id"), locks)})


INFEASIBLE = [
    pytest.param(infeasible_balance_and_contiguity, ["balance of potential within ±5.0%", "contiguity"], id="balance"),
    pytest.param(infeasible_grid_locks, ["balance of potential within ±20.0%", "contiguity", "locks"], id="grid"),
]


@pytest.mark.parametrize(("build", "requirements"), INFEASIBLE)
def test_infeasible_only_in_combination(tmp_path: Path, build, requirements: list[str]) -> None:
    path = build(tmp_path)
    assert invoke("validate", path).exit_code == 0, "each requirement is fine on its own (prechecks pass)"
    result = invoke("run", path)
    text = assert_clean_failure(result, tmp_path, "no alignment satisfies every requirement", *requirements)
    assert "conflict" in text


def test_lock_cut_off_from_home_is_named_before_solving(tmp_path: Path) -> None:
    path = infeasible_lock_and_contiguity(tmp_path)
    for command in ("validate", "run"):
        assert_clean_failure(
            invoke(command, path),
            tmp_path,
            "unit p4 is locked to territory A",
            "p2 (home unit of rep B)",
            "territory.contiguity: false",
        )


# --------------------------------------------------------------------------------------------- success and atomicity


def test_valid_run_writes_every_output(tmp_path: Path) -> None:
    path = make_instance(tmp_path)
    ok = invoke("validate", path)
    assert ok.exit_code == 0, ok.output
    assert "9 units, 12 adjacency edges" in " ".join(ok.output.split())  # the ok line is word-wrapped
    result = invoke("run", path)
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUTS)
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["outputs"]) == set(OUTPUTS) - {"manifest.json", ".spmopt-output.json"}
    alignment = (out / "alignment.csv").read_text().splitlines()
    assert alignment[0] == "unit_id,territory_id"
    assert len(alignment) == 1 + len(GRID)


def test_out_option_overrides_output_dir(tmp_path: Path) -> None:
    path = make_instance(tmp_path)
    result = invoke("run", path, "--out", str(tmp_path / "elsewhere"))
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in (tmp_path / "elsewhere").iterdir()) == sorted(OUTPUTS)


def _break_units(root: Path) -> None:
    write_csv(root / "units.csv", UNITS_HEADER, grid_units(potential={"u12": -1}))


def _break_yaml(root: Path) -> None:
    path = root / "scenario.yaml"
    path.write_text(path.read_text().replace("contiguity:", "contiguous:"))


def _make_infeasible(root: Path) -> None:
    write_csv(root / "locks.csv", ("unit_id", "territory_id"), [["u00", "A"], ["u22", "A"]])
    spec = yaml.safe_load((root / "scenario.yaml").read_text())
    spec["territory"]["locks"] = "locks.csv"
    (root / "scenario.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))


@pytest.mark.parametrize(
    ("breaker", "fragment"),
    [
        pytest.param(_break_units, "row 7: potential = -1 is negative", id="bad-data"),
        pytest.param(_break_yaml, "territory.contiguous", id="bad-yaml"),
        pytest.param(_make_infeasible, "no alignment satisfies every requirement", id="infeasible"),
    ],
)
def test_failed_rerun_leaves_previous_output_intact(tmp_path: Path, breaker, fragment: str) -> None:
    path = make_instance(tmp_path)
    first = invoke("run", path)
    assert first.exit_code == 0, first.output
    out = tmp_path / "out"
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert sorted(before) == sorted(OUTPUTS)

    breaker(tmp_path)
    result = invoke("run", path)
    text = result.output
    assert result.exit_code == 2, text
    assert "Traceback" not in text
    assert fragment in text
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    staging = [p.name for p in tmp_path.iterdir() if p.name.startswith(".") and p.name != ".spmopt-cache"]
    assert not staging, "staging folder left behind"


# ------------------------------------------------------------------------------------ messages, YAML and output safety


@pytest.mark.parametrize("column", ["revenue[usd]", "note[/b]"])
def test_brackets_in_message_are_printed_verbatim(tmp_path: Path, column: str) -> None:
    spec = scenario({"balance": [{"measure": "potentail", "tolerance": 0.2}]})
    path = make_instance(tmp_path, spec, units_header=(*UNITS_HEADER[:4], column))
    result = invoke("validate", path)
    assert_clean_failure(result, tmp_path, "did you mean 'potential'", column)


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda root: make_instance(root, edges=ISLAND_EDGES), id="island"),
        pytest.param(lambda root: make_instance(root, edges=SPLIT_EDGES), id="disconnected"),
        pytest.param(
            lambda root: make_instance(
                root,
                scenario({"territories": 4, "balance": [{"measure": "potential", "tolerance": 0.05}]}),
                units=grid_units(potential={"u11": 80}),
            ),
            id="tolerance",
        ),
        pytest.param(infeasible_balance_and_contiguity, id="infeasible"),
    ],
)
def test_requirement_errors_name_a_file(tmp_path: Path, build) -> None:
    result = invoke("run", build(tmp_path))
    text = assert_clean_failure(result, tmp_path)
    assert "scenario.yaml" in text or "adjacency.csv" in text, text


def test_tolerance_advice_is_a_value_the_schema_accepts(tmp_path: Path) -> None:
    spec = scenario({"territories": 4, "contiguity": False, "balance": [{"measure": "potential", "tolerance": 0.05}]})
    path = make_instance(tmp_path, spec, units=grid_units(potential={"u11": 80}))
    text = assert_clean_failure(invoke("validate", path), tmp_path, "unit u11")
    suggested = re.search(r"tolerance to at least ([\d.]+)%", text)
    assert suggested is None or float(suggested.group(1)) < 100, text


@pytest.mark.parametrize("command", COMMANDS)
def test_duplicate_yaml_key_is_an_error(tmp_path: Path, command: str) -> None:
    path = make_instance(tmp_path)
    path.write_text(path.read_text() + "territory:\n  territories: 2\n")
    assert_clean_failure(invoke(command, path), tmp_path, "scenario.yaml", "territory")


def test_output_dir_holding_the_inputs_is_refused(tmp_path: Path) -> None:
    plan = tmp_path / "plan"
    plan.mkdir()
    spec = scenario()
    spec["output"]["dir"] = "."  # relative to the YAML: the folder holding the inputs
    path = make_instance(plan, spec)
    (plan / "notes.txt").write_text("not an spmopt output")
    result = invoke("run", path)
    survivors = sorted(p.name for p in plan.iterdir())
    assert {"scenario.yaml", "units.csv", "adjacency.csv", "notes.txt"} <= set(survivors), survivors
    assert result.exit_code == 2, result.output


# --------------------------------------------------------------------------------------------- quota inputs

MONTHS = [f"2025-{m:02d}" for m in range(1, 13)]


def grid_history(sales: dict[tuple[str, str], object] | None = None, drop_month: str | None = None) -> Rows:
    """12 months of sales for the grid's units, 100 per unit and month unless overridden."""
    sales = sales or {}
    return [[uid, month, sales.get((uid, month), 100)] for uid in GRID for month in MONTHS if month != drop_month]


def quota_scenario(**quota: object) -> dict:
    spec = scenario()
    spec["quota"] = {"target": 12_000, "granularity": 1, "history": "history.csv", **quota}
    return spec


def quota_instance(root: Path, history: Rows | None = None, **quota: object) -> Path:
    files = {"history.csv": (("unit_id", "period", "sales"), grid_history() if history is None else history)}
    return make_instance(root, quota_scenario(**quota), files=files)


@pytest.mark.parametrize("command", COMMANDS)
def test_negative_history_names_the_row(tmp_path: Path, command: str) -> None:
    path = quota_instance(tmp_path, grid_history({("u01", "2025-03"): -5}))
    row = 2 + GRID.index("u01") * 12 + 2
    assert_clean_failure(invoke(command, path), tmp_path, "history.csv", f"row {row}", "sales = -5 is negative")


@pytest.mark.parametrize("command", COMMANDS)
def test_history_for_an_unknown_unit_names_the_row(tmp_path: Path, command: str) -> None:
    path = quota_instance(tmp_path, [*grid_history(), ["u99", "2025-01", 10]])
    assert_clean_failure(invoke(command, path), tmp_path, "history.csv", "row 110", "'u99'", "not a unit")


def test_history_period_must_be_a_month(tmp_path: Path) -> None:
    path = quota_instance(tmp_path, [["u00", "2025/01", 10], *grid_history()])
    assert_clean_failure(invoke("validate", path), tmp_path, "history.csv", "row 2", "'2025/01'", "YYYY-MM")


def test_history_with_a_silent_month_is_refused(tmp_path: Path) -> None:
    path = quota_instance(tmp_path, grid_history(drop_month="2025-06"))
    assert_clean_failure(invoke("validate", path), tmp_path, "history.csv", "no sales rows at all for 2025-06")


def test_target_must_be_a_multiple_of_the_granularity(tmp_path: Path) -> None:
    path = quota_instance(tmp_path, granularity=1000, target=12_500)
    assert_clean_failure(invoke("validate", path), tmp_path, "scenario.yaml", "quota", "not a multiple of granularity")


def test_history_basis_without_history_is_a_config_error(tmp_path: Path) -> None:
    spec = scenario()
    spec["quota"] = {"target": 12_000, "basis": {"history": 1.0}, "attainment": {"dispersion": 0.2}}
    path = make_instance(tmp_path, spec)
    assert_clean_failure(invoke("validate", path), tmp_path, "scenario.yaml", "basis.history", "quota.history")


def test_growth_bounds_that_cannot_reach_the_target_name_the_bound_and_gap(tmp_path: Path) -> None:
    path = quota_instance(tmp_path, target=20_000, growth={"max": 0.5})
    # Every territory sold 3 units x 1,200 = 3,600 last year: at most 5,400 each, 16,200 in all.
    assert_clean_failure(
        invoke("run", path), tmp_path, "upper bounds add up to 16,200", "3,800 short of", "growth max +50.0%"
    )


def test_quota_bounds_for_an_unknown_territory_name_the_row(tmp_path: Path) -> None:
    files = {
        "history.csv": (("unit_id", "period", "sales"), grid_history()),
        "bounds.csv": (("territory_id", "cap"), [["T1", 9000], ["T7", 9000]]),
    }
    path = make_instance(tmp_path, quota_scenario(bounds="bounds.csv"), files=files)
    assert_clean_failure(invoke("run", path), tmp_path, "bounds.csv", "row 3", "'T7'", "not a territory")


def test_rep_start_month_out_of_range_names_the_row(tmp_path: Path) -> None:
    spec = quota_scenario()
    spec["territory"].pop("territories")
    spec["data"]["reps"] = "reps.csv"
    files = {
        "history.csv": (("unit_id", "period", "sales"), grid_history()),
        "reps.csv": (
            ("rep_id", "x", "y", "start_month"),
            [["A", 0, 0, ""], ["B", 1000, 1000, 13], ["C", 2000, 2000, ""]],
        ),
    }
    path = make_instance(tmp_path, spec, files=files)
    assert_clean_failure(invoke("validate", path), tmp_path, "reps.csv", "row 3", "start_month", "1..12")


def test_quotas_are_written_and_a_normalised_profile_is_reported(tmp_path: Path) -> None:
    path = quota_instance(tmp_path, seasonality={"profile": [0.1] * 12})
    result = invoke("run", path)
    assert result.exit_code == 0, result.output
    assert "sums to 1.2" in result.stderr
    assert "normalised" in result.stderr
    with (tmp_path / "out" / "quotas.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert sum(int(r["annual_quota"]) for r in rows) == 12_000
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert any("normalised" in w for w in manifest["warnings"])
    assert [s["facts"]["stage"] for s in manifest["stages"]] == ["data", "territory", "quota"]
    assert "quotas.csv" in manifest["outputs"]
