"""A generated N-tile district of per-tile stage outputs, for the tasks that used to read
a whole run (``walkability_summary``, ``shadow_maps``).

Running every stage over 64 tiles takes an hour; the two run-wide tasks only read what
the per-tile tasks wrote. This module writes that: per tile, the raw walkability tables
and sketches of ``walkability`` (a street grid of random spacing and angle over the
third-level mesh, with plausible metrics), the scale and the scored tiles (made by the
real ``walkability_scale`` and ``walkability_score`` task functions), a building table,
and the shade rasters of ``shadow`` (shade fraction per scenario at 4 m, shade hours at
1 m). Used by ``test_task_memory.py`` and runnable on its own::

    python tests/pipeline/district_outputs.py OUT 64
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

CRS = "EPSG:6677"
CLASSES = ("commercial", "office", "public", "education_medical")
DISTANCES = (400, 800)


def tile_codes(n_tiles: int) -> list[str]:
    """``n_tiles`` third-level meshes in a square around Saitama city hall."""
    from pipeline.geo import meshcode

    side = int(np.ceil(np.sqrt(n_tiles)))
    lat0, lon0 = 35.83, 139.60
    codes = [
        int(np.atleast_1d(meshcode.encode(lat0 + (r + 0.5) / 120, lon0 + (c + 0.5) / 80, 3))[0])
        for r in range(side)
        for c in range(side)
    ]
    return [str(c) for c in codes[:n_tiles]]


def _streets(polygon, rng) -> list:
    """A street grid over ``polygon`` with a random spacing and angle."""
    spacing = rng.uniform(60, 140)
    angle = rng.uniform(0, 90)
    cx, cy = polygon.centroid.x, polygon.centroid.y
    half = 800.0
    ticks = np.arange(-half, half + 1e-6, spacing)
    lines = []
    for t in ticks:
        for s in range(len(ticks) - 1):
            lines.append(shapely.LineString([(t, ticks[s]), (t, ticks[s + 1])]))
            lines.append(shapely.LineString([(ticks[s], t), (ticks[s + 1], t)]))
    rotated = shapely.affinity.rotate(shapely.GeometryCollection(lines), angle, origin=(0, 0))
    moved = shapely.affinity.translate(rotated, cx, cy)
    return [g for g in moved.geoms if polygon.contains(g.interpolate(0.5, normalized=True))]


def write_district(out: Path, n_tiles: int, scenarios, settings, seed: int = 13) -> dict:
    """Write the per-tile outputs of an ``n_tiles`` district under ``out``; return the
    records the run-wide tasks read, by stage (as :class:`pipeline.core.task.Record`)."""
    from pipeline.core.task import Record
    from pipeline.geo import meshcode
    from pipeline.geo.raster import Grid, write_cog
    from pipeline.stages.ingest import IngestOutputs
    from pipeline.stages.shadow import ShadowOutputs
    from pipeline.stages.walkability import WalkabilityTileOutputs, walkability_scale, walkability_score_tile
    from pipeline.walkability.scale import tile_partial

    rng = np.random.default_rng(seed)
    tiles_dir = out / "walkability" / "tiles"
    tiles_dir.mkdir(parents=True, exist_ok=True)
    walk, ingest, shadow = [], [], []
    for tile in tile_codes(n_tiles):
        polygon = meshcode.to_polygons([int(tile)], crs=CRS).geometry.iloc[0]
        lines = _streets(polygon, rng)
        n = len(lines)
        ids = [f"{tile}:{i}" for i in range(n)]
        access = {
            f"access_{c}_{d}": float(rng.poisson(3 + 10 * (d / 400) * rng.uniform(0, 1))) * np.ones(n)
            + rng.poisson(2, n)
            for c in CLASSES
            for d in DISTANCES
        }
        segments = gpd.GeoDataFrame(
            {
                "segment_id": ids,
                "tile": tile,
                "u": np.arange(n),
                "v": np.arange(n) + 1,
                "highway": "residential",
                "length_m": shapely.length(np.array(lines)),
                "meshcode": int(tile),
                **access,
                **{f"mix_hill_q0_{d}": rng.integers(1, 5, n).astype(float) for d in DISTANCES},
                "intersection_density": rng.uniform(20, 150, n),
                "width_m": rng.uniform(4, 20, n),
                "width_source": "streets",
                "slope_mean_pct": rng.uniform(0, 3, n),
                "slope_max_pct": rng.uniform(0, 6, n),
            },
            geometry=lines,
            crs=CRS,
        )
        rows = []
        for scenario in scenarios:
            share = rng.uniform(0, 1, n)
            people = rng.gamma(2.0, 15.0, n) if scenario.slot.name != "morning" else np.full(n, np.nan)
            rows.append(
                pd.DataFrame(
                    {
                        "segment_id": ids,
                        "scenario": scenario.name,
                        "shade_share": share,
                        "imp_factor": 1.0 + 0.6 * (1 - share),
                        "people": people,
                        **{
                            k.replace("access_", "access_comfort_", 1): v * rng.uniform(0.7, 1, n)
                            for k, v in access.items()
                        },
                    }
                )
            )
        per_scenario = pd.concat(rows, ignore_index=True)
        paths = {
            "segments": tiles_dir / f"{tile}_segments.parquet",
            "scenarios": tiles_dir / f"{tile}_scenarios.parquet",
            "sketches": tiles_dir / f"{tile}_sketches.json",
        }
        segments.to_parquet(paths["segments"], index=False)
        per_scenario.to_parquet(paths["scenarios"], index=False)
        paths["sketches"].write_text(
            json.dumps(tile_partial(segments, per_scenario, DISTANCES[0]), sort_keys=True)
        )
        walk.append(
            Record(
                stage="walkability",
                tile=tile,
                outputs=WalkabilityTileOutputs(**{k: str(v) for k, v in paths.items()}),
            )
        )

        # buildings between the streets: the buildings_nearest_street and map inputs
        points = shapely.points(
            rng.uniform(*polygon.bounds[0::2], 300), rng.uniform(*polygon.bounds[1::2], 300)
        )
        inside = [p for p in points if polygon.contains(p)]
        footprints = gpd.GeoDataFrame(
            {
                "gml_id": [f"bldg_{tile}_{i}" for i in range(len(inside))],
                "measured_height": rng.uniform(5, 40, len(inside)),
            },
            geometry=[p.buffer(6, cap_style="square") for p in inside],
            crs=CRS,
        )
        table = out / "ingest" / "bldg" / f"{tile}_bldg.parquet"
        table.parent.mkdir(parents=True, exist_ok=True)
        footprints.to_parquet(table, index=False)
        ingest.append(
            Record(
                stage="ingest",
                tile=tile,
                feature_type="bldg",
                mesh_code=tile,
                outputs=IngestOutputs(table=str(table)),
            )
        )

        # shade: fraction per scenario at 4 m (class maps), hours per season at 1 m (shadow maps)
        x0, y0, x1, y1 = polygon.bounds
        outputs = {"shade_fraction": {}, "shade_hours": {}}
        for resolution, kind, names in (
            (4.0, "shade_fraction", [s.name for s in scenarios]),
            (1.0, "shade_hours", ["summer_solstice", "winter_solstice"]),
        ):
            grid = Grid.from_bounds(x0, y0, x1, y1, resolution, CRS)
            xs, ys = grid.cell_centres()
            pattern = (np.sin(xs[None, :] / 37.0) * np.cos(ys[:, None] / 53.0) + 1).astype(np.float32)
            for name in names:
                path = out / "shadow" / f"{tile}_{kind}_{name}.tif"
                path.parent.mkdir(parents=True, exist_ok=True)
                write_cog(path, pattern * (0.5 if kind == "shade_fraction" else 4.0), grid, nodata=np.nan)
                outputs[kind][name] = str(path)
        shadow.append(Record(stage="shadow", tile=tile, outputs=ShadowOutputs(**outputs)))

    scale = walkability_scale(
        str(out / "walkability"), settings=settings, scenarios=scenarios, walkability=walk
    )
    scale_record = Record(stage="walkability_scale", tile="all", **{"outputs": scale.outputs})
    scored = []
    for record in walk:
        result = walkability_score_tile(
            record.tile,
            str(tiles_dir),
            CRS,
            settings=settings,
            scenarios=scenarios,
            walkability=[record],
            scale=[scale_record],
        )
        scored.append(Record.from_result(result, stage="walkability_score", tile=record.tile, seconds=0))
    return {"walkability_score": scored, "scale": [scale_record], "ingest": ingest, "shadow": shadow}


def definition(out: Path):
    from pipeline.stages import load_run_definition

    root = Path(__file__).resolve().parents[2]
    return load_run_definition(root / "dags" / "sample.yaml", {"output": str(out)})


if __name__ == "__main__":
    target, count = Path(sys.argv[1]), int(sys.argv[2])
    d = definition(target)
    settings = d.stages.walkability
    write_district(target, count, d.scenarios.scenarios(), settings)
