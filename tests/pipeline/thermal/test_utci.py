"""UTCI by pythermalcomfort, its documented reference cases, the stress classes, the Tmrt lattice."""

from __future__ import annotations

import numpy as np
import pytest
from pythermalcomfort.models import utci as reference_utci
from pythermalcomfort.models.utci import STRESS_CATEGORIES

from pipeline.thermal.utci import (
    STRESS_CLASSES,
    STRESS_KEYS,
    in_strong_stress,
    stress_class_index,
    utci,
    utci_uniform_air,
)


def test_documented_reference_cases():
    """pythermalcomfort's documented examples: utci(25, 25, 1.0, 50) = 24.6 (no thermal
    stress) and utci([25, 40], 25, 1.0, 50) = [24.6, 40.4]."""
    assert round(float(utci(25, 25, 1.0, 50)), 1) == 24.6
    np.testing.assert_array_equal(np.round(utci([25, 40], 25, 1.0, 50), 1), [24.6, 40.4])
    assert STRESS_CLASSES[stress_class_index(utci(25, 25, 1.0, 50))].label_en == "no thermal stress"


def test_equals_pythermalcomfort_inside_its_limits():
    rng = np.random.default_rng(3)
    ta = rng.uniform(-20, 40, 500)
    tmrt = ta + rng.uniform(-10, 50, 500)
    wind = rng.uniform(0.5, 10, 500)
    rh = rng.uniform(20, 90, 500)
    expected = reference_utci(tdb=ta, tr=tmrt, v=wind, rh=rh, round_output=False).utci
    np.testing.assert_array_equal(utci(ta, tmrt, wind, rh), expected)


def test_calm_and_extreme_radiation_are_clipped_not_lost():
    assert np.isnan(reference_utci(tdb=30, tr=60, v=0.2, rh=50).utci)
    assert utci(30, 60, 0.2, 50) == pytest.approx(float(utci(30, 60, 0.5, 50)))
    assert utci(10, 95, 2.0, 50) == pytest.approx(float(utci(10, 80, 2.0, 50)))


def test_stress_classes_agree_with_pythermalcomfort():
    values = np.concatenate([np.linspace(-50, 60, 2201), [c.upper_c for c in STRESS_CLASSES[:-1]]])
    names = np.array([c.label_en for c in STRESS_CLASSES])[stress_class_index(values)]
    np.testing.assert_array_equal(names, STRESS_CATEGORIES.map(values))  # bounds included alike
    assert len(STRESS_KEYS) == 10 and all(c.label_ja for c in STRESS_CLASSES)
    assert stress_class_index(np.array([np.nan]))[0] == -1


def test_strong_stress_rule():
    np.testing.assert_array_equal(
        in_strong_stress(np.array([-13.0, -12.9, 32.0, 32.1, 20.0])), [True, False, False, True, False]
    )


def test_uniform_air_lattice_matches_direct_evaluation():
    tmrt = np.random.default_rng(5).uniform(20, 75, (300, 200)).astype(np.float32)
    fast = utci_uniform_air(31.0, tmrt, 2.3, 62.0)
    direct = utci(31.0, tmrt, 2.3, 62.0)
    assert fast.dtype == np.float32 and fast.shape == tmrt.shape
    assert np.abs(fast - direct).max() < 1e-3


def test_uniform_air_lattice_with_a_wind_per_cell_matches_direct_evaluation():
    rng = np.random.default_rng(7)
    tmrt = rng.uniform(20, 75, (300, 200)).astype(np.float32)
    wind = rng.uniform(0.2, 4.0, (300, 200)).astype(np.float32)  # below 0.5 m/s: clipped alike
    fast = utci_uniform_air(31.0, tmrt, wind, 62.0)
    direct = utci(31.0, tmrt, wind, 62.0)
    assert fast.dtype == np.float32 and fast.shape == tmrt.shape
    assert np.abs(fast - direct).max() < 0.01
    # one wind for all cells as an array gives the scalar path's answer
    same = utci_uniform_air(31.0, tmrt, np.full(tmrt.shape, 2.3), 62.0)
    assert np.abs(same - utci_uniform_air(31.0, tmrt, 2.3, 62.0)).max() < 1e-3
    tmrt[0, 0] = np.nan
    assert np.isnan(utci_uniform_air(31.0, tmrt, wind, 62.0)[0, 0])
    with pytest.raises(ValueError, match="wind per cell has shape"):
        utci_uniform_air(31.0, tmrt, wind[:10], 62.0)


def test_scaled_wind_is_the_uniform_air_lattice_bit_for_bit():
    """The compiled form the tile pass runs: each cell's wind as the station wind times its
    factor (float32), the same lattice and arithmetic as utci_uniform_air, so the same bytes."""
    from pipeline.thermal.utci import utci_scaled_wind
    from pipeline.thermal.wind import utci_wind_factor

    rng = np.random.default_rng(11)
    tmrt = rng.uniform(-5, 75, (300, 200)).astype(np.float32)  # some beyond Ta + 30 K: clipped
    factor = utci_wind_factor(rng.uniform(0.0, 1.0, (300, 200)))  # some below UTCI's 0.5 m/s
    for station in (0.3, 2.3, 9.0):
        fast = utci_scaled_wind(31.0, tmrt, station, factor, 62.0)
        assert fast.tobytes() == utci_uniform_air(31.0, tmrt, station * factor, 62.0).tobytes()
        assert np.abs(fast - utci(31.0, tmrt, station * factor, 62.0)).max() < 0.01
    tmrt[0, 0] = np.nan
    assert np.isnan(utci_scaled_wind(31.0, tmrt, 2.3, factor, 62.0)[0, 0])
    assert np.isnan(
        utci_scaled_wind(31.0, np.full((2, 2), np.nan, np.float32), 2.3, factor[:2, :2], 62.0)
    ).all()
    with pytest.raises(ValueError, match="wind per cell has shape"):
        utci_scaled_wind(31.0, tmrt, 2.3, factor[:10], 62.0)


def test_a_lattice_without_pythermalcomforts_per_call_checks_gives_the_same_bytes():
    """The tile pass checks each scenario's air once (air_within_limits) and has the wind
    factor's extent: the lattice is then made without pythermalcomfort's per-call checks, on
    knots clipped into its limits as utci() clips them (Tmrt at and beyond Ta + 70 K, wind
    beyond 17 m/s), all NaN when the air is out of range, so every cell gets the same bytes."""
    from pipeline.thermal.utci import air_within_limits, utci_scaled_wind
    from pipeline.thermal.wind import utci_wind_factor

    rng = np.random.default_rng(5)
    tmrt = rng.uniform(-5, 75, (200, 150)).astype(np.float32)
    tmrt[0, :3] = [np.nan, 31.0 + 70.0, 31.0 + 80.0]  # NaN, at and beyond the upper clip
    factor = utci_wind_factor(rng.uniform(0.0, 1.0, (200, 150)))
    extent = (np.nanmin(factor), np.nanmax(factor))
    airs = [(31.0, 62.0), (-20.0, 80.0), (49.0, 95.0), (52.0, 40.0)]  # the last two: vapour, air
    valid = air_within_limits([a for a, _ in airs], [h for _, h in airs])
    assert valid.tolist() == [True, True, False, False]
    for (air, humidity), ok in zip(airs, valid):
        for station in (2.3, 60.0):  # 60 m/s: cells beyond UTCI's 17 m/s
            checked = utci_scaled_wind(air, tmrt, station, factor, humidity)
            fast = utci_scaled_wind(air, tmrt, station, factor, humidity, factor_extent=extent, air_valid=ok)
            assert fast.tobytes() == checked.tobytes()
            assert np.isnan(fast).all() == (not ok)
