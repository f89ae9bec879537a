"""The workbench page (Bokeh): the units on a map coloured by territory, selection by click, box or lasso, the edit
buttons, and the assessment table redrawn after every edit.

Every number on the page comes from `Session.assess()`, i.e. from `spmopt assess`'s code; the page only draws."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from itertools import cycle, islice

import pandas as pd
from bokeh.document import Document
from bokeh.layouts import column, row
from bokeh.models import (
    Button,
    ColumnDataSource,
    CustomJS,
    DataTable,
    Div,
    HoverTool,
    HTMLTemplateFormatter,
    LabelSet,
    NumberFormatter,
    Select,
    Spinner,
    TableColumn,
    TextInput,
)
from bokeh.palettes import Category20
from bokeh.plotting import figure

from spmopt.errors import SpmoptError
from spmopt.workbench.places import SHOWN_AT_ONCE, Places
from spmopt.workbench.reoptimise import Reoptimisation
from spmopt.workbench.session import Edit, Session
from spmopt.workbench.shapes import unit_labels, unit_shapes
from spmopt.workbench.versions import compare, list_versions, save_version, version_locks

BROKEN = "#c62828"
CURRENT = "current edits"
"""The alignment being edited, as one side of a comparison."""
FINE = "#ffffff"
MAP_WIDTH, MAP_HEIGHT = 860, 760
PAGE = """{% block postamble %}<style>.spmopt-top { display: flex; gap: 16px; align-items: flex-start; }</style>
{% endblock %}
{% block contents %}<div class="spmopt-top">{{ embed(roots.map) }}{{ embed(roots.controls) }}</div>
{{ embed(roots.tables) }}{% endblock %}"""
"""The map, the controls and the tables are three roots: Bokeh lays each out on its own, so a changed line of text
or table row does not lay out and repaint the map again (which cost most of an update at 2,000 units)."""


@dataclass
class Page:
    """The Bokeh models one document shows, and the running re-optimisation if any."""

    session: Session
    units: ColumnDataSource
    table: DataTable
    compared: ColumnDataSource
    delta: DataTable
    locked: ColumnDataSource
    territory: Select
    selection: Div
    status: Div
    summary: Div
    latency: Div
    version_name: TextInput
    versions: Select
    base: Select
    seconds: Spinner
    level: Select
    rollup: DataTable
    refreshes: int = 0
    job: Reoptimisation | None = None
    job_callback: object | None = None
    shapes: dict[str, list] = field(default_factory=dict)


def build(doc: Document, session: Session) -> Page:
    """Lay out the page on `doc` and wire its buttons to `session`."""
    xs, ys = unit_shapes(session.data)
    colours = _palette(session.territories)
    units = ColumnDataSource(
        {
            "unit_id": list(session.units),
            "label": unit_labels(session.data),
            "xs": xs,
            "ys": ys,
            "territory": list(session.alignment),
            "colour": [colours[t] for t in session.alignment],
            "line": [FINE] * len(session.units),
            "width": [0.5] * len(session.units),
            **{f"measure_{m}": session.data.units[m].astype(float).tolist() for m in _measures(session)},
        }
    )
    plot = figure(
        name="map",
        width=MAP_WIDTH,
        height=MAP_HEIGHT,
        match_aspect=True,
        tools="pan,wheel_zoom,tap,box_select,lasso_select,reset",
        active_scroll="wheel_zoom",
        toolbar_location="above",
        min_border=0,
    )
    plot.axis.visible = False
    plot.grid.visible = False
    shapes = plot.multi_polygons(
        xs="xs",
        ys="ys",
        source=units,
        fill_color="colour",
        fill_alpha=0.75,
        line_color="line",
        line_width="width",
        selection_fill_alpha=0.95,
        selection_line_color="#000000",
        selection_line_width=2.5,
        nonselection_fill_color="colour",
        nonselection_fill_alpha=0.55,
        nonselection_line_color="line",
        nonselection_line_width="width",
        nonselection_line_alpha=1.0,  # Bokeh's default (0.1) would hide the outlines of broken territories
        name="units",
    )
    plot.add_tools(
        HoverTool(
            renderers=[shapes],
            tooltips=[
                ("unit", "@unit_id"),
                ("", "@label"),
                ("territory", "@territory"),
                *((m, f"@{{measure_{m}}}{{0,0.[00]}}") for m in _measures(session)),
            ],
        )
    )
    compared = ColumnDataSource({"xs": [], "ys": []})
    plot.multi_polygons(
        xs="xs", ys="ys", source=compared, fill_alpha=0, line_color="#000000", line_width=3, line_dash="dashed"
    )
    reps = session.data.reps
    homes = ColumnDataSource(
        {"x": reps["x_km"].tolist(), "y": reps["y_km"].tolist(), "name": [str(r) for r in reps.index]}
    )
    plot.scatter("x", "y", source=homes, marker="star", size=14, fill_color="#ffffff", line_color="#000000")
    _names(plot, session.places, homes)

    table = _grid("table", _columns(session), 900, 330)
    delta = _grid("delta", _delta_columns(session), 420, 200, _empty_delta(session))
    grouped = session.config.hierarchy is not None
    locked = ColumnDataSource({"x": [], "y": []})
    plot.scatter("x", "y", source=locked, marker="square_x", size=9, fill_alpha=0, line_color="#222222")
    page = Page(
        session=session,
        units=units,
        table=table,
        compared=compared,
        delta=delta,
        locked=locked,
        territory=Select(
            title="Assign the selection to",
            options=list(session.territories),
            value=session.territories[0],
            name="territory",
        ),
        selection=Div(name="selection", width=420),
        status=Div(text=_opening(session), name="status", width=420),
        summary=Div(name="summary", width=420),
        latency=Div(name="latency", visible=False),
        version_name=TextInput(title="Version name", value="v1", name="version_name"),
        versions=Select(title="with version", options=[], name="versions", width=140),
        base=Select(title="Compare", options=[CURRENT], value=CURRENT, name="base", width=140),
        seconds=Spinner(title="Re-optimise limit (s)", low=5, high=600, step=5, value=20, name="seconds", width=140),
        level=Select(title="Colour by", options=_levels(session), value="territory", name="level", width=140),
        rollup=_grid("rollup", [], 900, 200),
        shapes={"xs": xs, "ys": ys, "colours": colours},
    )
    page.level.visible = grouped
    page.level.on_change("value", lambda attr, old, new: refresh(page, Edit(message=f"coloured by {new}")))
    units.selected.js_on_change(
        "indices",
        CustomJS(args={"units": units, "measures": _measures(session), "target": page.selection}, code=SELECTION),
    )
    buttons = _buttons(page, doc)
    doc.js_on_event("document_ready", CustomJS(args={"undo": buttons["undo"], "redo": buttons["redo"]}, code=KEYS))
    buttons["districts"].visible = grouped and session.config.hierarchy.file is None
    controls = column(
        page.territory,
        page.selection,
        row(buttons["assign"], buttons["lock"], buttons["unlock"]),
        row(buttons["undo"], buttons["redo"]),
        row(page.seconds, buttons["reoptimise"], buttons["cancel"]),
        row(page.version_name, buttons["save"]),
        row(page.base, page.versions),
        row(buttons["compare"], buttons["open"]),
        row(page.level, buttons["districts"]),
        page.status,
        page.summary,
        page.delta,
        page.latency,
    )
    controls.name = "controls"
    doc.add_root(plot)
    doc.add_root(controls)
    doc.add_root(column(page.table, *([page.rollup] if grouped else []), name="tables"))
    doc.template = PAGE
    doc.title = f"spmopt workbench: {session.config.name}"
    refresh(page, Edit(message=""))
    _offer_versions(page)
    return page


NAMES = """
const x0 = plot.x_range.start, x1 = plot.x_range.end, y0 = plot.y_range.start, y1 = plot.y_range.end;
let w = 0, h = 0;
try { w = plot.inner_width; h = plot.inner_height } catch { return }  // not laid out yet: its ranges will change
if (!(w > 0 && h > 0 && x1 > x0 && y1 > y0)) return;
const sx = w / (x1 - x0), sy = h / (y1 - y0), taken = [];
const clear = (cx, cy, half) =>
  taken.every(([qx, qy, qh]) => Math.abs(qx - cx) >= qh + half || Math.abs(qy - cy) >= 13);
const inside = (cx, cy, half) => cx >= half && cx <= w - half && cy >= 8 && cy <= h - 8;
const place = (source, shown, perChar, sides, always, limit) => {
  const d = source.data, keep = {x: [], y: [], name: [], dx: [], dy: []};
  for (let i = 0; i < d.x.length && keep.x.length < limit; i++) {
    const px = (d.x[i] - x0) * sx, py = (d.y[i] - y0) * sy, half = perChar * d.name[i].length + 4;
    const spots = sides(half).filter(([dx, dy]) => inside(px + dx, py + dy, half));
    let spot = spots.find(([dx, dy]) => clear(px + dx, py + dy, half));
    if (spot === undefined && always) spot = spots.length ? spots[0] : sides(half)[0];
    if (spot === undefined) continue;
    taken.push([px + spot[0], py + spot[1], half]);
    keep.x.push(d.x[i]); keep.y.push(d.y[i]); keep.name.push(d.name[i]); keep.dx.push(spot[0]); keep.dy.push(spot[1]);
  }
  shown.data = keep;
};
for (let i = 0; i < homes.data.x.length; i++)  // the stars themselves
  taken.push([(homes.data.x[i] - x0) * sx, (homes.data.y[i] - y0) * sy, 7]);
// every rep's name, right of its star, else left, above or below: the first free side
place(homes, rep_names, 3.8, (half) => [[half + 10, 0], [-half - 10, 0], [0, 14], [0, -14]], true, Infinity);
// the largest places that fit: below the place, else above, right or left of it, or clear of a star on it
const sides = (half) => [[0, -11], [0, 11], [half + 8, 0], [-half - 8, 0], [0, -15], [0, 15]];
place(places, place_names, 3.4, sides, false, limit);
"""
"""Names placed in pixels at the current zoom: every rep's beside its star on the first side where it overlaps
nothing, then the largest places that fit without overlapping anything (a name is taken as 7.6 px a character
wide at 9pt, 6.8 px at 8pt, and 13 px high)."""


def _names(plot, found: Places, homes: ColumnDataSource) -> None:
    """Rep and place names that follow the zoom, placed in the browser on every pan or zoom (the server is not
    asked)."""
    every = ColumnDataSource({"x": list(found.x), "y": list(found.y), "name": list(found.name)}, name="places")
    shown = {}
    for key, size, colour, background in (
        ("rep_names", "9pt", "#000000", 0.7),
        ("place_names", "8pt", "#1a1a1a", 0.55),
    ):
        shown[key] = ColumnDataSource({"x": [], "y": [], "name": [], "dx": [], "dy": []}, name=key)
        plot.add_layout(
            LabelSet(
                x="x",
                y="y",
                text="name",
                source=shown[key],
                text_font_size=size,
                text_align="center",
                text_baseline="middle",
                x_offset="dx",
                y_offset="dy",
                text_color=colour,
                background_fill_color="#ffffff",
                background_fill_alpha=background,
            )
        )
    args = {"places": every, "homes": homes, "plot": plot, "limit": SHOWN_AT_ONCE, **shown}
    pick = CustomJS(args=args, code=NAMES)
    for axis in (plot.x_range, plot.y_range):
        axis.js_on_change("start", pick)
        axis.js_on_change("end", pick)


def refresh(page: Page, edit: Edit) -> None:
    """Re-assess and redraw the map and the table; the refresh's number and the time it took land in the hidden
    latency Div, the last change sent (numbered, so that every refresh changes it even when two take as long).
    (Held and combined, Bokeh would resend the whole map source, polygons included.)"""
    clock = time.perf_counter()
    _redraw(page, edit)
    page.refreshes += 1
    page.latency.text = f"{page.refreshes} {1000 * (time.perf_counter() - clock):.1f}"


def _redraw(page: Page, edit: Edit) -> None:
    session = page.session
    assessment = session.assess()
    terr = assessment.territories
    broken = set(terr.loc[~terr["ok"], "territory_id"])
    levels = _levels(session)
    if page.level.options != levels:  # districts designed (or undone) since the last edit
        page.level.options = levels
    if page.level.value not in levels:
        page.level.value = "territory"
    level = session.level_of(page.level.value)
    colours = _palette(sorted(set(level.values()))) if page.level.value != "territory" else page.shapes["colours"]
    alignment = list(session.alignment)
    _patch(
        page.units,
        {
            "territory": alignment,
            "colour": [colours[level[t]] for t in alignment],
            "line": [BROKEN if t in broken else FINE for t in alignment],
            "width": [2.0 if t in broken else 0.5 for t in alignment],
        },
    )
    xy = session.data.units.loc[list(session.locks), ["x_km", "y_km"]]
    locked = {"x": xy["x_km"].tolist(), "y": xy["y_km"].tolist()}
    if locked != page.locked.data:
        page.locked.data = locked
    _show(page.table, _table_data(session, terr))
    rollup = session.roll_up()
    if rollup is not None:
        frame = rollup.districts
        if not page.rollup.columns:
            page.rollup.columns = [TableColumn(field=c, title=c) for c in frame.columns]
        _show(page.rollup, {c: frame[c].tolist() for c in frame.columns})
    elif any(page.rollup.source.data.values()):  # districts undone: empty the table once
        _show(page.rollup, {c.field: [] for c in page.rollup.columns})
    facts = assessment.facts
    parts = [f"{len(terr) - len(broken)} of {len(terr)} territories within every requirement"]
    if facts.moved_share_pct is not None:
        what = facts.disruption_measure or "units"
        how = ", account by account" if facts.moved_on_accounts else ""
        parts.append(f"moved {facts.moved_share_pct:.2f}% of {what}{how} from today's alignment")
    if facts.cut_edges is not None:
        parts.append(f"{facts.cut_edges} cut edges")
    parts.append(f"{len(session.locks)} locked units, {len(session.edited())} moved by hand")
    page.summary.text = "<br>".join(parts)
    if edit.message:
        page.status.text = edit.message


KEYS = """
document.addEventListener('keydown', (event) => {
  const typing = ['INPUT', 'TEXTAREA', 'SELECT'].includes(event.composedPath()[0]?.tagName);
  if (typing || !(event.ctrlKey || event.metaKey)) return;
  const key = event.key.toLowerCase();
  const button = key === 'z' ? (event.shiftKey ? redo : undo) : key === 'y' ? redo : null;
  if (button === null) return;
  event.preventDefault();
  for (const view of Bokeh.index.find(button)) view.button_el.click();
});
"""
"""Ctrl+Z (Cmd+Z) undoes and Ctrl+Y or Ctrl+Shift+Z redoes, as the buttons do; not while typing in a field."""


def _opening(session: Session) -> str:
    note = session.start_note
    return f"Editing {session.start_name}" + (f". {note[:1].upper()}{note[1:]}" if note else "")


def _measures(session: Session) -> list[str]:
    """The measures a unit's hover and the selection's sum show: the balance measures."""
    return [b.measure for b in session.inputs.bands]


SELECTION = """
const d = units.data, picked = units.selected.indices;
if (!picked.length) { target.text = ''; return }
const sums = measures.map((m) => picked.reduce((acc, i) => acc + d['measure_' + m][i], 0));
const fmt = (v) => v.toLocaleString('en-US', {maximumFractionDigits: 2});
target.text = `${picked.length} unit(s) selected: ` + measures.map((m, k) => `${m} ${fmt(sums[k])}`).join(', ');
"""
"""The selection's size and sums, computed in the browser as the planner selects (no round trip)."""


def _grid(name: str, columns: list[TableColumn], width: int, height: int, data: dict | None = None) -> DataTable:
    table = DataTable(
        source=ColumnDataSource(data or {}),
        columns=columns,
        width=width,
        height=height,
        index_position=None,
        reorderable=False,
        name=name,
    )
    # BokehJS 3.9 redraws a table's rows only when their number changes; new figures in as many rows must ask.
    table.source.js_on_change("data", CustomJS(args={"table": table}, code=REDRAW_ROWS))
    return table


REDRAW_ROWS = "for (const view of Bokeh.index.find(table)) { view.updateGrid() }"


def _show(table: DataTable, data: dict[str, list]) -> None:
    """New rows for a table, in its source (a new source would build the browser's grid again: 20-60 ms)."""
    table.source.data = data


DISTINCT = (*Category20[20][0::2], *Category20[20][1::2])
"""Category20's ten strong colours first, then their light partners: neighbours in a list of territories get
different hues, not a blue and a lighter blue."""


def _palette(names: list[str] | tuple[str, ...]) -> dict[str, str]:
    return dict(zip(names, islice(cycle(DISTINCT), len(names)), strict=True))


def _levels(session: Session) -> list[str]:
    if session.hierarchy is None:
        return ["territory"]
    return ["territory", "district", *(["region"] if session.hierarchy.has_regions else [])]


def _patch(source: ColumnDataSource, columns: dict[str, list]) -> None:
    """Send only the entries that changed: redrawing a few thousand polygons costs the browser more than the
    assessment costs the server."""
    changes = {}
    for name, values in columns.items():
        diff = [(i, v) for i, (v, w) in enumerate(zip(values, source.data[name], strict=True)) if v != w]
        if diff:
            changes[name] = diff
    if changes:
        source.patch(changes)


def _table_data(session: Session, terr: pd.DataFrame) -> dict[str, list]:
    data: dict[str, list] = {
        "territory_id": terr["territory_id"].astype(str).tolist(),
        "rep_id": terr["rep_id"].astype(str).tolist(),
        "units": terr["units"].astype(int).tolist(),
        "ok": terr["ok"].astype(bool).tolist(),
        "verdict": terr["verdict"].astype(str).tolist(),
        "mean_distance_km": terr["mean_distance_km"].astype(float).tolist(),
    }
    for band in session.inputs.bands:
        m = band.measure
        data[m] = terr[m].astype(float).tolist()
        data[f"{m}_dev_pct"] = terr[f"{m}_dev_pct"].astype(float).tolist()
        data[f"{m}_in"] = (terr[f"{m}_outside"] == 0).tolist()
    if "pieces" in terr:
        data["pieces"] = terr["pieces"].astype(int).tolist()
    if "locks_broken" in terr:
        data["locks_broken"] = terr["locks_broken"].astype(int).tolist()
    return data


def _columns(session: Session) -> list[TableColumn]:
    money = NumberFormatter(format="0,0")
    cols = [
        TableColumn(field="territory_id", title="territory", width=150),
        TableColumn(field="units", title="units", width=50),
    ]
    for band in session.inputs.bands:
        m = band.measure
        flag = HTMLTemplateFormatter(
            template=f'<span style="color:<%= {m}_in ? "#222" : "{BROKEN}" %>"><%= value.toFixed(2) %>%</span>'
        )
        cols += [
            TableColumn(field=m, title=m, formatter=money, width=100),
            TableColumn(
                field=f"{m}_dev_pct", title=f"{m} vs target (±{100 * band.tolerance:g}%)", formatter=flag, width=110
            ),
        ]
    if session.inputs.contiguity:
        cols.append(TableColumn(field="pieces", title="pieces", width=50))
    cols.append(
        TableColumn(field="mean_distance_km", title="mean km", formatter=NumberFormatter(format="0.0"), width=60)
    )
    if session.locks:
        cols.append(TableColumn(field="locks_broken", title="locks broken", width=60))
    verdict = HTMLTemplateFormatter(template=f'<span style="color:<%= ok ? "#222" : "{BROKEN}" %>"><%= value %></span>')
    cols.append(TableColumn(field="verdict", title="verdict", formatter=verdict, width=400))
    return cols


def _delta_columns(session: Session) -> list[TableColumn]:
    cols = [TableColumn(field="territory_id", title="territory"), TableColumn(field="units", title="Δ units")]
    cols += [
        TableColumn(field=b.measure, title=f"Δ {b.measure}", formatter=NumberFormatter(format="+0,0"))
        for b in session.inputs.bands
    ]
    return cols


def _empty_delta(session: Session) -> dict[str, list]:
    return {"territory_id": [], "units": [], **{b.measure: [] for b in session.inputs.bands}}


def _selected(page: Page) -> list[str]:
    ids = page.units.data["unit_id"]
    return [ids[i] for i in page.units.selected.indices]


def _buttons(page: Page, doc: Document) -> dict[str, Button]:
    session = page.session

    def act(work) -> None:
        try:
            edit = work()
        except SpmoptError as exc:
            page.status.text = f"<b>refused</b>: {exc}"
            return
        refresh(page, edit)

    def reoptimise() -> None:
        if page.job is not None and not page.job.finished:
            page.status.text = "a re-optimisation is already running"
            return
        page.job = Reoptimisation(session.config, session.data, session.locks_for_reoptimising(), page.seconds.value)
        page.status.text = f"re-optimising around {len(session.edited())} moved and {len(session.locks)} locked units…"
        page.job_callback = doc.add_periodic_callback(lambda: _poll(page, doc), 250)

    def cancel() -> None:
        if page.job is not None and not page.job.finished:
            page.job.cancel()
            _stop_polling(page, doc)
            page.status.text = "re-optimisation cancelled; the alignment is as it was"

    def save() -> None:
        try:
            folder = save_version(session, page.version_name.value.strip())
        except SpmoptError as exc:
            page.status.text = f"<b>not saved</b>: {exc}"
            return
        page.status.text = f"saved {folder} (run it: spmopt run {folder / 'scenario.yaml'})"
        _offer_versions(page)

    def compare_with() -> None:
        saved = {v.name: v for v in list_versions(session)}
        chosen, base = saved.get(page.versions.value), saved.get(page.base.value)
        if chosen is None or (base is None and page.base.value != CURRENT):
            page.compared.data = {"xs": [], "ys": []}
            _show(page.delta, _empty_delta(session))
            page.status.text = "choose the saved version to compare with"
            return
        moved, table = compare(session, chosen, base)
        where = [session.units.index(u) for u in moved]
        page.compared.data = {"xs": [page.shapes["xs"][i] for i in where], "ys": [page.shapes["ys"][i] for i in where]}
        _show(page.delta, {c: table[c].tolist() for c in table.columns})
        this = "the alignment being edited" if base is None else f"version {base.name}"
        page.status.text = f"{len(moved)} unit(s) differ between {this} and version {chosen.name} (dashed)"

    def open_version() -> None:
        chosen = next((v for v in list_versions(session) if v.name == page.versions.value), None)
        if chosen is None:
            page.status.text = "choose a saved version to open"
            return
        act(lambda: session.open_version(chosen.alignment, version_locks(session, chosen), chosen.name))

    handlers = {
        "assign": ("Assign", lambda: act(lambda: session.assign(_selected(page), page.territory.value))),
        "lock": ("Lock", lambda: act(lambda: session.lock(_selected(page)))),
        "unlock": ("Unlock", lambda: act(lambda: session.unlock(_selected(page)))),
        "undo": ("Undo", lambda: act(session.undo)),
        "redo": ("Redo", lambda: act(session.redo)),
        "reoptimise": ("Re-optimise", reoptimise),
        "cancel": ("Cancel", cancel),
        "save": ("Save version", save),
        "compare": ("Compare", compare_with),
        "open": ("Open", open_version),
        "districts": ("Re-design districts", lambda: act(session.redesign_districts)),
    }
    out = {}
    for key, (label, handler) in handlers.items():
        button = Button(label=label, name=key, width=110 if len(label) < 14 else 160)
        button.on_click(handler)
        out[key] = button
    return out


def _poll(page: Page, doc: Document) -> None:
    if page.job is None:
        return
    for message in page.job.poll():
        if message.kind == "progress":
            page.status.text = f"re-optimising: {message.text}"
        elif message.kind == "done" and message.alignment is not None:
            edit = page.session.replace_alignment(pd.Series(message.alignment), "")
            refresh(page, Edit(edit.moved, message=f"re-optimised: {len(edit.moved)} unit(s) moved (Undo to go back)"))
        elif message.kind == "error":
            page.status.text = f"<b>re-optimisation failed</b>: {message.text}"
    if page.job.finished:
        _stop_polling(page, doc)


def _stop_polling(page: Page, doc: Document) -> None:
    if page.job_callback is not None:
        doc.remove_periodic_callback(page.job_callback)
        page.job_callback = None


def _offer_versions(page: Page) -> None:
    names = [v.name for v in list_versions(page.session)]
    page.versions.options = ["", *names]
    if page.versions.value not in page.versions.options:
        page.versions.value = ""
    page.base.options = [CURRENT, *names]
    if page.base.value not in page.base.options:
        page.base.value = CURRENT
