"""A 6 x 6 grid scenario for the workbench tests: units u<r><c> 1 km apart, potential 10 each, rook adjacency, three
reps whose today's territories are the column pairs (0-1, 2-3, 4-5): 12 units and 120 potential each, within a
±5% band; moving any unit breaks two bands (13 units is +8.3%)."""

from __future__ import annotations

from pathlib import Path

import yaml
from instance_helpers import write, write_csv

SIZE = 6
UNITS = [f"u{r}{c}" for r in range(SIZE) for c in range(SIZE)]
REPS = {"R1": (0, 2), "R2": (2, 2), "R3": (4, 2)}
"""Rep -> the (column, row) of its home unit."""


def today(unit: str) -> str:
    return f"R{int(unit[2]) // 2 + 1}"


def make_grid(root: Path, territory: dict | None = None) -> Path:
    write_csv(
        root / "units.csv",
        ("unit_id", "x", "y", "potential"),
        [[u, 1000 * int(u[2]), 1000 * int(u[1]), 10] for u in UNITS],
    )
    edges = []
    for u in UNITS:
        r, c = int(u[1]), int(u[2])
        if c + 1 < SIZE:
            edges.append([u, f"u{r}{c + 1}"])
        if r + 1 < SIZE:
            edges.append([u, f"u{r + 1}{c}"])
    write_csv(root / "adjacency.csv", ("unit_a", "unit_b"), edges)
    write_csv(root / "reps.csv", ("rep_id", "x", "y"), [[r, 1000 * c + 300, 1000 * rr] for r, (c, rr) in REPS.items()])
    write_csv(root / "current.csv", ("unit_id", "territory_id"), [[u, today(u)] for u in UNITS])
    spec = {
        "name": "grid",
        "seed": 1,
        "data": {
            "units": "units.csv",
            "adjacency": "adjacency.csv",
            "reps": "reps.csv",
            "current_alignment": "current.csv",
        },
        "territory": {
            "balance": [{"measure": "potential", "tolerance": 0.05}],
            "contiguity": True,
            "solver": {"time_limit": 20, "threads": 1},
            **(territory or {}),
        },
        "output": {"dir": "out"},
    }
    return write(root / "scenario.yaml", yaml.safe_dump(spec))
