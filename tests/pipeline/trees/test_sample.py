"""The sample's LiDAR is made from known trees (sample_data/make_sample.py): measure against them."""

from __future__ import annotations

import geopandas as gpd
import pytest

from pipeline.commands.trees import run_trees
from pipeline.trees.existing import read_existing_trees
from pipeline.trees.matching import detection_accuracy


@pytest.fixture(scope="module")
def sample_trees(project_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("trees")
    omiya = project_root / "sample_data/omiya"
    summary = run_trees([omiya / "lidar/omiya_sample.laz"], out, veg=omiya / "udx/veg")
    return summary, out, read_existing_trees(omiya / "udx/veg", summary["crs"])


def test_sample_trees_reach_the_accuracy_targets(sample_trees):
    summary, out, known = sample_trees
    trees = gpd.read_parquet(out / "trees.parquet")
    accuracy = detection_accuracy(trees, known)
    assert len(known) == 323
    assert accuracy.f_score >= 0.9, accuracy
    assert accuracy.height_rmse_m <= 1.0, accuracy
    assert accuracy.crown_diameter_rmse_m <= 1.0, accuracy


def test_sample_veg_files_read_back_by_machi_info(sample_trees):
    from pipeline.commands.info import citygml_info

    summary, out, _ = sample_trees
    assert len(summary["gml"]) == 4  # the sample's four third-level meshes
    info = citygml_info(out)
    assert not info.rejected
    text = info.format()
    n = summary["trees"]
    assert f"veg:SolitaryVegetationObject {n:>11}   LOD1: {n}, LOD2: {n}" in text
    assert (
        "class, class_label, crown_diameter, crown_diameter_uom, gen_crownBaseHeight, "
        "height, height_uom, veg_data_quality_data_acquisition"
    ) in text
    assert "i-UR uro version: 3.1" in text and "problems: none" in text


def test_sample_changes_mostly_match_the_known_trees(sample_trees):
    summary, out, known = sample_trees
    changes = gpd.read_parquet(out / "changes.parquet")
    counts = summary["changes"]
    assert sum(counts.values()) == len(changes)
    assert counts["matched"] + counts["height_changed"] >= 0.9 * len(known)
    assert (out / "changes.png").stat().st_size > 10_000


def test_sample_trees_export_to_valid_3d_tiles(sample_trees, tmp_path, gltf_validator):
    from pipeline.commands.export_tiles import export_dataset
    from tiles.validate import check_glb_metadata, check_tileset, content_paths, count_features

    summary, out, _ = sample_trees
    results = export_dataset(out, tmp_path / "tiles", layers=["veg"])
    assert len(results) == 1
    tileset = tmp_path / "tiles/veg/tileset.json"
    assert check_tileset(tileset) == []
    assert count_features(tileset) == summary["trees"]
    glbs = [p for p in content_paths(tileset) if p.suffix == ".glb"]
    assert glbs and all(check_glb_metadata(p) == [] for p in glbs)
    reports = gltf_validator(glbs)
    assert [r["numErrors"] for r in reports] == [0] * len(glbs)
