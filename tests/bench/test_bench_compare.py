"""spmopt against a textbook Pyomo+HiGHS model and PySAL spopt: same optima, honest ratios and time-outs."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spmopt.cli import app
from spmopt.errors import ConfigError
from spmopt_bench.compare import (
    Run,
    compare_instance,
    comparison_row,
    markdown_table,
    ratio,
    solve_spopt,
    solve_textbook,
    suite_instances,
)

pytest.importorskip("spopt")
pytest.importorskip("pulp")


def _run(solver: str, seconds: float, finished: bool) -> Run:
    status = "optimal" if finished else "feasible"
    return Run(
        solver, status, 10.0, 10.0, 10.0 if finished else 5.0, 0.0 if finished else 0.5, 0.0, seconds, seconds, finished
    )


def test_cli_pmed1_all_three_reach_the_optimum_and_the_table_quotes_ratios(tmp_path: Path) -> None:
    out = tmp_path / "compare.md"
    args = ["bench", "compare", "pmed", "--only", "pmed1", "--time-limit", "60", "--threads", "1", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    raw = json.loads(out.with_suffix(".json").read_text())
    assert raw["machine"]["threads"] == 1
    assert "load_average_end" in raw["machine"]
    (row,) = raw["rows"]
    for solver in ("spmopt", "textbook", "spopt"):
        assert row[solver]["objective"] == 5819, row[solver]
        assert row[solver]["finished"]
        assert row[solver]["status"] == "optimal"
    for name in ("ratio_textbook", "ratio_spopt"):
        assert row[name]["kind"] == "exact"
        assert row[name]["value"] == pytest.approx(row[name.split("_")[1]]["seconds"] / row["spmopt"]["seconds"])
    table = out.read_text()
    assert "| textbook / spmopt | spopt / spmopt |" in table
    line = next(ln for ln in table.splitlines() if ln.startswith("| pmed1 |"))
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[:3] == ["pmed1", "100", "5"]
    assert cells[3] == cells[6] == cells[9] == "5819"
    assert cells[11].endswith("×")
    assert cells[12].endswith("×")
    assert "≥" not in line
    assert "| pmed1 |" in result.output


@pytest.mark.slow
def test_cpmp01_textbook_and_spopt_reach_the_spmopt_optimum() -> None:
    (inst,) = suite_instances("cpmp", "cpmp01")
    row = compare_instance(inst, time_limit=60, threads=1)
    for solver in ("spmopt", "textbook", "spopt"):
        assert row[solver]["objective"] == 713, row[solver]
        assert row[solver]["finished"]


def test_a_competitor_time_out_is_a_lower_bound() -> None:
    # county23 with contiguity: the plain textbook model cannot close its gap in 1 s (it needs far longer)
    (inst,) = suite_instances("district", "county23")
    textbook = solve_textbook(inst, time_limit=1.0, threads=1)
    assert not textbook.finished
    assert textbook.status in ("feasible", "no_solution")
    assert textbook.seconds >= 1.0
    spmopt = _run("spmopt", 0.5, finished=True)
    row = comparison_row(inst, {"spmopt": spmopt, "textbook": textbook})
    assert row["ratio_textbook"] == {"value": pytest.approx(textbook.seconds / 0.5), "kind": "lower"}
    line = next(ln for ln in markdown_table([row]).splitlines() if ln.startswith("| county23 |"))
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[8] == f"≥ {textbook.seconds:.1f}"
    assert cells[11].startswith("≥ ")
    assert cells[11].endswith("×")
    assert cells[9] == "n/a"
    assert cells[12] == "—"


def test_spopt_time_out_reports_no_proof() -> None:
    (inst,) = suite_instances("pmed", "pmed6")
    run = solve_spopt(inst, time_limit=0.05, threads=1)
    assert not run.finished
    assert run.status in ("feasible", "no_solution")


def test_ratio_kinds() -> None:
    done, stopped = _run("spmopt", 2.0, True), _run("textbook", 8.0, False)
    assert ratio(replace(stopped, finished=True, status="optimal"), done) == {"value": 4.0, "kind": "exact"}
    assert ratio(stopped, done)["kind"] == "lower"
    assert ratio(_run("textbook", 1.0, True), replace(done, finished=False))["kind"] == "upper"
    assert ratio(stopped, replace(done, finished=False))["kind"] == "none"
    assert ratio(None, done) == {"value": None, "kind": "none"}


def test_suite_errors_are_clear() -> None:
    with pytest.raises(ConfigError, match="unknown suite 'pmedx'"):
        suite_instances("pmedx")
    with pytest.raises(ConfigError, match="matches 'nothing\\*'; available: pmed1, pmed2"):
        suite_instances("pmed", "nothing*")


def test_missing_spopt_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "spopt", None)
    monkeypatch.setitem(sys.modules, "spopt.locate", None)
    result = CliRunner().invoke(app, ["bench", "compare", "pmed", "--only", "pmed1", "--time-limit", "1"])
    assert result.exit_code == 2
    assert "pip install 'spmopt[bench]'" in result.output
    assert "Traceback" not in result.output
