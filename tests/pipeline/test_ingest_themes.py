"""The 2-D themes (urf, luse; EPSG:6668 areas) ingested as polygons into GeoParquet with the
conventions of the 3-D themes, and the ingest record telling what the reader told."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely
from pyproj import Geod

from citygml import Dataset, FileReader
from pipeline.ingest import ingest_file

GEOD = Geod(ellps="GRS80")


def ingest_all(folder, out, crs):
    dataset = Dataset(folder)
    return [(source, ingest_file(source, out, crs)) for source in dataset.sources()]


def geodesic_area_m2(obj) -> float:
    """Area of a feature's LOD1 polygons on the GRS80 ellipsoid (lon, lat as read)."""
    total = 0.0
    for polygon in obj.polygons(1):
        for i, ring in enumerate(polygon.rings):
            area, _ = GEOD.polygon_area_perimeter(ring[:, 0], ring[:, 1])
            total += abs(area) * (1 if i == 0 else -1)
    return total


@pytest.mark.parametrize(
    "city, crs, count",
    [("kawasaki", "EPSG:6677", 50), ("sendai", "EPSG:6678", 7), ("numazu", "EPSG:6676", 225)],
)
def test_planning_and_land_use_areas_become_polygons_of_the_right_area(
    plateau_dir, tmp_path, city, crs, count
):
    ingested = ingest_all(plateau_dir / city, tmp_path, crs)
    tables = [gpd.read_parquet(result.table) for _, result in ingested]
    assert len({result.table for _, result in ingested}) == len(ingested)  # one table per file
    assert sum(len(t) for t in tables) == count
    for (source, result), frame in zip(ingested, tables):
        assert frame.crs == crs and set(frame.geom_type) <= {"Polygon", "MultiPolygon"}
        assert frame.geometry.is_valid.all() and frame["ground_elevation_m"].isna().all()
        assert frame["lod1_height_m"].isna().all() and (frame["max_lod"] == 1).all()
        objects = {o.gml_id: o for o in FileReader(source)}
        areas = frame.set_index("gml_id").geometry.area
        for gml_id, area in areas.items():
            # the plane projection keeps areas within 0.1 % of the ellipsoidal area here
            assert area == pytest.approx(geodesic_area_m2(objects[gml_id]), rel=1e-3), gml_id
        assert result.problems == [] and result.notes == [] and result.bound_prefixes == {}


def test_two_files_of_one_mesh_keep_two_tables(plateau_dir, tmp_path):
    ingested = ingest_all(plateau_dir / "kawasaki", tmp_path, "EPSG:6677")
    names = sorted(r.table.split("/")[-1] for _, r in ingested if r.mesh_code == "533915")
    assert names == [
        "533915_urf_kodo.parquet",
        "533915_urf_kuiki.parquet",
        "533915_urf_rinko.parquet",
        "533915_urf_yoto.parquet",
    ]


def test_the_use_district_row_of_the_issue(plateau_dir, tmp_path):
    dataset, only = Dataset.for_path(plateau_dir / "kawasaki/udx/urf/533915_urf_6668_yoto_op.gml")
    result = ingest_file(dataset.sources(only=only)[0], tmp_path, "EPSG:6677")
    row = gpd.read_parquet(result.table).set_index("gml_id").loc["urf_68f7d98f-f800-4c92-bcf1-9ae8a7fa9b85"]
    assert row[
        [
            "feature_type",
            "function",
            "function_label",
            "floor_area_rate",
            "building_coverage_rate",
            "valid_from",
            "notification_number",
            "custodian",
        ]
    ].tolist() == [
        "urf:UseDistrict",
        "11",
        "準工業地域",
        2.0,
        0.6,
        "2009-11-11",
        "川崎市告示第589号",
        "川崎市",
    ]
    assert isinstance(row.geometry, shapely.Polygon) and row.geometry.area > 1e5


def test_the_record_carries_the_readers_code_list_and_namespace_reports(plateau_dir, tmp_path):
    text = (plateau_dir / "kawasaki/udx/urf/533915_urf_6668_yoto_op.gml").read_text(encoding="utf-8")
    # a uro group the root element forgets to declare: read as i-UR 2.0, like the urf it declares
    text = text.replace("<urf:city ", "<uro:note>x</uro:note><urf:city ", 1)
    single = tmp_path / "533915_urf_6668_yoto_op.gml"
    single.write_text(text, encoding="utf-8")
    dataset, only = Dataset.for_path(single)
    record = ingest_file(dataset.sources(only=only)[0], tmp_path / "out", "EPSG:6677").to_record()
    assert record["bound_prefixes"] == {"uro": "https://www.geospatial.jp/iur/uro/2.0"}
    assert record["problems"] == [
        f"{single}: namespace prefix uro is used but not declared; read as https://www.geospatial.jp/iur/uro/2.0 "
        "(the i-UR namespace of the same version as the one the file declares)",
        f"{single}: code list Common_localPublicAuthorities.xml (../../codelists/Common_localPublicAuthorities.xml) "
        "is neither in the dataset nor shipped with Machi: 8 value(s) of city, prefecture kept as codes",
    ]
    assert len(record["notes"]) == 3 and all("shipped with Machi" in n for n in record["notes"])
