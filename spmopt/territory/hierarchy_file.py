"""Read a planner's hierarchy file (`hierarchy.file`): territory -> district [-> region], checked row by row.

Every problem is one `DataError` naming the file and the row, as the alignment files' errors do.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from spmopt.data.tables import read_table, require_columns, shown
from spmopt.errors import DataError

WHAT = "hierarchy"


def territory_names(territories: list[str], reps_of: dict[str, str | None]) -> dict[str, str]:
    """Every name a file may give a territory -> the territory: its own id, and its rep's id (as alignment files
    allow); a territory's own id wins over a rep id spelt the same."""
    names = {str(rep): t for t, rep in reps_of.items() if rep is not None and t in territories}
    names.update({t: t for t in territories})
    return names


def read_hierarchy_file(path: Path, territories: list[str], reps_of: dict[str, str | None]) -> pd.DataFrame:
    """Columns `territory_id`, `district_id`, `region_id` (None without a region column), one row per territory
    in `territories`' order; raises `DataError` naming the row of an unknown or repeated territory, an empty
    district or region, or a district placed in two regions, or the first territory the file leaves out."""
    frame = read_table(path, WHAT, text=("district_id", "region_id"))
    require_columns(frame, ["territory_id", "district_id"], path, WHAT)
    with_regions = "region_id" in frame.columns
    names = territory_names(territories, reps_of)
    seen: dict[str, int] = {}
    region_of: dict[str, tuple[str, int]] = {}
    rows: dict[str, tuple[str, str | None]] = {}
    for pos, record in enumerate(frame.to_dict("records")):
        line = pos + 2
        name = _text(record["territory_id"])
        if not name:
            raise DataError(f"{path}: row {line}: territory_id is empty in {WHAT}")
        territory = names.get(name)
        if territory is None:
            raise DataError(
                f"{path}: row {line}: territory_id '{shown(name)}' in {WHAT} is neither a territory of the "
                "alignment nor a rep_id of the reps file"
            )
        if territory in seen:
            also = "" if name == territory else f" (as rep '{shown(name)}')"
            raise DataError(
                f"{path}: row {line}: territory '{shown(territory)}'{also} is listed again (first on row "
                f"{seen[territory]}); each territory belongs to one district"
            )
        seen[territory] = line
        district = _text(record["district_id"])
        if not district:
            raise DataError(f"{path}: row {line}: district_id is empty for territory '{shown(territory)}'")
        region = _text(record["region_id"]) if with_regions else None
        if with_regions and not region:
            raise DataError(f"{path}: row {line}: region_id is empty for district '{shown(district)}'")
        if region is not None:
            first = region_of.setdefault(district, (region, line))
            if first[0] != region:
                raise DataError(
                    f"{path}: row {line}: district '{shown(district)}' is put in region '{shown(region)}' but row "
                    f"{first[1]} puts it in region '{shown(first[0])}'; a district belongs to one region"
                )
        rows[territory] = (district, region)
    missing = [t for t in territories if t not in rows]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise DataError(
            f"{path}: territory '{shown(missing[0])}'{more} has no row in {WHAT}; every territory needs a district"
        )
    return pd.DataFrame(
        {
            "territory_id": territories,
            "district_id": [rows[t][0] for t in territories],
            "region_id": [rows[t][1] for t in territories],
        }
    )


def _text(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and value != value) else str(value).strip()
