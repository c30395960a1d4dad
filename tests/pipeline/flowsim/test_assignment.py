"""The flow simulation's assignment: heat moves walkers, trips are conserved, Dial = enumeration."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse.csgraph import dijkstra

from pipeline.flowsim.assignment import assign, perceived_cost
from pipeline.flowsim.graph import FlowGraph

ALPHA = 2.0  # CoolWalks alpha, the walkability stage's default
THETA = 0.02  # 1/m of perceived cost, a test value


def two_routes() -> tuple[FlowGraph, np.ndarray, dict]:
    """O(0) -> D(3) by a sunny street via S(1) (2 x 50 m) or a shaded one via H(2) (2 x 60 m)."""
    xy = np.array([[0, 0], [50, 5], [55, -30], [100, 0]], float)
    a, b = np.array([0, 1, 0, 2]), np.array([1, 3, 2, 3])
    length = np.array([50.0, 50.0, 60.0, 60.0])
    return FlowGraph.from_arrays(a, b, length, xy), length, {"sunny": [0, 1], "shaded": [2, 3]}


def shaded_share(c_sunny: float, c_shaded: float) -> tuple[float, float]:
    graph, length, route = two_routes()
    comfort = np.array([c_sunny, c_sunny, c_shaded, c_shaded])
    cost = perceived_cost(length, comfort, ALPHA)
    result = assign(graph, cost, np.array([100.0, 0, 0, 0]), np.array([0, 0, 0, 1.0]), theta=THETA)
    expected = 1.0 / (1.0 + np.exp(-THETA * (cost[route["sunny"]].sum() - cost[route["shaded"]].sum())))
    return result.flow[route["shaded"][0]] / 100.0, expected


def test_heat_moves_walkers_to_the_shaded_longer_route():
    # design heat day, midday: the sunny street is hot (c_thermal 0.1), the shaded one comfortable (0.9)
    heat, heat_expected = shaded_share(c_sunny=0.1, c_shaded=0.9)
    # winter solstice, midday: the sunny street is the comfortable one, the shade is cold
    winter, winter_expected = shaded_share(c_sunny=0.9, c_shaded=0.2)
    assert heat == pytest.approx(heat_expected, rel=1e-12)
    assert winter == pytest.approx(winter_expected, rel=1e-12)
    assert heat > 0.5 > winter
    # with no comfort difference the shorter sunny route wins
    plain, _ = shaded_share(1.0, 1.0)
    assert plain == pytest.approx(1 / (1 + np.exp(THETA * 20.0)))


def grid(n: int = 6, spacing: float = 80.0, seed: int = 3) -> tuple[FlowGraph, np.ndarray]:
    rng = np.random.default_rng(seed)
    xy = np.array([(i * spacing, j * spacing) for j in range(n) for i in range(n)], float)
    xy += rng.uniform(-8, 8, xy.shape)  # irregular: no ties in distance
    a, b = [], []
    for j in range(n):
        for i in range(n):
            k = j * n + i
            if i + 1 < n:
                a.append(k), b.append(k + 1)
            if j + 1 < n:
                a.append(k), b.append(k + n)
    a, b = np.array(a), np.array(b)
    length = np.hypot(*(xy[a] - xy[b]).T)
    return FlowGraph.from_arrays(a, b, length, xy), length


def test_trips_generated_equal_trips_assigned():
    graph, length = grid()
    rng = np.random.default_rng(7)
    production = rng.uniform(0, 50, graph.n_nodes)
    attraction = rng.uniform(0, 5, graph.n_nodes)
    cost = perceived_cost(length, rng.uniform(0, 1, len(length)), ALPHA)
    result = assign(graph, cost, production, attraction, theta=THETA, reach_m=2000.0, chunk=5)
    assert result.unassigned == 0.0
    assert result.assigned == pytest.approx(result.generated, rel=1e-12)
    assert result.generated == pytest.approx(production.sum(), rel=1e-12)


def test_an_isolated_origin_is_reported_unassigned_not_dropped():
    graph, length = grid(3)
    xy = np.vstack([graph.node_xy, [[5000.0, 5000.0], [5050.0, 5000.0]]])
    tail, head = grid_ends(graph)
    far = FlowGraph.from_arrays(np.r_[tail, 9], np.r_[head, 10], np.r_[length, 50.0], xy)
    production = np.zeros(far.n_nodes)
    production[[0, 9]] = [10.0, 4.0]
    attraction = np.zeros(far.n_nodes)
    attraction[8] = 1.0  # only in the grid: node 9's neighbour 10 attracts nothing
    result = assign(
        far, perceived_cost(far.length_m, np.ones(far.n_segments), ALPHA), production, attraction, theta=THETA
    )
    assert result.unassigned == pytest.approx(4.0)
    assert result.assigned == pytest.approx(10.0)
    assert result.generated == pytest.approx(result.assigned + result.unassigned)


def grid_ends(graph: FlowGraph) -> tuple[np.ndarray, np.ndarray]:
    tail = np.repeat(np.arange(graph.n_nodes), np.diff(graph.indptr))
    first = np.unique(graph.segment, return_index=True)[1]
    return tail[first], graph.head[first]


def test_reach_bounds_destinations():
    graph, length = grid(6, spacing=100.0)
    production = np.zeros(graph.n_nodes)
    production[0] = 1.0
    attraction = np.ones(graph.n_nodes)
    result = assign(graph, length.copy(), production, attraction, theta=THETA, reach_m=250.0)
    d = dijkstra(graph.lengths, indices=0)
    tail, head = grid_ends(graph)
    beyond = (d[tail] > 250.0) | (d[head] > 250.0)
    assert result.flow[beyond].sum() == 0.0
    assert result.flow[~beyond].sum() > 0.0


def enumerate_flows(
    graph: FlowGraph, cost: np.ndarray, origin: int, attraction: np.ndarray, theta: float
) -> np.ndarray:
    """Equation (2) by brute force: every efficient path from ``origin``, listed."""
    d = dijkstra(graph.lengths, indices=origin)
    paths = []  # (destination, segments, cost)

    def walk(node, segs, c):
        if node != origin:
            paths.append((node, list(segs), c))
        for arc in range(graph.indptr[node], graph.indptr[node + 1]):
            nxt = graph.head[arc]
            if d[nxt] > d[node]:
                seg = graph.segment[arc]
                walk(nxt, segs + [seg], c + cost[seg])

    walk(origin, [], 0.0)
    weights = np.array([attraction[j] * np.exp(-theta * c) for j, _, c in paths])
    flow = np.zeros(graph.n_segments)
    for (_j, segs, _c), w in zip(paths, weights):
        for s in segs:
            flow[s] += w / weights.sum()
    return flow


def test_dial_passes_equal_path_enumeration():
    graph, length = grid(4, spacing=60.0)
    rng = np.random.default_rng(11)
    cost = perceived_cost(length, rng.uniform(0, 1, len(length)), 3.0)
    attraction = rng.uniform(0.1, 2, graph.n_nodes)
    for origin in (0, 5, 15):
        production = np.zeros(graph.n_nodes)
        production[origin] = 1.0
        result = assign(graph, cost, production, attraction, theta=0.01)
        np.testing.assert_allclose(
            result.flow, enumerate_flows(graph, cost, origin, attraction, 0.01), rtol=1e-10, atol=1e-14
        )


def test_dial_passes_equal_path_enumeration_with_metres_felt_shorter():
    # the walkability stage's perceived length per metre may be below 1 (a metre in the
    # winter sun, sun weight 0.8): the paths are still the efficient ones by distance
    graph, length = grid(4, spacing=60.0)
    rng = np.random.default_rng(12)
    cost = length * rng.uniform(0.8, 1.3, len(length))
    assert (cost < length).any()
    attraction = rng.uniform(0.1, 2, graph.n_nodes)
    for origin in (0, 6):
        production = np.zeros(graph.n_nodes)
        production[origin] = 1.0
        result = assign(graph, cost, production, attraction, theta=0.01)
        assert result.assigned == pytest.approx(1.0, rel=1e-12)
        np.testing.assert_allclose(
            result.flow, enumerate_flows(graph, cost, origin, attraction, 0.01), rtol=1e-10, atol=1e-14
        )


def test_bad_inputs_are_named():
    graph, length = two_routes()[:2]
    with pytest.raises(ValueError, match="finite and positive"):
        assign(graph, length * 0.0, np.ones(4), np.ones(4), theta=THETA)
    with pytest.raises(ValueError, match="finite and positive"):
        assign(graph, length * np.nan, np.ones(4), np.ones(4), theta=THETA)
    with pytest.raises(ValueError, match="underflow"):
        assign(graph, length * 10, np.ones(4), np.ones(4), theta=1.0, reach_m=2000.0)
    with pytest.raises(ValueError, match="one value per node"):
        assign(graph, length, np.ones(3), np.ones(4), theta=THETA)


def test_destinations_on_plain_length_fix_where_people_go():
    # a tree: one route to every node, so flows change only if destinations do
    xy = np.array([[0, 0], [100, 0], [200, 0], [100, 100], [100, 200]], float)
    a, b = np.array([0, 1, 1, 3]), np.array([1, 2, 3, 4])
    length = np.array([100.0, 100.0, 100.0, 100.0])
    graph = FlowGraph.from_arrays(a, b, length, xy)
    production, attraction = np.array([10.0, 0, 0, 0, 0]), np.ones(5)
    hot = perceived_cost(length, np.array([1.0, 1.0, 0.0, 0.0]), 3.0)  # the north branch is hot
    plain = assign(graph, length.copy(), production, attraction, theta=THETA).flow
    fixed = assign(graph, hot, production, attraction, theta=THETA, destination_cost=length).flow
    joint = assign(graph, hot, production, attraction, theta=THETA).flow
    np.testing.assert_allclose(fixed, plain, rtol=1e-12)
    assert joint[3] < plain[3]  # in the joint logit the hot branch loses destinations


def test_destinations_on_plain_length_conserve_trips():
    graph, length = grid()
    rng = np.random.default_rng(5)
    production = rng.uniform(0, 20, graph.n_nodes)
    cost = perceived_cost(length, rng.uniform(0, 1, len(length)), ALPHA)
    result = assign(
        graph, cost, production, rng.uniform(0, 1, graph.n_nodes), theta=THETA, destination_cost=length
    )
    assert result.assigned == pytest.approx(production.sum(), rel=1e-12)


def test_graph_from_a_street_network_of_lines():
    import geopandas as gpd
    from shapely.geometry import LineString

    from pipeline.walkability.network import from_lines

    lines = gpd.GeoDataFrame(
        geometry=[LineString([(0, 0), (50, 5), (100, 0)]), LineString([(0, 0), (55, -30), (100, 0)])],
        crs="EPSG:6677",
    )
    # the two lines meet only at their ends: two segments, two nodes, a parallel pair
    network = from_lines(lines)
    graph = FlowGraph.from_network(network)
    assert (graph.n_nodes, graph.n_segments) == (2, 2)
    assert graph.lengths.nnz == 2  # one entry per direction: the shorter of the parallel pair
    assert graph.lengths.data.min() == pytest.approx(network.segments["length_m"].min())
    cost = perceived_cost(graph.length_m, np.array([0.1, 0.9]), ALPHA)  # the short one is hot
    production = np.array([10.0, 0.0]) if network.nodes.iloc[0]["x"] == 0 else np.array([0.0, 10.0])
    result = assign(graph, cost, production, 1.0 - production / 10.0, theta=THETA)
    expected = 10.0 / (1.0 + np.exp(-THETA * (cost[0] - cost[1])))
    assert result.flow[1] == pytest.approx(expected)
    assert result.flow.sum() == pytest.approx(10.0)
