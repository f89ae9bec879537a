"""The workbench session without a browser: edits, locks, undo and redo; the live figures are `spmopt assess`'s;
re-optimising keeps the edits; saved versions are folders `spmopt run` accepts, written only where they belong."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from grid import REPS, UNITS, make_grid, today
from typer.testing import CliRunner

from spmopt.cli import app
from spmopt.errors import DataError, SpmoptError
from spmopt.preparation import prepare
from spmopt.scenario import load_scenario
from spmopt.territory.assess import assess_alignment
from spmopt.workbench.reoptimise import Reoptimisation, design_around, with_limit
from spmopt.workbench.session import Session, complete_today
from spmopt.workbench.versions import compare, list_versions, save_version, version_locks


def open_grid(root: Path, **territory: object) -> Session:
    path = make_grid(root, territory or None)
    return Session.open(path, prepare(load_scenario(path)), None)


def test_a_session_starts_on_todays_alignment_within_every_band(tmp_path: Path) -> None:
    session = open_grid(tmp_path)
    assert session.alignment.to_dict() == {u: today(u) for u in UNITS}
    assessment = session.assess()
    assert assessment.facts.ok
    assert assessment.territories["units"].tolist() == [12, 12, 12]


def test_moving_units_breaks_the_bands_and_undo_mends_them(tmp_path: Path) -> None:
    session = open_grid(tmp_path)
    edit = session.assign(["u01", "u11", "u21"], "R2")
    assert edit.moved == ("u01", "u11", "u21")
    terr = session.assess().territories.set_index("territory_id")
    assert terr.loc["R2", "units"] == 15
    assert terr.loc["R2", "potential_dev_pct"] == 25.0
    assert not terr.loc["R2", "ok"]
    assert not terr.loc["R1", "ok"]
    assert session.edited() == ["u01", "u11", "u21"]
    session.undo()
    assert session.assess().facts.ok
    assert session.edited() == []
    session.redo()
    assert session.edited() == ["u01", "u11", "u21"]


def test_the_live_figures_are_those_of_spmopt_assess(tmp_path: Path) -> None:
    session = open_grid(tmp_path)
    session.assign(["u01", "u11"], "R2")
    session.lock(["u00"])
    session.assign(["u00"], "R3")  # locked: stays
    live = session.assess()
    inputs = session.locked_inputs()
    independent = assess_alignment(inputs, session.data, session.alignment.copy())
    pd.testing.assert_frame_equal(live.territories, independent.territories)
    assert live.facts == independent.facts
    assert session.alignment["u00"] == "R1"


def test_locked_units_stay_until_unlocked_and_every_action_is_undoable(tmp_path: Path) -> None:
    session = open_grid(tmp_path)
    session.lock(["u00", "u10"])
    edit = session.assign(["u00", "u01"], "R2")
    assert edit.moved == ("u01",)
    assert edit.refused == ("u00",)
    assert "1 locked unit(s) stay: u00" in edit.message
    session.unlock(["u00"])
    assert session.locks == {"u10": "R1"}
    session.undo()  # the unlock
    session.undo()  # the move
    session.undo()  # the lock
    assert session.locks == {}
    assert session.alignment.to_dict() == {u: today(u) for u in UNITS}
    assert session.undo().message == "nothing to undo"


def test_an_unknown_territory_is_refused(tmp_path: Path) -> None:
    session = open_grid(tmp_path)
    with pytest.raises(DataError, match="'R9' is not a territory of this scenario"):
        session.assign(["u00"], "R9")


def test_re_optimising_keeps_the_moved_and_locked_units(tmp_path: Path) -> None:
    session = open_grid(tmp_path)
    session.assign(["u02"], "R1")
    session.lock(["u55"])
    locks = session.locks_for_reoptimising()
    assert locks == {"u02": "R1", "u55": "R3"}
    result = design_around(with_limit(session.config, 10), session.data, locks, lambda _: None)
    assert result["u02"] == "R1"
    assert result["u55"] == "R3"
    session.replace_alignment(pd.Series(result), "re-optimised")
    assert session.assess().facts.ok


def test_a_saved_version_is_a_folder_spmopt_run_accepts(tmp_path: Path) -> None:
    session = open_grid(tmp_path)
    session.assign(["u02"], "R1")
    session.assign(["u03"], "R3")
    session.lock(["u02"])
    folder = save_version(session, "v1")
    assert folder == tmp_path / "workbench" / "v1"
    saved = pd.read_csv(folder / "alignment.csv", dtype=str).set_index("unit_id")["territory_id"]
    assert saved.to_dict() == session.alignment.to_dict()
    assert pd.read_csv(folder / "locks.csv", dtype=str).values.tolist() == [["u02", "R1"]]
    result = CliRunner().invoke(app, ["run", str(folder / "scenario.yaml")])
    assert result.exit_code == 0, result.output
    run = tmp_path / "workbench" / "runs" / "v1"
    designed = pd.read_csv(run / "alignment.csv", dtype=str).set_index("unit_id")["territory_id"]
    assert designed["u02"] == "R1"  # the lock holds in the design around it
    candidate = pd.read_csv(run / "alignments" / "v1" / "territories.csv")
    assert candidate["units"].sum() == len(UNITS)
    versions = list_versions(session)
    assert [v.name for v in versions] == ["v1"]
    session.undo()  # the lock
    session.undo()  # u03's move
    moved, delta = compare(session, versions[0])
    assert moved == ["u03"]
    assert delta.set_index("territory_id").loc["R2", "units"] == 1


def test_versions_are_saved_only_under_the_scenarios_workbench_folder(tmp_path: Path) -> None:
    session = open_grid(tmp_path)
    for bad in ("../escape", "a/b", "", ".hidden"):
        with pytest.raises(DataError, match="version name"):
            save_version(session, bad)
    mine = tmp_path / "workbench" / "notes"
    mine.mkdir(parents=True)
    (mine / "todo.txt").write_text("my notes", encoding="utf-8")
    with pytest.raises(SpmoptError):
        save_version(session, "notes")
    assert (mine / "todo.txt").read_text(encoding="utf-8") == "my notes"
    assert sorted(p.name for p in mine.iterdir()) == ["todo.txt"]


def test_a_saved_version_opens_as_one_undoable_edit(tmp_path: Path) -> None:
    session = open_grid(tmp_path)
    session.assign(["u02"], "R1")
    session.lock(["u02"])
    save_version(session, "v1")
    session.undo()
    session.undo()
    assert session.edited() == []
    (version,) = list_versions(session)
    edit = session.open_version(version.alignment, version_locks(session, version), "v1")
    assert edit.moved == ("u02",)
    assert session.locks == {"u02": "R1"}
    session.undo()
    assert session.locks == {}
    assert session.edited() == []
    # A version's locks edited by hand into nonsense are refused with the file and row, the session untouched.
    (version.folder / "locks.csv").write_text("unit_id,territory_id\nu02,R9\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"locks.csv: row 2: territory_id 'R9'"):
        version_locks(session, version)
    (version.folder / "locks.csv").write_text("unit_id,territory_id\n", encoding="utf-8")
    assert version_locks(session, version) == {}


def test_a_cancelled_reoptimisation_stops_its_process_and_changes_nothing(tmp_path: Path) -> None:
    session = open_grid(tmp_path)
    session.assign(["u02"], "R1")
    before = session.alignment.copy()
    job = Reoptimisation(session.config, session.data, session.locks_for_reoptimising(), 60)
    job.cancel()
    assert job.finished
    assert not job._process.is_alive()
    assert all(m.kind != "done" for m in job.poll())
    pd.testing.assert_series_equal(session.alignment, before)


@pytest.mark.slow
def test_a_reoptimisation_reports_progress_then_an_alignment_that_keeps_the_edits(tmp_path: Path) -> None:
    session = open_grid(tmp_path)
    session.assign(["u02"], "R1")
    job = Reoptimisation(session.config, session.data, session.locks_for_reoptimising(), 10)
    messages = []
    deadline = time.monotonic() + 120
    while not job.finished and time.monotonic() < deadline:
        messages += job.poll()
        time.sleep(0.2)
    kinds = [m.kind for m in messages]
    assert "progress" in kinds
    assert kinds[-1] == "done", messages
    assert messages[-1].alignment["u02"] == "R1"


def test_units_without_a_rep_today_start_with_their_neighbours(tmp_path: Path) -> None:
    path = make_grid(tmp_path)
    # u00 is left out; u02's rep has left (neighbours u01 R1, u12 R2: a tie, the first name); u03 is left out too
    # (u13 R2, u04 R3 and u02, placed in the same round: R2).
    rows = [f"{u},{'GONE' if u == 'u02' else today(u)}" for u in UNITS if u not in ("u00", "u03")]
    (tmp_path / "current.csv").write_text("unit_id,territory_id\n" + "\n".join(rows) + "\n", encoding="utf-8")
    prepared = prepare(load_scenario(path))
    session = Session.open(path, prepared, None)
    assert [session.alignment[u] for u in ("u00", "u02", "u03")] == ["R1", "R1", "R2"]
    assert session.start_note.startswith("3 unit(s) have no rep today")
    assert "u00, u02, u03" in session.start_note
    assert session.assess().territories["units"].sum() == len(UNITS)
    # Without an adjacency graph, each goes to the nearest rep's home territory (R1's home is at 0.3, 2 km).
    base, filled = complete_today(
        prepared.data.current_alignment, dataclasses.replace(prepared.data, adjacency=None), session.rep_of
    )
    assert filled == ("u00", "u02", "u03")
    assert [base[u] for u in filled] == ["R1", "R2", "R2"]


def test_without_todays_alignment_every_unit_starts_with_its_nearest_rep(tmp_path: Path) -> None:
    path = make_grid(tmp_path)
    spec = yaml.safe_load(path.read_text())
    del spec["data"]["current_alignment"]
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    session = Session.open(path, prepare(load_scenario(path)), None)
    homes = {rep: (1000 * c + 300, 1000 * r) for rep, (c, r) in REPS.items()}
    for unit in UNITS:
        x, y = 1000 * int(unit[2]), 1000 * int(unit[1])
        nearest = min(homes, key=lambda rep: (homes[rep][0] - x) ** 2 + (homes[rep][1] - y) ** 2)
        assert session.alignment[unit] == nearest, unit
    assert session.start_name == "nearest reps"
    assert "no today's alignment" in session.start_note
