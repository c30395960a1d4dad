"""The compiled Tmrt pass equals the numpy scheme it stands in for (pipeline.thermal.tmrt)."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.thermal.tmrt import SkyGeometry, TmrtParameters, mean_radiant_temperature
from pipeline.thermal.tmrt_compiled import TOLERANCE_K, mean_radiant_temperature_compiled


def _sky_and_share(seed: int = 3, shape=(300, 400), crowns: bool = False):
    """Random sky view factors with open cells (SVF 1: no walls) and closed ones (SVF 0),
    and sun shares of every kind (sunlit, crown shade at 0.03, 0.2 and 0.6, building shade).
    With ``crowns``, the SVF of buildings alone is larger than the SVF seen through the
    crowns on two thirds of the cells (crowns hide part of the sky, up to all of it), and
    equal elsewhere (no crown)."""
    rng = np.random.default_rng(seed)
    svf = rng.uniform(0.0, 1.0, shape).astype(np.float32)
    svf[:20] = 1.0
    svf[20:30] = 0.0
    share = rng.choice(np.array([0.0, 0.03, 0.2, 0.6, 1.0], np.float32), shape)
    if not crowns:
        return SkyGeometry.from_svf(svf), share
    surface = np.where(rng.uniform(size=shape) < 2 / 3, svf + rng.uniform(0.0, 1.0, shape) * (1.0 - svf), svf)
    surface[40:50] = 1.0  # open to the sky but for the crowns
    svf[40:45] = 0.0  # ... which hide all of it
    return SkyGeometry.from_svf(svf, surface.astype(np.float32)), share


@pytest.mark.parametrize("altitude", [-4.0, 0.0, 0.3, 8.0, 35.0, 62.0, 78.5])
@pytest.mark.parametrize(
    "parameters",
    [
        TmrtParameters(),
        TmrtParameters(
            ground_albedo=0.3,
            wall_albedo=0.12,
            ground_emissivity=0.9,
            wall_emissivity=0.93,
            f_cylinder=0.3,
            f_side=0.2,
            f_up=0.1,
            absorptivity_shortwave=0.65,
        ),
    ],
)
@pytest.mark.parametrize("crowns", [False, True])
def test_equals_the_numpy_scheme(altitude, parameters, crowns):
    sky, share = _sky_and_share(crowns=crowns)
    assert (sky.vegetation is not None) == crowns
    step = dict(
        sun_share=share,
        sun_altitude_deg=altitude,
        dni_wm2=820.0,
        dhi_wm2=115.0,
        air_temperature_c=33.5,
        relative_humidity_pct=58.0,
        ground_heating_k=15.2,
        wall_heating_k=11.7,
        parameters=parameters,
    )
    reference = mean_radiant_temperature(svf=sky, **step)
    compiled = mean_radiant_temperature_compiled(svf=sky, **step)
    assert compiled.dtype == np.float32 and compiled.shape == reference.shape
    difference = np.abs(compiled.astype(np.float64) - reference)
    assert difference.max() <= TOLERANCE_K
    # the same float32 operations in the same order: all but a few cells bit for bit
    assert (compiled == reference).mean() > 0.995
    assert np.ptp(reference) > 5.0  # cells that differ in sun, sky and walls


def test_winter_night_and_a_shape_mismatch():
    sky, share = _sky_and_share(seed=5, shape=(50, 60))
    step = dict(
        sun_altitude_deg=-20.0,
        dni_wm2=0.0,
        dhi_wm2=0.0,
        air_temperature_c=-2.0,
        relative_humidity_pct=80.0,
        ground_heating_k=0.0,
        wall_heating_k=0.0,
    )
    np.testing.assert_allclose(
        mean_radiant_temperature_compiled(svf=sky, sun_share=share, **step),
        mean_radiant_temperature(svf=sky, sun_share=share, **step),
        atol=TOLERANCE_K,
    )
    with pytest.raises(ValueError, match="differs from svf"):
        mean_radiant_temperature_compiled(svf=sky, sun_share=share[:10], **step)


def test_crown_longwave_is_ported():
    """The crowns' long-wave (at air temperature) moves Tmrt, and the kernel follows it:
    on a sunlit heat-day afternoon with warm walls, crowns hiding the sky in place of walls
    cool a person (SOLWEIG's Lveg), by the same amount in both schemes."""
    sky, share = _sky_and_share(seed=7, shape=(80, 90), crowns=True)
    without = SkyGeometry.from_svf(sky.svf)
    step = dict(
        sun_share=share,
        sun_altitude_deg=55.0,
        dni_wm2=800.0,
        dhi_wm2=120.0,
        air_temperature_c=34.0,
        relative_humidity_pct=55.0,
        ground_heating_k=16.0,
        wall_heating_k=12.0,
    )
    hidden = sky.vegetation > 0.2
    change_numpy = (
        mean_radiant_temperature(svf=sky, **step) - mean_radiant_temperature(svf=without, **step)
    )[hidden]
    change_compiled = (
        mean_radiant_temperature_compiled(svf=sky, **step)
        - mean_radiant_temperature_compiled(svf=without, **step)
    )[hidden]
    # never warmer (walls in their own shade are at air temperature too), cooler on average
    assert change_numpy.max() <= TOLERANCE_K and change_numpy.mean() < -0.3
    np.testing.assert_allclose(change_compiled, change_numpy, atol=2 * TOLERANCE_K)
