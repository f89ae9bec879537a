"""The schema documents itself: every scenario key has a description, and the generated reference and JSON
schema shipped in the repository are what the schema says now (`python -m spmopt.schema_doc` rewrites them)."""

from __future__ import annotations

from pydantic import BaseModel

from spmopt import schema_doc
from spmopt.config import ScenarioConfig, kinds


def undocumented(model: type[BaseModel], prefix: str = "") -> list[str]:
    out = []
    for name, info in model.model_fields.items():
        if not (info.description or "").strip():
            out.append(prefix + name)
        for kind in kinds(info.annotation):
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                out += undocumented(kind, f"{prefix}{name}.")
    return out


def test_every_scenario_key_is_documented() -> None:
    assert undocumented(ScenarioConfig) == []


def test_shipped_reference_is_generated_from_the_schema() -> None:
    assert schema_doc.REFERENCE.read_text(encoding="utf-8") == schema_doc.reference(), "run python -m spmopt.schema_doc"
    assert schema_doc.SCHEMA.read_text(encoding="utf-8") == schema_doc.json_schema(), "run python -m spmopt.schema_doc"


def test_reference_lists_every_key() -> None:
    text = schema_doc.reference()
    for key in ("`granularity`", "`opportunity_cost`", "`node_limit`", "`islands`", "`hierarchy`"):
        assert key in text
