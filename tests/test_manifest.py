"""The manifest is a typed contract: what the run writes, the report and the batch read back through the same
model; the shipped JSON schema is the model's; an older or damaged manifest is refused
with a message that says which, and the batch reruns such a folder instead of trusting it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spmopt import schema_doc
from spmopt.errors import SpmoptError
from spmopt.manifest import SCHEMA_VERSION, DataFacts, Manifest, StageRecord, read_manifest
from spmopt.quota.plan import DispersionFacts, QuotaFacts
from spmopt.territory.design import TerritoryFacts


def territory() -> TerritoryFacts:
    return TerritoryFacts(
        status="optimal",
        termination="optimal",
        objective=10.0,
        bound=10.0,
        gap=0.0,
        method="rooted",
        units=3,
        territories=2,
        compactness=10.0,
        method_details={"rounds": 2, "cuts": [1, 2]},
    )


def quota() -> QuotaFacts:
    return QuotaFacts(
        method="equal_difficulty",
        basis="potential",
        target=1000,
        quota_total=1000,
        over_assignment_pct=0.0,
        granularity=1,
        forecast_total=1000,
        dispersion=DispersionFacts(sigma=0.2, source="given", territories=0),
        predicted_share_at_quota=0.6,
        monte_carlo_share_at_quota=0.6,
        monte_carlo_ci95_half_width=0.01,
        monte_carlo_draws=100,
        index_min=1.0,
        index_max=1.0,
        equal_difficulty_level=1.0,
        max_rounding_error_pct=0.0,
        territories_at_bound=0,
        allocations_solved=1,
        solves=[],
        solve_seconds_total=0.0,
    )


def manifest() -> Manifest:
    return Manifest(
        command="run",
        scenario="s",
        created_utc="2027-01-01T00:00:00+00:00",
        versions={"spmopt": "1"},
        inputs={"units.csv": "ab"},
        stages=[
            StageRecord(facts=DataFacts(units=3, measures=["potential"], adjacency_edges=2), seconds=0.1),
            StageRecord(facts=territory(), seconds=1.0),
            StageRecord(facts=quota(), seconds=0.2),
            StageRecord(facts=quota(), alignment="current", seconds=0.0, cached=True, cache_key="k"),
        ],
    )


def test_a_manifest_reads_back_as_written(tmp_path: Path) -> None:
    written = manifest()
    (tmp_path / "manifest.json").write_text(json.dumps(written.model_dump(mode="json")), encoding="utf-8")
    read = read_manifest(tmp_path)
    assert read == written
    # Stages come back as their own types, told apart by their `stage`.
    assert isinstance(read.stage("territory"), TerritoryFacts)
    assert read.stage("territory").method_details == {"rounds": 2, "cuts": [1, 2]}
    assert read.stage("quota", "current") is not None
    assert read.stage("quota", "elsewhere") is None
    assert read.stages[3].cached is True


def test_a_manifest_from_another_schema_version_is_refused_by_name(tmp_path: Path) -> None:
    data = manifest().model_dump(mode="json")
    data["schema_version"] = SCHEMA_VERSION + 1
    (tmp_path / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    expected = f"manifest schema {SCHEMA_VERSION + 1}; this one reads schema {SCHEMA_VERSION}"
    with pytest.raises(SpmoptError, match=expected):
        read_manifest(tmp_path)


def test_a_damaged_manifest_names_the_field(tmp_path: Path) -> None:
    data = manifest().model_dump(mode="json")
    data["stages"][1]["facts"]["units"] = "many"
    (tmp_path / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(SpmoptError, match=r"stages\.1\.facts\.territory\.units"):
        read_manifest(tmp_path)


def test_a_field_the_model_does_not_know_is_an_error(tmp_path: Path) -> None:
    data = manifest().model_dump(mode="json")
    data["stages"][2]["facts"]["quota_totl"] = 5
    (tmp_path / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(SpmoptError, match="quota_totl"):
        read_manifest(tmp_path)


def test_a_folder_without_a_manifest_is_not_an_output_folder(tmp_path: Path) -> None:
    with pytest.raises(SpmoptError, match="no manifest.json"):
        read_manifest(tmp_path)


def test_shipped_manifest_schema_is_the_models() -> None:
    assert schema_doc.MANIFEST_SCHEMA.read_text(encoding="utf-8") == schema_doc.manifest_schema(), (
        "run python -m spmopt.schema_doc"
    )
    schema = json.loads(schema_doc.manifest_schema())
    # Every stage's facts are in the schema, discriminated by `stage`.
    stages = {"DataFacts", "TerritoryFacts", "QuotaFacts", "CompFacts", "CoachingFacts", "SimulationFacts"}
    assert stages <= set(schema["$defs"])


def test_a_manifest_from_before_versioning_is_named_as_such(tmp_path: Path) -> None:
    data = manifest().model_dump(mode="json")
    del data["schema_version"]
    (tmp_path / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(SpmoptError, match=r"written by another version of spmopt \(an older spmopt"):
        read_manifest(tmp_path)


def test_a_manifest_that_is_not_json_says_so(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text('{"schema_version": 1, "command": ', encoding="utf-8")
    with pytest.raises(SpmoptError, match="not a valid manifest: not JSON"):
        read_manifest(tmp_path)
