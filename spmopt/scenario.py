"""Load a scenario YAML into a validated `ScenarioConfig`: `extends:`, dotted overrides, path resolution.

Errors name the file, the key path and (where the YAML has it) the line, so a planner can fix the
scenario without reading a traceback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from spmopt.config import ScenarioConfig, path_keys
from spmopt.errors import ConfigError

ModelT = TypeVar("ModelT", bound=BaseModel)

# Keys holding file paths (read from the schema); they resolve against the folder of the YAML file that sets them.
_PATH_KEYS = path_keys()


def load_scenario(path: str | Path, overrides: Sequence[str] = ()) -> ScenarioConfig:
    """Read, merge (`extends:`), override (`key.path=value`) and validate one scenario file."""
    path = Path(path)
    raw = _read_with_extends(path, chain=())
    for item in overrides:
        _apply_override(raw, item, path)
    try:
        return ScenarioConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, path)) from None


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key repeated in one mapping (YAML would silently keep the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key '{key}' appears twice (first on line {seen[key]})", key_node.start_mark
                )
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def load_yaml_model(
    path: str | Path, model: type[ModelT], what: str, context: Callable[[dict], dict] | None = None
) -> ModelT:
    """Read one YAML file (no `extends:`) into a pydantic model, with file/key/line errors; `context` derives
    a validation context from the raw mapping (e.g. names that nested validators check against)."""
    path = Path(path)
    raw, _ = _read_yaml(path, what)
    try:
        return model.model_validate(raw, context=context(raw) if context else None)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, path, what)) from None


def _read_yaml(path: Path, what: str = "scenario") -> tuple[dict[str, Any], yaml.Node | None]:
    if not path.is_file():
        raise ConfigError(f"{path}: {what} file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: {what} file is not UTF-8 text (byte {exc.start + 1}); save it as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {what} file: {exc.strerror or exc}") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ConfigError(f"{path}{where}: YAML syntax error: {exc.problem}") from None
    except yaml.YAMLError as exc:  # e.g. a control character the reader refuses before parsing
        raise ConfigError(f"{path}: YAML error: {str(exc).splitlines()[0]}") from None
    except ValueError as exc:  # a scalar YAML reads as an impossible date, e.g. 2027-13-45
        raise ConfigError(f"{path}: YAML value error: {exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a {what} must be a mapping of keys, got {type(data).__name__}")
    return data, node


def _read_with_extends(path: Path, chain: tuple[Path, ...]) -> dict[str, Any]:
    try:
        resolved = path.resolve()
    except (RuntimeError, OSError):  # a symlink loop (RuntimeError before Python 3.13)
        raise ConfigError(f"{path}: scenario file is a symbolic link that loops back on itself") from None
    if resolved in chain:
        loop = " -> ".join(str(p) for p in (*chain, resolved))
        raise ConfigError(f"{path}: 'extends' forms a loop: {loop}")
    data, _ = _read_yaml(path)
    _resolve_paths(data, path.parent)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise ConfigError(f"{path}: extends: must be the path of another scenario file")
    base = _read_with_extends(path.parent / parent, (*chain, resolved))
    return _deep_merge(base, data)


def _resolve_paths(data: dict[str, Any], base_dir: Path) -> None:
    for *sections, key in _PATH_KEYS:
        block = data
        for section in sections:
            block = block.get(section) if isinstance(block, dict) else None
        if not isinstance(block, dict):
            continue
        value = block.get(key)
        if isinstance(value, str):
            block[key] = str((base_dir / value).resolve())
        elif isinstance(value, list):
            block[key] = [str((base_dir / v).resolve()) if isinstance(v, str) else v for v in value]
        elif isinstance(value, dict) and (*sections, key) == ("alignments",):
            block[key] = {k: str((base_dir / v).resolve()) if isinstance(v, str) else v for k, v in value.items()}


def _deep_merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _apply_override(raw: dict[str, Any], item: str, path: Path) -> None:
    key, sep, text = item.partition("=")
    if not sep or not key:
        raise ConfigError(f"override {item!r}: expected key.path=value")
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"override {item!r}: the value is not valid YAML ({problem}); quote text values") from None
    parts = key.split(".")
    if any(not part.strip() for part in parts):
        raise ConfigError(f"override {item!r}: empty section name in {key!r}")
    node = raw
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"override {item!r}: {part} is not a section")
        node = child
    if tuple(parts) in _PATH_KEYS and isinstance(value, str):
        value = str(Path(value).resolve())  # overrides come from the command line: relative to cwd
    node[parts[-1]] = value


def _format_validation_error(exc: ValidationError, path: Path, what: str = "scenario") -> str:
    try:
        _, root = _read_yaml(path, what)
    except ConfigError:
        root = None
    lines = []
    errors = exc.errors()
    for err in errors:
        loc = tuple(p for p in err["loc"] if p not in ("function-after",))
        if err["type"] == "too_short" and any(
            len(e["loc"]) > len(err["loc"]) and e["loc"][: len(loc)] == loc for e in errors
        ):
            continue  # a container is only "too short" because an item inside it failed: report the item
        key = _loc_to_text(loc) or "(top level)"
        line = _line_of(root, loc)
        where = f" (line {line})" if line else ""
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = f"unknown key (check the spelling; see the {what} reference in README.md)"
        elif err["type"] == "missing":
            msg = "required key is missing"
        lines.append(f"  {key}{where}: {msg}")
    return f"{path}: invalid {what}\n" + "\n".join(lines)


def _loc_to_text(loc: Iterable[str | int]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _line_of(node: yaml.Node | None, loc: tuple[str | int, ...]) -> int | None:
    """1-based line of the deepest YAML node on `loc` (None when the key is not in this file)."""
    found = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((kv for kv in node.value if kv[0].value == part), None)
            if match is None:
                break
            found = match[0].start_mark.line + 1
            node = match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            found = node.start_mark.line + 1
        else:
            break
    return found
