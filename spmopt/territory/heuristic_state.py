"""The heuristic's search state: a slot per unit with band totals, moved weight and the move arithmetic.

The quantities V (squared band and cap violation) and F (cost) are defined in `heuristic.py`; this module
keeps them exact under single moves and swaps, and answers the contiguity questions the moves ask.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from spmopt.optim.deadline import Deadline
from spmopt.territory.arrays import TerritoryArrays

NEAREST_SLOTS = 6
"""Without contiguity a unit may move to this many of its cheapest territories (and its neighbours')."""
EPS_V = 1e-13
EPS_F = 1e-9


class Search:
    """Mutable search state over one design (shared by the heuristic's modules only)."""

    def __init__(self, arr: TerritoryArrays, cost: np.ndarray, deadline: Deadline) -> None:
        self.arr = arr
        self.C = cost
        self.deadline = deadline
        self.n, self.k, self.B = arr.n, arr.k, arr.measure.shape[0]
        self.meas = [arr.measure[b].tolist() for b in range(self.B)]
        self.scale = [max(float(np.mean(arr.target[b])), 1e-12) for b in range(self.B)]
        self.nbr = [arr.neighbours(i).tolist() for i in range(self.n)]
        self.lock = arr.lock.tolist()
        self.cur = arr.current.tolist()
        self.mw = arr.moved_weight.tolist()
        self.cap = arr.moved_cap
        self.price = arr.moved_price
        self.total_w = max(arr.moved_total, 1e-12)
        self.contig = arr.contiguity
        self.cut = arr.cut_edges
        self.fixed = arr.fixed
        self.moves = 0

    # --- state ------------------------------------------------------------------------------
    def load(self, a: list[int], site: list[int]) -> None:
        self.a = list(a)
        self.site = list(site)
        self.lo = [[float(self.arr.lower[b, s]) for s in self.site] for b in range(self.B)]
        self.hi = [[float(self.arr.upper[b, s]) for s in self.site] for b in range(self.B)]
        self.tot = [[0.0] * self.k for _ in range(self.B)]
        self.size = [0] * self.k
        self.members: list[set[int]] = [set() for _ in range(self.k)]
        self._cuts: dict[int, set[int]] = {}
        self.moved = 0.0
        for i, t in enumerate(self.a):
            if t >= 0:
                self._add(i, t)

    def _add(self, i: int, t: int) -> None:
        for b in range(self.B):
            self.tot[b][t] += self.meas[b][i]
        self.size[t] += 1
        self.members[t].add(i)
        self._cuts.pop(t, None)
        if self.cur[i] >= 0 and self.cur[i] != t:
            self.moved += self.mw[i]

    def _remove(self, i: int, t: int) -> None:
        for b in range(self.B):
            self.tot[b][t] -= self.meas[b][i]
        self.size[t] -= 1
        self.members[t].discard(i)
        self._cuts.pop(t, None)
        if self.cur[i] >= 0 and self.cur[i] != t:
            self.moved -= self.mw[i]

    def move(self, i: int, u: int) -> None:
        t = self.a[i]
        self._remove(i, t)
        self.a[i] = u
        self._add(i, u)
        self.moves += 1

    def root(self, t: int) -> int:
        """The unit that anchors slot t under contiguity (-1 when none)."""
        if not self.contig:
            return -1
        return int(self.arr.root[t]) if self.fixed else self.site[t]

    def pinned(self, i: int) -> bool:
        t = self.a[i]
        return self.lock[i] >= 0 or (self.contig and self.root(t) == i)

    # --- measures of quality --------------------------------------------------------------
    def _v(self, b: int, t: int, x: float) -> float:
        e = self.lo[b][t] - x if x < self.lo[b][t] else (x - self.hi[b][t] if x > self.hi[b][t] else 0.0)
        return (e / self.scale[b]) ** 2 if e else 0.0

    def _vcap(self, moved: float) -> float:
        if self.cap is None or moved <= self.cap:
            return 0.0
        return ((moved - self.cap) / self.total_w) ** 2

    def violation(self) -> float:
        """V as defined in the module docstring."""
        v = sum(self._v(b, t, self.tot[b][t]) for b in range(self.B) for t in range(self.k))
        return v + self._vcap(self.moved)

    def missed_slots(self) -> list[int]:
        """Slots with a measure outside its band."""
        return [t for t in range(self.k) if any(self._v(b, t, self.tot[b][t]) > 0 for b in range(self.B))]

    def unit_cost(self, i: int, t: int) -> float:
        return float(self.C[i, self.site[t]])

    def cost(self) -> float:
        if self.cut:
            f = sum(1 for i in range(self.n) for v in self.nbr[i] if v > i and self.a[v] != self.a[i])
        else:
            f = sum(float(self.C[i, self.site[t]]) for i, t in enumerate(self.a))
        return f + self.price * self.moved

    def delta(self, i: int, t: int, u: int) -> tuple[float, float]:
        """(change of V, change of F) when unit i moves from slot t to slot u."""
        dv = 0.0
        for b in range(self.B):
            x = self.meas[b][i]
            if x:
                dv += self._v(b, t, self.tot[b][t] - x) - self._v(b, t, self.tot[b][t])
                dv += self._v(b, u, self.tot[b][u] + x) - self._v(b, u, self.tot[b][u])
        dm = 0.0
        c = self.cur[i]
        if c >= 0:
            dm = (self.mw[i] if c == t else 0.0) - (self.mw[i] if c == u else 0.0)
            if dm:
                dv += self._vcap(self.moved + dm) - self._vcap(self.moved)
        if self.cut:
            df = float(sum((self.a[v] != u) - (self.a[v] != t) for v in self.nbr[i]))
        else:
            df = float(self.C[i, self.site[u]] - self.C[i, self.site[t]])
        return dv, df + self.price * dm

    def swap_delta(self, i: int, j: int, t: int, u: int) -> tuple[float, float]:
        """(change of V, change of F) when i (in t) and j (in u) trade places."""
        dv = 0.0
        for b in range(self.B):
            x = self.meas[b][i] - self.meas[b][j]
            if x:
                dv += self._v(b, t, self.tot[b][t] - x) - self._v(b, t, self.tot[b][t])
                dv += self._v(b, u, self.tot[b][u] + x) - self._v(b, u, self.tot[b][u])
        dm = 0.0
        for unit, src, dst in ((i, t, u), (j, u, t)):
            c = self.cur[unit]
            if c >= 0:
                dm += (self.mw[unit] if c == src else 0.0) - (self.mw[unit] if c == dst else 0.0)
        if dm:
            dv += self._vcap(self.moved + dm) - self._vcap(self.moved)
        if self.cut:  # the i-j edge, if any, is cut before and after
            df = float(sum((self.a[v] != u) - (self.a[v] != t) for v in self.nbr[i] if v != j))
            df += float(sum((self.a[v] != t) - (self.a[v] != u) for v in self.nbr[j] if v != i))
        else:
            df = float(
                self.C[i, self.site[u]] - self.C[i, self.site[t]] + self.C[j, self.site[t]] - self.C[j, self.site[u]]
            )
        return dv, df + self.price * dm

    # --- contiguity ------------------------------------------------------------------------
    def removable(self, i: int) -> bool:
        """Unit i may leave its slot: not pinned, not the last unit, and the rest stays connected."""
        t = self.a[i]
        if self.pinned(i) or self.size[t] <= 1:
            return False
        if not self.contig:
            return True
        return i not in self.cut_vertices(t)

    def cut_vertices(self, t: int) -> set[int]:
        """Articulation points of slot t's subgraph (Hopcroft–Tarjan), kept until the slot changes."""
        cached = self._cuts.get(t)
        if cached is not None:
            return cached
        members, nbr = self.members[t], self.nbr
        index: dict[int, int] = {}
        low: dict[int, int] = {}
        cuts: set[int] = set()
        for root in sorted(members):
            if root in index:
                continue
            index[root] = low[root] = len(index)
            children = 0
            stack = [(root, -1, iter(nbr[root]))]
            while stack:
                x, parent, it = stack[-1]
                advanced = False
                for v in it:
                    if v not in members:
                        continue
                    if v not in index:
                        index[v] = low[v] = len(index)
                        stack.append((v, x, iter(nbr[v])))
                        advanced = True
                        break
                    if v != parent:
                        low[x] = min(low[x], index[v])
                if advanced:
                    continue
                stack.pop()
                if parent >= 0:
                    low[parent] = min(low[parent], low[x])
                    if parent == root:
                        children += 1
                    elif low[x] >= index[parent]:
                        cuts.add(parent)
            if children > 1:
                cuts.add(root)
        self._cuts[t] = cuts
        return cuts

    def targets(self, i: int) -> list[int]:
        """Slots unit i may join from where it is."""
        t = self.a[i]
        if self.contig:
            out = {self.a[v] for v in self.nbr[i]}
            out.discard(t)
            return sorted(u for u in out if np.isfinite(self.C[i, self.site[u]]))
        # Without contiguity: the few cheapest slots and the slots of adjacent units; a move further
        # away only pays for balance, which swaps and rebuilds reach more cheaply.
        row = self.C[i, self.site]
        near = np.argsort(row, kind="stable")[: NEAREST_SLOTS + 1].tolist()
        out = set(near) | {self.a[v] for v in self.nbr[i]}
        out.discard(t)
        return sorted(u for u in out if np.isfinite(row[u]))

    def connected_slot(self, t: int) -> bool:
        members = self.members[t]
        if not members:
            return False
        start = self.root(t) if self.root(t) >= 0 else min(members)
        if self.a[start] != t:
            return False
        seen = {start}
        queue = deque([start])
        while queue:
            x = queue.popleft()
            for v in self.nbr[x]:
                if v not in seen and self.a[v] == t:
                    seen.add(v)
                    queue.append(v)
        return len(seen) == len(members)

    def timed_out(self) -> bool:
        return self.deadline.expired()


def better(dv: float, df: float) -> bool:
    return dv < -EPS_V or (dv <= EPS_V and df < -EPS_F)
