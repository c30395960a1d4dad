"""Mean radiant temperature: the literature's sun-versus-shade difference and the scheme's limits."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from pipeline.shade.sun import TimeSlot, slot_sun_positions
from pipeline.thermal.radiation import clear_sky_irradiance
from pipeline.thermal.tmrt import (
    DayHeating,
    SkyGeometry,
    TmrtParameters,
    mean_radiant_temperature,
    sky_emissivity,
)
from pipeline.thermal.weather import read_weather

OMIYA = dict(latitude=35.9063, longitude=139.6237)


def _noon(date: dt.date, normals_path):
    """Sun, clear sky, normals weather and surface heating at 12:00-12:10 at Omiya."""
    positions = slot_sun_positions(
        date, TimeSlot("noon", "12:00", "12:10"), OMIYA["latitude"], OMIYA["longitude"], step_minutes=10
    )
    sky = clear_sky_irradiance(positions, OMIYA["latitude"], OMIYA["longitude"])
    weather = read_weather(normals_path).profile(date, **OMIYA).at(positions.timestamps)
    moment = positions.timestamps[0].tz_convert("Asia/Tokyo")
    altitude = float(positions.sun_altitude_deg[0])
    ground, wall = DayHeating.for_date(date, **OMIYA).ground_and_wall(moment, altitude)
    return dict(
        sun_altitude_deg=altitude,
        dni_wm2=float(sky.dni_wm2[0]),
        dhi_wm2=float(sky.dhi_wm2[0]),
        air_temperature_c=float(weather.air_temperature_c[0]),
        relative_humidity_pct=float(weather.relative_humidity_pct[0]),
        ground_heating_k=ground,
        wall_heating_k=wall,
    )


@pytest.fixture(scope="module")
def normals_path(project_root):
    return project_root / "sample_data" / "weather" / "kumagaya_normals_1991_2020.csv"


def test_summer_noon_sun_versus_shade_is_the_japanese_literature_order(normals_path):
    """Katayama, Tanimoto & Hayashi (Kyushu University, KAKEN report 07455232, 1995) computed
    the MRT of August sidewalks in a street (a globe of absorptivity 0.6, emissivity 0.95):
    30-35 °C under street trees against more than 55 °C without them; the street's mean MRT
    differs by up to 20 °C. Field measurements of building and tree shade elsewhere in East
    Asia report a mean Tmrt reduction of 28-29 K (Adv. Meteorol. 2020, 8843676). So in full
    summer-noon sun Tmrt must exceed 55 °C and shade must take 15-30 K off it.
    """
    noon = _noon(dt.date(2026, 8, 5), normals_path)
    cells = dict(
        open_sun=(1.0, 1.0), canyon_sun=(0.5, 1.0), building_shade=(0.5, 0.0), dense_tree_shade=(0.3, 0.0)
    )
    svf = np.array([v[0] for v in cells.values()])
    share = np.array([v[1] for v in cells.values()])
    tmrt = dict(zip(cells, mean_radiant_temperature(svf=svf, sun_share=share, **noon)))
    assert tmrt["open_sun"] > 55.0
    for shade in ("building_shade", "dense_tree_shade"):
        assert 15.0 <= tmrt["open_sun"] - tmrt[shade] <= 30.0
        assert noon["air_temperature_c"] < tmrt[shade] < noon["air_temperature_c"] + 15


def test_winter_noon_sun_is_warm_and_shade_is_near_air_temperature(normals_path):
    noon = _noon(dt.date(2026, 12, 21), normals_path)
    sun, shade = mean_radiant_temperature(svf=np.array([0.6, 0.6]), sun_share=np.array([1.0, 0.0]), **noon)
    assert sun - shade > 20.0  # the low winter sun strikes a standing person broadside
    assert abs(shade - noon["air_temperature_c"]) < 8.0


def test_night_ignores_sun_share_and_more_sun_is_warmer(normals_path):
    noon = _noon(dt.date(2026, 8, 5), normals_path)
    shares = np.linspace(0, 1, 6)
    tmrt = mean_radiant_temperature(svf=np.full(6, 0.7), sun_share=shares, **noon)
    assert np.all(np.diff(tmrt) > 0)
    night = dict(noon, sun_altitude_deg=-10.0, ground_heating_k=0.0, wall_heating_k=0.0)
    dark = mean_radiant_temperature(svf=np.full(6, 0.7), sun_share=shares, **night)
    np.testing.assert_array_equal(dark, dark[0])
    assert dark[0] < night["air_temperature_c"]  # the clear night sky is cold


def test_all_walls_at_air_temperature_and_no_sun_gives_air_temperature():
    """Enclosed (SVF 0) by black-ish walls at Ta with no sun: Tmrt is Ta up to the walls'
    and ground's reflection of a colder sky (emissivities 0.90/0.95)."""
    ideal = TmrtParameters(wall_emissivity=1.0, ground_emissivity=1.0)
    tmrt = mean_radiant_temperature(
        svf=np.zeros(1),
        sun_share=np.zeros(1),
        sun_altitude_deg=-5.0,
        dni_wm2=0.0,
        dhi_wm2=0.0,
        air_temperature_c=20.0,
        relative_humidity_pct=50.0,
        ground_heating_k=0.0,
        wall_heating_k=0.0,
        parameters=ideal,
    )
    assert tmrt[0] == pytest.approx(20.0, abs=1e-3)


def test_crowns_radiate_at_air_temperature_not_as_sunlit_walls(normals_path):
    """Under a crown (sky hidden by foliage, not by walls) at summer noon: the hidden sky
    radiates as foliage at air temperature (SOLWEIG's Lveg), cooler than the same sky hidden
    by walls that the sun heats; with no crown at all nothing changes."""
    forcing = _noon(dt.date(2025, 8, 5), normals_path)
    shade = np.zeros(1, np.float32)
    svf = np.array([0.1], np.float32)
    walls = mean_radiant_temperature(svf=SkyGeometry.from_svf(svf), sun_share=shade, **forcing)
    crown = mean_radiant_temperature(
        svf=SkyGeometry.from_svf(svf, np.array([1.0])), sun_share=shade, **forcing
    )
    assert forcing["wall_heating_k"] > 5.0
    assert crown[0] < walls[0] - 1.0
    no_trees = mean_radiant_temperature(svf=SkyGeometry.from_svf(svf, svf), sun_share=shade, **forcing)
    assert no_trees[0] == pytest.approx(walls[0], abs=1e-4)
    # vegetation at air temperature, no sun, closed by crowns: Tmrt = Ta (ideal emitters)
    ideal = TmrtParameters(wall_emissivity=1.0, ground_emissivity=1.0)
    night = mean_radiant_temperature(
        svf=SkyGeometry.from_svf(np.zeros(1), np.ones(1)),
        sun_share=shade,
        sun_altitude_deg=-5.0,
        dni_wm2=0.0,
        dhi_wm2=0.0,
        air_temperature_c=20.0,
        relative_humidity_pct=50.0,
        ground_heating_k=0.0,
        wall_heating_k=3.0,
        parameters=ideal,
    )
    assert night[0] == pytest.approx(20.0, abs=1e-3)


def test_ground_albedo_is_solweigs_effective_value():
    assert TmrtParameters().ground_albedo == 0.15 and TmrtParameters().wall_albedo == 0.20


def test_view_factors_and_wall_shadow_limits():
    geometry = SkyGeometry.from_svf(np.array([1.0, 0.5, 0.0]))
    np.testing.assert_allclose(
        geometry.f_sky, [0.5, 0.5 - math.pi / 4 / math.pi - 1 / (2 * math.pi), 0.0], atol=1e-6
    )
    np.testing.assert_allclose(geometry.f_sky + geometry.f_wall, 0.5, atol=1e-7)
    high, low = geometry.wall_shadow_share(80.0), geometry.wall_shadow_share(10.0)
    assert high[2] == pytest.approx(1.0) and low[2] == pytest.approx(1.0)  # a closed shaft: all shade
    assert high[1] < low[1]  # a higher sun lights more wall
    np.testing.assert_array_equal(geometry.wall_shadow_share(-1.0), 1.0)


def test_sky_emissivity_prata():
    assert 0.85 < sky_emissivity(30.0, 70.0) < 0.92  # humid summer air
    assert 0.65 < sky_emissivity(5.0, 50.0) < 0.78  # dry winter air
