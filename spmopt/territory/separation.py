"""Rooted separators: sets of units that cut a unit off from its rep's home unit, found in LP and MIP points.

For a rep j with root r_j and a unit i, a vertex set C separates i from r_j when every path between
them passes through C; then x_ij <= sum_{c in C} x_cj holds for every contiguous plan. Two searches
find violated ones: pieces of a rep's support graph not linked to the root (integer and LP points),
and minimum vertex cuts by max-flow where a widest-path screen cannot rule a unit out (LP points).
"""

from __future__ import annotations

import heapq
import math
from collections import deque

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import maximum_flow

from spmopt.territory.arrays import TerritoryArrays

Separator = tuple[int, int, list[int]]
"""(unit i, rep j, separating units C)."""


def separators(
    arr: TerritoryArrays, pair: dict[tuple[int, int], int], x: np.ndarray, threshold: float
) -> list[Separator]:
    """(i, j, C) for pieces of rep j's support {i : x_ij > threshold} not linked to j's root.

    C is the piece's outer border reduced to the units that touch the root's side, which keeps the
    separator minimal enough to bind; each unit of the piece gets its row (capped at 25 per piece).
    """
    out = []
    xp = x[: len(arr.pair_unit)]
    for j in range(arr.m):
        sel = np.flatnonzero((arr.pair_site == j) & (xp > threshold))
        members = set(arr.pair_unit[sel].tolist())
        root = int(arr.root[j])
        if root not in members:
            continue
        linked = _reach(arr, root, members)
        rest = members - linked
        while rest:
            start = min(rest)
            piece = _reach(arr, start, rest)
            rest -= piece
            border = {v for u in piece for v in arr.neighbours(u).tolist()} - piece
            blocked = piece | border
            root_side = _reach(arr, root, None, blocked)
            cut = sorted(c for c in border if any(v in root_side for v in arr.neighbours(c).tolist()))
            value = {i: float(xp[pair[i, j]]) for i in piece}
            rhs = sum(float(xp[pair[c, j]]) for c in cut if (c, j) in pair)
            for i in sorted(piece, key=lambda u: (-value[u], u))[:25]:
                if value[i] > rhs + 1e-6:
                    out.append((i, j, cut))
    return out


def vertex_cut_separators(arr: TerritoryArrays, x: np.ndarray, per_site: int = 30) -> list[Separator]:
    """(i, j, C) with C a minimum i–r_j vertex cut under capacities x_cj, wherever it is below x_ij.

    A widest-path pass from the root screens units first: if some path reaches i with every
    intermediate x_vj >= x_ij, no cut can be violated for i. The rest get an exact max-flow on the
    split-vertex graph (v_in -> v_out carries x_vj).
    """
    n = arr.n
    xp = x[: len(arr.pair_unit)]
    src, dst = arr.edges[:, 0], arr.edges[:, 1]
    out = []
    for j in range(arr.m):
        cap = np.zeros(n)
        sel = np.flatnonzero(arr.pair_site == j)
        cap[arr.pair_unit[sel]] = xp[sel]
        root = int(arr.root[j])
        reach = _widest(arr, root, cap)
        want = [(cap[i] - reach[i], i) for i in np.flatnonzero(cap > 0.05).tolist() if i != root]
        want = sorted((d, i) for d, i in want if d > 1e-4)
        for _, i in sorted(want, key=lambda t: (-t[0], t[1]))[:per_site]:
            cut, value = min_vertex_cut(n, src, dst, cap, root, i)
            if value < cap[i] - 1e-4:
                out.append((i, j, cut))
    return out


def _widest(arr: TerritoryArrays, root: int, cap: np.ndarray) -> np.ndarray:
    """Largest bottleneck min_{v inside the path} cap_v over paths from the root to each unit."""
    best = np.zeros(arr.n)
    best[root] = math.inf
    heap = [(-math.inf, root)]
    while heap:
        neg, u = heapq.heappop(heap)
        if -neg < best[u]:
            continue
        through = -neg if u == root else min(-neg, cap[u])
        for v in arr.neighbours(u).tolist():
            if through > best[v]:
                best[v] = through
                heapq.heappush(heap, (-through, v))
    return best


_SCALE = 10_000
_BIG = 1_000_000_000
"""Capacities are int32 in scipy's max-flow (larger values wrap silently): x_vj in 1/10,000ths, edges uncuttable."""


def min_vertex_cut(
    n: int, src: np.ndarray, dst: np.ndarray, cap: np.ndarray, root: int, target: int
) -> tuple[list[int], float]:
    """Minimum root–target vertex cut (capacities `cap`, root and target uncuttable) and its value."""
    inner = np.round(cap * _SCALE).astype(np.int32)
    inner[[root, target]] = _BIG
    nodes = np.arange(n)
    rows = np.concatenate([nodes, src + n, dst + n])
    cols = np.concatenate([nodes + n, dst, src])
    caps = np.concatenate([inner, np.full(2 * len(src), _BIG, dtype=np.int32)])
    graph = sparse.csr_array((caps, (rows, cols)), shape=(2 * n, 2 * n))
    flow = maximum_flow(sparse.csr_matrix(graph), root, target)
    residual = sparse.csr_array(graph - flow.flow)
    seen = np.zeros(2 * n, dtype=bool)
    seen[root] = True
    queue = deque([root])
    indptr, indices, data = residual.indptr, residual.indices, residual.data
    while queue:
        u = queue.popleft()
        for k in range(indptr[u], indptr[u + 1]):
            v = indices[k]
            if data[k] > 0 and not seen[v]:
                seen[v] = True
                queue.append(v)
    cut = [int(v) for v in range(n) if seen[v] and not seen[v + n]]
    return cut, flow.flow_value / _SCALE


def _reach(arr: TerritoryArrays, start: int, within: set[int] | None, blocked: set[int] | None = None) -> set[int]:
    seen = {start}
    queue = deque([start])
    while queue:
        u = queue.popleft()
        for v in arr.neighbours(u).tolist():
            if v in seen or (within is not None and v not in within) or (blocked is not None and v in blocked):
                continue
            seen.add(v)
            queue.append(v)
    return seen


def separates(arr: TerritoryArrays, i: int, root: int, cut: list[int]) -> bool:
    """True when every path from unit i to `root` passes through `cut` (so the row is valid)."""
    return root not in _reach(arr, i, None, set(cut))
