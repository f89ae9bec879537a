"""A plan in seconds for any design: region growing, then local search that keeps territories connected.

Works on every shape the engine accepts: any number of balance measures and bands, fixed rep bases or
chosen centres, unequal target shares, locks, a disruption cap or penalty, distance or cut-edge
compactness, contiguity on or off. It is the first step of every method (their MIP start) and the
answer of last resort when a method finds nothing better.

Search state: each unit's territory slot a(i). Two quantities are kept exactly as moves are made:

* violation V = sum_b sum_t (e_bt / s_b)^2 + (e_cap / W)^2, where e_bt is how far territory t's total of
  measure b lies outside [L_bt, U_bt], s_b the measure's mean target, e_cap the moved weight above the
  disruption cap and W the measure's total. Squares make spreading an excess strictly better than
  holding it, so chains of moves carry it to territories with room.
* cost F = sum_i w_i d(i, site(a(i))) (or the number of cut edges) + price * moved weight.

A move or swap is taken when it lowers V, or leaves V unchanged and lowers F (lexicographic). Under
contiguity a unit leaves a territory only if the rest stays connected (a breadth-first check from one
neighbour to the others) and joins only a territory it touches; roots (rep home units, chosen centres)
and locked units never move. Effort is counted in passes and starts, never in seconds, so the same
design gives the same plan whatever the machine load; the deadline is only a safety net.
"""

from __future__ import annotations

import heapq
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from spmopt.territory.arrays import TerritoryArrays

NEAREST_SLOTS = 6
"""Without contiguity a unit may move to this many of its cheapest territories (and its neighbours')."""
EPS_V = 1e-13
EPS_F = 1e-9


@dataclass(frozen=True, slots=True)
class Effort:
    """Work limits of the search (deterministic)."""

    starts: int = 4
    """Constructions tried: growth, today's alignment when there is one, then growth with seeded noise."""
    passes: int = 40
    """Local-search passes over all units per round."""
    kicks: int = 12
    """Perturbation rounds when a start is still outside its bands."""
    recentre_rounds: int = 6
    """Chosen centres: medoid updates followed by local search."""
    seed: int = 0


@dataclass(frozen=True, slots=True)
class HeuristicPlan:
    """A slot per unit, the centre site of each slot, and how good it is."""

    slot: np.ndarray
    site: np.ndarray
    """Site index serving each slot (the slot itself for rep bases, the centre unit when chosen)."""
    cost: float
    violation: float
    feasible: bool
    seconds: float
    details: dict[str, object] = field(default_factory=dict)


class _Search:
    """Mutable search state over one design (internal to this module)."""

    def __init__(self, arr: TerritoryArrays, cost: np.ndarray, deadline: float) -> None:
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
        self.moved = 0.0
        for i, t in enumerate(self.a):
            if t >= 0:
                self._add(i, t)

    def _add(self, i: int, t: int) -> None:
        for b in range(self.B):
            self.tot[b][t] += self.meas[b][i]
        self.size[t] += 1
        if self.cur[i] >= 0 and self.cur[i] != t:
            self.moved += self.mw[i]

    def _remove(self, i: int, t: int) -> None:
        for b in range(self.B):
            self.tot[b][t] -= self.meas[b][i]
        self.size[t] -= 1
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
        inside = [v for v in self.nbr[i] if self.a[v] == t]
        if len(inside) <= 1:
            return True
        return self._linked(inside, t, skip=i)

    def _linked(self, inside: list[int], t: int, skip: int) -> bool:
        """All of `inside` reachable from its first element within slot t without passing `skip`."""
        want = set(inside[1:])
        seen = {inside[0], skip}
        queue = deque([inside[0]])
        a, nbr = self.a, self.nbr
        while queue:
            x = queue.popleft()
            for v in nbr[x]:
                if v not in seen and a[v] == t:
                    if v in want:
                        want.discard(v)
                        if not want:
                            return True
                    seen.add(v)
                    queue.append(v)
        return not want

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
        members = [i for i in range(self.n) if self.a[i] == t]
        if not members:
            return False
        start = self.root(t) if self.root(t) >= 0 else members[0]
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
        return time.perf_counter() > self.deadline


def _better(dv: float, df: float) -> bool:
    return dv < -EPS_V or (dv <= EPS_V and df < -EPS_F)


def _local_search(s: _Search, passes: int, rng: np.random.Generator) -> None:
    """Best single move per unit, then swaps along borders, until a pass changes nothing."""
    order = rng.permutation(s.n).tolist()
    for _ in range(passes):
        if s.timed_out():
            return
        changed = False
        for i in order:
            if not s.removable(i):
                continue
            t = s.a[i]
            best, best_u = (0.0, 0.0), -1
            for u in s.targets(i):
                dv, df = s.delta(i, t, u)
                if _better(dv - best[0], df - best[1]) and _better(dv, df):
                    best, best_u = (dv, df), u
            if best_u >= 0:
                s.move(i, best_u)
                changed = True
        if changed:
            continue
        if not _swap_pass(s, order):
            return


def _swap_pass(s: _Search, order: list[int]) -> bool:
    """Exchange a unit of t with a unit of u across their border when that improves (V, F)."""
    changed = False
    for i in order:
        if s.timed_out():
            return changed
        if s.pinned(i):
            continue
        t = s.a[i]
        for u in s.targets(i):
            for j in _partners(s, i, t, u):
                dv, df = s.swap_delta(i, j, t, u)
                if not _better(dv, df):
                    continue
                s.move(i, u)
                s.move(j, t)
                if not s.contig or (s.connected_slot(t) and s.connected_slot(u)):
                    changed = True
                    break
                s.move(j, u)
                s.move(i, t)
                s.moves -= 4
            if s.a[i] != t:
                break
    return changed


def _partners(s: _Search, i: int, t: int, u: int, limit: int = 6) -> list[int]:
    """Units of slot u that could take i's place in t: neighbours of t's border (contiguity) or cheapest to t."""
    if s.contig:
        cand = {v for x in s.nbr[i] for v in s.nbr[x] if s.a[v] == u} | {v for v in s.nbr[i] if s.a[v] == u}
    else:
        cand = {v for v in range(s.n) if s.a[v] == u}
        if len(cand) > 4 * limit:
            cand = set(sorted(cand, key=lambda v: (float(s.C[v, s.site[t]]), v))[: 4 * limit])
    cand = [v for v in cand if v != i and not s.pinned(v) and np.isfinite(s.C[v, s.site[t]])]
    cand.sort(key=lambda v: (float(s.C[v, s.site[t]]), v))
    return cand[:limit]


def _rebuild(s: _Search, t: int) -> None:
    """Empty slot t (all but pinned units) and regrow it greedily towards its bands.

    At each step t takes the free or removable unit on its border whose arrival lowers (V, F) the most;
    it stops when no arrival helps. Units it leaves behind join their cheapest neighbouring slot.
    This reaches plans that single moves cannot, such as trading one large unit for four small ones.
    """
    for i in range(s.n):
        if s.a[i] == t and not s.pinned(i):
            s._remove(i, t)
            s.a[i] = -1
    while not s.timed_out():
        members = [i for i in range(s.n) if s.a[i] == t]
        border = {v for i in members for v in s.nbr[i] if s.a[v] != t} if s.contig else set(range(s.n))
        if not members or not s.contig:
            border |= {i for i in range(s.n) if s.a[i] < 0}
        best, pick = (0.0, 0.0), -1
        for j in sorted(border):
            w = s.a[j]
            if not np.isfinite(s.C[j, s.site[t]]) or w == t:
                continue
            if w >= 0:
                if not s.removable(j):
                    continue
                dv, df = s.delta(j, w, t)
            else:
                dv, df = _arrival(s, j, t)
            if _better(dv, df) and _better(dv - best[0], df - best[1]):
                best, pick = (dv, df), j
        if pick < 0:
            break
        if s.a[pick] >= 0:
            s.move(pick, t)
        else:
            s.a[pick] = t
            s._add(pick, t)
    _fill_unassigned(s)


def _arrival(s: _Search, j: int, t: int) -> tuple[float, float]:
    """(change of V, change of F) when free unit j joins slot t (its leaving nothing is not counted)."""
    dv = 0.0
    for b in range(s.B):
        x = s.meas[b][j]
        if x:
            dv += s._v(b, t, s.tot[b][t] + x) - s._v(b, t, s.tot[b][t])
    return dv, float(s.C[j, s.site[t]])


def _kick(s: _Search, rng: np.random.Generator, strength: int) -> None:
    """Push units out of over-full slots and into under-full ones, ignoring cost, keeping contiguity."""
    bad = [t for t in range(s.k) if any(s._v(b, t, s.tot[b][t]) > 0 for b in range(s.B))]
    if not bad:
        return
    border = [i for i in range(s.n) if s.a[i] in bad or any(s.a[v] in bad for v in s.nbr[i])]
    rng.shuffle(border)
    done = 0
    for i in border:
        if done >= strength:
            break
        if not s.removable(i):
            continue
        t = s.a[i]
        options = s.targets(i)
        if not options:
            continue
        u = options[int(rng.integers(len(options)))]
        dv, _ = s.delta(i, t, u)
        if dv <= 1e-9 or rng.random() < 0.3:
            s.move(i, u)
            done += 1


def _repair(s: _Search) -> None:
    """Give every unit a slot and make every slot one piece holding its root (contiguity)."""
    a = s.a
    if s.contig:
        _connect_locked_pieces(s)
        for t in range(s.k):
            members = [i for i in range(s.n) if a[i] == t]
            if not members:
                continue
            anchor = s.root(t) if s.root(t) >= 0 else None
            pieces = _pieces(s, members, t)
            keep = next((p for p in pieces if anchor in p), None) if anchor is not None else None
            if keep is None:
                keep = max(pieces, key=len)
            for p in pieces:
                if p is not keep:
                    for i in p:
                        if s.lock[i] < 0:
                            s._remove(i, t)
                            a[i] = -1
    _fill_unassigned(s)


def _connect_locked_pieces(s: _Search) -> None:
    """A piece of slot t holding a locked unit is joined to t's root by the shortest free path of units.

    Path units may come from other slots (not their roots or locked units); the pieces this leaves
    behind in those slots are handed on by the rest of `_repair`.
    """
    roots = {s.root(t) for t in range(s.k)}
    for t in range(s.k):
        anchor = s.root(t)
        if anchor < 0 or s.a[anchor] != t:
            continue
        members = [i for i in range(s.n) if s.a[i] == t]
        pieces = _pieces(s, members, t)
        main = next(p for p in pieces if anchor in p)
        for piece in pieces:
            if piece is main or not any(s.lock[i] == t for i in piece):
                continue
            path = _free_path(s, main, piece, t, roots)
            for v in path:
                if s.a[v] >= 0:
                    s._remove(v, s.a[v])
                s.a[v] = t
                s._add(v, t)
            main = main | piece | set(path)


def _free_path(s: _Search, source: set[int], goal: set[int], t: int, roots: set[int]) -> list[int]:
    """Units strictly between `source` and `goal` on a shortest path avoiding other slots' roots and locks."""
    parent: dict[int, int] = {}
    queue = deque(sorted(source))
    seen = set(source)
    while queue:
        x = queue.popleft()
        for v in s.nbr[x]:
            if v in seen:
                continue
            if v in goal:
                path = []
                while x not in source:
                    path.append(x)
                    x = parent[x]
                return path
            if (s.lock[v] >= 0 and s.lock[v] != t) or (v in roots and s.a[v] != t):
                continue
            seen.add(v)
            parent[v] = x
            queue.append(v)
    return []


def _pieces(s: _Search, members: list[int], t: int) -> list[set[int]]:
    left = set(members)
    out = []
    while left:
        start = min(left)
        seen = {start}
        queue = deque([start])
        while queue:
            x = queue.popleft()
            for v in s.nbr[x]:
                if v in left and v not in seen:
                    seen.add(v)
                    queue.append(v)
        left -= seen
        out.append(seen)
    return out


def _fill_unassigned(s: _Search) -> None:
    """Unassigned units join a neighbouring slot (cheapest first); units with no assigned neighbour wait."""
    a = s.a
    waiting = [i for i in range(s.n) if a[i] < 0]
    while waiting:
        progress = False
        rest = []
        for i in waiting:
            slots = {a[v] for v in s.nbr[i] if a[v] >= 0} if s.nbr[i] else set(range(s.k))
            slots = [u for u in slots if np.isfinite(s.C[i, s.site[u]])]
            if not slots and not s.contig:
                slots = [u for u in range(s.k) if np.isfinite(s.C[i, s.site[u]])]
            if slots:
                u = min(slots, key=lambda x: (float(s.C[i, s.site[x]]), x))
                a[i] = u
                s._add(i, u)
                progress = True
            else:
                rest.append(i)
        waiting = rest
        if not progress:
            for i in waiting:  # no eligible neighbour anywhere: cheapest slot, contiguity repaired later
                u = int(np.argmin([float(s.C[i, s.site[x]]) for x in range(s.k)]))
                a[i] = u
                s._add(i, u)
            return


def _grow(s: _Search, site: list[int], rng: np.random.Generator, noise: float) -> list[int]:
    """Region growing: the slot furthest behind its targets takes its cheapest reachable unassigned unit."""
    arr = s.arr
    n, k = s.n, s.k
    a = [-1] * n
    s.load(a, site)
    for i in range(n):
        if s.lock[i] >= 0:
            s.a[i] = s.lock[i]
            s._add(i, s.lock[i])
    for t in range(k):
        r = s.root(t)
        if r >= 0 and s.a[r] < 0:
            s.a[r] = t
            s._add(r, t)
        if s.size[t] == 0:  # no root: start from the cheapest free unit
            col = s.C[:, site[t]]
            free = [i for i in np.argsort(col, kind="stable").tolist() if s.a[i] < 0 and np.isfinite(col[i])]
            if free:
                s.a[free[0]] = t
                s._add(free[0], t)
    jitter = (1.0 + noise * rng.random(n)) if noise else np.ones(n)
    heaps: list[list[tuple[float, int]]] = [[] for _ in range(k)]

    def key(i: int, t: int) -> float:
        c = float(s.C[i, site[t]])
        if s.cur[i] == t:
            c *= 0.5
        return c * float(jitter[i])

    if s.contig or arr.edges.size:
        for i in range(n):
            if s.a[i] >= 0:
                for v in s.nbr[i]:
                    if s.a[v] < 0 and np.isfinite(s.C[v, site[s.a[i]]]):
                        heapq.heappush(heaps[s.a[i]], (key(v, s.a[i]), v))
    if not s.contig:
        for t in range(k):
            for i in range(n):
                if s.a[i] < 0 and np.isfinite(s.C[i, site[t]]):
                    heaps[t].append((key(i, t), i))
            heapq.heapify(heaps[t])
    active = [True] * k
    targets = [[max(float(arr.target[b, site[t]]), 1e-12) for t in range(k)] for b in range(s.B)]
    per_slot = n / k
    remaining = sum(1 for x in s.a if x < 0)
    while remaining and any(active):
        t = min(
            (u for u in range(k) if active[u]),
            key=lambda u: (
                (sum(s.tot[b][u] / targets[b][u] for b in range(s.B)) / s.B) if s.B else s.size[u] / per_slot,
                u,
            ),
        )
        heap = heaps[t]
        while heap and s.a[heap[0][1]] >= 0:
            heapq.heappop(heap)
        if not heap:
            active[t] = False
            continue
        _, i = heapq.heappop(heap)
        s.a[i] = t
        s._add(i, t)
        remaining -= 1
        if s.contig:
            for v in s.nbr[i]:
                if s.a[v] < 0 and np.isfinite(s.C[v, site[t]]):
                    heapq.heappush(heap, (key(v, t), v))
    _fill_unassigned(s)
    return s.a


def _recentre(s: _Search) -> bool:
    """Chosen centres: each slot's centre becomes its medoid (the member with least weighted distance)."""
    changed = False
    for t in range(s.k):
        members = [i for i in range(s.n) if s.a[i] == t]
        if not members:
            continue
        sub = s.C[np.ix_(members, members)]
        totals = sub.sum(axis=0)
        best = members[int(np.argmin(totals))]
        here = totals[members.index(s.site[t])] if s.site[t] in members else np.inf
        if np.isfinite(totals.min()) and best != s.site[t] and totals.min() < here - EPS_F:
            s.site[t] = best
            changed = True
    if changed:
        s.load(s.a, s.site)
    return changed


def _initial_centres(arr: TerritoryArrays, cost: np.ndarray, rng: np.random.Generator, noise: float) -> list[int]:
    """Chosen centres: today's territories' medoids when known, else weighted farthest-point seeds."""
    n, k = arr.n, arr.k
    cur = arr.current
    if noise == 0 and (cur >= 0).sum() == n and len(set(cur.tolist())) == k:
        out = []
        for t in range(k):
            members = np.flatnonzero(cur == t)
            totals = cost[np.ix_(members, members)].sum(axis=0)
            out.append(int(members[int(np.argmin(totals))]))
        return out
    weight = arr.measure.sum(axis=0) if arr.measure.size else np.ones(n)
    weight = np.maximum(weight, 0) + 1e-9
    first = int(np.argmax(weight)) if noise == 0 else int(rng.choice(n, p=weight / weight.sum()))
    chosen = [first]
    near = np.where(np.isfinite(cost[:, first]), cost[:, first], 1e18)
    while len(chosen) < k:
        score = weight * near * ((1 + noise * rng.random(n)) if noise else 1.0)
        score[chosen] = -1
        nxt = int(np.argmax(score))
        chosen.append(nxt)
        near = np.minimum(near, np.where(np.isfinite(cost[:, nxt]), cost[:, nxt], 1e18))
    locked_slots = sorted(set(arr.lock[arr.lock >= 0].tolist()))
    for t in locked_slots:  # a labelled slot with locks starts at one of its locked units
        members = np.flatnonzero(arr.lock == t)
        chosen[t] = int(members[0]) if chosen[t] not in members.tolist() else chosen[t]
    return chosen


def _distance_cost(arr: TerritoryArrays) -> np.ndarray:
    cost = arr.dense_cost()
    if cost is None:
        raise MemoryError("design too large for the dense heuristic")
    if arr.cut_edges:  # cut-edge designs still grow by distance; km is the tie-breaker
        cost = np.full((arr.n, arr.m), np.inf)
        cost[arr.pair_unit, arr.pair_site] = arr.pair_km
    return cost


def design_heuristic(
    arr: TerritoryArrays,
    time_limit: float = 30.0,
    effort: Effort = Effort(),
    start: tuple[np.ndarray, np.ndarray] | None = None,
) -> HeuristicPlan:
    """The best plan over `effort.starts` constructions (or from `start`: slots and sites), each improved.

    Returns the plan with the least violation, then the least cost; `feasible` says whether every band,
    lock, cap and (under contiguity) connection holds.
    """
    clock = time.perf_counter()
    deadline = clock + time_limit
    cost = _distance_cost(arr)
    s = _Search(arr, cost, deadline)
    rng = np.random.default_rng(effort.seed)
    best: tuple[float, float, list[int], list[int]] | None = None
    tried = 0
    plans = [("given", 0.0)] if start is not None else []
    if start is None:
        plans += [("grow", 0.0)]
        if (arr.current >= 0).sum() == arr.n and arr.fixed:
            plans.append(("current", 0.0))
        plans += [("grow", 0.3 * (r + 1)) for r in range(max(effort.starts - len(plans), 0))]
    for kind, noise in plans:
        if s.timed_out() and best is not None:
            break
        tried += 1
        if kind in ("given", "current"):
            slots = start[0] if kind == "given" else arr.current
            site = start[1].tolist() if kind == "given" else list(range(arr.k))
            s.load(np.where(arr.lock >= 0, arr.lock, slots).tolist(), site)
            _repair(s)
        else:
            site = list(range(arr.k)) if arr.fixed else _initial_centres(arr, cost, rng, noise)
            _grow(s, site, rng, noise)
            _repair(s)
        _improve(s, effort, rng)
        v, f = s.violation(), s.cost()
        if best is None or (v, f) < (best[0], best[1]):
            best = (v, f, list(s.a), list(s.site))
    v, f, a, site = best
    s.load(a, site)
    locked = bool(np.all((arr.lock < 0) | (np.array(a) == arr.lock)))
    eligible = all(np.isfinite(cost[i, site[t]]) for i, t in enumerate(a))
    connected = not arr.contiguity or all(s.connected_slot(t) for t in range(arr.k))
    feasible = v <= EPS_V and locked and eligible and connected
    return HeuristicPlan(
        slot=np.array(a, dtype=np.int64),
        site=np.array(site, dtype=np.int64),
        cost=f,
        violation=v,
        feasible=bool(feasible),
        seconds=time.perf_counter() - clock,
        details={"starts": tried, "moves": s.moves},
    )


def _improve(s: _Search, effort: Effort, rng: np.random.Generator) -> None:
    """Local search; kicks while bands are missed; medoid rounds when centres are chosen."""
    _local_search(s, effort.passes, rng)
    kicks = 0
    best = (s.violation(), s.cost(), list(s.a))
    while best[0] > EPS_V and kicks < effort.kicks and not s.timed_out():
        missed = s.missed_slots()
        if missed and kicks % 2 == 0:
            _rebuild(s, missed[kicks // 2 % len(missed)])
        else:
            _kick(s, rng, strength=max(3, s.n // (20 * max(s.k, 1))))
        _local_search(s, effort.passes, rng)
        if (s.violation(), s.cost()) < best[:2]:
            best = (s.violation(), s.cost(), list(s.a))
        kicks += 1
    s.load(best[2], s.site)
    if not s.fixed:
        for _ in range(effort.recentre_rounds):
            if s.timed_out() or not _recentre(s):
                break
            _repair(s)
            _local_search(s, effort.passes, rng)
