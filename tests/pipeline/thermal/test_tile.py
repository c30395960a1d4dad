"""One tile's thermal comfort: per-scenario means and stress hours, bounded memory, determinism."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from pipeline.geo.raster import Grid
from pipeline.shade.shadow import CanopyTransmissivity
from pipeline.shade.sun import Scenario, Season, TimeSlot
from pipeline.thermal.tile import thermal_scenarios, thermal_tile, tile_sky_view
from pipeline.thermal.utci import STRESS_KEYS
from pipeline.thermal.weather import read_weather

CRS = "EPSG:6677"
HEAT_DAY_MIDDAY = Scenario(Season("heat_day", 8, 5), TimeSlot("midday", "11:00", "14:00"))
WINTER_MORNING = Scenario(Season("winter_solstice", 12, 21), TimeSlot("morning", "08:00", "11:00"))


def _tile():
    """A 160 m x 120 m tile near Omiya with a 30 m block and a row of trees, 60 m halo."""
    inner = Grid(-20000.0, -10000.0, 1.0, 160, 120, CRS)
    outer = inner.buffered(60.0)
    dsm = np.full(outer.shape, 10.0)
    dsm[100:130, 90:150] = 40.0                          # block: rows 40-70, cols 30-90 of the tile
    canopy = np.full(outer.shape, np.nan)
    canopy[150:156, 80:200] = 18.0                       # trees 8 m tall south of the block
    return inner, outer, dsm, canopy


@pytest.fixture(scope="module")
def weather(project_root):
    return read_weather(project_root / "sample_data" / "weather" / "kumagaya_normals_1991_2020.csv")


@pytest.fixture(scope="module")
def result(weather):
    inner, outer, dsm, canopy = _tile()
    return thermal_tile(dsm, outer, inner, [HEAT_DAY_MIDDAY, WINTER_MORNING], 2026, weather,
                        canopy_top=canopy, step_minutes=20)


def test_outputs_on_the_tile_grid(result):
    inner, *_ = _tile()
    assert result.grid == inner and list(result.scenarios) == ["heat_day_midday", "winter_solstice_morning"]
    assert result.svf.shape == inner.shape and result.svf.dtype == np.float32
    for scenario in result.scenarios.values():
        for array in (scenario.utci_mean_c, scenario.tmrt_mean_c, *scenario.stress_hours.values()):
            assert array.shape == inner.shape and array.dtype == np.float32 and np.isfinite(array).all()
        assert set(scenario.stress_hours) <= set(STRESS_KEYS)
        assert scenario.slot_hours == pytest.approx(3.0)
        total = sum(scenario.stress_hours.values())
        np.testing.assert_allclose(total, 3.0, atol=1e-5)      # every cell's hours fill the slot
        assert len(scenario.weather) == 9 and "熊谷" in scenario.weather.source


def test_shade_north_of_the_block_is_cooler_at_midday(result):
    summer = result.scenarios["heat_day_midday"]
    north_of_block, open_ground = (35, 60), (100, 140)     # tile (row, col)
    assert summer.utci_mean_c[north_of_block] < summer.utci_mean_c[open_ground] - 3
    assert summer.tmrt_mean_c[north_of_block] < summer.tmrt_mean_c[open_ground] - 15
    assert summer.hours_in("very_strong_heat")[open_ground] > 2.5
    assert summer.hours_in("extreme_cold").sum() == 0
    winter = result.scenarios["winter_solstice_morning"]
    assert winter.utci_mean_c[north_of_block] < winter.utci_mean_c[open_ground]


def test_trees_shade_by_their_transmissivity(result, weather):
    inner, outer, dsm, canopy = _tile()
    under_trees, beside = (92, 60), (110, 60)               # tile (row, col)
    summer = result.scenarios["heat_day_midday"]
    assert summer.tmrt_mean_c[under_trees] < summer.tmrt_mean_c[beside] - 10
    bare = thermal_tile(dsm, outer, inner, [HEAT_DAY_MIDDAY], 2026, weather, canopy_top=canopy,
                        step_minutes=20, transmissivity=CanopyTransmissivity(leaf_on=1.0, leaf_off=1.0))
    assert bare.scenarios["heat_day_midday"].tmrt_mean_c[under_trees] == pytest.approx(
        summer.tmrt_mean_c[beside], abs=3.0)


def test_deterministic_and_sky_view_reusable(result, weather):
    inner, outer, dsm, canopy = _tile()
    sky = tile_sky_view(dsm, outer, inner, canopy_top=canopy)
    np.testing.assert_array_equal(sky.surface, result.svf)
    again = dict(thermal_scenarios(dsm, outer, inner, [WINTER_MORNING], 2026, weather, canopy_top=canopy,
                                   sky_view=sky, step_minutes=20))
    first = result.scenarios["winter_solstice_morning"]
    assert again["winter_solstice_morning"].utci_mean_c.tobytes() == first.utci_mean_c.tobytes()
    assert again["winter_solstice_morning"].tmrt_mean_c.tobytes() == first.tmrt_mean_c.tobytes()


def test_memory_does_not_grow_with_the_number_of_time_steps(weather):
    """Steps are accumulated, never stacked: 18 steps peak no higher than 3 steps (+20 %).

    The peak is about 5 MB here; keeping the 18 steps' UTCI and Tmrt would add 2.8 MB.
    """
    inner, outer, dsm, canopy = _tile()
    sky = tile_sky_view(dsm, outer, inner, canopy_top=canopy)
    peaks = {}
    for minutes in (60, 10):
        tracemalloc.start()
        thermal_tile(dsm, outer, inner, [HEAT_DAY_MIDDAY], 2026, weather, canopy_top=canopy,
                     sky_view=sky, step_minutes=minutes)
        peaks[minutes] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peaks[10] < 1.2 * peaks[60]


def test_horizon_shade_agrees_with_the_exact_sweep(result, weather):
    """The default shade method (horizons per 2-degree sector) against the exact sweep.

    The two disagree on at most 0.5 % of the cells at a step (``test_horizon.py``), a
    different cell at each step, so a cell's mean Tmrt moves by at most the sun-to-shade
    span for one step out of nine: the tile mean of |dTmrt| stays within 0.5 % of the
    span (measured 0.05 K of 28 K on the heat day, 0.08 K of 41 K in winter), and the
    tile's mean UTCI within 0.05 K (measured 0.002 and 0.006 K)."""
    inner, outer, dsm, canopy = _tile()
    exact = thermal_tile(dsm, outer, inner, [HEAT_DAY_MIDDAY, WINTER_MORNING], 2026, weather,
                         canopy_top=canopy, sky_view=result.sky_view, step_minutes=20, method="sweep")
    for name, scenario in result.scenarios.items():
        reference = exact.scenarios[name]
        span = float(reference.tmrt_mean_c.max() - reference.tmrt_mean_c.min())
        assert np.abs(scenario.tmrt_mean_c - reference.tmrt_mean_c).mean() <= 0.005 * span, name
        assert (scenario.tmrt_mean_c != reference.tmrt_mean_c).any()     # the methods did differ
        assert abs(scenario.utci_mean_c.mean() - reference.utci_mean_c.mean()) < 0.05
    with pytest.raises(ValueError, match="unknown shade method"):
        next(thermal_scenarios(dsm, outer, inner, [WINTER_MORNING], 2026, weather, canopy_top=canopy,
                               sky_view=result.sky_view, method="raytrace"))


def test_a_bare_deciduous_crown_warms_more_than_an_evergreen_one_in_winter(weather):
    """The row of trees of :func:`_tile`, its east half evergreen: in December the bare
    deciduous crowns (transmissivity 0.5) let a person beneath them warm in the sun, the
    evergreen ones (0.03) do not; in August both are in leaf and alike."""
    inner, outer, dsm, canopy = _tile()
    evergreen = np.full(outer.shape, np.nan)
    evergreen[150:156, 140:200] = canopy[150:156, 140:200]
    winter_noon = Scenario(Season("winter_solstice", 12, 21), TimeSlot("noon", "11:30", "12:30"))
    summer_noon = Scenario(Season("heat_day", 8, 5), TimeSlot("noon", "11:30", "12:30"))
    result = thermal_tile(dsm, outer, inner, [winter_noon, summer_noon], 2026, weather, canopy_top=canopy,
                          evergreen_top=evergreen, step_minutes=20)
    under_deciduous, under_evergreen = (92, 55), (92, 115)    # tile (row, col), under the crowns
    winter = result.scenarios[winter_noon.name].tmrt_mean_c
    summer = result.scenarios[summer_noon.name].tmrt_mean_c
    assert winter[under_deciduous] > winter[under_evergreen] + 5.0
    assert abs(summer[under_deciduous] - summer[under_evergreen]) < 0.5
