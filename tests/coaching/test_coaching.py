"""Coaching uplift: the estimator recovers a known effect, the allocation MILP is optimal and respects capacity,
and bad input is refused clearly."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from spmopt.coaching.allocate import CoachingInputs, allocate
from spmopt.coaching.uplift import UpliftModel, fit, read_history, synthetic_history
from spmopt.errors import DataError, InfeasibleModelError

TRUE = UpliftModel(0.15, 0.15, 0.15, 6.0, 0.4, "truth")
PRIOR = UpliftModel(0.19, 0.12, 0.25, 6.0, 0.4, "prior")
REPS = [f"R{k:02d}" for k in range(60)]


def test_fixed_effects_estimate_recovers_a_known_uplift_despite_targeted_coaching() -> None:
    history = synthetic_history(REPS, 24, TRUE, np.random.default_rng(11))
    model = fit(history)
    assert model.max_uplift_low < TRUE.max_uplift < model.max_uplift_high
    assert model.max_uplift_low > 0.05  # the interval is informative, not just wide
    assert model.observations == 60 * 24
    # Weaker reps get more coaching: a pooled comparison without rep effects gets the sign wrong.
    per_rep = history.groupby("rep_id").agg(hours=("coaching_hours", "mean"), sales=("sales", "mean"))
    assert np.corrcoef(per_rep["hours"], np.log(per_rep["sales"]))[0, 1] < 0


def test_zero_uplift_gives_an_interval_covering_zero() -> None:
    none = UpliftModel(0.0, 0.0, 0.0, 6.0, 0.4, "truth")
    model = fit(synthetic_history(REPS, 24, none, np.random.default_rng(5)))
    assert model.max_uplift_low < 0 < model.max_uplift_high


def test_uplift_saturates_and_decays() -> None:
    hours = np.array([0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 64.0])
    u = PRIOR.steady_uplift(hours)
    assert u[0] == 0
    assert np.all(np.diff(u) > 0)
    assert np.all(np.diff(np.diff(u) / np.diff(hours)) < 0)  # diminishing returns: each hour adds less
    assert u[-1] < PRIOR.max_uplift
    path = PRIOR.path(np.array([8.0] * 6 + [0.0] * 6))
    assert path[0] == 0  # hours act from the next month
    assert path[6] > path[5]
    assert np.all(np.diff(path[7:]) < 0)  # without reinforcement the uplift decays


def plan_value(inp: CoachingInputs, model: UpliftModel, h: np.ndarray) -> float:
    """Margin of the steady uplift over the months on board less the full cost of the hours given."""
    months = inp.months_on_board()
    return float(inp.margin * (inp.value * model.steady_uplift(h)).sum() - inp.hour_cost * (months * h).sum())


def brute_force(inp: CoachingInputs, model: UpliftModel) -> float:
    """Best total value over every combination of slots (tiny cases only)."""
    options = [
        np.arange(lo, hi + inp.step / 2, inp.step) for lo, hi in zip(inp.min_hours, inp.top_hours(), strict=True)
    ]
    best = -np.inf
    for hours in itertools.product(*options):
        h = np.array(hours)
        if any(
            h[[k for k, m in enumerate(inp.manager) if m == mgr]].sum() > cap + 1e-9
            for mgr, cap in inp.capacity.items()
        ):
            continue
        best = max(best, plan_value(inp, model, h))
    return best


@pytest.mark.parametrize("capacity", [0.0, 1.0, 2.5, 4.0, 20.0])
@pytest.mark.parametrize("new_hires", [False, True])
def test_allocation_equals_brute_force_and_respects_capacity(capacity: float, new_hires: bool) -> None:
    inp = CoachingInputs(
        reps=("A", "B", "C", "D"),
        manager=("M", "M", "M", "N"),
        value=np.array([10e8, 5e8, 20e8, 8e8]),
        min_hours=np.array([0.0, 0.0, 0.5, 0.0]),
        max_hours=np.array([3.0, 3.0, 3.0, 2.0]),
        capacity={"M": max(capacity, 0.5), "N": capacity},
        hour_cost=100_000.0,  # $1,000 an hour of a manager's time
        # Two reps joining mid-year (hours charged for their months only), margin-valued, a history covering 2.6 h.
        months=np.array([12.0, 12.0, 9.0, 4.0]) if new_hires else None,
        margin=0.6 if new_hires else 1.0,
        covered=2.6 if new_hires else None,
    )
    table, report = allocate(inp, PRIOR)
    hours = table["hours_per_month"].to_numpy()
    assert hours[:3].sum() <= inp.capacity["M"] + 1e-9
    assert hours[3] <= inp.capacity["N"] + 1e-9
    assert np.all(hours >= inp.min_hours)
    assert np.all(hours <= inp.top_hours())
    value = plan_value(inp, PRIOR, hours)
    assert value == pytest.approx(brute_force(inp, PRIOR), rel=1e-9)
    assert report.objective == pytest.approx(value, rel=1e-7)


def test_hours_go_where_the_marginal_uplift_is_highest() -> None:
    # Same curve, one slot to give: it goes to the rep whose sales it multiplies most.
    inp = CoachingInputs(
        reps=("SMALL", "BIG"),
        manager=("M", "M"),
        value=np.array([4e8, 9e8]),
        min_hours=np.zeros(2),
        max_hours=np.full(2, 4.0),
        capacity={"M": 0.5},
    )
    table, _ = allocate(inp, PRIOR)
    assert table.set_index("rep_id")["hours_per_month"].to_dict() == {"SMALL": 0.0, "BIG": 0.5}
    # With two slots, the big rep's second slot (worth less than its first) still beats the small rep's first
    # only if 9 (u(1) - u(0.5)) > 4 u(0.5); check against the curve by hand.
    u_half, u_one = PRIOR.steady_uplift(0.5), PRIOR.steady_uplift(1.0)
    expected = {"SMALL": 0.0, "BIG": 1.0} if 9 * (u_one - u_half) > 4 * u_half else {"SMALL": 0.5, "BIG": 0.5}
    table, _ = allocate(_with(inp, 1.0), PRIOR)
    assert table.set_index("rep_id")["hours_per_month"].to_dict() == expected
    assert table["uplift_ci_low"].le(table["expected_uplift"]).all()
    assert table["expected_uplift"].le(table["uplift_ci_high"]).all()


def _with(inp: CoachingInputs, capacity: float) -> CoachingInputs:
    return CoachingInputs(inp.reps, inp.manager, inp.value, inp.min_hours, inp.max_hours, {"M": capacity}, inp.step)


def test_capacity_below_minimum_hours_names_the_manager() -> None:
    inp = CoachingInputs(
        ("A", "B"),
        ("M-NORTH", "M-NORTH"),
        np.array([1e8, 1e8]),
        np.array([2.0, 2.0]),
        np.array([4.0, 4.0]),
        {"M-NORTH": 3.0},
    )
    with pytest.raises(InfeasibleModelError, match="manager M-NORTH: capacity 3 h a month is below the 4 h"):
        allocate(inp, PRIOR)


def write_history(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "coaching.csv"
    path.write_text("rep_id,period,coaching_hours,sales\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (["R01,2026-01,-2,1000"], "row 2: coaching_hours = -2: must be >= 0"),
        (["R01,2026-01,1,1000", "R99,2026-01,1,1000"], "row 3: rep R99 is not a rep of the scenario"),
        (["R01,2026-13,1,1000"], "row 2: period '2026-13' is not YYYY-MM"),
        (["R01,2026-01,1,0"], "row 2: sales = 0: must be > 0"),
        (["R01,2026-01,1,10", "R01,2026-01,2,10"], "row 3: a second row for R01"),
    ],
)
def test_bad_history_rows_are_named(tmp_path: Path, rows: list[str], message: str) -> None:
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_history(write_history(tmp_path, rows), {"R01", "R02"})


def test_unbalanced_history_is_refused(tmp_path: Path) -> None:
    rows = [f"R0{r},2026-{m:02d},1,1000" for r in (1, 2, 3) for m in range(1, 8) if not (r == 2 and m == 5)]
    history = read_history(write_history(tmp_path, rows), None)
    with pytest.raises(DataError, match="balanced panel"):
        fit(history)


def test_model_round_trips_through_its_file(tmp_path: Path) -> None:
    PRIOR.save(tmp_path / "m.json")
    assert UpliftModel.load(tmp_path / "m.json") == PRIOR


def test_a_model_finding_no_gain_gives_everyone_their_minimum() -> None:
    harmful = UpliftModel(-0.05, -0.1, 0.01, 6.0, 0.4, "two-way fixed effects")
    inp = CoachingInputs(
        ("A", "B"), ("M", "M"), np.array([1e8, 2e8]), np.array([0.5, 0.0]), np.array([4.0, 4.0]), {"M": 6.0}
    )
    table, _ = allocate(inp, harmful)
    assert table["hours_per_month"].tolist() == [0.5, 0.0]
    assert table["why"].str.contains("no gain").all()
