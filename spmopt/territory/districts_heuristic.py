"""Balanced districts with few cut edges, fast: region growing, then annealing on cut edges plus a balance penalty.

A restart grows k connected regions from spread seeds (always extending the lightest region), then
anneals single-unit boundary moves on cost = cut edges + mu * (balance violation) / (U - L), where the
violation of a district is max(0, pop - U) + max(0, L - pop). With `connected`, a move is taken only
when its district stays connected (all of the unit's district neighbours remain linked without it),
so every state is a set of connected districts. The best balanced state met is kept; restarts use
seeds 0, 1, 2, ... so the result is deterministic for a given number of restarts.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from spmopt.optim.deadline import Deadline

HOT, COLD = 2.0, 0.05
"""Anneal temperatures (in cut edges) at the first and last step, geometric in between."""
MU0, MU1 = 1.0, 1.0
"""Balance penalty weight (per U - L of violation) at the first and last step."""
SWEEPS = 100
"""Anneal steps per restart: SWEEPS * n * k."""
SWAP = 0.3
"""Share of steps that try a swap (i to b and a neighbour j of i from b back to a) instead of a move."""


@dataclass(frozen=True, slots=True)
class HeuristicDistricts:
    """Best balanced partition found: label[i] in 0..k-1, its cut edges, and the effort spent."""

    label: tuple[int, ...] | None
    cut_edges: int | None
    restarts: int
    seconds: float


def balanced_districts(
    adjacency: Sequence[Sequence[int]],
    weight: Sequence[float],
    k: int,
    lower: float,
    upper: float,
    connected: bool,
    budget: float,
    max_restarts: int = 1000,
) -> HeuristicDistricts:
    """Restarted annealing within `budget` seconds: each district's weight in [lower, upper], few cut edges."""
    deadline = Deadline.after(budget)
    adj = [list(a) for a in adjacency]
    w = [float(v) for v in weight]
    n = len(adj)
    best: list[int] | None = None
    best_cut = math.inf
    restarts = 0
    if n < k or k < 1:
        return HeuristicDistricts(None, None, 0, 0.0)
    while restarts < max_restarts and not deadline.expired():
        rng = random.Random(restarts)
        restarts += 1
        label = _grow(adj, w, k, rng)
        if label is None:
            continue
        found, cut = _anneal(adj, w, k, lower, upper, label, connected, rng, SWEEPS * n * k, deadline)
        if found is not None and cut < best_cut:
            best, best_cut = found, cut
    seconds = deadline.elapsed()
    if best is None:
        return HeuristicDistricts(None, None, restarts, seconds)
    return HeuristicDistricts(tuple(best), int(best_cut), restarts, seconds)


def cut_edges(adjacency: Sequence[Sequence[int]], label: Sequence[int]) -> int:
    """Number of edges {u, v} with label[u] != label[v]."""
    return sum(1 for u, near in enumerate(adjacency) for v in near if u < v and label[u] != label[v])


def _grow(adj: list[list[int]], w: list[float], k: int, rng: random.Random) -> list[int] | None:
    """k connected regions: seeds spread by hop distance (farthest first), the lightest region grows next."""
    n = len(adj)
    seeds = [rng.randrange(n)]
    far = _hops(adj, seeds[0])
    while len(seeds) < k:
        candidates = [v for v in range(n) if v not in seeds]
        top = max(far[v] for v in candidates)
        # a random pick among the far units keeps restarts diverse
        pool = [v for v in candidates if far[v] >= top - 1]
        s = pool[rng.randrange(len(pool))]
        seeds.append(s)
        far = [min(a, b) for a, b in zip(far, _hops(adj, s), strict=True)]
    label = [-1] * n
    pop = [0.0] * k
    for d, s in enumerate(seeds):
        label[s] = d
        pop[d] += w[s]
    left = n - k
    while left:
        order = sorted(range(k), key=lambda d: pop[d])
        for d in order:
            frontier = {v for u in range(n) if label[u] == d for v in adj[u] if label[v] < 0}
            if frontier:
                # prefer the unit with most neighbours already inside: fewer cut edges
                v = max(frontier, key=lambda v: (sum(label[x] == d for x in adj[v]), rng.random()))
                label[v] = d
                pop[d] += w[v]
                left -= 1
                break
        else:
            return None
    return label


def _hops(adj: list[list[int]], source: int) -> list[float]:
    """Breadth-first hop distance from source (inf when unreachable)."""
    dist = [math.inf] * len(adj)
    dist[source] = 0
    queue = [source]
    for u in queue:
        for v in adj[u]:
            if dist[v] == math.inf:
                dist[v] = dist[u] + 1
                queue.append(v)
    return dist


def _gain(adj: list[list[int]], label: list[int], i: int, a: int, b: int) -> int:
    """Change in cut edges when unit i moves from district a to district b."""
    return sum(1 for v in adj[i] if label[v] == a) - sum(1 for v in adj[i] if label[v] == b)


def _violation(p: float, lower: float, upper: float) -> float:
    """How far a district weight lies outside [lower, upper]."""
    return max(0.0, p - upper) + max(0.0, lower - p)


def _stays_connected(adj: list[list[int]], label: list[int], i: int, d: int) -> bool:
    """District d minus unit i is connected: i's neighbours in d are all linked without passing through i."""
    inside = [v for v in adj[i] if label[v] == d]
    if len(inside) <= 1:
        return True
    targets = set(inside[1:])
    seen = {i, inside[0]}
    stack = [inside[0]]
    while stack:
        u = stack.pop()
        for v in adj[u]:
            if v not in seen and label[v] == d:
                seen.add(v)
                targets.discard(v)
                if not targets:
                    return True
                stack.append(v)
    return False


def _anneal(
    adj: list[list[int]],
    w: list[float],
    k: int,
    lower: float,
    upper: float,
    label: list[int],
    connected: bool,
    rng: random.Random,
    iterations: int,
    deadline: Deadline,
) -> tuple[list[int] | None, float]:
    """Boundary moves accepted by the Metropolis rule on cut + mu * violation / (U - L); best balanced state."""
    n = len(adj)
    pop = [0.0] * k
    size = [0] * k
    for u in range(n):
        pop[label[u]] += w[u]
        size[label[u]] += 1
    cut = cut_edges(adj, label)
    scale = max(upper - lower, 1e-9)
    viol = sum(_violation(p, lower, upper) for p in pop)
    best: list[int] | None = list(label) if viol <= 0 else None
    best_cut = cut if viol <= 0 else math.inf
    hot, cold = HOT, COLD
    for step in range(iterations):
        if step % 512 == 0 and deadline.expired():
            break
        temperature = hot * (cold / hot) ** (step / iterations)
        # the balance penalty stiffens as the anneal cools, so late states are balanced
        mu = MU0 + (MU1 - MU0) * step / iterations
        i = rng.randrange(n)
        a = label[i]
        if size[a] == 1:
            continue
        if not connected and rng.random() < 0.05:
            b = rng.randrange(k)
            if b == a:
                continue
        else:
            near = [label[v] for v in adj[i] if label[v] != a]
            if not near:
                continue
            b = near[rng.randrange(len(near))]
        d_cut = _gain(adj, label, i, a, b)
        pa, pb = pop[a] - w[i], pop[b] + w[i]
        j = -1
        if rng.random() < SWAP:
            # a swap moves weight w_i - w_j only: the fine adjustment a tight band needs
            back = [v for v in adj[i] if label[v] == b]
            j = back[rng.randrange(len(back))] if back else -1
            if j >= 0 and size[b] > 1:
                label[i] = b
                d_cut += _gain(adj, label, j, b, a)
                label[i] = a
                pa, pb = pa + w[j], pb - w[j]
            else:
                j = -1
        d_viol = (
            _violation(pa, lower, upper)
            + _violation(pb, lower, upper)
            - _violation(pop[a], lower, upper)
            - _violation(pop[b], lower, upper)
        )
        delta = d_cut + mu * d_viol / scale
        if delta > 0 and rng.random() >= math.exp(-delta / temperature):
            continue
        if connected and not _stays_connected(adj, label, i, a):
            continue
        label[i] = b
        if j >= 0:
            if connected and (
                not _stays_connected(adj, label, j, b) or not any(label[v] == a for v in adj[j] if v != i)
            ):
                label[i] = a
                continue
            label[j] = a
        pop[a], pop[b] = pa, pb
        if j < 0:
            size[a] -= 1
            size[b] += 1
        cut += d_cut
        viol += d_viol
        # the exact check on pop: accumulated floating error in viol must not admit an unbalanced partition
        if viol <= 1e-6 and cut < best_cut and all(lower - 1e-9 <= p <= upper + 1e-9 for p in pop):
            best, best_cut = list(label), cut
    return best, best_cut
