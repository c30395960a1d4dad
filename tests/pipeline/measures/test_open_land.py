"""Water and railway land for the deemed boundary (水面、線路敷, 施行令第135条の12第3項第1号):
built rivers and railways, and the classes of a real PLATEAU land-use file (Numazu)."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import LineString, box

from pipeline.measures.open_land import WATER_LUSE_CLASSES, open_land
from pipeline.measures.site_boundary import crossing_width_m, deemed_site

CRS = "EPSG:6676"
# a 30 m x 20 m lot whose north edge (y = 20) is the south bank of an east-west river
LOT = box(0.0, 0.0, 30.0, 20.0)


def river_north(width_m: float):
    return box(-50.0, 20.0, 80.0, 20.0 + width_m)


def test_a_20_m_river_puts_the_boundary_5_m_short_of_its_far_bank():
    site = deemed_site(LOT, open_land=[("water", river_north(20.0))])
    assert site.polygon.bounds == pytest.approx((0.0, 0.0, 30.0, 35.0))  # far bank 40, less 5
    assert site.open_land == (("water", 20.0),)
    assert site.road_widths_m == ()


def test_an_8_m_railway_puts_the_boundary_on_its_middle():
    site = deemed_site(LOT, open_land=[("railway", river_north(8.0))])
    assert site.polygon.bounds == pytest.approx((0.0, 0.0, 30.0, 24.0))
    assert site.open_land == (("railway", 8.0),)


def test_a_river_cut_in_pieces_along_its_length_is_one_strip():
    pieces = [("water", box(-50.0, 20.0, 12.0, 40.0)), ("water", box(12.0, 20.0, 80.0, 40.0))]
    assert deemed_site(LOT, open_land=pieces).polygon.bounds == pytest.approx((0.0, 0.0, 30.0, 35.0))


def test_the_width_is_measured_square_to_the_lot_edge_through_the_polygon():
    # a river running diagonally: measured along the lot edge's normal, not the river's
    river = shapely.Polygon([(-10, 20), (40, 20), (40, 70), (-10, 30)])
    # far bank at x = 15: y = 30 + 40 * 25 / 50 = 50, so 30 m across (the river's own width is less)
    assert crossing_width_m(river, (15.0, 20.0), (0.0, 1.0)) == pytest.approx(30.0)
    assert crossing_width_m(river, (35.0, 20.0), (0.0, 1.0)) == pytest.approx(46.0)
    assert crossing_width_m(river, (15.0, 19.5), (0.0, 1.0)) == pytest.approx(30.0)  # a gap of 0.5 m
    assert crossing_width_m(river, (15.0, 10.0), (0.0, 1.0)) == 0.0  # 10 m off: not facing it


def test_water_not_touching_the_lot_is_not_a_deemed_boundary():
    site = deemed_site(LOT, open_land=[("water", box(-50.0, 25.0, 80.0, 45.0))])
    assert site.polygon.equals(LOT) and site.open_land == ()


def test_land_use_classes_railways_and_water_bodies_give_the_kinds():
    luse = gpd.GeoDataFrame(
        {
            "gml_id": ["a", "b", "c", "d", "e"],
            "feature_type": ["luse:LandUse"] * 5,
            "class": ["204", "2041", "216", "2054", "211"],  # water, river, transport, river bed, housing
        },
        geometry=[box(i * 10, 0, i * 10 + 5, 5) for i in range(5)],
        crs=CRS,
    )
    tran = gpd.GeoDataFrame(
        {"gml_id": ["r", "s", "t"], "feature_type": ["tran:Railway", "tran:Railway", "tran:Road"]},
        geometry=[box(0, 10, 50, 20), LineString([(0, 30), (50, 30)]), box(0, 40, 50, 45)],
        crs=CRS,
    )
    got = open_land([luse, tran], CRS)
    assert list(zip(got["gml_id"], got["kind"], got["source"])) == [
        ("a", "water", "luse 204"),
        ("b", "water", "luse 2041"),
        ("c", "railway", "luse 216"),
        ("r", "railway", "tran:Railway"),  # the centreline-only railway has no width: left out
    ]


def test_the_real_numazu_land_use_file_gives_its_water_surfaces(tmp_path, plateau_dir):
    from citygml import Dataset
    from pipeline.ingest import ingest_file

    dataset, _ = Dataset.for_path(plateau_dir / "numazu")
    (source,) = dataset.sources(types=["luse"])
    table = gpd.read_parquet(ingest_file(source, tmp_path, CRS).table)
    # the file's code list: 204 is 水面, read as the class label by the ingest
    assert set(table.loc[table["class"] == "204", "class_label"]) == {WATER_LUSE_CLASSES["204"]}
    got = open_land([table], CRS)
    assert (got["kind"] == "water").sum() == (table["class"] == "204").sum() == 17
    assert set(got["kind"]) == {"water"}  # the file has no transport-facility land
    # a lot drawn on the bank of the largest water polygon: its boundary there is deemed
    river = got.geometry.iloc[int(got.geometry.area.argmax())]
    bank = river.exterior
    x, y = bank.interpolate(0.5, normalized=True).coords[0]
    lot = shapely.buffer(shapely.Point(x, y), 8.0).difference(river)
    lot = max(getattr(lot, "geoms", [lot]), key=lambda g: g.area)
    site = deemed_site(lot, open_land=[("water", g) for g in got.geometry])
    assert site.open_land and site.polygon.area > lot.area
    assert all(kind == "water" and width > 0 for kind, width in site.open_land)
