"""Fuzz the input readers: mutate valid files of a tiny scenario (cell types, encodings, delimiters, columns,
truncation, random bytes) and require that each reader either returns or raises an `SpmoptError` naming the file.

Each reader gets SPMOPT_FUZZ_EXAMPLES examples (default 60, so the file runs in well under a minute); for a big
run: `SPMOPT_FUZZ_EXAMPLES=2000 pytest tests/inputs/test_fuzz_inputs.py --hypothesis-show-statistics`.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from comp_helpers import CLI_PLAN
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spmopt.comp.plan import CompPlan, load_plan
from spmopt.comp.transactions import load_transactions
from spmopt.data.loader import load_planning_data
from spmopt.errors import SpmoptError
from spmopt.scenario import load_scenario

EXAMPLES = int(os.environ.get("SPMOPT_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

Table = tuple[list[str], list[list[str]]]

# ------------------------------------------------------------------------------------------ the valid scenario

X0, Y0, SIDE = 720_000, 3_720_000, 10_000
"""A 3x3 grid of 10 km squares near Atlanta, in NAD83 / UTM zone 16N metres."""
GRID = [f"u{r}{c}" for r in range(3) for c in range(3)]


def _centre(uid: str) -> tuple[int, int]:
    return X0 + SIDE * int(uid[2]) + SIDE // 2, Y0 + SIDE * int(uid[1]) + SIDE // 2


UNITS: Table = (
    ["unit_id", "x", "y", "potential", "workload"],
    [[u, str(_centre(u)[0]), str(_centre(u)[1]), str(10 + i), "5.5"] for i, u in enumerate(GRID)],
)
REPS: Table = (
    ["rep_id", "x", "y", "territory_id", "target_share", "start_month"],
    [
        ["R1", str(_centre("u00")[0]), str(_centre("u00")[1]), "T1", "1", ""],
        ["R2", str(_centre("u11")[0]), str(_centre("u11")[1]), "T2", "1.5", "4"],
        ["R3", str(_centre("u22")[0]), str(_centre("u22")[1]), "T3", "1", ""],
    ],
)
CURRENT: Table = (["unit_id", "territory_id"], [[u, ("T1", "T2", "T3", "GONE")[i % 4]] for i, u in enumerate(GRID)])
HISTORY: Table = (
    ["unit_id", "period", "sales"],
    [[u, f"2025-{m:02d}", str(100 * m + k)] for k, u in enumerate(GRID[:3]) for m in range(1, 13)],
)
TRANSACTIONS: Table = (
    ["transaction_id", "date", "rep_id", "territory_id", "unit_id", "product", "amount", "margin", "new_logo"]
    + ["reason", "original_id"],
    [
        ["A", "2027-01-10", "R1", "", "", "license", "1000.01", "500.00", "1", "", ""],
        ["B", "2027-02-05", "", "T2", "", "services", "450.00", "100.00", "0", "", ""],
        ["C", "2027-05-05", "", "", "U1", "NA", "900.00", "300.00", "0", "", ""],
        ["C1", "2027-03-10", "", "", "", "license", "-250.01", "-100.00", "0", "cancellation", "A"],
        ["N", "2027-09-01", "R2", "", "", "services", "-10.00", "-5.00", "0", "credit_note", ""],
    ],
)
PLAN_YAML = CLI_PLAN  # the comp CLI tests' plan: every mechanic a reader has to parse
PLAN = CompPlan.model_validate(yaml.safe_load(PLAN_YAML))


def scenario_yaml(**data: str) -> str:
    spec = {
        "name": "tiny",
        "seed": 1,
        "data": {"units": "units.csv", "geometry": "grid.geojson", **data},
        "territory": {"balance": [{"measure": "potential", "tolerance": 0.5}], "distance_weight": "workload"},
        "output": {"dir": "out"},
    }
    if "reps" not in data:
        spec["territory"]["territories"] = 3
    if "history" in data:
        spec["data"].pop("history")
        spec["quota"] = {"target": 100000, "history": "history.csv"}
    return yaml.safe_dump(spec, sort_keys=False)


def grid_geojson() -> str:
    features = []
    for u in GRID:
        x, y = _centre(u)
        h = SIDE // 2
        ring = [[x - h, y - h], [x + h, y - h], [x + h, y + h], [x - h, y + h], [x - h, y - h]]
        geometry = {"type": "Polygon", "coordinates": [ring]}
        features.append(f'{{"type": "Feature", "properties": {{"unit_id": "{u}"}}, "geometry": {geometry}}}')
    crs = '{"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::26916"}}'
    return f'{{"type": "FeatureCollection", "crs": {crs}, "features": [{", ".join(features)}]}}'.replace("'", '"')


def csv_text(table: Table) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([table[0], *table[1]])
    return out.getvalue()


@contextmanager
def instance(**files: str) -> Iterator[Path]:
    """A folder holding the valid scenario's files (units and geometry always) plus `files`, by name."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "units.csv").write_text(csv_text(UNITS), encoding="utf-8")
        (root / "grid.geojson").write_text(grid_geojson(), encoding="utf-8")
        for name, text in files.items():
            (root / name).write_text(text, encoding="utf-8")
        yield root


# ------------------------------------------------------------------------------------------ mutations

ODD_CELLS = (
    "", " ", "\t", "abc", "NA", "None", "null", "nan", "NaN", "inf", "-inf", "Infinity", "1e308", "1e400", "-1e17",
    "1e17", "1e-320", "-5", "0", "1,5", "1.234567", "0x1F", "1_000", "١٢", "é", '"', "'", "\\", "\x00", "9" * 400,
    "x" * 5000, "2027-13-45", "2027-01-10", "13001", "01001", "True", "-0", "+7", " 42 ", "1e13", "99999999999999",
)  # fmt: skip
EXTREME_NUMBERS = ("1e17", "-1e17", "1e30", "1e308", "-1e308", "1e400", "1e-320", "9" * 400, "123456789012345.678")
cells = st.one_of(
    st.sampled_from(EXTREME_NUMBERS),
    st.sampled_from(ODD_CELLS),
    st.text(max_size=30),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)


@st.composite
def mutate_table(draw: st.DrawFn, table: Table) -> Table:
    """One to three structural or cell changes."""
    header, rows = list(table[0]), [list(r) for r in table[1]]
    for op in draw(st.lists(st.sampled_from(TABLE_OPS), min_size=1, max_size=3)):
        header, rows = op(draw, header, rows)
    return header, rows


def _cell(draw: st.DrawFn, header: list[str], rows: list[list[str]]) -> Table:
    if rows and header:
        r = draw(st.integers(0, len(rows) - 1))
        if rows[r]:
            rows[r][draw(st.integers(0, len(rows[r]) - 1))] = draw(cells)
    return header, rows


def _copy_cell(draw: st.DrawFn, header: list[str], rows: list[list[str]]) -> Table:
    """A value of the file into another cell: a date into an amount, one id into another row's id column."""
    filled = [(r, c) for r, row in enumerate(rows) for c in range(len(row))]
    if filled:
        (r1, c1), (r2, c2) = draw(st.sampled_from(filled)), draw(st.sampled_from(filled))
        rows[r2][c2] = rows[r1][c1]
    return header, rows


def _column_cells(draw: st.DrawFn, header: list[str], rows: list[list[str]]) -> Table:
    if header:
        c = draw(st.integers(0, len(header) - 1))
        value = draw(cells)
        for row in rows:
            if c < len(row):
                row[c] = value
    return header, rows


def _drop_column(draw: st.DrawFn, header: list[str], rows: list[list[str]]) -> Table:
    if header:
        c = draw(st.integers(0, len(header) - 1))
        return header[:c] + header[c + 1 :], [r[:c] + r[c + 1 :] for r in rows]
    return header, rows


def _duplicate_column(draw: st.DrawFn, header: list[str], rows: list[list[str]]) -> Table:
    if header:
        c = draw(st.integers(0, len(header) - 1))
        return [*header, header[c]], [[*r, r[c] if c < len(r) else ""] for r in rows]
    return header, rows


def _add_column(draw: st.DrawFn, header: list[str], rows: list[list[str]]) -> Table:
    name = draw(st.one_of(st.sampled_from(header or ["x"]), st.text(max_size=12)))
    return [*header, name], [[*r, draw(cells)] for r in rows]


def _rename_column(draw: st.DrawFn, header: list[str], rows: list[list[str]]) -> Table:
    if header:
        header[draw(st.integers(0, len(header) - 1))] = draw(st.text(max_size=12))
    return header, rows


def _duplicate_row(draw: st.DrawFn, header: list[str], rows: list[list[str]]) -> Table:
    if rows:
        rows.insert(draw(st.integers(0, len(rows))), list(rows[draw(st.integers(0, len(rows) - 1))]))
    return header, rows


def _drop_rows(draw: st.DrawFn, header: list[str], rows: list[list[str]]) -> Table:
    keep = draw(st.integers(0, len(rows)))
    return header, rows[:keep]


def _ragged_row(draw: st.DrawFn, header: list[str], rows: list[list[str]]) -> Table:
    if rows:
        r = draw(st.integers(0, len(rows) - 1))
        rows[r] = rows[r][: draw(st.integers(0, len(rows[r])))] + draw(st.lists(cells, max_size=3))
    return header, rows


TABLE_OPS: tuple[Callable[[st.DrawFn, list[str], list[list[str]]], Table], ...] = (
    _cell, _cell, _cell, _cell, _copy_cell, _copy_cell, _column_cells, _column_cells, _drop_column,
    _duplicate_column, _add_column, _rename_column,
    _duplicate_row, _drop_rows, _ragged_row,
)  # fmt: skip


@st.composite
def serialise(draw: st.DrawFn, table: Table) -> str:
    """CSV text: quoted properly (usually) or joined raw, with `,`, `;` or tab between cells."""
    header, rows = table
    sep = draw(st.sampled_from([",", ",", ",", ";", "\t"]))
    if draw(st.booleans()):
        out = io.StringIO()
        csv.writer(out, delimiter=sep, lineterminator=draw(st.sampled_from(["\n", "\r\n"]))).writerows([header, *rows])
        return out.getvalue()
    return "\n".join(sep.join(r) for r in [header, *rows]) + draw(st.sampled_from(["\n", "", "\n\n"]))


@st.composite
def encode(draw: st.DrawFn, text: str) -> bytes:
    """UTF-8 (plain or with a BOM), UTF-16, or Latin-1 bytes (with an accented letter so they are not ASCII)."""
    how = draw(st.sampled_from(["utf-8"] * 6 + ["utf-8-sig", "utf-16", "latin-1"]))
    if how == "latin-1":
        return ("é" + text).encode("latin-1", errors="replace")
    return text.encode(how, errors="surrogatepass")


@st.composite
def damage(draw: st.DrawFn, data: bytes) -> bytes:
    """Usually nothing; else truncation, an empty file, random bytes, or random bytes spliced in."""
    how = draw(st.sampled_from(["none"] * 12 + ["truncate", "empty", "random", "splice"]))
    if how == "truncate":
        return data[: draw(st.integers(0, len(data)))]
    if how == "empty":
        return b""
    if how == "random":
        return draw(st.binary(max_size=200))
    if how == "splice":
        at = draw(st.integers(0, len(data)))
        return data[:at] + draw(st.binary(min_size=1, max_size=20)) + data[at:]
    return data


@st.composite
def mutated_csv(draw: st.DrawFn, table: Table) -> bytes:
    text = draw(serialise(draw(mutate_table(table))))
    return draw(damage(draw(encode(text))))


@st.composite
def mutated_yaml(draw: st.DrawFn, text: str) -> bytes:
    """Lines replaced, dropped, duplicated or re-indented, values swapped for odd scalars; then encoded, damaged."""
    lines = text.splitlines()
    for _ in range(draw(st.integers(1, 3))):
        k = draw(st.integers(0, len(lines) - 1))
        how = draw(st.sampled_from(["value", "value", "drop", "duplicate", "indent", "line"]))
        if how == "value" and ":" in lines[k]:
            key = lines[k].split(":", 1)[0]
            scalar = draw(st.one_of(cells, st.sampled_from(["[]", "{}", "[1, 2]", "{a: 1}", "~", "-", "*x", "&x"])))
            lines[k] = f"{key}: {scalar}"
        elif how == "drop":
            del lines[k]
        elif how == "duplicate":
            lines.insert(k, lines[k])
        elif how == "indent":
            lines[k] = draw(st.sampled_from([" ", "  ", "\t", "    "])) + lines[k]
        else:
            lines[k] = draw(st.text(max_size=40))
        if not lines:
            lines = [""]
    return draw(damage(draw(encode("\n".join(lines) + "\n"))))


# ------------------------------------------------------------------------------------------ the property


def returns_or_names(read: Callable[[], object], name: str) -> None:
    """The reader returns, or raises an SpmoptError whose message names the file; anything else fails."""
    message = None
    try:
        read()
    except SpmoptError as exc:
        message = str(exc)
    assert message is None or name in message, f"error does not name {name}: {message}"


def load_data(root: Path) -> object:
    return load_planning_data(load_scenario(root / "scenario.yaml"))


@FUZZ
@given(data=mutated_csv(UNITS))
def test_units_csv(data: bytes) -> None:
    with instance(**{"scenario.yaml": scenario_yaml()}) as root:
        (root / "units.csv").write_bytes(data)
        returns_or_names(lambda: load_data(root), "units.csv")


@FUZZ
@given(data=mutated_csv(REPS))
def test_reps_csv(data: bytes) -> None:
    with instance(**{"scenario.yaml": scenario_yaml(reps="reps.csv")}) as root:
        (root / "reps.csv").write_bytes(data)
        returns_or_names(lambda: load_data(root), "reps.csv")


@FUZZ
@given(data=mutated_csv(CURRENT))
def test_current_alignment_csv(data: bytes) -> None:
    with instance(**{"scenario.yaml": scenario_yaml(current_alignment="current.csv")}) as root:
        (root / "current.csv").write_bytes(data)
        returns_or_names(lambda: load_data(root), "current.csv")


@FUZZ
@given(data=mutated_csv(HISTORY))
def test_history_csv(data: bytes) -> None:
    with instance(**{"scenario.yaml": scenario_yaml(history="history.csv")}) as root:
        (root / "history.csv").write_bytes(data)
        returns_or_names(lambda: load_data(root), "history.csv")


@FUZZ
@given(data=mutated_csv(TRANSACTIONS))
def test_transactions_csv(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tx.csv"
        path.write_bytes(data)
        returns_or_names(lambda: load_transactions(path, PLAN), "tx.csv")


FUZZ_ONE_BUG = settings(FUZZ, report_multiple_bugs=False)


@FUZZ_ONE_BUG
@given(data=mutated_yaml(PLAN_YAML))
def test_plan_yaml(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plan.yaml"
        path.write_bytes(data)
        returns_or_names(lambda: load_plan(path), "plan.yaml")


@FUZZ_ONE_BUG
@given(data=mutated_yaml(scenario_yaml(reps="reps.csv", current_alignment="current.csv", history="history.csv")))
def test_scenario_yaml(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scenario.yaml"
        path.write_bytes(data)
        returns_or_names(lambda: load_scenario(path), "scenario.yaml")


def test_the_unmutated_files_load() -> None:
    """The fuzzers start from valid inputs: each reader accepts them as written."""
    files = {
        "scenario.yaml": scenario_yaml(reps="reps.csv", current_alignment="current.csv", history="history.csv"),
        "reps.csv": csv_text(REPS),
        "current.csv": csv_text(CURRENT),
        "history.csv": csv_text(HISTORY),
        "tx.csv": csv_text(TRANSACTIONS),
        "plan.yaml": PLAN_YAML,
    }
    with instance(**files) as root:
        data = load_data(root)
        assert len(data.units) == 9
        assert len(data.reps) == 3
        assert any("GONE" in w for w in data.warnings)
        assert load_transactions(root / "tx.csv", PLAN).frame.loc["C", "product"] == "NA"
        assert load_plan(root / "plan.yaml").name == "tiny"


@pytest.mark.parametrize("name", ["units.csv", "reps.csv", "current.csv", "history.csv"])
@pytest.mark.parametrize("data", [b"", b"unit_id\n", b"\xff\xfe\x00", "a;b\n1;2\n".encode("utf-16")])
def test_degenerate_files(name: str, data: bytes) -> None:
    """The smallest broken files, always tried (hypothesis may not draw them in a short run)."""
    extra = {"reps.csv": "reps", "current.csv": "current_alignment", "history.csv": "history"}
    files = {"scenario.yaml": scenario_yaml(**({extra[name]: name} if name in extra else {}))}
    with instance(**files) as root:
        (root / name).write_bytes(data)
        returns_or_names(lambda: load_data(root), name)
