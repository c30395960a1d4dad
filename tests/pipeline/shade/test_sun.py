"""Sun positions against published geometry, scenario sampling, true solar time, grid north."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pvlib
import pytest
from pyproj import Transformer

from pipeline.shade.sun import (
    DEFAULT_TIME_SLOTS,
    TimeSlot,
    daylight_sun_positions,
    default_scenarios,
    meridian_convergence_deg,
    scenario_sun_positions,
    slot_sun_positions,
    solar_position,
    true_solar_timestamps,
    true_to_grid_azimuth,
)

TOKYO = (35.6895, 139.6917)
OBLIQUITY = 23.44


@pytest.mark.parametrize(
    "date, declination", [(dt.date(2025, 6, 21), OBLIQUITY), (dt.date(2025, 12, 21), -OBLIQUITY)]
)
def test_solar_noon_altitude_and_azimuth_in_tokyo(date, declination):
    lat, lon = TOKYO
    noon = true_solar_timestamps(date, lon, [12.0], latitude=lat)
    altitude, azimuth = solar_position(noon, lat, lon, refraction=False)
    assert altitude[0] == pytest.approx(90.0 - lat + declination, abs=0.1)
    assert azimuth[0] == pytest.approx(180.0, abs=0.5)


def test_true_solar_noon_is_the_spa_transit():
    lat, lon = TOKYO
    for date in (dt.date(2025, 2, 11), dt.date(2025, 11, 3)):  # equation of time near its extremes
        noon = true_solar_timestamps(date, lon, [12.0], latitude=lat)[0]
        transit = pvlib.solarposition.sun_rise_set_transit_spa(pd.DatetimeIndex([noon]), lat, lon)[
            "transit"
        ].iloc[0]
        assert abs((noon - transit).total_seconds()) < 5
        assert noon.tz is not None


def test_slot_samples_mid_points_with_step_weights():
    lat, lon = TOKYO
    positions = slot_sun_positions(dt.date(2025, 8, 5), DEFAULT_TIME_SLOTS[0], lat, lon, step_minutes=10)
    assert len(positions) == 18
    assert positions.total_hours == pytest.approx(3.0)
    assert positions.timestamps[0] == pd.Timestamp("2025-08-05 08:05", tz="Asia/Tokyo")
    # morning sun is in the east and rising
    assert (positions.sun_azimuth_deg < 180).all() and (np.diff(positions.sun_altitude_deg) > 0).all()


def test_partial_last_step_keeps_its_true_weight():
    positions = slot_sun_positions(
        dt.date(2025, 3, 20), TimeSlot("x", "08:00", "08:25"), *TOKYO, step_minutes=10
    )
    np.testing.assert_allclose(positions.weight_hours * 60, [10, 10, 5])
    assert positions.timestamps[-1] == pd.Timestamp("2025-03-20 08:22:30", tz="Asia/Tokyo")


def test_daylight_sampling_spans_sunrise_to_sunset():
    positions = daylight_sun_positions(dt.date(2025, 6, 21), *TOKYO, step_minutes=10)
    # Tokyo's longest day lasts 14 h 35 min (NAOJ almanac: 4:25 to 19:00)
    assert positions.total_hours == pytest.approx(14 + 35 / 60, abs=3 / 60)
    assert positions.sun_altitude_deg.min() > -1.0
    assert positions.weight_hours.max() == pytest.approx(10 / 60)


def test_scenarios_cross_seasons_and_slots():
    scenarios = default_scenarios()
    assert len(scenarios) == 12
    positions = scenario_sun_positions(scenarios[:2], 2025, *TOKYO)
    assert list(positions) == ["summer_solstice_morning", "summer_solstice_midday"]


@pytest.mark.parametrize("lon", [138.5, 139.8333, 141.0])
def test_grid_azimuth_follows_projected_true_north(lon):
    lat, crs = 35.7, "EPSG:6677"  # zone IX, central meridian 139 deg 50 min
    to_grid = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x0, y0 = to_grid.transform(lon, lat)
    x1, y1 = to_grid.transform(lon, lat + 0.01)
    true_north_on_grid = math.degrees(math.atan2(x1 - x0, y1 - y0)) % 360
    convergence = meridian_convergence_deg(crs, lon, lat)
    assert float(true_to_grid_azimuth(0.0, convergence)) == pytest.approx(true_north_on_grid, abs=1e-3)
    assert (convergence > 0) == (lon > 139.8334)
