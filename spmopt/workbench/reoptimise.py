"""Re-optimise around the planner's edits: the edited units and the locks are fixed, and the territory engine
designs the rest within a short limit, in a child process so that Cancel stops it at once (a HiGHS solve holds its
thread until it returns)."""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import queue
from dataclasses import dataclass

import pandas as pd

from spmopt.config import ScenarioConfig
from spmopt.data.loader import PlanningData
from spmopt.errors import SpmoptError


@dataclass(frozen=True, slots=True)
class Message:
    """One report from the child: `progress` (text), `done` (an alignment), `error` (text)."""

    kind: str
    text: str = ""
    alignment: dict[str, str] | None = None


def with_limit(cfg: ScenarioConfig, seconds: float) -> ScenarioConfig:
    """The scenario with the territory solver's time limit set to `seconds`."""
    t = cfg.territory
    solver = t.solver.model_copy(update={"time_limit": float(seconds)})
    return cfg.model_copy(update={"territory": t.model_copy(update={"solver": solver})})


def design_around(cfg: ScenarioConfig, data: PlanningData, locks: dict[str, str], report) -> dict[str, str]:
    """The engine's alignment with `locks` (unit -> territory) fixed; `report(text)` receives its progress."""
    from spmopt.territory.design import design_territories
    from spmopt.territory.inputs import territory_inputs

    fixed = pd.Series(locks, name="territory_id", dtype=object)
    fixed.index.name = "unit_id"
    locked = dataclasses.replace(data, locks=fixed)
    plan, facts = design_territories(territory_inputs(locked, cfg), cfg.territory.solver, locked, report)
    report(f"{facts.status}, gap {100 * (facts.gap or 0):.2f}%, {facts.solve_seconds:.1f} s")
    return dict(zip(plan.alignment["unit_id"].astype(str), plan.alignment["territory_id"].astype(str), strict=True))


def _child(cfg: ScenarioConfig, data: PlanningData, locks: dict[str, str], out: mp.Queue) -> None:
    try:
        alignment = design_around(cfg, data, locks, lambda text: out.put(Message("progress", text)))
        out.put(Message("done", "re-optimised", alignment))
    except SpmoptError as exc:
        out.put(Message("error", str(exc)))
    except Exception as exc:  # noqa: BLE001 - shown to the planner instead of a silent dead worker
        out.put(Message("error", f"re-optimisation failed: {exc!r}"))


class Reoptimisation:
    """One running re-optimisation; poll it from the event loop, cancel it at any time."""

    def __init__(self, cfg: ScenarioConfig, data: PlanningData, locks: dict[str, str], seconds: float) -> None:
        context = mp.get_context("spawn")
        self._queue: mp.Queue = context.Queue()
        self._process = context.Process(
            target=_child, args=(with_limit(cfg, seconds), data, locks, self._queue), daemon=True
        )
        self._process.start()
        self.finished = False

    def poll(self) -> list[Message]:
        """Messages since the last poll; a child that died without a word reports an error."""
        out = []
        while True:
            try:
                out.append(self._queue.get_nowait())
            except queue.Empty:
                break
        if any(m.kind in ("done", "error") for m in out):
            self.finished = True
            self._process.join(timeout=5)
        elif not self._process.is_alive() and not self.finished:
            self.finished = True
            out.append(Message("error", f"re-optimisation stopped (exit code {self._process.exitcode})"))
        return out

    def cancel(self) -> None:
        if not self.finished:
            self._process.terminate()
            self._process.join(timeout=5)
            self.finished = True
