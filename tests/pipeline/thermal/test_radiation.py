"""Clear-sky irradiance at the shadow stage's sun positions."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pvlib
import pytest

from pipeline.shade.sun import TimeSlot, slot_sun_positions
from pipeline.thermal.radiation import clear_sky_irradiance

OMIYA = (35.9063, 139.6237)
DAY = TimeSlot("day", "04:00", "20:00")


@pytest.mark.parametrize("date", [dt.date(2026, 8, 5), dt.date(2026, 12, 21)])
def test_ineichen_at_the_shadow_stage_sun_positions_equals_pvlib_location(date):
    """Same model and inputs as pvlib's own ``Location.get_clearsky``; the only difference is
    the refraction of the apparent altitude (the shadow stage refracts at sea-level pressure,
    pvlib at the site's), a few hundredths of a W/m²."""
    positions = slot_sun_positions(date, DAY, *OMIYA, step_minutes=30)
    sky = clear_sky_irradiance(positions, *OMIYA, altitude_m=10.0)
    reference = pvlib.location.Location(*OMIYA, "Asia/Tokyo", 10.0).get_clearsky(
        positions.timestamps, model="ineichen"
    )
    np.testing.assert_allclose(sky.ghi_wm2, reference["ghi"].fillna(0).to_numpy(), rtol=1e-3, atol=0.01)
    np.testing.assert_allclose(sky.dni_wm2, reference["dni"].fillna(0).to_numpy(), rtol=1e-3, atol=0.01)
    np.testing.assert_allclose(sky.dhi_wm2, reference["dhi"].fillna(0).to_numpy(), rtol=1e-3, atol=0.01)


def test_night_is_dark_and_noon_is_plausible():
    positions = slot_sun_positions(dt.date(2026, 8, 5), DAY, *OMIYA, step_minutes=30)
    sky = clear_sky_irradiance(positions, *OMIYA)
    down = positions.sun_altitude_deg <= 0
    assert down.any() and (sky.dni_wm2[down] == 0).all() and (sky.ghi_wm2[down] == 0).all()
    noon = np.argmax(positions.sun_altitude_deg)
    assert 700 < sky.dni_wm2[noon] < 1000 and 80 < sky.dhi_wm2[noon] < 250
    np.testing.assert_allclose(
        sky.ghi_wm2, sky.dni_wm2 * np.sin(np.radians(np.maximum(positions.sun_altitude_deg, 0))) + sky.dhi_wm2
    )
