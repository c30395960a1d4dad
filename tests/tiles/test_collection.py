"""A tileset of parts (external tilesets): placement, structure, determinism, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tiles import (
    MeshFeature,
    PointChunk,
    check_tileset,
    count_features,
    enu_to_ecef_matrix,
    lonlath_to_ecef,
    write_mesh_tileset,
    write_point_tileset,
)
from tiles.collection import box_in_frame, remove_stale_parts, write_tileset_of_parts
from tiles.validate import glb_positions_ecef, iter_contents

LON0, LAT0 = 139.62, 35.90


@pytest.fixture(scope="module")
def parts(make_house, tmp_path_factory):
    """Two mesh parts 1.2 km apart and one point part, each a tileset of its own."""
    out = tmp_path_factory.mktemp("layer")
    houses = {}
    for name, lon in (("west", LON0), ("east", LON0 + 0.013)):
        houses[name] = [
            MeshFeature.single(
                f"{name}_{i}",
                "bldg:Building",
                *make_house(lon + 0.0004 * i, LAT0, 30.0, 10, 8, 6 + i),
                properties={"storeys": i + 1},
            )
            for i in range(8)
        ]
        write_mesh_tileset(houses[name], out / name, max_features_per_tile=3, scheduler="synchronous")
    rng = np.random.default_rng(3)
    xyz = np.column_stack(
        [
            LON0 + rng.uniform(0, 0.004, 5000),
            LAT0 - 0.006 + rng.uniform(0, 0.003, 5000),
            rng.uniform(30, 60, 5000),
        ]
    )
    write_point_tileset([PointChunk(xyz)], out / "points", max_points_per_tile=1000, scheduler="synchronous")
    paths = [out / name / "tileset.json" for name in ("west", "east", "points")]
    return out, paths, houses, xyz


def test_root_references_every_part_and_passes_the_checks(parts):
    out, paths, houses, xyz = parts
    root = write_tileset_of_parts(paths, out)
    assert check_tileset(root) == []
    tileset = json.loads(root.read_text())
    assert [c["content"]["uri"] for c in tileset["root"]["children"]] == [
        "east/tileset.json",
        "points/tileset.json",
        "west/tileset.json",
    ]
    # external roots carry their own transform: the referencing tiles carry none
    assert "transform" not in tileset["root"]
    assert count_features(root, leaves_only=False) == 16 + 5000  # ADD: each once


def test_contents_land_where_the_parts_put_them(parts):
    out, paths, houses, xyz = parts
    root = write_tileset_of_parts(paths, out)
    from scipy.spatial import cKDTree

    for name in ("west", "east"):
        expected = lonlath_to_ecef(np.concatenate([p.vertices for f in houses[name] for p in f.parts]))
        written = np.concatenate(
            [
                glb_positions_ecef(path, world)
                for path, _, world in iter_contents(root)
                if f"/{name}/" in str(path)
            ]
        )
        distance, _ = cKDTree(expected).query(written)
        assert distance.max() < 0.01
    points = np.concatenate(
        [glb_positions_ecef(path, world) for path, _, world in iter_contents(root) if "/points/" in str(path)]
    )
    distance, _ = cKDTree(lonlath_to_ecef(xyz)).query(points)
    assert len(points) == len(xyz) and distance.max() < 0.01


def test_the_same_parts_give_the_same_file_in_any_order(parts):
    out, paths, _, _ = parts
    first = write_tileset_of_parts(paths, out).read_bytes()
    assert write_tileset_of_parts(paths[::-1], out).read_bytes() == first


def test_a_misplaced_part_is_reported(parts, tmp_path):
    out, paths, _, _ = parts
    root = write_tileset_of_parts(paths, out)
    tileset = json.loads(root.read_text())
    # Boxes given in an east/north/up frame that the root's transform places right: each
    # external part's own transform then applies after it, and moves the part away.
    frame = enu_to_ecef_matrix(LON0, LAT0)
    tileset["root"]["transform"] = [float(v) for v in frame.T.reshape(-1)]
    for tile in (tileset["root"], *tileset["root"]["children"]):
        tile["boundingVolume"]["box"] = box_in_frame(tile["boundingVolume"]["box"], np.eye(4), frame)
    broken = out / "broken.json"
    broken.write_text(json.dumps(tileset))
    problems = check_tileset(broken)
    assert len(problems) == 3 and all("not inside the referencing tile" in p for p in problems)


def test_parts_outside_the_folder_or_none_are_refused(parts, tmp_path):
    out, paths, _, _ = parts
    with pytest.raises(ValueError, match="at least one part"):
        write_tileset_of_parts([], out)
    with pytest.raises(ValueError, match="must lie inside"):
        write_tileset_of_parts(paths, tmp_path)


def test_stale_parts_are_removed(parts, tmp_path):
    import shutil

    out, paths, _, _ = parts
    layer = tmp_path / "layer"
    shutil.copytree(out / "west", layer / "west")
    shutil.copytree(out / "east", layer / "gone")
    removed = remove_stale_parts(layer, [layer / "west" / "tileset.json"])
    assert [p.name for p in removed] == ["gone"] and (layer / "west/tileset.json").is_file()
