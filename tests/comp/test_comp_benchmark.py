"""Benchmark: 100,000 payees x 12 periods x 3 measures (curves, cap, bonus, gate, tiers, modifier, pay caps on a
measure and on total pay, SPIF, recoverable draw from each payee's start month) through the vectorised engine
(target: <= 2 s).

pytest-benchmark records the time; the assertions check reconciliation, not speed.
"""

from __future__ import annotations

import numpy as np
import pytest

from spmopt.comp.engine import draw_schedule, evaluate
from spmopt.comp.plan import CompPlan

pytestmark = pytest.mark.slow  # about 5 s on 2 cores

PLAN = CompPlan.model_validate(
    {
        "name": "bench",
        "target_incentive": "20000.00",
        "measures": [
            {
                "name": "revenue",
                "weight": "0.6",
                "curve": [
                    {"attainment": "0.5", "payout": "0"},
                    {"attainment": "1", "payout": "1"},
                    {"attainment": "1.5", "payout": "2"},
                ],
                "cap": "2.5",
                "bonuses": [{"attainment": "1", "amount": "1000.00"}],
            },
            {
                "name": "margin",
                "weight": "0.4",
                "curve": [{"attainment": "0", "payout": "0"}, {"attainment": "1", "payout": "1"}],
                "gate": {"measure": "revenue", "min_attainment": "0.8"},
            },
            {
                "name": "services",
                "tiers": [{"from": "0", "rate": "0.02"}, {"from": "1", "rate": "0.05"}],
                "modifier": {
                    "measure": "margin",
                    "steps": [{"from": "0", "factor": "0.9"}, {"from": "1", "factor": "1.1"}],
                },
                "pay_cap": {"period": "400.00", "year": "3000.00"},
            },
        ],
        "pay_cap": {"year": "40000.00"},
        "year_start": "2027-01-01",
        "spifs": [{"name": "q1", "start": "2027-01-01", "end": "2027-03-31", "rate": "0.01"}],
        "draw": {"amount": "1500.00", "periods": 3, "recoverable": True},
    }
)


def test_benchmark_100k_payees(benchmark) -> None:
    rng = np.random.default_rng(20261124)
    quota = rng.integers(500_000, 2_000_000, size=(100_000, 12, 3))
    credit = (quota * rng.lognormal(0.0, 0.4, size=quota.shape)).astype(np.int64)
    spif = np.zeros((100_000, 12, 1), dtype=np.int64)
    spif[:, :3, 0] = credit[:, :3, 0]
    # A tenth of the payees join during the year: their draws start in their start month.
    start = np.where(rng.random(100_000) < 0.1, rng.integers(2, 13, size=100_000), 1)
    draw = draw_schedule(PLAN, start, np.full(100_000, 12))
    ev = benchmark.pedantic(
        evaluate, args=(PLAN, credit, quota), kwargs={"spif_credit": spif, "draw": draw}, rounds=3, iterations=1
    )
    # Reconciliation: lines + SPIF lines + pay cap + carry-forward + draw = payments; paid = earned + owed back.
    explained = ev.lines.sum(axis=2) + ev.spif_lines.sum(axis=2) + ev.pay_cap_lines + ev.adjustment + ev.draw
    assert np.array_equal(explained, ev.payment)
    assert np.array_equal(ev.payment.sum(axis=1), ev.earned + ev.unrecovered)
    # Both caps bind for some payees, and no draw is paid before a payee starts.
    assert (ev.cap_ytd < 0).any()
    assert (ev.pay_cap_ytd < 0).any()
    assert not ((np.arange(12)[None, :] < start[:, None] - 1) & (ev.draw > 0)).any()
