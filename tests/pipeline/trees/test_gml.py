"""The veg writer: Machi's reader reads every attribute back; solids are closed; bytes repeat."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from pyproj import Transformer

from citygml import read_features
from pipeline.trees.detect import detect_trees
from pipeline.trees.gml import write_veg

from .helpers import CRS, one_tree, surface_of

ACQUISITION = "航空レーザ測量 (airborne LiDAR): test.laz (2026-11-22)"


@pytest.fixture(scope="module")
def two_trees():
    surface, _, _ = surface_of(
        [
            one_tree(-6, 0, height=12.0, radius=3.0, tree_id="a"),
            one_tree(6, 0, height=2.5, base=1.0, radius=1.5, shape="ellipsoid", tree_id="b"),
        ]
    )
    return detect_trees(surface)


def _edges_used_twice(polygons) -> bool:
    """Every edge of a closed polyhedron bounds exactly two of its faces."""
    to_metric = Transformer.from_crs("EPSG:6668", CRS, always_xy=True)
    edges = Counter()
    for polygon in polygons:
        x, y = to_metric.transform(polygon.exterior[:, 0], polygon.exterior[:, 1])
        ring = [tuple(np.round(v, 3)) for v in zip(x, y, polygon.exterior[:, 2])]
        for a, b in zip(ring[:-1], ring[1:]):
            edges[frozenset((a, b))] += 1
    return set(edges.values()) == {2}


def test_written_trees_read_back_with_every_attribute(tmp_path, two_trees):
    paths = write_veg(two_trees, CRS, tmp_path, acquisition=ACQUISITION)
    assert [p.split("/")[-1] for p in paths] == ["53396489_veg_6697_op.gml"]
    features = sorted(read_features(paths[0]), key=lambda f: -f.attributes["height"])
    assert [f.feature_type for f in features] == ["veg:SolitaryVegetationObject"] * 2
    tall, small = features
    expected = two_trees.sort_values("height_m", ascending=False)
    assert tall.attributes["height"] == pytest.approx(expected.height_m.iloc[0], abs=0.005)
    assert tall.attributes["crownDiameter"] == pytest.approx(expected.crown_diameter_m.iloc[0], abs=0.005)
    assert tall.attributes["height_uom"] == "m" and tall.attributes["crownDiameter_uom"] == "m"
    # the code list written beside the files resolves the class labels
    assert (tall.attributes["class"], tall.attributes["class_label"]) == ("1", "高木（樹高3m以上）")
    assert (small.attributes["class"], small.attributes["class_label"]) == ("2", "中木（樹高1m以上3m未満）")
    quality = tall.attributes["uro:vegDataQualityAttribute"]
    assert quality == [{"type": "DataQualityAttribute", "dataAcquisition": ACQUISITION}]
    assert tall.attributes["gen:crownBaseHeight"] == pytest.approx(expected.crown_base_m.iloc[0], abs=0.005)
    assert tall.lods == [1, 2]
    assert [g.kind for g in tall.geometries] == ["Solid", "Solid"]
    for feature in features:
        for lod in (1, 2):
            assert _edges_used_twice(feature.polygons(lod)), (feature.gml_id, lod)
    # LOD1 spans crown base to top, orthometric: the stand's ground is 0 m
    z1 = np.concatenate([p.exterior[:, 2] for p in tall.polygons(1)])
    assert z1.max() == pytest.approx(expected.height_m.iloc[0], abs=0.01)
    assert z1.min() == pytest.approx(expected.crown_base_m.iloc[0], abs=0.06)
    z2 = np.concatenate([p.exterior[:, 2] for p in tall.polygons(2)])
    assert z2.min() == pytest.approx(0.0, abs=0.06)  # the trunk stands on the ground


def test_the_same_trees_give_the_same_bytes(tmp_path, two_trees):
    first = write_veg(two_trees, CRS, tmp_path / "a", acquisition=ACQUISITION)
    second = write_veg(two_trees.iloc[::-1], CRS, tmp_path / "b", acquisition=ACQUISITION)
    assert open(first[0], "rb").read() == open(second[0], "rb").read()


def test_no_trees_write_no_file(tmp_path, two_trees):
    assert write_veg(two_trees.iloc[:0], CRS, tmp_path, acquisition=ACQUISITION) == []
    assert not any(tmp_path.iterdir())
