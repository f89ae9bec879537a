"""Stage cache keys follow exactly what each stage reads.

A property test changes one byte of every input file of the demo scenario, and one value of every setting, in
turn, and checks that the keys of exactly the stages that read it change (`READS` below is the contract, written
from the stages' signatures). The end-to-end tests replay the stale answers a fault probe found: after editing a
rep's start month, one unit's potential, or every unit's accounts, a cached rerun must equal a fresh run.
"""

from __future__ import annotations

import multiprocessing
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
from pydantic import BaseModel

from spmopt.cache import StageCache
from spmopt.config import ScenarioConfig
from spmopt.pipeline import quota_key, run_scenario, simulation_key, territory_key
from spmopt.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("territory", "quota", "simulation")
NONE: frozenset[str] = frozenset()
T, Q, S = frozenset({"territory"}), frozenset({"quota"}), frozenset({"simulation"})

READS: dict[str, frozenset[str]] = {
    # files, by the setting that names them
    "data.units": T | Q | S,
    "data.reps": T | Q | S,
    "data.geometry": T,
    "data.adjacency": T,
    "data.current_alignment": T,
    "territory.locks": T,
    "quota.history": Q,
    "quota.bounds": Q,
    "comp.plans": S,
    "comp.plan_year": S,
    "comp.quotas": S,
    "comp.crediting.hierarchy": S,
    "comp.transactions": NONE,  # comp evaluation is recomputed on every run, never cached
    "comp.crediting.overlays": NONE,
    "comp.crediting.splits": NONE,
    "simulation.behaviour": S,
    "coaching.prior": S,
    "coaching.history": S,
    "alignments": NONE,  # a candidate's own stages are keyed by its alignment's contents
    # settings
    "name": NONE,
    "description": NONE,
    "output": NONE,
    "seed": Q | S,
    "data": T,
    "territory": T,
    "quota.ramp": Q | S,
    "quota": Q,
    "comp": NONE,
    "simulation.workers": NONE,
    "simulation.scheduler": NONE,
    "simulation": S,
    "coaching": S,
}
ALIGNMENT = pd.Series(["T1", "T2"], index=pd.Index(["u1", "u2"], name="unit_id"), name="territory_id")
REPS_OF = {"T1": "R1", "T2": "R2"}
TABLE = pd.DataFrame({"territory_id": ["T1", "T2"], "annual_quota": [100, 200]})


def expected(path: str) -> frozenset[str]:
    """The stages reading `path`: the entry of its longest listed prefix."""
    parts = [p for p in path.split(".") if not p.isdigit()]
    for n in range(len(parts), 0, -1):
        key = ".".join(parts[:n])
        if key in READS:
            return READS[key]
    raise AssertionError(f"no READS entry covers {path}; add it")


def keys(cfg: ScenarioConfig) -> dict[str, str]:
    return {
        "territory": territory_key(cfg),
        "quota": quota_key(cfg, ALIGNMENT, REPS_OF),
        "simulation": simulation_key(cfg, ALIGNMENT, TABLE),
    }


def changed(before: dict[str, str], after: dict[str, str]) -> frozenset[str]:
    return frozenset(s for s in STAGES if before[s] != after[s])


@pytest.fixture(scope="module")
def demo_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """scenarios/ and models/ copied, so input files can be edited."""
    root = tmp_path_factory.mktemp("demo")
    shutil.copytree(ROOT / "scenarios", root / "scenarios")
    shutil.copytree(ROOT / "models", root / "models")
    return root / "scenarios" / "demo.yaml"


def named_files(model: object, prefix: str = "") -> list[tuple[str, Path]]:
    """(setting, file) for every file the scenario names."""
    if isinstance(model, Path):
        return [(prefix, model)]
    if isinstance(model, BaseModel):
        return [x for name, value in model for x in named_files(value, f"{prefix}.{name}".lstrip("."))]
    if isinstance(model, dict):
        return [x for k, v in model.items() for x in named_files(v, f"{prefix}.{k}")]
    if isinstance(model, tuple | list):
        return [x for i, v in enumerate(model) for x in named_files(v, f"{prefix}.{i}")]
    return []


def settings(model: BaseModel, prefix: str = "") -> list[tuple[str, BaseModel]]:
    """(setting, the scenario with that one value changed) for every leaf setting that is not a file."""
    out = []
    for name, value in model:
        path = f"{prefix}.{name}".lstrip(".")
        if isinstance(value, BaseModel):
            out += [(p, model.model_copy(update={name: v})) for p, v in settings(value, path)]
        elif isinstance(value, tuple) and value and all(isinstance(v, BaseModel) for v in value):
            for i, item in enumerate(value):
                for p, v in settings(item, f"{path}.{i}"):
                    out.append((p, model.model_copy(update={name: (*value[:i], v, *value[i + 1 :])})))
        else:
            other = _other(value)
            if other is not _SKIP:
                out.append((path, model.model_copy(update={name: other})))
    return out


_SKIP = object()


def _other(value: object) -> object:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value * 1.5 + 0.01
    if isinstance(value, str):
        return value + "_x"
    if isinstance(value, tuple) and value and isinstance(value[0], int | float):
        return (value[0] + 0.01, *value[1:])
    if isinstance(value, dict) and value and all(isinstance(v, int | float) for v in value.values()):
        first = next(iter(value))
        return {**value, first: value[first] + 0.01}
    return _SKIP  # files (changed by content instead), unset optional settings, empty collections


def test_every_file_changes_exactly_the_stages_that_read_it(demo_copy: Path) -> None:
    cfg = load_scenario(demo_copy)
    files: dict[Path, set[str]] = {}
    for setting, path in named_files(cfg):
        if setting.startswith("output."):
            continue
        files.setdefault(path.resolve(), set()).add(setting)
    assert len(files) >= 15, sorted(map(str, files))
    base = keys(cfg)
    pairs = 0
    for path, named_by in files.items():
        original = path.read_bytes()
        path.write_bytes(_one_byte_changed(original))
        try:
            want = frozenset().union(*(expected(s) for s in named_by))
            assert changed(base, keys(cfg)) == want, f"{sorted(named_by)} ({path.name})"
        finally:
            path.write_bytes(original)
        pairs += len(STAGES)
    assert keys(cfg) == base
    assert pairs >= 45


def test_every_setting_changes_exactly_the_stages_that_read_it(demo_copy: Path) -> None:
    cfg = load_scenario(demo_copy)
    base = keys(cfg)
    swept = settings(cfg)
    assert len(swept) >= 40, [p for p, _ in swept]
    for path, variant in swept:
        assert changed(base, keys(variant)) == expected(path), path


def _one_byte_changed(data: bytes) -> bytes:
    """The last digit (else the last letter) replaced by another one."""
    at = max((i for i, b in enumerate(data) if chr(b).isdigit()), default=None)
    if at is None:
        at = max(i for i, b in enumerate(data) if chr(b).isalpha())
    out = bytearray(data)
    out[at] = (
        ord("2") if chr(data[at]) == "1" else ord("1") if chr(data[at]).isdigit() else ord(chr(data[at]).swapcase())
    )
    return bytes(out)


# ------------------------------------------------------------------ cached reruns equal fresh runs (end to end)

FAST = [
    "territory.contiguity=false",
    "territory.solver.time_limit=10",
    "territory.solver.mip_gap=0.02",
    "simulation.replications=2",
    "simulation.workers=1",
    "alignments={}",
]


def _edit_csv(path: Path, row: str, column: str, value) -> None:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    key = frame.columns[0]
    hit = frame[key].str.startswith(row)
    assert hit.sum() == 1, row
    frame.loc[hit, column] = str(value)
    frame.to_csv(path, index=False)


def _scale_csv(path: Path, column: str, factor: int) -> None:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame[column] = (pd.to_numeric(frame[column]) * factor).astype(str)
    frame.to_csv(path, index=False)


@pytest.fixture(scope="module")
def warm_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo and a cache filled by one run of it."""
    root = tmp_path_factory.mktemp("warm")
    shutil.copytree(ROOT / "scenarios", root / "scenarios")
    shutil.copytree(ROOT / "models", root / "models")
    run_scenario(load_scenario(root / "scenarios" / "demo.yaml", FAST), cache=StageCache(root / "cache"))
    return root


@pytest.mark.slow
@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda d: _edit_csv(d / "reps.csv", "R03", "start_month", 4), id="start-month"),
        pytest.param(lambda d: _edit_csv(d / "units.csv", "13001", "potential", 1_000_000), id="one-potential"),
        pytest.param(lambda d: _scale_csv(d / "units.csv", "accounts", 20), id="accounts-x20"),
    ],
)
def test_cached_rerun_after_an_edit_equals_a_fresh_run(warm_cache: Path, tmp_path: Path, edit) -> None:
    shutil.copytree(warm_cache, tmp_path / "run")
    path = tmp_path / "run" / "scenarios" / "demo.yaml"
    edit(path.parent / "demo")
    cfg = load_scenario(path, FAST)
    # The fresh run (no cache) plays in a second process meanwhile, on another core: the two runs share nothing.
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        fresh_run = pool.submit(run_scenario, cfg)
        cached = run_scenario(cfg, cache=StageCache(tmp_path / "run" / "cache"))
        fresh = fresh_run.result()
    assert not [s.stage for s in cached.stages if s.cached]  # each edit reaches every stage
    pd.testing.assert_frame_equal(cached.territory.alignment, fresh.territory.alignment)
    pd.testing.assert_frame_equal(cached.quota.table, fresh.quota.table)
    pd.testing.assert_frame_equal(cached.decision, fresh.decision)


def test_a_new_offline_zip_data_version_redesigns_zip_located_territories(
    demo_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Units located from the offline ZIP data move when that data changes: the territory key says so; units with
    their own coordinates do not depend on it."""
    import spmopt.pipeline as pipeline

    cfg = load_scenario(demo_copy, ())
    zipped = load_scenario(demo_copy, ["data.locations_from=zip"])
    before = (territory_key(cfg), territory_key(zipped))
    monkeypatch.setattr(pipeline, "package_versions", lambda: {"zipcodes": "999.0"})
    assert territory_key(cfg) == before[0]
    assert territory_key(zipped) != before[1]
