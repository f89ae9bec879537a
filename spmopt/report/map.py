"""Draw the alignment: territories coloured, borders drawn, rep bases or centres marked.

A map is an illustration, never a reason to lose a run: every layer is drawn on its own, a layer that cannot be
drawn (an invalid polygon the geometry library refuses, say) is left out or drawn from repaired polygons, and
what was left out is printed under the map and stored in the PNG's `Warning` text chunk, from which the report
lifts it into the run's warnings (`map_warnings`).
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
import shapely
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from spmopt.data.loader import PlanningData
from spmopt.territory.plan import TerritoryPlan

WARNING_KEY = "Warning"
"""PNG text keyword (one of the standard ones) that carries what the map could not draw."""
_SEPARATOR = "\n"
APPROXIMATE_NOTE = "Unit areas are approximate: Voronoi cells of the unit locations (data.adjacency_from: points)"
_LOG = logging.getLogger(__name__)
# Errors the geometry and plotting stack raise on bad shapes; anything else is a bug and should surface.
_DRAWING_ERRORS = (shapely.errors.GEOSException, ValueError, TypeError, IndexError, KeyError, AttributeError)


def draw_alignment_map(plan: TerritoryPlan, data: PlanningData, title: str, path: Path) -> list[str]:
    """Write a PNG map of `plan` to `path`; returns what could not be drawn (also kept in the PNG)."""
    return draw_groups_map(plan.alignment, plan.centres, data, title, path)


def draw_groups_map(
    alignment: pd.DataFrame,
    centres: pd.DataFrame,
    data: PlanningData,
    title: str,
    path: Path,
    centre_label: str = "territory centre",
) -> list[str]:
    """Write a PNG map of units grouped by `alignment` (`unit_id`, `territory_id`: any grouping, e.g. districts)
    with `centres` (index the group, `rep_id`, `x_km`, `y_km`) marked; returns what could not be drawn."""
    tids = sorted(alignment["territory_id"].unique())
    palette = matplotlib.colormaps["tab20" if len(tids) > 10 else "tab10"]
    colours = ListedColormap([palette(i % palette.N) for i in range(max(len(tids), 1))])
    code = {t: n for n, t in enumerate(tids)}
    tid = alignment.set_index("unit_id")["territory_id"].reindex(data.units.index)
    territory = tid.map(code)
    scale = {"cmap": colours, "vmin": -0.5, "vmax": len(tids) - 0.5}

    # Built without pyplot, so writing a map never changes a notebook's backend or figures.
    fig = Figure(figsize=(10, 10), dpi=120)
    ax = fig.subplots()
    problems: list[str] = []
    drawn = False
    if data.geometry is not None:
        drawn = _draw_polygons(ax, data.geometry, territory, scale, problems)
    if not drawn:
        units = data.units
        ax.scatter(units["x_km"], units["y_km"], c=territory, s=12, **scale)
    _draw_bridges(ax, data, problems)
    _draw_centres(ax, centres, problems, centre_label)
    ax.set_title(title, fontsize=12)
    ax.set_xlabel("km (east)" + (f"\n{APPROXIMATE_NOTE}" if drawn and data.geometry_approximate else ""))
    ax.set_ylabel("km (north)")
    ax.set_aspect("equal")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower left", fontsize=8)
    if problems:
        fig.text(0.01, 0.005, "Not drawn as given: " + "; ".join(problems), fontsize=7, color="#9a3412", wrap=True)
    fig.tight_layout()
    metadata = {WARNING_KEY: _SEPARATOR.join(problems)} if problems else {}
    fig.savefig(path, metadata=metadata)
    return problems


def map_warnings(path: Path) -> list[str]:
    """What a map written by `draw_alignment_map` could not draw ([] when it drew everything or is unreadable)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            text = getattr(image, "text", {}).get(WARNING_KEY, "")
    except (OSError, UnidentifiedImageError):
        return []
    return [line for line in text.split(_SEPARATOR) if line]


def _draw_polygons(ax: Axes, geometry: gpd.GeoDataFrame, territory: pd.Series, scale: dict, problems: list) -> bool:
    """Fill each unit's polygon in its territory's colour and outline the territories; False when no polygon
    could be drawn (the caller then plots the units as points)."""
    geo = _drawable(geometry, problems).assign(territory=territory.reindex(geometry.index).to_numpy())
    geo = geo[geo["territory"].notna()]
    if geo.empty:
        return False
    try:
        geo.plot(ax=ax, column="territory", edgecolor="white", linewidth=0.3, **scale)
    except _DRAWING_ERRORS as exc:
        _LOG.debug("polygon fill failed", exc_info=True)
        problems.append(f"unit polygons (drawing failed: {_reason(exc)}); units shown as points")
        return False
    try:
        geo.dissolve(by="territory").boundary.plot(ax=ax, color="black", linewidth=1.2)
    except _DRAWING_ERRORS as exc:
        _LOG.debug("territory borders failed", exc_info=True)
        problems.append(f"territory borders (merging the units' polygons failed: {_reason(exc)})")
    return True


def _drawable(geometry: gpd.GeoDataFrame, problems: list[str]) -> gpd.GeoDataFrame:
    """The polygons as they can be drawn: invalid ones (self-intersecting rings, say) repaired, those that do
    not repair to an area left out; each named in `problems`."""
    shapes = geometry.geometry
    valid = shapes.is_valid.to_numpy() & ~shapes.is_empty.to_numpy()
    if valid.all():
        return geometry
    repaired = shapes.copy()
    bad = shapes.index[~valid]
    fixed = shapely.make_valid(np.asarray(shapes[~valid]))
    polygonal = [_area_part(g) for g in fixed]
    repaired.loc[bad] = polygonal
    kept = [uid for uid, g in zip(bad, polygonal, strict=True) if g is not None]
    dropped = [uid for uid, g in zip(bad, polygonal, strict=True) if g is None]
    if kept:
        problems.append(f"invalid polygon(s) of unit(s) {_ids(kept)} drawn repaired")
    if dropped:
        problems.append(f"polygon(s) of unit(s) {_ids(dropped)} left out (no area after repair)")
    out = geometry.copy()
    out.geometry = repaired
    return out[out.geometry.notna()]


def _area_part(shape: shapely.Geometry) -> shapely.Geometry | None:
    """The polygons of a repaired shape (make_valid may add the lines and points of a collapsed ring)."""
    if shape is None or shape.is_empty:
        return None
    if isinstance(shape, shapely.Polygon | shapely.MultiPolygon):
        return shape
    parts = [p for p in getattr(shape, "geoms", ()) if isinstance(p, shapely.Polygon | shapely.MultiPolygon)]
    return shapely.unary_union(parts) if parts else None


def _draw_bridges(ax: Axes, data: PlanningData, problems: list[str]) -> None:
    """The adjacency edges `territory.islands: bridge` added, dashed."""
    for n, (a, b, _) in enumerate(data.bridged_edges):
        try:
            ends = data.units.loc[[a, b]]
        except KeyError:
            problems.append(f"added link {a}-{b} (unit not in the units table)")
            continue
        label = "added link (territory.islands: bridge)" if n == 0 else None
        ax.plot(ends["x_km"], ends["y_km"], color="black", linestyle="--", linewidth=1.2, zorder=4, label=label)


def _draw_centres(ax: Axes, centres: pd.DataFrame, problems: list[str], centre_label: str) -> None:
    """Rep home bases (stars) or territory centres (dots), each labelled with its territory."""
    placed = centres[np.isfinite(centres["x_km"].astype(float)) & np.isfinite(centres["y_km"].astype(float))]
    if len(placed) < len(centres):
        problems.append(f"home base of territory(ies) {_ids(centres.index.difference(placed.index))} (no coordinates)")
    if placed.empty:
        return
    marker = "*" if placed["rep_id"].notna().any() else "o"
    ax.scatter(
        placed["x_km"],
        placed["y_km"],
        marker=marker,
        s=260,
        c="gold",
        edgecolors="black",
        linewidths=1.2,
        zorder=5,
        label="rep home base" if marker == "*" else centre_label,
    )
    for territory_id, row in placed.iterrows():
        ax.annotate(
            str(territory_id),
            (row["x_km"], row["y_km"]),
            xytext=(6, 6),
            textcoords="offset points",
            fontsize=8,
            weight="bold",
            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.8},
            zorder=6,
        )


def _ids(ids: object, shown: int = 5) -> str:
    ids = [str(i) for i in ids]
    more = f" and {len(ids) - shown} more" if len(ids) > shown else ""
    return ", ".join(ids[:shown]) + more


def _reason(exc: Exception) -> str:
    return str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
