"""Stage cache: keys follow every input, damaged entries are recomputed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from spmopt.cache import StageCache, stage_key
from spmopt.hashing import fingerprint


def test_key_changes_with_settings_file_contents_and_frames(tmp_path: Path) -> None:
    data = tmp_path / "units.csv"
    data.write_text("unit_id,potential\nA,1\n", encoding="utf-8")
    frame = pd.DataFrame({"unit_id": ["A", "B"], "territory_id": ["T1", "T1"]})
    base = stage_key("territory", {"tolerance": 0.05, "units": data, "alignment": frame})
    assert base == stage_key("territory", {"alignment": frame.copy(), "units": data, "tolerance": 0.05})
    assert base != stage_key("territory", {"tolerance": 0.08, "units": data, "alignment": frame})
    assert base != stage_key("quota", {"tolerance": 0.05, "units": data, "alignment": frame})
    moved = frame.assign(territory_id=["T1", "T2"])
    assert base != stage_key("territory", {"tolerance": 0.05, "units": data, "alignment": moved})
    data.write_text("unit_id,potential\nA,2\n", encoding="utf-8")
    assert base != stage_key("territory", {"tolerance": 0.05, "units": data, "alignment": frame})


def test_fingerprint_tells_apart_what_repr_would_not() -> None:
    assert fingerprint(1) != fingerprint("1")
    assert fingerprint(1) != fingerprint(1.0)
    assert fingerprint(("a", "b")) != fingerprint(("ab",))
    assert fingerprint({"a": 1}) == fingerprint({"a": 1})
    assert fingerprint(pd.Series([1.0, 2.0], index=["x", "y"])) != fingerprint(pd.Series([1.0, 2.0], index=["y", "x"]))
    assert fingerprint(pd.DataFrame({"a": [1]})) != fingerprint(pd.DataFrame({"b": [1]}))
    assert fingerprint(np.array([1, 2])) != fingerprint(np.array([1, 2], dtype=float))


def test_round_trip_damage_and_fresh(tmp_path: Path) -> None:
    cache = StageCache(tmp_path / "c")
    assert cache.get("territory", "k" * 64) is None
    cache.put("territory", "k" * 64, {"alignment": [1, 2, 3]})
    assert cache.get("territory", "k" * 64) == {"alignment": [1, 2, 3]}
    assert StageCache(tmp_path / "c", reuse=False).get("territory", "k" * 64) is None
    # Same file name prefix, different key: never served for the wrong inputs.
    assert cache.get("territory", "k" * 32 + "j" * 32) is None
    (path,) = (tmp_path / "c").glob("territory-*.pickle")
    path.write_bytes(b"not a pickle")
    assert cache.get("territory", "k" * 64) is None
    assert not list((tmp_path / "c").glob(".territory-*"))  # no temporary files left behind
