"""`spmopt assess` from the command line: exit codes, the output folder, `--moves` against `--alignment`, bad files
(one exact error, exit 2, nothing written, no input touched), and the numbers of a designed alignment equal to its
run's territories.csv.

The instance is the 3x3 grid of `instance_helpers` (units 1 km apart, potential 10 each, rook adjacency) with reps
A, B and C on the middle column of rows 0, 1 and 2 and today's alignment giving each rep its row: 3 contiguous
territories balanced on potential within +-20% (target 30, band [24, 36]).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from cli_helpers import assert_clean_failure
from instance_helpers import GRID, make_instance, scenario, write_csv
from typer.testing import CliRunner, Result

from spmopt.cli import app
from spmopt.manifest import read_manifest
from spmopt.territory.assess import AssessmentFacts
from spmopt.territory.design import TerritoryFacts

ROWS = {u: "ABC"[int(u[1])] for u in GRID}
HEADER = ("unit_id", "territory_id")
MOVE = {"u02": "B"}
"""One unit from A to B: A falls to 20 (4 short of 24), B rises to 40 (4 over 36)."""


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def grid(root: Path, current: dict[str, str] | None = ROWS, **territory: object) -> Path:
    """The scenario with reps and (unless None) today's alignment; its path."""
    data: dict[str, object] = {"reps": "reps.csv"}
    files = {"reps.csv": (("rep_id", "x", "y"), [["A", 1000, 0], ["B", 1000, 1000], ["C", 1000, 2000]])}
    if current is not None:
        data["current_alignment"] = "current.csv"
        files["current.csv"] = (HEADER, [[u, t] for u, t in current.items()])
    return make_instance(root, scenario({"territories": None, **territory}, data=data), files=files)


def assignment(path: Path, rows: dict[str, str]) -> Path:
    return write_csv(path, HEADER, [[u, t] for u, t in rows.items()])


def assess(scenario_path: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["assess", str(scenario_path), *args])


def files_in(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_todays_alignment_holds_exit_0_and_a_folder_with_a_manifest(tmp_path: Path) -> None:
    path = grid(tmp_path)
    result = assess(path, "--out", "checked")
    assert result.exit_code == 0, result.output
    assert "ok: every requirement holds" in result.stdout
    out = tmp_path / "checked"
    assert set(files_in(out)) == {"assessment.csv", "alignment.csv", "manifest.json", ".spmopt-output.json"}
    table = pd.read_csv(out / "assessment.csv")
    assert list(table["verdict"]) == ["ok", "ok", "ok"]
    manifest = read_manifest(out)
    assert manifest.command == "assess"
    facts = manifest.stages[0].facts
    assert isinstance(facts, AssessmentFacts)
    assert (facts.ok, facts.territories, facts.cut_edges) == (True, 3, 6)
    assert str(tmp_path / "current.csv") in manifest.inputs
    assert {"assessment.csv", "alignment.csv"} <= set(manifest.outputs)


def test_a_broken_band_exits_1_naming_the_measure_and_the_excess(tmp_path: Path) -> None:
    path = grid(tmp_path)
    result = assess(path, "--moves", str(assignment(tmp_path / "moves.csv", MOVE)))
    assert result.exit_code == 1, result.output
    lines = [" ".join(line.split()) for line in result.stdout.splitlines()]
    assert "fails: 2 requirement(s) broken" in lines
    assert "B: potential 40 (+33.33% vs target 30) exceeds its upper limit 36 (+20%) by 4 (13.33 points)" in lines
    assert (
        "A: potential 20 (-33.33% vs target 30) falls short of its lower limit 24 (-20%) by 4 (13.33 points)" in lines
    )


def test_moves_on_todays_alignment_equal_the_edited_alignment(tmp_path: Path) -> None:
    path = grid(tmp_path)
    moves = assignment(tmp_path / "moves.csv", MOVE)
    edited = assignment(tmp_path / "edited.csv", {**ROWS, **MOVE})
    by_moves = assess(path, "--moves", str(moves), "--out", "by_moves")
    by_file = assess(path, "--alignment", str(edited), "--out", "by_file")
    on_file = assess(path, "--alignment", str(tmp_path / "current.csv"), "--moves", str(moves), "--out", "on_file")
    assert by_moves.exit_code == by_file.exit_code == on_file.exit_code == 1
    for name in ("assessment.csv", "alignment.csv"):
        expected = (tmp_path / "by_file" / name).read_bytes()
        assert (tmp_path / "by_moves" / name).read_bytes() == expected
        assert (tmp_path / "on_file" / name).read_bytes() == expected

    def table_on(result: Result) -> list[str]:  # the title and the last line name the files, so they differ
        lines = result.stdout.splitlines()
        return lines[next(n for n, line in enumerate(lines) if line.startswith("┏")) : -1]

    assert table_on(by_moves) == table_on(by_file) == table_on(on_file)


def test_a_move_that_changes_nothing_is_warned(tmp_path: Path) -> None:
    path = grid(tmp_path)
    moves = assignment(tmp_path / "moves.csv", {"u00": "A", **MOVE})
    result = assess(path, "--moves", str(moves))
    assert result.exit_code == 1
    assert f"warning: {moves}: 1 move(s) put a unit where it already is: u00" in " ".join(result.stderr.split())


def test_the_designed_alignment_is_assessed_with_territories_csv_numbers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The PDF is the HTML laid out by WeasyPrint, seconds a run: a stub keeps this test fast.
    monkeypatch.setattr("spmopt.report.pdf.write_pdf", lambda html, path: path.write_bytes(b"%PDF-1.4\n"))
    path = grid(tmp_path)
    run = CliRunner().invoke(app, ["run", str(path), "--out", "run"])
    assert run.exit_code == 0, run.output
    result = assess(path, "--alignment", str(tmp_path / "run" / "alignment.csv"), "--out", "checked")
    assert result.exit_code == 0, result.output
    designed = pd.read_csv(tmp_path / "run" / "territories.csv")
    assessed = pd.read_csv(tmp_path / "checked" / "assessment.csv")
    assert [c for c in assessed.columns if c in designed.columns] == list(designed.columns)
    pd.testing.assert_frame_equal(assessed[designed.columns], designed)
    territory = read_manifest(tmp_path / "run").stage("territory")
    facts = read_manifest(tmp_path / "checked").stages[0].facts
    assert isinstance(territory, TerritoryFacts)
    assert isinstance(facts, AssessmentFacts)
    assert facts.compactness == pytest.approx(territory.compactness, rel=1e-9)
    assert territory.moved_share_pct is not None
    assert facts.moved_share_pct == pytest.approx(territory.moved_share_pct, rel=1e-9)


# ------------------------------------------------------------------------------------------------ bad input


def bad_case(root: Path, case: str) -> tuple[list[str], str]:
    """The CLI arguments after the scenario and the exact error of one bad input."""
    moves, alignment = root / "moves.csv", root / "alignment.csv"
    if case == "unknown unit":
        assignment(moves, {**MOVE, "u99": "A"})
        return ["--moves", str(moves)], f"{moves}: row 3: unit_id 'u99' in moves is not a unit of the units file"
    if case == "missing column":
        write_csv(alignment, ("unit_id", "territory"), [[u, t] for u, t in ROWS.items()])
        return ["--alignment", str(alignment)], (
            f"{alignment}: alignment has no column 'territory_id' (did you mean 'territory'?); "
            "columns are: unit_id, territory"
        )
    if case == "unit assigned twice":
        write_csv(moves, HEADER, [["u02", "B"], ["u12", "C"], ["u02", "C"]])
        return ["--moves", str(moves)], f"{moves}: row 4: duplicate unit_id 'u02' (first seen in row 2)"
    if case == "unknown territory":
        assignment(alignment, {**ROWS, "u11": "Z"})
        return ["--alignment", str(alignment)], (
            f"{alignment}: row 6: territory_id 'Z' in alignment is neither a rep_id nor a territory_id of the reps file"
        )
    if case == "unknown territory in moves":
        assignment(moves, {"u02": "B", "u11": "Nowhere"})
        return ["--moves", str(moves)], (
            f"{moves}: row 3: territory_id 'Nowhere' in moves is neither a rep_id nor a territory_id of the reps file"
        )
    if case == "unit left out":
        assignment(alignment, {u: t for u, t in ROWS.items() if u != "u21"})
        return ["--alignment", str(alignment)], f"{alignment}: alignment leaves 1 unit(s) without a territory, e.g. u21"
    raise AssertionError(case)


CASES = (
    "unknown unit",
    "missing column",
    "unit assigned twice",
    "unknown territory",
    "unknown territory in moves",
    "unit left out",
)


@pytest.mark.parametrize("case", CASES)
def test_bad_files_get_one_exact_error_and_nothing_is_written(tmp_path: Path, case: str) -> None:
    path = grid(tmp_path)
    args, message = bad_case(tmp_path, case)
    before = files_in(tmp_path)
    result = assess(path, *args, "--out", "out")
    assert_clean_failure(result, tmp_path)
    assert result.output == f"error: {message}\n"
    assert files_in(tmp_path) == before


def test_a_new_unit_of_todays_alignment_must_be_moved_somewhere(tmp_path: Path) -> None:
    path = grid(tmp_path, current={u: t for u, t in ROWS.items() if u != "u22"})
    moves = assignment(tmp_path / "moves.csv", MOVE)
    result = assess(path, "--moves", str(moves), "--out", "out")
    assert_clean_failure(result, tmp_path)
    current = tmp_path / "current.csv"
    assert (
        result.output
        == f"error: {current}: unit u22 has no territory and {moves} does not move it; give it one to assess\n"
    )
    placed = assignment(tmp_path / "placed.csv", {**MOVE, "u22": "C"})
    assert assess(path, "--moves", str(placed)).exit_code == 1  # the band break of MOVE remains


def test_todays_territory_without_a_rep_must_be_moved_away(tmp_path: Path) -> None:
    path = grid(tmp_path, current={**ROWS, "u22": "Gone"})
    result = assess(path, "--out", "out")
    assert_clean_failure(result, tmp_path)
    current = tmp_path / "current.csv"
    assert result.output == (
        f"error: {current}: row 10: unit u22 is in territory 'Gone', which is neither a rep_id nor a territory_id "
        "of the reps file\n"
    )


def test_without_todays_alignment_an_alignment_file_is_needed(tmp_path: Path) -> None:
    path = grid(tmp_path, current=None)
    moves = assignment(tmp_path / "moves.csv", MOVE)
    result = assess(path, "--moves", str(moves), "--out", "out")
    assert_clean_failure(result, tmp_path)
    assert result.output == (
        f"error: {path}: --moves applies hand moves to today's alignment, but the scenario names no "
        "data.current_alignment or data.accounts; give the alignment with --alignment FILE\n"
    )


def test_an_output_folder_holding_the_alignment_is_refused(tmp_path: Path) -> None:
    path = grid(tmp_path)
    (tmp_path / "out").mkdir()
    inside = assignment(tmp_path / "out" / "alignment.csv", ROWS)
    result = assess(path, "--alignment", str(inside), "--out", "out")
    assert result.exit_code == 2
    assert "an input of this run" in " ".join(result.output.split())
    assert files_in(tmp_path / "out") == {"alignment.csv": inside.read_bytes()}


def test_assess_is_listed_after_the_scenario_commands() -> None:
    text = CliRunner().invoke(app, ["--help"]).output
    listed = [line.split()[1] for line in text.splitlines() if line.startswith("│ ") and line[2] != " "]
    expected = ["validate", "run", "simulate", "assess", "workbench", "batch", "comp", "bench"]
    assert listed[listed.index("validate") :] == expected
