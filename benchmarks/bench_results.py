"""Regenerate benchmarks/RESULTS.md from the stored per-instance results in benchmarks/results/<suite>/*.json.

    python benchmarks/bench_results.py                   # tables from the stored results
    python benchmarks/bench_results.py --run cpmp pmed   # run those suites first (spmopt bench suite NAME)

Every figure in the page comes from the JSON files written by `spmopt bench suite`; only the published
known values (with their sources) come from `spmopt_bench.suites`. Run as a script, this file's folder is
on `sys.path`, so `spmopt_bench` beside it imports without being installed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from spmopt_bench import planner_suite
from spmopt_bench.compare import markdown_table
from spmopt_bench.paths import BENCHMARKS, RESULTS
from spmopt_bench.planner import DESIGNS
from spmopt_bench.suites import NAMES, PLANNER, SCALE, Suite, run_suite, scale_target_met, suite, target_met
from spmopt_bench.territory import summary_line

PAGE = BENCHMARKS / "RESULTS.md"


def load(results: Path) -> dict[str, dict[str, dict]]:
    """suite -> instance -> stored result, from every `<results>/<suite>/*.json`."""
    stored: dict[str, dict[str, dict]] = {}
    for file in sorted(results.glob("*/*.json")):
        if file.parent.name == "compare":  # comparison runs have their own section
            continue
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            print(f"skipping {file}: {exc}", file=sys.stderr)
            continue
        name = str(data.get("suite", file.parent.name))
        stored.setdefault(name, {})[str(data.get("instance", file.stem))] = data
    return stored


def _num(value: object, digits: int = 10) -> str:
    return "–" if value is None else f"{float(value):.{digits}g}"  # type: ignore[arg-type]


def _pct(value: object) -> str:
    return "–" if value is None else f"{100 * float(value):.4f}%"  # type: ignore[arg-type]


HEADER = "| instance | n | p/k | known | ours | gap to known | proven gap | seconds | status | target met |"
RULE = "|---|---:|---:|---:|---:|---:|---:|---:|---|---|"


def _row(name: str, known: float | None, r: dict | None, met: bool) -> str:
    if r is None:
        return f"| {name} | – | – | {_num(known)} | – | – | – | – | not run | no |"
    status = str(r.get("status"))
    if r.get("error"):
        status += f": {str(r['error']).replace('|', '/')}"
    return (
        f"| {name} | {r.get('n', '–')} | {r.get('k', '–')} | {_num(known)} | {_num(r.get('objective'))} | "
        f"{_pct(r.get('gap_to_known'))} | {_pct(r.get('gap'))} | {float(r['seconds']):.1f} | {status} | "
        f"{'yes' if met else 'no'} |"
    )


def suite_section(s: Suite, stored: dict[str, dict]) -> tuple[list[str], int, int]:
    """Markdown lines of one suite, the number reaching the target, and the number of instances."""
    lines = [f"## {s.name}: {s.title}", "", f"Target: {s.describe_target()}. Known values: {s.source}.", ""]
    lines += [HEADER, RULE]
    met_count = 0
    for case in s.cases:
        r = stored.get(case.name)
        met = r is not None and target_met(s, r)
        met_count += met
        lines.append(_row(case.name, case.known, r, met))
    lines += ["", f"**{met_count} of {len(s.cases)} reach the target.**", ""]
    commands = sorted({str(r["suite_command"]) for r in stored.values() if r.get("suite_command")})
    if commands:
        lines += ["Command(s):", "", "```", *commands, "```", ""]
    return lines, met_count, len(s.cases)


def scale_section(stored: dict[str, dict]) -> tuple[list[str], int, int]:
    """The scale design's stored result (the suite runs one synthetic instance)."""
    lines = [
        "## scale: synthetic 30,000-unit, 300-territory balanced contiguous design",
        "",
        "Target: feasible, certified gap <= 2%, within 600 s and under 8 GiB.",
        "",
    ]
    if not stored:
        return [*lines, "Not run.", ""], 0, 1
    met = 0
    lines += ["| instance | objective | bound | proven gap | seconds | peak memory (GiB) | status | target met |"]
    lines += ["|---|---:|---:|---:|---:|---:|---|---|"]
    for name, r in sorted(stored.items()):
        ok = scale_target_met(r)
        met += ok
        lines.append(
            f"| {name} | {_num(r.get('objective'))} | {_num(r.get('bound'))} | {_pct(r.get('gap'))} | "
            f"{float(r.get('seconds', 0)):.1f} | {_num(r.get('peak_memory_gib'), 3)} | {r.get('status')} | "
            f"{'yes' if ok else 'no'} |"
        )
    commands = sorted({str(r["suite_command"]) for r in stored.values() if r.get("suite_command")})
    lines += ["", f"**{met} of {len(stored)} reach the target.**", "", "```", *commands, "```", ""]
    return lines, met, len(stored)


def _tolerances(r: dict) -> str:
    measures, tolerances = r.get("measures") or [], r.get("tolerances") or []
    return ", ".join(f"{m} ±{100 * float(t):g}%" for m, t in zip(measures, tolerances, strict=False)) or "–"


def _requirements(r: dict) -> str:
    parts = ["contiguous" if r.get("contiguity") else "free"]
    if r.get("locks"):
        parts.append(f"{r['locks']} locks")
    if r.get("cap") is not None:
        parts.append(f"cap {100 * float(r['cap']):g}%")
    if r.get("unequal_share"):
        parts.append("1.5x share")
    return ", ".join(parts)


def planner_section(stored: dict[str, dict]) -> tuple[list[str], int, int]:
    """The planner designs: plan found, gap, seconds and method per design, from the stored results."""
    lines = [
        f"## {PLANNER}: {planner_suite.TITLE}",
        "",
        f"Target: {planner_suite.describe_target()}. Designs: `benchmarks/spmopt_bench/planner.py` "
        f"({planner_suite.SOURCE}); each is feasible by construction (a planted alignment meets every requirement, "
        "checked when the design is built). 'plan' is the engine's alignment judged by an independent checker "
        "(bands, contiguity, locks, cap); objective = account-weighted km recomputed from it; seconds = wall time "
        "of the solve.",
        "",
    ]
    if not stored:
        return [*lines, "Not run (`spmopt bench suite planner`).", ""], 0, len(DESIGNS)
    partial = any(r.get("partial") for r in stored.values()) or len(stored) < len(DESIGNS)
    if partial:
        limits = sorted({float(r.get("time_limit", 0)) for r in stored.values()})
        lines += [
            f"**Partial run**: {len(stored)} of {len(DESIGNS)} designs, time limit "
            f"{'/'.join(f'{t:g}' for t in limits)} s (the suite's is {planner_suite.TIME_LIMIT:g} s); the figures "
            "show the run works, not how the engine fares on the suite.",
            "",
        ]
    lines += [
        "| design | state | n | k | balance (effective bands) | requirements | plan | objective | bound | gap | "
        "first plan s | seconds | status | method | target met |",
        "|---|---|---:|---:|---|---|---|---:|---:|---:|---:|---:|---|---|---|",
    ]
    met = plans = 0
    for spec in DESIGNS:
        r = stored.get(spec.name)
        if r is None:
            lines.append(
                f"| {spec.name} | {spec.label} | – | {spec.reps} | – | – | not run | – | – | – | – | – | – | – | no |"
            )
            continue
        ok = planner_suite.target_met(r)
        met += ok
        plans += planner_suite.plan_target_met(r)
        plan = "valid" if r.get("valid") else ("none" if r.get("problems") == ["no alignment returned"] else "invalid")
        first = r.get("first_plan_seconds")
        first_text = (
            "–" if first is None else f"{float(first):.1f}" + ("*" if r.get("first_plan_from") == "total" else "")
        )
        status = str(r.get("status"))
        if r.get("note"):
            status += f": {str(r['note']).replace('|', '/')[:160]}"
        gap_text = _pct(r.get("gap")) + (" (bound invalid)" if r.get("bound_valid") is False else "")
        lines.append(
            f"| {spec.name} | {r.get('state', spec.label)} | {r.get('n', '–')} | {r.get('k', '–')} | "
            f"{_tolerances(r)} | {_requirements(r)} | {plan} | {_num(r.get('objective'), 8)} | "
            f"{_num(r.get('bound'), 8)} | "
            f"{gap_text} | {first_text} | {float(r['seconds']):.1f} | {status} | {r.get('method', '–')} | "
            f"{'yes' if ok else 'no'} |"
        )
    lines += [
        "",
        "first plan s: as the engine reports it (its first plan, or a start it calls feasible); * = seconds of the "
        "whole solve, when it reports neither.",
        "",
        f"**{met} of {len(DESIGNS)} reach the target; {plans} of {len(DESIGNS)} have a valid plan within "
        f"{planner_suite.PLAN_SECONDS:g} s.**",
        "",
    ]
    changed = []
    for r in stored.values():
        f = r.get("facts") or {}
        asked_set = zip(f.get("requested_tolerances", []), f.get("effective_tolerances", []), strict=True)
        for m, (asked, set_to) in zip(f.get("measures", []), asked_set, strict=True):
            if set_to > asked:
                changed.append(f"{r['instance']}: {m} ±{100 * asked:g}% asked, ±{100 * set_to:g}% set")
        if f.get("requested_cap") is not None and f.get("effective_cap") != f["requested_cap"]:
            asked, set_to = 100 * f["requested_cap"], 100 * f["effective_cap"]
            changed.append(f"{r['instance']}: disruption cap {asked:g}% asked, {set_to:g}% set")
    if changed:
        lines += ["Requirements the planted alignment could not meet as asked, widened so it does:", ""]
        lines += [f"* {c}" for c in changed] + [""]
    commands = sorted({str(r["suite_command"]) for r in stored.values() if r.get("suite_command")})
    if commands:
        lines += ["Command(s):", "", "```", *commands, "```", ""]
    return lines, met, len(DESIGNS)


def machine_section(stored: dict[str, dict[str, dict]]) -> list[str]:
    """The machines and dates the stored results were measured on."""
    machines: dict[tuple, list[str]] = {}
    for results in stored.values():
        for r in results.values():
            m = r.get("machine") or {}
            key = (m.get("cores"), m.get("cpu"), m.get("memory_gib"), m.get("highs_version"), m.get("python"))
            machines.setdefault(key, []).append(str(m.get("date", "")))
    lines = ["## Machine", ""]
    if not machines:
        return [*lines, "No stored results.", ""]
    lines += ["| cores | CPU | RAM (GiB) | HiGHS | Python | runs | dates (UTC) |", "|---:|---|---:|---|---|---:|---|"]
    for (cores, cpu, memory, highs, python), dates in machines.items():
        dated = sorted(d for d in dates if d)
        span = f"{dated[0]} … {dated[-1]}" if dated else "–"
        lines.append(f"| {cores} | {cpu} | {memory} | {highs} | {python} | {len(dates)} | {span} |")
    loads = [
        r["machine"]["load_average_1min"]
        for rs in stored.values()
        for r in rs.values()
        if r.get("machine", {}).get("load_average_1min") is not None
    ]
    if loads:
        lines += [
            "",
            f"1-minute load average when a run started: {min(loads):.2f}-{max(loads):.2f} on {len(loads)} runs that "
            "recorded it (suites ran side by side on the 2 cores, so a load above 2 slowed each run).",
        ]
    return [*lines, ""]


def comparison_section(folder: Path) -> list[str]:
    """The stored `spmopt bench compare` runs (`<suite>.json` in `folder`), each as its table and median ratios."""
    runs = sorted(folder.glob("*.json")) if folder.is_dir() else []
    lines = ["## Against a textbook Pyomo formulation and PySAL spopt", ""]
    if not runs:
        return [
            *lines,
            "No stored comparison (run `spmopt bench compare SUITE --out benchmarks/results/compare/SUITE.md`).",
            "",
        ]
    lines += [
        "Each table is one `spmopt bench compare` run: every solver on the same instances, one after another, on the",
        "same machine. Ratios are competitor seconds / spmopt seconds.",
        "",
    ]
    for path in runs:
        data = json.loads(path.read_text(encoding="utf-8"))
        rows = data["rows"]
        if (data.get("machine") or {}).get("comparison") == PLANNER:
            lines += [
                f"### {path.stem}: engine, flow model and heuristic alone on the planner designs",
                "",
                planner_suite.compare_markdown(rows, data.get("machine")).rstrip(),
                "",
            ]
            continue
        lines += [f"### {path.stem}", "", markdown_table(rows, data.get("machine")).rstrip(), ""]
        for solver in ("textbook", "spopt"):
            ratios = [
                r[f"ratio_{solver}"] for r in rows if (r.get(f"ratio_{solver}") or {}).get("kind") not in (None, "none")
            ]
            if ratios:
                values = sorted(r["value"] for r in ratios)
                lower = sum(r["kind"] == "lower" for r in ratios)
                lines.append(
                    f"* {solver} / spmopt: median {statistics.median(values):.2f}x over {len(values)} instances "
                    f"(range {values[0]:.2f}x-{values[-1]:.2f}x; {lower} of them lower bounds because {solver} hit "
                    "the time limit)"
                )
        lines.append("")
    return lines


def render(stored: dict[str, dict[str, dict]], compare_folder: Path | None = None) -> str:
    """The whole page."""
    lines = [
        "# Territory engine benchmarks",
        "",
        "Generated by `benchmarks/bench_results.py` from the per-instance JSON files in `benchmarks/results/<suite>/`",
        "(written by `spmopt bench suite NAME`); do not edit by hand. Each run converts the public instance into",
        "the territory-design problem `spmopt run` solves and solves it with the same engine (`solve_territory`);",
        "'ours' is the objective re-scored from the returned assignment. Instance sources and distance",
        "conventions: `benchmarks/instances/README.md`. Seconds are wall time (read + solve + score).",
        "Regenerate this page with `python benchmarks/bench_results.py` (add `--run SUITE...` to re-run suites).",
        "",
    ]
    summary = []
    for name in NAMES:
        if name == SCALE:
            body, met, total = scale_section(stored.get(SCALE, {}))
        elif name == PLANNER:
            body, met, total = planner_section(stored.get(PLANNER, {}))
        else:
            body, met, total = suite_section(suite(name), stored.get(name, {}))
        lines += body
        summary.append(f"* {name}: {met} of {total} reach the target")
    lines += comparison_section(compare_folder if compare_folder is not None else RESULTS / "compare")
    lines += machine_section(stored)
    lines += ["## Summary", "", *summary, ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", nargs="+", metavar="SUITE", choices=NAMES, help="run these suites first")
    parser.add_argument("--time-limit", type=float, default=None, help="per instance (default: each suite's target)")
    parser.add_argument("--threads", type=int, default=None, help="HiGHS threads for --run")
    parser.add_argument("--only", default=None, help="with --run: only instances matching this glob")
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder of <suite>/*.json")
    parser.add_argument("--out", type=Path, default=PAGE, help="markdown file to write")
    args = parser.parse_args(argv)
    for name in args.run or ():
        folder = args.results / name
        run_suite(name, args.time_limit, args.only, folder, args.threads, lambda r: print(summary_line(r), flush=True))
    page = render(load(args.results), args.results / "compare")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(page, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
