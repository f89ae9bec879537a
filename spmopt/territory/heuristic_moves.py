"""The heuristic's improving moves: best single moves, border swaps, slot rebuilds and kicks."""

from __future__ import annotations

import numpy as np

from spmopt.territory.heuristic_start import fill_unassigned
from spmopt.territory.heuristic_state import EPS_V, Search, better

SWAP_POLISH = 3
"""Swap passes a local search spends on cost once every band is met."""


def local_search(s: Search, passes: int, rng: np.random.Generator) -> None:
    """Best single move per unit, then swaps along borders, until a pass changes nothing."""
    order = rng.permutation(s.n).tolist()
    polish = 0
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
                if better(dv - best[0], df - best[1]) and better(dv, df):
                    best, best_u = (dv, df), u
            if best_u >= 0:
                s.move(i, best_u)
                changed = True
        if changed:
            continue
        # Swaps for cost alone (bands already met) get a few passes: they are the costly neighbourhood.
        polish += s.violation() <= EPS_V
        if polish > SWAP_POLISH or not _swap_pass(s, order):
            return


def _swap_pass(s: Search, order: list[int]) -> bool:
    """Exchange a unit of t with a unit of u across their border when that improves (V, F).

    While a band is missed (and the cap holds), only swaps touching a slot that misses one can lower V,
    so the others are not tried. Under contiguity a swap keeps both slots connected when neither unit
    is a cut vertex of its slot and each touches the slot it joins after the other has left.
    """
    changed = False
    focus: set[int] | None = None
    if s.violation() > EPS_V and s._vcap(s.moved) == 0.0:
        focus = set(s.missed_slots())
    for i in order:
        if s.timed_out():
            return changed
        if s.pinned(i) or (s.contig and not s.removable(i)):
            continue
        t = s.a[i]
        for u in s.targets(i):
            if focus is not None and t not in focus and u not in focus:
                continue
            for j in _partners(s, i, t, u):
                if s.contig and not _swappable(s, i, j, t, u):
                    continue
                dv, df = s.swap_delta(i, j, t, u)
                if not better(dv, df):
                    continue
                s.move(i, u)
                s.move(j, t)
                changed = True
                break
            if s.a[i] != t:
                break
        if changed and focus is not None:
            focus = set(s.missed_slots())
            if not focus:
                return True
    return changed


def _swappable(s: Search, i: int, j: int, t: int, u: int) -> bool:
    """i (in t) and j (in u) can trade places with both slots staying connected (i is known removable)."""
    if not s.removable(j):
        return False
    joins_t = any(s.a[v] == t and v != i for v in s.nbr[j])
    joins_u = any(s.a[v] == u and v != j for v in s.nbr[i])
    return joins_t and joins_u


def _partners(s: Search, i: int, t: int, u: int, limit: int = 6) -> list[int]:
    """Units of slot u that could take i's place in t: neighbours of t's border (contiguity) or cheapest to t."""
    if s.contig:
        cand = {v for x in s.nbr[i] for v in s.nbr[x] if s.a[v] == u} | {v for v in s.nbr[i] if s.a[v] == u}
    else:
        cand = set(s.members[u])
        if len(cand) > 4 * limit:
            cand = set(sorted(cand, key=lambda v: (float(s.C[v, s.site[t]]), v))[: 4 * limit])
    cand = [v for v in cand if v != i and not s.pinned(v) and np.isfinite(s.C[v, s.site[t]])]
    cand.sort(key=lambda v: (float(s.C[v, s.site[t]]), v))
    return cand[:limit]


def rebuild(s: Search, t: int, small_first: bool = False) -> None:
    """Empty slot t (all but pinned units) and regrow it greedily towards its bands.

    At each step t takes, among the free or removable units on its border whose arrival lowers (V, F),
    the one that lowers it most, or with `small_first` the smallest one (least sum of its measures
    relative to their targets): filling with small units leaves room to meet one band without overshooting
    another, e.g. a city rep's territory short of workload but near its potential limit. It stops when
    no arrival helps; units it leaves behind join their cheapest neighbouring slot.
    """
    for i in range(s.n):
        if s.a[i] == t and not s.pinned(i):
            s._remove(i, t)
            s.a[i] = -1
    while not s.timed_out():
        members = sorted(s.members[t])
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
            if not better(dv, df):
                continue
            if small_first:
                key = (sum(abs(s.meas[b][j]) / s.scale[b] for b in range(s.B)), dv, df)
                if pick < 0 or key < best:
                    best, pick = key, j
            elif better(dv - best[0], df - best[1]):
                best, pick = (dv, df), j
        if pick < 0:
            break
        if s.a[pick] >= 0:
            s.move(pick, t)
        else:
            s.a[pick] = t
            s._add(pick, t)
    fill_unassigned(s)


def _arrival(s: Search, j: int, t: int) -> tuple[float, float]:
    """(change of V, change of F) when free unit j joins slot t (its leaving nothing is not counted)."""
    dv = 0.0
    for b in range(s.B):
        x = s.meas[b][j]
        if x:
            dv += s._v(b, t, s.tot[b][t] + x) - s._v(b, t, s.tot[b][t])
    return dv, float(s.C[j, s.site[t]])


def kick(s: Search, rng: np.random.Generator, strength: int) -> None:
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
