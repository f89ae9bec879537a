"""Scenarios and measurements shared by the validity tests and `measure.py`.

Every scenario runs through the simulator's public entry point, `spmopt.pipeline.simulate_year(...,
local=True)`, and every figure is read from the `SimulationResult` tables (`seat_months`, `replications`,
`summary`, `coaching_roi`), so the suite does not depend on the simulator's internals:

* `synthetic_run`: a small synthetic scenario (12 seats of 3 units, 10M expected sales a seat at normal effort,
  80k deals) with each seat's annual quota a chosen multiple of its expected sales, under named plans;
* `demo_run`: the demo scenario (`scenarios/demo.yaml`, nine reps, its plans, quotas from the quota stage) on its
  current alignment, so no territory design is solved.

Files (behaviour defaults, plans, the demo) are read from the tree the imported `spmopt` package belongs to, so
`PYTHONPATH=/path/to/other/tree` measures that tree with its own files. Runs are cached per process: a test
module and `measure.py` pay for each scenario once.

Each `measure_*` function returns a `Figure` (mean, 95% interval, what it is) and the module-level bounds are
what the tests assert; `measure.py` prints the same figures against the same bounds.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy import stats

import spmopt
from spmopt.comp.plan import CompPlan, load_plan
from spmopt.config import ScenarioConfig
from spmopt.data.loader import PlanningData, load_planning_data, read_candidate_alignment
from spmopt.pipeline import simulate_year
from spmopt.quota.plan import QuotaPlan, set_quotas
from spmopt.scenario import load_scenario
from spmopt.sim.cycle import scenario_lag
from spmopt.sim.montecarlo import SimulationResult

ROOT = Path(spmopt.__file__).resolve().parents[1]
DEFAULTS = ROOT / "models" / "behaviour" / "defaults.yaml"
PLANS = ROOT / "scenarios" / "plans"
DEMO = ROOT / "scenarios" / "demo.yaml"

SEED = 20270101
ANNUAL = 10_000_000.0
"""Expected sales per synthetic seat at normal effort (the demo's scale, so its plans' target pay fits)."""
DEAL = 80_000.0
"""Mean deal of the synthetic seats: about 125 won deals a seat-year keeps the runs small."""
SEATS = 12
UNIT_SHARES = (0.5, 0.3, 0.2)
"""Each synthetic seat's potential over its three units."""

# Replications: enough for the intervals below to be a few points wide, small enough for one core.
SYNTHETIC_REPLICATIONS = 30
DEMO_REPLICATIONS = 60
DEMO_TIMING_REPLICATIONS = 30

# ---------------------------------------------------------------------------------------------- bounds asserted
GIVE_UP_PACE = 0.5
"""A rep is far behind when January-September sales put them on pace for less than 50% of quota."""
GIVE_UP_MAX_RATIO = 0.95
"""Far-behind reps' November-December effort over their own January-March effort: at most 0.95 (falls)."""
CAP_MAX_CHANGE = -0.05
"""Capped minus uncapped November-December effort, relative, for reps headed past the cap: at most -5%."""
ACCELERATOR_MIN_RATIO = 0.98
"""Reps past quota by October under an accelerator: November-December over January-March effort at least 0.98."""
QUARTERLY_BONUS_MIN_GAIN = 0.0
"""Weak performers' revenue with quarterly bonuses over annual-only, relative: above 0 (interval above 0)."""
DECEMBER_RANGE = (1.15, 1.8)
"""December over the mean mid-quarter month (Feb, May, Aug, Nov); the demo's FY2027 transactions: 1.47."""
QUARTER_END_RANGE = (1.10, 1.65)
"""Mean quarter-end month (Mar, Jun, Sep, Dec) over the mean mid-quarter month; FY2027 transactions: 1.36."""
TIMING_COST_RANGE = (0.02, 0.10)
"""Revenue lost to deal timing under the non-linear plan, share of revenue without timing (Larkin: 6-8%)."""
REDESIGN_RANGE = (0.045, 0.135)
"""Revenue gain of the redesigned plan over the demo plan: 9% (Misra & Nair) +- half of it."""
COACHING_RETURN_RANGE = (1.0, 8.9)
"""Coaching return on cost, (margin uplift - extra pay) / cost: published coaching ROI studies report benefits of
5.7x (McGovern et al. 2001) to 8.9x (Anderson 2001, 788% net with retention) the cost; above 1 it pays."""
COACHING_UPLIFT_RANGE = (0.0, 0.19)
"""Coaching's relative revenue uplift: at most the +19% the Sales Executive Council reports for core performers
with 3+ hours a month (107% against 88% of quota)."""
SHARE_AT_QUOTA_TOLERANCE = 0.05
"""Simulated share of reps at quota within 5 points of the quota stage's predicted share."""
NEW_HIRE_TOLERANCE = 0.10
"""A new hire's simulated sales within 10% of the quota stage's expected sales."""


@dataclass(frozen=True, slots=True)
class Figure:
    """A measured figure: mean over replications (or seat-years) with its 95% Student-t interval."""

    value: float
    low: float
    high: float
    n: int
    what: str

    def __str__(self) -> str:
        return f"{self.value:.4g} (95% CI {self.low:.4g} to {self.high:.4g}, n={self.n}; {self.what})"


def figure(values: Iterable[float], what: str) -> Figure:
    v = np.asarray(list(values), dtype=float)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return Figure(float("nan"), float("nan"), float("nan"), 0, what)
    mean = float(v.mean())
    if len(v) < 2:
        return Figure(mean, float("nan"), float("nan"), 1, what)
    half = float(stats.t.ppf(0.975, len(v) - 1)) * float(v.std(ddof=1)) / np.sqrt(len(v))
    return Figure(mean, mean - half, mean + half, len(v), what)


def relative(num: np.ndarray, den: np.ndarray, what: str) -> Figure:
    """mean(num) / mean(den) - 1 over paired replications, with a delta-method interval."""
    r = ratio_figure(num, den, what)
    return Figure(r.value - 1, r.low - 1, r.high - 1, r.n, what)


def ratio_figure(num: np.ndarray, den: np.ndarray, what: str) -> Figure:
    """Ratio of means with a delta-method interval over paired replications (num_r, den_r)."""
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    ratio = num.mean() / den.mean()
    # Linearised ratio per replication: (num_r - ratio den_r) / mean(den).
    lin = (num - ratio * den) / den.mean()
    f = figure(lin, what)
    return Figure(float(ratio), float(ratio + f.low), float(ratio + f.high), f.n, what)


# ---------------------------------------------------------------------------------------------- plans


def _demo_plan_dict(name: str) -> dict:
    return load_plan(PLANS / f"{name}.yaml").model_dump(mode="json", by_alias=True)


def _measure(plan: dict, name: str) -> dict:
    return next(m for m in plan["measures"] if m["name"] == name)


@cache
def plan(name: str) -> CompPlan:
    """A plan by name: the demo's own plans and the variants the facts compare.

    * `target_incentive`, `commission`: the demo plans (`scenarios/plans/`).
    * `target_incentive_uncapped`: the target-incentive plan with its caps removed (revenue 2.5x, margin 2.0x):
      a pure accelerator above quota (slope 2 on revenue).
    * `redesign`: the target-incentive plan without the features Misra & Nair found to depress effort (pay that
      stops at a ceiling, or that a rep far below quota cannot reach): the revenue curve is one straight line
      from 45% attainment through 100% (payout 1) at about the old plan's on-track slope (1.8, continued above
      quota), with no threshold jump; no caps; no margin gate. Same target incentive, same measures.
    * `decelerator`: the uncapped plan with the revenue slope above quota cut from 2 to 0.5 (a control).
    * `annual_bonus`, `quarterly_bonus`: 0.4% commission on revenue plus four 5,000 bonuses at 97%, 98%, 99% and
      100% attainment, earned on year-to-date attainment at the year end (annual) or each frozen at the end of
      quarter 1, 2, 3 and 4 (`by_period`: quarterly pacers). Target incentive 60,000 = 40,000 commission + 20,000
      bonuses at a 10M quota.
    """
    if name in ("target_incentive", "commission"):
        return load_plan(PLANS / f"{name}.yaml")
    if name == "target_incentive_uncapped":
        raw = _demo_plan_dict("target_incentive")
        raw["name"] = name
        for m in raw["measures"]:
            m["cap"] = None
        return CompPlan.model_validate(raw)
    if name == "redesign":
        raw = _demo_plan_dict("target_incentive")
        raw["name"] = name
        revenue, margin = _measure(raw, "revenue"), _measure(raw, "margin")
        # One straight line through 100% attainment at about the demo plan's on-track slope (1.8 x target pay per
        # quota), from 45% attainment, without the threshold jump and without a cap.
        revenue["curve"] = [
            {"attainment": "0.45", "payout": "0"},
            {"attainment": "1.0", "payout": "1.0"},
            {"attainment": "1.5", "payout": "1.9"},
        ]
        revenue["cap"] = margin["cap"] = None
        margin["gate"] = None
        return CompPlan.model_validate(raw)
    if name == "decelerator":  # negative control for the accelerator fact: pay past quota flattens
        raw = _demo_plan_dict("target_incentive")
        raw["name"] = name
        revenue = _measure(raw, "revenue")
        revenue["curve"] = [*revenue["curve"][:-1], {"attainment": "1.5", "payout": "1.25"}]
        for m in raw["measures"]:
            m["cap"] = None
        return CompPlan.model_validate(raw)
    if name in ("annual_bonus", "quarterly_bonus"):
        quarterly = name == "quarterly_bonus"
        levels = ("0.97", "0.98", "0.99", "1.0")
        bonuses = [
            {"attainment": Decimal(a), "amount": Decimal("5000.00"), **({"by_period": k + 1} if quarterly else {})}
            for k, a in enumerate(levels)
        ]
        return CompPlan.model_validate(
            {
                "name": name,
                "year_start": "2027-01-01",
                "payout": "quarter",
                "target_incentive": Decimal("60000.00"),
                "base_salary": Decimal("90000.00"),
                "measures": [{"name": "revenue", "tiers": [{"from": 0, "rate": Decimal("0.004")}], "bonuses": bonuses}],
            }
        )
    raise KeyError(f"no plan named {name}")


# ---------------------------------------------------------------------------------------------- behaviour files


def behaviour_variant(folder: Path, changes: tuple[tuple[str, float], ...]) -> Path:
    """The default behaviour file with `section.name` values replaced (e.g. ("timing.movable_share", 0.0))."""
    raw = yaml.safe_load(DEFAULTS.read_text(encoding="utf-8"))
    for key, value in changes:
        section, name = key.split(".")
        raw[section][name]["value"] = value
    path = folder / "behaviour.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------- synthetic runs


@dataclass(frozen=True, slots=True)
class Run:
    """A simulated scenario: the result and each seat's annual quota and quota-stage expectation (currency)."""

    result: SimulationResult
    quota: pd.Series
    """territory_id -> annual quota."""
    expected: pd.Series
    """territory_id -> the quota stage's expected sales."""
    quota_plan: QuotaPlan | None = None
    coaching: object | None = None


def _deal_size_share() -> float:
    raw = yaml.safe_load(DEFAULTS.read_text(encoding="utf-8"))
    return float(raw["pipeline"]["deal_size_share"]["value"])


@cache
def synthetic_run(
    plans: tuple[str, ...],
    multiples: tuple[float, ...],
    replications: int = SYNTHETIC_REPLICATIONS,
    changes: tuple[tuple[str, float], ...] = (),
    seed: int = SEED,
) -> Run:
    """`len(multiples)` seats, seat k's annual quota `multiples[k]` x its expected sales, each plan simulated
    on the same draws (the first is the baseline), reps on board all year."""
    n = len(multiples)
    territories = [f"T{k + 1:02d}" for k in range(n)]
    share = _deal_size_share()
    rows = []
    for t in territories:
        for j, part in enumerate(UNIT_SHARES):
            potential = 2 * ANNUAL * part
            rows.append({"unit_id": f"{t}-U{j + 1}", "territory": t, "potential": potential})
    units = pd.DataFrame(rows).set_index("unit_id")
    # Mean deal = deal_size_share x potential / accounts (the simulator's rule): accounts set for an 80k deal.
    units["accounts"] = share * units["potential"] / DEAL
    units["x_km"] = 0.0
    units["y_km"] = 0.0
    alignment = units["territory"].rename("territory_id")
    quota = pd.Series([round(m * ANNUAL / 1000) * 1000 for m in multiples], index=territories, dtype=float)
    table = pd.DataFrame(
        {
            "territory_id": territories,
            "rep_id": [f"R{k + 1:02d}" for k in range(n)],
            "start_month": 0,
            "ramp_factor": 1.0,
            "expected_sales": ANNUAL,
            "annual_quota": quota.to_numpy(),
        }
    )
    data = PlanningData(units=units[["x_km", "y_km", "potential", "accounts"]], measures=("potential", "accounts"))
    with tempfile.TemporaryDirectory(prefix="spmopt-validity-") as tmp:
        behaviour = behaviour_variant(Path(tmp), changes) if changes else DEFAULTS
        cfg = ScenarioConfig.model_validate(
            {
                "name": "validity",
                "seed": seed,
                "data": {"units": "units.csv"},
                "territory": {"territories": n},
                "quota": {"target": 1000, "attainment": {"dispersion": 0.25}},
                "comp": {"plans": [f"{p}.yaml" for p in plans], "transactions": "transactions.csv"},
                "simulation": {
                    "behaviour": str(behaviour),
                    "replications": replications,
                    "workers": 1,
                    "accounts": "accounts",
                },
            }
        )
        result = simulate_year(cfg, data, alignment, table, [plan(p) for p in plans], local=True).simulation
    expected = pd.Series(ANNUAL, index=territories)
    return Run(result=result, quota=quota, expected=expected)


# ---------------------------------------------------------------------------------------------- the demo


@cache
def demo_run(replications: int = DEMO_REPLICATIONS, coaching: bool = True, timing: bool = True) -> Run:
    """The demo on its current alignment: quota stage (calibrated to 60% at quota), then the target-incentive
    plan simulated, with the scenario's coaching plan played on the same draws when `coaching`."""
    cfg = load_scenario(DEMO, [f"simulation.replications={replications}", "simulation.workers=1"])
    data = load_planning_data(cfg)
    alignment, reps_of = read_candidate_alignment(cfg.alignments["current"], data, "current alignment")
    quotas = set_quotas(cfg.quota, data, alignment, reps_of, cfg.seed, lag=scenario_lag(cfg.simulation))
    comp = cfg.comp.model_copy(update={"plans": tuple(p for p in cfg.comp.plans if p.stem == "target_incentive")})
    cfg = cfg.model_copy(update={"comp": comp, "coaching": cfg.coaching if coaching else None})
    plans = [load_plan(p) for p in comp.plans]
    with tempfile.TemporaryDirectory(prefix="spmopt-validity-") as tmp:
        if not timing:
            behaviour = behaviour_variant(Path(tmp), (("timing.movable_share", 0.0),))
            cfg = cfg.model_copy(update={"simulation": cfg.simulation.model_copy(update={"behaviour": behaviour})})
        year = simulate_year(cfg, data, alignment, quotas.table, plans, local=True)
        result, plan_of_coaching = year.simulation, year.coaching
    table = quotas.table.set_index("territory_id")
    return Run(
        result=result,
        quota=table["annual_quota"].astype(float),
        expected=table["expected_sales"].astype(float),
        quota_plan=quotas,
        coaching=plan_of_coaching,
    )


# ---------------------------------------------------------------------------------------------- table helpers


def months(result: SimulationResult, plan_name: str, column: str) -> pd.DataFrame:
    """(replication, territory_id) x month 1..12 table of one seat_months column under one plan."""
    sm = result.seat_months
    part = sm[sm["plan"] == plan_name]
    return part.pivot(index=["replication", "territory_id"], columns="month", values=column)


def stayers(result: SimulationResult, plan_names: Iterable[str]) -> pd.Index:
    """Seat-years (replication, territory_id) with no leaver under any of the plans: one person all year."""
    keep = None
    for p in plan_names:
        left = months(result, p, "leavers").sum(axis=1)
        ok = left.index[left == 0]
        keep = ok if keep is None else keep.intersection(ok)
    assert keep is not None
    return keep


def _span(table: pd.DataFrame, first: int, last: int, how: str = "mean") -> pd.Series:
    cols = list(range(first, last + 1))
    return table[cols].mean(axis=1) if how == "mean" else table[cols].sum(axis=1)


# ---------------------------------------------------------------------------------------------- 1-3: effort


GIVE_UP_PLANS = ("target_incentive",)
GIVE_UP_MULTIPLES = (1.0, 1.6, 2.2) * 4
"""Quotas at 1.0, 1.6 and 2.2 x expected sales: a third of the seats expect 45% attainment."""


def measure_give_up() -> Figure:
    """Far-behind reps (on pace for < 50% of quota after September): Nov-Dec effort over their Jan-Mar effort."""
    run = synthetic_run(GIVE_UP_PLANS, GIVE_UP_MULTIPLES)
    p = GIVE_UP_PLANS[0]
    revenue, effort = months(run.result, p, "revenue"), months(run.result, p, "effort")
    keep = stayers(run.result, GIVE_UP_PLANS)
    quota = run.quota.reindex(revenue.index.get_level_values("territory_id")).to_numpy()
    pace = (_span(revenue, 1, 9, "sum") * 12 / 9 / quota).loc[keep]
    far = pace.index[pace < GIVE_UP_PACE]
    ratio = (_span(effort, 11, 12) / _span(effort, 1, 3)).loc[far]
    return figure(ratio, f"Nov-Dec / Jan-Mar effort of {len(far)} far-behind seat-years")


def measure_give_up_on_track() -> Figure:
    """Context for the give-up figure: the same ratio for reps on pace for 90-110% of quota."""
    run = synthetic_run(GIVE_UP_PLANS, GIVE_UP_MULTIPLES)
    p = GIVE_UP_PLANS[0]
    revenue, effort = months(run.result, p, "revenue"), months(run.result, p, "effort")
    keep = stayers(run.result, GIVE_UP_PLANS)
    quota = run.quota.reindex(revenue.index.get_level_values("territory_id")).to_numpy()
    pace = (_span(revenue, 1, 9, "sum") * 12 / 9 / quota).loc[keep]
    near = pace.index[(pace >= 0.9) & (pace <= 1.1)]
    ratio = (_span(effort, 11, 12) / _span(effort, 1, 3)).loc[near]
    return figure(ratio, f"Nov-Dec / Jan-Mar effort of {len(near)} on-track seat-years")


CAP_PLANS = ("target_incentive_uncapped", "target_incentive")
CAP_MULTIPLES = (0.5,) * SEATS
"""Quotas at half the expected sales: reps expect 200% attainment and pass the 175% cap in about October."""


def _cap_effort() -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    run = synthetic_run(CAP_PLANS, CAP_MULTIPLES)
    keep = stayers(run.result, CAP_PLANS)
    free, capped = (months(run.result, p, "effort").loc[keep] for p in CAP_PLANS)
    rev_free, rev_capped = (months(run.result, p, "revenue").loc[keep] for p in CAP_PLANS)
    return free, capped, rev_free, rev_capped


def measure_cap_effort() -> Figure:
    """Reps headed past the cap: capped / uncapped Nov-Dec effort - 1, paired by seat-year."""
    free, capped, _, _ = _cap_effort()
    change = _span(capped, 11, 12) / _span(free, 11, 12) - 1
    return figure(change, "capped / uncapped Nov-Dec effort - 1, reps expecting 200% of quota")


def measure_cap_sales() -> Figure:
    """The same reps' December sales, capped / uncapped - 1 (effort reaches bookings about a cycle later)."""
    _, _, rev_free, rev_capped = _cap_effort()
    capped = rev_capped[12].groupby(level="replication").sum().to_numpy()
    free = rev_free[12].groupby(level="replication").sum().to_numpy()
    return relative(capped, free, "capped / uncapped December sales - 1, reps expecting 200% of quota")


ACCELERATOR_PLANS = ("target_incentive_uncapped",)
ACCELERATOR_MULTIPLES = (0.9,) * SEATS
"""Quotas at 90% of expected sales (111% expected attainment): about a third of the reps pass quota by October."""
DECELERATOR_PLANS = ("decelerator",)
"""The negative control: the same plan with pay past quota flattened (slope 0.5), where reps should slow down."""


def _past_quota_ratio(plans: tuple[str, ...]) -> Figure:
    run = synthetic_run(plans, ACCELERATOR_MULTIPLES)
    p = plans[0]
    revenue, effort = months(run.result, p, "revenue"), months(run.result, p, "effort")
    keep = stayers(run.result, plans)
    quota = run.quota.reindex(revenue.index.get_level_values("territory_id")).to_numpy()
    past = (_span(revenue, 1, 10, "sum") >= quota).loc[keep]
    chosen = past.index[past]
    ratio = (_span(effort, 11, 12) / _span(effort, 1, 3)).loc[chosen]
    return figure(ratio, f"Nov-Dec / Jan-Mar effort of {len(chosen)} seat-years past quota by October ({p})")


def measure_accelerator() -> Figure:
    """Reps past quota by the end of October, accelerator and no cap: Nov-Dec effort over their Jan-Mar effort."""
    return _past_quota_ratio(ACCELERATOR_PLANS)


def measure_decelerator() -> Figure:
    """The same measure under the decelerating control plan (it should fall below the accelerator bound)."""
    return _past_quota_ratio(DECELERATOR_PLANS)


# ---------------------------------------------------------------------------------------------- 4: quarterly bonuses


BONUS_PLANS = ("annual_bonus", "quarterly_bonus")
WEAK, STRONG = 1.25, 0.9
BONUS_MULTIPLES = (WEAK, STRONG) * (SEATS // 2)
"""Half the seats weak performers (quota 1.25 x expected sales: 80% expected attainment), half strong (111%)."""


def _weak_revenue() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(replication x month) revenue of the weak performers under the annual and the quarterly bonus plan."""
    run = synthetic_run(BONUS_PLANS, BONUS_MULTIPLES)
    weak = run.quota.index[np.isclose(run.quota.to_numpy(), WEAK * ANNUAL)]
    out = []
    for p in BONUS_PLANS:
        table = months(run.result, p, "revenue")
        table = table[table.index.get_level_values("territory_id").isin(weak)]
        out.append(table.groupby(level="replication").sum())
    return out[0], out[1]


def measure_quarterly_bonus() -> Figure:
    """Weak performers' annual revenue, quarterly bonuses / annual-only - 1, paired by replication."""
    annual, quarterly = _weak_revenue()
    return relative(quarterly.sum(axis=1).to_numpy(), annual.sum(axis=1).to_numpy(), "weak performers' revenue")


def measure_quarterly_backloading() -> Figure:
    """Weak performers' share of the year's revenue booked in Q4: quarterly minus annual-only (points)."""
    annual, quarterly = _weak_revenue()
    share = [t[[10, 11, 12]].sum(axis=1) / t.sum(axis=1) for t in (annual, quarterly)]
    return figure((share[1] - share[0]).to_numpy(), "weak performers' Q4 share of revenue, quarterly - annual")


# ---------------------------------------------------------------------------------------------- 5: seasonality


MID_QUARTER, QUARTER_END = (2, 5, 8, 11), (3, 6, 9, 12)


def _monthly_total(run: Run, plan_name: str) -> pd.DataFrame:
    """replication x month revenue summed over the seats."""
    return months(run.result, plan_name, "revenue").groupby(level="replication").sum()


def measure_december() -> Figure:
    """Demo, target-incentive plan: December revenue over the mean mid-quarter month."""
    total = _monthly_total(demo_run(), "target_incentive")
    return ratio_figure(
        total[12].to_numpy(), total[list(MID_QUARTER)].mean(axis=1).to_numpy(), "December / mid-quarter"
    )


def measure_quarter_ends() -> Figure:
    """Demo, target-incentive plan: mean quarter-end month over the mean mid-quarter month."""
    total = _monthly_total(demo_run(), "target_incentive")
    return ratio_figure(
        total[list(QUARTER_END)].mean(axis=1).to_numpy(),
        total[list(MID_QUARTER)].mean(axis=1).to_numpy(),
        "quarter-end / mid-quarter month",
    )


def demo_transaction_ratios() -> dict[str, float]:
    """The same two ratios on the demo's FY2027 transactions (bookings; cancellations and credit notes left out)."""
    t = pd.read_csv(ROOT / "scenarios" / "demo" / "transactions.csv", parse_dates=["date"])
    t = t[t["reason"].isna()]
    by_month = t.groupby(t["date"].dt.month)["amount"].sum()
    mid = by_month[list(MID_QUARTER)].mean()
    return {"december": float(by_month[12] / mid), "quarter_ends": float(by_month[list(QUARTER_END)].mean() / mid)}


# ---------------------------------------------------------------------------------------------- 6: timing games


def measure_timing_cost() -> Figure:
    """Demo, target-incentive plan: revenue without deal timing (movable_share 0) minus with it, as a share of
    revenue without it, paired by replication (the same draws)."""
    on = demo_run(DEMO_TIMING_REPLICATIONS, coaching=False, timing=True).result.replications
    off = demo_run(DEMO_TIMING_REPLICATIONS, coaching=False, timing=False).result.replications
    on = on[on["plan"] == "target_incentive"].set_index("replication")["revenue"]
    off = off[off["plan"] == "target_incentive"].set_index("replication")["revenue"]
    common = on.index.intersection(off.index)
    cost = relative(off.loc[common].to_numpy(), on.loc[common].to_numpy(), "")
    # off / on - 1 is the cost over revenue *with* timing; restate it over revenue without timing.
    value = 1 - 1 / (1 + cost.value)
    return Figure(value, 1 - 1 / (1 + cost.low), 1 - 1 / (1 + cost.high), cost.n, "revenue lost to deal timing")


# ---------------------------------------------------------------------------------------------- 7: plan redesign


REDESIGN_PLANS = ("target_incentive", "redesign")
REDESIGN_MULTIPLES = (0.6, 0.8, 1.0, 1.2, 1.4, 1.6) * 2
"""Quotas from 0.6 to 1.6 x expected sales: some reps far from quota, some past the caps."""


def measure_redesign() -> Figure:
    """Total revenue of the redesigned plan over the demo target-incentive plan - 1, paired by replication."""
    table = synthetic_run(REDESIGN_PLANS, REDESIGN_MULTIPLES).result.replications
    base, new = (table[table["plan"] == p].set_index("replication")["revenue"] for p in REDESIGN_PLANS)
    return relative(new.to_numpy(), base.loc[new.index].to_numpy(), "redesign / target_incentive revenue - 1")


def measure_redesign_cost() -> Figure:
    """Context: payout of the redesigned plan over the demo plan - 1."""
    table = synthetic_run(REDESIGN_PLANS, REDESIGN_MULTIPLES).result.replications
    base, new = (table[table["plan"] == p].set_index("replication")["payout"] for p in REDESIGN_PLANS)
    return relative(new.to_numpy(), base.loc[new.index].to_numpy(), "redesign / target_incentive payout - 1")


# ---------------------------------------------------------------------------------------------- 8: coaching


def _roi(metric: str) -> pd.Series:
    roi = demo_run().result.coaching_roi
    return roi[(roi["plan"] == "target_incentive") & (roi["metric"] == metric)].iloc[0]


def measure_coaching_return() -> Figure:
    """Demo: (margin uplift - extra incentive pay) / coaching cost, coached minus uncoached on the same draws."""
    row = _roi("return_on_cost")
    return Figure(float(row["mean"]), float(row["ci_low"]), float(row["ci_high"]), int(row["n"]), "return on cost")


def measure_coaching_uplift() -> Figure:
    """Demo: coached / uncoached revenue - 1, paired by replication."""
    table = demo_run().result.replications
    base = table[table["plan"] == "target_incentive"].set_index("replication")["revenue"]
    coached = table[table["plan"] == "target_incentive+coaching"].set_index("replication")["revenue"]
    return relative(coached.to_numpy(), base.loc[coached.index].to_numpy(), "coached / uncoached revenue - 1")


def coaching_hours_a_year() -> float:
    plan_of_coaching = demo_run().coaching
    return 12 * float(plan_of_coaching.table["hours_per_month"].sum()) if plan_of_coaching is not None else 0.0


def measure_uplift_per_hour() -> Figure:
    """Demo: revenue uplift per manager coaching hour (currency)."""
    row, hours = _roi("revenue_uplift"), coaching_hours_a_year()
    return Figure(
        float(row["mean"]) / hours,
        float(row["ci_low"]) / hours,
        float(row["ci_high"]) / hours,
        int(row["n"]),
        f"revenue uplift per coaching hour ({hours:g} h a year)",
    )


# ---------------------------------------------------------------------------------------------- quota calibration


def predicted_share_at_quota() -> float:
    run = demo_run()
    assert run.quota_plan is not None
    return float(run.quota_plan.facts.predicted_share_at_quota)


def measure_share_at_quota() -> Figure:
    """Demo, target-incentive plan: simulated share of reps at or above quota."""
    m = demo_run().result.metric("target_incentive", "share_at_quota")
    n = int(demo_run().result.summary["n"].iloc[0])
    return Figure(m["mean"], m["ci_low"], m["ci_high"], n, "share of reps at quota")


def new_hire() -> tuple[str, int, float]:
    """The demo's first rep with a start month: territory, start month, quota-stage expected sales."""
    table = demo_run().quota_plan.table
    hired = table[table["start_month"].fillna(0).astype(int) > 0].iloc[0]
    return str(hired["territory_id"]), int(hired["start_month"]), float(hired["expected_sales"])


def measure_new_hire() -> Figure:
    """Demo: the new hire's simulated year sales over the quota stage's expected sales."""
    territory, _, expected = new_hire()
    revenue = months(demo_run().result, "target_incentive", "revenue").sum(axis=1)
    seat = revenue[revenue.index.get_level_values("territory_id") == territory].to_numpy()
    f = figure(seat / expected, f"{territory} simulated / expected sales")
    return f
