"""The heuristic's starts and repairs: region growing, lock paths, filling, medoid centres."""

from __future__ import annotations

import heapq
from collections import deque

import numpy as np

from spmopt.territory.arrays import TerritoryArrays
from spmopt.territory.heuristic_state import EPS_F, Search


def repair(s: Search) -> None:
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
    fill_unassigned(s)


def _connect_locked_pieces(s: Search) -> None:
    """A piece of slot t holding a locked unit is joined to t's root by the shortest free path of units.

    Path units may come from other slots (not their roots or locked units); the pieces this leaves
    behind in those slots are handed on by the rest of `repair`.
    """
    roots = {s.root(t) for t in range(s.k)}
    for t in range(s.k):
        anchor = s.root(t)
        if anchor < 0 or s.a[anchor] != t:
            continue
        members = sorted(s.members[t])
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


def _free_path(s: Search, source: set[int], goal: set[int], t: int, roots: set[int]) -> list[int]:
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


def _pieces(s: Search, members: list[int], t: int) -> list[set[int]]:
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


def fill_unassigned(s: Search) -> None:
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


def grow(s: Search, site: list[int], rng: np.random.Generator, noise: float) -> list[int]:
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
    fill_unassigned(s)
    return s.a


def recentre(s: Search) -> bool:
    """Chosen centres: each slot's centre becomes its medoid (the member with least weighted distance)."""
    changed = False
    for t in range(s.k):
        members = sorted(s.members[t])
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


def initial_centres(arr: TerritoryArrays, cost: np.ndarray, rng: np.random.Generator, noise: float) -> list[int]:
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
