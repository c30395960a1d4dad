"""The simulation over scenarios: ratios recovered exactly, GEH 0 on counts the model made."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.flowsim.assignment import perceived_cost
from pipeline.flowsim.generation import TripEnds
from pipeline.flowsim.graph import FlowGraph
from pipeline.flowsim.scaling import WALK_SPEED_M_PER_H
from pipeline.flowsim.simulate import fit_and_validate, simulate_scenarios


def grid(n: int, spacing: float = 80.0) -> tuple[FlowGraph, np.ndarray]:
    xy = np.array([(i * spacing, j * spacing) for j in range(n) for i in range(n)], float)
    xy += np.random.default_rng(3).uniform(-8, 8, xy.shape)
    k = np.arange(n * n).reshape(n, n)
    a = np.concatenate([k[:, :-1].ravel(), k[:-1, :].ravel()])
    b = np.concatenate([k[:, 1:].ravel(), k[1:, :].ravel()])
    length = np.hypot(*(xy[a] - xy[b]).T)
    return FlowGraph.from_arrays(a, b, length, xy), length


def test_ratios_are_recovered_and_heat_changes_the_flows():
    graph, length = grid(5)
    rng = np.random.default_rng(2)
    ends = TripEnds(rng.uniform(0, 30, graph.n_nodes), rng.uniform(0, 1, graph.n_nodes), 0.0)
    comfort = {
        "heat_day_midday": rng.uniform(0, 1, graph.n_segments),
        "winter_solstice_midday": rng.uniform(0, 1, graph.n_segments),
    }
    factor = {k: perceived_cost(length, c, 2.0) / length for k, c in comfort.items()}
    flows, summary = simulate_scenarios(graph, {k: ends for k in comfort}, factor, theta=0.02)
    assert summary["assigned"].to_numpy() == pytest.approx(summary["generated"].to_numpy(), rel=1e-12)
    assert not np.allclose(flows["heat_day_midday"], flows["winter_solstice_midday"])
    cells = np.repeat([53396489, 53396499], [graph.n_segments // 2, graph.n_segments - graph.n_segments // 2])
    present = flows.mul(length, axis=0) / WALK_SPEED_M_PER_H
    mlit = present.groupby(cells).sum() * 3.0
    mlit["winter_solstice_midday"] = np.nan  # not covered: does not count
    counted = pd.DataFrame(
        {
            "counter_id": ["a", "b"],
            "scenario": "heat_day_midday",
            "day_type": "weekday",
            "pedestrians_per_hour": flows["heat_day_midday"].to_numpy()[[3, 7]] * 0.5,
        }
    )
    fitted = fit_and_validate(
        flows, graph.length_m, cells, mlit, counted, pd.Series([3, 7], index=["a", "b"])
    )
    assert fitted.mlit_ratio == pytest.approx(3.0)
    assert fitted.mlit_pairs == 2
    assert fitted.counter_ratio == pytest.approx(0.5)
    np.testing.assert_allclose(fitted.validation["geh"], 0.0, atol=1e-9)
    assert fitted.share_geh_below_5 == 1.0
    np.testing.assert_allclose(
        fitted.people_per_100m["heat_day_midday"], flows["heat_day_midday"] * 100 / WALK_SPEED_M_PER_H * 3.0
    )
    assert perceived_cost(length, comfort["heat_day_midday"], 2.0).min() >= length.min()
