"""Change detection on a built case: one tree removed, one added, one 3 m taller."""

from __future__ import annotations

import geopandas as gpd
import pytest

from pipeline.trees.changes import change_counts, detect_changes, write_change_map, write_changes
from pipeline.trees.detect import detect_trees
from pipeline.trees.existing import read_existing_trees
from pipeline.trees.gml import write_veg

from .helpers import CRS, one_tree, surface_of


def test_removed_added_and_taller_trees_are_all_reported(tmp_path):
    before = [
        one_tree(-12, 0, height=8.0, tree_id="kept"),
        one_tree(0, 0, height=9.0, tree_id="felled"),
        one_tree(12, 0, height=7.0, tree_id="grown"),
    ]
    after = [
        one_tree(-12, 0, height=8.0, tree_id="kept"),
        one_tree(12, 0, height=10.0, tree_id="grown"),
        one_tree(0, 12, height=6.0, tree_id="planted"),
    ]
    old_surface, _, _ = surface_of(before, seed=1)
    new_surface, _, _ = surface_of(after, seed=2)
    # the existing layer is a PLATEAU veg file, read back with Machi's reader
    write_veg(detect_trees(old_surface), CRS, tmp_path / "old", acquisition="2020 survey")
    existing = read_existing_trees(tmp_path / "old" / "udx" / "veg", CRS)
    assert len(existing) == 3
    detected = detect_trees(new_surface)
    changes = detect_changes(existing, detected, CRS)
    assert change_counts(changes) == {"matched": 1, "height_changed": 1, "new": 1, "gone": 1}
    grown = changes[changes.status == "height_changed"].iloc[0]
    assert grown.height_change_m == pytest.approx(3.0, abs=0.4)
    assert grown.x == pytest.approx(after[1]["x"], abs=0.5)
    gone = changes[changes.status == "gone"].iloc[0]
    assert gone.x == pytest.approx(before[1]["x"], abs=0.5)
    new = changes[changes.status == "new"].iloc[0]
    assert new.y == pytest.approx(after[2]["y"], abs=0.5)
    kept = changes[changes.status == "matched"].iloc[0]
    assert abs(kept.height_change_m) < 0.5 and kept.moved_m < 0.5

    path = write_changes(changes, tmp_path / "changes.parquet")
    back = gpd.read_parquet(path)
    assert back.crs.to_epsg() == 6677 and back.status.tolist() == changes.status.tolist()
    png = write_change_map(tmp_path / "changes.png", changes, new_surface.canopy, new_surface.grid)
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_nothing_existing_makes_every_tree_new():
    surface, _, _ = surface_of([one_tree()])
    detected = detect_trees(surface)
    empty = read_existing_trees([], CRS)
    assert change_counts(detect_changes(empty, detected, CRS)) == {
        "matched": 0,
        "height_changed": 0,
        "new": 1,
        "gone": 0,
    }
