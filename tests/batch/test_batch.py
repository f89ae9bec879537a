"""`spmopt batch`: many scenarios on Dask, failures isolated, unchanged ones skipped, interrupted batches resumed,
and a comparison whose figures are the scenarios' own output files.

The scenarios are tiny variants of the demo (no contiguity, a loose MIP gap, 2 replications or no simulation) so
each runs in a few seconds; one batch on a real two-worker LocalCluster is shared by the tests that read it.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from cli_helpers import assert_clean_failure
from typer.testing import CliRunner, Result

from spmopt.batch.runner import BatchOptions, input_hashes, load_for_batch, plan_batch
from spmopt.cli import app
from spmopt.manifest import read_manifest

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "scenarios" / "demo.yaml"
FAST = {"territory": {"contiguity": False, "solver": {"time_limit": 5, "mip_gap": 0.02}}}
NO_SIM = {"simulation": None, "coaching": None}
ALIGNMENTS = ["--set", "alignments={}"]  # a mapping cannot be emptied through extends:, only by an override


def write_scenario(folder: Path, name: str, file: str | None = None, **sections: object) -> Path:
    """A scenario extending the demo: FAST, then `sections` (one level deep merge, as extends: does)."""
    body: dict[str, object] = {"extends": str(DEMO), "name": name}
    for source in (FAST, sections):
        for key, value in source.items():
            if isinstance(value, dict) and isinstance(body.get(key), dict):
                body[key] = {**body[key], **value}
            else:
                body[key] = value
    path = folder / (file or f"{name}.yaml")
    path.write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
    return path


def batch(*args: str | Path) -> Result:
    return CliRunner().invoke(app, ["batch", *map(str, args)])


def ledger(out: Path) -> dict[str, dict]:
    return {s["name"]: s for s in json.loads((out / "batch.json").read_text(encoding="utf-8"))["scenarios"]}


def fingerprint(folder: Path) -> tuple[int, str]:
    """mtime and content of a scenario folder's manifest: unchanged means the folder was not rewritten."""
    path = folder / "manifest.json"
    return path.stat().st_mtime_ns, path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def first_batch(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result]:
    """Two good scenarios and two broken ones (a missing units file, found while running; a tolerance out of
    range, found while loading) on a real two-worker cluster."""
    root = tmp_path_factory.mktemp("batch")
    files = [
        write_scenario(root, "sim", simulation={"replications": 2}),
        write_scenario(root, "plain", **NO_SIM),
        write_scenario(root, "missing_units", data={"units": "nowhere/units.csv"}, **NO_SIM),
        write_scenario(
            root, "bad_tolerance", territory={"balance": [{"measure": "potential", "tolerance": 2}]}, **NO_SIM
        ),
    ]
    result = batch(*files, "--out", root / "out", "--workers", 2, *ALIGNMENTS)
    return root, result


@pytest.mark.slow
def test_failures_are_reported_and_the_others_complete(first_batch: tuple[Path, Result]) -> None:
    root, result = first_batch
    out = root / "out"
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    entries = ledger(out)
    assert {n: e["status"] for n, e in entries.items()} == {
        "sim": "done",
        "plain": "done",
        "missing_units": "failed",
        "bad_tolerance": "failed",
    }
    missing, bad = entries["missing_units"], entries["bad_tolerance"]
    assert missing["error"] == f"{root / 'nowhere' / 'units.csv'}: units file not found"
    assert missing["error_type"] == "DataError"
    assert missing["worker"].startswith("tcp://")  # failed inside a Dask task, not before
    assert "Traceback (most recent call last)" in missing["traceback"]
    assert bad["error_type"] == "ConfigError"
    assert "territory.balance[0].tolerance" in bad["error"]
    assert bad["worker"] is None  # refused while loading, never sent to a worker
    for message in (missing["error"], "territory.balance[0].tolerance"):
        assert message in result.output
    facts = json.loads((out / "batch.json").read_text(encoding="utf-8"))["batch"]
    assert facts["executor"]["kind"] == "dask"
    assert facts["executor"]["workers"] == 2
    assert facts["counts"] == {"done": 2, "skipped": 0, "failed": 2, "pending": 0}
    assert all(entries[n]["worker"].startswith("tcp://") for n in ("sim", "plain"))
    assert not (out / "missing_units").exists()
    assert not (out / "bad_tolerance").exists()
    assert not [p.name for p in out.iterdir() if p.name.startswith(".") and p.name != ".spmopt-cache"]


@pytest.mark.slow
def test_run_key_files_are_the_manifests_inputs(first_batch: tuple[Path, Result]) -> None:
    """The skip check hashes exactly the files the run's manifest lists, without loading any data."""
    root, _ = first_batch
    manifest = read_manifest(root / "out" / "sim")
    cfg = load_for_batch(root / "sim.yaml", ["alignments={}"])
    assert input_hashes(cfg) == manifest.inputs
    assert cfg.simulation.workers == 1
    assert cfg.simulation.scheduler is None
    assert cfg.territory.solver.threads == 1
    assert cfg.quota.solver.threads == 1


@pytest.mark.slow
def test_comparison_rows_are_the_scenarios_output_files(first_batch: tuple[Path, Result]) -> None:
    root, _ = first_batch
    out = root / "out"
    table = pd.read_csv(out / "comparison.csv")
    assert list(table["scenario"]) == ["sim", "plain", "missing_units", "bad_tolerance"]
    rows = table.set_index("scenario")
    for name in ("sim", "plain"):
        row, folder = rows.loc[name], out / name
        territories = pd.read_csv(folder / "territories.csv")
        for measure in ("potential", "workload"):
            assert row[f"{measure}_max_abs_dev_pct"] == territories[f"{measure}_dev_pct"].abs().max()
        assert row["quota_total"] == pd.read_csv(folder / "quotas.csv")["annual_quota"].sum()
        territory = read_manifest(folder).stage("territory")
        assert territory is not None
        assert row["territory_status"] == territory.status
        assert row["territory_gap"] == territory.gap
        assert row["report"] == f"{name}/report.html"
    decision = pd.read_csv(out / "sim" / "decision.csv")
    best = decision[decision["best"]].iloc[0]
    sim = rows.loc["sim"]
    assert sim["best_candidate"] == best["candidate"]
    for column in ("payout", "revenue", "margin_after_pay", "margin_after_pay_ci_low", "margin_after_pay_ci_high"):
        assert sim[column] == best[column], column
    for column in ("cost_of_sales_pct", "share_at_quota", "coaching_return_on_cost"):
        assert sim[column] == best[column], column
    assert bool(sim["best"])
    assert not rows.loc[["plain", "missing_units", "bad_tolerance"], "best"].any()
    comp = pd.read_csv(out / "plain" / "comp_summary.csv").set_index("plan")
    for plan in comp.index:  # no simulation: each plan's actual cost instead (comp_summary keeps cents)
        assert rows.loc["plain", f"comp_cost_{plan}"] == comp.loc[plan, "total_cost"] / 100
    assert pd.isna(rows.loc["plain", "margin_after_pay"])
    assert rows.loc["missing_units", "status"] == "failed"
    assert pd.isna(rows.loc["missing_units", "quota_total"])
    assert rows.loc["missing_units", "error"].endswith("units file not found")


@pytest.mark.slow
def test_comparison_page_is_self_contained(first_batch: tuple[Path, Result]) -> None:
    root, _ = first_batch
    page = (root / "out" / "comparison.html").read_text(encoding="utf-8")
    assert page.count('class="best"') == 1
    assert '<tr class="best">\n      <td class="text"><a href="sim/report.html">sim</a>' in page
    assert 'id="failures"' in page
    assert "units file not found" in page
    assert "tolerance" in page
    assert "<script" not in page
    assert 'src="http' not in page
    assert 'href="http' not in page
    assert "<link" not in page
    assert "<svg" in page  # the margin chart, inline


@pytest.mark.slow
def test_rerun_skips_unchanged_reruns_changed_and_resumes(first_batch: tuple[Path, Result], tmp_path: Path) -> None:
    """On a copy of the first batch: nothing changed -> all skipped, folders untouched, no cluster; one scenario
    edited -> only it runs (its territory design from the shared cache); a folder lost (an interrupted batch)
    -> only it runs."""
    shutil.copytree(first_batch[0], tmp_path, dirs_exist_ok=True)
    out, files = tmp_path / "out", [tmp_path / "sim.yaml", tmp_path / "plain.yaml"]
    before = {n: fingerprint(out / n) for n in ("sim", "plain")}

    result = batch(*files, "--out", out, "--workers", 2, *ALIGNMENTS)
    assert result.exit_code == 0, result.output
    assert {n: e["status"] for n, e in ledger(out).items()} == {"sim": "skipped", "plain": "skipped"}
    assert {n: fingerprint(out / n) for n in before} == before
    assert json.loads((out / "batch.json").read_text(encoding="utf-8"))["batch"]["executor"]["kind"] == "none"
    assert list(pd.read_csv(out / "comparison.csv")["status"]) == ["skipped", "skipped"]

    write_scenario(tmp_path, "plain", quota={"attainment": {"target_share": 0.55}}, **NO_SIM)
    result = batch(*files, "--out", out, "--workers", 1, *ALIGNMENTS)
    assert result.exit_code == 0, result.output
    assert {n: e["status"] for n, e in ledger(out).items()} == {"sim": "skipped", "plain": "done"}
    assert fingerprint(out / "sim") == before["sim"]
    stages = read_manifest(out / "plain").stages
    assert next(s for s in stages if s.stage == "territory").cached is True

    shutil.rmtree(out / "plain")
    result = batch(*files, "--out", out, "--workers", 1, *ALIGNMENTS)
    assert result.exit_code == 0, result.output
    assert {n: e["status"] for n, e in ledger(out).items()} == {"sim": "skipped", "plain": "done"}
    assert fingerprint(out / "sim") == before["sim"]
    assert (out / "plain" / "quotas.csv").is_file()

    result = batch(files[1], "--out", out, "--workers", 1, "--fresh", *ALIGNMENTS)
    assert result.exit_code == 0, result.output
    assert ledger(out)["plain"]["status"] == "done"
    stages = read_manifest(out / "plain").stages
    assert not any(s.cached for s in stages)  # --fresh recomputes every stage too


def test_scenarios_sharing_a_territory_design_are_queued_after_the_first(tmp_path: Path) -> None:
    """So the shared cache serves the design instead of two tasks solving it at once."""
    files = [
        write_scenario(tmp_path, "a", **NO_SIM),
        write_scenario(tmp_path, "b", quota={"attainment": {"target_share": 0.5}}, **NO_SIM),  # a's design
        write_scenario(tmp_path, "c", territory={"solver": {"mip_gap": 0.03}}, **NO_SIM),
    ]
    plan = plan_batch(files, BatchOptions(tmp_path / "out", overrides=("alignments={}",)))
    assert [t.name for t in plan.tasks] == ["a", "c", "b"]
    assert [o.name for o in plan.outcomes] == ["a", "b", "c"]  # the ledger keeps command-line order
    assert not (tmp_path / "out").exists()  # planning writes nothing


def test_duplicate_names_are_refused(tmp_path: Path) -> None:
    one = write_scenario(tmp_path, "same", "one.yaml", **NO_SIM)
    two = write_scenario(tmp_path, "same", "two.yaml", **NO_SIM)
    result = batch(one, two, "--out", tmp_path / "out", *ALIGNMENTS)
    assert_clean_failure(result, tmp_path, str(one), str(two), "'same'")


def test_malformed_override_is_refused_once(tmp_path: Path) -> None:
    one = write_scenario(tmp_path, "one", **NO_SIM)
    result = batch(one, "--out", tmp_path / "out", "--set", "territory.contiguity")
    assert_clean_failure(result, tmp_path, "territory.contiguity", "key.path=value")


@pytest.mark.slow
def test_benchmark_compares_serial_and_batch_runs(tmp_path: Path) -> None:
    """Two variants of the sweep, made tiny: both runs complete, and outputs agree where they must."""
    from spmopt_bench.batch import batch_benchmark

    fast = ["territory.solver.time_limit=5", "territory.solver.mip_gap=0.05", "simulation=null", "coaching=null"]
    facts = batch_benchmark(scenarios=2, workers=2, overrides=fast, folder=tmp_path)
    assert facts["serial_failed"] == 0, facts["per_scenario"]
    assert facts["batch_failed"] == 0, facts["per_scenario"]
    assert facts["batch_executor"]["kind"] == "dask"
    # The serial run plays the scenarios one after another in this process, so its wall time covers theirs; the batch
    # cannot end before its longest scenario (every figure rounded to 0.01 s).
    rows = facts["per_scenario"]
    assert facts["serial_wall_seconds"] >= sum(r["serial_seconds"] for r in rows) - 0.01 * len(rows), rows
    assert facts["batch_wall_seconds"] >= max(r["batch_seconds"] for r in rows) - 0.01, rows
    agreement = facts["agreement"]
    assert not agreement["differ_unexpected"], agreement
    # Quotas follow from the alignment: identical in exactly as many scenarios as the two runs' designs are (whether
    # or not both designs were proven optimal within the time limit).
    same = agreement["identical_per_file"]
    assert same["quotas.csv"] == same["alignment.csv"], agreement
    assert [r["name"] for r in facts["per_scenario"]] == ["sweep_000", "sweep_001"]
    assert len(facts["load_average_start"]) == 3
    assert facts["machine"]["cores"] == os.cpu_count()
