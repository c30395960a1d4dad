"""An independent check of the shadow stage: ray casting on the real building meshes.

The Yokosuka PLATEAU tile is ingested, its buildings rasterised into a DSM exactly as the
surface stage does, and the fast shadow caster compared with trimesh rays cast from a
few thousand random ground points towards the sun against the triangle meshes.

The LOD1 solids are used: a DSM is 2.5-D, so a LOD2 roof overhang is a solid column in
it while a ray passes under it in 3-D. With prisms both see the same scene, and any
disagreement is the shadow algorithm's.
"""

from __future__ import annotations

import numpy as np
import pytest
import trimesh
from scipy import ndimage

from citygml import open_dataset
from pipeline.geo.meshes import read_meshes
from pipeline.geo.raster import Grid
from pipeline.ingest import ingest_file
from pipeline.shade.shadow import SUNLIT, ShadeCaster
from pipeline.surface.rasterize import rasterize_triangles_max

PLANE_Z = 0.0


@pytest.fixture(scope="module")
def scene(plateau_dir, tmp_path_factory):
    source = open_dataset(plateau_dir / "yokosuka/udx/bldg/52397519_bldg_6697_op.gml")[0]
    result = ingest_file(source, tmp_path_factory.mktemp("ingest"), "EPSG:6677")
    triangles = []
    for row in read_meshes(result.meshes, lods={1}):
        # Stand every building part on one flat plane (parts of a building on a slope
        # have their own base), so rays and DSM see the same scene.
        vertices = row.vertices - [0, 0, row.vertices[:, 2].min() - PLANE_Z]
        triangles.append(vertices[row.triangles])
    triangles = np.concatenate(triangles)
    x_min, y_min = triangles[..., 0].min() - 60, triangles[..., 1].min() - 60
    x_max, y_max = triangles[..., 0].max() + 60, triangles[..., 1].max() + 60
    grid = Grid.from_bounds(x_min, y_min, x_max, y_max, 0.5, "EPSG:6677")
    heights, _ = rasterize_triangles_max(triangles, grid)
    dsm = np.where(np.isnan(heights), PLANE_Z, np.maximum(heights, PLANE_Z)).astype(np.float32)
    mesh = trimesh.Trimesh(
        triangles.reshape(-1, 3), np.arange(len(triangles) * 3).reshape(-1, 3), process=False
    )
    return grid, dsm, mesh


@pytest.mark.parametrize("azimuth_deg, altitude_deg", [(150.0, 30.0), (200.0, 45.0), (105.0, 18.0)])
def test_shade_agrees_with_ray_casting(scene, azimuth_deg, altitude_deg):
    grid, dsm, mesh = scene
    codes = ShadeCaster(dsm, grid.resolution, max_distance_m=400).codes(azimuth_deg, altitude_deg)
    shaded = codes != SUNLIT

    rng = np.random.default_rng(11)
    # Ground cells near buildings (within 30 m), where shadows fall.
    near = ndimage.distance_transform_edt(dsm == PLANE_Z) * grid.resolution <= 30
    ground_cells = np.argwhere((dsm == PLANE_Z) & near)
    picks = ground_cells[rng.choice(len(ground_cells), 3000, replace=False)]
    x_centres, y_centres = grid.cell_centres()
    origins = np.column_stack(
        [x_centres[picks[:, 1]], y_centres[picks[:, 0]], np.full(len(picks), PLANE_Z + 0.01)]
    )
    az, alt = np.radians(azimuth_deg), np.radians(altitude_deg)
    direction = np.array([np.sin(az) * np.cos(alt), np.cos(az) * np.cos(alt), np.sin(alt)])
    hit = mesh.ray.intersects_any(origins, np.tile(direction, (len(origins), 1)))

    raster = shaded[picks[:, 0], picks[:, 1]]
    agree = raster == hit
    assert agree.mean() >= 0.99, f"only {agree.mean():.3%} agree"
    # Every disagreement lies within two cells of a shadow edge in the raster result.
    edge = ndimage.maximum_filter(shaded, size=5) != ndimage.minimum_filter(shaded, size=5)
    assert edge[picks[~agree, 0], picks[~agree, 1]].all()
    # The scene really has shade and sun to disagree about.
    assert 0.05 < hit.mean() < 0.9
