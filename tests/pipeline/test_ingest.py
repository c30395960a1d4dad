"""Ingest: GeoParquet footprints in the metric CRS, heights, LODs, meshes read back."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest

from citygml import open_dataset
from pipeline.geo.meshes import mesh_crs, read_meshes
from pipeline.ingest import ingest_file


@pytest.fixture(scope="module")
def yokosuka(plateau_dir, tmp_path_factory):
    source = open_dataset(plateau_dir / "yokosuka/udx/bldg/52397519_bldg_6697_op.gml")[0]
    return ingest_file(source, tmp_path_factory.mktemp("ingest"), "EPSG:6677")


def test_table_is_geoparquet_in_the_metric_crs(yokosuka):
    table = gpd.read_parquet(yokosuka.table)
    assert table.crs.to_epsg() == 6677
    assert len(table) == 13 and table["gml_id"].is_unique
    # Footprints are real polygons of plausible building size (m²).
    assert table.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    assert table.area.between(5, 20000).all()
    # Yokosuka lies south-east of zone IX's origin (36 N, 139.83 E): y < 0.
    assert (table.geometry.centroid.y < 0).all()


def test_columns_are_stable_snake_case_and_keep_values(yokosuka):
    table = gpd.read_parquet(yokosuka.table)
    for column in (
        "measured_height",
        "storeys_above_ground",
        "usage",
        "building_id",
        "total_floor_area",
        "survey_year",
        "lods",
        "has_lod2",
        "height_m",
        "ground_elevation_m",
        "attributes_json",
    ):
        assert column in table.columns, column
    museum = table.set_index("building_id").loc["14201-bldg-110968"]
    assert museum["measured_height"] == 6.0 and museum["usage"] == "422"
    assert museum["lods"] == "0,1,2" and museum["has_lod2"]
    assert museum["ground_elevation_m"] == pytest.approx(10.50, abs=0.01)


def test_meshes_read_back_per_lod_with_surface_types(yokosuka):
    assert mesh_crs(yokosuka.meshes) == "EPSG:6677"
    rows = list(read_meshes(yokosuka.meshes))
    lod2 = [r for r in rows if r.lod == 2]
    assert {r.surface_type for r in lod2} == {"RoofSurface", "WallSurface", "GroundSurface"}
    table = gpd.read_parquet(yokosuka.table)
    for row in rows:
        assert row.triangles.max() < len(row.vertices)
        footprint = table.set_index("gml_id").loc[row.feature_id].geometry
        centre = row.vertices[:, :2].mean(axis=0)
        assert footprint.buffer(2).contains(gpd.points_from_xy([centre[0]], [centre[1]])[0])
    roofs = [r for r in lod2 if r.surface_type == "RoofSurface"]
    assert any(r.texture_uri and r.uv is not None and np.isfinite(r.uv).any() for r in roofs)


def test_sample_codelist_labels_and_plant_cover(project_root, tmp_path):
    [source] = open_dataset(project_root / "sample_data/omiya", types=["bldg"], meshes=["53396489"])
    result = ingest_file(source, tmp_path, "EPSG:6677")
    table = gpd.read_parquet(result.table)
    assert {"usage_label", "building_structure_type_label"} <= set(table.columns)
    assert (table["height_m"] > 0).all() and (table["height_source"] == "measuredHeight").all()
    lod1 = table["lod1_height_m"]
    assert np.allclose(lod1, table["measured_height"], atol=0.01)
