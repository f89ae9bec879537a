"""Wall-clock budgets: one `Deadline` per search, and capped sub-deadlines for its phases.

The territory methods stop on work limits (nodes, rounds, passes); the clock is their safety net.
This type keeps that safety net's arithmetic in one place, so a phase can never be handed more time
than the search it belongs to has left. Times are `time.perf_counter()` seconds.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Deadline:
    """The instant `end` by which work should stop, and the instant `start` its budget was counted from."""

    start: float
    end: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        """A deadline `seconds` from now."""
        now = time.perf_counter()
        return cls(now, now + seconds)

    def elapsed(self) -> float:
        """Seconds since `start`."""
        return time.perf_counter() - self.start

    def left(self, at_least: float = -math.inf) -> float:
        """Seconds until `end`, negative once it has passed, but never below `at_least`.

        A solver time limit needs a floor (HiGHS rejects 0), a loop test usually does not.
        """
        return max(self.end - time.perf_counter(), at_least)

    def expired(self) -> bool:
        """True once `end` has been reached."""
        return time.perf_counter() >= self.end

    def within(self, seconds: float) -> Deadline:
        """A phase of at most `seconds` from now, never past this deadline."""
        now = time.perf_counter()
        return Deadline(now, min(self.end, now + seconds))

    def share(self, fraction: float) -> Deadline:
        """A phase given `fraction` of the time left now, never past this deadline."""
        now = time.perf_counter()
        return Deadline(now, min(self.end, now + fraction * max(self.end - now, 0.0)))

    def first(self, fraction: float) -> Deadline:
        """The first `fraction` of this deadline's whole budget, counted from its `start`.

        Unlike `share`, the phase does not grow with time already spent before it begins (setup work).
        """
        return Deadline(self.start, min(self.end, self.start + fraction * (self.end - self.start)))
