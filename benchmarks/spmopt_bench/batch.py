"""Batch benchmark: a sensitivity sweep of N demo-size scenarios, one by one in this process against one Dask
batch.

The sweep varies the demo (159 Georgia counties, 9 reps) the way an annual-planning team would: the potential
balance tolerance (which changes the territory design), the share of reps meant to reach quota (quotas), and
the first comp plan (the demo's target-incentive plan, or the same plan with a steeper 2.5x top of the revenue
curve); beyond 50 variants the seed changes too. Every variant runs with settings that keep it to roughly
10-25 s on one core: no contiguity (the contiguous start alone needs about 20 s on one HiGHS thread), a
territory time limit of 8 s, 16 replications and only the designed alignment.

(a) Serial: `run_task` on each variant in turn in this process, each with its own empty stage cache, so every
variant pays for every stage. (b) Batch: `run_batch` on a fresh local Dask cluster with one shared empty
cache, as `spmopt batch` runs: variants that share a territory design (same tolerance) reuse it once it is
stored, so the ratio measures parallelism and cache reuse together; the cache hits are reported beside it.

Agreement: each variant's output files are compared by the sha256 the two manifests record. Quotas, comp and
simulation are deterministic given the alignment; the alignment is deterministic when HiGHS proves optimality,
but a design stopped by the time limit depends on how far the search got, which varies with machine load.
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import yaml

from spmopt.batch.runner import BatchOptions, Outcome, plan_batch, run_batch, run_task
from spmopt.errors import SpmoptError
from spmopt.manifest import Manifest, StageRecord, read_manifest
from spmopt.territory.design import TerritoryFacts
from spmopt_bench.paths import SCENARIOS

DEMO = SCENARIOS / "demo.yaml"
PLAN = SCENARIOS / "plans" / "target_incentive.yaml"
COMMISSION = SCENARIOS / "plans" / "commission.yaml"
DEMO_SEED = 20261124
TOLERANCES = (0.08, 0.10, 0.12, 0.15, 0.20)
TARGET_SHARES = (0.50, 0.55, 0.60, 0.65, 0.70)
SETTINGS = (
    "alignments={}",
    "territory.contiguity=false",
    "territory.solver.time_limit=8",
    "simulation.replications=16",
)
"""Applied to every variant (the sweep's own keys are in the variant files); `--set` comes after these."""
COMPARED = (
    "alignment.csv",
    "territories.csv",
    "quotas.csv",
    "comp_summary.csv",
    "coaching.csv",
    "decision.csv",
    "simulation/summary.csv",
)
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class Variant:
    """One point of the sweep."""

    name: str
    tolerance: float
    target_share: float
    accelerated: bool
    seed: int


def sweep(n: int) -> list[Variant]:
    """N variants: tolerance fastest, then target share, then plan, then seed, so neighbours in the batch
    queue have different territory designs (two tasks running at once rarely solve the same one)."""
    return [
        Variant(
            name=f"sweep_{k:03d}",
            tolerance=TOLERANCES[k % len(TOLERANCES)],
            target_share=TARGET_SHARES[(k // len(TOLERANCES)) % len(TARGET_SHARES)],
            accelerated=(k // (len(TOLERANCES) * len(TARGET_SHARES))) % 2 == 1,
            seed=DEMO_SEED + k // (2 * len(TOLERANCES) * len(TARGET_SHARES)),
        )
        for k in range(n)
    ]


def write_accelerated_plan(folder: Path) -> Path:
    """The demo's target-incentive plan with the top of its revenue curve raised from 2.0x to 2.5x at 150%."""
    plan = yaml.safe_load(PLAN.read_text(encoding="utf-8"))
    plan["name"] = "target_incentive_accelerated"
    plan["description"] = "The demo plan with a 3x slope above quota (2.5x payout at 150% of revenue quota)."
    plan["measures"][0]["curve"][-1]["payout"] = 2.5
    path = folder / "target_incentive_accelerated.yaml"
    path.write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")
    return path


def write_variants(folder: Path, variants: Sequence[Variant]) -> list[Path]:
    """One scenario file per variant, each `extends:` the demo and sets only the swept keys."""
    folder.mkdir(parents=True, exist_ok=True)
    accelerated = write_accelerated_plan(folder)
    files = []
    for v in variants:
        body: dict[str, object] = {
            "extends": str(DEMO),
            "name": v.name,
            "description": f"potential +-{v.tolerance:.0%}, {v.target_share:.0%} at quota, "
            f"{'accelerated' if v.accelerated else 'demo'} plan, seed {v.seed}",
            "seed": v.seed,
            "territory": {
                "balance": [
                    {"measure": "potential", "tolerance": v.tolerance},
                    {"measure": "workload", "tolerance": 0.15},
                ]
            },
            "quota": {"attainment": {"target_share": v.target_share}},
        }
        if v.accelerated:
            body["comp"] = {"plans": [str(accelerated), str(COMMISSION)]}
        path = folder / f"{v.name}.yaml"
        path.write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
        files.append(path)
    return files


def _manifest(folder: Path) -> Manifest | None:
    """The folder's manifest, None when the run wrote none (or one this spmopt cannot read)."""
    try:
        return read_manifest(folder)
    except (SpmoptError, OSError):
        return None


def _stages(folder: Path) -> list[StageRecord]:
    manifest = _manifest(folder)
    return [] if manifest is None else list(manifest.stages)


def _label(record: StageRecord) -> str:
    """A stage's name, with the candidate alignment it ran on when not the designed one: 'quota[current]'."""
    return record.stage if record.alignment is None else f"{record.stage}[{record.alignment}]"


def _territory(manifest: Manifest) -> TerritoryFacts | None:
    facts = manifest.stage("territory")
    return facts if isinstance(facts, TerritoryFacts) else None


def _status_gap(facts: TerritoryFacts | None) -> list[object]:
    return [None, None] if facts is None else [facts.status, facts.gap]


def run_serial(files: Sequence[Path], out_dir: Path, overrides: Sequence[str], progress: Progress) -> list[Outcome]:
    """Each variant in turn in this process, each with its own empty cache."""
    plan = plan_batch(files, BatchOptions(out_dir, workers=1, overrides=tuple(overrides)))
    outcomes = [o for o in plan.outcomes if o.status == "failed"]
    for k, task in enumerate(plan.tasks):
        progress("serial", k, len(plan.tasks))
        outcomes.append(run_task(replace(task, cache_dir=out_dir / ".caches" / task.name)))
    progress("serial", len(plan.tasks), len(plan.tasks))
    return sorted(outcomes, key=lambda o: o.index)


def run_batched(
    files: Sequence[Path], out_dir: Path, workers: int, overrides: Sequence[str], progress: Progress
) -> tuple[list[Outcome], dict]:
    """All variants as one batch on a fresh local cluster with one shared, empty cache."""
    options = BatchOptions(out_dir, workers=workers, overrides=tuple(overrides))
    plan = plan_batch(files, options)
    done: list[Outcome] = []

    def tick(outcome: Outcome) -> None:
        done.append(outcome)
        progress("batch", len(done), len(plan.outcomes))

    report = run_batch(plan, options, on_outcome=tick)
    return list(report.outcomes), asdict(report.executor)


def agreement(serial_dir: Path, batch_dir: Path, names: Sequence[str]) -> dict[str, object]:
    """Which output files are byte-identical between the two runs, and whether the differences are the ones a
    time-limited territory design explains."""
    identical, present = Counter(), Counter()
    unexpected, explained = [], []
    optimal_both = 0
    for name in names:
        a, b = _manifest(serial_dir / name), _manifest(batch_dir / name)
        if a is None or b is None:
            unexpected.append({"scenario": name, "reason": "missing output folder in one run"})
            continue
        differ = [f for f in COMPARED if a.outputs.get(f) != b.outputs.get(f)]
        for f in (f for f in COMPARED if f in a.outputs or f in b.outputs):
            present[f] += 1
            identical[f] += f not in differ
        ta, tb = _territory(a), _territory(b)
        optimal = ta is not None and tb is not None and ta.status == "optimal" and tb.status == "optimal"
        optimal_both += optimal
        if differ:
            entry = {
                "scenario": name,
                "files": differ,
                "territory_serial": _status_gap(ta),
                "territory_batch": _status_gap(tb),
            }
            (unexpected if optimal or "alignment.csv" not in differ else explained).append(entry)
    return {
        "compared_files": list(COMPARED),
        "identical_per_file": {f: f"{identical[f]} of {present[f]}" for f in COMPARED if present[f]},
        "scenarios_identical": len(names) - len(unexpected) - len(explained),
        "territory_optimal_in_both": optimal_both,
        "differ_time_limited_design": explained,
        "differ_unexpected": unexpected,
    }


def cache_hits(batch_dir: Path, names: Sequence[str]) -> dict[str, int]:
    """Stages the batch took from the shared cache instead of computing, by stage."""
    hits = Counter()
    for name in names:
        for record in _stages(batch_dir / name):
            if record.cached:
                hits[_label(record)] += 1
    return dict(hits)


def stage_seconds(run_dir: Path, outcomes: Sequence[Outcome]) -> dict[str, float]:
    """Mean seconds per stage over the finished scenarios of one run (from their manifests), and the rest of
    each task's time: writing the output folder (map, report) and overhead."""
    per_stage: dict[str, list[float]] = {}
    rest = []
    for outcome in (o for o in outcomes if o.status == "done" and o.seconds is not None):
        stages = _stages(run_dir / outcome.name)
        for record in stages:
            per_stage.setdefault(_label(record), []).append(record.seconds)
        rest.append(outcome.seconds - sum(record.seconds for record in stages))
    means = {name: round(sum(v) / len(v), 2) for name, v in per_stage.items()}
    return {**means, "outputs_and_overhead": round(sum(rest) / max(len(rest), 1), 2)}


def machine_facts() -> dict[str, object]:
    """Cores, memory, Python and the versions that shape results."""
    from spmopt.hashing import package_versions

    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(memory, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": package_versions(),
    }


def per_scenario(
    variants: Sequence[Variant], serial: Sequence[Outcome], batch: Sequence[Outcome], batch_dir: Path
) -> list[dict]:
    """Each variant's settings, both runs' seconds and status, and the stages the batch reused."""
    rows = []
    for v, s, b in zip(variants, serial, batch, strict=True):
        stages = _stages(batch_dir / v.name)
        rows.append(
            {
                **asdict(v),
                "serial_status": s.status,
                "serial_seconds": None if s.seconds is None else round(s.seconds, 2),
                "batch_status": b.status,
                "batch_seconds": None if b.seconds is None else round(b.seconds, 2),
                "batch_worker": b.worker,
                "batch_cached_stages": [_label(r) for r in stages if r.cached],
                "error": s.error or b.error,
            }
        )
    return rows


def batch_benchmark(
    scenarios: int = 50,
    workers: int = 2,
    overrides: Sequence[str] = (),
    folder: Path | None = None,
    progress: Progress | None = None,
) -> dict[str, object]:
    """Run the sweep serially and as a batch, and measure both; outputs go to `folder` (a temp folder, deleted
    afterwards, when None)."""
    tell = progress or (lambda *_: None)
    settings = [*SETTINGS, *overrides]
    if folder is not None:
        return _benchmark(folder, scenarios, workers, settings, tell)
    with tempfile.TemporaryDirectory(prefix="spmopt-bench-batch-") as tmp:
        return _benchmark(Path(tmp), scenarios, workers, settings, tell)


def _benchmark(root: Path, n: int, workers: int, overrides: list[str], progress: Progress) -> dict[str, object]:
    load_start = os.getloadavg()
    variants = sweep(n)
    files = write_variants(root / "scenarios", variants)
    clock = time.perf_counter()
    serial = run_serial(files, root / "serial", overrides, progress)
    serial_wall = time.perf_counter() - clock
    clock = time.perf_counter()
    batch, executor = run_batched(files, root / "batch", workers, overrides, progress)
    batch_wall = time.perf_counter() - clock
    load_end = os.getloadavg()
    names = [v.name for v in variants]
    serial_ok = [o.seconds for o in serial if o.status == "done" and o.seconds is not None]
    batch_ok = [o.seconds for o in batch if o.status == "done" and o.seconds is not None]
    return {
        "scenarios": n,
        "workers": workers,
        "settings": overrides,
        "sweep": {
            "potential_tolerance": list(TOLERANCES),
            "quota_target_share": list(TARGET_SHARES),
            "first_plan": ["target_incentive", "target_incentive_accelerated"],
            "seed": "demo seed, +1 every 50 variants",
        },
        "serial_wall_seconds": round(serial_wall, 2),
        "batch_wall_seconds": round(batch_wall, 2),
        "ratio_serial_over_batch": round(serial_wall / batch_wall, 3),
        "serial_mean_seconds_per_scenario": round(sum(serial_ok) / max(len(serial_ok), 1), 2),
        "batch_mean_task_seconds": round(sum(batch_ok) / max(len(batch_ok), 1), 2),
        "batch_wall_seconds_per_scenario": round(batch_wall / n, 2),
        "serial_failed": sum(o.status == "failed" for o in serial),
        "batch_failed": sum(o.status == "failed" for o in batch),
        "batch_executor": executor,
        "batch_cache_hits": cache_hits(root / "batch", names),
        "stage_seconds_mean": {
            "serial": stage_seconds(root / "serial", serial),
            "batch": stage_seconds(root / "batch", batch),
        },
        "agreement": agreement(root / "serial", root / "batch", names),
        "load_average_start": [round(x, 2) for x in load_start],
        "load_average_end": [round(x, 2) for x in load_end],
        "machine": machine_facts(),
        "per_scenario": per_scenario(variants, serial, batch, root / "batch"),
    }
