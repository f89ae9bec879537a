"""`assess_alignment` on a hand-made 3x3 grid, every figure computed by hand.

The grid's units u{r}{c} sit 1 km apart (x = c, y = r) with rook adjacency; reps A, B and C live in the middle
column of rows 0, 1 and 2, and today's alignment gives each rep its row. Every unit has potential 10 unless a test
says otherwise, so with equal shares each territory's target is 30 and a +-20% band is [24, 36].
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from instance_helpers import GRID, grid_units, make_instance, scenario

from spmopt.data.loader import load_planning_data
from spmopt.errors import DataError
from spmopt.scenario import load_scenario
from spmopt.territory.assess import Assessment, assess_alignment
from spmopt.territory.inputs import territory_inputs

ROWS = {u: "ABC"[int(u[1])] for u in GRID}
"""Today's alignment: rep A has row 0, B row 1, C row 2."""
REPS = [["A", 1000, 0], ["B", 1000, 1000], ["C", 1000, 2000]]


def assess(
    root: Path,
    alignment: dict[str, str],
    territory: dict | None = None,
    *,
    potential: dict[str, object] | None = None,
    reps: list[list[object]] | None = None,
    reps_header: tuple[str, ...] = ("rep_id", "x", "y"),
    locks: list[list[str]] | None = None,
) -> Assessment:
    """Write the grid scenario (reps, today's rows as current alignment) and assess `alignment` against it."""
    files = {
        "reps.csv": (reps_header, reps or REPS),
        "current.csv": (("unit_id", "territory_id"), [[u, t] for u, t in ROWS.items()]),
    }
    root.mkdir(parents=True, exist_ok=True)
    terr: dict[str, object] = {"territories": None, **(territory or {})}
    if locks is not None:
        files["locks.csv"] = (("unit_id", "territory_id"), locks)
        terr["locks"] = "locks.csv"
    spec = scenario(terr, data={"reps": "reps.csv", "current_alignment": "current.csv"})
    path = make_instance(root, spec, units=grid_units(potential), files=files)
    cfg = load_scenario(path)
    data = load_planning_data(cfg)
    return assess_alignment(territory_inputs(data, cfg), data, pd.Series(alignment))


def row(result: Assessment, territory: str) -> pd.Series:
    frame = result.territories.set_index("territory_id")
    return frame.loc[territory]


def moved(**changes: str) -> dict[str, str]:
    return {**ROWS, **changes}


def test_todays_rows_meet_every_requirement(tmp_path: Path) -> None:
    result = assess(tmp_path, ROWS)
    assert result.ok
    assert result.facts.failures == []
    assert list(result.territories["verdict"]) == ["ok", "ok", "ok"]
    assert list(result.territories["potential"]) == [30.0, 30.0, 30.0]
    assert list(result.territories["potential_outside"]) == [0.0, 0.0, 0.0]
    assert list(result.territories["pieces"]) == [1, 1, 1]
    assert result.facts.cut_edges == 6  # three vertical edges between rows 0 and 1, three between 1 and 2
    assert result.facts.moved_share_pct == 0.0
    # Each rep sits on the middle unit of its row: two units 1 km away, weighted by 1 -> 2 km per territory.
    assert result.facts.compactness == pytest.approx(6.0)
    assert list(result.territories["max_distance_km"]) == [1.0, 1.0, 1.0]


def test_moving_one_unit_breaks_both_bands_by_the_hand_computed_excess(tmp_path: Path) -> None:
    result = assess(tmp_path, moved(u02="B"))  # A keeps 20, B gets 40, both against target 30 and [24, 36]
    assert not result.ok
    a, b, c = row(result, "A"), row(result, "B"), row(result, "C")
    assert (a["potential"], a["potential_dev"], a["potential_dev_pct"], a["potential_outside"]) == (
        20,
        -10,
        -33.333,
        -4,
    )
    assert (b["potential"], b["potential_dev"], b["potential_dev_pct"], b["potential_outside"]) == (40, 10, 33.333, 4)
    assert (a["potential_lower"], a["potential_upper"]) == (24, 36)
    assert a["verdict"] == (
        "potential 20 (-33.33% vs target 30) falls short of its lower limit 24 (-20%) by 4 (13.33 points)"
    )
    assert b["verdict"] == "potential 40 (+33.33% vs target 30) exceeds its upper limit 36 (+20%) by 4 (13.33 points)"
    assert c["verdict"] == "ok"
    assert list(result.territories["ok"]) == [False, False, True]
    assert result.facts.failures == [f"A: {a['verdict']}", f"B: {b['verdict']}"]
    assert result.facts.bands[0].outside == ["A", "B"]
    assert result.facts.bands[0].max_abs_dev_pct == 33.333


def test_targets_follow_the_reps_shares(tmp_path: Path) -> None:
    # Shares 1:1:2 of 90 -> targets 22.5, 22.5, 45; +-20% -> A and B in [18, 27], C in [36, 54].
    reps = [[*r, s] for r, s in zip(REPS, (1, 1, 2), strict=True)]
    result = assess(tmp_path, ROWS, reps=reps, reps_header=("rep_id", "x", "y", "target_share"))
    a, c = row(result, "A"), row(result, "C")
    assert (a["potential_target"], a["potential_upper"], a["potential_outside"]) == (22.5, 27, 3)
    assert (c["potential_target"], c["potential_lower"], c["potential_outside"]) == (45, 36, -6)
    assert a["verdict"] == (
        "potential 30 (+33.33% vs target 22.5) exceeds its upper limit 27 (+20%) by 3 (13.33 points)"
    )
    assert (
        c["verdict"]
        == "potential 30 (-33.33% vs target 45) falls short of its lower limit 36 (-20%) by 6 (13.33 points)"
    )


def test_a_disconnected_territory_is_named_with_its_pieces(tmp_path: Path) -> None:
    # u20 joins A: row 0 plus a unit two rows away; A's 40 stays inside a +-50% band [15, 45].
    wide = {"balance": [{"measure": "potential", "tolerance": 0.5}]}
    result = assess(tmp_path, moved(u20="A"), wide)
    a = row(result, "A")
    assert (bool(a["contiguous"]), a["pieces"], a["piece_units"]) == (False, 2, "3+1")
    assert a["verdict"] == "not contiguous: 2 pieces of 3 and 1 units"
    assert result.facts.failures == ["A: not contiguous: 2 pieces of 3 and 1 units"]
    assert result.facts.contiguous_territories == 2
    assert row(result, "C")["piece_units"] == "2"


def test_a_disconnected_territory_passes_when_contiguity_is_not_required(tmp_path: Path) -> None:
    loose = {"balance": [{"measure": "potential", "tolerance": 0.5}], "contiguity": False}
    result = assess(tmp_path, moved(u20="A"), loose)
    assert result.ok
    assert row(result, "A")["pieces"] == 2  # still reported, not judged
    assert result.facts.contiguity_required is False


def test_a_lock_violated_names_the_unit_and_where_it_is(tmp_path: Path) -> None:
    wide = {"balance": [{"measure": "potential", "tolerance": 0.5}]}
    result = assess(tmp_path, moved(u00="B"), wide, locks=[["u00", "A"], ["u22", "C"]])
    a = row(result, "A")
    assert (a["locks_broken"], a["locked_elsewhere"]) == (1, "u00 (in B)")
    assert a["verdict"] == "1 locked unit(s) elsewhere: u00 (in B)"
    assert (result.facts.locked_units, result.facts.locks_broken) == (2, 1)
    assert result.facts.failures == ["A: 1 locked unit(s) elsewhere: u00 (in B)"]


def test_disruption_share_of_the_measure_against_the_cap(tmp_path: Path) -> None:
    # Potential 100 in all, u02 holds 20: moving u02 (20) and u12 (10) moves 30% of potential; the cap is 25%.
    # (B is then cut in two, so contiguity is off: only disruption is under test.)
    band = [{"measure": "potential", "tolerance": 0.5}]
    capped = {"balance": band, "max_disruption": 0.25, "contiguity": False}
    result = assess(tmp_path, moved(u02="B", u12="C"), capped, potential={"u02": 20})
    assert result.facts.moved_share_pct == pytest.approx(30.0)
    assert (result.facts.disruption_measure, result.facts.max_disruption_pct) == ("potential", 25.0)
    assert result.facts.failures == [
        "disruption: 30.00% of potential moved from today's alignment, over the cap of 25.00% by 5.00 points"
    ]
    assert list(result.territories["verdict"]) == ["ok", "ok", "ok"]  # a whole-alignment requirement


def test_disruption_within_the_cap_holds_and_without_a_cap_units_are_counted(tmp_path: Path) -> None:
    band = [{"measure": "potential", "tolerance": 0.5}]
    capped = {"balance": band, "max_disruption": 0.35, "contiguity": False}
    assert assess(tmp_path / "capped", moved(u02="B", u12="C"), capped, potential={"u02": 20}).ok
    free = assess(tmp_path / "free", moved(u02="B", u12="C"), {"balance": band, "contiguity": False})
    assert free.facts.moved_share_pct == pytest.approx(100 * 2 / 9)
    assert free.facts.disruption_measure is None


def test_a_rep_left_without_units_fails_with_no_units(tmp_path: Path) -> None:
    result = assess(tmp_path, {u: "A" if u[1] in "01" else "B" for u in GRID})
    c = row(result, "C")
    assert (c["units"], c["potential"], c["potential_dev_pct"]) == (0, 0.0, -100.0)
    assert c["verdict"] == "no units"
    assert "C: no units" in result.facts.failures


def test_territories_named_by_rep_id_are_reported_under_the_reps_territory_id(tmp_path: Path) -> None:
    reps = [[*r, t] for r, t in zip(REPS, ("North", "Mid", "South"), strict=True)]
    names = {"A": "North", "B": "Mid", "C": "South"}
    header = ("rep_id", "x", "y", "territory_id")
    by_rep = assess(tmp_path / "by_rep", ROWS, reps=reps, reps_header=header)
    by_name = assess(tmp_path / "by_name", {u: names[t] for u, t in ROWS.items()}, reps=reps, reps_header=header)
    pd.testing.assert_frame_equal(by_rep.territories, by_name.territories)
    assert list(by_rep.territories["territory_id"]) == ["Mid", "North", "South"]
    assert set(by_rep.alignment["territory_id"]) == {"North", "Mid", "South"}


@pytest.mark.parametrize(
    ("alignment", "message"),
    [
        ({u: "A" for u in GRID[:-1]}, "the alignment leaves 1 unit(s) without a territory, e.g. u22"),
        ({**ROWS, "u99": "A"}, "the alignment names unit u99, which is not a unit of the scenario"),
        ({**ROWS, "u22": "Z"}, "the alignment's territory Z is neither a rep_id nor a territory_id of the reps"),
    ],
)
def test_an_incomplete_or_unknown_alignment_is_refused(tmp_path: Path, alignment: dict, message: str) -> None:
    with pytest.raises(DataError) as err:
        assess(tmp_path, alignment)
    assert str(err.value) == message


def test_chosen_centres_cannot_be_assessed(tmp_path: Path) -> None:
    path = make_instance(tmp_path)
    cfg = load_scenario(path)
    data = load_planning_data(cfg)
    with pytest.raises(DataError, match="needs the scenario's reps"):
        assess_alignment(territory_inputs(data, cfg), data, pd.Series(ROWS))
