"""Walkability components sampled from rasters, composite score and classes."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString

from pipeline.geo.raster import Grid
from pipeline.walkability.components import intersection_density, shade_share, slope_percent
from pipeline.walkability.network import from_lines
from pipeline.walkability.scores import classify, components, composite

CRS = "EPSG:6677"


def _network():
    lines = [LineString([(0, 50), (50, 50), (100, 50)]), LineString([(50, 0), (50, 50), (50, 100)])]
    return from_lines(gpd.GeoDataFrame(geometry=lines, crs=CRS))


def test_shade_share_from_raster_half_shaded():
    network = _network()  # a cross: 4 segments of 50 m
    grid = Grid(0.0, 100.0, 1.0, 100, 100, CRS)
    shade = np.zeros(grid.shape, np.float32)
    shade[:, :50] = 1.0  # west half shaded
    share = shade_share(network, shade, grid, step_m=1.0)
    west = network.segments.geometry.centroid.x.to_numpy() < 49
    east = network.segments.geometry.centroid.x.to_numpy() > 51
    np.testing.assert_allclose(share[west], 50 / 51)  # the east end sample lies in the sunny cell
    np.testing.assert_allclose(share[east], 0.0)
    ns = ~(west | east)  # the north-south segments lie on x = 50: the east (sunny) cell
    np.testing.assert_allclose(share[ns], 0.0)


def test_slope_from_tilted_terrain():
    network = _network()
    grid = Grid(-5.0, 105.0, 1.0, 110, 110, CRS)
    x, _ = grid.cell_centres()
    terrain = np.tile(0.05 * x, (110, 1))  # 5 % rising to the east
    slope = slope_percent(network, terrain, grid, step_m=10.0)
    horizontal = network.segments.geometry.bounds.eval("maxy - miny").to_numpy() < 1
    np.testing.assert_allclose(slope["slope_mean_pct"].to_numpy()[horizontal], 5.0, atol=0.2)
    np.testing.assert_allclose(slope["slope_mean_pct"].to_numpy()[~horizontal], 0.0, atol=1e-9)


def test_intersection_density_counts_junctions():
    network = _network()
    density = intersection_density(network, radius_m=400)
    np.testing.assert_allclose(density, 1 / (np.pi * 0.16))


def test_composite_weights_and_missing_components():
    table = pd.DataFrame(
        {
            "access_shop_400": [0.0, 10.0],
            "shade_share": [1.0, 0.0],
            "slope_max_pct": [0.0, 8.0],
            "width_m": [np.nan, 4.0],
            "intersection_density": [100.0, 100.0],
        }
    )
    comps = components(table, access_columns=["access_shop_400"])
    score = composite(comps, {"access": 1, "shade": 1, "slope": 1, "width": 1, "intersections": 1})
    # row 0: access 0, shade 1, slope 1, width unknown, intersections 1 -> 3/4
    assert score.iloc[0] == pytest.approx(75.0)
    # row 1: access 1, shade 0, slope 0, width 1, intersections 1 -> 3/5
    assert score.iloc[1] == pytest.approx(60.0)


def test_classification():
    score = np.array([80, 80, 20, 20, 80])  # standings (score percentiles in the scenario)
    flow = np.array([50, 1, 50, np.nan, 200])
    shade = np.array([0.8, 0.8, 0.8, 0.8, 0.0])
    classes = classify(score, flow, shade, hot_season=True)
    assert classes.tolist() == [
        "walkable_used",
        "walkable_underused",
        "neither",
        "neither",
        "used_uncomfortable",
    ]
    assert classify(score, flow, shade, hot_season=False)[4] == "walkable_used"
    top_fifth = classify(score, flow, shade, hot_season=False, walkable_from=90)
    assert top_fifth.tolist()[:2] == ["neither", "neither"]


def test_thermal_component_replaces_shade_in_the_composite():
    from pipeline.walkability.scores import THERMAL_WEIGHTS

    # a shaded street and a sunny one, alike otherwise; in winter the sunny one is comfortable
    table = pd.DataFrame(
        {
            "access_shop_400": [10.0, 10.0],
            "shade_share": [0.9, 0.1],
            "c_thermal": [0.6, 1.0],
            "slope_max_pct": [0.0, 0.0],
            "width_m": [4.0, 4.0],
            "intersection_density": [100.0, 100.0],
        }
    )
    comps = components(table, access_columns=["access_shop_400"])
    np.testing.assert_allclose(comps["c_thermal"], [0.6, 1.0])
    np.testing.assert_allclose(comps["c_shade"], [0.9, 0.1])  # still a column
    shade_scores = composite(comps)
    thermal_scores = composite(comps, THERMAL_WEIGHTS)
    assert shade_scores.iloc[0] > shade_scores.iloc[1]  # shade alone favours the shade
    assert thermal_scores.iloc[1] > thermal_scores.iloc[0]  # comfort favours the sun
    assert thermal_scores.iloc[1] - thermal_scores.iloc[0] == pytest.approx(100 * 0.15 * 0.4 / 0.85)


def test_thermal_gate_multiplies_the_other_components():
    from pipeline.walkability.scenario_scores import effective_weights, thermal_score
    from pipeline.walkability.scores import DEFAULT_WEIGHTS

    # the best-served street in very strong heat stress, a poorer one in comfort, and one
    # with no UTCI sample
    comps = pd.DataFrame(
        {
            "c_access": [1.0, 0.4, 0.4],
            "c_mix": [1.0, 0.4, 0.4],
            "c_intersections": [1.0, 0.4, 0.4],
            "c_shade": [0.1, 0.9, 0.9],
            "c_thermal": [0.0, 1.0, np.nan],
            "c_slope": [1.0, 1.0, 1.0],
            "c_width": [1.0, 1.0, 1.0],
        }
    )
    gate = effective_weights(DEFAULT_WEIGHTS, thermal=True, rule="gate")
    assert "shade" not in gate and "thermal" not in gate
    gated = thermal_score(comps, DEFAULT_WEIGHTS, thermal=True, rule="gate")
    others = (0.35 * 0.4 + 0.15 * 0.4 + 0.15 * 0.4 + 0.1 + 0.1) / 0.85
    np.testing.assert_allclose(gated, [0.0, 100 * others, 100 * others])  # unknown: not gated
    weighted = thermal_score(comps, DEFAULT_WEIGHTS, thermal=True, rule="weight")
    assert weighted.iloc[0] > weighted.iloc[1]  # as a weight, access makes up for the heat
    no_utci = thermal_score(comps, DEFAULT_WEIGHTS, thermal=False)
    np.testing.assert_allclose(no_utci.iloc[1], 100 * (others * 0.85 + 0.15 * 0.9))  # shade share back
    with pytest.raises(ValueError, match="thermal rule"):
        effective_weights(DEFAULT_WEIGHTS, thermal=True, rule="max")


def test_uncomfortable_from_hours_in_heat_or_cold_stress():
    from pipeline.walkability.scenario_scores import uncomfortable_mask

    table = pd.DataFrame(
        {
            "utci_mean_c": [30.0, 30.0, 5.0, 20.0],
            "hours_utci_above_32": [1.0, 0.5, 0.0, np.nan],  # one hot hour counts
            "hours_utci_below_0": [0.0, 0.0, 1.5, np.nan],
        }
    )
    assert uncomfortable_mask(table, 1.0).tolist() == [True, False, True, False]
    assert uncomfortable_mask(table, 0.5).tolist() == [True, True, True, False]
    # without hours (an older thermal stage): from the mean UTCI's stress class
    assert uncomfortable_mask(table[["utci_mean_c"]], 1.0).tolist() == [False] * 4


def test_used_but_uncomfortable_from_stress_classes():
    from pipeline.thermal.utci import in_strong_stress
    from pipeline.walkability.partials import add_up, partial_sums, place_summary

    score = np.full(6, 80.0)
    flow = np.array([10, 10, 10, 10, 200, 300])
    shade = np.zeros(6)
    utci = np.array([20.0, 20.0, 20.0, 20.0, 35.0, -15.0])  # the crowded two: strong heat, strong cold
    classes = classify(score, flow, shade, hot_season=False, uncomfortable=in_strong_stress(utci))
    assert classes.tolist()[4:] == ["used_uncomfortable", "used_uncomfortable"]
    mild = classify(score, flow, shade, hot_season=True, uncomfortable=in_strong_stress(np.full(6, 25.0)))
    assert "used_uncomfortable" not in mild.tolist()  # no hot-season shortcut
    segments = pd.DataFrame(
        {
            "meshcode": [1, 1, 2, 2, 3, 3],
            "length_m": [100.0] * 6,
            "score": score,
            "score_percentile": score,
            "people": flow,
            "shade_share": shade,
            "class": "neither",
            "utci_mean_c": [20.0, 24.0, 20.0, 20.0, 35.0, 31.0],
            "hours_utci_above_32": [0.0, 0.0, 0.0, 0.0, 3.0, 0.5],
            "hours_utci_below_0": [0.0] * 6,
        }
    )
    # two tiles' partial sums, added up, summarise the cells as one table would
    tiles = [
        partial_sums(part, part["meshcode"], level="mesh", scenario="s")
        for part in (segments.iloc[:3], segments.iloc[3:])
    ]
    sums = add_up(tiles)
    assert sums["key"].tolist() == ["1", "2", "3"] and sums["segments"].tolist() == [2, 2, 2]
    cells = place_summary(sums, "meshcode", hot_season=False, walkable_percentile=50, unshaded_below=0.3)
    one = place_summary(
        add_up([partial_sums(segments, segments["meshcode"], level="mesh", scenario="s")]),
        "meshcode",
        hot_season=False,
        walkable_percentile=50,
        unshaded_below=0.3,
    )
    pd.testing.assert_frame_equal(cells, one)
    assert cells["utci_mean_c"].tolist() == pytest.approx([22.0, 20.0, 33.0])
    assert cells["people_per_100m"].tolist() == pytest.approx([10.0, 10.0, 250.0])
    assert cells["class"].tolist() == ["walkable_used", "walkable_used", "used_uncomfortable"]
    assert cells["hours_utci_above_32"].tolist() == pytest.approx([0.0, 0.0, 1.75])
    # cell 3 from its hours: 1.75 h above 32 °C; with 2 h needed, only its flow counts
    strict = place_summary(
        sums,
        "meshcode",
        hot_season=False,
        walkable_percentile=50,
        unshaded_below=0.3,
        uncomfortable_hours=2.0,
    )
    assert strict["class"].tolist()[2] == "walkable_used"
