"""Adjacency and cells from points alone (`data.adjacency_from: points`) on the real ZIPs of small states: every
unit gets a cell and neighbours, the graph is planar, no edge outlives the pruning rule, coincident ZIPs neighbour
each other and the rest, real gaps (Hawaii's channels) are left to `territory.islands`, and the same points give
the same graph whatever their order."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from scipy.spatial import cKDTree
from zip_geo_helpers import state_points

from spmopt.data import points
from spmopt.data.geography import bridge_components
from spmopt.data.points import point_geography


def graph_of(xy: pd.DataFrame, edges: list[tuple[str, str]]) -> nx.Graph:
    graph = nx.Graph()
    graph.add_nodes_from(xy.index)
    graph.add_edges_from(edges)
    return graph


def spacing_by_unit(xy: pd.DataFrame) -> pd.Series:
    """Distance from each unit's location to the k-th nearest other location, computed here independently."""
    places = xy.round(3).drop_duplicates().to_numpy()
    dist, _ = cKDTree(places).query(places, points.SPACING_NEIGHBOUR + 1)
    by_place = dict(zip(map(tuple, places.tolist()), dist[:, -1].tolist(), strict=True))
    return pd.Series([by_place[tuple(r)] for r in xy.round(3).to_numpy().tolist()], index=xy.index)


@pytest.fixture(scope="module", params=["RI", "DE"])
def state(request: pytest.FixtureRequest) -> tuple[pd.DataFrame, points.PointGeography]:
    xy = state_points(request.param)
    return xy, point_geography(xy)


def test_every_unit_gets_a_cell_and_a_neighbour(state: tuple[pd.DataFrame, points.PointGeography]) -> None:
    xy, found = state
    cells = found.cells
    assert list(cells.index) == sorted(xy.index)
    assert cells.is_valid.all()
    assert not cells.is_empty.any()
    assert set(cells.geom_type) <= {"Polygon", "MultiPolygon"}
    graph = graph_of(xy, found.edges)
    assert min(d for _, d in graph.degree()) >= 1
    assert nx.is_connected(graph)
    assert found.pieces == 1


def test_graph_is_planar_and_within_the_edge_bound(state: tuple[pd.DataFrame, points.PointGeography]) -> None:
    xy, found = state
    v, e = len(xy), len(found.edges)
    assert e <= 3 * v - 6
    assert e == found.triangulated - found.pruned
    assert len(set(found.edges)) == e
    assert all(a < b for a, b in found.edges)


def test_no_edge_is_longer_than_the_pruning_rule_allows(state: tuple[pd.DataFrame, points.PointGeography]) -> None:
    xy, found = state
    spacing = spacing_by_unit(xy)
    assert found.pruned > 0
    assert found.rejoined == 0
    for a, b in found.edges:
        length = float(np.hypot(*(xy.loc[a] - xy.loc[b])))
        allowed = points.PRUNE_FACTOR * max(spacing[a], spacing[b])
        assert length <= allowed + 1e-9, f"{a}-{b}: {length:.2f} km > {allowed:.2f} km"


def test_coincident_zips_neighbour_each_other_and_the_rest() -> None:
    xy = state_points("DE")
    found = point_geography(xy)
    # The offline data puts 21 of Delaware's company (UNIQUE) and PO-box ZIPs at two places, 13 at one
    # placeholder point south of Wilmington and 8 in Wilmington itself.
    assert [len(g) for g in found.coincident] == [13, 8]
    assert found.coincident[1][0] == "19884"
    graph = graph_of(xy, found.edges)
    for group in found.coincident:
        assert xy.loc[list(group)].round(3).drop_duplicates().shape[0] == 1
        assert nx.is_connected(graph.subgraph(group)), group
        outside = {n for u in group for n in graph[u]} - set(group)
        assert outside, f"{group} has no neighbour outside its place"


def test_same_points_in_any_order_give_the_same_graph_and_cells() -> None:
    xy = state_points("DE")
    first = point_geography(xy)
    again = point_geography(xy.copy())
    shuffled = point_geography(xy.sample(frac=1.0, random_state=np.random.default_rng(5)))
    assert again.edges == first.edges
    assert shuffled.edges == first.edges
    assert shuffled.coincident == first.coincident
    assert shuffled.cells.geometry.geom_equals_exact(first.cells.geometry, tolerance=0).all()


def test_open_water_is_left_to_territory_islands() -> None:
    xy = state_points("HI")
    found = point_geography(xy)
    graph = graph_of(xy, found.edges)
    assert found.pieces == nx.number_connected_components(graph) == 2
    kauai = min(nx.connected_components(graph), key=len)
    assert "96766" in kauai  # Lihue
    connected, bridges = bridge_components(graph, xy)
    assert nx.is_connected(connected)
    assert len(bridges) == 1
    assert bridges[0][2] > 100  # the Kauai channel


def cluster(x0: float, y0: float, n: int, step: float) -> np.ndarray:
    gx, gy = np.meshgrid(np.arange(n) * step, np.arange(n) * step * 0.97)
    return np.column_stack([gx.ravel() + x0 + 0.01 * gy.ravel(), gy.ravel() + y0])


def points_frame(coords: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(coords, columns=["x_km", "y_km"], index=[f"u{i:03d}" for i in range(len(coords))])


@pytest.mark.parametrize(("apart_km", "pieces"), [(6.0, 1), (400.0, 2)])
def test_pruning_cuts_the_map_only_at_a_real_gap(apart_km: float, pieces: int) -> None:
    # Two towns of 1 km spacing and, far from both, a sparse countryside (20 km spacing) that sets how long a
    # link the map normally needs: 6 km between the towns is no gap, 400 km is one.
    countryside = cluster(-300.0, 300.0, 5, 20.0)
    towns = np.vstack([cluster(0.0, 0.0, 4, 1.0), cluster(3.0 + apart_km, 0.0, 4, 1.0)])
    found = point_geography(points_frame(np.vstack([towns, countryside])))
    assert found.pieces == pieces + 1  # the countryside is far from everything: its own piece either way
    if pieces == 1:
        assert found.rejoined >= 1


def test_tiny_and_degenerate_inputs() -> None:
    one = point_geography(points_frame(np.array([[5.0, 5.0]])))
    assert one.edges == []
    assert one.cells.area.iloc[0] > 0
    line = point_geography(points_frame(np.array([[0.0, 0.0], [2.0, 2.0], [1.0, 1.0]])))
    assert line.edges == [("u000", "u002"), ("u001", "u002")]
    stacked = point_geography(points_frame(np.array([[3.0, 4.0]] * 4)))
    assert stacked.coincident == (("u000", "u001", "u002", "u003"),)
    assert nx.is_connected(nx.Graph(stacked.edges))
    assert (stacked.cells.area > 0).all()
