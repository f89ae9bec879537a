"""The scenario reference, rendered from the schema: every key with its type, default and the field's docstring;
and the JSON schemas of the scenario and of the manifest a run writes.

`python -m spmopt.schema_doc` rewrites `docs/scenario-reference.md`, `models/scenario.schema.json` and
`models/manifest.schema.json`; a test keeps them equal to what the code says, so they cannot drift.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from spmopt.config import ScenarioConfig, kinds

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "docs" / "scenario-reference.md"
SCHEMA = ROOT / "models" / "scenario.schema.json"
MANIFEST_SCHEMA = ROOT / "models" / "manifest.schema.json"


def json_schema() -> str:
    """The scenario's JSON schema (field docstrings as descriptions), as stable text."""
    return json.dumps(ScenarioConfig.model_json_schema(), indent=2, sort_keys=True) + "\n"


def manifest_schema() -> str:
    """The manifest's JSON schema (`spmopt.manifest.Manifest`), as stable text."""
    from spmopt.manifest import Manifest

    return json.dumps(Manifest.model_json_schema(), indent=2, sort_keys=True) + "\n"


def reference() -> str:
    """Markdown: one table per section, a row per key."""
    lines = [
        "# Scenario reference",
        "",
        "Generated from spmopt's schema (`python -m spmopt.schema_doc`); every key a scenario YAML may hold, with",
        "its type, default and meaning. Unknown keys are errors. Paths are relative to the file that names them.",
        "",
    ]
    for title, rows in _sections(ScenarioConfig, ()):
        lines += [f"## `{title}`" if title else "## Top level", "", "| key | type | default | meaning |"]
        lines.append("|---|---|---|---|")
        lines += [f"| `{key}` | {kind} | {default} | {text} |" for key, kind, default, text in rows]
        lines.append("")
    return "\n".join(lines)


def _sections(model: type[BaseModel], prefix: tuple[str, ...]) -> list[tuple[str, list[tuple[str, ...]]]]:
    rows: list[tuple[str, ...]] = []
    nested: list[tuple[str, list[tuple[str, ...]]]] = []
    for name, info in model.model_fields.items():
        found = kinds(info.annotation)
        models = [k for k in found if isinstance(k, type) and issubclass(k, BaseModel)]
        rows.append((name, _type_text(info.annotation), _default_text(info), _one_line(info.description)))
        for sub in models:
            nested += _sections(sub, (*prefix, name))
    return [(".".join(prefix), rows), *nested]


def _type_text(annotation: Any) -> str:
    text = str(annotation).replace("typing.", "").replace("pathlib.", "").replace("spmopt.config.", "")
    text = text.replace("<class '", "").replace("'>", "").replace("NoneType", "None")
    return text.replace("|", "\\|")


def _default_text(info: Any) -> str:
    if info.is_required():
        return "required"
    if info.default_factory is not None:
        return "(empty)"
    value = info.default
    if value is PydanticUndefined:
        return ""
    if isinstance(value, BaseModel):
        return "(section defaults)"
    return f"`{value!r}`".replace("|", "\\|")


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split()).replace("|", "\\|")


def main() -> None:
    REFERENCE.parent.mkdir(parents=True, exist_ok=True)
    REFERENCE.write_text(reference(), encoding="utf-8")
    SCHEMA.write_text(json_schema(), encoding="utf-8")
    MANIFEST_SCHEMA.write_text(manifest_schema(), encoding="utf-8")
    sys.stdout.write(f"wrote {REFERENCE}, {SCHEMA} and {MANIFEST_SCHEMA}\n")


if __name__ == "__main__":
    main()
