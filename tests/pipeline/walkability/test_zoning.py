"""Use district, floor-area and coverage rates of the district a street segment lies in."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from citygml import Dataset
from pipeline.ingest import ingest_file
from pipeline.walkability.zoning import segment_zoning

CRS = "EPSG:6677"


def districts() -> gpd.GeoDataFrame:
    """Two 100 m squares side by side (residential west, commercial east) and a fire
    district over both that must be ignored."""
    return gpd.GeoDataFrame(
        {
            "gml_id": ["west", "east", "fire"],
            "feature_type": ["urf:UseDistrict", "urf:UseDistrict", "urf:FirePreventionDistrict"],
            "function": ["1", "10", "24"],
            "function_label": ["第1種低層住居専用地域", None, "防火地域"],
            "floor_area_rate": [0.8, 4.0, np.nan],
            "building_coverage_rate": [0.4, 0.8, np.nan],
        },
        geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100), shapely.box(0, 0, 200, 100)],
        crs=CRS,
    )


def test_each_segment_takes_the_district_holding_most_of_its_length():
    segments = gpd.GeoDataFrame(
        geometry=[
            shapely.LineString([(10, 50), (90, 50)]),  # inside west
            shapely.LineString([(70, 20), (170, 20)]),  # 30 m west, 70 m east
            shapely.LineString([(0, 300), (50, 300)]),  # outside every district
        ],
        index=[7, 8, 9],
        crs=CRS,
    )
    zoning = segment_zoning(segments, districts())
    assert list(zoning.index) == [7, 8, 9]
    assert zoning["use_district_code"].tolist() == ["1", "10", None]
    # no label for code 10 in this table: the code stands in
    assert zoning["use_district"].tolist() == ["第1種低層住居専用地域", "10", None]
    assert zoning["floor_area_rate"].tolist()[:2] == [0.8, 4.0] and np.isnan(zoning["floor_area_rate"][9])
    assert zoning["building_coverage_rate"].tolist()[:2] == [0.4, 0.8]
    assert zoning["use_district_share"].tolist() == pytest.approx([1.0, 0.7, 0.0])
    assert zoning["use_district_id"].tolist() == ["west", "east", None]


def test_districts_in_another_crs_are_reprojected_and_ties_are_deterministic():
    inside = gpd.GeoDataFrame(geometry=[shapely.LineString([(110, 50), (190, 50)])], crs=CRS)
    zoning = segment_zoning(inside, [districts().to_crs("EPSG:6668")])
    assert zoning["use_district_id"].tolist() == ["east"]
    assert zoning["use_district_share"][0] == pytest.approx(1.0, abs=1e-6)
    tie = gpd.GeoDataFrame(geometry=[shapely.LineString([(50, 50), (150, 50)])], crs=CRS)
    assert segment_zoning(tie, districts())["use_district_id"].tolist() == ["east"]  # 50 m each


def test_segments_in_degrees_are_refused():
    with pytest.raises(ValueError, match="metric CRS"):
        segment_zoning(gpd.GeoDataFrame(geometry=[], crs="EPSG:6668"), districts())


def test_a_street_in_kawasakis_semi_industrial_district(plateau_dir, tmp_path):
    dataset, only = Dataset.for_path(plateau_dir / "kawasaki/udx/urf/533915_urf_6668_yoto_op.gml")
    table = gpd.read_parquet(ingest_file(dataset.sources(only=only)[0], tmp_path, CRS).table)
    district = table[table["function"] == "11"].geometry.iloc[0]
    inner = district.buffer(-20)
    start = shapely.get_coordinates(inner.representative_point())[0]
    street = shapely.LineString([start, start + [5.0, 5.0]])
    assert inner.contains(street)
    zoning = segment_zoning(gpd.GeoDataFrame(geometry=[street], crs=CRS), table)
    assert zoning.iloc[0][
        [
            "use_district_code",
            "use_district",
            "floor_area_rate",
            "building_coverage_rate",
            "use_district_share",
        ]
    ].tolist() == ["11", "準工業地域", 2.0, 0.6, 1.0]
