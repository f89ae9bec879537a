"""Side by side, in one run on the same instances: spmopt, a textbook Pyomo+HiGHS model and PySAL spopt.

Every solver gets the same instance, time limit, thread count and relative gap, one after another in
the same process, and every value is re-scored from the solver's own assignment by `score`. Seconds
are wall time from the instance's arrays to an assignment in hand (model building included). A solver
that did not prove optimality inside the limit has a time that is only a lower bound on its time to
optimality, so a ratio against it is a bound too (shown as "≥" or "≤").

The textbook models are what a user writes from the literature: dense index sets over every (i, j),
no reductions, no warm start, no symmetry breaking, solved through Pyomo's persistent HiGHS interface.
"""

from __future__ import annotations

import fnmatch
import gc
import json
import math
import re
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from spmopt.config import SolverSettings
from spmopt.errors import ConfigError, SpmoptError
from spmopt.optim.solve import relative_gap
from spmopt.territory.instances import BenchInstance, read_cpmp, read_district, read_pmedian, score, to_inputs
from spmopt_bench.machine import load_text
from spmopt_bench.paths import INSTANCES
from spmopt_bench.suites import DISTRICTS

SUITES = ("pmed", "cpmp", "district")
SOLVERS = ("spmopt", "textbook", "spopt")

DISTRICT_K = {name: k for name, k, _free, _contiguous in DISTRICTS}
"""Districts per state (Validi-Buchanan tables 6/8: one per congressional seat)."""

DEFAULT_SUBSET = {
    "pmed": tuple(f"pmed{i}" for i in range(1, 11)),
    "cpmp": (*(f"cpmp{i:02d}" for i in (*range(1, 6), *range(11, 16))), "SJC1", "SJC2"),
    "district": ("county23", "county35", "county16", "county54"),
}
"""Instances run when no --only glob is given: sized so a full comparison fits in about 20-30 minutes."""

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Run:
    """One solver on one instance: the value its assignment scores, its proof and its seconds."""

    solver: str
    status: str
    """optimal | feasible (limit hit with a solution) | no_solution | infeasible | error | not_applicable."""
    objective: float | None
    """score(instance, assignment): recomputed from the solver's assignment, every constraint checked."""
    reported: float | None
    """The objective value the solver itself reported."""
    bound: float | None
    gap: float | None
    """|reported - bound| / |reported|."""
    build_seconds: float
    solve_seconds: float
    seconds: float
    """Wall time, build plus solve plus reading the assignment back."""
    finished: bool
    """Proven optimal (within the relative gap) inside the time limit."""
    note: str = ""


def _run(
    solver: str,
    inst: BenchInstance,
    assignment: Sequence[int] | None,
    status: str,
    reported: float | None,
    bound: float | None,
    clock: tuple[float, float, float],
    finished: bool,
    note: str,
) -> Run:
    """A run with its assignment re-scored; `clock` = (start, built, done); `note` unless the score rejects it."""
    start, built, done = clock
    objective, rejected = _rescore(inst, assignment)
    return Run(
        solver,
        status,
        objective,
        reported,
        bound,
        relative_gap(reported, bound),
        built - start,
        done - built,
        done - start,
        finished,
        rejected or note,
    )


def _rescore(inst: BenchInstance, assignment: Sequence[int] | None) -> tuple[float | None, str]:
    """score() of the assignment, or None and the reason when there is none or it breaks a constraint."""
    if assignment is None:
        return None, ""
    try:
        return score(inst, [int(a) for a in assignment]), ""
    except ValueError as exc:
        return None, f"assignment rejected: {exc}"


def _threads(threads: int | None) -> None:
    """HiGHS keeps one thread pool per process; route every solve's thread count through spmopt's tracker."""
    from spmopt.optim.solve import use_threads

    use_threads(threads)


# --------------------------------------------------------------------------------------------------
# spmopt
# --------------------------------------------------------------------------------------------------


def solve_spmopt(inst: BenchInstance, time_limit: float, threads: int | None, mip_gap: float = 1e-4) -> Run:
    """The product's engine: solve_territory(to_inputs(inst)); build = to_inputs, solve = solve_territory."""
    from spmopt.optim.solve import SolveStatus
    from spmopt.territory.engine import solve_territory

    start = time.perf_counter()
    inp = to_inputs(inst)
    built = time.perf_counter()
    try:
        alignment = solve_territory(inp, SolverSettings(time_limit=time_limit, mip_gap=mip_gap, threads=threads))
    except SpmoptError as exc:
        now = time.perf_counter()
        return Run("spmopt", "error", None, None, None, None, built - start, now - built, now - start, False, str(exc))
    assignment = [int(alignment.site_of[str(i)]) for i in range(inst.n)]
    done = time.perf_counter()
    report = alignment.report
    return _run(
        "spmopt",
        inst,
        assignment,
        report.status.value,
        report.objective,
        report.bound,
        (start, built, done),
        report.status == SolveStatus.OPTIMAL,
        f"method {alignment.method}",
    )


# --------------------------------------------------------------------------------------------------
# textbook Pyomo models
# --------------------------------------------------------------------------------------------------


def textbook_pmedian_model(
    cost: np.ndarray, p: int, demand: np.ndarray | None = None, capacity: np.ndarray | None = None
) -> Any:
    """ReVelle-Swain p-median over dense I x J, plus single-sourcing capacities when `capacity` is given.

    min sum_ij d_ij x_ij  s.t.  sum_j x_ij = 1,  x_ij <= y_j,  sum_j y_j = p,  y binary;
    uncapacitated: x_ij in [0, 1] (integral at any integral y); capacitated: x_ij binary and
    sum_i q_i x_ij <= Q_j y_j.
    """
    import pyomo.environ as pyo

    n = cost.shape[0]
    capacitated = capacity is not None
    m = pyo.ConcreteModel(name="capacitated p-median" if capacitated else "p-median")
    m.I = pyo.RangeSet(0, n - 1)
    m.J = pyo.RangeSet(0, n - 1)
    m.d = pyo.Param(m.I, m.J, initialize=lambda _, i, j: float(cost[i, j]))
    m.y = pyo.Var(m.J, within=pyo.Binary)
    m.x = pyo.Var(m.I, m.J, within=pyo.Binary if capacitated else pyo.UnitInterval)
    m.obj = pyo.Objective(expr=sum(m.d[i, j] * m.x[i, j] for i in m.I for j in m.J), sense=pyo.minimize)
    m.assign = pyo.Constraint(m.I, rule=lambda m, i: sum(m.x[i, j] for j in m.J) == 1)
    m.open = pyo.Constraint(m.I, m.J, rule=lambda m, i, j: m.x[i, j] <= m.y[j])
    m.count = pyo.Constraint(expr=sum(m.y[j] for j in m.J) == p)
    if capacitated:
        assert demand is not None
        m.q = pyo.Param(m.I, initialize=lambda _, i: float(demand[i]))
        m.Q = pyo.Param(m.J, initialize=lambda _, j: float(capacity[j]))
        m.capacity = pyo.Constraint(m.J, rule=lambda m, j: sum(m.q[i] * m.x[i, j] for i in m.I) <= m.Q[j] * m.y[j])
    return m


def textbook_district_model(inst: BenchInstance) -> Any:
    """Hess assignment with cut-edge objective and single-commodity-flow contiguity (Validi-Buchanan, plain).

    x_ij = 1: node i in the district centred at j (x_jj opens j); y_e = 1: edge e is cut.
    min sum_e y_e  s.t.  sum_j x_ij = 1,  sum_j x_jj = k,  x_ij <= x_jj,  L x_jj <= sum_i p_i x_ij <= U x_jj,
    x_uj - x_vj <= y_e for e = {u, v}, all j. Contiguity (M = n - k + 1): flow f on both arcs of each edge,
    inflow_i - outflow_i >= 1 - M x_ii,  inflow_i <= M (1 - x_ii),  f_uv + f_vu <= M (1 - y_e).
    """
    import pyomo.environ as pyo

    assert inst.graph is not None
    assert inst.weight is not None
    n, k = inst.n, inst.k
    weight = inst.weight
    edges = sorted((min(u, v), max(u, v)) for u, v in inst.graph.edges)
    m = pyo.ConcreteModel(name="districting")
    m.V = pyo.RangeSet(0, n - 1)
    m.E = pyo.Set(initialize=edges, dimen=2)
    m.x = pyo.Var(m.V, m.V, within=pyo.Binary)
    m.y = pyo.Var(m.E, within=pyo.Binary)
    m.obj = pyo.Objective(expr=sum(m.y[e] for e in m.E), sense=pyo.minimize)
    m.assign = pyo.Constraint(m.V, rule=lambda m, i: sum(m.x[i, j] for j in m.V) == 1)
    m.count = pyo.Constraint(expr=sum(m.x[j, j] for j in m.V) == k)
    m.open = pyo.Constraint(m.V, m.V, rule=lambda m, i, j: m.x[i, j] <= m.x[j, j])
    m.pop_low = pyo.Constraint(
        m.V, rule=lambda m, j: sum(float(weight[i]) * m.x[i, j] for i in m.V) >= inst.lower * m.x[j, j]
    )
    m.pop_high = pyo.Constraint(
        m.V, rule=lambda m, j: sum(float(weight[i]) * m.x[i, j] for i in m.V) <= inst.upper * m.x[j, j]
    )
    m.cut = pyo.Constraint(m.E, m.V, rule=lambda m, u, v, j: m.x[u, j] - m.x[v, j] <= m.y[u, v])
    if inst.contiguity:
        big = n - k + 1
        arcs = edges + [(v, u) for u, v in edges]
        into: dict[int, list[tuple[int, int]]] = {i: [] for i in range(n)}
        out_of: dict[int, list[tuple[int, int]]] = {i: [] for i in range(n)}
        for u, v in arcs:
            out_of[u].append((u, v))
            into[v].append((u, v))
        m.A = pyo.Set(initialize=arcs, dimen=2)
        m.f = pyo.Var(m.A, within=pyo.NonNegativeReals)
        m.consume = pyo.Constraint(
            m.V,
            rule=lambda m, i: sum(m.f[a] for a in into[i]) - sum(m.f[a] for a in out_of[i]) >= 1 - big * m.x[i, i],
        )
        m.root_in = pyo.Constraint(m.V, rule=lambda m, i: sum(m.f[a] for a in into[i]) <= big * (1 - m.x[i, i]))
        m.uncut = pyo.Constraint(m.E, rule=lambda m, u, v: m.f[u, v] + m.f[v, u] <= big * (1 - m.y[u, v]))
    return m


def textbook_model(inst: BenchInstance) -> Any:
    """The textbook model of the instance's kind."""
    if inst.kind == "district":
        return textbook_district_model(inst)
    assert inst.cost is not None
    if inst.kind == "cpmp":
        return textbook_pmedian_model(inst.cost, inst.k, inst.demand, inst.capacity)
    return textbook_pmedian_model(inst.cost, inst.k)


def _argmax_rows(var: Any, n: int) -> list[int]:
    """Each row i's column j with the largest x_ij: the centre the textbook solution gives point i."""
    values = np.fromiter((var[i, j].value or 0.0 for i in range(n) for j in range(n)), dtype=np.float64, count=n * n)
    return values.reshape(n, n).argmax(axis=1).tolist()


def solve_textbook(inst: BenchInstance, time_limit: float, threads: int | None, mip_gap: float = 1e-4) -> Run:
    """Build the textbook model and hand it to HiGHS through Pyomo's appsi interface (limit on HiGHS only)."""
    from pyomo.contrib.appsi.base import TerminationCondition
    from pyomo.contrib.appsi.solvers.highs import Highs

    start = time.perf_counter()
    model = textbook_model(inst)
    built = time.perf_counter()
    solver = Highs()
    solver.config.time_limit = time_limit
    solver.config.mip_gap = mip_gap
    solver.config.load_solution = False
    if threads is not None:
        solver.highs_options = {"threads": threads}
    _threads(threads)
    results = solver.solve(model)
    reported = results.best_feasible_objective
    assignment = None
    if reported is not None:
        results.solution_loader.load_vars()
        assignment = _argmax_rows(model.x, inst.n)
    done = time.perf_counter()
    term = results.termination_condition
    bound = results.best_objective_bound
    bound = bound if bound is not None and math.isfinite(bound) else None
    finished = term == TerminationCondition.optimal and reported is not None
    if finished:
        status = "optimal"
    elif term in (TerminationCondition.infeasible, TerminationCondition.infeasibleOrUnbounded):
        status = "infeasible"
    else:
        status = "feasible" if reported is not None else "no_solution"
    clock = (start, built, done)
    return _run("textbook", inst, assignment, status, reported, bound, clock, finished, f"HiGHS: {term.name}")


# --------------------------------------------------------------------------------------------------
# PySAL spopt
# --------------------------------------------------------------------------------------------------


def _bench_extras() -> tuple[Any, Any]:
    """pulp and spopt.locate.PMedian, or a ConfigError saying how to install them."""
    try:
        import pulp
        from spopt.locate import PMedian
    except ImportError as exc:
        raise ConfigError(
            f"the comparison with PySAL spopt needs the optional packages 'spopt' and 'pulp' ({exc}); "
            "install them with: pip install 'spmopt[bench]'"
        ) from None
    return pulp, PMedian


def spopt_applies(inst: BenchInstance) -> str:
    """Empty when spopt's PMedian can state the instance exactly, else why not."""
    if inst.kind == "district":
        return "spopt has no contiguous cut-edge districting model"
    if inst.kind == "cpmp" and (inst.demand is None or (inst.demand <= 0).any()):
        return "a zero demand cannot carry spopt's demand-weighted objective"
    return ""


def solve_spopt(inst: BenchInstance, time_limit: float, threads: int | None, mip_gap: float = 1e-4) -> Run:
    """spopt.locate.PMedian.from_cost_matrix(...).solve(pulp.HiGHS(...)); build = from_cost_matrix.

    spopt's objective is sum_ij a_i c_ij z_ij with a_i the weights, which its capacitated variant also uses as
    demands; a CPMP is passed as a_i = q_i and c_ij = d_ij / q_i so that a_i c_ij = d_ij.
    """
    why_not = spopt_applies(inst)
    if why_not:
        return Run("spopt", "not_applicable", None, None, None, None, 0.0, 0.0, 0.0, False, why_not)
    pulp, p_median = _bench_extras()
    assert inst.cost is not None
    n = inst.n
    if inst.kind == "cpmp":
        assert inst.demand is not None
        weights, cost, capacities = inst.demand, inst.cost / inst.demand[:, None], inst.capacity
    else:
        weights, cost, capacities = np.ones(n), inst.cost, None
    kwargs: dict[str, Any] = {"msg": False, "timeLimit": time_limit, "gapRel": mip_gap}
    if threads is not None:
        kwargs["threads"] = threads
    note = ""
    with warnings.catch_warnings():  # PuLP 3.x warns once per variable that its constructor style is deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        start = time.perf_counter()
        model = p_median.from_cost_matrix(
            cost, weights, p_facilities=inst.k, facility_capacities=capacities, name=inst.name
        )
        built = time.perf_counter()
        _threads(threads)
        try:
            model.solve(pulp.HiGHS(**kwargs), results=False)
        except (RuntimeError, pulp.PulpSolverError) as exc:  # spopt's check_status raises when there is no solution
            note = str(exc)
    highs = model.problem.solverModel
    info = highs.getInfo()
    model_status = highs.getModelStatus()
    status_text = highs.modelStatusToString(model_status)
    has_solution = info.primal_solution_status == 2
    assignment = None
    reported = bound = None
    if has_solution:
        z = np.array([[v.value() or 0.0 for v in row] for row in model.cli_assgn_vars])
        assignment = z.argmax(axis=1).tolist()
        reported = float(info.objective_function_value)
        bound = float(info.mip_dual_bound) if math.isfinite(info.mip_dual_bound) else None
    done = time.perf_counter()
    import highspy

    finished = model_status == highspy.HighsModelStatus.kOptimal and has_solution
    if finished:
        status = "optimal"
    elif model_status == highspy.HighsModelStatus.kInfeasible:
        status = "infeasible"
    else:
        status = "feasible" if has_solution else "no_solution"
    clock = (start, built, done)
    return _run("spopt", inst, assignment, status, reported, bound, clock, finished, note or f"HiGHS: {status_text}")


# --------------------------------------------------------------------------------------------------
# the comparison
# --------------------------------------------------------------------------------------------------


def ratio(competitor: Run | None, base: Run) -> dict[str, object]:
    """competitor seconds / spmopt seconds; kind: exact, lower (competitor unfinished: >=), upper (only spmopt
    unfinished: <=) or none (both unfinished, an error, or not applicable)."""
    if competitor is None or competitor.status in ("error", "not_applicable") or base.status == "error":
        return {"value": None, "kind": "none"}
    value = competitor.seconds / base.seconds if base.seconds > 0 else math.inf
    if competitor.finished and base.finished:
        kind = "exact"
    elif base.finished:
        kind = "lower"
    elif competitor.finished:
        kind = "upper"
    else:
        kind = "none"
    return {"value": value, "kind": kind}


def compare_instance(
    inst: BenchInstance,
    time_limit: float,
    threads: int | None,
    mip_gap: float = 1e-4,
    solvers: Sequence[str] = SOLVERS,
    progress: Progress = _quiet,
) -> dict[str, object]:
    """Every requested solver on one instance, one after another; one row of the comparison."""
    runners = {"spmopt": solve_spmopt, "textbook": solve_textbook, "spopt": solve_spopt}
    runs: dict[str, Run] = {}
    for name in solvers:
        gc.collect()  # each solver starts without the previous one's garbage
        progress(f"{inst.name}: {name}")
        runs[name] = runners[name](inst, time_limit, threads, mip_gap)
    return comparison_row(inst, runs)


def comparison_row(inst: BenchInstance, runs: dict[str, Run]) -> dict[str, object]:
    """The JSON-ready row of one instance: each solver's run and both ratios against spmopt."""
    row: dict[str, object] = {"instance": inst.name, "kind": inst.kind, "n": inst.n, "k": inst.k}
    for name in SOLVERS:
        row[name] = asdict(runs[name]) if name in runs else None
    base = runs.get("spmopt")
    for name in ("textbook", "spopt"):
        row[f"ratio_{name}"] = ratio(runs.get(name), base) if base else {"value": None, "kind": "none"}
    return row


def compare_instances(
    instances: Iterable[BenchInstance],
    time_limit: float,
    threads: int | None,
    mip_gap: float = 1e-4,
    solvers: Sequence[str] = SOLVERS,
    progress: Progress = _quiet,
) -> list[dict[str, object]]:
    """One row per instance, all solvers run back to back on the same machine in this process."""
    instances = list(instances)
    unknown = [s for s in solvers if s not in SOLVERS]
    if unknown:
        raise ConfigError(f"unknown solver(s) {', '.join(unknown)}; choose from {', '.join(SOLVERS)}")
    if "spopt" in solvers and any(not spopt_applies(inst) for inst in instances):
        _bench_extras()  # fail before any solve, not after an hour of them
    return [compare_instance(inst, time_limit, threads, mip_gap, solvers, progress) for inst in instances]


# --------------------------------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------------------------------


def _value(run: dict | None) -> str:
    if run is None or run["status"] == "not_applicable":
        return "n/a"
    if run["objective"] is None:
        return "invalid" if run["status"] in ("optimal", "feasible") else run["status"].replace("_", " ")
    value = float(run["objective"])
    return f"{value:.0f}" if abs(value - round(value)) < 1e-6 else f"{value:.2f}"


def _gap_text(run: dict | None) -> str:
    if run is None or run["gap"] is None:
        return "—"
    return f"{100 * run['gap']:.2f}%"


def _seconds(run: dict | None) -> str:
    if run is None or run["status"] == "not_applicable":
        return "n/a"
    text = f"{run['seconds']:.1f}"
    return text if run["finished"] else f"≥ {text}"


def _ratio_text(r: dict) -> str:
    if r["value"] is None or r["kind"] == "none":
        return "—"
    text = f"{r['value']:.1f}×" if r["value"] >= 10 else f"{r['value']:.2f}×"
    return {"exact": text, "lower": f"≥ {text}", "upper": f"≤ {text}"}[str(r["kind"])]


def markdown_table(rows: Sequence[dict], facts: dict | None = None) -> str:
    """The comparison as a markdown table, ratios = competitor seconds / spmopt seconds, with a legend."""
    head = (
        "| instance | n | p/k | spmopt value | spmopt gap | spmopt s | textbook value | textbook gap | textbook s "
        "| spopt value | spopt s | textbook / spmopt | spopt / spmopt |"
    )
    lines = [head, "|" + "---|" * 13]
    for row in rows:
        sp, tb, so = row.get("spmopt"), row.get("textbook"), row.get("spopt")
        cells = [
            str(row["instance"]),
            str(row["n"]),
            str(row["k"]),
            _value(sp),
            _gap_text(sp),
            _seconds(sp),
            _value(tb),
            _gap_text(tb),
            _seconds(tb),
            _value(so),
            _seconds(so),
            _ratio_text(row["ratio_textbook"]),
            _ratio_text(row["ratio_spopt"]),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "Values are re-scored from each solver's assignment; gap is the solver's proven relative gap; seconds are "
        'wall time from the instance arrays to an assignment (model build included). "≥ s": stopped at the time '
        "limit without proving optimality, so the time to optimality is at least s and a ratio against it is a "
        'lower bound ("≥"); "≤" marks an upper bound where only spmopt stopped unproven; "—": no ratio.',
    ]
    if facts:
        lines.append(
            f"Machine: {facts.get('cpus')} CPUs, load average {load_text(facts.get('load_average'))} at start and "
            f"{load_text(facts.get('load_average_end'))} at end; HiGHS {facts.get('highs')}, "
            f"Pyomo {facts.get('pyomo')}, "
            f"spopt {facts.get('spopt')}, PuLP {facts.get('pulp')}; threads {facts.get('threads')}, time limit "
            f"{facts.get('time_limit')} s per solver, relative gap {facts.get('mip_gap')}."
        )
    return "\n".join(lines) + "\n"


def write_results(rows: Sequence[dict], facts: dict, markdown: Path) -> Path:
    """The table to `markdown` and the raw rows with the machine facts beside it as JSON; returns the JSON path."""
    markdown.write_text(markdown_table(rows, facts), encoding="utf-8")
    raw = markdown.with_suffix(".json")
    raw.write_text(json.dumps({"machine": facts, "rows": list(rows)}, indent=2, default=str) + "\n", encoding="utf-8")
    return raw


# --------------------------------------------------------------------------------------------------
# suites
# --------------------------------------------------------------------------------------------------


def _natural(name: str) -> tuple:
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name))


def suite_files(suite: str, root: Path = INSTANCES) -> dict[str, Path]:
    """Instance name -> file of a suite, in natural order."""
    if suite not in SUITES:
        raise ConfigError(f"unknown suite '{suite}'; choose one of {', '.join(SUITES)}")
    folder = root / suite
    patterns = {"pmed": ("pmed*.txt",), "cpmp": ("*.txt", "*.dat"), "district": ("*.json",)}[suite]
    files = {p.stem: p for pattern in patterns for p in folder.glob(pattern) if p.stem != "pmedopt"}
    if not files:
        raise ConfigError(f"no instance files for suite '{suite}' in {folder}")
    return dict(sorted(files.items(), key=lambda item: _natural(item[0])))


def suite_instances(
    suite: str, only: str | None = None, contiguity: bool = True, root: Path = INSTANCES
) -> list[BenchInstance]:
    """Read the suite's default subset, or every instance whose name matches the glob `only`."""
    files = suite_files(suite, root)
    if only is None:
        names = [name for name in DEFAULT_SUBSET[suite] if name in files]
    else:
        names = [name for name in files if fnmatch.fnmatchcase(name, only)]
    if not names:
        raise ConfigError(f"no instance of suite '{suite}' matches '{only}'; available: {', '.join(files)}")
    instances = []
    for name in names:
        path = files[name]
        if suite == "pmed":
            instances.append(read_pmedian(path))
        elif suite == "cpmp":
            instances.append(read_cpmp(path, "floor" if name.startswith("cpmp") else "euclid"))
        else:
            if name not in DISTRICT_K:
                raise ConfigError(f"{path}: no district count known for '{name}'")
            instances.append(read_district(path, DISTRICT_K[name], 0.005, contiguity))
    return instances
