"""c_thermal and per-segment UTCI, and the issue's street pair: shade wins in summer, sun in winter."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from rasterio.features import rasterize
from shapely.geometry import LineString, Point, box

from pipeline.geo.raster import Grid
from pipeline.shade.sun import Scenario, Season, TimeSlot
from pipeline.thermal.tile import ThermalOptions, TileSurface, thermal_tile
from pipeline.thermal.utci import STRESS_KEYS
from pipeline.thermal.weather import read_weather
from pipeline.walkability.comfort import (
    EXPOSURE_CLASSES,
    ComfortCurve,
    better_side,
    exposure_hours,
    segment_thermal,
    share_columns,
    side_columns,
)
from pipeline.walkability.components import sample_sides, sidewalk_offsets
from pipeline.walkability.network import from_lines

CRS = "EPSG:6677"


def test_comfort_curve_breakpoints():
    # 1 in UTCI's comfort zone (18-26 °C), 0 where extreme stress begins (-40 and 46 °C)
    curve = ComfortCurve()
    np.testing.assert_allclose(
        curve(np.array([-50, -40, -11, 9, 18, 20, 26, 32, 36, 38, 46, 50, np.nan])),
        [0, 0, 0.5, 49 / 58, 1, 1, 1, 0.7, 0.5, 0.4, 0, 0, np.nan],
    )
    whole_band = ComfortCurve(comfort_low_c=9.0)  # 1 in the whole no-thermal-stress class
    np.testing.assert_allclose(whole_band(np.array([-15.5, 9.0, 12.0])), [0.5, 1.0, 1.0])
    strict = ComfortCurve(heat_zero_c=38.0, cold_zero_c=-27.0)  # the curve before issue 21
    assert strict(32.0) == pytest.approx(0.5) and strict(-4.5) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="breakpoints"):
        ComfortCurve(comfort_low_c=30.0, comfort_high_c=26.0)


def test_segment_utci_c_thermal_and_class_shares():
    lines = [LineString([(0.5, 50), (99.5, 50)]), LineString([(50, 0), (50, 40)])]
    network = from_lines(gpd.GeoDataFrame(geometry=lines, crs=CRS))
    grid = Grid(0.0, 100.0, 1.0, 100, 100, CRS)
    utci = np.full(grid.shape, 20.0, np.float32)
    utci[:, 50:] = 40.0  # east half: very strong heat stress
    table = segment_thermal(network, utci, grid, step_m=1.0)
    assert list(table.columns) == ["utci_mean_c", "c_thermal"] + share_columns() + ["side"] + side_columns()
    assert (table["side"] == "centre").all()  # no widths given: walked on the centreline
    east_west = table.iloc[0]  # 100 samples, 50 in each half
    assert east_west["share_no_stress"] == 0.5 and east_west["share_very_strong_heat"] == 0.5
    # the mean of c, not c of the mean UTCI (c(30) = 0.8)
    assert east_west["c_thermal"] == pytest.approx((1 + ComfortCurve()(40.0)) / 2)
    assert east_west["utci_mean_c"] == pytest.approx(30.0)
    north_south = table.iloc[1]  # on x = 50: the eastern cells
    assert north_south["share_very_strong_heat"] == 1.0
    assert north_south["c_thermal"] == pytest.approx(ComfortCurve()(40.0))
    np.testing.assert_allclose(table[share_columns()].sum(axis=1), 1.0)


def test_sidewalk_offsets_put_walking_lines_1_5_m_in_from_the_road_edges():
    np.testing.assert_allclose(sidewalk_offsets([20.0, 8.0, 3.0, 2.0, np.nan]), [8.5, 2.5, 0.0, 0.0, 0.0])


def test_sides_are_sampled_left_and_right_of_the_direction_of_digitisation():
    """A raster 1 north of y = 0 and 0 south of it: an eastbound street's left side is
    north, a westbound one's south; a bent street keeps its sides round the corner."""
    lines = [
        LineString([(10, 0), (90, 0)]),
        LineString([(90, 0.0), (10, 0.0)]),
        LineString([(10, 0), (50, 0), (50, -40)]),
        LineString([(20, 0), (80, 0)]),
    ]
    network = from_lines(gpd.GeoDataFrame(geometry=lines, crs=CRS))
    grid = Grid(0.0, 50.0, 1.0, 100, 100, CRS)
    north = np.zeros(grid.shape)
    north[:50] = 1.0  # rows 0-49: y in (0, 50]
    east = np.zeros(grid.shape)
    east[:, 50:] = 1.0  # columns 50-99: x >= 50
    assert len(network) == 4
    owner, values = sample_sides(network, [north, east], grid, [5.0, 5.0, 5.0, 0.0], step_m=1.0)
    means = {side: np.bincount(owner, v[0]) / np.bincount(owner) for side, v in values.items()}
    geometry = network.segments.geometry.to_numpy()
    for i, line in enumerate(geometry):
        first, last = line.coords[0], line.coords[-1]
        if last[1] == -40:  # bent: east then south; left is north then east
            right_of_bend = values["left"][1][owner == i]
            assert means["right"][i] < 0.05 and right_of_bend.mean() > 0.45
        elif first[0] == 20:  # no walking lines: every side on the centre
            np.testing.assert_array_equal(values["left"][0][owner == i], values["centre"][0][owner == i])
        elif first[0] < last[0]:  # eastbound
            assert means["left"][i] == 1.0 and means["right"][i] == 0.0
        else:  # westbound
            assert means["left"][i] == 0.0 and means["right"][i] == 1.0


def test_exposure_hours_sum_the_stress_classes_beyond_each_bound():
    from pipeline.thermal.utci import STRESS_KEYS

    hours = np.zeros((len(STRESS_KEYS), 1, 3))
    hours[STRESS_KEYS.index("moderate_heat"), 0, 0] = 2.0
    hours[STRESS_KEYS.index("strong_heat"), 0, 0] = 0.5
    hours[STRESS_KEYS.index("extreme_heat"), 0, 0] = 0.5  # cell 0: 1 h above 32, 0.5 h above 38
    hours[STRESS_KEYS.index("moderate_cold"), 0, 1] = 1.5
    hours[STRESS_KEYS.index("slight_cold"), 0, 1] = 1.5  # cell 1: 1.5 h at or below 0 °C
    hours[:, 0, 2] = np.nan  # cell 2: no data
    out = exposure_hours(hours)
    assert list(out) == list(EXPOSURE_CLASSES)
    np.testing.assert_allclose(out["hours_utci_above_32"][0], [1.0, 0.0, np.nan])
    np.testing.assert_allclose(out["hours_utci_above_38"][0], [0.5, 0.0, np.nan])
    np.testing.assert_allclose(out["hours_utci_below_0"][0], [0.0, 1.5, np.nan])
    with pytest.raises(ValueError, match="one band per class"):
        exposure_hours(hours[:5])


def test_better_side_takes_the_higher_c_thermal_then_the_one_nearer_comfort():
    nan = np.nan
    c = np.array(
        [[0.5, 0.3, 0.6], [0.5, 1.0, 1.0], [0.5, 1.0, 1.0], [0.5, nan, 0.2], [0.5, 0.9, 0.1], [0.5, nan, nan]]
    )
    utci = np.array([[30, 35, 33], [20, 25, 21], [20, 20, 24], [30, nan, 40], [10, 12, 0], [10, nan, nan]])
    walkable = np.array([True, True, True, True, False, True])
    np.testing.assert_array_equal(better_side(c, utci, walkable), [2, 2, 1, 2, 0, 0])


HEAT_DAY = Season("heat_day", 8, 5)
WINTER = Season("winter_solstice", 12, 21)
MIDDAY = TimeSlot("midday", "11:00", "14:00")


def _street_pair():
    """Two equal east-west routes between O (0, 0) and D (400, 0): the north one at y = +40 runs
    along the north face of a 40 m building row (y 10-35), the south one at y = -40 in the open.
    A shop stands on a stub east of D."""
    inner = Grid(-100.0, 100.0, 1.0, 600, 200, CRS)
    outer = inner.buffered(100.0)
    dsm = rasterize(
        [(box(20, 10, 380, 35), 40.0)], out_shape=outer.shape, transform=outer.transform, fill=0.0
    ).astype(np.float64)
    o, d = (0, 0), (400, 0)
    lines = [
        LineString([o, (0, 40), (400, 40), d]),
        LineString([o, (0, -40), (400, -40), d]),
        LineString([d, (480, 0)]),
    ]
    network = from_lines(gpd.GeoDataFrame(geometry=lines, crs=CRS))
    return inner, outer, dsm, network


@pytest.fixture(scope="module")
def street_pair(project_root):
    inner, outer, dsm, network = _street_pair()
    weather = read_weather(project_root / "sample_data" / "weather" / "kumagaya_normals_1991_2020.csv")
    result = thermal_tile(
        TileSurface(dsm, outer, inner),
        [Scenario(HEAT_DAY, MIDDAY), Scenario(WINTER, MIDDAY)],
        2026,
        weather,
        ThermalOptions(step_minutes=30),
    )
    y = network.segments.geometry.centroid.y.to_numpy()
    x = network.segments.geometry.centroid.x.to_numpy()
    north, south = (y > 20) & (x < 400), (y < -20) & (x < 400)
    tables = {
        name: segment_thermal(network, s.utci_mean_c, inner, step_m=2.0)
        for name, s in result.scenarios.items()
    }
    return network, tables, north, south


def test_street_pair_shade_wins_on_the_heat_day_sun_wins_in_winter(street_pair):
    network, tables, north, south = street_pair
    summer, winter = tables["heat_day_midday"], tables["winter_solstice_midday"]
    for name, table in tables.items():
        print(
            f"{name}: shaded UTCI {table['utci_mean_c'][north].mean():.1f} c {table['c_thermal'][north].mean():.3f}"
            f", sunny UTCI {table['utci_mean_c'][south].mean():.1f} c {table['c_thermal'][south].mean():.3f}"
        )
    assert summer["c_thermal"][north].mean() > summer["c_thermal"][south].mean() + 0.1
    assert summer["utci_mean_c"][north].mean() < summer["utci_mean_c"][south].mean() - 3
    # a Saitama winter noon in shade is only slightly cold (UTCI about 5-9 °C), below the
    # comfort zone (18-26 °C) that the sunny side reaches
    assert winter["c_thermal"][south].mean() > winter["c_thermal"][north].mean() + 0.1
    assert winter["utci_mean_c"][south].mean() > winter["utci_mean_c"][north].mean() + 3


def test_comfort_weighted_access_follows_c_thermal(street_pair):
    """cityseer's perceived distance to the shop takes the shaded route on the heat day and
    the sunny one in winter, with ``comfort_imp_factor(c_thermal, sun_weight=2)``."""
    pytest.importorskip("cityseer")
    from pipeline.walkability.accessibility import accessibility, assign_destinations, comfort_imp_factor

    network, tables, north, south = street_pair
    shop = gpd.GeoDataFrame({"class": ["shop"]}, geometry=[Point(470, 0)], crs=CRS, index=["shop"])
    origin = network.nodes.index[(network.nodes["x"].abs() < 1e-6) & (network.nodes["y"].abs() < 1e-6)][0]
    data_map = assign_destinations(network, shop)
    length = network.segments["length_m"].to_numpy()
    for name, preferred in (("heat_day_midday", north), ("winter_solstice_midday", south)):
        factor = comfort_imp_factor(tables[name]["c_thermal"].to_numpy(), sun_weight=2.0)
        access = accessibility(
            network,
            shop,
            "class",
            distances=(2000,),
            decay="1",
            per_node=True,
            imp_factor=factor,
            data_map=data_map,
        )
        via = {
            route: float((factor * length)[mask].sum())
            for route, mask in (("preferred", preferred), ("other", north if preferred is south else south))
        }
        assert via["preferred"] < via["other"]
        stub = access.loc[origin, "nearest_shop_m"] - via["preferred"]
        assert 0 <= stub <= 80.5  # then along the stub at plain length


@pytest.fixture(scope="module")
def street_beside_a_row(project_root):
    """One eastbound street 20 m wide (walking lines at y = +-8.5 m) with a 10 m building row
    along its south edge (y -30 to -10). At an August noon (sun 65-71 deg high) the row
    shades its own, southern sidewalk only; at a December noon (sun 28-31 deg) its shadow
    reaches across the south sidewalk but not to the north one (about 16 m north of the row)."""
    inner = Grid(-60.0, 60.0, 1.0, 420, 120, CRS)
    outer = inner.buffered(100.0)
    dsm = rasterize(
        [(box(20, -30, 280, -10), 10.0)], out_shape=outer.shape, transform=outer.transform, fill=0.0
    ).astype(np.float64)
    network = from_lines(
        gpd.GeoDataFrame({"width_m": [20.0]}, geometry=[LineString([(60, 0), (240, 0)])], crs=CRS)
    )
    weather = read_weather(project_root / "sample_data" / "weather" / "kumagaya_normals_1991_2020.csv")
    result = thermal_tile(
        TileSurface(dsm, outer, inner),
        [Scenario(HEAT_DAY, MIDDAY), Scenario(WINTER, MIDDAY)],
        2026,
        weather,
        ThermalOptions(step_minutes=30),
    )
    offsets = sidewalk_offsets(network.segments["width_m"])
    return {
        name: segment_thermal(
            network,
            s.utci_mean_c,
            inner,
            offsets_m=offsets,
            step_m=2.0,
            stress_hours=np.stack([s.hours_in(k) for k in STRESS_KEYS]),
        )
        for name, s in result.scenarios.items()
    }


def test_the_walker_takes_the_shaded_sidewalk_in_august_and_the_sunny_one_in_december(street_beside_a_row):
    summer, winter = (
        street_beside_a_row["heat_day_midday"].iloc[0],
        street_beside_a_row["winter_solstice_midday"].iloc[0],
    )
    for name, row in (("heat day", summer), ("winter", winter)):
        print(
            f"{name}: UTCI left (north) {row['utci_left_c']:.1f}, centre {row['utci_centre_c']:.1f}, "
            f"right (south) {row['utci_right_c']:.1f} °C; walked: {row['side']}, "
            f"{row['hours_utci_above_32']:.2f} h above 32 °C"
        )
    # August: the south sidewalk, in the row's shade, is cooler and the one walked
    assert summer["side"] == "right" and summer["utci_right_c"] < summer["utci_left_c"] - 3
    assert summer["c_thermal"] == summer["c_thermal_right"] > summer["c_thermal_left"]
    assert summer["utci_mean_c"] == summer["utci_right_c"]
    assert (
        summer["hours_utci_above_32"] <= 3.0
        and summer["hours_utci_above_38"] <= summer["hours_utci_above_32"]
    )
    # December: the north sidewalk, out of the long shadow, is warmer and the one walked
    assert winter["side"] == "left" and winter["utci_left_c"] > winter["utci_right_c"] + 3
    assert winter["c_thermal"] == winter["c_thermal_left"] > winter["c_thermal_right"]
    # the centreline alone would have told neither
    assert (
        summer["utci_right_c"] < summer["utci_centre_c"] and winter["utci_left_c"] > winter["utci_centre_c"]
    )
