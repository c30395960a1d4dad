"""Plane rectangular zone selection against known city zones."""

from __future__ import annotations

import pytest

from pipeline.geo.crs import plane_zone_epsg, zone_for_lonlat


@pytest.mark.parametrize(
    "prefecture, lon, lat, epsg",
    [
        ("11", 139.624, 35.906, 6677),  # Saitama (Omiya): IX
        ("14201", 139.74, 35.26, 6677),  # Yokosuka city code: IX
        ("01", 141.44, 42.94, 6680),  # Sapporo: XII
        ("01", 140.73, 41.77, 6679),  # Hakodate: XI
        ("01", 144.38, 42.98, 6681),  # Kushiro: XIII
        ("27", 135.50, 34.69, 6674),  # Osaka: VI
        ("47", 127.68, 26.21, 6683),  # Naha: XV
        ("13", 139.36, 34.75, 6682),  # Izu Oshima: XIV
    ],
)
def test_zone_by_prefecture(prefecture, lon, lat, epsg):
    assert plane_zone_epsg(prefecture, lon, lat) == epsg


def test_nearest_origin_fallback():
    assert zone_for_lonlat(139.62, 35.9) == 6677
    assert plane_zone_epsg(None, 135.5, 34.69) == zone_for_lonlat(135.5, 34.69)


def test_auto_crs_of_a_plateau_dataset_comes_from_its_buildings_prefecture(project_root):
    """The sample district (Saitama, prefecture 11) lies in zone IX: EPSG:6677. Building
    files are read first; a dataset with no coordinates is an error naming the key."""
    from citygml import Dataset
    from citygml.location import first_location, prefecture_code
    from pipeline.geo.crs import detect_crs

    dataset, only = Dataset.for_path(project_root / "sample_data" / "omiya")
    sources = dataset.sources(types=["veg", "bldg"], only=only)
    location = first_location(sources)
    assert location.prefecture == "11" and 139.5 < location.lon < 139.8 and 35.8 < location.lat < 36.0
    assert detect_crs(sources) == "EPSG:6677"
    assert prefecture_code({"uro:buildingIdAttribute": [{"city": "11103"}]}) == "11103"
    assert prefecture_code({"uro:buildingIDAttribute": [{"prefecture": "13", "city": "13101"}]}) == "13"
    assert prefecture_code({}) is None
    with pytest.raises(ValueError, match="crs: auto found no feature with coordinates"):
        detect_crs([])
