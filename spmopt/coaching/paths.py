"""The coaching plan as the simulator plays it: per-seat monthly uplift paths, one per parameter draw of the
uplift model and one per fixed parameter set of the sensitivity table, and the tag each coached year carries."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class CoachingPaths:
    """The coaching uplift the simulator plays: (seats, 12) relative rises of the last-stage win rate."""

    draws: np.ndarray
    """(n, seats, 12) one path per parameter draw; replication r plays draw r mod n."""
    parameters: np.ndarray
    """(n, 3) u_max, K, d of each draw."""
    checks: np.ndarray
    """(s, seats, 12) paths of the sensitivity table's fixed parameter sets; replication r also plays r mod s."""
    check_names: tuple[str, ...]
    check_parameters: np.ndarray
    """(s, 3) u_max, K, d of each fixed set."""
    return_bound: float
    """Plausibility bound on the return on cost (`spmopt.coaching.evidence.return_bound`)."""
    hours: float = 0.0
    """Manager hours the plan gives in the plan year (what the revenue per coached hour divides by)."""

    def variants(self, replication: int) -> list[tuple[np.ndarray, CoachingTag]]:
        """This replication's coached variants: its parameter draw, then (if any) its fixed set."""
        k = replication % len(self.draws)
        out = [(self.draws[k], self.tag("draws", k, self.parameters[k]))]
        if len(self.checks):
            j = replication % len(self.checks)
            out.append((self.checks[j], self.tag(self.check_names[j], j, self.check_parameters[j])))
        return out

    def tag(self, name: str, index: int, p: np.ndarray) -> CoachingTag:
        p0, p1, p2 = (float(v) for v in p)
        return CoachingTag(name, index, p0, p1, p2, self.return_bound, len(self.draws), self.hours)


@dataclass(frozen=True, slots=True)
class CoachingTag:
    """What a coached year played: `parameters` is `draws` (draw `index` of `draws`) or a fixed set's name."""

    parameters: str
    index: int
    max_uplift: float
    half_stock: float
    decay: float
    return_bound: float
    draws: int
    hours: float = 0.0
