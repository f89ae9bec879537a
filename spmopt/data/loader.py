"""Load every table a scenario names into one validated, immutable `PlanningData`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
from pyproj import CRS
from shapely.geometry import Point

from spmopt.config import ScenarioConfig
from spmopt.data import accounts as named_accounts
from spmopt.data import geography, points, zip_locations
from spmopt.data.history import SalesHistory, load_history
from spmopt.data.tables import (
    check_ids,
    check_known,
    numeric_column,
    read_table,
    require_columns,
    shown,
)
from spmopt.errors import DataError
from spmopt.hashing import sha256_file


@dataclass(frozen=True, slots=True)
class PlanningData:
    """Validated inputs. Coordinates are planar km (`x_km`, `y_km`); ids are text."""

    units: pd.DataFrame
    """Index `unit_id`; columns `x_km`, `y_km` and every measure the scenario uses (float, >= 0)."""
    measures: tuple[str, ...]
    adjacency: nx.Graph | None = None
    """Polygon neighbours plus the adjacency CSV's edges, plus `bridged_edges`; None without either file."""
    bridged_edges: tuple[geography.Bridge, ...] = ()
    """Edges added by `territory.islands: bridge` to connect the graph: (unit_a, unit_b, km), in joining order."""
    geometry: gpd.GeoDataFrame | None = None
    """Polygons in the same planar km frame, index `unit_id` (for maps)."""
    geometry_approximate: bool = False
    """`geometry` holds Voronoi cells of the units' locations (`data.adjacency_from: points`), not their areas."""
    current_alignment: pd.Series | None = None
    """unit_id -> territory_id; units missing from the file are new (not counted as moved)."""
    reps: pd.DataFrame | None = None
    """Index `rep_id`; columns `x_km`, `y_km`, `territory_id`, `target_share` (relative), `start_month`
    (plan-year month a new rep starts selling, ramping up from it; 0 for reps on board all year)."""
    locks: pd.Series | None = None
    """unit_id -> territory_id that the unit must stay in."""
    history: SalesHistory | None = None
    """Monthly sales per unit, when the scenario's quota section names a history file."""
    accounts: named_accounts.Accounts | None = None
    """The CRM accounts the units were built from (`data.accounts`)."""
    ownership: named_accounts.Ownership | None = None
    """Today's owners, account by account, weighed by the disruption measure (with `accounts`)."""
    named_units: pd.Series | None = None
    """A named account's own unit (`account:<id>`) -> the territory it is locked to (with `accounts`)."""
    crs: CRS | None = None
    """The projected system (metres) `x_km`, `y_km` are kilometres of; None for x,y given without one."""
    input_hashes: dict[str, str] = field(default_factory=dict)
    """sha256 of every input file, keyed by path."""
    warnings: tuple[str, ...] = ()
    """Inputs accepted but likely wrong or changed on reading (repaired polygons, unknown current territories)."""


def referenced_measures(cfg: ScenarioConfig) -> tuple[str, ...]:
    """Measures the scenario uses, in first-mention order."""
    t = cfg.territory
    names = [b.measure for b in t.balance]
    quota_measure = cfg.quota.potential if cfg.quota is not None else None
    sim = cfg.simulation
    sim_measures = (sim.potential, sim.workload, sim.accounts) if sim is not None else ()
    for extra in (t.distance_weight, cfg.disruption_measure, quota_measure, *sim_measures):
        if extra is not None and extra not in names:
            names.append(extra)
    return tuple(names)


def load_planning_data(cfg: ScenarioConfig) -> PlanningData:
    """Read and cross-check units (or the accounts they are built from), geometry, adjacency, current alignment,
    reps and locks."""
    d = cfg.data
    measures = referenced_measures(cfg)
    src = d.units_source
    units_raw = _read_units_file(d.units) if d.units is not None else None
    accounts = _read_accounts(cfg, units_raw) if d.accounts is not None else None
    if accounts is not None:
        units_raw = _units_with_accounts(units_raw, accounts)
    require_columns(units_raw, measures, src, "units")

    warnings: list[str] = list(accounts.warnings) if accounts is not None else []
    geometry = None
    if d.geometry:
        geometry, repaired = geography.read_geometry(d.geometry)
        warnings += repaired
    scale = 1.0 if d.xy_unit == "km" else 1 / geography.M_PER_KM
    x_km, y_km, crs = _unit_coordinates(units_raw, geometry, scale, src, d.locations_from == "zip")
    units = pd.DataFrame({"x_km": x_km, "y_km": y_km}, index=pd.Index(units_raw["unit_id"], name="unit_id"))
    for m in measures:
        units[m] = numeric_column(units_raw, m, src, "units").to_numpy()
    unit_ids = units.index

    geo_km = None
    if geometry is not None:
        missing = unit_ids.difference(geometry.index)
        if len(missing):
            raise DataError(
                f"{d.geometry}: no polygon for {len(missing)} unit(s) of {src.name}, "
                f"e.g. {', '.join(map(str, missing[:5]))}"
            )
        geometry = geometry.loc[unit_ids]
        if "x" in units_raw.columns and geometry.crs is not None and geometry.crs.is_geographic:
            raise DataError(
                f"{d.geometry}: polygons are in longitude/latitude but {src.name} gives projected "
                "x,y; give the units lat,lon instead, or a geometry file in the units' projection"
            )
        geo_km = geography.geometry_to_km(geometry, crs, scale)
        geo_km.index = unit_ids

    reps, reps_lonlat = _read_reps(d.reps, scale, crs) if d.reps else (None, False)
    if geo_km is not None:
        units_lonlat = "x" not in units_raw.columns and ("lat" in units_raw.columns or d.locations_from == "zip")
        _check_on_map(cfg, (geometry, geo_km, crs), (units, units_lonlat), (reps, reps_lonlat))

    point_edges = None
    if d.adjacency_from == "points" and geometry is not None:
        warnings.append(
            f"data.adjacency_from: points is not used: the polygons of {d.geometry.name} give the adjacency and map"
        )
    elif d.adjacency_from == "points":
        found = points.point_geography(units[["x_km", "y_km"]])
        point_edges, geo_km = found.edges, found.cells
        warnings += _coincident_warning(found.coincident, src)
    adjacency, bridged = _adjacency(cfg, unit_ids, geometry, units, point_edges)
    current = _read_assignment(d.current_alignment, unit_ids, "current alignment") if d.current_alignment else None
    if current is not None:
        warnings += _unknown_current_territories(cfg, current, reps)
    locks = _read_assignment(cfg.territory.locks, unit_ids, "locks") if cfg.territory.locks else None

    named = None
    owned = None
    if accounts is not None:
        named_units = named_accounts.named_table(accounts)
        if len(named_units) and reps is None:
            raise DataError(
                f"{d.accounts.file}: {len(named_units)} named account(s) need data.reps: a named account is "
                "locked to its rep's territory"
            )
        homes = home_units(units, geo_km, reps, frozenset()) if reps is not None else {}
        territory_of = _territory_of_rep(reps)
        units, geo_km, adjacency, named = _with_named_units(units, geo_km, adjacency, named_units, homes, territory_of)
        locks = pd.concat([locks, named]) if locks is not None else named
        owned = named_accounts.ownership(accounts, _ownership_measure(cfg, accounts), territory_of)
        current = pd.Series(owned.current(), name="territory_id", dtype=object)
        current.index.name = "unit_id"
        warnings += _unknown_current_territories(cfg, current, reps, accounts.path)

    history, history_warnings = None, ()
    if cfg.quota and cfg.quota.history:
        account_unit = accounts.unit_of if accounts is not None else None
        history, history_warnings = load_history(cfg.quota.history, units.index, account_unit)
    hashes = {str(p): sha256_file(p) for p in input_files(cfg)}
    return PlanningData(
        units=units,
        measures=measures,
        adjacency=adjacency,
        bridged_edges=bridged,
        geometry=geo_km,
        geometry_approximate=point_edges is not None,
        current_alignment=current,
        reps=reps,
        locks=locks,
        history=history,
        accounts=accounts,
        ownership=owned,
        named_units=named,
        crs=crs,
        input_hashes=hashes,
        warnings=(*warnings, *history_warnings),
    )


def _read_units_file(path: Path) -> pd.DataFrame:
    raw = read_table(path, "units")
    require_columns(raw, ["unit_id"], path, "units")
    check_ids(raw, "unit_id", path, "units")
    return raw


def _read_accounts(cfg: ScenarioConfig, units_raw: pd.DataFrame | None) -> named_accounts.Accounts:
    d = cfg.data
    rep_ids = None
    if d.reps is not None:
        reps_raw = read_table(d.reps, "reps")
        require_columns(reps_raw, ["rep_id"], d.reps, "reps")
        rep_ids = set(reps_raw["rep_id"].astype(str))
    units = (d.units, pd.Index(units_raw["unit_id"].astype(str))) if units_raw is not None else None
    return named_accounts.read_accounts(d.accounts, rep_ids, units)


def _units_with_accounts(units_raw: pd.DataFrame | None, accounts: named_accounts.Accounts) -> pd.DataFrame:
    """The units table: built from the accounts, or the units file with the accounts' measures summed into it
    (replacing columns of the same name; a unit without accounts has zeros)."""
    built = named_accounts.units_table(accounts)
    if units_raw is None:
        return built
    sums = built.set_index("unit_id")[list(accounts.measures)]
    ids = units_raw["unit_id"].astype(str)
    out = units_raw.drop(columns=[m for m in accounts.measures if m in units_raw.columns])
    for m in accounts.measures:
        out[m] = sums[m].reindex(ids).fillna(0.0).to_numpy()
    return out


def _ownership_measure(cfg: ScenarioConfig, accounts: named_accounts.Accounts) -> str:
    """The measure moved share is weighed in: the disruption measure, else account counts."""
    measure = cfg.disruption_measure
    if measure is None or (cfg.territory.disruption_measure is None and measure not in accounts.measures):
        return named_accounts.COUNT
    if measure not in accounts.measures:
        raise DataError(
            f"territory.disruption_measure '{measure}' is not a measure of {accounts.path.name}: with "
            f"data.accounts the moved share is measured on accounts; map it in data.accounts.columns, or use one "
            f"of {', '.join(accounts.measures)}"
        )
    return measure


def _territory_of_rep(reps: pd.DataFrame | None) -> dict[str, str] | None:
    if reps is None:
        return None
    return {str(r): str(t) for r, t in reps["territory_id"].items()}


def _with_named_units(
    units: pd.DataFrame,
    geometry: gpd.GeoDataFrame | None,
    adjacency: nx.Graph | None,
    named: pd.DataFrame,
    homes: dict[str, str],
    territory_of: dict[str, str] | None,
) -> tuple[pd.DataFrame, gpd.GeoDataFrame | None, nx.Graph | None, pd.Series]:
    """Each named account as a unit of its own, at its place's location, locked to its rep's territory; on the
    adjacency graph it touches only its rep's home unit (so a contiguous territory stays contiguous with it), and
    on the map it is a small disc."""
    ids = pd.Index(named["unit_id"], name="unit_id")
    rows = pd.DataFrame(index=ids)
    rows["x_km"] = units["x_km"].reindex(named["place"]).to_numpy()
    rows["y_km"] = units["y_km"].reindex(named["place"]).to_numpy()
    for m in units.columns.drop(["x_km", "y_km"]):
        rows[m] = named[m].to_numpy() if m in named.columns else 0.0
    locks = pd.Series(
        [territory_of.get(r, r) if territory_of is not None else r for r in named["rep"]],
        index=ids,
        name="territory_id",
        dtype=object,
    )
    if not len(ids):
        return units, geometry, adjacency, locks
    if geometry is not None:
        span = max(float(np.ptp(units["x_km"])), float(np.ptp(units["y_km"])), 1.0)
        discs = gpd.GeoSeries(gpd.points_from_xy(rows["x_km"], rows["y_km"]), crs=geometry.crs).buffer(span / 300)
        extra = gpd.GeoDataFrame(geometry=discs.to_numpy(), index=ids, crs=geometry.crs)
        geometry = pd.concat([geometry, extra])
    if adjacency is not None:
        adjacency = adjacency.copy()
        adjacency.add_nodes_from(ids)
        adjacency.add_edges_from((u, homes[r]) for u, r in zip(ids, named["rep"], strict=True) if r in homes)
    return pd.concat([units, rows]), geometry, adjacency, locks


def home_units(
    units: pd.DataFrame, geometry: gpd.GeoDataFrame | None, reps: pd.DataFrame, exclude: frozenset[str]
) -> dict[str, str]:
    """Each rep's home unit: the polygon holding the home base, else the unit with the nearest centre (a named
    account's own unit, in `exclude`, is never one)."""
    places = units.loc[~units.index.isin(list(exclude))]
    shapes = geometry.loc[~geometry.index.isin(list(exclude))] if geometry is not None else None
    homes = {}
    for rep_id, rep in reps.iterrows():
        unit = None
        if shapes is not None:
            inside = shapes.index[shapes.contains(Point(rep["x_km"], rep["y_km"]))]
            unit = str(inside[0]) if len(inside) else None
        if unit is None:
            d = np.hypot(places["x_km"] - rep["x_km"], places["y_km"] - rep["y_km"])
            unit = str(d.idxmin())
        homes[str(rep_id)] = unit
    return homes


def _check_on_map(
    cfg: ScenarioConfig,
    maps: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, object],
    units: tuple[pd.DataFrame, bool],
    reps: tuple[pd.DataFrame | None, bool],
) -> None:
    """Units and reps must lie on the polygons' map (`maps`: as read, in planar km, and the km frame's CRS; each
    table comes with whether it was given as lon/lat). A wrong declared CRS moves lon/lat inputs hundreds of km
    while every table still looks fine."""
    d = cfg.data
    raw, km, crs = maps
    points = [geography.Points(d.units, "units", units[0].index, units[0][["x_km", "y_km"]].to_numpy(), units[1])]
    if reps[0] is not None:
        points.append(geography.Points(d.reps, "reps", reps[0].index, reps[0][["x_km", "y_km"]].to_numpy(), reps[1]))
    for p in points:
        geography.check_on_map(d.geometry, raw, km, crs, p)


def _unknown_current_territories(
    cfg: ScenarioConfig, current: pd.Series, reps: pd.DataFrame | None, path: Path | None = None
) -> list[str]:
    """Current territories the design cannot continue. Accepted, as a forced move: a unit whose current territory
    no rep covers changes owner whatever the plan (and counts as moved), like a CRM owner who has left."""
    path = path or cfg.data.current_alignment
    k = cfg.territory.territories
    if reps is None:
        distinct = current.nunique()
        if k is None or distinct <= k:
            return []
        return [
            f"{path}: the current alignment has {distinct} territories but the scenario designs {k}; the units of "
            f"at least {distinct - k} of them will change owner (they count as moved)"
        ]
    known = set(map(str, reps["territory_id"]))
    unknown = current[~current.astype(str).isin(known)]
    if unknown.empty:
        return []
    counts = unknown.astype(str).value_counts()
    listed = ", ".join(f"{t} ({n} unit{'s' if n > 1 else ''})" for t, n in counts.head(5).items())
    more = f" and {len(counts) - 5} more" if len(counts) > 5 else ""
    rep_ids = sorted(set(counts.index) & set(map(str, reps.index)))
    hint = f" ({', '.join(rep_ids[:3])}: rep_id, not territory_id, of {cfg.data.reps.name})" if rep_ids else ""
    return [
        f"{path}: {len(counts)} current territory id(s) are not a territory of {cfg.data.reps.name}: {listed}{more}"
        f"{hint}; their {len(unknown)} unit(s) must change owner and count as moved"
    ]


def input_files(cfg: ScenarioConfig) -> list[Path]:
    """Every file the scenario reads, once each, with a shapefile's sidecars (hashed into manifests)."""
    out = list(dict.fromkeys(cfg.input_paths()))
    geometry = cfg.data.geometry
    if geometry is not None and geometry.suffix.lower() == ".shp":
        out += [geometry.with_suffix(s) for s in (".shx", ".dbf", ".prj") if geometry.with_suffix(s).is_file()]
    return out


def _unit_coordinates(
    raw: pd.DataFrame, geometry: gpd.GeoDataFrame | None, scale: float, path: Path, zips: bool = False
) -> tuple[np.ndarray, np.ndarray, CRS | None]:
    """Planar km coordinates of the units and the CRS used to project any lat/lon input (with `zips`, units
    without lat,lon take their ZIP's)."""
    if zips and "x" not in raw.columns and "y" not in raw.columns:
        lat, lon = zip_locations.fill_from_zips(
            raw["unit_id"], _degrees_or_blank(raw, "lat", path), _degrees_or_blank(raw, "lon", path), path
        )
        _check_lat_lon(raw, lat, lon, path)
        crs = geography.local_projected_crs(lon, lat)
        x, y = geography.project_lonlat(lon, lat, crs)
        return x, y, crs
    if "x" in raw.columns or "y" in raw.columns:
        require_columns(raw, ["x", "y"], path, "units")
        x = numeric_column(raw, "x", path, "units", allow_negative=True).to_numpy() * scale
        y = numeric_column(raw, "y", path, "units", allow_negative=True).to_numpy() * scale
        crs = geometry.crs if geometry is not None and geometry.crs and not geometry.crs.is_geographic else None
        return x, y, crs
    if "lat" in raw.columns or "lon" in raw.columns:
        require_columns(raw, ["lat", "lon"], path, "units")
        lat = numeric_column(raw, "lat", path, "units", allow_negative=True).to_numpy()
        lon = numeric_column(raw, "lon", path, "units", allow_negative=True).to_numpy()
        _check_lat_lon(raw, lat, lon, path)
        crs = geography.local_projected_crs(lon, lat)
        x, y = geography.project_lonlat(lon, lat, crs)
        return x, y, crs
    if geometry is None:
        raise DataError(
            f"{path}: units need coordinates: columns x,y (projected) or lat,lon, "
            "or a data.geometry file to take polygon centres from"
        )
    ids = raw["unit_id"]
    missing = pd.Index(ids).difference(geometry.index)
    if len(missing):
        raise DataError(f"no polygon for unit(s) {', '.join(map(str, missing[:5]))} of {path}")
    geo = geometry.loc[ids]
    crs = (
        geo.crs
        if geo.crs is not None and not geo.crs.is_geographic
        else (geo.estimate_utm_crs() if geo.crs is not None else None)
    )
    km = geography.geometry_to_km(geo, crs, scale)
    centre = km.geometry.representative_point()
    return centre.x.to_numpy(), centre.y.to_numpy(), crs


def _adjacency(
    cfg: ScenarioConfig,
    unit_ids: pd.Index,
    geometry: gpd.GeoDataFrame | None,
    units: pd.DataFrame,
    point_edges: list[tuple[str, str]] | None = None,
) -> tuple[nx.Graph | None, tuple[geography.Bridge, ...]]:
    """The adjacency graph: polygon neighbours (or, without polygons, `point_edges` from the units' locations)
    and the CSV's edges together (a ferry or bridge link in the CSV adds to them, it does not replace them),
    then bridged when the scenario asks for it."""
    d = cfg.data
    if geometry is None and d.adjacency is None and point_edges is None:
        return None, ()
    edges = geography.adjacency_from_polygons(geometry, d.adjacency_rule) if geometry is not None else []
    edges += point_edges or []
    if d.adjacency is not None:
        edges += _read_edges(d.adjacency, unit_ids)
    graph = geography.adjacency_graph(unit_ids, edges)
    if cfg.territory.islands == "bridge":
        return geography.bridge_components(graph, units[["x_km", "y_km"]])
    return graph, ()


def _degrees_or_blank(raw: pd.DataFrame, column: str, path: Path) -> np.ndarray:
    """The column's degrees, NaN where blank (all of them when the table has no such column)."""
    if column not in raw.columns:
        return np.full(len(raw), np.nan)
    return numeric_column(raw, column, path, "units", allow_negative=True, allow_blank=True).to_numpy()


def _coincident_warning(groups: tuple[tuple[str, ...], ...], path: Path) -> list[str]:
    """Units sharing one location: usually PO-box and company ZIPs at their post office, sometimes a copy error."""
    if not groups:
        return []
    shown = "; ".join(", ".join(g[:4]) + (", ..." if len(g) > 4 else "") for g in groups[:3])
    more = f" and {len(groups) - 3} more place(s)" if len(groups) > 3 else ""
    return [
        f"{path}: {sum(map(len, groups))} units share their location with another unit ({len(groups)} place(s): "
        f"{shown}{more}); for the adjacency and the map each group is spread a few metres apart, its units "
        "neighbouring each other and the place's neighbours"
    ]


def _check_lat_lon(raw: pd.DataFrame, lat: np.ndarray, lon: np.ndarray, path: Path) -> None:
    bad = (np.abs(lat) > 90) | (np.abs(lon) > 180)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise DataError(f"{path}: row {pos + 2}: lat/lon ({lat[pos]}, {lon[pos]}) is out of range")


def _read_edges(path: Path, unit_ids: pd.Index) -> list[tuple[str, str]]:
    edges = read_table(path, "adjacency")
    require_columns(edges, ["unit_a", "unit_b"], path, "adjacency")
    for col in ("unit_a", "unit_b"):
        check_known(edges, col, unit_ids, path, "adjacency", "unit of the units file")
    loops = edges["unit_a"] == edges["unit_b"]
    if loops.any():
        pos = int(np.flatnonzero(loops.to_numpy())[0])
        raise DataError(f"{path}: row {pos + 2}: edge joins unit '{edges['unit_a'].iloc[pos]}' to itself")
    return list(zip(edges["unit_a"], edges["unit_b"], strict=True))


def read_candidate_alignment(path: Path, data: PlanningData, what: str) -> tuple[pd.Series, dict[str, str]]:
    """A complete alignment and each of its territories' rep (territories named by rep_id or territory_id)."""
    alignment = _with_named(_read_assignment(path, data.units.index, what).astype(str), data)
    missing = data.units.index.difference(alignment.index)
    if len(missing):
        raise DataError(f"{path}: {what} leaves {len(missing)} unit(s) without a territory, e.g. {missing[0]}")
    rep_of = territory_reps(data, path, what)
    _check_territories(alignment, rep_of, path, what)
    return alignment.loc[data.units.index], {t: rep_of[t] for t in dict.fromkeys(alignment)}


def _with_named(assignment: pd.Series, data: PlanningData) -> pd.Series:
    """An assignment with each named account's unit it leaves out added in its locked territory: an alignment
    file of ZIPs need not list the accounts assigned one by one."""
    if data.named_units is None:
        return assignment
    left_out = data.named_units.loc[~data.named_units.index.isin(assignment.index)]
    return pd.concat([assignment, left_out.astype(str)]) if len(left_out) else assignment


def territory_reps(data: PlanningData, path: Path, what: str) -> dict[str, str]:
    """Territory name -> its rep: a rep_id names its own territory, and so does the reps file's territory_id."""
    reps = data.reps
    if reps is None:
        raise DataError(f"{path}: {what} needs the scenario's reps file to know who sells each territory")
    rep_of = {str(r): str(r) for r in reps.index}
    for rep, territory in reps["territory_id"].items():
        if isinstance(territory, str) and territory:
            rep_of[territory] = str(rep)
    return rep_of


def _check_territories(assignment: pd.Series, rep_of: dict[str, str], path: Path, what: str) -> None:
    """Every territory of an assignment read by `_read_assignment` (rows in file order) is a rep's."""
    unknown = ~assignment.isin(list(rep_of))
    if unknown.any():
        pos = int(np.flatnonzero(unknown.to_numpy())[0])
        raise DataError(
            f"{path}: row {pos + 2}: territory_id '{shown(assignment.iloc[pos])}' in {what} is neither a rep_id "
            "nor a territory_id of the reps file"
        )


def read_moves(path: Path, data: PlanningData, what: str = "moves") -> pd.Series:
    """Hand moves: unit_id -> the rep's territory it moves to, for any subset of the units, each unit once."""
    moves = _read_assignment(path, data.units.index, what).astype(str)
    _check_territories(moves, territory_reps(data, path, what), path, what)
    return moves


def with_moves(
    base: pd.Series, base_path: Path, moves: pd.Series | None, moves_path: Path | None, data: PlanningData
) -> pd.Series:
    """A complete alignment from `base` (unit_id -> territory_id in `base_path`'s row order: an alignment file, or
    today's, which may leave new units out and name territories no rep covers) with `moves` applied over it."""
    merged = _with_named(base.astype(str), data).reindex(data.units.index)
    if moves is not None:
        merged.loc[moves.index] = moves
    fix = f" and {moves_path} does not move it" if moves_path is not None else ""
    missing = merged.index[merged.isna()]
    if len(missing):
        more = f" (and {len(missing) - 1} more unit(s) like it)" if len(missing) > 1 else ""
        raise DataError(f"{base_path}: unit {missing[0]} has no territory{fix}{more}; give it one to assess")
    rep_of = territory_reps(data, base_path, "the alignment")
    unknown = merged.index[~merged.isin(list(rep_of))]
    if len(unknown):
        unit = unknown[0]
        more = f" (and {len(unknown) - 1} more unit(s) like it)" if len(unknown) > 1 else ""
        raise DataError(
            f"{base_path}: row {base.index.get_loc(unit) + 2}: unit {unit} is in territory '{shown(merged[unit])}', "
            f"which is neither a rep_id nor a territory_id of the reps file{fix}{more}"
        )
    return merged.rename("territory_id")


def _read_assignment(path: Path, unit_ids: pd.Index, what: str) -> pd.Series:
    frame = read_table(path, what)
    require_columns(frame, ["unit_id", "territory_id"], path, what)
    check_ids(frame, "unit_id", path, what)
    check_known(frame, "unit_id", unit_ids, path, what, "unit of the units file")
    blank = frame["territory_id"].isna()
    if blank.any():
        pos = int(np.flatnonzero(blank.to_numpy())[0])
        raise DataError(f"{path}: row {pos + 2}: territory_id is empty in {what}")
    return pd.Series(
        frame["territory_id"].to_numpy(), index=pd.Index(frame["unit_id"], name="unit_id"), name="territory_id"
    )


def _read_reps(path: Path, scale: float, crs: object) -> tuple[pd.DataFrame, bool]:
    """The reps and whether their home bases came as lon/lat."""
    raw = read_table(path, "reps")
    require_columns(raw, ["rep_id"], path, "reps")
    check_ids(raw, "rep_id", path, "reps")
    if "x" in raw.columns or "y" in raw.columns:
        require_columns(raw, ["x", "y"], path, "reps")
        x = numeric_column(raw, "x", path, "reps", allow_negative=True).to_numpy() * scale
        y = numeric_column(raw, "y", path, "reps", allow_negative=True).to_numpy() * scale
    elif "lat" in raw.columns or "lon" in raw.columns:
        require_columns(raw, ["lat", "lon"], path, "reps")
        if crs is None:
            raise DataError(
                f"{path}: reps give lat,lon but the units' coordinate system is unknown; give reps x,y "
                "in the units' system, or units lat,lon, or a projected geometry file"
            )
        lat = numeric_column(raw, "lat", path, "reps", allow_negative=True).to_numpy()
        lon = numeric_column(raw, "lon", path, "reps", allow_negative=True).to_numpy()
        _check_lat_lon(raw, lat, lon, path)
        x, y = geography.project_lonlat(lon, lat, crs)
    else:
        raise DataError(f"{path}: reps need a home base: columns x,y or lat,lon")
    territory = raw["territory_id"] if "territory_id" in raw.columns else raw["rep_id"]
    territory = territory.fillna(raw["rep_id"])
    if territory.duplicated().any():
        dup = territory[territory.duplicated()].iloc[0]
        raise DataError(f"{path}: territory_id '{dup}' is given to more than one rep")
    share = np.ones(len(raw))
    if "target_share" in raw.columns:
        share = numeric_column(raw, "target_share", path, "reps").to_numpy()
        if (share <= 0).any():
            pos = int(np.flatnonzero(share <= 0)[0])
            raise DataError(f"{path}: row {pos + 2}: target_share must be > 0")
    start = np.zeros(len(raw), dtype=int)
    if "start_month" in raw.columns:
        text = raw["start_month"]
        months = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
        given = text.notna().to_numpy()
        bad = given & ~((months == np.round(months)) & (months >= 1) & (months <= 12))
        if bad.any():
            pos = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{path}: row {pos + 2}: start_month = '{shown(text.iloc[pos])}' must be a whole plan-year month "
                "1..12 (blank for a rep on board all year)"
            )
        start[given] = months[given].astype(int)
    frame = pd.DataFrame(
        {"x_km": x, "y_km": y, "territory_id": territory.to_numpy(), "target_share": share, "start_month": start},
        index=pd.Index(raw["rep_id"], name="rep_id"),
    )
    return frame, "x" not in raw.columns
