"""Print every stylised fact's measured figure against its expected sign or range.

Run from the repository root (the code measured is the `spmopt` on the path, with the files of its own tree):

    .venv/bin/python tests/validity/measure.py              # a plain listing
    .venv/bin/python tests/validity/measure.py --markdown   # rows for the AFTER column of VALIDATION.md

    cd /work/before19 && PYTHONPATH=/work/before19 /work/main/.venv/bin/python /work/main/tests/validity/measure.py

It runs the same scenarios and measurements as the tests in this folder (about 75 s on one core).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import validity_support as v  # noqa: E402


@dataclass(frozen=True)
class Fact:
    key: str
    name: str
    expected: str
    measure: Callable[[], v.Figure]
    passes: Callable[[v.Figure], bool]
    fmt: str = "{:.3f}"


def _pct(x: float) -> str:
    return f"{100 * x:+.1f}%"


FACTS = (
    Fact(
        "1",
        "Give-up far below quota late in the year",
        f"Nov-Dec / Jan-Mar effort <= {v.GIVE_UP_MAX_RATIO}",
        v.measure_give_up,
        lambda f: f.n >= 20 and f.high < 1 and f.value <= v.GIVE_UP_MAX_RATIO,
    ),
    Fact(
        "2",
        "Easing above a cap",
        f"capped / uncapped Nov-Dec effort - 1 <= {_pct(v.CAP_MAX_CHANGE)}",
        v.measure_cap_effort,
        lambda f: f.high < 0 and f.value <= v.CAP_MAX_CHANGE,
        "pct",
    ),
    Fact(
        "2b",
        "(context) December sales past the cap",
        "capped / uncapped December sales - 1 (reported)",
        v.measure_cap_sales,
        lambda f: True,
        "pct",
    ),
    Fact(
        "3",
        "No slowdown past quota with an accelerator",
        f"Nov-Dec / Jan-Mar effort >= {v.ACCELERATOR_MIN_RATIO}",
        v.measure_accelerator,
        lambda f: f.n >= 20 and f.value >= v.ACCELERATOR_MIN_RATIO,
    ),
    Fact(
        "3b",
        "(context) control: pay flattening past quota",
        f"same measure under the decelerator, expected < {v.ACCELERATOR_MIN_RATIO}",
        v.measure_decelerator,
        lambda f: True,
    ),
    Fact(
        "4",
        "Quarterly bonuses pace weak performers",
        "weak performers' revenue, quarterly / annual - 1 > 0 (CI)",
        v.measure_quarterly_bonus,
        lambda f: f.low > v.QUARTERLY_BONUS_MIN_GAIN,
        "pct",
    ),
    Fact(
        "4b",
        "(context) weak performers' Q4 share",
        "quarterly - annual Q4 share of revenue < 0 (reported)",
        v.measure_quarterly_backloading,
        lambda f: True,
        "pts",
    ),
    Fact(
        "5a",
        "Year-end spike",
        f"December / mid-quarter in [{v.DECEMBER_RANGE[0]}, {v.DECEMBER_RANGE[1]}]",
        v.measure_december,
        lambda f: v.DECEMBER_RANGE[0] <= f.value <= v.DECEMBER_RANGE[1],
    ),
    Fact(
        "5b",
        "Quarter-end bunching",
        f"quarter-end / mid-quarter in [{v.QUARTER_END_RANGE[0]}, {v.QUARTER_END_RANGE[1]}]",
        v.measure_quarter_ends,
        lambda f: v.QUARTER_END_RANGE[0] <= f.value <= v.QUARTER_END_RANGE[1],
    ),
    Fact(
        "6",
        "Timing games cost a few percent of revenue",
        f"revenue lost in [{_pct(v.TIMING_COST_RANGE[0])}, {_pct(v.TIMING_COST_RANGE[1])}]",
        v.measure_timing_cost,
        lambda f: v.TIMING_COST_RANGE[0] <= f.value <= v.TIMING_COST_RANGE[1],
        "pct",
    ),
    Fact(
        "7",
        "Plan redesign effect",
        f"revenue change in [{_pct(v.REDESIGN_RANGE[0])}, {_pct(v.REDESIGN_RANGE[1])}]",
        v.measure_redesign,
        lambda f: v.REDESIGN_RANGE[0] <= f.value <= v.REDESIGN_RANGE[1],
        "pct",
    ),
    Fact(
        "7b",
        "(context) redesign payout",
        "redesign / old payout - 1 (reported)",
        v.measure_redesign_cost,
        lambda f: True,
        "pct",
    ),
    Fact(
        "8a",
        "Coaching return on cost",
        f"return on cost in [{v.COACHING_RETURN_RANGE[0]}, {v.COACHING_RETURN_RANGE[1]}]x",
        v.measure_coaching_return,
        lambda f: v.COACHING_RETURN_RANGE[0] <= f.value <= v.COACHING_RETURN_RANGE[1],
        "{:.1f}x",
    ),
    Fact(
        "8b",
        "Coaching revenue uplift",
        f"uplift in (0, {_pct(v.COACHING_UPLIFT_RANGE[1])}]",
        v.measure_coaching_uplift,
        lambda f: f.low > v.COACHING_UPLIFT_RANGE[0] and f.value <= v.COACHING_UPLIFT_RANGE[1],
        "pct",
    ),
    Fact(
        "8c",
        "(context) revenue uplift per coaching hour",
        "currency per manager hour (reported)",
        v.measure_uplift_per_hour,
        lambda f: True,
        "{:,.0f}",
    ),
    Fact(
        "9",
        "Share of reps at quota",
        f"within {v.SHARE_AT_QUOTA_TOLERANCE:.0%} points of the quota stage's predicted share",
        v.measure_share_at_quota,
        lambda f: abs(f.value - v.predicted_share_at_quota()) <= v.SHARE_AT_QUOTA_TOLERANCE,
        "pct0",
    ),
    Fact(
        "10",
        "New hire's expected sales",
        f"simulated / quota-stage expected within 1 +- {v.NEW_HIRE_TOLERANCE:.0%}",
        v.measure_new_hire,
        lambda f: abs(f.value - 1) <= v.NEW_HIRE_TOLERANCE,
    ),
)


def show(x: float, fmt: str) -> str:
    if fmt == "pct":
        return _pct(x)
    if fmt == "pts":
        return f"{100 * x:+.2f} points"
    if fmt == "pct0":
        return f"{100 * x:.1f}%"
    return fmt.format(x)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    markdown = "--markdown" in args
    print(f"spmopt measured: {v.ROOT}")
    if markdown:
        print("| # | fact | expected | measured (95% CI) | verdict | seconds |")
        print("|---|---|---|---|---|---|")
    failed = 0
    for fact in FACTS:
        clock = time.perf_counter()
        fig = fact.measure()
        seconds = time.perf_counter() - clock
        ok = fact.passes(fig)
        context = fact.name.startswith("(context)")
        verdict = "reported" if context else ("passes" if ok else "fails")
        failed += 0 if ok or context else 1
        value = show(fig.value, fact.fmt)
        ci = f"{show(fig.low, fact.fmt)} to {show(fig.high, fact.fmt)}"
        if markdown:
            row = (fact.key, fact.name, fact.expected, f"{value} ({ci}; n={fig.n})", verdict, f"{seconds:.1f}")
            print("| " + " | ".join(row) + " |")
        else:
            print(f"[{fact.key}] {fact.name}: {value} (95% CI {ci}, n={fig.n}) -> {verdict}")
            print(f"      expected {fact.expected}; {fig.what}; {seconds:.1f} s")
    data = v.demo_transaction_ratios()
    print(
        f"demo FY2027 transactions: December / mid-quarter {data['december']:.2f}, "
        f"quarter-end / mid-quarter {data['quarter_ends']:.2f}; quota stage predicted share at quota "
        f"{v.predicted_share_at_quota():.3f}; new hire {v.new_hire()[0]} expected {v.new_hire()[2]:,.0f}"
    )
    print(f"{failed} of {sum(1 for f in FACTS if not f.name.startswith('(context)'))} facts fail")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
