"""Flat areas of the 2-D themes are turned to face the sky, whatever their ring order."""

from __future__ import annotations

import numpy as np

from pipeline.geo.meshes import MeshRow
from pipeline.tiles3d.features import LAYER_SPECS, face_up


def test_clockwise_triangles_are_turned_and_counter_clockwise_ones_kept():
    vertices = np.array([[0, 0, 0], [10, 0, 0], [10, 10, 0], [0, 10, 0]], dtype=float)
    triangles = np.array(
        [
            [0, 1, 2],  # counter-clockwise from above: up
            [0, 3, 2],
        ]
    )  # clockwise: down
    row = face_up(MeshRow("f", "f", "urf:UseDistrict", 1, "", vertices, triangles))
    a, b, c = (vertices[row.triangles[:, i]] for i in range(3))
    assert (np.cross(b - a, c - a)[:, 2] > 0).all()
    assert row.triangles[0].tolist() == [0, 1, 2] and sorted(row.triangles[1].tolist()) == [0, 2, 3]


def test_planning_and_land_use_layers_are_flat_and_take_lod1():
    assert LAYER_SPECS["urf"].face_up and LAYER_SPECS["luse"].face_up
    assert LAYER_SPECS["urf"].fine_lods[0] == 1 and not LAYER_SPECS["bldg"].face_up
