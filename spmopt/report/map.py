"""Draw the alignment: territories coloured, borders drawn, rep bases or centres marked."""

from __future__ import annotations

from pathlib import Path

import matplotlib
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from spmopt.data.loader import PlanningData
from spmopt.territory.plan import TerritoryPlan


def draw_alignment_map(plan: TerritoryPlan, data: PlanningData, title: str, path: Path) -> None:
    """Write a PNG map of `plan` to `path`."""
    tids = sorted(plan.alignment["territory_id"].unique())
    palette = matplotlib.colormaps["tab20" if len(tids) > 10 else "tab10"]
    colours = ListedColormap([palette(i % palette.N) for i in range(len(tids))])
    code = {t: n for n, t in enumerate(tids)}
    tid = plan.alignment.set_index("unit_id")["territory_id"].reindex(data.units.index)

    # Built without pyplot, so writing a map never changes a notebook's backend or figures.
    fig = Figure(figsize=(10, 10), dpi=120)
    ax = fig.subplots()
    if data.geometry is not None:
        geo = data.geometry.assign(territory=tid.map(code).to_numpy())
        geo.plot(
            ax=ax, column="territory", cmap=colours, vmin=-0.5, vmax=len(tids) - 0.5, edgecolor="white", linewidth=0.3
        )
        geo.dissolve(by="territory").boundary.plot(ax=ax, color="black", linewidth=1.2)
    else:
        units = data.units
        ax.scatter(units["x_km"], units["y_km"], c=tid.map(code), cmap=colours, s=12, vmin=-0.5, vmax=len(tids) - 0.5)
    for n, (a, b, _) in enumerate(data.bridged_edges):
        ends = data.units.loc[[a, b]]
        label = "added link (territory.islands: bridge)" if n == 0 else None
        ax.plot(ends["x_km"], ends["y_km"], color="black", linestyle="--", linewidth=1.2, zorder=4, label=label)
    centres = plan.centres
    marker = "*" if centres["rep_id"].notna().any() else "o"
    ax.scatter(
        centres["x_km"],
        centres["y_km"],
        marker=marker,
        s=260,
        c="gold",
        edgecolors="black",
        linewidths=1.2,
        zorder=5,
        label="rep home base" if marker == "*" else "territory centre",
    )
    for territory_id, row in centres.iterrows():
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
    ax.set_title(title, fontsize=12)
    ax.set_xlabel("km (east)")
    ax.set_ylabel("km (north)")
    ax.set_aspect("equal")
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
