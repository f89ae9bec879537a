"""One replication: draw the year's randomness once, play it out under every plan, pay each with the comp engine.

Pay is exact: every person's credit per payout period goes through `spmopt.comp.engine.evaluate` with their
quota and target incentive. A rep who leaves forfeits payments of periods ending after their last day; a
replacement has the seat's quota from their start, ramped, and target incentive pro rata.

Coaching. With a `CoachingPaths`, replication r plays every plan three times on the same draws: without coaching,
with the uplift of parameter draw r mod n (so the spread of the return over replications carries the uncertainty
of the response, reproducibly), and with the uplift of fixed parameter set r mod s of the sensitivity table (the
fit, the estimate, the prior's low / central / high). Each coached year is tagged with what it played.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from spmopt.coaching.paths import CoachingPaths, CoachingTag
from spmopt.comp.engine import draw_schedule, evaluate
from spmopt.sim.draws import draw_candidates
from spmopt.sim.incentives import PlanContext
from spmopt.sim.inputs import SimInputs
from spmopt.sim.ledger import YearRecord
from spmopt.sim.params import BehaviourParams
from spmopt.sim.people import person_quota, target_share
from spmopt.sim.processes import Year

ATTAINMENT_BINS = tuple(round(0.1 * k, 1) for k in range(21))
"""Left edges of the attainment histogram: 0.0, 0.1, ..., 2.0 (the last bin is 2.0 and above)."""


@dataclass(frozen=True, slots=True)
class PlanYear:
    """One plan's simulated year in one replication: seat x month tables (cents, counts) and totals."""

    revenue: np.ndarray
    """(seats, 12) cents booked in the year, house accounts of vacant seats included."""
    margin: np.ndarray
    deals: np.ndarray
    payment: np.ndarray
    """(seats, 12) cents paid to the seat's reps, in the month each payout period ends."""
    effort: np.ndarray
    """(seats, 12) mean effort of the active rep (nan while vacant)."""
    worked: np.ndarray
    pulled: np.ndarray
    pushed: np.ndarray
    """(seats, 12) deals moved into an earlier / later period, by month of the decision."""
    leavers: np.ndarray
    pushed_out: np.ndarray
    """(seats, 2) deals and cents pushed past the year end."""
    attainment: np.ndarray
    """(seats,) year revenue / annual quota."""
    events: int
    loop_seconds: float = field(default=0.0, compare=False)
    """Wall time of the SimPy event loop alone (setup, draws and pay excluded); a measurement, not a result."""
    coaching: CoachingTag | None = None
    """The coaching this year played (None: without coaching, or an untagged uplift array)."""

    def totals(self) -> dict[str, float]:
        """The replication's headline numbers for this plan."""
        revenue, paid = int(self.revenue.sum()), int(self.payment.sum())
        counted = self.attainment[np.isfinite(self.attainment)]
        with np.errstate(invalid="ignore"):
            effort = float(np.nanmean(self.effort)) if np.isfinite(self.effort).any() else float("nan")
        margin = int(self.margin.sum())
        return {
            "revenue": revenue / 100,
            "margin": margin / 100,
            "payout": paid / 100,
            "margin_after_pay": (margin - paid) / 100,
            "cost_of_sales_pct": 100 * paid / revenue if revenue else float("nan"),
            "share_at_quota": float((counted >= 1).mean()) if len(counted) else float("nan"),
            "attainment_mean": float(counted.mean()) if len(counted) else float("nan"),
            "effort_mean": effort,
            "deals_pulled_in": int(self.pulled.sum()),
            "deals_pushed_out": int(self.pushed.sum()),
            "pushed_past_year_end": self.pushed_out[:, 1].sum() / 100,
            "leavers": int(self.leavers.sum()),
            "events": self.events,
        }

    def histogram(self) -> np.ndarray:
        """Seats per attainment bin (`ATTAINMENT_BINS`)."""
        counted = self.attainment[np.isfinite(self.attainment)]
        edges = np.array([*ATTAINMENT_BINS, np.inf])
        return np.histogram(np.minimum(counted, 1e9), bins=edges)[0]


def simulate_replication(
    inputs: SimInputs,
    contexts: list[PlanContext],
    params: BehaviourParams,
    seed: int,
    replication: int,
    fixed_effort: bool = False,
    uplift: np.ndarray | CoachingPaths | None = None,
) -> list[PlanYear]:
    """The same drawn year under each plan (common random numbers), in plan order; with a coaching `uplift`
    ((seats, 12) relative rise of the win rate, or `CoachingPaths`), then the same again with each coached
    variant (module docstring), plan by plan within each variant."""
    cands = draw_candidates(inputs, params, seed, replication)
    margins = np.array([p.margin for p in params.pipeline.products.values()])[cands.product]
    lists = cands.lists()
    years = []
    for u, tag in coached_variants(uplift, replication):
        for ctx in contexts:
            year = pay_year(inputs, ctx, Year(inputs, ctx, params, cands, fixed_effort, lists, uplift=u).run(), margins)
            years.append(year if tag is None else replace(year, coaching=tag))
    return years


def coached_variants(
    uplift: np.ndarray | CoachingPaths | None, replication: int
) -> list[tuple[np.ndarray | None, CoachingTag | None]]:
    """Without coaching first, then each coached variant of this replication."""
    if uplift is None:
        return [(None, None)]
    if isinstance(uplift, CoachingPaths):
        return [(None, None), *uplift.variants(replication)]
    return [(None, None), (uplift, None)]


def pay_year(inputs: SimInputs, ctx: PlanContext, rec: YearRecord, margin_ratio: np.ndarray) -> PlanYear:
    """Pay every person with the comp engine and fold the record into seat x month tables."""
    n_seats = len(inputs.seats)
    per = 12 // ctx.periods
    payment = np.zeros((n_seats, 12), dtype=np.int64)
    if rec.persons:
        ramp = np.array(inputs.ramp, dtype=float)
        credit = np.rint(rec.credit).astype(np.int64)
        spif = np.rint(rec.spif_credit).astype(np.int64)
        quota = np.stack([person_quota(ctx, p, inputs.month_days, ramp) for p in rec.persons])
        share = [target_share(p, float(inputs.days)) for p in rec.persons]
        ti = np.array([ctx.target_incentive[p.seat] * f for p, f in zip(rec.persons, share, strict=True)])
        # Draws start with the person, as the comp stage pays them (a replacement is advanced nothing before
        # joining); a leaver forfeits what falls after their last day below.
        start = np.array([np.searchsorted(inputs.month_days, p.start, side="right") for p in rec.persons])
        draw = draw_schedule(ctx.plan, np.clip(start, 1, 12), np.full(len(rec.persons), 12))
        ev = evaluate(ctx.plan, credit, quota, np.rint(ti).astype(np.int64), spif, draw)
        paid = ev.payment.copy()
        # A leaver is paid for the periods that ended while they were still there, and forfeits the rest.
        ended = ctx.period_end[None, :] <= rec.left_day[:, None]
        paid = np.where(ended | ~np.isfinite(rec.left_day)[:, None], paid, 0)
        seat = np.array([p.seat for p in rec.persons])
        for k in range(ctx.periods):
            np.add.at(payment[:, (k + 1) * per - 1], seat, paid[:, k])
    month = np.minimum(np.searchsorted(inputs.month_days, rec.book_day, side="right") - 1, 11)
    revenue = np.zeros((n_seats, 12))
    margin = np.zeros((n_seats, 12))
    deals = np.zeros((n_seats, 12), dtype=np.int64)
    np.add.at(revenue, (rec.book_seat, month), rec.book_amount)
    np.add.at(margin, (rec.book_seat, month), rec.book_amount * margin_ratio[rec.book_cand])
    np.add.at(deals, (rec.book_seat, month), 1)
    leavers = np.zeros((n_seats, 12), dtype=np.int64)
    for k, p in enumerate(rec.persons):
        if np.isfinite(rec.left_day[k]):
            leavers[p.seat, min(int(np.searchsorted(inputs.month_days, rec.left_day[k], side="right")) - 1, 11)] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        effort = np.where(rec.effort_n > 0, rec.effort_sum / np.maximum(rec.effort_n, 1), np.nan)
        attainment = np.where(ctx.annual_quota > 0, revenue.sum(axis=1) / np.maximum(ctx.annual_quota, 1), np.nan)
    return PlanYear(
        revenue=np.rint(revenue).astype(np.int64),
        margin=np.rint(margin).astype(np.int64),
        deals=deals,
        payment=payment,
        effort=effort,
        worked=rec.worked,
        pulled=rec.moves[:, :, 0],
        pushed=rec.moves[:, :, 1],
        leavers=leavers,
        pushed_out=rec.pushed_out,
        attainment=attainment,
        events=rec.events,
        loop_seconds=rec.run_seconds,
    )
