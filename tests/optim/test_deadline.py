"""The clock budget type: a phase never outlives the search it belongs to, and the arithmetic matches its docs."""

from __future__ import annotations

import math
import time

import pytest

from spmopt.optim.deadline import Deadline


def test_after_counts_from_now() -> None:
    before = time.perf_counter()
    d = Deadline.after(10.0)
    after = time.perf_counter()
    assert before <= d.start <= after
    assert d.end == pytest.approx(d.start + 10.0)
    assert 0.0 <= d.elapsed() < 1.0
    assert 9.0 < d.left() <= 10.0
    assert not d.expired()


def test_a_passed_deadline_is_expired_and_its_time_left_is_negative_unless_floored() -> None:
    now = time.perf_counter()
    d = Deadline(now - 5.0, now - 2.0)
    assert d.expired()
    assert d.left() <= -2.0
    assert d.left(at_least=0.01) == 0.01
    assert d.elapsed() >= 5.0


def test_no_deadline_never_expires() -> None:
    d = Deadline(0.0, math.inf)
    assert not d.expired()
    assert d.left() == math.inf


def test_within_is_capped_by_the_parent() -> None:
    d = Deadline.after(2.0)
    short = d.within(0.5)
    assert short.end <= d.end
    assert short.left() == pytest.approx(0.5, abs=0.05)
    long = d.within(100.0)
    assert long.end == d.end


def test_share_takes_a_fraction_of_what_is_left() -> None:
    d = Deadline.after(10.0)
    half = d.share(0.5)
    assert half.left() == pytest.approx(5.0, abs=0.05)
    assert half.end <= d.end
    assert d.share(2.0).end == d.end  # never past the parent
    gone = Deadline(time.perf_counter() - 2.0, time.perf_counter() - 1.0)
    assert gone.share(0.5).expired()  # nothing left to share


def test_first_counts_from_the_start_not_from_now() -> None:
    now = time.perf_counter()
    d = Deadline(now - 3.0, now + 7.0)  # 10 s budget, 3 s already spent on setup
    head = d.first(0.5)
    assert head.start == d.start
    assert head.end == pytest.approx(d.start + 5.0)
    assert head.left() == pytest.approx(2.0, abs=0.05)
    assert d.first(1.5).end == d.end
