"""The point tiles: one part per mesh cell, every point in exactly one, one root over them."""

from __future__ import annotations

import json
from pathlib import Path

import laspy
import numpy as np
import pytest

from pipeline.geo.tiling import tile_lonlat_bounds
from pipeline.stages.lidar import PointTilesOutputs, lidar_tiles_task, lidar_tileset_task, point_tile_cells
from tiles import check_tileset, count_features, ecef_to_lonlath
from tiles.validate import glb_positions_ecef, iter_contents

SAMPLE_LAZ = Path(__file__).resolve().parents[3] / "sample_data/omiya/lidar/omiya_sample.laz"


@pytest.fixture(scope="module")
def point_parts(tmp_path_factory):
    out = tmp_path_factory.mktemp("lidar")
    cells, problems = point_tile_cells([SAMPLE_LAZ], None)
    results = {
        cell: lidar_tiles_task(
            paths,
            str(out / cell),
            cell,
            source_crs=None,
            geoid_model="gsigeo2011",
            chunk_size=100_000,
            max_points_per_tile=50_000,
        )
        for cell, paths in cells.items()
    }
    return out, cells, problems, results


def test_every_point_is_in_exactly_one_cell(point_parts):
    out, cells, problems, results = point_parts
    assert problems == [] and len(cells) == 4
    with laspy.open(SAMPLE_LAZ) as reader:
        in_file = reader.header.point_count
    assert sum(r.counts["points"] for r in results.values()) == in_file == 423_200
    for cell, result in results.items():
        lon_min, lat_min, lon_max, lat_max = tile_lonlat_bounds(cell)
        positions = np.concatenate(
            [glb_positions_ecef(path, world) for path, _, world in iter_contents(result.outputs.tileset)]
        )
        lon, lat, _ = ecef_to_lonlath(positions).T
        assert len(positions) == result.counts["points"]
        # float32 positions in the GLB: within a centimetre (1e-7 degree) of the cell
        assert lon.min() >= lon_min - 1e-7 and lon.max() <= lon_max + 1e-7
        assert lat.min() >= lat_min - 1e-7 and lat.max() <= lat_max + 1e-7


def test_a_cell_without_points_writes_no_part(tmp_path):
    result = lidar_tiles_task(
        [str(SAMPLE_LAZ)],
        str(tmp_path / "far"),
        "53394611",
        source_crs=None,
        geoid_model="none",
        chunk_size=100_000,
        max_points_per_tile=50_000,
    )
    assert result.outputs == PointTilesOutputs(tileset=None) and result.counts["points"] == 0
    assert not (tmp_path / "far").exists()


def test_the_root_holds_every_part(point_parts):
    out, cells, _, results = point_parts
    parts = [r.outputs.tileset for r in results.values()]
    root = lidar_tileset_task(str(out), parts, sum(r.counts["points"] for r in results.values()))
    tileset_path = Path(root.outputs.tileset)
    assert check_tileset(tileset_path) == []
    assert count_features(tileset_path, leaves_only=False) == root.counts["points"] == 423_200
    children = json.loads(tileset_path.read_text())["root"]["children"]
    assert [c["content"]["uri"] for c in children] == [f"{cell}/tileset.json" for cell in sorted(cells)]
