"""Named benchmark suites: public instances with their published values and the target each run must meet.

Known values are the published ones (sources in `benchmarks/instances/README.md`); pmed optima are
read from OR-Library's own `pmedopt.txt`. A run meets a "proven" target when it reaches the known
optimum, proves it (gap <= 0.01%) and takes no longer than the suite's limit; a "near" target when
its objective is within the stated fraction of the best known value within the limit.
"""

from __future__ import annotations

import fnmatch
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from spmopt.errors import ConfigError, DataError, SpmoptError
from spmopt.territory.instances import BenchInstance, read_cpmp, read_district, read_pmedian
from spmopt_bench.machine import machine_facts
from spmopt_bench.paths import INSTANCES, RESULTS, ROOT
from spmopt_bench.planner_suite import run_planner_suite
from spmopt_bench.scale import run_scale
from spmopt_bench.territory import run_instance, write_result

PROVEN_GAP = 1e-4
"""Proven relative gap a "proven" target asks for (0.01%)."""


@dataclass(frozen=True, slots=True)
class Case:
    """One instance of a suite and how to read it."""

    name: str
    kind: str
    path: Path
    known: float
    distance: str = "floor"
    k: int = 0
    """Districts (district instances only; pmed/cpmp read p from the file)."""
    contiguity: bool = True
    tolerance: float = 0.005

    def read(self) -> BenchInstance:
        """The instance, validated."""
        if self.kind == "pmedian":
            return read_pmedian(self.path)
        if self.kind == "cpmp":
            return read_cpmp(self.path, self.distance)
        return read_district(self.path, self.k, self.tolerance, self.contiguity)

    def command(self, time_limit: float, threads: int | None) -> str:
        """The single-instance CLI command that reproduces this run."""
        where = self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path
        extra = f" --threads {threads}" if threads else ""
        if self.kind == "pmedian":
            head = f"spmopt bench pmedian {where}"
        elif self.kind == "cpmp":
            head = f"spmopt bench cpmp {where} --distance {self.distance}"
        else:
            free = "" if self.contiguity else " --no-contiguity"
            head = f"spmopt bench district {where} --k {self.k} --tolerance {self.tolerance}{free}"
        return f"{head} --time-limit {time_limit:g}{extra} --json {self.name}.json"


@dataclass(frozen=True, slots=True)
class Suite:
    """A named set of cases with a common target."""

    name: str
    title: str
    cases: tuple[Case, ...]
    time_limit: float
    """Seconds each instance may take to meet the target (also the default solver time limit)."""
    target: str
    """"proven": the known optimum with gap <= 0.01%; "near": objective <= (1 + within) * known."""
    within: float
    """"proven": largest |ours - known| that counts as the published value (its rounding); "near": the fraction."""
    known_label: str
    source: str
    """Where the known values are published."""

    def describe_target(self) -> str:
        """The target in words."""
        if self.target == "proven":
            return f"the published optimum, proven (gap <= {100 * PROVEN_GAP:g}%), within {self.time_limit:g} s"
        return f"within {100 * self.within:g}% of the best known value, within {self.time_limit:g} s"


# --------------------------------------------------------------------------------------------------
# published values
# --------------------------------------------------------------------------------------------------

# Osman & Christofides (1994), OR-Library pmedcap1; floor(Euclidean) distances.
CPMP_OC = dict(
    zip(
        (f"cpmp{i:02d}" for i in range(1, 21)),
        (713, 740, 751, 651, 664, 778, 787, 820, 715, 829, 1006, 966, 1026, 982, 1091, 954, 1034, 1043, 1031, 1005),
        strict=True,
    )
)
# Lorena & Senne (2004), proven optimal by Stefanello, de Araujo & Mueller (2015); real Euclidean.
CPMP_SJC = {
    "SJC1": 17288.99,
    "SJC2": 33270.94,
    "SJC3a": 45335.16,
    "SJC3b": 40635.90,
    "SJC4a": 61925.51,
    "SJC4b": 52458.02,
}
# Best known values from the published solution files (Stefanello et al. 2015); real Euclidean.
P3038 = {
    "p3038_600": 122710.58,
    "p3038_700": 109670.52,
    "p3038_800": 100060.05,
    "p3038_900": 92309.52,
    "p3038_1000": 85854.05,
}
# Validi & Buchanan (2022): file, k, min cut edges without contiguity (table 6), with contiguity (tables 8/14).
DISTRICTS = (
    ("county23", 2, 8, 16),
    ("county35", 3, 17, 17),
    ("county16", 2, 10, 10),
    ("county54", 3, 20, 23),
    ("county22", 6, 44, 49),
    ("county01", 7, 51, 55),
    ("county05", 4, 32, 33),
    ("county40", 5, 39, 40),
    ("county28", 4, 32, 34),
    ("county31", 3, 19, 19),
    ("county19", 4, 33, 33),
    ("county20", 4, 31, 32),
)


def read_pmedopt(path: Path) -> dict[str, float]:
    """OR-Library `pmedopt.txt`: lines `pmedN value` after a header line."""
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    known = {}
    for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = re.fullmatch(r"\s*(pmed\d+)\s+(\d+(?:\.\d*)?)\s*", line)
        if match:
            known[match.group(1)] = float(match.group(2))
        elif line.strip() and no > 1:
            raise DataError(f"{path}, line {no}: expected 'pmedN value', found {line.strip()!r}")
    return known


def _pmed() -> Suite:
    folder = INSTANCES / "pmed"
    known = read_pmedopt(folder / "pmedopt.txt")
    cases = tuple(Case(f"pmed{i}", "pmedian", folder / f"pmed{i}.txt", known[f"pmed{i}"]) for i in range(1, 41))
    return Suite(
        "pmed",
        "OR-Library uncapacitated p-median (pmed1-40)",
        cases,
        120.0,
        "proven",
        1e-6,
        "optimum",
        "Beasley (1985), OR-Library pmedopt.txt",
    )


def _cpmp() -> Suite:
    folder = INSTANCES / "cpmp"
    oc = tuple(Case(name, "cpmp", folder / f"{name}.txt", float(v), "floor") for name, v in CPMP_OC.items())
    sjc = tuple(Case(name, "cpmp", folder / f"{name}.dat", v, "euclid") for name, v in CPMP_SJC.items())
    return Suite(
        "cpmp",
        "Capacitated p-median: Osman-Christofides cpmp01-20 (floor distances), Lorena-Senne SJC (Euclidean)",
        oc + sjc,
        60.0,
        "proven",
        0.005,  # the SJC optima are published to two decimals
        "optimum",
        "Osman & Christofides (1994); Lorena & Senne (2004), optimality by Stefanello, de Araujo & Mueller (2015)",
    )


def _p3038() -> Suite:
    folder = INSTANCES / "cpmp"
    cases = tuple(Case(name, "cpmp", folder / f"{name}.dat", v, "euclid") for name, v in P3038.items())
    return Suite(
        "p3038",
        "Capacitated p-median, Lorena-Senne p3038 (n = 3038, Euclidean)",
        cases,
        600.0,
        "near",
        0.01,
        "best known",
        "Lorena & Senne (2004); best known from the solution files of Stefanello, de Araujo & Mueller (2015)",
    )


def _district(contiguity: bool) -> Suite:
    folder = INSTANCES / "district"
    cases = tuple(
        Case(
            name, "district", folder / f"{name}.json", float(with_c if contiguity else free), k=k, contiguity=contiguity
        )
        for name, k, free, with_c in DISTRICTS
    )
    which = "contiguous" if contiguity else "without contiguity"
    table = "tables 8 and 14" if contiguity else "table 6"
    return Suite(
        "district" if contiguity else "district-free",
        f"Validi-Buchanan county districting, +-0.5% population, min cut edges, {which}",
        cases,
        600.0,
        "proven",
        1e-6,
        "optimum",
        f"Validi & Buchanan (2022), {table}",
    )


BUILDERS: dict[str, Callable[[], Suite]] = {
    "cpmp": _cpmp,
    "pmed": _pmed,
    "district": lambda: _district(True),
    "district-free": lambda: _district(False),
    "p3038": _p3038,
}
SCALE = "scale"
"""The 30,000-unit synthetic design, run by `spmopt_bench.scale.run_scale` (see `run_scale_suite`)."""
PLANNER = "planner"
"""Planner-shaped designs on census-tract graphs, built and run by `spmopt_bench.planner_suite`."""
NAMES = (*BUILDERS, SCALE, PLANNER)


def suite(name: str) -> Suite:
    """The suite called `name` (not `scale` or `planner`, which have no instance files)."""
    if name not in BUILDERS:
        raise ConfigError(f"unknown benchmark suite '{name}'; choose one of {', '.join(NAMES)}")
    return BUILDERS[name]()


# --------------------------------------------------------------------------------------------------
# targets
# --------------------------------------------------------------------------------------------------


def gap_to_known(objective: float | None, known: float | None) -> float | None:
    """(ours - known) / |known|: positive when worse than the published value."""
    if objective is None or known is None:
        return None
    return (objective - known) / abs(known) if known else objective - known


def target_met(s: Suite, result: dict[str, object]) -> bool:
    """Whether one stored result meets the suite's target (from its own figures only)."""
    objective, known, seconds = result.get("objective"), result.get("known"), result.get("seconds")
    if objective is None or known is None or seconds is None or float(seconds) > s.time_limit:
        return False
    if s.target == "near":
        return float(objective) <= (1 + s.within) * float(known) + 1e-9
    gap = result.get("gap")
    match = abs(float(objective) - float(known)) <= s.within
    return result.get("status") == "optimal" and gap is not None and float(gap) <= PROVEN_GAP and match


def scale_target_met(result: dict[str, object], time_limit: float = 600.0) -> bool:
    """Scale target: a feasible alignment, certified gap <= 2%, within the time limit and under 8 GiB."""
    gap, seconds, memory = result.get("gap"), result.get("seconds"), result.get("peak_memory_gib")
    return (
        result.get("status") in ("optimal", "feasible")
        and gap is not None
        and float(gap) <= 0.02
        and seconds is not None
        and float(seconds) <= time_limit
        and (memory is None or float(memory) < 8.0)
    )


# --------------------------------------------------------------------------------------------------
# running
# --------------------------------------------------------------------------------------------------


def select(s: Suite, only: str | None) -> tuple[Case, ...]:
    """The suite's cases whose names match the glob `only` (all when None)."""
    cases = tuple(c for c in s.cases if only is None or fnmatch.fnmatchcase(c.name, only))
    if not cases:
        raise ConfigError(f"suite '{s.name}': no instance matches --only {only!r}")
    return cases


def run_case(s: Suite, case: Case, time_limit: float, threads: int | None, command: str) -> dict[str, object]:
    """One instance of the suite: the run's result with the known value, gap to it and whether the target is met."""
    clock = time.perf_counter()
    try:
        inst = case.read()
        extra: dict[str, object] = {"distance": case.distance} if case.kind == "cpmp" else {}
        if case.kind == "district":
            extra = {
                "contiguity": case.contiguity,
                "tolerance": case.tolerance,
                "lower": inst.lower,
                "upper": inst.upper,
            }
        result = run_instance(inst, time_limit, threads, mip_gap=0.0, started=clock, extra=extra)
    except SpmoptError as exc:
        # a failed instance is a result too: recorded, not hidden
        result = {
            "instance": case.name,
            "objective": None,
            "bound": None,
            "gap": None,
            "status": "error",
            "seconds": round(time.perf_counter() - clock, 3),
            "kind": case.kind,
            "file": str(case.path),
            "error": str(exc),
            "assignment": [],
        }
    result.update(
        {
            "suite": s.name,
            "known": case.known,
            "known_label": s.known_label,
            "known_source": s.source,
            "gap_to_known": gap_to_known(result.get("objective"), case.known),  # type: ignore[arg-type]
            "target": s.describe_target(),
            "command": case.command(time_limit, threads),
            "suite_command": command,
            "machine": machine_facts(),
        }
    )
    result["target_met"] = target_met(s, result)
    return result


def run_suite(
    name: str,
    time_limit: float | None = None,
    only: str | None = None,
    out: Path | None = None,
    threads: int | None = None,
    done: Callable[[dict[str, object]], None] | None = None,
) -> list[dict[str, object]]:
    """Run every selected case, write `<out>/<instance>.json` for each, and return the results in order."""
    folder = out if out is not None else RESULTS / name
    if name == SCALE:
        return [run_scale_suite(time_limit, folder, done)]
    if name == PLANNER:
        return run_planner_suite(time_limit, only, folder, threads, done)
    s = suite(name)
    limit = time_limit if time_limit is not None else s.time_limit
    command = f"spmopt bench suite {name} --time-limit {limit:g}" + (f" --threads {threads}" if threads else "")
    if only is not None:
        command += f" --only '{only}'"
    results = []
    for case in select(s, only):
        result = run_case(s, case, limit, threads, command)
        write_result(folder / f"{case.name}.json", result)
        results.append(result)
        if done is not None:
            done(result)
    return results


# The 30,000-unit synthetic design lives in `spmopt_bench.scale.run_scale(time_limit) -> dict`, a
# JSON-ready result with at least instance, objective, bound, gap, status, seconds (and, when
# measured, peak_memory_gib). This runner only stores it and judges it against the scale target.
def run_scale_suite(
    time_limit: float | None, folder: Path, done: Callable[[dict[str, object]], None] | None = None
) -> dict[str, object]:
    """Run the scale design, add the target facts and store it as `<folder>/scale.json`."""
    limit = time_limit if time_limit is not None else 600.0
    result = dict(run_scale(limit))
    result.setdefault("instance", SCALE)
    result.update(
        {
            "suite": SCALE,
            "known": None,
            "known_label": "none",
            "known_source": "synthetic instance; no published value",
            "gap_to_known": None,
            "target": f"feasible, certified gap <= 2%, within {limit:g} s and under 8 GiB",
            "suite_command": f"spmopt bench suite scale --time-limit {limit:g}",
            "machine": machine_facts(),
        }
    )
    result["target_met"] = scale_target_met(result, 600.0)
    write_result(folder / f"{result['instance']}.json", result)
    if done is not None:
        done(result)
    return result
