"""Shared builders for tests that read small instances from disk: text and CSV files, and the 3x3 grid scenario
(units, rook adjacency, scenario YAML) that the command-line and input tests run."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import yaml

GRID = [f"u{r}{c}" for r in range(3) for c in range(3)]
"""Units u00..u22, row-major; u{r}{c} sits at x = c km, y = r km and is CSV line GRID.index(id) + 2."""
UNITS_HEADER = ("unit_id", "x", "y", "potential", "workload")

Rows = list[list[object]]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def write_csv(path: Path, header: Sequence[str], rows: Rows) -> Path:
    lines = [",".join(header)] + [",".join("" if v is None else str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def line_of(path: Path, needle: str) -> int:
    """1-based line of the first line of `path` containing `needle`."""
    return next(n for n, line in enumerate(path.read_text().splitlines(), start=1) if needle in line)


def grid_units(potential: dict[str, object] | None = None, workload: dict[str, object] | None = None) -> Rows:
    """Rows of the 3x3 grid's units table; every unit has potential 10 and workload 5 unless overridden."""
    potential, workload = potential or {}, workload or {}
    return [[uid, 1000 * int(uid[2]), 1000 * int(uid[1]), potential.get(uid, 10), workload.get(uid, 5)] for uid in GRID]


def grid_edges(drop: Iterable[tuple[str, str]] = ()) -> Rows:
    """Rook adjacency of the 3x3 grid, minus the edges in `drop`."""
    dropped = {frozenset(e) for e in drop}
    edges = []
    for r in range(3):
        for c in range(3):
            if c < 2:
                edges.append([f"u{r}{c}", f"u{r}{c + 1}"])
            if r < 2:
                edges.append([f"u{r}{c}", f"u{r + 1}{c}"])
    return [e for e in edges if frozenset(e) not in dropped]


def scenario(territory: dict[str, object] | None = None, data: dict[str, object] | None = None) -> dict:
    """A valid scenario for the grid: 3 contiguous territories balanced on potential (+-20%)."""
    terr: dict[str, object] = {
        "territories": 3,
        "balance": [{"measure": "potential", "tolerance": 0.2}],
        "contiguity": True,
        "solver": {"time_limit": 10, "threads": 1},
    }
    terr.update(territory or {})
    return {
        "name": "tiny",
        "seed": 1,
        "data": {"units": "units.csv", "adjacency": "adjacency.csv", **(data or {})},
        "territory": {k: v for k, v in terr.items() if v is not None},
        "output": {"dir": "out"},
    }


def make_instance(
    root: Path,
    spec: dict | str | None = None,
    *,
    units: Rows | None = None,
    units_header: Sequence[str] = UNITS_HEADER,
    edges: Rows | None = None,
    files: dict[str, tuple[Sequence[str], Rows]] | None = None,
) -> Path:
    """Write units.csv, adjacency.csv, any extra CSVs and scenario.yaml into `root`; return the YAML path."""
    write_csv(root / "units.csv", units_header, grid_units() if units is None else units)
    write_csv(root / "adjacency.csv", ("unit_a", "unit_b"), grid_edges() if edges is None else edges)
    for name, (header, rows) in (files or {}).items():
        write_csv(root / name, header, rows)
    spec = scenario() if spec is None else spec
    text = spec if isinstance(spec, str) else yaml.safe_dump(spec, sort_keys=False)
    path = root / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    return path
