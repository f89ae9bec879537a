"""New hires on a small scenario: the quota stage and the simulator expect the same part-year sales of a rep who
starts mid-year with an empty pipeline, and every rep's effort answers forecast attainment the same way.

Four territories of equal potential; the rep of T4 starts in plan month 4. Quotas come from the quota stage's
inputs with the behaviour file's pipeline lag (`quota_inputs(..., lag=...)`): expected sales are the forecast
total shared by fair share, each quota 2% below its expectation, monthly quotas split on the ramped weights.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from sim_helpers import defaults, demo_plan, effort_table, with_param

from spmopt.comp.plan import CompPlan
from spmopt.config import QuotaConfig
from spmopt.data.loader import PlanningData
from spmopt.quota.inputs import QuotaInputs, quota_inputs
from spmopt.quota.periods import period_quotas
from spmopt.sim.cycle import pipeline_lag
from spmopt.sim.draws import QUARTER_CHECKS
from spmopt.sim.incentives import GRID_STEP, LEVELS, PlanContext, grid, plan_contexts, sigma_of_level
from spmopt.sim.inputs import SimInputs, sim_inputs
from spmopt.sim.params import BehaviourParams
from spmopt.sim.people import Person, person_quota, target_share
from spmopt.sim.replication import simulate_replication

SEED = 20270401
YEAR_START = dt.date(2027, 1, 1)
SEATS = ("T1", "T2", "T3", "T4")
HIRED = "T4"
START_MONTH = 4
FULL_YEAR = 10_000_000.0
"""Expected full-year sales of each territory at normal effort (currency units)."""
DEAL = 20_000.0
"""Mean deal: about 500 won deals a full year, so a few replications pin a seat's mean down to 2%."""
QUOTA_RATIO = 1 / 1.02


# ---------------------------------------------------------------------------------------------- the scenario


def planning_data(params: BehaviourParams) -> PlanningData:
    """Two units per territory (60/40 of its potential); accounts set so deals average `DEAL`."""
    rows = []
    for t in SEATS:
        for j, part in enumerate((0.6, 0.4)):
            potential = 2 * FULL_YEAR * part
            accounts = params.pipeline.deal_size_share.value * potential / DEAL
            rows.append(
                {"unit_id": f"{t}-U{j}", "x_km": 0.0, "y_km": 0.0, "potential": potential, "accounts": accounts}
            )
    units = pd.DataFrame(rows).set_index("unit_id")
    reps = pd.DataFrame(
        {
            "x_km": 0.0,
            "y_km": 0.0,
            "territory_id": list(SEATS),
            "target_share": 1.0,
            "start_month": [START_MONTH if t == HIRED else 0 for t in SEATS],
        },
        index=pd.Index([f"R-{t}" for t in SEATS], name="rep_id"),
    )
    return PlanningData(units=units, measures=("potential", "accounts"), reps=reps)


def alignment(data: PlanningData) -> pd.Series:
    return pd.Series([u.split("-")[0] for u in data.units.index], index=data.units.index, name="territory_id")


def stage_inputs(data: PlanningData, params: BehaviourParams, lagged: bool = True) -> QuotaInputs:
    cfg = QuotaConfig.model_validate({"target": 40_000_000, "attainment": {"dispersion": 0.1}})
    reps_of = {t: f"R-{t}" for t in SEATS}
    return quota_inputs(alignment(data), reps_of, data, cfg, lag=pipeline_lag(params) if lagged else None)


def expected_sales(inp: QuotaInputs) -> dict[str, float]:
    """The quota stage's expected sales: a forecast of `FULL_YEAR` a full-year territory, shared by fair share."""
    forecast = FULL_YEAR * sum(inp.ramp.values())
    return {t: forecast * inp.fair_share[t] for t in inp.territories}


def quota_table(inp: QuotaInputs) -> pd.DataFrame:
    """The quota stage's table: each quota `QUOTA_RATIO` x its expected sales, split on the ramped weights."""
    rows = []
    for t, expected in expected_sales(inp).items():
        annual = int(round(QUOTA_RATIO * expected / 1000)) * 1000
        months = period_quotas(annual, inp.month_weights[t], "month")
        rows.append(
            {
                "territory_id": t,
                "rep_id": inp.rep_id[t],
                "start_month": inp.start_month[t],
                "ramp_factor": inp.ramp[t],
                "expected_sales": expected,
                "annual_quota": annual,
                **{f"quota_{m}": v for m, v in months.items()},
            }
        )
    return pd.DataFrame(rows)


def jump_free(plan: CompPlan) -> CompPlan:
    """The demo target-incentive plan without the payout jumps (curves from 0, no bonuses, gate or SPIF): its pay
    rises ever faster with attainment up to the first cap, so a rep's effort must too. With the jumps, effort
    peaks just past each threshold by design, below any cap."""
    data = plan.model_dump(mode="json", by_alias=True)
    for m in data["measures"]:
        m["curve"] = [{"attainment": "0", "payout": "0"}, *[p for p in m["curve"] if float(p["attainment"]) >= 1]]
        m["bonuses"] = []
        m["gate"] = None
    data["spifs"] = []
    return CompPlan.model_validate(data)


def build(
    params: BehaviourParams, plans: list[CompPlan], lagged: bool = True
) -> tuple[SimInputs, list[PlanContext], pd.DataFrame]:
    data = planning_data(params)
    table = quota_table(stage_inputs(data, params, lagged))
    inputs = sim_inputs(data.units, alignment(data), table, params, YEAR_START, (0.25, 0.5, 0.75), accounts="accounts")
    return inputs, plan_contexts(plans, inputs, params, None, table), table


# ---------------------------------------------------------------------------------------------- monotone effort


def persons(inputs: SimInputs, seat: int, params: BehaviourParams) -> list[Person]:
    """The seat's first rep and a replacement after each turnover check (hired a vacancy after it)."""
    hired = bool(inputs.new_hire[seat])
    first = Person(seat, float(inputs.start_day[seat]), False, hired)
    vacancy = params.turnover.vacancy_days.value
    checks = [float(inputs.month_days[3 * (q + 1)]) + vacancy for q in range(QUARTER_CHECKS)]
    return [first, *(Person(seat, day, True, True) for day in checks if day > first.start)]


def first_cap(plan: CompPlan, ctx: PlanContext, seat: int) -> float:
    """Revenue attainment at which the first measure reaches its cap (measures' attainments move together along
    the rep's expected sales mix)."""
    caps = []
    for k, m in enumerate(plan.measures):
        at = next(a for a in np.arange(0, 4, 0.001) if m.payout_at(Fraction(str(round(a, 3)))) >= m.cap)
        scale = (ctx.quota[seat, :, k].sum() / ctx.quota[seat, :, 0].sum()) * (ctx.ray[seat, 0] / ctx.ray[seat, k])
        caps.append(at * scale)
    return min(caps)


def effort_by_attainment(
    inputs: SimInputs, ctx: PlanContext, params: BehaviourParams, person: Person, attainment: np.ndarray
) -> np.ndarray:
    """(levels, attainments) effort the simulator gives `person` when their forecast sales are `attainment` x their
    own annual quota: the forecast is read on the seat's table as a multiple of their normal-effort expectation."""
    seat = person.seat
    quota = person_quota(ctx, person, inputs.month_days, np.array(inputs.ramp))[:, 0].sum()
    ahead = inputs.ahead(person.start, person.ramped, person.lagged)
    expectation = (
        inputs.expected_amount(params.pipeline.win_probability)[seat] * ahead[max(int(np.ceil(person.start)), 0)]
    )
    x = attainment * quota / expectation
    g = np.minimum(np.rint(x / GRID_STEP).astype(np.int64), len(grid()) - 1)
    return effort_table(ctx, params, ctx.reference_rate)[seat][:, g]


def test_effort_never_falls_as_forecast_attainment_rises_below_the_cap() -> None:
    params = defaults()
    plan = jump_free(demo_plan("target_incentive"))
    inputs, (ctx,), _ = build(params, [plan])
    assert inputs.new_hire.tolist() == [False, False, False, True]
    cv = params.motivation.forecast_cv.value
    checked = 0
    for seat in range(len(SEATS)):
        cap = first_cap(plan, ctx, seat)
        for person in persons(inputs, seat, params):
            attainment = np.arange(0.0, cap, 0.005)
            effort = effort_by_attainment(inputs, ctx, params, person, attainment)
            for level in range(LEVELS):
                # The rep's uncertainty smooths pay over about 3 sd of the forecast, and marginal pay is a difference
                # over one grid step: within that much of the cap, the cap already pulls marginal pay down.
                below = attainment <= cap - 1.05 * (3 * sigma_of_level(level, cv) + 2 * GRID_STEP)
                steps = np.diff(effort[level, below])
                assert steps.min(initial=0.0) >= -1e-6, (  # pay is in whole cents: marginal pay flickers by 1e-8
                    f"seat {SEATS[seat]} ({'replacement' if person.replacement else 'first rep'} from day "
                    f"{person.start:g}), {level} months left: effort falls by {-steps.min():.3f} at attainment "
                    f"{attainment[below][int(np.argmin(steps)) + 1]:.3f}, below the cap {cap:.3f}"
                )
                checked += int(below.sum())
    assert checked > 1000


def test_a_new_hire_is_on_the_same_terms_as_everyone_else() -> None:
    """Quota over normal-effort expectation, as each rep's table prices it, is the same for a new hire as for the
    reps on board all year (a table priced on a full year against a part-year quota put a new hire on track at
    159% and made them ease off)."""
    params = defaults()
    inputs, (ctx,), _ = build(params, [demo_plan("target_incentive")])
    table_expectation = inputs.expected_amount(params.pipeline.win_probability) * ctx.spell
    ratio = ctx.annual_quota / table_expectation
    assert ctx.spell[:3] == pytest.approx(1.0)
    assert 0.3 < ctx.spell[3] < 0.6
    assert ratio[3] == pytest.approx(ratio[0], rel=0.01)


# ---------------------------------------------------------------------------------------------- expected sales


def new_hire_sales(params: BehaviourParams, lagged: bool, replications: int) -> tuple[float, float]:
    """(simulated mean sales at normal effort, quota-stage expected sales) of the new hire."""
    inputs, contexts, table = build(params, [demo_plan("target_incentive")], lagged)
    seat = SEATS.index(HIRED)
    years = (simulate_replication(inputs, contexts, params, SEED, r, fixed_effort=True)[0] for r in range(replications))
    sales = [year.revenue[seat].sum() / 100 for year in years]
    return float(np.mean(sales)), float(table.set_index("territory_id").at[HIRED, "expected_sales"])


def test_new_hire_sells_what_the_quota_stage_expects() -> None:
    """At normal effort, which is what the quota stage forecasts: the plan's pull on effort and deal timing come on
    top (a new hire who pulls next January's deals into December has no deals of their own pulled out of this
    January the year before, so timing adds to their year where it nets out for reps on board)."""
    # No skill spread: the seat's year then varies only with its deals (about 4% a replication), so 12
    # replications pin its mean within about 1%, well inside the 10% asserted.
    params = with_param(defaults(), "reps", "skill_sigma", 0.0)
    simulated, expected = new_hire_sales(params, lagged=True, replications=12)
    assert simulated / expected == pytest.approx(1.0, abs=0.10)
    # A quota ramp on work alone promises what an empty pipeline cannot deliver in the year.
    naive = expected_sales(stage_inputs(planning_data(params), params, lagged=False))[HIRED]
    assert simulated / naive < 0.85


# ---------------------------------------------------------------------------------------------- pay from the start


def test_a_new_hire_is_advanced_nothing_before_joining_and_paid_on_a_prorated_target() -> None:
    """The commission plan's 3-month draw (20,000.00 a month, recoverable) starts with the rep, as the comp stage
    pays it: the new hire of month 4 receives nothing in months 1-3 (the engine's default schedule would advance
    them the draw in those months), and the draw in their own first month."""
    params = with_param(defaults(), "reps", "skill_sigma", 0.0)
    plan = demo_plan("commission")
    assert plan.draw is not None
    assert plan.draw.periods == 3
    inputs, contexts, _ = build(params, [plan])
    seat = SEATS.index(HIRED)
    year = simulate_replication(inputs, contexts, params, SEED, 0, fixed_effort=True)[0]
    assert year.payment[seat, : START_MONTH - 1].tolist() == [0] * (START_MONTH - 1)
    assert year.payment[seat, START_MONTH - 1] >= 2_000_000  # the draw (cents) at least, in their first month


def test_target_share_is_the_year_left_from_the_start() -> None:
    days = 365.0
    assert target_share(Person(0, 0.0, False, False), days) == 1.0
    assert target_share(Person(0, 90.0, False, True), days) == pytest.approx(275 / 365)
    assert target_share(Person(0, 200.0, True, True), days) == pytest.approx(165 / 365)
