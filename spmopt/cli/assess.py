"""`spmopt assess`: judge a planner's alignment (a file, or hand moves on today's) against a scenario's bands,
contiguity, locks and disruption cap. Exit 0 when every requirement holds, 1 when any fails, 2 on bad input."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from spmopt.cli.common import Overrides, app, fail, interrupted, out, print_warnings
from spmopt.errors import SpmoptError
from spmopt.folder import check_output_folder


@app.command()
def assess(
    scenario: Path,
    alignment: Annotated[
        Path | None,
        typer.Option(help="unit_id,territory_id for every unit, e.g. an earlier run's alignment.csv"),
    ] = None,
    moves: Annotated[
        Path | None,
        typer.Option(help="unit_id,territory_id hand moves, applied on today's alignment (or on --alignment)"),
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Write assessment.csv, alignment.csv and manifest.json here")
    ] = None,
    overrides: Overrides = None,
) -> None:
    """Check an alignment against the scenario's requirements, territory by territory; without --alignment,
    today's alignment (data.current_alignment, or the owners of data.accounts) with any --moves. Exit 0: every
    requirement holds; 1: any fails."""
    from spmopt.data.loader import load_planning_data, read_candidate_alignment, read_moves, with_moves
    from spmopt.scenario import load_scenario
    from spmopt.territory.assess import assess_alignment
    from spmopt.territory.inputs import territory_inputs

    try:
        clock = time.perf_counter()
        cfg = load_scenario(scenario, overrides or ())
        files = [p for p in (alignment, moves) if p is not None]
        if out_dir is not None:
            check_output_folder(out_dir, [scenario, *cfg.input_paths(), *files])
        today = cfg.data.current_alignment or (cfg.data.accounts.file if cfg.data.accounts is not None else None)
        base_path = alignment if alignment is not None else today
        if base_path is None:
            what = "--moves applies hand moves to" if moves is not None else "without --alignment, assess checks"
            raise SpmoptError(
                f"{scenario}: {what} today's alignment, but the scenario names no data.current_alignment "
                "or data.accounts; "
                "give the alignment with --alignment FILE"
            )
        data = load_planning_data(cfg)
        inp = territory_inputs(data, cfg)
        if alignment is not None:
            base = read_candidate_alignment(alignment, data, "alignment")[0]
        else:
            base = data.current_alignment
        hand = read_moves(moves, data) if moves is not None else None
        assessed = with_moves(base, base_path, hand, moves, data)
        described = f"{base_path}" + (f" with the moves in {moves}" if moves is not None else "")
        result = assess_alignment(inp, data, assessed)
        result = replace(result, facts=result.facts.model_copy(update={"source": described}))
        warnings = [*data.warnings, *_idle_moves(base, hand, moves)]
        if out_dir is not None:
            from spmopt.report.assessment import write_assessment_outputs

            seconds = time.perf_counter() - clock
            write_assessment_outputs(result, cfg, data, out_dir, scenario, files, warnings, seconds)
    except SpmoptError as exc:
        fail(exc, scenario)
    except KeyboardInterrupt:
        interrupted(out_dir)
    _print_assessment(result, inp, described)
    print_warnings(warnings)
    if out_dir is not None:
        out.print(f"assessment in {out_dir}")
    raise typer.Exit(code=0 if result.ok else 1)


def _idle_moves(base, hand, moves: Path | None) -> list[str]:
    """Moves that leave a unit where it already is: harmless, but often a typo for another territory."""
    if hand is None:
        return []
    same = [u for u, t in hand.items() if u in base.index and str(base[u]) == t]
    if not same:
        return []
    listed = ", ".join(same[:5]) + (f" and {len(same) - 5} more" if len(same) > 5 else "")
    return [f"{moves}: {len(same)} move(s) put a unit where it already is: {listed}"]


def _print_assessment(result, inp, described: str) -> None:
    facts = result.facts
    terr = result.territories
    table = Table(show_header=True, header_style="bold", title=described)
    table.add_column("territory", no_wrap=True)
    table.add_column("units", justify="right")
    for band in inp.bands:
        table.add_column(band.measure, justify="right")
    if "contiguous" in terr:
        table.add_column("pieces", justify="right")
    table.add_column("km mean/max", justify="right")
    if "locks_broken" in terr:
        table.add_column("locks", justify="right")
    table.add_column("verdict")
    for _, row in terr.iterrows():
        cells = [str(row["territory_id"]), str(row["units"])]
        for band in inp.bands:
            m = band.measure
            cell = f"{row[f'{m}_dev_pct']:+.2f}%"
            cells.append(f"[red]{cell}[/]" if row[f"{m}_outside"] else cell)
        if "contiguous" in terr:
            pieces = str(row["piece_units"]) if row["pieces"] > 1 else str(row["pieces"])
            cells.append(f"[red]{pieces}[/]" if row["pieces"] > 1 and inp.contiguity else pieces)
        cells.append(f"{_km(row['mean_distance_km'])}/{_km(row['max_distance_km'])}")
        if "locks_broken" in terr:
            cells.append(f"[red]{row['locks_broken']}[/]" if row["locks_broken"] else "0")
        cells.append("[green]ok[/]" if row["ok"] else f"[red]{_failing(row, inp)}[/]")
        table.add_row(*cells)
    out.print(table)
    _print_lines(facts, inp)


def _failing(row, inp) -> str:
    """The requirements a territory breaks, by name (the full text is in the lines below the table)."""
    names = [b.measure for b in inp.bands if row[f"{b.measure}_outside"]] if row["units"] else ["no units"]
    if inp.contiguity and row.get("pieces", 1) > 1:
        names.append("contiguity")
    if row.get("locks_broken", 0):
        names.append("locks")
    return ", ".join(names)


def _km(value: float) -> str:
    return "n/a" if value != value else f"{value:,.1f}"


def _print_lines(facts, inp) -> None:
    bands = " and ".join(f"{b.measure} ±{b.tolerance_pct:g}%" for b in facts.bands)
    if bands:
        out.print(f"bands: {bands} of each rep's share-weighted target (the table: % from target)", highlight=False)
    if facts.contiguous_territories is not None:
        required = "required" if facts.contiguity_required else "not required"
        out.print(
            f"contiguity ({required}): {facts.contiguous_territories} of {facts.territories} territories "
            f"contiguous; {facts.cut_edges} cut edges",
            highlight=False,
        )
    if facts.locked_units:
        out.print(f"locks: {facts.locks_broken} of {facts.locked_units} locked units elsewhere", highlight=False)
    if facts.moved_share_pct is not None:
        what = facts.disruption_measure or "units"
        what += ", account by account," if facts.moved_on_accounts else ""
        cap = f"cap {facts.max_disruption_pct:.2f}%" if facts.max_disruption_pct is not None else "no cap"
        out.print(
            f"disruption: {facts.moved_share_pct:.2f}% of {what} moved from today's alignment ({cap})",
            highlight=False,
        )
    if facts.ok:
        out.print("[bold green]ok[/]: every requirement holds")
        return
    out.print(f"[bold red]fails[/]: {len(facts.failures)} requirement(s) broken")
    for failure in facts.failures:
        out.print(f"  {failure}", markup=False, highlight=False, soft_wrap=True)
