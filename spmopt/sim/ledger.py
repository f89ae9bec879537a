"""What a year books and reports: each won deal's booking, every person's per-period credit exactly as the comp
engine will be given it, and the `YearRecord` the pay step reads."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spmopt.sim.people import Person
from spmopt.sim.state import PULLED, YearState


@dataclass(frozen=True, slots=True)
class YearRecord:
    """What happened in one simulated year, before pay (arrays indexed by booking / person / seat-month)."""

    persons: tuple[Person, ...]
    left_day: np.ndarray
    """(persons,) day each person left (inf: stayed)."""
    book_cand: np.ndarray
    book_person: np.ndarray
    """(bookings,) person credited, -1 when the seat was vacant (house account)."""
    book_seat: np.ndarray
    book_day: np.ndarray
    book_amount: np.ndarray
    """(bookings,) cents, after any pull-in discount."""
    book_moved: np.ndarray
    effort_sum: np.ndarray
    effort_n: np.ndarray
    """(seats, 12) sum and count of the weekly effort levels of active reps."""
    worked: np.ndarray
    """(seats, 12) opportunities worked (accepted)."""
    pushed_out: np.ndarray
    """(seats, 2) deals and cents pushed past the year end."""
    moves: np.ndarray
    """(seats, 12, 2) deals pulled in and pushed out (within the year and past it), by month of decision."""
    carried: np.ndarray
    """(seats, 2) last year's year-end moves the year opens with: deals pushed into it, deals pulled out of it."""
    credit: np.ndarray
    """(persons, periods, measures) credit, cents or hundredths of a count."""
    spif_credit: np.ndarray
    events: int
    run_seconds: float
    """Wall time of the event loop alone (for events per second)."""


class Ledger(YearState):
    """Bookings and credit of a `processes.Year`."""

    def _book(self, i: int) -> None:
        seat = self.cseat[i]
        self.final[seat].pop(i, None)
        who = self.holder[seat]
        moved = self.moved[i]
        amount = self.size[i] * (1.0 - self.concession[i] if moved == PULLED else 1.0)
        if who >= 0:
            self.ytd[who] += amount
        self.books.append((i, who, seat, self.env.now, amount, moved))
        if self.trace is not None:
            self._log("won", seat, i, f"{amount / 100:.2f} to {'house' if who < 0 else f'person {who}'}")

    def _flush(self) -> None:
        """Add the bookings since the last flush to every person's per-period credit (vectorised)."""
        new = self.books[self._flushed :]
        self._flushed = len(self.books)
        if not new:
            return
        rows = np.array(new)
        who = rows[:, 1].astype(np.int64)
        keep = who >= 0
        i, who, day = rows[keep, 0].astype(np.int64), who[keep], rows[keep, 3]
        pulled = rows[keep, 5] == PULLED
        ctx = self.ctx
        period = ctx.month_period[np.minimum(np.searchsorted(self.month_days, day, side="right") - 1, 11)]
        kept = np.where(pulled, 1.0 - self.concession[i], 1.0)[:, None]
        credit = np.where(self.money_field, np.rint(self.exact[i] * kept), self.exact[i])
        np.add.at(self.person_credit, (who, period), credit)
        if len(ctx.spif_value):
            live = (day[:, None] >= ctx.spif_days[:, 0]) & (day[:, None] < ctx.spif_days[:, 1])
            spif = np.where(self.spif_money, np.rint(self.exact_spif[i] * kept), self.exact_spif[i])
            np.add.at(self.person_spif, (who, period), spif * live)

    def _record(self) -> YearRecord:
        books = self.books
        return YearRecord(
            persons=tuple(self.persons),
            left_day=np.array(self.left, dtype=float),
            book_cand=np.array([b[0] for b in books], dtype=np.int64),
            book_person=np.array([b[1] for b in books], dtype=np.int64),
            book_seat=np.array([b[2] for b in books], dtype=np.int64),
            book_day=np.array([b[3] for b in books], dtype=float),
            book_amount=np.array([b[4] for b in books], dtype=float),
            book_moved=np.array([b[5] for b in books], dtype=np.int64),
            effort_sum=self.effort_sum,
            effort_n=self.effort_n,
            worked=self.worked,
            pushed_out=self.pushed_out,
            moves=self.moves,
            carried=self.carried,
            credit=self.person_credit[: len(self.persons)],
            spif_credit=self.person_spif[: len(self.persons)],
            events=self.events,
            run_seconds=self.run_seconds,
        )
