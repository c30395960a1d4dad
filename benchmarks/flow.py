"""Speed of the pedestrian flow simulation: trips per second on a district-sized network.

A jittered street grid of about 20,000 segments (100 x 100 blocks of 60 m, 6 x 6 km),
one million trips per hour produced at random nodes and attracted by random weights,
random comfort per segment (CoolWalks alpha 2), reach 2 km, one scenario; the joint
destination and route logit assigned with :func:`pipeline.flowsim.assignment.assign`.
Prints one table row per (theta, chunk) and the share of the issue's target (one
CPU-minute per scenario). Run single-threaded for CPU time::

    OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 PYTHONPATH=. python benchmarks/flow.py

With ``--run OUT`` (a finished run, e.g. ``out/sample``) it also reads each scenario's
scored segments (``walkability/segments_<scenario>.parquet``, ``c_thermal``) and assigns
the same placeholder demand (one trip per hour from and to every node: not a trip
rate, a probe) with the scenario's perceived cost and with plain lengths, and prints the
share of walker-metres that the scenario's comfort moves to other streets
(``sum |q_s - q_plain| l / 2 sum q_plain l``), the comfort of the average walked metre, and
the walker-metres against plain lengths (costlier metres shorten the chosen trips: the
joint logit's destination choice); then the same with destinations chosen on plain
length (``destination_cost``), where only the routes feel the scenario.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from pipeline.flowsim.assignment import assign, perceived_cost
from pipeline.flowsim.graph import FlowGraph


def district(blocks: int, spacing_m: float, seed: int = 0) -> tuple[FlowGraph, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = blocks + 1
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="xy")
    xy = np.column_stack([i.ravel(), j.ravel()]).astype(float) * spacing_m
    xy += rng.uniform(-0.1, 0.1, xy.shape) * spacing_m
    k = np.arange(n * n).reshape(n, n)
    a = np.concatenate([k[:, :-1].ravel(), k[:-1, :].ravel()])
    b = np.concatenate([k[:, 1:].ravel(), k[1:, :].ravel()])
    length = np.hypot(*(xy[a] - xy[b]).T)
    return FlowGraph.from_arrays(a, b, length, xy), length


def probe_run(run: str, *, theta: float, alpha: float, reach_m: float) -> None:
    """Walker-metres moved by each scenario's comfort on a run's street network (module docstring)."""
    from pathlib import Path

    import geopandas as gpd

    from pipeline.walkability.network import from_lines

    paths = sorted(Path(run, "walkability").glob("segments_*.parquet"))
    print(f"run {run}: {len(paths)} scenarios; alpha {alpha:g}, theta {theta:g}/m, placeholder demand")
    print(
        "| scenario | segments | mean c_thermal | walked c_thermal (plain) | walked c_thermal (scenario) | walker-metres moved | walker-metres vs plain | routes only: moved | routes only: walked c_thermal |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for path in paths:
        scored = gpd.read_parquet(path)
        network = from_lines(
            gpd.GeoDataFrame(
                {"c_thermal": scored["c_thermal"].to_numpy()},
                geometry=scored.geometry.to_numpy(),
                crs=scored.crs,
            )
        )
        graph = FlowGraph.from_network(network)
        comfort = network.segments["c_thermal"].to_numpy(float)
        ones = np.ones(graph.n_nodes)
        plain = assign(graph, graph.length_m.copy(), ones, ones, theta=theta, reach_m=reach_m).flow
        cost = perceived_cost(graph.length_m, comfort, alpha)
        felt = assign(graph, cost, ones, ones, theta=theta, reach_m=reach_m).flow
        route = assign(
            graph, cost, ones, ones, theta=theta, reach_m=reach_m, destination_cost=graph.length_m.copy()
        ).flow
        walked = graph.length_m
        moved = np.abs(felt - plain) @ walked / (2 * plain @ walked)
        known = np.isfinite(comfort)

        def mean_walked(q, walked=walked, known=known, comfort=comfort):
            return (q * walked)[known] @ comfort[known] / (q * walked)[known].sum()

        print(
            f"| {path.stem.removeprefix('segments_')} | {graph.n_segments} | {np.nanmean(comfort):.3f} | "
            f"{mean_walked(plain):.3f} | {mean_walked(felt):.3f} | {moved:.1%} | "
            f"{(felt @ walked) / (plain @ walked):.2f} | "
            f"{np.abs(route - plain) @ walked / (2 * plain @ walked):.1%} | {mean_walked(route):.3f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--blocks", type=int, default=100)
    parser.add_argument("--spacing", type=float, default=60.0)
    parser.add_argument("--trips", type=float, default=1_000_000)
    parser.add_argument("--origins", type=float, default=1.0, help="share of nodes producing trips")
    parser.add_argument("--theta", type=float, nargs="+", default=[0.01])
    parser.add_argument("--reach", type=float, default=2000.0)
    parser.add_argument("--chunk", type=int, nargs="+", default=[128])
    parser.add_argument("--run", help="a finished run folder: also probe its scenarios' comfort")
    parser.add_argument("--alpha", type=float, default=2.0)
    parser.add_argument(
        "--routes-only",
        action="store_true",
        help="choose destinations on plain length (destination_cost): two forward passes",
    )
    args = parser.parse_args()
    if args.run:
        probe_run(args.run, theta=args.theta[0], alpha=args.alpha, reach_m=args.reach)
    graph, length = district(args.blocks, args.spacing)
    rng = np.random.default_rng(1)
    production = rng.uniform(0, 1, graph.n_nodes) * (rng.uniform(0, 1, graph.n_nodes) < args.origins)
    production *= args.trips / production.sum()
    attraction = rng.uniform(0, 1, graph.n_nodes)
    cost = perceived_cost(length, rng.uniform(0, 1, graph.n_segments), 2.0)
    # compile the numba passes outside the timing
    small, small_len = district(3, args.spacing)
    assign(small, small_len, np.ones(small.n_nodes), np.ones(small.n_nodes), theta=0.01)
    mode = "destinations on plain length" if args.routes_only else "joint logit"
    print(
        f"{mode}; network: {graph.n_segments} segments, {graph.n_nodes} nodes; {args.trips:.0f} trips/h from "
        f"{int((production > 0).sum())} origins; reach {args.reach:.0f} m"
    )
    print("| theta (1/m) | chunk | wall s | CPU s | trips/s | assigned/generated | CPU vs 60 s target |")
    print("|---|---|---|---|---|---|---|")
    for theta in args.theta:
        for chunk in args.chunk:
            wall, cpu = time.perf_counter(), time.process_time()
            result = assign(
                graph,
                cost,
                production,
                attraction,
                theta=theta,
                reach_m=args.reach,
                chunk=chunk,
                destination_cost=length if args.routes_only else None,
            )
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            print(
                f"| {theta:g} | {chunk} | {wall:.1f} | {cpu:.1f} | {result.generated / cpu:,.0f} | "
                f"{result.assigned / result.generated:.9f} | {cpu / 60:.0%} |"
            )


if __name__ == "__main__":
    main()
