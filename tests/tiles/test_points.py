"""Point cloud octree: every point written exactly once, properties kept, valid GLB."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tiles import PointChunk, check_tileset, count_features, lonlath_to_ecef, write_point_tileset
from tiles.gltf import read_accessor, read_glb
from tiles.points import ASPRS_COLORS, assign_tiles, plan_octree
from tiles.validate import content_paths, glb_positions_ecef, iter_tiles

N_POINTS = 60_000


@pytest.fixture(scope="module")
def cloud():
    rng = np.random.default_rng(3)
    lon = 139.70 + rng.uniform(0, 0.004, N_POINTS)
    lat = 35.68 + rng.uniform(0, 0.003, N_POINTS)
    h = 40.0 + 10 * np.sin(lon * 3e3) + rng.uniform(0, 0.5, N_POINTS)
    return {
        "lonlath": np.column_stack([lon, lat, h]),
        "classification": rng.choice([2, 5, 6, 9], N_POINTS).astype(np.uint8),
        "intensity": np.arange(N_POINTS, dtype=np.uint16),  # unique: identifies each point
        "return_number": rng.integers(1, 4, N_POINTS).astype(np.uint8),
    }


def _chunks(cloud, size, rgb=False):
    for start in range(0, N_POINTS, size):
        part = slice(start, start + size)
        yield PointChunk(
            cloud["lonlath"][part],
            rgb=np.full((len(cloud["lonlath"][part]), 3), 7, np.uint8) if rgb else None,
            classification=cloud["classification"][part],
            intensity=cloud["intensity"][part],
            return_number=cloud["return_number"][part],
        )


@pytest.fixture(scope="module")
def written(cloud, tmp_path_factory):
    out = tmp_path_factory.mktemp("points")
    return write_point_tileset(
        _chunks(cloud, 25_000), out, max_points_per_tile=8_000, scheduler="synchronous"
    )


def _read_all(summary):
    tileset = json.loads(summary.tileset_path.read_text())
    ecef, props = [], {"_CLASSIFICATION": [], "_INTENSITY": [], "_RETURN_NUMBER": [], "COLOR_0": []}
    for tile, _, world in iter_tiles(tileset):
        if "content" not in tile:
            continue
        path = summary.tileset_path.parent / tile["content"]["uri"]
        ecef.append(glb_positions_ecef(path, world))
        gltf, binary = read_glb(path.read_bytes())
        attributes = gltf["meshes"][0]["primitives"][0]["attributes"]
        for name in props:
            props[name].append(read_accessor(gltf, binary, attributes[name]))
    return np.concatenate(ecef), {k: np.concatenate(v) for k, v in props.items()}


def test_every_point_once_with_its_properties(cloud, written):
    assert written.feature_count == N_POINTS == count_features(written.tileset_path, leaves_only=False)
    ecef, props = _read_all(written)
    order = np.argsort(props["_INTENSITY"])
    assert np.array_equal(props["_INTENSITY"][order], np.arange(N_POINTS))  # none missing, none twice
    expected = lonlath_to_ecef(cloud["lonlath"])
    assert np.abs(ecef[order] - expected).max() < 0.01
    assert np.array_equal(props["_CLASSIFICATION"][order], cloud["classification"])
    assert np.array_equal(props["_RETURN_NUMBER"][order], cloud["return_number"])
    # no rgb given: coloured by ASPRS class
    buildings = props["_CLASSIFICATION"] == 6
    assert np.all(props["COLOR_0"][buildings] == ASPRS_COLORS[6])


def test_octree_structure(written):
    assert check_tileset(written.tileset_path) == []
    tileset = json.loads(written.tileset_path.read_text())
    tiles = list(iter_tiles(tileset))
    assert all(t["refine"] == "ADD" for t, _, _ in tiles)
    assert written.max_depth >= 1 and written.content_count == len(content_paths(written.tileset_path))
    parents = [t for t, _, _ in tiles if t.get("children") and "content" in t]
    assert parents, "internal tiles hold a subsample"
    for path in content_paths(written.tileset_path):
        gltf, _ = read_glb(path.read_bytes())
        assert gltf["accessors"][0]["count"] <= 8_000 * 1.2  # capacity, up to sampling noise


def test_point_glbs_pass_gltf_validator(written, gltf_validator):
    reports = gltf_validator(content_paths(written.tileset_path))
    assert all(r["numErrors"] == 0 for r in reports), [r for r in reports if r["numErrors"]]


def test_rgb_is_used_when_given_and_chunking_does_not_matter(cloud, tmp_path):
    summary = write_point_tileset(
        _chunks(cloud, 7_000, rgb=True), tmp_path, max_points_per_tile=8_000, scheduler="synchronous"
    )
    _, props = _read_all(summary)
    assert np.all(props["COLOR_0"] == 7) and len(props["COLOR_0"]) == N_POINTS


def test_plan_keeps_internal_samples_near_capacity():
    rng = np.random.default_rng(0)
    codes = np.sort(rng.integers(0, 8**4, 100_000).astype(np.uint64))
    unique, counts = np.unique(codes, return_counts=True)
    plan = plan_octree(unique, counts, bits=4, max_points=5_000)
    tiles = assign_tiles(codes, plan, np.random.default_rng(1))
    assert tiles.min() >= 0
    per_tile = np.bincount(tiles, minlength=len(plan.tiles))
    assert per_tile[0] == pytest.approx(5_000, rel=0.1)
    assert per_tile.sum() == 100_000 and per_tile.max() < 5_000 * 1.2
