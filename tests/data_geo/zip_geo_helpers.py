"""Real ZIPs of small states from the offline ZIP data, and point-only ZIP scenarios built from them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml
import zipcodes

from spmopt.data import geography


def state_zips(state: str) -> list[str]:
    """The state's ZIPs in the offline data, in code order."""
    return sorted(r["zip_code"] for r in zipcodes.filter_by(state=state))


def state_points(state: str) -> pd.DataFrame:
    """The state's ZIPs in planar km (`x_km`, `y_km`, index the ZIP), projected as the loader projects lat,lon."""
    rows = sorted(zipcodes.filter_by(state=state), key=lambda r: r["zip_code"])
    lat = np.array([float(r["lat"]) for r in rows])
    lon = np.array([float(r["long"]) for r in rows])
    x, y = geography.project_lonlat(lon, lat, geography.local_projected_crs(lon, lat))
    return pd.DataFrame({"x_km": x, "y_km": y}, index=pd.Index([r["zip_code"] for r in rows], name="unit_id"))


def write_zip_scenario(
    root: Path, unit_ids: list[str], territory: dict | None = None, data: dict | None = None, seed: int = 7
) -> Path:
    """A units table of ZIP ids without coordinates (seeded lognormal potential) and a scenario reading it with
    `locations_from: zip` and `adjacency_from: points`; the scenario's path."""
    potential = np.random.default_rng(seed).lognormal(0.0, 0.5, len(unit_ids)).round(3)
    pd.DataFrame({"unit_id": unit_ids, "potential": potential}).to_csv(root / "units.csv", index=False)
    spec = {
        "name": "zips",
        "seed": 1,
        "data": {"units": "units.csv", "locations_from": "zip", "adjacency_from": "points", **(data or {})},
        "territory": {
            "territories": 3,
            "balance": [{"measure": "potential", "tolerance": 0.25}],
            "contiguity": True,
            "islands": "bridge",
            "solver": {"time_limit": 15, "mip_gap": 0.05, "threads": 1},
            **(territory or {}),
        },
        "output": {"dir": "out"},
    }
    path = root / "scenario.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path
