"""Shadow regulation (日影規制) of added buildings on built cases with hand-computed hours."""

from __future__ import annotations

import math
import shutil

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, box

from pipeline.measures.hikage_limits import (
    ShadeRegulationTextError,
    ShadowLimits,
    is_hokkaido,
    parse_shade_regulation,
)
from pipeline.measures.shadow_regulation import (
    FRAME_COLUMNS,
    check_added_buildings,
    check_shadow_regulation,
    district_limits,
    lines_frame,
    shadow_bands,
    to_frame,
)
from pipeline.shade.diagram import (
    prism_shadow,
    shadow_outlines,
    solar_time_positions,
    winter_solstice,
)
from pipeline.shade.sun import meridian_convergence_deg, true_to_grid_azimuth

CRS = "EPSG:6677"  # zone IX; (-10 km, -30 km) is in central Tokyo
X0, Y0 = -10_000.0, -30_000.0
YEAR = 2025
# A slab of flats, 40 m east-west by 12 m, its north face 15 m inside the north edge of a
# 50 m x 30 m lot; in a district limited to (一) 4 h / 2.5 h on the 4 m plane (第一種住居地域).
LOT = box(X0 - 25, Y0 - 15, X0 + 25, Y0 + 15)
SLAB = box(X0 - 20, Y0 - 12, X0 + 20, Y0)
SLAB_WIDTH = 40.0
LIMITS = ShadowLimits(4.0, 2.5, 4.0, class_number=1, source="(一) 4時間-2.5時間／4m")


def fine_sun(step_h: float = 1 / 120, window=(8.0, 16.0)):
    """Sun positions every 30 s of true solar time at the slab, grid azimuths."""
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(X0, Y0 - 6)
    n = round((window[1] - window[0]) / step_h)
    positions = solar_time_positions(
        winter_solstice(YEAR), lat, lon, window[0] + (np.arange(n) + 0.5) * step_h
    )
    return (
        positions.sun_altitude_deg,
        true_to_grid_azimuth(positions.sun_azimuth_deg, meridian_convergence_deg(CRS, lon, lat)),
        lat,
    )


def hand_hours(distance_north_m: float, height_m: float, plane_m: float = 4.0) -> float:
    """Hours a plane point on the slab's north-south axis, ``distance`` north of its north
    face, is in its shadow: the ray toward the sun meets the face (y = Y0) after
    d / -cos(az) m horizontally, at x offset d * tan(az), under the top when that run is
    shorter than (h - plane) / tan(altitude)."""
    altitudes, azimuths, _ = fine_sun()
    along, across = np.cos(np.radians(azimuths)), np.sin(np.radians(azimuths))
    run = distance_north_m / -along
    shaded = (
        (along < 0)
        & (altitudes > 0)
        & (np.abs(run * across) <= SLAB_WIDTH / 2)
        & (run <= (height_m - plane_m) / np.tan(np.radians(altitudes)))
    )
    return float(np.count_nonzero(shaded)) / 120


def cell_hours(bands, x: float, y: float) -> float:
    row, col = bands.grid.rowcol(np.array([x]), np.array([y]))
    return float(bands.shade_hours[row[0], col[0]])


# --- 4 h / 2.5 h at 4 m: a 30 m slab fails, a 10 m one passes -------------------------------


@pytest.fixture(scope="module")
def tall():
    return check_shadow_regulation(SLAB, 30.0, LIMITS, CRS, year=YEAR, building_id="tower", site=LOT)


@pytest.fixture(scope="module")
def low():
    return check_shadow_regulation(SLAB, 10.0, LIMITS, CRS, year=YEAR, building_id="low", site=LOT)


def test_a_30_m_slab_fails_both_bands(tall):
    assert tall.status == "fail" and not tall.passes and tall.subject
    assert not tall.near.passes and not tall.far.passes
    # on the axis, the 5 m line is 20 m north of the face and the 10 m line 25 m: by hand
    # those points are in shadow longer than 4 h and 2.5 h
    at_5m, at_10m = hand_hours(20.0, 30.0), hand_hours(25.0, 30.0)
    assert at_5m > 4.0 and at_10m > 2.5
    assert tall.near.max_hours >= at_5m - 2 / 30 and tall.far.max_hours >= at_10m - 2 / 30
    assert tall.near.area_over_m2 > 0 and tall.far.area_over_m2 > tall.near.area_over_m2


def test_a_10_m_slab_passes_and_is_not_a_regulated_building(low):
    assert low.passes and low.status == "not_subject" and not low.subject
    assert low.near.passes and low.far.passes  # and its shadow keeps the limits anyway
    assert low.near.area_over_m2 == 0 == low.far.area_over_m2
    assert low.near.max_hours < 4.0 and low.far.max_hours < 2.5


def test_a_12_m_slab_is_regulated_and_passes():
    result = check_shadow_regulation(SLAB, 12.0, LIMITS, CRS, year=YEAR, site=LOT)
    assert result.subject and result.status == "pass"


@pytest.mark.parametrize("height_m", [10.0, 30.0])
def test_plane_hours_match_the_hand_computation_on_the_axis(height_m):
    bands = shadow_bands([SLAB], [height_m], LIMITS, CRS, year=YEAR, site=LOT)
    for distance in (3.0, 10.0, 20.0, 25.0, 40.0):
        # one 2-minute step either way, plus the cell's 0.25 m offset from the point
        assert cell_hours(bands, X0 + 0.25, Y0 + distance - 0.25) == pytest.approx(
            hand_hours(distance - 0.25, height_m), abs=2 / 30 + 1e-6
        ), distance


def test_equal_time_lines_and_measuring_lines(tall, low):
    axis = LineString([(X0, Y0 + 0.01), (X0, Y0 + 300)])
    four = shapely.union_all(list(tall.equal_time_lines[tall.equal_time_lines.hours == 4.0].geometry))
    crossing = four.intersection(axis)
    assert max(p.y for p in getattr(crossing, "geoms", [crossing])) > Y0 + 20.0  # past the 5 m line
    assert set(tall.equal_time_lines.hours) <= {4.0, 2.5}
    low_four = low.equal_time_lines[low.equal_time_lines.hours == 4.0]
    if len(low_four):  # the 10 m slab's 4 h line stays inside
        assert shapely.union_all(list(low_four.geometry)).within(LOT.buffer(5.0))
    # measuring lines: the lot's outline grown by 5 m and 10 m (perimeter 2(w+d) + 2 pi r)
    for distance, line in zip(tall.measuring_lines.distance_m, tall.measuring_lines.geometry):
        assert line.length == pytest.approx(2 * (50 + 30) + 2 * math.pi * distance, rel=1e-3)


def test_without_a_lot_the_footprint_is_the_boundary():
    # the same 10 m slab with no setback throws its 4 h line past 5 m from its own walls
    result = check_shadow_regulation(SLAB, 10.0, LIMITS, CRS, year=YEAR)
    assert not result.near.passes and result.status == "not_subject" and result.passes


# --- the lot and the deemed boundary along a road (みなし境界線) ------------------------------
# A 10 m x 10 m tower of 15 m whose north face stands on the north line of its lot
# (20 m x 15 m); north of that line an east-west road.
TOWER = box(X0 - 5, Y0 - 10, X0 + 5, Y0)
TOWER_LOT = box(X0 - 10, Y0 - 15, X0 + 10, Y0)


def road_north(width_m: float) -> gpd.GeoDataFrame:
    """An east-west road of ``width_m`` whose south edge is the lot's north line."""
    centre = LineString([(X0 - 200, Y0 + width_m / 2), (X0 + 200, Y0 + width_m / 2)])
    return gpd.GeoDataFrame({"width_m": [width_m]}, geometry=[centre], crs=CRS)


def tower(**columns) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": ["tower"], "height_m": [15.0], **columns}, geometry=[TOWER], crs=CRS)


def northmost(result, distance_m: float) -> float:
    lines = result.measuring_lines
    return float(lines[lines["distance_m"] == distance_m].geometry.iloc[0].bounds[3])


def test_a_tower_failing_from_its_footprint_passes_from_its_lot_facing_a_12_m_road():
    from_footprint = check_added_buildings(tower(), LIMITS, year=YEAR, roads=road_north(12.0))[0]
    from_lot = check_added_buildings(tower(lot=[TOWER_LOT]), LIMITS, year=YEAR)[0]
    deemed = check_added_buildings(tower(lot=[TOWER_LOT]), LIMITS, year=YEAR, roads=road_north(12.0))[0]
    # the lot's north line is the tower's face: without the road the lines stand where they did
    for result in (from_footprint, from_lot):
        assert result.status == "fail" and result.near.max_hours > 4.0 and result.far.max_hours > 2.5
        assert northmost(result, 5.0) == pytest.approx(Y0 + 5.0) and result.deemed_road_widths_m == ()
    assert (from_footprint.site_boundary, from_lot.site_boundary) == ("footprint", "lot")
    # a 12 m road: the boundary is deemed 5 m short of its far side, 7 m north of the face,
    # so the 5 m and 10 m lines stand 12 m and 17 m north of it, and the tower passes
    assert deemed.site_boundary == "lot_deemed" and deemed.deemed_road_widths_m == (12.0,)
    assert northmost(deemed, 5.0) == pytest.approx(Y0 + 12.0) and northmost(deemed, 10.0) == pytest.approx(
        Y0 + 17.0
    )
    assert deemed.status == "pass" and deemed.near.max_hours <= 4.0 and deemed.far.max_hours <= 2.5
    # the hours on the plane are the building's own: the same cells, only measured elsewhere
    assert deemed.near.max_hours < from_lot.near.max_hours


def test_a_road_up_to_10_m_deems_the_boundary_on_its_centreline():
    deemed = check_added_buildings(tower(lot=[TOWER_LOT]), LIMITS, year=YEAR, roads=road_north(8.0))[0]
    assert deemed.deemed_road_widths_m == (8.0,)
    assert northmost(deemed, 5.0) == pytest.approx(Y0 + 9.0) and northmost(deemed, 10.0) == pytest.approx(
        Y0 + 14.0
    )
    table = to_frame([deemed])
    assert table.loc[0, "site_boundary"] == "lot_deemed" and table.loc[0, "deemed_road_widths_m"] == "8"


def test_a_tower_on_a_20_m_river_passes_with_the_boundary_5_m_short_of_the_far_bank():
    """The same tower with a 20 m river (a PLATEAU luse 水面 polygon) north of its lot: the
    boundary is deemed 15 m out, so the lines stand 20 m and 25 m north of the face."""
    river = gpd.GeoDataFrame(
        {"kind": ["water"], "source": ["luse 204"]}, geometry=[box(X0 - 200, Y0, X0 + 200, Y0 + 20)], crs=CRS
    )
    deemed = check_added_buildings(tower(lot=[TOWER_LOT]), LIMITS, year=YEAR, open_land=river)[0]
    assert deemed.site_boundary == "lot_deemed" and deemed.deemed_open_land == (("water", 20.0),)
    assert northmost(deemed, 5.0) == pytest.approx(Y0 + 20.0) and northmost(deemed, 10.0) == pytest.approx(
        Y0 + 25.0
    )
    assert deemed.status == "pass"
    table = to_frame([deemed])
    assert table.loc[0, "deemed_water_railway"] == "water 20" and table.loc[0, "deemed_road_widths_m"] == ""


# --- a site below its neighbours (高低差緩和, 令135条の12第3項第2号) ------------------------------


def pit(inside_m: float = 0.0, outside_m: float = 3.0):
    """Ground heights: ``inside_m`` on the slab's lot, ``outside_m`` all around it."""

    def ground(x, y):
        return np.where(shapely.contains_xy(LOT, x, y), inside_m, outside_m)

    return ground


def test_a_lot_3_m_below_its_neighbours_is_deemed_1_m_higher_and_the_16_m_slab_passes():
    """By hand: (3 - 1) / 2 = 1 m, so the 4 m plane stands 5 m above the lot's real ground.
    On the slab's axis the 5 m line lies 20 m north of the face: 6.39 h of shadow there on
    the 4 m plane, 3.13 h on the 5 m one (hand_hours), over and within 4 h."""
    assert hand_hours(20.0, 16.0, 4.0) > 4.0 > hand_hours(20.0, 16.0, 5.0)
    flat = check_shadow_regulation(SLAB, 16.0, LIMITS, CRS, year=YEAR, site=LOT)
    relieved = check_shadow_regulation(SLAB, 16.0, LIMITS, CRS, year=YEAR, site=LOT, ground=pit())
    assert flat.status == "fail" and flat.ground_rise_m == 0.0 and math.isnan(flat.ground_difference_m)
    assert (relieved.site_ground_m, relieved.neighbour_ground_m) == (0.0, 3.0)
    assert relieved.ground_difference_m == 3.0 and relieved.ground_rise_m == 1.0
    assert relieved.status == "pass" and relieved.near.max_hours < 4.0
    # the hours on the plane are those of the 5 m plane over flat ground, by hand on the axis
    bands = shadow_bands([SLAB], [16.0], LIMITS, CRS, year=YEAR, site=LOT, ground_rise_m=1.0)
    for distance in (3.0, 10.0, 20.0, 25.0):
        assert cell_hours(bands, X0 + 0.25, Y0 + distance - 0.25) == pytest.approx(
            hand_hours(distance - 0.25, 16.0, 5.0), abs=2 / 30 + 1e-6
        ), distance
    equal = relieved.equal_time_lines[relieved.equal_time_lines.hours == 4.0]
    assert equal.geometry.union_all().equals_exact(
        bands.equal_time_lines[bands.equal_time_lines.hours == 4.0].geometry.union_all(), 1e-9
    )
    table = to_frame([relieved]).loc[0]
    assert (table.ground_difference_m, table.ground_rise_m, table.plane_height_m) == (3.0, 1.0, 4.0)


@pytest.mark.parametrize(
    "site, neighbours, rise", [(0.0, 0.9, 0.0), (0.0, 1.0, 0.0), (0.0, 2.0, 0.5), (10.0, 7.0, 0.0)]
)
def test_the_relief_needs_1_m_below_the_neighbours(site, neighbours, rise):
    from pipeline.measures.ground_relief import deemed_rise_m

    assert deemed_rise_m(site, neighbours) == rise
    assert deemed_rise_m(float("nan"), neighbours) == 0.0


def test_a_lot_level_with_its_neighbours_keeps_the_flat_answer():
    level = check_shadow_regulation(SLAB, 16.0, LIMITS, CRS, year=YEAR, site=LOT, ground=pit(5.0, 5.0))
    assert level.ground_rise_m == 0.0 and level.ground_difference_m == 0.0 and level.status == "fail"


def test_hokkaido_counts_9_to_15_only():
    sapporo = ShadowLimits(3.0, 2.0, 4.0, in_hokkaido=True, source="道の区域内")
    assert sapporo.solar_window == (9.0, 15.0)
    bands = shadow_bands([box(-5, -5, 5, 5)], [8.0], sapporo, "EPSG:6680", year=YEAR)
    assert float(bands.shade_hours.max()) == pytest.approx(6.0, abs=1e-5)  # under the building
    outside = ShadowLimits(4.0, 2.5, 4.0)
    bands = shadow_bands([box(-5, -5, 5, 5)], [8.0], outside, "EPSG:6680", year=YEAR)
    assert float(bands.shade_hours.max()) == pytest.approx(8.0, abs=1e-5)


def test_a_pole_at_solar_noon_casts_h_over_tan_altitude():
    """Independent of SPA: at true solar noon of the solstice the sun is due south at
    90 - latitude - 23.44 degrees (declination on 21 December 2025, ±0.01)."""
    pole = box(X0 - 0.05, Y0 - 0.05, X0 + 0.05, Y0 + 0.05)
    _, _, lat = fine_sun()
    outline = shadow_outlines([pole], [30.0], CRS, plane_height_m=4.0, year=YEAR, solar_hours=[12.0])
    altitude = 90.0 - lat - 23.44
    length = outline.geometry.iloc[0].bounds[3] - (Y0 + 0.05)
    assert length == pytest.approx(26.0 / math.tan(math.radians(altitude)), rel=2e-3)
    assert outline.sun_altitude_deg.iloc[0] == pytest.approx(altitude, abs=0.02)
    # and the same shadow swept by hand with the regulation's prism
    swept = prism_shadow(pole, 26.0, 180.0, altitude)
    assert swept.bounds[3] - (Y0 + 0.05) == pytest.approx(length, rel=2e-3)


# --- the limits as text -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("(一) 4時間-2.5時間／4m", (4.0, 2.5, 4.0, 1)),  # the form of urf:shadeRegulation
        ("（一）　4時間-2.5時間／4m", (4.0, 2.5, 4.0, 1)),  # as Tokyo's 都市計画情報 prints it
        ("（二）５時間－３時間／６．５ｍ", (5.0, 3.0, 6.5, 2)),  # full-width
        ("二号 5時間ー3時間 測定面4m", (5.0, 3.0, 4.0, 2)),
        ("4h-2.5h/4m", (4.0, 2.5, 4.0, None)),
        ("3時間・2時間／1.5m", (3.0, 2.0, 1.5, None)),
    ],
)
def test_texts_of_the_regulation(text, expected):
    limits = parse_shade_regulation(text)
    assert (limits.near_hours, limits.far_hours, limits.plane_height_m, limits.class_number) == expected
    assert limits.source == text and not limits.in_hokkaido


@pytest.mark.parametrize("text", [None, "", "なし", "規制なし", "－"])
def test_no_regulation_texts(text):
    assert parse_shade_regulation(text) is None


@pytest.mark.parametrize(
    "text, zone, hokkaido, message",
    [
        ("4時間", None, False, "cannot read"),
        ("(一) 4時間-2.5時間／5m", None, False, "measurement plane 5"),
        ("2時間-1.5時間/4m", None, False, "not a pair of 別表第四 outside Hokkaido"),
        ("(一) 5時間-3時間／4m", "5", False, r"号 \(1\) of use district 5 is \(4.0, 2.5\)"),
        ("(一) 3時間-2時間／4m", "5", False, "not offered in use district 5"),
        ("(一) 3時間-2時間／4m", "1", False, "plane 4 m is not allowed in use district 1"),
        ("(一) 4時間-2.5時間／4m", "10", False, "does not regulate"),
        ("(二) 5時間-3時間／4m", "5", True, "not a pair of 別表第四 within Hokkaido"),
    ],
)
def test_bad_texts_are_named(text, zone, hokkaido, message):
    with pytest.raises(ShadeRegulationTextError, match=message) as error:
        parse_shade_regulation(text, zone_code=zone, in_hokkaido=hokkaido, where="use district X")
    assert f"「{text}」" in str(error.value) and "use district X" in str(error.value)


def test_hokkaido_pairs_and_zone_rows():
    limits = parse_shade_regulation("(一) 3時間-2時間／4m", zone_code="5", in_hokkaido=True)
    assert (limits.near_hours, limits.far_hours, limits.solar_window) == (3.0, 2.0, (9.0, 15.0))
    assert parse_shade_regulation("(二) 5時間-3時間／6.5m", zone_code="11").class_number == 2
    assert parse_shade_regulation("(三) 5時間-3時間／1.5m", zone_code="8").class_number == 3
    assert is_hokkaido("01") and is_hokkaido(1) and not is_hokkaido("11") and not is_hokkaido(None)


def test_regulated_building_rules():
    low_rise = ShadowLimits(4.0, 2.5, 1.5)
    assert low_rise.regulates(7.5) and not low_rise.regulates(7.0)
    assert low_rise.regulates(6.0, storeys=3) and not low_rise.regulates(6.0, storeys=2)
    assert LIMITS.regulates(10.1) and not LIMITS.regulates(10.0, storeys=3)
    assert LIMITS.label == "4時間-2.5時間／4m"


# --- the measures helper's entry point --------------------------------------------------------


def use_districts() -> gpd.GeoDataFrame:
    """A residential district with a regulation text west of x0, a commercial one east."""
    return gpd.GeoDataFrame(
        {
            "gml_id": ["res", "com", "fire"],
            "feature_type": ["urf:UseDistrict", "urf:UseDistrict", "urf:FirePreventionDistrict"],
            "function": ["5", "10", "1"],
            "function_label": ["第1種住居地域", "商業地域", "防火地域"],
            "shade_regulation": ["（一） 4時間-2.5時間／4m", None, "(三) 5時間-3時間/4m"],
            "prefecture": ["11", "11", "11"],
        },
        geometry=[
            box(X0 - 200, Y0 - 200, X0 + 30, Y0 + 200),
            box(X0 + 30, Y0 - 200, X0 + 400, Y0 + 200),
            box(X0 - 200, Y0 - 200, X0 + 400, Y0 + 200),
        ],
        crs=CRS,
    )


def added() -> gpd.GeoDataFrame:
    east = shapely.affinity.translate(SLAB, 200.0, 0.0)
    return gpd.GeoDataFrame(
        {
            "id": ["tower", "annex", "mall"],
            "height_m": [30.0, 8.0, 30.0],
            "site_id": ["lot1", "lot1", "lot2"],
            "ground_elevation_m": [12.5, 12.5, 13.0],
            "lot": [LOT, LOT, None],
        },
        geometry=[SLAB, box(X0 - 24, Y0 - 14, X0 - 21, Y0 - 11), east],
        crs=CRS,
    )


def test_check_added_buildings_reads_the_district_text():
    results = check_added_buildings(added(), use_districts(), year=YEAR)
    assert [r.building_id for r in results] == ["tower", "annex", "mall"]
    tower, annex, mall = results
    assert tower.status == "fail" and tower.zone_id == "res" and tower.limits.label == "4時間-2.5時間／4m"
    # the annex shares the lot: one building with the tower (法第56条の2第2項)
    assert annex.status == "fail" and annex.site_id == "lot1" and annex.near == tower.near
    assert annex.ground_elevation_m == 12.5
    assert mall.status == "no_regulation" and mall.zone_label == "商業地域" and mall.passes
    table = to_frame(results)
    assert list(table.columns) == list(FRAME_COLUMNS)
    assert table["status_label"].tolist() == ["不適合 / over the limits"] * 2 + [
        "規制なし / no shadow regulation"
    ]
    assert table.loc[0, "far_area_over_m2"] == pytest.approx(tower.far.area_over_m2)
    lines = lines_frame(results, CRS)
    assert set(lines["kind"]) == {"equal_time", "measuring"} and set(lines["building_id"]) == {
        "tower",
        "annex",
    }


def test_limits_from_the_run_where_the_data_has_none():
    districts = use_districts().assign(shade_regulation=None)
    run = ShadowLimits(5.0, 3.0, 4.0, class_number=2, source="run definition")
    results = check_added_buildings(added().iloc[:1], districts, year=YEAR, default_limits=run)
    assert results[0].limits is run and "limits of the run" in results[0].note
    assert check_added_buildings(added().iloc[:1], districts, year=YEAR)[0].status == "no_limits"
    assert check_added_buildings(added().iloc[:1], run, year=YEAR)[0].limits is run


def test_bad_inputs_are_named():
    districts = use_districts()
    districts.loc[0, "shade_regulation"] = "日影4時間"
    with pytest.raises(ValueError, match="use district res: cannot read the shadow regulation 「日影4時間」"):
        check_added_buildings(added().iloc[:1], districts, year=YEAR)
    with pytest.raises(ValueError, match="building tower: height_m nan"):
        check_added_buildings(added().iloc[:1].assign(height_m=np.nan), LIMITS, year=YEAR)
    with pytest.raises(ValueError, match="building tower: the site does not cover"):
        check_added_buildings(added().iloc[:1].assign(lot=[box(0, 0, 1, 1)]), LIMITS, year=YEAR)
    with pytest.raises(ValueError, match="metric CRS"):
        check_added_buildings(added().to_crs("EPSG:6668"), LIMITS, year=YEAR)


def test_the_attribute_through_ingest(project_root, tmp_path):
    """urf:shadeRegulation reaches the ingest table as ``shade_regulation``: the sample's
    use districts with a text written into the residential one (generated case)."""
    from citygml import Dataset
    from pipeline.ingest import ingest_file

    sample = project_root / "sample_data/omiya"
    shutil.copytree(sample / "codelists", tmp_path / "codelists")
    (tmp_path / "udx/urf").mkdir(parents=True)
    text = (sample / "udx/urf/533964_urf_6668_op.gml").read_text(encoding="utf-8")
    marker = "<urf:floorAreaRate>2</urf:floorAreaRate>"
    assert text.count(marker) == 1
    text = text.replace(
        marker, marker + "<urf:shadeRegulation>（一） 4時間-2.5時間／4m</urf:shadeRegulation>"
    )
    path = tmp_path / "udx/urf/533964_urf_6668_op.gml"
    path.write_text(text, encoding="utf-8")
    dataset, only = Dataset.for_path(path)
    table = gpd.read_parquet(ingest_file(dataset.sources(only=only)[0], tmp_path / "out", CRS).table)
    residential = table[table["gml_id"] == "urf_sample_use_residential_1"]
    assert residential["shade_regulation"].iloc[0] == "（一） 4時間-2.5時間／4m"
    site = residential.geometry.iloc[0].representative_point().buffer(10.0)
    limits, status, zone = district_limits(site, table)
    assert status == "" and zone["zone_id"] == "urf_sample_use_residential_1"
    assert (limits.near_hours, limits.far_hours, limits.plane_height_m) == (4.0, 2.5, 4.0)
    commercial = table[table["gml_id"] == "urf_sample_use_commercial"].geometry.iloc[0]
    assert district_limits(commercial.representative_point().buffer(5.0), table)[1] == "no_regulation"


def test_storeys_make_a_low_building_regulated_on_the_1_5_m_plane():
    low_rise = ShadowLimits(4.0, 2.5, 1.5, class_number=2, source="(二) 4時間-2.5時間／1.5m")
    houses = added().iloc[:1].assign(height_m=7.0)
    assert check_added_buildings(houses, low_rise, year=YEAR)[0].status == "not_subject"
    result = check_added_buildings(houses.assign(storeys=3), low_rise, year=YEAR)[0]
    # 5.5 m above the plane, 15 m inside the lot: its shadow stays short of the 5 m line's limit
    assert result.subject and result.status == "pass" and result.near.max_hours < 4.0
