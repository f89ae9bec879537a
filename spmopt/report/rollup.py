"""Roll territories up to districts and regions (districts.csv, regions.csv): counts, each balance measure's total,
target and deviation, contiguity on the units' adjacency, and quotas that reconcile exactly.

Quotas are summed as exact decimals and the roll-up is checked against the territory quotas independently of how
it was built: every territory once, each district the sum of its territories, each region the sum of its
districts, and the regions (or districts) the company total. A roll-up that does not reconcile raises; a planner's
district quota must never be off by a unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import networkx as nx
import pandas as pd

from spmopt.config import BalanceConfig
from spmopt.errors import SpmoptError

QUOTA = "annual_quota"
"""The quota column rolled up (quotas.csv's annual quota)."""


@dataclass(frozen=True, slots=True)
class RollUp:
    """The districts' and regions' tables."""

    districts: pd.DataFrame
    """One row per district (districts.csv)."""
    regions: pd.DataFrame | None
    """One row per region (regions.csv); None when the hierarchy stops at districts."""


def roll_up(
    hierarchy: pd.DataFrame,
    alignment: pd.Series,
    units: pd.DataFrame,
    adjacency: nx.Graph | None,
    bands: Sequence[BalanceConfig],
    quotas: pd.DataFrame | None = None,
) -> RollUp:
    """Districts and regions of `hierarchy` (hierarchy.csv's columns) over `alignment` (unit_id -> territory_id)
    and `units` (measures); targets are equal shares of each measure's total, as the district design uses; with
    `quotas` (quotas.csv's `territory_id`, `annual_quota`) each level's quota total."""
    district_of = dict(zip(hierarchy["territory_id"], hierarchy["district_id"], strict=True))
    unit_district = alignment.reindex(units.index).map(district_of)
    quota_of = _quota_of(quotas) if quotas is not None else None
    districts = _level(hierarchy, "district_id", unit_district, units, adjacency, bands, quota_of)
    regions = None
    if hierarchy["region_id"].notna().all():
        region_of = dict(zip(hierarchy["district_id"], hierarchy["region_id"], strict=False))
        districts.insert(1, "region_id", districts["district_id"].map(region_of))
        regions = _level(hierarchy, "region_id", unit_district.map(region_of), units, adjacency, bands, quota_of)
        regions.insert(1, "districts", hierarchy.groupby("region_id")["district_id"].nunique().reindex(regions.index))
        regions = regions.reset_index(drop=True)
    return RollUp(districts.reset_index(drop=True), regions)


def _level(
    hierarchy: pd.DataFrame,
    key: str,
    unit_group: pd.Series,
    units: pd.DataFrame,
    adjacency: nx.Graph | None,
    bands: Sequence[BalanceConfig],
    quota_of: dict[str, Decimal] | None,
) -> pd.DataFrame:
    groups = sorted(hierarchy[key].unique())
    frame = pd.DataFrame({key: groups}, index=pd.Index(groups))
    frame["territories"] = hierarchy.groupby(key)["territory_id"].size().reindex(groups).astype(int)
    frame["units"] = unit_group.value_counts().reindex(groups, fill_value=0).astype(int)
    for band in bands:
        values = units[band.measure]
        total = values.groupby(unit_group).sum().reindex(groups, fill_value=0.0)
        target = float(values.sum()) / len(groups)
        frame[band.measure] = total.round(6)
        frame[f"{band.measure}_target"] = round(target, 6)
        frame[f"{band.measure}_dev_pct"] = (100 * (total / target - 1)).round(3) if target else float("nan")
    if adjacency is not None:
        members = {g: list(idx) for g, idx in unit_group.groupby(unit_group).groups.items()}
        frame["contiguous"] = [bool(nx.is_connected(adjacency.subgraph(members[g]))) for g in groups]
    if quota_of is not None:
        sums = {
            g: sum((quota_of[t] for t in hierarchy.loc[hierarchy[key] == g, "territory_id"]), Decimal(0))
            for g in groups
        }
        frame[QUOTA] = [_number(sums[g]) for g in groups]
    return frame


def reconcile(hierarchy: pd.DataFrame, quotas: pd.DataFrame, rollup: RollUp, company_total: Decimal | int) -> None:
    """Raise `SpmoptError` unless the roll-up's quotas add up exactly: every quota territory in the hierarchy once
    (and no other), each district's quota the sum of its territories', each region's the sum of its districts', and
    the top level's sum the company total."""
    quota_of = _quota_of(quotas)
    listed = list(hierarchy["territory_id"])
    twice = sorted({t for t in listed if listed.count(t) > 1})
    if twice:
        raise SpmoptError(f"roll-up does not reconcile: territory '{twice[0]}' is counted in more than one row")
    if set(listed) != set(quota_of):
        odd = sorted(set(listed).symmetric_difference(quota_of))[0]
        raise SpmoptError(f"roll-up does not reconcile: territory '{odd}' is in the quotas or the hierarchy, not both")
    district_of = dict(zip(hierarchy["territory_id"], hierarchy["district_id"], strict=True))
    expected = _sums({t: district_of[t] for t in listed}, quota_of)
    _check_level("district", rollup.districts, "district_id", expected)
    top = expected
    if rollup.regions is not None:
        region_of = dict(zip(rollup.districts["district_id"], rollup.districts["region_id"], strict=True))
        top = _sums(region_of, expected)
        _check_level("region", rollup.regions, "region_id", top)
    total = sum(top.values(), Decimal(0))
    if total != Decimal(company_total):
        raise SpmoptError(
            f"roll-up does not reconcile: levels add up to {total:,}, the company total is {company_total:,}"
        )


def _check_level(level: str, frame: pd.DataFrame, key: str, expected: dict[str, Decimal]) -> None:
    given = [str(g) for g in frame[key]]
    if sorted(given) != sorted(expected):
        raise SpmoptError(f"roll-up does not reconcile: {level}s {sorted(given)} are not {sorted(expected)}")
    for group, quota in zip(given, frame[QUOTA], strict=True):
        if Decimal(str(quota)) != expected[group]:
            raise SpmoptError(
                f"roll-up does not reconcile: {level} '{group}' has quota {quota:,} but its members add up to "
                f"{expected[group]:,}"
            )


def _sums(parent_of: dict[str, str], value_of: dict[str, Decimal]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for child, parent in parent_of.items():
        out[parent] = out.get(parent, Decimal(0)) + value_of[child]
    return out


def _quota_of(quotas: pd.DataFrame) -> dict[str, Decimal]:
    """Territory -> quota, exact: decimals from the values' shortest text, so 0.1 stays 0.1."""
    return {str(t): Decimal(str(q)) for t, q in zip(quotas["territory_id"], quotas[QUOTA], strict=True)}


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)
