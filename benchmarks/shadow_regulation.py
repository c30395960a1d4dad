"""Benchmark: the shadow-regulation check (日影規制) of one added building, by height and sampling.

A generated case (design case: the winter solstice of 2025, central Tokyo, EPSG:6677): a
slab of flats 40 m east-west by 12 m, its north face 15 m inside a 50 m x 30 m lot, limits
(一) 4 h / 2.5 h on the 4 m plane. For each height and each plane resolution / time step,
:func:`pipeline.measures.shadow_regulation.check_shadow_regulation` is timed (CPU seconds,
``time.process_time``, best of ``--repeat``) and its verdict, the longest shadow in each
band and the area over each limit are printed, so the effect of the sampling on the
result can be read off the table.

    PYTHONPATH=. .venv/bin/python benchmarks/shadow_regulation.py [--repeat 2]
"""

from __future__ import annotations

import argparse
import time

from shapely.geometry import box

from pipeline.measures.hikage_limits import ShadowLimits
from pipeline.measures.shadow_regulation import check_shadow_regulation

CRS = "EPSG:6677"
X0, Y0 = -10_000.0, -30_000.0
LOT = box(X0 - 25, Y0 - 15, X0 + 25, Y0 + 15)
SLAB = box(X0 - 20, Y0 - 12, X0 + 20, Y0)
LIMITS = ShadowLimits(4.0, 2.5, 4.0, class_number=1, source="(一) 4時間-2.5時間／4m")
CASES = [
    (10.0, 0.5, 2.0),
    (20.0, 0.5, 2.0),
    (30.0, 0.5, 2.0),
    (60.0, 0.5, 2.0),
    (30.0, 1.0, 2.0),
    (30.0, 0.25, 2.0),
    (30.0, 0.5, 1.0),
    (30.0, 0.5, 5.0),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    print(
        "| height m | cell m | step min | CPU s | status | max h 5-10 m | over m² | max h >10 m | over m² |"
    )
    print("|---:|---:|---:|---:|---|---:|---:|---:|---:|")
    for height, resolution, step in CASES:
        best = float("inf")
        for _ in range(args.repeat):
            start = time.process_time()
            result = check_shadow_regulation(
                SLAB, height, LIMITS, CRS, year=2025, site=LOT, resolution_m=resolution, step_minutes=step
            )
            best = min(best, time.process_time() - start)
        print(
            f"| {height:g} | {resolution:g} | {step:g} | {best:.2f} | {result.status} | "
            f"{result.near.max_hours:.2f} | {result.near.area_over_m2:.1f} | "
            f"{result.far.max_hours:.2f} | {result.far.area_over_m2:.1f} |"
        )


if __name__ == "__main__":
    main()
