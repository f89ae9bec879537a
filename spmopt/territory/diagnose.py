"""Explain infeasibility in planners' words: cheap checks before solving, relaxation after.

Before the solve, `precheck` looks for requirements that cannot hold whatever the alignment (a unit
bigger than a band, islands under contiguity, conflicting locks, a disruption cap below the share
that must move, homes and locks that wall a territory in). Each check is linear or near-linear in the
units and edges, so all of them together stay well under a second on thousands of units. After an
infeasible solve, `explain_infeasibility` re-solves with one requirement family dropped at a time,
within a time budget, and names those whose removal makes the model feasible.

One module, though long: the pre-checks and the probes answer one question for one caller (why is this
design infeasible, in planners' words), share the message helpers, and run in an order that is itself the
contract (the simplest cause is named first). Most of the length is those messages.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import networkx as nx

from spmopt.config import SolverSettings
from spmopt.errors import InfeasibleModelError
from spmopt.optim.deadline import Deadline
from spmopt.optim.solve import SolveStatus, solve
from spmopt.territory.inputs import Band, TerritoryInputs
from spmopt.territory.model import build_territory_model

_MAX_LISTED = 8
_WORST_LISTED = 3


def _listing(items: list[str]) -> str:
    shown = ", ".join(items[:_MAX_LISTED])
    return shown + (f" and {len(items) - _MAX_LISTED} more" if len(items) > _MAX_LISTED else "")


def _pct_down(share: float) -> str:
    """A share as a percentage rounded down, so 'at least X%' stays true."""
    return f"{math.floor(share * 1000 + 1e-9) / 10:.1f}%"


def _pct_up(share: float) -> str:
    """A share as a percentage rounded up, so 'raise it to at least X%' is enough for the bound."""
    return f"{math.ceil(share * 1000 - 1e-9) / 10:.1f}%"


def precheck(inp: TerritoryInputs) -> None:
    """Raise `InfeasibleModelError` for requirements no alignment can meet.

    Checks run from the most basic (a single unit, the graph) to the combined ones, so the message
    names the simplest cause when several hold.
    """
    for band in inp.bands:
        _check_band(inp, band)
    for band in inp.bands:
        _check_band_totals(inp, band)
    if inp.contiguity:
        _check_graph(inp)
    if not inp.fixed_sites and inp.locks and len(set(inp.locks.values())) > inp.territories:
        raise InfeasibleModelError(
            f"locks name {len(set(inp.locks.values()))} different territories but only "
            f"{inp.territories} territories are designed"
        )
    for band in inp.bands:
        _check_locked_load(inp, band)
    if inp.contiguity and inp.fixed_sites and inp.roots:
        _check_shared_homes(inp)
        _check_locked_homes(inp)
        reach = _reachable(inp)
        _check_lock_reach(inp, reach)
        for band in inp.bands:
            _check_band_reach(inp, band, reach)
    _check_disruption_cap(inp)


def _check_band(inp: TerritoryInputs, band: Band) -> None:
    """No single unit may hold more of a measure than the largest territory's upper limit."""
    largest_upper = max(band.upper.values())
    total = sum(band.values.values())
    unit, value = max(band.values.items(), key=lambda kv: kv[1])
    if value > largest_upper + 1e-9:
        share = 100 * value / total
        target = 100 * max(band.target.values()) / total
        needed = share / target - 1
        widen = f"Widen the tolerance to at least {needed:.1%}, use" if needed < 1 else "Use"
        raise InfeasibleModelError(
            f"tolerance {band.tolerance:.1%} on {band.measure} cannot be met: unit {unit} alone holds "
            f"{share:.1f}% of {band.measure}, above the largest territory's upper limit of "
            f"{target * (1 + band.tolerance):.1f}% (target {target:.1f}%). {widen} fewer territories, "
            f"or split unit {unit}."
        )


def _check_band_totals(inp: TerritoryInputs, band: Band) -> None:
    """The territories' lower limits must sum to at most the total, their upper limits to at least it.

    Bands built from normalised target shares always pass; the check guards inputs assembled elsewhere
    (benchmark instances, hand-set limits), where a mistake would otherwise surface only as an
    unexplained infeasible solve. In chosen-centre mode any k sites may open, so the k smallest lower
    and k largest upper limits are the ones that could still fit.
    """
    total = sum(band.values.values())
    lowers, uppers = sorted(band.lower.values()), sorted(band.upper.values(), reverse=True)
    count = len(inp.sites) if inp.fixed_sites else inp.territories
    least, most = sum(lowers[:count]), sum(uppers[:count])
    slack = 1e-9 * max(1.0, abs(total))
    if least > total + slack:
        raise InfeasibleModelError(
            f"balance of {band.measure} cannot be met: the {count} territories' lower limits add up to "
            f"{least:,.6g}, more than the {total:,.6g} of {band.measure} there is ({least - total:,.6g} short). "
            f"Lower the targets (target shares in data.reps) or widen the tolerance on {band.measure}."
        )
    if most < total - slack:
        raise InfeasibleModelError(
            f"balance of {band.measure} cannot be met: the {count} territories' upper limits add up to "
            f"{most:,.6g}, less than the {total:,.6g} of {band.measure} every unit brings ({total - most:,.6g} "
            f"left over). Raise the targets (target shares in data.reps) or widen the tolerance on {band.measure}."
        )


def _check_graph(inp: TerritoryInputs) -> None:
    """Under contiguity every unit needs a neighbour and the adjacency graph must be one piece."""
    graph = nx.Graph()
    graph.add_nodes_from(inp.units)
    graph.add_edges_from(inp.edges)
    islands = sorted(str(u) for u in nx.isolates(graph))
    if islands:
        raise InfeasibleModelError(
            f"contiguity is required but {len(islands)} unit(s) have no neighbours: {_listing(islands)}. "
            "Set territory.islands: bridge to link each to its nearest unit, add edges for them in an "
            "adjacency CSV (data.adjacency, e.g. a bridge or ferry link), merge them into a neighbour, or set "
            "territory.contiguity: false."
        )
    parts = sorted(nx.connected_components(graph), key=len, reverse=True)
    if len(parts) > 1:
        small = sorted(str(u) for part in parts[1:] for u in part)
        raise InfeasibleModelError(
            f"contiguity is required but the adjacency graph falls into {len(parts)} separate pieces; "
            f"units outside the largest piece: {_listing(small)}. Set territory.islands: bridge to link "
            "each piece to its nearest unit, connect them with edges in an adjacency CSV (data.adjacency), "
            "or set territory.contiguity: false."
        )


def _check_locked_load(inp: TerritoryInputs, band: Band) -> None:
    """The units locked to one territory must not alone exceed its upper limit (fixed sites)."""
    if not inp.fixed_sites:
        return
    site_of = {t: s for s, t in inp.site_territory.items()}
    load: dict[str, float] = {}
    for unit, tid in inp.locks.items():
        load[tid] = load.get(tid, 0.0) + band.values[unit]
    for tid, value in sorted(load.items()):
        upper = band.upper[site_of[tid]]
        if value > upper + 1e-9:
            raise InfeasibleModelError(
                f"units locked to territory {tid} hold {value:,.0f} of {band.measure}, above its upper "
                f"limit {upper:,.0f} (tolerance {band.tolerance:.1%}); unlock some or widen the tolerance"
            )


# ------------------------------------------------------------------------------------------------
# Contiguity with rep home units: each territory must contain its rep's home unit and be connected.
# ------------------------------------------------------------------------------------------------


def _rep(inp: TerritoryInputs, site: str) -> str:
    return inp.site_rep.get(site, site)


def _check_shared_homes(inp: TerritoryInputs) -> None:
    """Two reps whose home base falls in the same unit: under contiguity each rep's territory must hold
    its home unit, and a unit belongs to one territory only."""
    sites_at: dict[str, list[str]] = defaultdict(list)
    for site in inp.sites:
        sites_at[inp.roots[site]].append(site)
    shared = {unit: sites for unit, sites in sorted(sites_at.items()) if len(sites) > 1}
    if not shared:
        return
    unit, sites = next(iter(shared.items()))
    reps = ", ".join(f"{_rep(inp, s)} (territory {inp.site_territory[s]})" for s in sites)
    more = f" ({len(shared) - 1} other unit(s) are shared the same way)" if len(shared) > 1 else ""
    raise InfeasibleModelError(
        f"contiguity is required but reps {reps} have their home base in the same unit {unit}{more}; "
        "each territory must contain its rep's home unit and a unit joins one territory only. Move all "
        f"but one of these home bases (x,y or lat,lon in data.reps) into another unit, or set "
        "territory.contiguity: false."
    )


def _check_locked_homes(inp: TerritoryInputs) -> None:
    """A rep's home unit locked to another territory: contiguity puts it in the rep's own territory."""
    for site in inp.sites:
        home, tid = inp.roots[site], inp.site_territory[site]
        locked = inp.locks.get(home)
        if locked is not None and locked != tid:
            raise InfeasibleModelError(
                f"contiguity is required but unit {home}, the home unit of rep {_rep(inp, site)} (territory "
                f"{tid}), is locked to territory {locked}; each territory must contain its rep's home unit. "
                f"Unlock {home} or lock it to {tid} (territory.locks), move the home base in data.reps, "
                "or set territory.contiguity: false."
            )


@dataclass(frozen=True, slots=True)
class _Reach:
    """Units a territory can still be connected through, and the units that wall it in."""

    units: frozenset[str]
    """Units reachable from the rep's home unit without entering a unit that must be elsewhere."""
    walls: tuple[str, ...]
    """Units next to `units` that must belong to another territory (its home or locked there)."""


def _reachable(inp: TerritoryInputs) -> dict[str, _Reach]:
    """For each site, a breadth-first search from its home unit that never enters another rep's home unit
    or a unit locked to another territory: a connected territory lies inside this set."""
    neighbours = _neighbours(inp)
    home_of = {inp.roots[s]: s for s in inp.sites}
    reach = {}
    for site in inp.sites:
        tid, home = inp.site_territory[site], inp.roots[site]

        def elsewhere(unit: str, tid: str = tid, site: str = site) -> bool:
            owner = home_of.get(unit)
            return (owner is not None and owner != site) or inp.locks.get(unit, tid) != tid

        seen, walls = {home}, set()
        queue = deque([home])
        while queue:
            unit = queue.popleft()
            for nxt in neighbours[unit]:
                if nxt in seen or nxt in walls:
                    continue
                if elsewhere(nxt):
                    walls.add(nxt)
                else:
                    seen.add(nxt)
                    queue.append(nxt)
        reach[site] = _Reach(frozenset(seen), tuple(sorted(walls)))
    return reach


def _neighbours(inp: TerritoryInputs) -> dict[str, list[str]]:
    neighbours: dict[str, list[str]] = defaultdict(list)
    for u, v in inp.edges:
        neighbours[u].append(v)
        neighbours[v].append(u)
    return neighbours


def _wall_names(inp: TerritoryInputs, walls: list[str]) -> str:
    home_of = {inp.roots[s]: s for s in inp.sites}
    named = []
    for unit in walls:
        if unit in home_of:
            named.append(f"{unit} (home unit of rep {_rep(inp, home_of[unit])})")
        else:
            named.append(f"{unit} (locked to territory {inp.locks[unit]})")
    return _listing(named)


def _check_lock_reach(inp: TerritoryInputs, reach: dict[str, _Reach]) -> None:
    """A unit locked to territory t must be connected to t's home unit through units that may join t: not
    through another rep's home unit nor a unit locked to another territory."""
    site_of = {t: s for s, t in inp.site_territory.items()}
    stranded = [(u, t) for u, t in sorted(inp.locks.items()) if u not in reach[site_of[t]].units]
    if not stranded:
        return
    unit, tid = stranded[0]
    site = site_of[tid]
    home = inp.roots[site]
    walls = _separating_walls(inp, reach[site], unit, tid)
    more = f" ({len(stranded) - 1} other locked unit(s) are cut off the same way)" if len(stranded) > 1 else ""
    raise InfeasibleModelError(
        f"contiguity is required but unit {unit} is locked to territory {tid} and cannot be connected to "
        f"its rep's home unit {home} (rep {_rep(inp, site)}): every path from {home} to {unit} passes "
        f"through {_wall_names(inp, walls)}, which must belong to another territory{more}. Unlock {unit} "
        "or lock it to another territory (territory.locks), move a home base in data.reps, or set "
        "territory.contiguity: false."
    )


def _separating_walls(inp: TerritoryInputs, reach: _Reach, unit: str, tid: str) -> list[str]:
    """The walls touching both the home's side and the locked unit's side, when there are such; else
    every wall around the home's side (always a separator, if a wider one)."""
    neighbours = _neighbours(inp)
    walls, homes = set(reach.walls), set(inp.roots.values())
    seen, queue = {unit}, deque([unit])
    touching = set()
    while queue:
        here = queue.popleft()
        for nxt in neighbours[here]:
            if nxt in walls:
                touching.add(nxt)
            elif nxt not in seen and nxt not in homes and inp.locks.get(nxt, tid) == tid:
                seen.add(nxt)
                queue.append(nxt)
    return sorted(touching) or list(reach.walls)


def _check_band_reach(inp: TerritoryInputs, band: Band, reach: dict[str, _Reach]) -> None:
    """Under contiguity a territory holds only units reachable from its home unit (see `_reachable`);
    their total of the measure must reach the territory's lower limit."""
    short = []
    for site in inp.sites:
        held = sum(band.values[u] for u in reach[site].units)
        lower = band.lower[site]
        if held < lower - 1e-9 * max(1.0, abs(lower)):
            short.append((lower - held, site, held))
    if not short:
        return
    gap, site, held = max(short, key=lambda x: x[0])
    tid, home = inp.site_territory[site], inp.roots[site]
    total = sum(band.values.values())
    others = f" ({len(short) - 1} other territory(ies) fall short the same way)" if len(short) > 1 else ""
    raise InfeasibleModelError(
        f"contiguity is required but territory {tid} cannot reach its lower limit of {band.measure}: the units "
        f"connected to its rep's home unit {home} without crossing {_wall_names(inp, list(reach[site].walls))} "
        f"hold {held:,.6g} of {band.measure} ({held / total:.1%}), {gap:,.6g} short of its lower limit "
        f"{band.lower[site]:,.6g} (tolerance ±{band.tolerance:.1%}){others}. Widen the tolerance on "
        f"{band.measure}, move the home bases or locks that wall it in (data.reps, territory.locks), or set "
        "territory.contiguity: false."
    )


# ------------------------------------------------------------------------------------------------
# Disruption cap against the bands
# ------------------------------------------------------------------------------------------------


def _check_disruption_cap(inp: TerritoryInputs) -> None:
    """The disruption cap must allow the least share of its measure that any alignment meeting the bands
    has to move.

    Fixed sites, loads C_t of the units now in territory t, C'_t the same without units locked to another
    territory, new units (no current territory) worth N, units whose current territory no rep covers worth
    O, units locked away from their current territory worth A. The units that stay in t are a subset of
    C'_t and weigh at most U_t, so moved >= O + A + sum_t max(0, C'_t - U_t). Every territory must also
    reach L_t, and whatever it gains beyond its stayers is either moved or new, so
    moved >= sum_t max(0, L_t - C'_t) - N. With chosen centres and equal limits the current territories
    are labels, at most k of them are carried, and a label's stayers weigh at most min(C'_l, U), so
    moved >= sum of all C_l minus the k largest min(C'_l, U). The cap is checked against the larger bound.
    A disruption counted in units matches no band and is not checked, nor one counted on accounts (a unit's
    band value is not what moving it moves; territory.inputs checks the cap against what moves in any plan).
    """
    dis = inp.disruption
    if dis is None or dis.cap is None or dis.measure is None or dis.on_accounts:
        # On accounts a unit's band value is not what moving it moves, so the band bound does not hold.
        return
    band = next((b for b in inp.bands if b.measure == dis.measure), None)
    if band is None or dis.total <= 0 or min(band.values.values()) < 0:
        return
    if inp.fixed_sites:
        bound = _moved_bound_fixed(inp, band)
    elif len(set(band.upper.values())) == 1:
        bound = _moved_bound_chosen(inp, band)
    else:
        return
    allowed = dis.cap * dis.total
    if bound.moved <= allowed + 1e-9 * max(1.0, dis.total):
        return
    share = bound.moved / dis.total
    fixes = [f"raise the cap to at least {_pct_up(share)}"]
    if bound.band_bound:
        fixes.append(f"widen the tolerance on {dis.measure}")
    fixes += bound.fixes
    purpose = f" to bring every territory within ±{band.tolerance:.1%} of its {dis.measure} target"
    raise InfeasibleModelError(
        f"the disruption cap cannot be met: at least {_pct_down(share)} of {dis.measure} must move"
        f"{purpose if bound.band_bound else ''} ({bound.why}); the cap territory.max_disruption is {dis.cap:.1%}. "
        f"{_either(fixes)}."
    )


def _either(fixes: list[str]) -> str:
    text = fixes[0] if len(fixes) == 1 else ", ".join(fixes[:-1]) + " or " + fixes[-1]
    return text[0].upper() + text[1:]


@dataclass(frozen=True, slots=True)
class _MovedBound:
    moved: float
    """Least amount of the measure that must change territory."""
    why: str
    """The territories and units that force it, for the message."""
    band_bound: bool
    """Territories over or under their limits add to it, so a wider tolerance lowers it."""
    fixes: list[str]
    """Settings other than the cap and the tolerance that lower it."""


def _moved_bound_fixed(inp: TerritoryInputs, band: Band) -> _MovedBound:
    values, total = band.values, sum(band.values.values())
    site_of = {t: s for s, t in inp.site_territory.items()}
    load = dict.fromkeys(site_of, 0.0)
    keep = dict.fromkeys(site_of, 0.0)
    orphans: dict[str, float] = defaultdict(float)
    locked_away = new = 0.0
    for unit in inp.units:
        tid = inp.current.get(unit)
        if tid is None:
            new += values[unit]
        elif tid not in site_of:
            orphans[tid] += values[unit]
        else:
            load[tid] += values[unit]
            if inp.locks.get(unit, tid) == tid:
                keep[tid] += values[unit]
            else:
                locked_away += values[unit]
    over = {t: keep[t] - band.upper[site_of[t]] for t in site_of if keep[t] > band.upper[site_of[t]]}
    under = {t: band.lower[site_of[t]] - keep[t] for t in site_of if keep[t] < band.lower[site_of[t]]}
    excess = sum(orphans.values()) + locked_away + sum(over.values())
    deficit = sum(under.values()) - new

    def pct(x: float) -> str:
        return f"{x / total:.1%}"

    def holds(t: str) -> str:
        kept = f" ({pct(keep[t])} once units locked elsewhere leave)" if keep[t] < load[t] else ""
        return f"territory {t} holds {pct(load[t])} of {band.measure}{kept}"

    if excess >= deficit:
        parts = [
            f"{holds(t)}, {100 * gap / total:.1f} points above its upper limit of {pct(band.upper[site_of[t]])}"
            for t, gap in sorted(over.items(), key=lambda kv: -kv[1])[:_WORST_LISTED]
        ]
        if len(over) > _WORST_LISTED:
            parts.append(f"{len(over) - _WORST_LISTED} more territories are over their upper limit")
        fixes = []
        if orphans:
            gone = _listing(sorted(orphans))
            parts.append(f"units now in {gone}, which no rep covers, hold {pct(sum(orphans.values()))} and must move")
            fixes.append(f"give {gone} a rep in data.reps")
        if locked_away:
            parts.append(f"units locked away from their current territory hold {pct(locked_away)}")
            fixes.append("lock fewer units away from their current territory (territory.locks)")
        return _MovedBound(excess, "; ".join(parts), bool(over), fixes)
    parts = [
        f"{holds(t)}, {100 * gap / total:.1f} points below its lower limit of {pct(band.lower[site_of[t]])}"
        for t, gap in sorted(under.items(), key=lambda kv: -kv[1])[:_WORST_LISTED]
    ]
    if len(under) > _WORST_LISTED:
        parts.append(f"{len(under) - _WORST_LISTED} more territories are under their lower limit")
    if new:
        parts.append(f"new units without a current territory can make up only {pct(new)}")
    return _MovedBound(deficit, "; ".join(parts), True, [])


def _moved_bound_chosen(inp: TerritoryInputs, band: Band) -> _MovedBound:
    values, total = band.values, sum(band.values.values())
    upper = next(iter(band.upper.values()))
    load: dict[str, float] = defaultdict(float)
    keep: dict[str, float] = defaultdict(float)
    for unit, tid in inp.current.items():
        load[tid] += values[unit]
        if inp.locks.get(unit, tid) == tid:
            keep[tid] += values[unit]
    stays = sorted(((min(keep[t], upper), t) for t in load), reverse=True)
    carried = stays[: inp.territories]
    moved = sum(load.values()) - sum(s for s, _ in carried)

    def pct(x: float) -> str:
        return f"{x / total:.1%}"

    over = sorted(((keep[t] - upper, t) for t in load if keep[t] > upper), reverse=True)
    parts = []
    for gap, t in over[:_WORST_LISTED]:
        kept = f" ({pct(keep[t])} once units locked elsewhere leave)" if keep[t] < load[t] else ""
        parts.append(
            f"territory {t} holds {pct(load[t])} of {band.measure}{kept}, {100 * gap / total:.1f} points above "
            f"the upper limit of {pct(upper)}"
        )
    if len(over) > _WORST_LISTED:
        parts.append(f"{len(over) - _WORST_LISTED} more territories are over the upper limit")
    fixes = []
    dropped = [t for _, t in stays[inp.territories :]]
    if dropped:
        parts.append(
            f"only {inp.territories} of the {len(load)} current territories can keep their name, so the units of "
            f"{_listing(sorted(dropped))} ({pct(sum(load[t] for t in dropped))}) move"
        )
        fixes.append(f"design {len(load)} territories (territory.territories)")
    away = sum(load.values()) - sum(keep.values())
    if away:
        parts.append(f"units locked away from their current territory hold {pct(away)}")
        fixes.append("lock fewer units away from their current territory (territory.locks)")
    return _MovedBound(moved, "; ".join(parts), bool(over), fixes)


# ------------------------------------------------------------------------------------------------
# After an infeasible solve: drop one requirement at a time, within a time budget
# ------------------------------------------------------------------------------------------------


def _relaxations(inp: TerritoryInputs) -> Iterator[tuple[str, TerritoryInputs]]:
    """(description, inputs with that one requirement dropped), cheapest to explain first."""
    for band in inp.bands:
        rest = tuple(b for b in inp.bands if b is not band)
        yield (f"balance of {band.measure} within ±{band.tolerance:.1%}", dataclasses.replace(inp, bands=rest))
    if inp.contiguity:
        yield ("contiguity", dataclasses.replace(inp, contiguity=False))
    if inp.disruption is not None and inp.disruption.cap is not None:
        relaxed = dataclasses.replace(inp.disruption, cap=None)
        yield (f"max_disruption {inp.disruption.cap:.1%}", dataclasses.replace(inp, disruption=relaxed))
    if inp.locks:
        yield ("locks", dataclasses.replace(inp, locks={}))


PROBE_SECONDS = 60.0
"""Most time any one relaxation probe gets, however large the budget."""
MIN_PROBE_SECONDS = 0.5
"""Least solver time worth starting a probe for; less cannot tell feasible from infeasible on real designs."""
_PRIOR_SECONDS_PER_SIZE = 6e-5
"""Build plus hand-over seconds per unit of `_model_size` before a probe has measured it: about twice what
2,000-unit designs took on a 2-core machine, so a first probe does not start when it could overrun."""
_HANDOVER_PER_BUILD = 2.5
"""Hand-over to HiGHS takes up to this many times the model build (measured with contiguity, the worst case)."""


def explain_infeasibility(
    inp: TerritoryInputs,
    settings: SolverSettings,
    solve_fn: Callable = solve,
    budget_seconds: float | None = None,
) -> InfeasibleModelError:
    """An error naming the requirement(s) whose removal alone makes the design feasible.

    The probes share `budget_seconds` (default: the solver time limit): a probe starts only when its model
    build, hand-over and a minimal solve fit in what is left, gets an equal part of the remaining time, and
    the message names the requirements that could not be checked in time. When the pre-checks name the
    conflict outright no probe runs, and a requirement whose relaxed design a pre-check still rules out is
    settled without a solve.
    """
    try:
        precheck(inp)
    except InfeasibleModelError as exc:
        return exc
    budget = settings.time_limit if budget_seconds is None else budget_seconds
    deadline = Deadline.after(budget)
    probes = [(name, relaxed) for name, relaxed in _relaxations(inp) if _passes_precheck(relaxed)]
    # Smallest models first: time a quick probe leaves over goes to the larger ones after it.
    sizes = {name: _model_size(relaxed) for name, relaxed in probes}
    outcome: dict[str, SolveStatus | None] = {}
    rate = _PRIOR_SECONDS_PER_SIZE
    for done, (name, relaxed) in enumerate(sorted(probes, key=lambda p: sizes[p[0]])):
        waiting, size = len(probes) - done, sizes[name]
        outcome[name] = None
        if deadline.left() - size * rate < MIN_PROBE_SECONDS:
            continue
        clock = time.perf_counter()
        model = build_territory_model(relaxed)
        built = time.perf_counter() - clock
        left = deadline.left() - _HANDOVER_PER_BUILD * built
        limit = min(max(left / waiting, MIN_PROBE_SECONDS), left, PROBE_SECONDS)
        if limit < MIN_PROBE_SECONDS / 2:
            continue
        report = solve_fn(model, SolverSettings(time_limit=limit, mip_gap=0.99, threads=settings.threads))
        # Later probes are priced by what this one cost here, with a margin for a busy machine.
        rate = 1.25 * (built + getattr(report, "handover_seconds", 0.0)) / size
        outcome[name] = report.status
    feasible = (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)
    culprits = [name for name, _ in probes if outcome[name] in feasible]
    unchecked = [name for name, _ in probes if outcome[name] in (None, SolveStatus.NO_SOLUTION)]
    return InfeasibleModelError(_explanation(culprits, unchecked, budget))


def _passes_precheck(inp: TerritoryInputs) -> bool:
    try:
        precheck(inp)
    except InfeasibleModelError:
        return False
    return True


def _model_size(inp: TerritoryInputs) -> int:
    """Rough count of the model's variables and rows, which its build and hand-over time follow."""
    sites_per_unit = len(inp.pairs) / max(len(inp.units), 1)
    size = len(inp.pairs) + len(inp.units)
    if inp.needs_cut_edges:
        size += int(len(inp.edges) * (1 + sites_per_unit))
    if inp.contiguity:
        size += 3 * len(inp.edges)
    return size


def _explanation(culprits: list[str], unchecked: list[str], budget: float) -> str:
    if len(culprits) == 1:
        msg = (
            f"no alignment satisfies every requirement; dropping {culprits[0]} alone makes it feasible, so it "
            "conflicts with the others. Relax it (e.g. a wider tolerance or a higher cap)."
        )
    elif culprits:
        msg = (
            "no alignment satisfies every requirement; dropping any one of these makes it feasible, so "
            f"they conflict with each other: {'; '.join(culprits)}. Relax one of them."
        )
    elif unchecked:
        msg = (
            "no alignment satisfies every requirement, and none of the requirements that could be checked in "
            "time is the conflict on its own."
        )
    else:
        msg = (
            "no alignment satisfies every requirement, and dropping any single requirement does not "
            "help: several conflict at once (check tolerances, locks, disruption cap and contiguity "
            "together)."
        )
    if unchecked:
        msg += (
            f" Not checked within the {budget:.3g} s left for the diagnosis: dropping {'; '.join(unchecked)}. "
            "Raise territory.solver.time_limit to let the diagnosis check them."
        )
    return msg
