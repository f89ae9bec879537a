"""Stage cache: keys follow every input, damaged entries are recomputed."""

from __future__ import annotations

from pathlib import Path

from spmopt.cache import StageCache, stage_key


def test_key_changes_with_settings_files_and_parent(tmp_path: Path) -> None:
    data = tmp_path / "units.csv"
    data.write_text("unit_id,potential\nA,1\n", encoding="utf-8")
    base = stage_key("territory", {"tolerance": 0.05}, [data, None])
    assert base == stage_key("territory", {"tolerance": 0.05}, [data])
    assert base != stage_key("territory", {"tolerance": 0.08}, [data])
    assert base != stage_key("quota", {"tolerance": 0.05}, [data])
    assert base != stage_key("territory", {"tolerance": 0.05}, [data], parent="x")
    data.write_text("unit_id,potential\nA,2\n", encoding="utf-8")
    assert base != stage_key("territory", {"tolerance": 0.05}, [data])


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
