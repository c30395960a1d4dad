"""The measures reader: every kind read with its defaults, and hostile files refused with
errors naming the file, the feature and the key."""

from __future__ import annotations

import numpy as np
import pyogrio
import pytest
import shapely

from pipeline.measures.reader import MeasuresError, read_measures
from pipeline.measures.records import CANOPY_TRANSMISSIVITY, CROWN_BASE_SHARE

from .conftest import RUN_CRS, X0, Y0, feature, line, point, polygon


def test_every_kind_with_its_defaults(measures_file):
    path = measures_file(
        [
            feature("tree", point(), id="t1", height_m=10, crown_diameter_m=6, evergreen=False),
            feature("tree_row", line((0, 20), (100, 20)), spacing_m=8, height_m=7, evergreen=True),
            feature(
                "canopy",
                polygon((0, 0), (10, 0), (10, 5), (0, 5)),
                height_m=3,
                material="shade_sail",
                season="summer",
            ),
            feature("building", polygon((50, 50), (70, 50), (70, 80), (50, 80)), height_m=30, storeys=9),
            feature("remove_building", None, gml_id="bldg_123"),
            feature("street", line((0, -10), (100, -10)), pedestrian_only=True),
        ]
    )
    measures = read_measures(path, RUN_CRS)
    tree = measures.trees[0]
    assert (tree.source, tree.x, tree.y, tree.height_m) == ("t1", X0, Y0, 10.0)
    assert tree.crown_base_m == pytest.approx(CROWN_BASE_SHARE * 10)
    row = [t for t in measures.trees if t.source == "#1"]
    assert len(row) == 13  # 0, 8, ..., 96 m along a 100 m line
    assert np.diff([t.x for t in row]) == pytest.approx(np.full(12, 8.0))
    assert all(t.evergreen for t in row) and row[0].crown_diameter_m == 5.0
    canopy = measures.canopies[0]
    assert canopy.transmissivity == CANOPY_TRANSMISSIVITY["shade_sail"] and canopy.season == "summer"
    assert measures.buildings[0].height_m == 30 and measures.buildings[0].storeys == 9
    assert measures.removed[0].gml_id == "bldg_123"
    assert measures.streets[0].pedestrian_only is True and measures.streets[0].width_m is None


def test_reprojected_from_wgs84(tmp_path):
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(RUN_CRS, "EPSG:4326", always_xy=True).transform(X0, Y0)
    path = tmp_path / "trees.geojson"
    path.write_text(
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":'
        '{"kind":"tree","height_m":8,"evergreen":false},"geometry":{"type":"Point",'
        f'"coordinates":[{lon},{lat}]}}}}]}}'
    )
    tree = read_measures(path, RUN_CRS).trees[0]
    assert (tree.x, tree.y) == (pytest.approx(X0, abs=1e-3), pytest.approx(Y0, abs=1e-3))


def test_geopackage(tmp_path):
    import geopandas as gpd

    frame = gpd.GeoDataFrame(
        {"kind": ["tree"], "height_m": [9.0], "evergreen": [True]},
        geometry=[shapely.Point(X0, Y0)],
        crs=RUN_CRS,
    )
    path = tmp_path / "m.gpkg"
    pyogrio.write_dataframe(frame, path)
    assert read_measures(path, RUN_CRS).trees[0].height_m == 9.0
    with pytest.raises(MeasuresError, match=r"1 features, more than the 0"):
        read_measures(path, RUN_CRS, max_features=0)


@pytest.mark.parametrize(
    "bad, message",
    [
        (feature("fountain", point(), id="f1"), r"feature 0 \(id 'f1'\).*'kind': unknown kind 'fountain'"),
        (feature(None, point()), r"feature 0: 'kind': missing"),
        (feature("tree", point(), evergreen=True), r"feature 0 tree: 'height_m': missing"),
        (feature("tree", point(), height_m=-3, evergreen=True), r"'height_m': -3 is out of range"),
        (feature("tree", point(), height_m="tall", evergreen=True), r"'height_m': 'tall' is not a number"),
        (feature("tree", point(), height_m=8), r"'evergreen': missing"),
        (
            feature("tree", line((0, 0), (1, 1)), height_m=8, evergreen=False),
            r"'geometry': a LineString, not a Point",
        ),
        (
            feature("canopy", polygon((0, 0), (10, 10), (10, 0), (0, 10)), height_m=3, transmissivity=0.2),
            r"'geometry': invalid: Self-intersection",
        ),
        (feature("canopy", polygon((0, 0), (10, 0), (10, 5)), height_m=3), r"'transmissivity': missing"),
        (
            feature("canopy", polygon((0, 0), (10, 0), (10, 5)), height_m=3, transmissivity=1.5),
            r"'transmissivity': 1.5 is out of range",
        ),
        (feature("building", polygon((0, 0), (10, 0), (10, 5))), r"'height_m': missing"),
        (feature("remove_building", None), r"'gml_id': missing"),
        (feature("street", line((0, 0), (5, 0))), r"needs a new 'width_m' or 'pedestrian_only'"),
        (
            feature("tree_row", line((0, 0), (50, 0)), height_m=8, evergreen=False, spacing_m=0.1),
            r"'spacing_m': 0.1 is out of range",
        ),
    ],
)
def test_bad_feature_names_index_and_key(measures_file, bad, message):
    good = feature("tree", point(), height_m=8, evergreen=False)
    path = measures_file([bad] if "feature 0" in message else [bad])
    with pytest.raises(MeasuresError, match=message) as caught:
        read_measures(path, RUN_CRS)
    assert str(path) in str(caught.value)
    # the same bad feature after a good one is named by its own index
    path = measures_file([good, bad], name="second.geojson")
    with pytest.raises(MeasuresError, match=r"feature 1"):
        read_measures(path, RUN_CRS)


LOT = polygon((0, 0), (40, 0), (40, 30), (0, 30))
FOOTPRINT = polygon((5, 5), (25, 5), (25, 20), (5, 20))


def test_a_building_on_its_lot(measures_file):
    path = measures_file(
        [
            feature("building", FOOTPRINT, id="b1", height_m=30, lot="L1"),
            feature("lot", LOT, id="L1"),  # a lot may come after its buildings
            feature(
                "building", polygon((28, 5), (38, 5), (38, 15), (28, 15)), id="b2", height_m=12, lot="L1"
            ),
            feature("building", polygon((60, 5), (70, 5), (70, 15), (60, 15)), id="b3", height_m=12),
        ]
    )
    measures = read_measures(path, RUN_CRS)
    b1, b2, b3 = measures.buildings
    assert b1.lot_id == b2.lot_id == "L1" and b1.lot.equals(b2.lot)
    assert b1.lot.bounds == pytest.approx((X0, Y0, X0 + 40, Y0 + 30))
    assert b3.lot is None and b3.lot_id is None
    assert len(measures) == 3  # a lot is no measure of its own


@pytest.mark.parametrize(
    "features, message",
    [
        ([feature("lot", LOT)], r"feature 0 lot: 'id': missing"),
        (
            [feature("lot", LOT, id="L1"), feature("lot", LOT, id="L1")],
            r"feature 1 \(id 'L1'\) lot: 'id': a second lot 'L1' \(the first is feature 0\)",
        ),
        (
            [feature("lot", line((0, 0), (5, 0)), id="L1")],
            r"feature 0 \(id 'L1'\) lot: 'geometry': a LineString",
        ),
        (
            [feature("building", FOOTPRINT, id="b1", height_m=30, lot="L9"), feature("lot", LOT, id="L1")],
            r"feature 0 \(id 'b1'\) building: 'lot': no lot feature with id 'L9' in this file",
        ),
        (
            [
                feature("lot", polygon((0, 0), (10, 0), (10, 10), (0, 10)), id="small"),
                feature("building", FOOTPRINT, id="b1", height_m=30, lot="small"),
            ],
            r"feature 1 \(id 'b1'\) building: 'lot': the lot 'small' does not cover the building's footprint",
        ),
    ],
)
def test_bad_lots_are_named(measures_file, features, message):
    with pytest.raises(MeasuresError, match=message):
        read_measures(measures_file(features), RUN_CRS)


def test_no_crs_refused(tmp_path):
    # A GeoPackage layer without a spatial reference (GeoJSON always has one: RFC 7946 WGS 84)
    import geopandas as gpd

    path = tmp_path / "nocrs.gpkg"
    pyogrio.write_dataframe(gpd.GeoDataFrame({"kind": ["tree"]}, geometry=[shapely.Point(X0, Y0)]), path)
    with pytest.raises(MeasuresError, match="declares no CRS"):
        read_measures(path, RUN_CRS)


def test_wrong_crs_refused(measures_file):
    # plane-rectangular metres declared as WGS 84 degrees
    path = measures_file([feature("tree", point(), height_m=8, evergreen=False)], crs="EPSG:4326")
    with pytest.raises(MeasuresError, match="outside the area of use of its declared CRS EPSG:4326"):
        read_measures(path, RUN_CRS)


def test_wrong_zone_lands_outside_the_area(measures_file):
    # zone IX metres declared as zone X (EPSG:6678): inside that zone's area, but nowhere near the run
    path = measures_file([feature("tree", point(), height_m=8, evergreen=False)], crs="EPSG:6678")
    area = shapely.box(X0 - 500, Y0 - 500, X0 + 500, Y0 + 500)
    with pytest.raises(MeasuresError, match="none of its 1 measures lies in the run's area"):
        read_measures(path, RUN_CRS, area=area)


def test_outside_the_area_reported_and_skipped(measures_file):
    path = measures_file(
        [
            feature("tree", point(), height_m=8, evergreen=False, id="in"),
            feature("tree", point(5000, 0), height_m=8, evergreen=False, id="far"),
        ]
    )
    measures = read_measures(path, RUN_CRS, area=shapely.box(X0 - 500, Y0 - 500, X0 + 500, Y0 + 500))
    assert [t.source for t in measures.trees] == ["in"]
    assert len(measures.skipped) == 1 and "tree far lies outside the run's area" in measures.skipped[0]


def test_a_million_features_refused_before_reading(tmp_path):
    path = tmp_path / "million.geojson"
    one = '{"type":"Feature","properties":{"kind":"tree"},"geometry":null}'
    with open(path, "w") as stream:
        stream.write('{"type":"FeatureCollection","features":[')
        stream.write(",".join([one] * 10**6))
        stream.write("]}")
    with pytest.raises(MeasuresError, match=r"MiB, larger than the 32 MiB"):
        read_measures(path, RUN_CRS)
