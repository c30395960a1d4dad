"""Pedestrian wind per cell: the log law on open ground, the canyon's exponential attenuation."""

from __future__ import annotations

import numpy as np
import pytest
from pythermalcomfort.environment import scale_wind_speed_log

from pipeline.thermal.wind import (
    MAX_ASPECT_RATIO,
    canyon_aspect_ratio,
    pedestrian_wind_factor,
    utci_wind_factor,
    wake_factor,
)


def _log_law(z2, z0):
    return float(scale_wind_speed_log(v_z1=1.0, z2=z2, z1=10.0, z0=z0, round_output=False).v_z2)


def test_open_ground_is_the_log_law_alone():
    """SVF 1: 10 m -> 1.1 m over the station's open site (z0 0.03 m), back to 10 m by UTCI's
    own law (z0 0.01 m), both as pythermalcomfort's log-law scaling computes them."""
    expected = _log_law(1.1, 0.03) / _log_law(1.1, 0.01)
    assert pedestrian_wind_factor(1.0) == pytest.approx(_log_law(1.1, 0.03))
    assert utci_wind_factor(np.array([1.0]))[0] == pytest.approx(expected, rel=1e-6)
    assert expected == pytest.approx(0.911, abs=0.001)


def test_aspect_ratio_of_the_canyon_centre_from_its_sky_view_factor():
    ratios = np.array([0.0, 0.5, 1.0, 2.0])
    svf = np.cos(np.arctan(2 * ratios))  # SVF of the centre of an infinite canyon
    np.testing.assert_allclose(canyon_aspect_ratio(svf), ratios, atol=1e-12)
    assert canyon_aspect_ratio(0.0) == MAX_ASPECT_RATIO and np.isnan(canyon_aspect_ratio(np.nan))


def test_deeper_canyon_lower_wind_as_the_town_energy_balance():
    svf = np.cos(np.arctan(2 * np.array([0.0, 0.5, 0.75, 1.0, 2.0])))  # H/W 0, 0.5, 0.75, 1, 2
    factor = utci_wind_factor(svf)
    # TEB: exp(-H/4W), times 1 up to H/W 0.5 (isolated flow), 2/pi from 1 (skimming flow)
    wake = np.array([1.0, 1.0 + (2 / np.pi - 1) * 0.5, 2 / np.pi, 2 / np.pi])
    np.testing.assert_allclose(
        factor[1:] / factor[0], wake * np.exp(-np.array([0.5, 0.75, 1.0, 2.0]) / 4), rtol=1e-6
    )
    assert wake_factor(np.array([0.2, 0.5, 1.0, 3.0])) == pytest.approx([1.0, 1.0, 2 / np.pi, 2 / np.pi])
    fine = utci_wind_factor(np.linspace(1.0, 0.0, 201))
    assert (np.diff(fine) <= 0).all() and (np.diff(fine[:150]) < 0).all()  # falls as the sky closes
    assert (fine > 0).all() and fine.max() == pytest.approx(0.911, abs=0.001)  # never above open ground
    assert fine.dtype == np.float32
