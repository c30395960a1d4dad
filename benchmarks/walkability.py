"""Benchmark: comfort-weighted accessibility for 12 scenarios on a ~20,000-segment network.

Generated jittered grid (100 x 100 nodes, 19,800 segments, 100 m blocks), 5,000
destinations in 5 classes, thresholds 400 and 800 m. The floor is one bare cityseer
``layers.compute_accessibilities`` call on the same network and destinations; our run
assigns destinations once and computes accessibility once per scenario with that
scenario's ``imp_factor``. Prints a table; run with

    .venv/bin/python benchmarks/walkability.py [--side 100] [--scenarios 12]
"""

from __future__ import annotations

import argparse
import resource
import time

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import LineString, Point

from pipeline.walkability.accessibility import accessibility, assign_destinations, comfort_imp_factor
from pipeline.walkability.network import from_lines, network_structure

CRS = "EPSG:6677"
CLASSES = ["shop", "school", "clinic", "park", "station"]


def generated_network(side: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(-15, 15, (side, side, 2)) + 100.0 * np.stack(
        np.meshgrid(np.arange(side), np.arange(side), indexing="ij"), axis=-1
    )
    lines = [LineString([xy[i, j], xy[i + 1, j]]) for i in range(side - 1) for j in range(side)]
    lines += [LineString([xy[i, j], xy[i, j + 1]]) for i in range(side) for j in range(side - 1)]
    return from_lines(gpd.GeoDataFrame(geometry=lines, crs=CRS))


def destinations(network, n: int, seed: int = 1) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    seg = rng.integers(0, len(network), n)
    pts = network.segments.geometry.iloc[seg].interpolate(rng.uniform(0.1, 0.9, n), normalized=True)
    pts = [Point(p.x + rng.uniform(-5, 5), p.y + rng.uniform(-5, 5)) for p in pts]
    return gpd.GeoDataFrame(
        {"class": rng.choice(CLASSES, n)}, geometry=pts, crs=CRS, index=pd.Index([f"d{i}" for i in range(n)])
    )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--side", type=int, default=100)
    parser.add_argument("--destinations", type=int, default=5000)
    parser.add_argument("--scenarios", type=int, default=12)
    args = parser.parse_args()

    t0 = time.perf_counter()
    network = generated_network(args.side)
    dest = destinations(network, args.destinations)
    t_build = time.perf_counter() - t0
    rss_setup = peak_rss_mb()

    # floor: one bare cityseer call (its own data assignment and structure)
    from cityseer import config
    from cityseer.metrics import layers

    config.QUIET_MODE = True
    import logging

    logging.getLogger("cityseer").setLevel(logging.WARNING)
    t0 = time.perf_counter()
    ns = network_structure(network)
    nodes = gpd.GeoDataFrame(
        network.nodes.copy(), geometry=gpd.points_from_xy(network.nodes.x, network.nodes.y), crs=CRS
    )
    t_struct = time.perf_counter() - t0
    t0 = time.perf_counter()
    layers.compute_accessibilities(
        dest, "class", CLASSES, nodes, ns, distances=[400, 800], decay_fn="exp(-4 * p)"
    )
    t_floor = time.perf_counter() - t0

    # ours: assign once, then one accessibility per scenario with its imp_factor
    rng = np.random.default_rng(2)
    t0 = time.perf_counter()
    data_map = assign_destinations(network, dest)
    t_assign = time.perf_counter() - t0
    per_scenario = []
    t_all = time.perf_counter()
    for k in range(args.scenarios):
        shade = rng.uniform(0, 1, len(network))
        sun_weight = 1.5 if k % 2 == 0 else 0.9
        t0 = time.perf_counter()
        accessibility(
            network,
            dest,
            "class",
            classes=CLASSES,
            distances=(400, 800),
            imp_factor=comfort_imp_factor(shade, sun_weight),
            data_map=data_map,
        )
        per_scenario.append(time.perf_counter() - t0)
    t_total = time.perf_counter() - t_all + t_assign

    rows = [
        ("network build (from_lines)", t_build, ""),
        ("network_structure (one)", t_struct, ""),
        ("floor: bare cityseer compute_accessibilities", t_floor, "1.00"),
        ("assign destinations (once)", t_assign, f"{t_assign / t_floor:.2f}"),
        ("per scenario (mean)", float(np.mean(per_scenario)), f"{np.mean(per_scenario) / t_floor:.2f}"),
        ("per scenario (max)", float(np.max(per_scenario)), f"{np.max(per_scenario) / t_floor:.2f}"),
        (f"total, {args.scenarios} scenarios", t_total, f"{t_total / t_floor:.2f}"),
    ]
    print(
        f"network: {len(network)} segments, {len(network.nodes)} nodes; "
        f"{len(dest)} destinations in {len(CLASSES)} classes; {args.scenarios} scenarios"
    )
    print(f"{'step':48s} {'seconds':>9s} {'x floor':>8s}")
    for name, sec, ratio in rows:
        print(f"{name:48s} {sec:9.2f} {ratio:>8s}")
    print(f"peak RSS: {peak_rss_mb():.0f} MB (after setup {rss_setup:.0f} MB)")


if __name__ == "__main__":
    main()
