"""Mesh tilesets: placement round trip, features, metadata, tree rules, glTF validity."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tiles import (
    MeshFeature,
    Texture,
    check_glb_metadata,
    check_tileset,
    count_features,
    lonlath_to_ecef,
    write_mesh_tileset,
)
from tiles.gltf import read_accessor, read_glb
from tiles.metadata import IDENTIFIER_RE
from tiles.tileset import build_quadtree
from tiles.validate import content_paths, glb_positions_ecef, iter_tiles

LON0, LAT0 = 139.70, 35.68


@pytest.fixture(scope="module")
def city(make_house, png_bytes):
    """60 houses on a 600 m square: boxes, gabled roofs, one textured, one vertex-coloured."""
    rng = np.random.default_rng(7)
    features = []
    for i in range(60):
        lon, lat = LON0 + rng.uniform(0, 0.0066), LAT0 + rng.uniform(0, 0.0054)
        vertices, triangles = make_house(lon, lat, 40.0, 10, 8, 6 + i % 5, roof_h=3.0 if i % 2 else 0.0)
        extra = {}
        if i == 1:
            uv = np.column_stack([np.linspace(0, 1, len(vertices)), np.linspace(1, 0, len(vertices))])
            extra = {"uv": uv, "texture": Texture(png_bytes, "image/png")}
        elif i == 2:
            extra = {"colors": np.tile([[200, 30, 30]], (len(vertices), 1)).astype(np.uint8)}
        props = {
            "measuredHeight": 6.0 + i % 5,
            "uro:建物ID": f"13101-bldg-{i}",
            "storeys": (i % 4) or None,
            "isPublic": bool(i % 3),
        }
        features.append(
            MeshFeature.single(f"bldg_{i}", "bldg:Building", vertices, triangles, properties=props, **extra)
        )
    trees = [
        MeshFeature.single(
            f"veg_{i}",
            "veg:SolitaryVegetationObject",
            *make_house(LON0 + 0.001 * i, LAT0 - 0.0003, 41.0, 2, 2, 5),
            properties={"species": "ケヤキ"},
        )
        for i in range(5)
    ]
    return features + trees


@pytest.fixture(scope="module")
def written(city, tmp_path_factory):
    out = tmp_path_factory.mktemp("city")
    summary = write_mesh_tileset(
        city, out, max_features_per_tile=12, max_bytes_per_tile=10_000_000, scheduler="synchronous"
    )
    return summary, out


def test_every_feature_is_written_once_in_a_leaf(city, written):
    summary, out = written
    assert summary.feature_count == len(city) == count_features(summary.tileset_path)
    ids = []
    for path in content_paths(summary.tileset_path, leaves_only=True):
        gltf, binary = read_glb(path.read_bytes())
        for table in gltf["extensions"]["EXT_structural_metadata"]["propertyTables"]:
            view = gltf["bufferViews"][table["properties"]["feature_id"]["stringOffsets"]]
            offsets = np.frombuffer(binary, np.uint32, table["count"] + 1, view["byteOffset"])
            values = binary[gltf["bufferViews"][table["properties"]["feature_id"]["values"]]["byteOffset"] :]
            ids += [values[a:b].decode() for a, b in zip(offsets[:-1], offsets[1:])]
    assert sorted(ids) == sorted(f.id for f in city)
    assert summary.content_count >= 6 and summary.max_depth >= 1


def test_tileset_passes_structural_checks(written):
    summary, _ = written
    assert check_tileset(summary.tileset_path) == []
    tileset = json.loads(summary.tileset_path.read_text())
    assert tileset["asset"]["version"] == "1.1"
    refines = {tile["refine"] for tile, _, _ in iter_tiles(tileset)}
    assert refines == {"ADD"}
    leaves = [t for t, _, _ in iter_tiles(tileset) if not t.get("children")]
    assert all(t["geometricError"] == 0 for t in leaves)
    assert tileset["root"]["geometricError"] > 0


def test_positions_round_trip_to_ecef_within_a_centimetre(city, written):
    summary, _ = written
    tileset = json.loads(summary.tileset_path.read_text())
    written_ecef = np.concatenate(
        [
            glb_positions_ecef(summary.tileset_path.parent / t["content"]["uri"], world)
            for t, _, world in iter_tiles(tileset)
            if "content" in t
        ]
    )
    expected = lonlath_to_ecef(np.concatenate([p.vertices for f in city for p in f.parts]))
    # flat shading repeats vertices per corner: every written vertex is an input vertex and back
    from scipy.spatial import cKDTree

    distance, _ = cKDTree(expected).query(written_ecef)
    assert distance.max() < 0.01
    distance, _ = cKDTree(written_ecef).query(expected)
    assert distance.max() < 0.01


def test_content_bounds_lie_in_tile_boxes(written):
    summary, _ = written
    tileset = json.loads(summary.tileset_path.read_text())
    from tiles.bounds import points_in_box

    for tile, _, world in iter_tiles(tileset):
        if "content" in tile:
            ecef = glb_positions_ecef(summary.tileset_path.parent / tile["content"]["uri"], world)
            local = (ecef - world[:3, 3]) @ world[:3, :3]
            assert points_in_box(local, tile["boundingVolume"]["box"]).all()


def test_metadata_schema_classes_and_properties(written):
    summary, _ = written
    class_names, textured, coloured = set(), 0, 0
    for path in content_paths(summary.tileset_path):
        assert check_glb_metadata(path) == []
        gltf, binary = read_glb(path.read_bytes())
        classes = gltf["extensions"]["EXT_structural_metadata"]["schema"]["classes"]
        class_names |= {c["name"] for c in classes.values()}
        assert all(IDENTIFIER_RE.match(cid) for cid in classes)
        for primitive in gltf["meshes"][0]["primitives"]:
            textured += "TEXCOORD_0" in primitive["attributes"]
            coloured += "COLOR_0" in primitive["attributes"]
            normals = read_accessor(gltf, binary, primitive["attributes"]["NORMAL"])
            np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-5)
    assert class_names == {"bldg:Building", "veg:SolitaryVegetationObject"}
    assert textured == 1 and coloured == 1


def test_every_glb_passes_gltf_validator(written, gltf_validator):
    summary, _ = written
    reports = gltf_validator(content_paths(summary.tileset_path))
    assert reports and all(r["numErrors"] == 0 for r in reports), [r for r in reports if r["numErrors"]]


def test_coarse_stand_ins_refine_by_replace(make_house, tmp_path):
    fine, coarse = [], []
    for i in range(20):
        lon, lat = LON0 + 0.0003 * i, LAT0
        fine.append(
            MeshFeature.single(f"b{i}", "bldg:Building", *make_house(lon, lat, 40, 10, 8, 6, roof_h=4))
        )
        coarse.append(MeshFeature.single(f"b{i}", "bldg:Building", *make_house(lon, lat, 40, 10, 8, 8)))
    summary = write_mesh_tileset(
        fine, tmp_path, max_features_per_tile=5, coarse_features=coarse, scheduler="synchronous"
    )
    assert check_tileset(summary.tileset_path) == []
    assert count_features(summary.tileset_path) == 20
    tileset = json.loads(summary.tileset_path.read_text())
    replace = [t for t, _, _ in iter_tiles(tileset) if t["refine"] == "REPLACE"]
    assert len(replace) == 4
    # LOD1 box top at 48 m vs LOD2 ridge at 50 m: a 2 m simplification error
    assert all(t["geometricError"] == pytest.approx(2.0, abs=1e-3) for t in replace)
    assert all(t["content"]["uri"].endswith("_coarse.glb") and len(t["children"]) == 1 for t in replace)


def test_ecef_input_gives_the_same_placement(make_house, tmp_path):
    vertices, triangles = make_house(LON0, LAT0, 40, 10, 8, 6)
    feature = MeshFeature.single("b", "bldg:Building", lonlath_to_ecef(vertices), triangles)
    summary = write_mesh_tileset([feature], tmp_path, crs="EPSG:4978", scheduler="synchronous")
    tileset = json.loads(summary.tileset_path.read_text())
    ((tile, _, world),) = [(t, p, w) for t, p, w in iter_tiles(tileset) if "content" in t]
    ecef = glb_positions_ecef(tmp_path / tile["content"]["uri"], world)
    assert np.abs(ecef[:, None, :] - lonlath_to_ecef(vertices)[None]).sum(axis=2).min(axis=1).max() < 0.01


def test_bad_triangles_name_the_feature(tmp_path):
    bad = MeshFeature.single("broken-7", "bldg:Building", [[LON0, LAT0, 0]] * 3, [[0, 1, 5]])
    with pytest.raises(ValueError, match="broken-7"):
        write_mesh_tileset([bad], tmp_path, scheduler="synchronous")


def test_quadtree_puts_each_point_in_exactly_one_leaf():
    xy = np.random.default_rng(0).uniform(0, 1000, (500, 2))
    root = build_quadtree(xy, np.ones(500), max_count=20, max_weight=1e9)
    leaves, stack = [], [root]
    while stack:
        cell = stack.pop()
        stack += cell.children
        if cell.indices is not None:
            assert len(cell.indices) <= 20
            leaves.append(cell.indices)
    assert np.array_equal(np.sort(np.concatenate(leaves)), np.arange(500))


def test_checks_catch_broken_tilesets(written, tmp_path):
    summary, _ = written
    tileset = json.loads(summary.tileset_path.read_text())
    child = tileset["root"]["children"][0]
    child["boundingVolume"]["box"][0] += 10_000.0
    child["geometricError"] = tileset["root"]["geometricError"] + 1
    tileset["root"]["content"] = {"uri": "tiles/missing.glb"}
    broken = tmp_path / "tileset.json"
    broken.write_text(json.dumps(tileset))
    problems = " | ".join(check_tileset(broken))
    assert "not inside its parent" in problems
    assert "exceeds its parent" in problems
    assert "tiles/missing.glb does not exist" in problems
