"""`spmopt bench pmedian|cpmp|district`: published optima reached through the product's engine, and bad files refused.

Published values (sources in tests/data/README.md): OR-Library pmed1 = 5819; Osman-Christofides cpmp01 = 713
with floor(Euclidean) distances; Lorena-Senne SJC1 = 17288.99 with Euclidean distances; Validi-Buchanan Maine
(county23, k = 2, +-0.5%) = 16 cut edges with contiguity, 8 without.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import assert_clean_failure
from typer.testing import CliRunner

from spmopt.cli import app
from spmopt.territory.instances import read_cpmp, read_district, read_pmedian, read_pmedian_graph, score, to_inputs

DATA = Path(__file__).resolve().parents[1] / "data"
FIELDS = {"instance", "objective", "bound", "gap", "status", "seconds", "assignment", "kind", "n", "k", "method"}

# (id, command, file, extra arguments, reader of the same instance, published optimum, decimals it is published to)
PUBLISHED = [
    ("pmed1", "pmedian", "pmed1.txt", [], lambda f: read_pmedian(f), 5819, 0),
    ("cpmp01", "cpmp", "cpmp01.txt", ["--distance", "floor"], lambda f: read_cpmp(f, "floor"), 713, 0),
    ("SJC1", "cpmp", "SJC1.dat", ["--distance", "euclid"], lambda f: read_cpmp(f, "euclid"), 17288.99, 2),
    ("ME-contiguous", "district", "county23.json", ["--k", "2"], lambda f: read_district(f, 2), 16, 0),
    (
        "ME-free",
        "district",
        "county23.json",
        ["--k", "2", "--no-contiguity"],
        lambda f: read_district(f, 2, contiguity=False),
        8,
        0,
    ),
]


SLOW = {"SJC1", "ME-contiguous", "ME-free"}
"""The instances that take more than 3 s through the CLI (3-7 s each on 2 cores)."""


@pytest.mark.parametrize(
    ("command", "name", "extra", "read", "optimum", "decimals"),
    [pytest.param(*c[1:], id=c[0], marks=[pytest.mark.slow] if c[0] in SLOW else []) for c in PUBLISHED],
)
def test_published_optimum_through_the_cli(
    tmp_path: Path, command: str, name: str, extra: list[str], read, optimum: float, decimals: int
) -> None:
    out = tmp_path / "result.json"
    args = ["bench", command, str(DATA / name), *extra, "--time-limit", "60", "--threads", "1", "--json", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "status optimal" in result.output
    facts = json.loads(out.read_text())
    assert set(facts) >= FIELDS
    assert facts["status"] == "optimal"
    assert facts["gap"] is not None
    assert facts["gap"] <= 1e-4
    assert round(facts["objective"], decimals) == optimum
    inst = read(DATA / name)
    assert len(facts["assignment"]) == inst.n
    assert facts["objective"] == score(inst, facts["assignment"])
    assert facts["bound"] <= facts["objective"] + 1e-6
    if command == "district":
        labels = facts["assignment"]
        assert sorted(set(labels)) == [0, 1]
        assert labels[0] == 0


# --------------------------------------------------------------------------------------------------
# readers, conversion and scoring
# --------------------------------------------------------------------------------------------------


def test_pmedian_repeated_edge_keeps_the_last_cost(tmp_path: Path) -> None:
    f = tmp_path / "dup.txt"
    f.write_text("3 3 1\n1 2 1\n2 3 5\n1 2 9\n")
    graph = read_pmedian_graph(f)
    assert (graph.cost_of[0, 1], graph.repeats) == (9, 1)
    assert read_pmedian(f).cost.tolist() == [[0, 9, 14], [9, 0, 5], [14, 5, 0]]


def test_pmed1_duplicates_and_shortest_paths() -> None:
    graph = read_pmedian_graph(DATA / "pmed1.txt")
    assert (graph.n, graph.p, graph.repeats, len(graph.cost_of)) == (100, 5, 2, 198)
    cost = read_pmedian(DATA / "pmed1.txt").cost
    assert np.array_equal(cost, cost.T)
    assert (np.diag(cost) == 0).all()


def test_to_inputs_maps_each_kind() -> None:
    inp = to_inputs(read_cpmp(DATA / "cpmp01.txt"))
    assert (len(inp.units), inp.territories, inp.fixed_sites, len(inp.pairs)) == (50, 5, False, 2500)
    (band,) = inp.bands
    assert band.upper["0"] == 120
    assert band.lower["0"] == 0
    assert sum(band.values.values()) == 490
    district = to_inputs(read_district(DATA / "county23.json", 2))
    assert (district.compactness, district.contiguity, len(district.edges)) == ("cut_edges", True, 34)
    assert district.bands[0].lower["3"] == 660860
    assert district.bands[0].upper["3"] == 667501


def test_score_refuses_violated_assignments() -> None:
    inst = read_cpmp(DATA / "cpmp01.txt")
    with pytest.raises(ValueError, match="distinct medians"):
        score(inst, [0] * inst.n)  # one median, p = 5
    with pytest.raises(ValueError, match="capacity"):
        score(inst, [0] * (inst.n - 4) + [46, 47, 48, 49])  # median 0 serves nearly all the demand
    maine = read_district(DATA / "county23.json", 2)
    with pytest.raises(ValueError, match="population"):
        score(maine, [0] * (maine.n - 1) + [1])


# --------------------------------------------------------------------------------------------------
# bad files: a clear error naming the file and the problem, exit 2, no traceback, no JSON
# --------------------------------------------------------------------------------------------------

_MAINE = json.loads((DATA / "county23.json").read_text())


def _no_totpop() -> str:
    data = json.loads(json.dumps(_MAINE))
    del data["nodes"][3]["TOTPOP"]
    return json.dumps(data)


BAD = [
    ("pmed-truncated", "pmedian", "100 200 5\n1 2 30\n2 3 4\n", [], ["truncated", "200 data lines"]),
    ("pmed-extra-lines", "pmedian", "3 2 1\n1 2 5\n2 3 5\n1 3 4\n", [], ["line 4", "wrong count"]),
    ("pmed-p-above-n", "pmedian", "3 2 5\n1 2 5\n2 3 5\n", [], ["p = 5", "n = 3"]),
    ("pmed-p-zero", "pmedian", "3 2 0\n1 2 5\n2 3 5\n", [], ["p = 0"]),
    ("pmed-vertex-range", "pmedian", "3 2 1\n1 2 5\n2 7 5\n", [], ["line 3", "out of range"]),
    ("pmed-negative", "pmedian", "3 2 1\n1 2 5\n2 3 -5\n", [], ["line 3", "negative"]),
    ("pmed-disconnected", "pmedian", "4 2 2\n1 2 5\n3 4 5\n", [], ["disconnected"]),
    ("pmed-empty", "pmedian", "  \n", [], ["empty"]),
    ("cpmp-truncated", "cpmp", "5 2\n0 0 5 1\n1 1 5 1\n", [], ["truncated", "only 2"]),
    ("cpmp-extra-lines", "cpmp", "2 1\n0 0 9 1\n1 1 9 1\n2 2 9 1\n", [], ["line 4", "wrong count"]),
    ("cpmp-p-above-n", "cpmp", "2 3\n0 0 9 1\n1 1 9 1\n", [], ["p = 3", "n = 2"]),
    ("cpmp-capacity", "cpmp", "3 2\n0 0 5 4\n1 1 5 4\n2 2 5 4\n", [], ["total demand 12", "capacity 10"]),
    ("cpmp-non-numeric", "cpmp", "3 2\n0 0 5 1\n1 1 five 1\n2 2 5 1\n", [], ["line 3", "'five' is not a number"]),
    ("cpmp-short-line", "cpmp", "3 2\n0 0 5 1\n1 1 5\n2 2 5 1\n", [], ["line 3", "expected 4 values"]),
    ("cpmp-negative-demand", "cpmp", "2 1\n0 0 9 1\n1 1 9 -1\n", [], ["line 3", "negative demand"]),
    ("cpmp-matrix-shape", "cpmp", "3 2\n0 0 5 1\n1 1 5 1\n2 2 5 1\n", ["matrix"], ["m.txt", "wrong shape"]),
    ("cpmp-matrix-row", "cpmp", "3 2\n0 0 5 1\n1 1 5 1\n2 2 5 1\n", ["matrix-row"], ["m.txt", "line 2"]),
    ("district-no-totpop", "district", _no_totpop(), ["--k", "2"], ["node 3", "TOTPOP"]),
    ("district-k-above-n", "district", json.dumps(_MAINE), ["--k", "20"], ["k = 20", "n = 16"]),
    ("district-k-zero", "district", json.dumps(_MAINE), ["--k", "0"], ["k = 0"]),
    ("district-bad-json", "district", '{"nodes": [', ["--k", "2"], ["not valid JSON"]),
    ("district-empty-band", "district", json.dumps(_MAINE), ["--k", "2", "--tolerance", "0"], ["L = ", "U = "]),
]


@pytest.mark.parametrize(("command", "text", "extra", "fragments"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_file_gets_a_clear_error(
    tmp_path: Path, command: str, text: str, extra: list[str], fragments: list[str]
) -> None:
    data = tmp_path / ("bad.json" if command == "district" else "bad.txt")
    data.write_text(text)
    args = ["bench", command, str(data)]
    if extra and extra[0].startswith("matrix"):
        matrix = tmp_path / "m.txt"
        matrix.write_text("0 1\n1 0\n" if extra[0] == "matrix" else "0 1 2\n1 0 x\n2 1 0\n")
        args += ["--distance", "matrix", "--matrix", str(matrix)]
        where = str(matrix)
    else:
        args += extra
        where = str(data)
    out = tmp_path / "out" / "result.json"
    result = CliRunner().invoke(app, [*args, "--time-limit", "5", "--json", str(out)])
    assert_clean_failure(result, tmp_path, where, *fragments)
    assert not out.exists()


def test_missing_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.txt"
    result = CliRunner().invoke(app, ["bench", "pmedian", str(missing), "--json", str(tmp_path / "r.json")])
    assert_clean_failure(result, tmp_path, str(missing), "file not found")
    assert not (tmp_path / "r.json").exists()
