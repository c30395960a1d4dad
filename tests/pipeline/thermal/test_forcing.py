"""Each scenario's forcing: the season's weather kind, clear-sky or observed radiation, weather.csv."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.geo.scenarios import DEFAULT_SEASONS, DEFAULT_TIME_SLOTS, Scenario, Season, SeasonWeather
from pipeline.shade.sun import slot_sun_positions
from pipeline.stages.thermal import ThermalSettings
from pipeline.stages.thermal_forcing import forcing_task, run_centre
from pipeline.thermal.forcing import (
    CSV_COLUMNS,
    forcing_source,
    read_forcing_csv,
    scenario_forcing,
    write_forcing_csv,
)
from pipeline.thermal.radiation import CLEAR_SKY_SOURCE
from pipeline.thermal.weather import WeatherError, read_weather

OMIYA = dict(latitude=35.9063, longitude=139.6237)
MIDDAY = DEFAULT_TIME_SLOTS[1]
DATA = Path(__file__).with_name("data")


@pytest.fixture(scope="module")
def normals(project_root):
    return read_weather(project_root / "sample_data" / "weather" / "kumagaya_normals_1991_2020.csv")


def _forcing(weather, season, slot=MIDDAY):
    scenario = Scenario(season, slot)
    positions = slot_sun_positions(season.date(2026), slot, OMIYA["latitude"], OMIYA["longitude"])
    return scenario_forcing(weather, scenario, 2026, positions, **OMIYA), positions


def test_heat_day_is_the_design_heat_day_at_35(normals):
    heat_day = next(s for s in DEFAULT_SEASONS if s.name == "heat_day")
    assert heat_day.weather == SeasonWeather("design_heat_day", max_temperature_c=35.0)
    forcing, positions = _forcing(normals, heat_day)
    assert forcing.day_max_air_temperature_c == 35.0
    # the slot's steps (mid-points of 10-minute steps: 13:55) approach the 14:00 maximum from below
    assert 34.995 < forcing.weather.air_temperature_c.max() < 35.0  # 34.998 °C
    assert forcing.weather.source.startswith("設計猛暑日 / design heat day (max 35.0 °C)")
    assert forcing.irradiance.source == CLEAR_SKY_SOURCE and forcing.irradiance.source.startswith(
        "clear sky (design case)"
    )
    plain, _ = _forcing(normals, Season("august", 8, 5))  # the same date from the file: 32 °C
    assert plain.day_max_air_temperature_c == pytest.approx(32.0, abs=0.05)
    np.testing.assert_allclose(
        forcing.weather.air_temperature_c - plain.weather.air_temperature_c,
        35.0 - plain.day_max_air_temperature_c,
        atol=1e-9,
    )
    np.testing.assert_array_equal(forcing.irradiance.dni_wm2, plain.irradiance.dni_wm2)


def test_kinds_that_need_observations_say_so_with_normals(normals):
    with pytest.raises(
        WeatherError, match="season 'hot': weather observed_hot_days needs hourly observations"
    ):
        _forcing(normals, Season("hot", 8, 5, SeasonWeather("observed_hot_days")))
    with pytest.raises(
        WeatherError, match=r"season 'sunny': radiation: observed needs global radiation \(日射量\)"
    ):
        _forcing(normals, Season("sunny", 8, 5, SeasonWeather(radiation="observed")))


def test_observed_radiation_reaches_the_steps(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_jma_fixture", DATA / "make_jma_fixture.py")
    make_jma = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_jma)

    def radiation(t):  # 2 MJ/m² in the hours around noon (556 W/m²), a little at dawn and dusk
        mid = t.hour - 0.5 if t.hour else 23.5
        return 2.0 if 9 <= mid <= 15 else 0.2 if 4 < mid < 20 else None

    path = tmp_path / "jma.csv"
    path.write_bytes(make_jma.jma_csv_bytes(radiation=radiation))
    forcing, positions = _forcing(
        read_weather(path), Season("observed", 8, 5, SeasonWeather(radiation="observed"))
    )
    sky = forcing.irradiance
    assert "Erbs" in sky.source
    np.testing.assert_allclose(
        sky.ghi_wm2, sky.dni_wm2 * np.sin(np.radians(positions.sun_altitude_deg)) + sky.dhi_wm2
    )
    # at noon the Erbs split of 556 W/m² has a beam and a diffuse part, below the clear sky's 900 W/m² GHI
    assert (sky.dni_wm2 > 100).all() and (sky.dhi_wm2 > 100).all() and (sky.ghi_wm2 < 700).all()


def test_weather_csv_round_trip_sorted_fixed_format_deterministic(tmp_path, normals):
    seasons = [Season("winter_solstice", 12, 21), next(s for s in DEFAULT_SEASONS if s.name == "heat_day")]
    forcings = [_forcing(normals, season, slot)[0] for season in seasons for slot in DEFAULT_TIME_SLOTS]
    first = write_forcing_csv(tmp_path / "a.csv", forcings).read_bytes()
    second = write_forcing_csv(tmp_path / "b.csv", forcings[::-1]).read_bytes()
    assert first == second
    table = pd.read_csv(tmp_path / "a.csv", dtype=str)
    assert tuple(table.columns) == CSV_COLUMNS and len(table) == 6 * 18
    assert list(table["season"]) == sorted(table["season"])  # then by time within a season
    assert list(table["local_time"][:54]) == sorted(table["local_time"][:54])
    assert table["local_time"].iloc[0] == "2026-08-05T08:05:00+09:00"
    assert table["air_temperature_c"].str.fullmatch(r"-?\d+\.\d\d").all()
    recorded = read_forcing_csv(tmp_path / "a.csv")
    assert forcing_source(recorded) is recorded and forcing_source(normals) is not normals
    scenario = Scenario(seasons[1], MIDDAY)
    positions = slot_sun_positions(seasons[1].date(2026), MIDDAY, **OMIYA)
    again = recorded.forcing(scenario, 2026, positions)
    original = next(f for f in forcings if f.scenario == "heat_day_midday")
    np.testing.assert_allclose(
        again.weather.air_temperature_c, original.weather.air_temperature_c, atol=0.005
    )
    np.testing.assert_allclose(again.irradiance.dni_wm2, original.irradiance.dni_wm2, atol=0.05)
    assert again.weather.source == original.weather.source
    # thermal every 30 minutes takes every third recorded 10-minute step (the same instants)
    coarse = slot_sun_positions(seasons[1].date(2026), MIDDAY, **OMIYA, step_minutes=30)
    third = recorded.forcing(scenario, 2026, coarse)
    assert list(third.timestamps) == list(coarse.timestamps) == list(again.timestamps[1::3])
    for name in ("air_temperature_c", "relative_humidity_pct", "wind_speed_ms"):
        np.testing.assert_array_equal(getattr(third.weather, name), getattr(again.weather, name)[1::3])
    for name in ("dni_wm2", "dhi_wm2", "ghi_wm2"):
        np.testing.assert_array_equal(getattr(third.irradiance, name), getattr(again.irradiance, name)[1::3])
    assert third.day_max_air_temperature_c == again.day_max_air_temperature_c
    late = slot_sun_positions(seasons[1].date(2026), MIDDAY, **OMIYA, step_minutes=20)  # 11:10, not recorded
    with pytest.raises(WeatherError, match="the steps of 'heat_day_midday' are not among the recorded ones"):
        recorded.forcing(scenario, 2026, late)


def test_forcing_stage_writes_the_runs_weather_csv(tmp_path, project_root):
    """The sample's run: heat-day forcing peaks at the design maximum, the other seasons at their normals."""
    weather = project_root / "sample_data" / "weather" / "kumagaya_normals_1991_2020.csv"
    settings = ThermalSettings()
    scenarios = [Scenario(season, slot) for season in DEFAULT_SEASONS for slot in DEFAULT_TIME_SLOTS]
    latitude, longitude = run_centre(["53396489", "53396499", "53396580", "53396590"])
    assert (latitude, longitude) == pytest.approx((35.9 + 1 / 120, 139.625))  # 2 x 2 third-level meshes
    run = dict(
        weather_file=str(weather),
        settings=settings,
        year=2026,
        timezone="Asia/Tokyo",
        latitude=latitude,
        longitude=longitude,
    )
    # shade every 10 minutes: the shadow stage's default, as the stage's plan hands it on
    result = forcing_task(
        str(tmp_path / "thermal" / "weather.csv"), scenarios, shade_step_minutes=10.0, **run
    )
    table = pd.read_csv(result.outputs.weather_csv)
    # thermal every 30 minutes (the default) is every third shade step: the file holds the shade's 10
    assert settings.step_minutes == 30.0 and result.details["step_minutes"] == 10.0
    assert result.counts == {"scenarios": 12, "steps": 12 * 18}
    heat = table[table["season"] == "heat_day"]
    assert (heat["day_max_air_temperature_c"] == 35.0).all()
    assert heat["air_temperature_c"].max() >= 35.0  # the 14:05 step, 34.9993 °C, written 35.00
    assert heat["weather_source"].str.startswith("設計猛暑日 / design heat day (max 35.0 °C)").all()
    other = table[table["season"] != "heat_day"]
    assert other["weather_source"].str.contains("normals of").all()
    assert (table["radiation_source"] == CLEAR_SKY_SOURCE).all()
    assert not list(tmp_path.rglob("*.tmp*"))
    # the shadow stage at 30 minutes too: the file still holds every 10 minutes (30 is 3 x 10)
    alone = forcing_task(str(tmp_path / "alone.csv"), scenarios, shade_step_minutes=30.0, **run)
    assert alone.details["step_minutes"] == 10.0
    assert pd.read_csv(alone.outputs.weather_csv).equals(table)
    # thermal every 20 minutes (mid-points 11:10, 11:30, ...: never on a 10-minute step's)
    odd = forcing_task(
        str(tmp_path / "odd.csv"),
        scenarios,
        weather_file=str(weather),
        settings=ThermalSettings(step_minutes=20.0),
        year=2026,
        timezone="Asia/Tokyo",
        latitude=latitude,
        longitude=longitude,
        shade_step_minutes=10.0,
    )
    assert odd.details["step_minutes"] == 20.0 and odd.counts["steps"] == 12 * 9


def test_a_scaled_station_wind_is_scaled_at_every_step_and_named(normals):
    season = next(s for s in DEFAULT_SEASONS if s.name == "heat_day")
    positions = slot_sun_positions(season.date(2026), MIDDAY, **OMIYA)
    scenario = Scenario(season, MIDDAY)
    plain = scenario_forcing(normals, scenario, 2026, positions, **OMIYA)
    windy = scenario_forcing(normals, scenario, 2026, positions, **OMIYA, wind_scale=1.5)
    np.testing.assert_allclose(windy.weather.wind_speed_ms, 1.5 * plain.weather.wind_speed_ms)
    np.testing.assert_array_equal(windy.weather.air_temperature_c, plain.weather.air_temperature_c)
    assert windy.weather.source.endswith("station wind x 1.5 (sensitivity)")
    assert "sensitivity" not in plain.weather.source
