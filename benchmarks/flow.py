"""Speed of the pedestrian flow simulation: trips per second on a district-sized network.

A jittered street grid of about 20,000 segments (100 x 100 blocks of 60 m, 6 x 6 km),
one million trips per hour produced at random nodes and attracted by random weights,
random comfort per segment (CoolWalks alpha 2), reach 2 km, one scenario; the joint
destination and route logit assigned with :func:`pipeline.flowsim.assignment.assign`.
Prints one table row per (theta, chunk) and the share of the issue's target (one
CPU-minute per scenario). Run single-threaded for CPU time::

    OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 PYTHONPATH=. python benchmarks/flow.py
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--blocks", type=int, default=100)
    parser.add_argument("--spacing", type=float, default=60.0)
    parser.add_argument("--trips", type=float, default=1_000_000)
    parser.add_argument("--origins", type=float, default=1.0, help="share of nodes producing trips")
    parser.add_argument("--theta", type=float, nargs="+", default=[0.01])
    parser.add_argument("--reach", type=float, default=2000.0)
    parser.add_argument("--chunk", type=int, nargs="+", default=[128])
    args = parser.parse_args()
    graph, length = district(args.blocks, args.spacing)
    rng = np.random.default_rng(1)
    production = rng.uniform(0, 1, graph.n_nodes) * (rng.uniform(0, 1, graph.n_nodes) < args.origins)
    production *= args.trips / production.sum()
    attraction = rng.uniform(0, 1, graph.n_nodes)
    cost = perceived_cost(length, rng.uniform(0, 1, graph.n_segments), 2.0)
    # compile the numba passes outside the timing
    small, small_len = district(3, args.spacing)
    assign(small, small_len, np.ones(small.n_nodes), np.ones(small.n_nodes), theta=0.01)
    print(f"network: {graph.n_segments} segments, {graph.n_nodes} nodes; {args.trips:.0f} trips/h from "
          f"{int((production > 0).sum())} origins; reach {args.reach:.0f} m")
    print("| theta (1/m) | chunk | wall s | CPU s | trips/s | assigned/generated | CPU vs 60 s target |")
    print("|---|---|---|---|---|---|---|")
    for theta in args.theta:
        for chunk in args.chunk:
            wall, cpu = time.perf_counter(), time.process_time()
            result = assign(graph, cost, production, attraction, theta=theta, reach_m=args.reach, chunk=chunk)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            print(f"| {theta:g} | {chunk} | {wall:.1f} | {cpu:.1f} | {result.generated / cpu:,.0f} | "
                  f"{result.assigned / result.generated:.9f} | {cpu / 60:.0%} |")


if __name__ == "__main__":
    main()
