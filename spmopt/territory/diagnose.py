"""Explain infeasibility in planners' words: cheap checks before solving, relaxation after.

Before the solve, `precheck` looks for requirements that cannot hold whatever the alignment (a unit
bigger than a band, islands under contiguity, conflicting locks). After an infeasible solve,
`explain_infeasibility` re-solves with one requirement family dropped at a time and names those
whose removal makes the model feasible.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

import networkx as nx

from spmopt.config import SolverSettings
from spmopt.errors import InfeasibleModelError
from spmopt.optim.solve import SolveStatus, solve
from spmopt.territory.inputs import TerritoryInputs
from spmopt.territory.model import build_territory_model

_MAX_LISTED = 8


def _listing(items: list[str]) -> str:
    shown = ", ".join(items[:_MAX_LISTED])
    return shown + (f" and {len(items) - _MAX_LISTED} more" if len(items) > _MAX_LISTED else "")


def precheck(inp: TerritoryInputs) -> None:
    """Raise `InfeasibleModelError` for requirements no alignment can meet."""
    for band in inp.bands:
        _check_band(inp, band)
    if inp.contiguity:
        _check_graph(inp)
    if not inp.fixed_sites and inp.locks and len(set(inp.locks.values())) > inp.territories:
        raise InfeasibleModelError(
            f"locks name {len(set(inp.locks.values()))} different territories but only "
            f"{inp.territories} territories are designed"
        )
    for band in inp.bands:
        _check_locked_load(inp, band)


def _check_band(inp: TerritoryInputs, band) -> None:
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


def _check_graph(inp: TerritoryInputs) -> None:
    graph = nx.Graph()
    graph.add_nodes_from(inp.units)
    graph.add_edges_from(inp.edges)
    islands = sorted(str(u) for u in nx.isolates(graph))
    if islands:
        raise InfeasibleModelError(
            f"contiguity is required but {len(islands)} unit(s) have no neighbours: {_listing(islands)}. "
            "Add edges for them in an adjacency CSV (data.adjacency, e.g. a bridge or ferry link), "
            "merge them into a neighbour, or set territory.contiguity: false."
        )
    parts = sorted(nx.connected_components(graph), key=len, reverse=True)
    if len(parts) > 1:
        small = sorted(str(u) for part in parts[1:] for u in part)
        raise InfeasibleModelError(
            f"contiguity is required but the adjacency graph falls into {len(parts)} separate pieces; "
            f"units outside the largest piece: {_listing(small)}. Connect them with edges in an "
            "adjacency CSV (data.adjacency), or set territory.contiguity: false."
        )


def _check_locked_load(inp: TerritoryInputs, band) -> None:
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


def explain_infeasibility(
    inp: TerritoryInputs,
    settings: SolverSettings,
    solve_fn: Callable = solve,
) -> InfeasibleModelError:
    """An error naming the requirement(s) whose removal alone makes the design feasible."""
    probe = SolverSettings(time_limit=min(settings.time_limit, 60.0), mip_gap=0.99, threads=settings.threads)
    culprits: list[str] = []
    undecided: list[str] = []
    for name, relaxed in _relaxations(inp):
        report = solve_fn(build_territory_model(relaxed), probe)
        if report.status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE):
            culprits.append(name)
        elif report.status == SolveStatus.NO_SOLUTION:
            undecided.append(name)
    if len(culprits) == 1:
        msg = (
            f"no alignment satisfies every requirement; the one that cannot be met together with the "
            f"others is: {culprits[0]}. Relax it (e.g. a wider tolerance or a higher cap)."
        )
    elif culprits:
        msg = (
            "no alignment satisfies every requirement; dropping any one of these makes it feasible, so "
            f"they conflict with each other: {'; '.join(culprits)}. Relax one of them."
        )
    else:
        msg = (
            "no alignment satisfies every requirement, and dropping any single requirement does not "
            "help: several conflict at once (check tolerances, locks, disruption cap and contiguity "
            "together)."
        )
    if undecided:
        msg += f" (Could not decide within the probe time limit for: {'; '.join(undecided)}.)"
    return InfeasibleModelError(msg)
