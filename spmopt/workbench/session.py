"""One workbench session: an alignment a planner edits by hand, its locks, undo and redo, the live assessment (the
same checks as `spmopt assess`), re-optimisation around the edits, and saved versions.

The session holds no web objects: the view calls it and draws what it returns, so every figure the planner sees is
computed by the code `spmopt assess` runs."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd

from spmopt.config import ScenarioConfig
from spmopt.data.loader import PlanningData, read_candidate_alignment, territory_reps, with_moves
from spmopt.errors import DataError, SpmoptError
from spmopt.preparation import Prepared
from spmopt.report.rollup import RollUp, roll_up
from spmopt.territory.assess import Assessment, assess_alignment
from spmopt.territory.hierarchy import Hierarchy, build_hierarchy, hierarchy_bands
from spmopt.territory.inputs import TerritoryInputs
from spmopt.workbench.places import Places, places

VERSION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
"""A version's name is also its candidate's name in the overlay (`alignments:`), so the same characters."""
WORKBENCH_FOLDER = "workbench"
"""Versions are saved in `<scenario folder>/workbench/<version>/`, never anywhere else."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything undo restores: the alignment and the locks."""

    alignment: tuple[str, ...]
    """Territory of each unit, in the units' order."""
    locks: tuple[tuple[str, str], ...]
    """(unit, territory), sorted."""
    hierarchy: Hierarchy | None
    """Territory -> district -> region as it was (re-designing the districts is an edit too)."""


@dataclass(frozen=True, slots=True)
class Edit:
    """What one action changed, for the view to redraw and report."""

    moved: tuple[str, ...] = ()
    refused: tuple[str, ...] = ()
    """Units the action left alone (locked elsewhere, or already there)."""
    message: str = ""


class Session:
    """The alignment being edited. Not thread-safe: the web server calls it from its one event loop."""

    def __init__(self, scenario: Path, prepared: Prepared, start: pd.Series, start_name: str) -> None:
        _need_reps(scenario, prepared.data)
        self.scenario = scenario
        self.config: ScenarioConfig = prepared.config
        self.data: PlanningData = prepared.data
        self.inputs: TerritoryInputs = prepared.territory
        self.units: tuple[str, ...] = tuple(self.data.units.index)
        self.rep_of = territory_reps(self.data, scenario, "the alignment")
        self.territories: tuple[str, ...] = tuple(self.inputs.site_territory[s] for s in self.inputs.sites)
        self.start = start.reindex(list(self.units)).astype(str)
        self.start_name = start_name
        self.start_note = ""
        """What the planner should know about the start (units given a territory to open on)."""
        self.alignment = self.start.copy()
        self.locks: dict[str, str] = dict(self.inputs.locks)
        self._undo: list[Snapshot] = []
        self._redo: list[Snapshot] = []
        self.hierarchy: Hierarchy | None = None
        if self.config.hierarchy is not None:
            try:
                self.hierarchy = build_hierarchy(self.config, self.data, self.start, self._reps())
            except SpmoptError as exc:
                if self.config.hierarchy.file is not None:
                    raise
                # Today's alignment may be too uneven for balanced districts; the planner edits it first.
                self.note(
                    f"no districts yet: they cannot be designed for the starting alignment ({exc}); "
                    "Re-design districts once the territories are edited"
                )

    @classmethod
    def open(cls, scenario: Path, prepared: Prepared, alignment: Path | None) -> Session:
        """A session on `alignment` (a complete `unit_id,territory_id` file), else on today's alignment."""
        data = prepared.data
        if alignment is not None:
            start = read_candidate_alignment(alignment, data, "alignment")[0]
            return cls(scenario, prepared, start, alignment.name)
        cfg = prepared.config
        today = cfg.data.current_alignment or (cfg.data.accounts.file if cfg.data.accounts is not None else None)
        _need_reps(scenario, data)
        if data.current_alignment is None or today is None:
            empty = pd.Series(dtype=object)
            base = complete_today(empty, data, territory_reps(data, scenario, "the reps"))[0]
            session = cls(scenario, prepared, with_moves(base, scenario, None, None, data), "nearest reps")
            session.note(
                "the scenario has no today's alignment, so every unit starts with its nearest rep: Re-optimise "
                "designs one, or open a file with --alignment FILE (e.g. a run's alignment.csv)"
            )
            return session
        base, filled = complete_today(data.current_alignment, data, territory_reps(data, today, "today's alignment"))
        session = cls(scenario, prepared, with_moves(base, today, None, None, data), "today")
        if filled:
            shown = ", ".join(filled[:5]) + (f" and {len(filled) - 5} more" if len(filled) > 5 else "")
            session.note(
                f"{len(filled)} unit(s) have no rep today (only open accounts, or new) and start in the territory "
                f"most of their neighbours are in: {shown}"
            )
        return session

    def note(self, text: str) -> None:
        """Add `text` to what the planner is told about the start."""
        self.start_note = f"{self.start_note}. {text}" if self.start_note else text

    # -- edits --------------------------------------------------------------------------------------------------

    def assign(self, units: list[str], territory: str) -> Edit:
        """Move `units` to `territory`; locked units stay (unlock them first)."""
        if territory not in self.territories:
            raise DataError(f"'{territory}' is not a territory of this scenario")
        locked = [u for u in units if u in self.locks and self.locks[u] != territory]
        movable = [u for u in units if u not in locked and self.alignment[u] != territory]
        if not movable:
            return Edit(refused=tuple(locked), message=self._refusal(locked) or "nothing to move")
        self._remember()
        self.alignment.loc[movable] = territory
        note = f"moved {len(movable)} unit(s) to {territory}"
        return Edit(tuple(movable), tuple(locked), "; ".join(filter(None, (note, self._refusal(locked)))))

    def lock(self, units: list[str]) -> Edit:
        """Lock `units` where they are now."""
        fresh = [u for u in units if self.locks.get(u) != self.alignment[u]]
        if not fresh:
            return Edit(message="already locked")
        self._remember()
        self.locks.update({u: self.alignment[u] for u in fresh})
        return Edit(tuple(fresh), message=f"locked {len(fresh)} unit(s)")

    def unlock(self, units: list[str]) -> Edit:
        """Unlock `units` (a named account's own unit stays locked: it is assigned on its own by the export)."""
        named = set(self.data.named_units.index) if self.data.named_units is not None else set()
        gone = [u for u in units if u in self.locks and u not in named]
        if not gone:
            return Edit(message="no unlockable unit selected")
        self._remember()
        for u in gone:
            del self.locks[u]
        return Edit(tuple(gone), message=f"unlocked {len(gone)} unit(s)")

    def replace_alignment(self, alignment: pd.Series, message: str) -> Edit:
        """Take a whole alignment (a re-optimised one) as one undoable edit."""
        new = alignment.reindex(list(self.units)).astype(str)
        moved = self._differing(new, self.alignment)
        self._remember()
        self.alignment = new
        return Edit(moved, message=message)

    def open_version(self, alignment: pd.Series, locks: dict[str, str], name: str) -> Edit:
        """Take a saved version's alignment and locks as one undoable edit (named accounts stay locked)."""
        new = alignment.reindex(list(self.units)).astype(str)
        moved = self._differing(new, self.alignment)
        self._remember()
        self.alignment = new
        named = self.data.named_units if self.data.named_units is not None else pd.Series(dtype=object)
        self.locks = {**{str(u): str(t) for u, t in named.items()}, **locks}
        return Edit(moved, message=f"opened version {name}: {len(moved)} unit(s) differ from before (Undo to go back)")

    def redesign_districts(self) -> Edit:
        """Group the territories into districts (and regions) again for the alignment as it is now, with the
        scenario's hierarchy settings: one undoable edit. Districts read from a file are the file's."""
        if self.config.hierarchy is None:
            raise DataError("the scenario has no hierarchy section: there are no districts to re-design")
        if self.config.hierarchy.file is not None:
            raise DataError(f"the districts come from {self.config.hierarchy.file}: change them there")
        new = build_hierarchy(self.config, self.data, self.alignment, self._reps())
        old = self.hierarchy.table if self.hierarchy is not None else pd.DataFrame(columns=new.table.columns)
        before = dict(zip(old["territory_id"], old["district_id"], strict=True))
        after = dict(zip(new.table["territory_id"], new.table["district_id"], strict=True))
        self._remember()
        self.hierarchy = new
        changed = [t for t in after if after[t] != before.get(t)]
        return Edit(message=f"districts re-designed for this alignment: {len(changed)} territories change district")

    def undo(self) -> Edit:
        return self._step(self._undo, self._redo, "undo", "undid")

    def redo(self) -> Edit:
        return self._step(self._redo, self._undo, "redo", "redid")

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    # -- figures ------------------------------------------------------------------------------------------------

    def assess(self) -> Assessment:
        """The alignment's assessment under the session's locks: `spmopt assess`'s code and figures."""
        return assess_alignment(self.locked_inputs(), self.data, self.alignment)

    def roll_up(self) -> RollUp | None:
        """Districts and regions of the alignment being edited (the hierarchy of the session's start)."""
        if self.hierarchy is None:
            return None
        bands = hierarchy_bands(self.config)
        return roll_up(self.hierarchy.table, self.alignment, self.data.units, self.data.adjacency, bands)

    @cached_property
    def places(self) -> Places:
        """Place names of the planning area, for the map."""
        return places(self.data)

    def level_of(self, level: str) -> dict[str, str]:
        """Territory -> its district or region (`level`), or itself for `territory`."""
        if level == "territory" or self.hierarchy is None:
            return {t: t for t in self.territories}
        column = "district_id" if level == "district" else "region_id"
        table = self.hierarchy.table
        return dict(zip(table["territory_id"].astype(str), table[column].astype(str), strict=True))

    def locked_inputs(self) -> TerritoryInputs:
        return dataclasses.replace(self.inputs, locks=dict(self.locks))

    def edited(self) -> list[str]:
        """Units in another territory than at the start of the session."""
        return list(self._differing(self.alignment, self.start))

    def locks_for_reoptimising(self) -> dict[str, str]:
        """What a re-optimisation must keep: the locks, and every unit the planner moved where it was put."""
        keep = dict(self.locks)
        keep.update({u: self.alignment[u] for u in self.edited()})
        return keep

    # -- internals ----------------------------------------------------------------------------------------------

    def _differing(self, a: pd.Series, b: pd.Series) -> tuple[str, ...]:
        """Units in another territory in `a` than in `b` (both in the units' order)."""
        return tuple(u for u, d in zip(self.units, a.to_numpy() != b.to_numpy(), strict=True) if d)

    def _reps(self) -> dict[str, str | None]:
        return {t: self.rep_of.get(t) for t in self.territories}

    def _snapshot(self) -> Snapshot:
        return Snapshot(tuple(self.alignment.tolist()), tuple(sorted(self.locks.items())), self.hierarchy)

    def _remember(self) -> None:
        self._undo.append(self._snapshot())
        self._redo.clear()

    def _restore(self, snap: Snapshot) -> tuple[str, ...]:
        before = self.alignment
        self.alignment = pd.Series(list(snap.alignment), index=pd.Index(self.units, name="unit_id"), dtype=object)
        self.locks = dict(snap.locks)
        self.hierarchy = snap.hierarchy
        return self._differing(before, self.alignment)

    def _step(self, source: list[Snapshot], target: list[Snapshot], action: str, done: str) -> Edit:
        if not source:
            return Edit(message=f"nothing to {action}")
        target.append(self._snapshot())
        moved = self._restore(source.pop())
        return Edit(moved, message=f"{done} the last edit")

    def _refusal(self, locked: list[str]) -> str:
        if not locked:
            return ""
        shown = ", ".join(locked[:3]) + (f" and {len(locked) - 3} more" if len(locked) > 3 else "")
        return f"{len(locked)} locked unit(s) stay: {shown} (unlock them to move them)"


def complete_today(today: pd.Series, data: PlanningData, rep_of: dict[str, str]) -> tuple[pd.Series, tuple[str, ...]]:
    """Today's alignment with a territory for every unit it leaves without a rep's (a ZIP holding only open
    accounts, a new unit), so that the workbench can open on it; and those units, in the units' order.

    Each such unit joins the territory most of its placed neighbours are in (ties: the first name), spreading
    inward from the placed ones; a unit no placed unit reaches joins its nearest rep's home territory. Named
    accounts' own units are left to the loader, which places them with their rep."""
    named = set(data.named_units.index) if data.named_units is not None else set()
    placed = {str(u): str(t) for u, t in today.items() if str(t) in rep_of}
    todo = [str(u) for u in data.units.index if str(u) not in placed and str(u) not in named]
    order = list(todo)
    graph = data.adjacency
    while todo and graph is not None:
        chosen = {}
        for unit in todo:
            near = sorted(placed[v] for v in graph.neighbors(unit) if v in placed)
            if near:
                chosen[unit] = max(sorted(set(near)), key=near.count)
        if not chosen:
            break
        placed.update(chosen)
        todo = [u for u in todo if u not in chosen]
    if todo:
        if data.reps is None or data.reps.empty:
            raise DataError(f"today's alignment leaves {len(todo)} unit(s) without a territory, e.g. {todo[0]}")
        reps = data.reps
        territory = {r: t for t, r in rep_of.items() if t != r}  # a rep's named territory, else the rep's id
        homes = reps[["x_km", "y_km"]].to_numpy()
        for unit in todo:
            x, y = data.units.loc[unit, ["x_km", "y_km"]]
            nearest = str(reps.index[int(((homes[:, 0] - x) ** 2 + (homes[:, 1] - y) ** 2).argmin())])
            placed[unit] = territory.get(nearest, nearest)
    base = pd.Series({u: placed[u] for u in map(str, data.units.index) if u in placed}, dtype=object)
    return base, tuple(order)


def _need_reps(scenario: Path, data: PlanningData) -> None:
    if data.reps is None:
        raise DataError(f"{scenario}: the workbench needs data.reps: territories are edited by rep")


def version_folder(scenario: Path, name: str) -> Path:
    """Where version `name` of `scenario` is saved; refuses a name that could point anywhere else."""
    if not VERSION_NAME.fullmatch(name):
        raise DataError(
            f"version name '{name}' must be 1-64 letters, digits, '_' or '-', starting with a letter or digit"
        )
    return scenario.resolve().parent / WORKBENCH_FOLDER / name
