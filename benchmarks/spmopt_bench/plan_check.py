"""Is an alignment a valid plan for a design? Checked from the definitions, not from any model.

`check_plan` reads only the `TerritoryInputs` a design was built into and the alignment (unit -> site);
it shares no code with the engine, its models or its heuristics, so a benchmark row marked valid is valid
whatever the method that produced it. `plan_objective` recomputes the objective the same way.
"""

from __future__ import annotations

from collections import defaultdict, deque

from spmopt.territory.inputs import TerritoryInputs

SLACK = 1e-6
"""Relative slack on every band limit and on the disruption cap (solver tolerances)."""
SHOWN = 5
"""Units named per problem before the rest are only counted."""


def _names(items: list[str]) -> str:
    shown = ", ".join(items[:SHOWN])
    return shown + (f" and {len(items) - SHOWN} more" if len(items) > SHOWN else "")


def _below(value: float, limit: float) -> bool:
    return value < limit - SLACK * max(1.0, abs(limit))


def _above(value: float, limit: float) -> bool:
    return value > limit + SLACK * max(1.0, abs(limit))


def check_plan(inp: TerritoryInputs, site_of: dict[str, str], label_of: dict[str, str] | None = None) -> list[str]:
    """Every rule the alignment breaks, one line each; empty when it is a valid plan.

    Rules: each unit joins exactly one site, through an eligible pair; with rep bases every rep keeps at
    least one unit, with chosen centres exactly k centres are used and each serves itself; each territory's
    total of each balance measure lies in [lower, upper] of its site; under contiguity each territory is
    connected on `inp.edges` and holds its root; locked units are in their territory; the moved share of the
    disruption measure is within the cap. With chosen centres, territory labels come from `label_of`.
    """
    problems: list[str] = []
    units = set(inp.units)
    sites = set(inp.sites)
    missing = [u for u in inp.units if u not in site_of]
    if missing:
        problems.append(f"{len(missing)} unit(s) have no territory: {_names(missing)}")
    unknown = sorted(u for u in site_of if u not in units)
    if unknown:
        problems.append(f"{len(unknown)} assigned unit(s) are not in the design: {_names(unknown)}")
    bad_site = sorted(u for u, s in site_of.items() if u in units and s not in sites)
    if bad_site:
        problems.append(f"{len(bad_site)} unit(s) joined an unknown site: {_names(bad_site)}")
    eligible = set(inp.pairs)
    ineligible = sorted(u for u, s in site_of.items() if u in units and s in sites and (u, s) not in eligible)
    if ineligible:
        problems.append(f"{len(ineligible)} unit(s) joined a site they are not eligible for: {_names(ineligible)}")
    if missing or unknown or bad_site:
        return problems  # the remaining rules are undefined on a partial alignment

    members: dict[str, list[str]] = defaultdict(list)
    for u in inp.units:
        members[site_of[u]].append(u)
    if inp.fixed_sites:
        empty = [s for s in inp.sites if not members.get(s)]
        if empty:
            problems.append(f"{len(empty)} rep(s) have no unit: {_names(empty)}")
        territory_of_site = dict(inp.site_territory)
    else:
        used = sorted(members)
        if len(used) != inp.territories:
            problems.append(f"{len(used)} centres are used; the design asks for {inp.territories}")
        strays = [s for s in used if site_of.get(s) != s]
        if strays:
            problems.append(f"{len(strays)} centre(s) are not in their own territory: {_names(strays)}")
        territory_of_site = dict(label_of or {})

    for band in inp.bands:
        for s, group in sorted(members.items()):
            total = sum(band.values[u] for u in group)
            low, high = band.lower[s], band.upper[s]
            name = _site_name(inp, s)
            if _below(total, low):
                problems.append(
                    f"band {band.measure}: {name} totals {total:,.6g}, below its lower limit {low:,.6g} "
                    f"({_pct(total, band.target[s])} of target)"
                )
            elif _above(total, high):
                problems.append(
                    f"band {band.measure}: {name} totals {total:,.6g}, above its upper limit {high:,.6g} "
                    f"({_pct(total, band.target[s])} of target)"
                )

    if inp.contiguity:
        problems += _contiguity(inp, members)

    if inp.locks:
        if not inp.fixed_sites and label_of is None:
            problems.append("locks cannot be checked: chosen centres need their territory labels")
        else:
            broken = sorted(u for u, t in inp.locks.items() if territory_of_site.get(site_of.get(u, "")) != t)
            if broken:
                problems.append(f"{len(broken)} locked unit(s) are outside their territory: {_names(broken)}")

    dis = inp.disruption
    if dis is not None and dis.cap is not None:
        if not inp.fixed_sites and label_of is None:
            problems.append("the disruption cap cannot be checked: chosen centres need their territory labels")
        else:
            moved = sum(w for u, w in dis.weights.items() if territory_of_site.get(site_of[u]) != inp.current.get(u))
            share = moved / dis.total if dis.total > 0 else 0.0
            if _above(share, dis.cap):
                what = dis.measure or "units"
                problems.append(f"disruption: {100 * share:.3f}% of {what} moved; the cap is {100 * dis.cap:.3f}%")
    return problems


def _pct(total: float, target: float) -> str:
    return f"{100 * (total / target - 1):+.3f}%" if target else "n/a"


def _site_name(inp: TerritoryInputs, site: str) -> str:
    territory = inp.site_territory.get(site)
    return f"territory {territory} (site {site})" if territory else f"territory of centre {site}"


def _contiguity(inp: TerritoryInputs, members: dict[str, list[str]]) -> list[str]:
    """Each territory connected on the design's edges and holding its root."""
    problems = []
    neighbours: dict[str, list[str]] = defaultdict(list)
    for a, b in inp.edges:
        neighbours[a].append(b)
        neighbours[b].append(a)
    for s, group in sorted(members.items()):
        name = _site_name(inp, s)
        root = inp.roots.get(s, s if not inp.fixed_sites else None)
        inside = set(group)
        if root is None:
            problems.append(f"contiguity: {name} has no root unit in the design")
            continue
        if root not in inside:
            problems.append(f"contiguity: {name} does not hold its root unit {root}")
            continue
        seen = {root}
        queue = deque([root])
        while queue:
            w = queue.popleft()
            for v in neighbours[w]:
                if v in inside and v not in seen:
                    seen.add(v)
                    queue.append(v)
        cut_off = sorted(inside - seen)
        if cut_off:
            problems.append(
                f"contiguity: {name} is not connected; {len(cut_off)} unit(s) cannot reach its root {root}: "
                f"{_names(cut_off)}"
            )
    return problems


def plan_objective(inp: TerritoryInputs, site_of: dict[str, str]) -> float:
    """The design's compactness objective of the alignment: sum_i w_i d(i, site) or the number of cut edges."""
    if inp.compactness == "cut_edges":
        return float(sum(1 for a, b in inp.edges if site_of[a] != site_of[b]))
    return float(sum(inp.distance_weight[u] * inp.distance[u, s] for u, s in site_of.items()))
