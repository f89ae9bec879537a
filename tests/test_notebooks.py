"""The notebooks in notebooks/ are stored clean and use only spmopt's public API.

Executing them is nbmake's job: `pytest --full` collects notebooks/*.ipynb (pyproject: testpaths and --nbmake) and
runs each one top to bottom in a fresh kernel, with the notebook's folder as the working directory (the fast default
run, plain `pytest`, deselects them: tests/conftest.py marks them slow).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

import spmopt

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
PUBLIC = frozenset(spmopt.__all__)


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _code_cells(notebook: dict) -> list[str]:
    return [
        "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        for c in notebook["cells"]
        if c["cell_type"] == "code"
    ]


def _python(source: str) -> str:
    """A code cell as plain Python: IPython magics and shell escapes (`%...`, `!...`) become blank lines."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def private_uses(source: str) -> list[str]:
    """Every use of spmopt beyond its public API in one code cell: submodule imports, and `spmopt.<name>` (under
    any alias of the package) where name is not in `spmopt.__all__`."""
    tree = ast.parse(_python(source))
    aliases = {"spmopt"}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "spmopt":
                    aliases.add(alias.asname or "spmopt")
                elif alias.name.startswith("spmopt."):
                    found.append(f"line {node.lineno}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            if node.module.startswith("spmopt."):
                found.append(f"line {node.lineno}: from {node.module} import ...")
            elif node.module == "spmopt":
                found += [
                    f"line {node.lineno}: from spmopt import {a.name}" for a in node.names if a.name not in PUBLIC
                ]
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and node.attr not in PUBLIC
        ):
            found.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
    return found


def test_there_are_notebooks() -> None:
    assert len(NOTEBOOKS) >= 4, f"expected the project's notebooks in {NOTEBOOK_DIR}, found {NOTEBOOKS}"
    assert not list(NOTEBOOK_DIR.glob("*.py")), "notebooks are .ipynb files; a stray script in notebooks/ runs nowhere"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_without_outputs(path: Path) -> None:
    notebook = _read(path)
    assert notebook["nbformat"] == 4
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"
    dirty = [
        n
        for n, cell in enumerate(notebook["cells"])
        if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)
    ]
    assert not dirty, f"{path.name}: code cells {dirty} carry outputs or execution counts; clear them before saving"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_uses_public_api_only(path: Path) -> None:
    problems = [f"cell {n}, {use}" for n, source in enumerate(_code_cells(_read(path))) for use in private_uses(source)]
    assert not problems, f"{path.name} reaches past spmopt's public API (spmopt.__all__): {problems}"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import spmopt\nspmopt.load_scenario('x.yaml')", []),
        ("import spmopt\nspmopt.design_territories(cfg, data)", ["line 2: spmopt.design_territories"]),
        ("import spmopt as sp\nsp.pipeline.run_scenario(cfg)", ["line 2: sp.pipeline"]),
        ("from spmopt.comp.kpi import payout_curves", ["line 1: from spmopt.comp.kpi import ..."]),
        ("import spmopt.sim.run", ["line 1: import spmopt.sim.run"]),
        ("from spmopt import run_scenario, pipeline", ["line 1: from spmopt import pipeline"]),
        ("%matplotlib inline\nimport spmopt\nx = spmopt.__version__", []),
    ],
)
def test_public_api_check_catches_private_uses(source: str, expected: list[str]) -> None:
    assert private_uses(source) == expected
