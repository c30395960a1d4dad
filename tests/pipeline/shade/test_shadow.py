"""Shadows: analytic box shadows, the fast sweep against the Ratti reference, trees, tiles."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from pipeline.geo.raster import Grid
from pipeline.shade.shadow import (
    CANOPY_SHADE,
    EVERGREEN_SHADE,
    SUNLIT,
    SURFACE_SHADE,
    CanopyTransmissivity,
    HorizonCaster,
    ShadeCaster,
    accumulate_shade_hours,
    building_shade_summary,
    inner_window,
    light_fraction,
    make_caster,
    ratti_shade_codes,
    search_geometry,
    shade_codes,
    shadow_halo_m,
    tile_shade,
)
from pipeline.shade.sun import (
    DEFAULT_SEASONS,
    DEFAULT_TIME_SLOTS,
    Scenario,
    SunPositions,
    daylight_sun_positions,
    grid_centre_lonlat,
    meridian_convergence_deg,
    slot_sun_positions,
)

HALF = 5  # box half-width, cells (1 m)
HEIGHT = 20.0


def box_dsm(size: int = 241) -> tuple[np.ndarray, int]:
    dsm = np.zeros((size, size))
    centre = size // 2
    dsm[centre - HALF : centre + HALF, centre - HALF : centre + HALF] = HEIGHT
    return dsm, centre


def cell_at(centre: int, distance_m: float, azimuth_deg: float) -> tuple[int, int]:
    """Cell ``distance_m`` from the box centre (the corner shared by its 4 middle cells)."""
    east = distance_m * math.sin(math.radians(azimuth_deg))
    north = distance_m * math.cos(math.radians(azimuth_deg))
    return int(math.floor(centre - north)), int(math.floor(centre + east))


@pytest.mark.parametrize("method", ["sweep", "horizon"])
@pytest.mark.parametrize(
    "azimuth, altitude",
    [
        (180.0, 30.0),
        (135.0, 25.0),
        (240.0, 40.0),
        (90.0, 35.0),
        (10.0, 50.0),
        (200.0, 15.0),
        (241.3, 40.0),
        (10.6, 50.0),
        (117.8, 20.0),
    ],
)
def test_box_shadow_has_length_h_over_tan_alt_away_from_the_sun(azimuth, altitude, method):
    dsm, centre = box_dsm()
    if method == "sweep":
        codes = shade_codes(dsm, 1.0, azimuth, altitude)
    else:  # between sector azimuths too: 241.3 and 10.6 and 117.8 degrees
        codes = HorizonCaster(dsm, 1.0).codes(azimuth, altitude)
    away = azimuth + 180.0
    length = HEIGHT / math.tan(math.radians(altitude))
    d = np.radians(away)
    exit_box = HALF / max(abs(math.sin(d)), abs(math.cos(d)))  # leave the box along the axis
    tip = exit_box + length
    # between two sector lattices the thin wedge at a corner's shadow tip blurs by a cell
    margin = 1.5 if method == "sweep" else 2.5
    assert codes[cell_at(centre, tip - margin, away)] == SURFACE_SHADE
    assert codes[cell_at(centre, tip + margin, away)] == SUNLIT
    # nothing on the sun side, and the roof itself is lit
    assert codes[cell_at(centre, exit_box + 2.0, azimuth)] == SUNLIT
    assert codes[centre, centre] == SUNLIT
    # shaded ground area ~ the swept footprint: length * projected width
    width = 2 * HALF * (abs(math.sin(d)) + abs(math.cos(d)))
    # the digital lines cover a 10 m box's thin shadow less well at some slopes (-13 % at 241.3 deg)
    on_axis = azimuth % 10 == 0
    assert (codes == SURFACE_SHADE).sum() == pytest.approx(length * width, rel=0.08 if on_axis else 0.15)


def random_surface(rng: np.random.Generator, shape=(90, 110)) -> tuple[np.ndarray, np.ndarray]:
    dsm = np.round(rng.normal(0.0, 0.3, shape), 1)  # rounded: equal heights make ties
    for _ in range(25):
        r, c = rng.integers(0, shape[0] - 8), rng.integers(0, shape[1] - 8)
        h, w = rng.integers(2, 12, 2)
        dsm[r : r + h, c : c + w] = np.maximum(dsm[r : r + h, c : c + w], float(rng.integers(3, 40)))
    canopy = np.full(shape, np.nan)
    for _ in range(6):
        r, c = rng.integers(0, shape[0] - 5), rng.integers(0, shape[1] - 5)
        canopy[r : r + 5, c : c + 5] = dsm[r : r + 5, c : c + 5] + float(rng.integers(4, 12))
    return dsm, canopy


@pytest.mark.parametrize("seed", range(4))
def test_fast_sweep_equals_the_ratti_reference(seed):
    rng = np.random.default_rng(seed)
    dsm, canopy = random_surface(rng)
    azimuths = list(rng.uniform(0, 360, 6)) + [0.0, 45.0, 90.0, 135.0, 180.0, 270.0, 315.0]
    for azimuth in azimuths:
        altitude = float(rng.choice([2.0, 8.0, 20.0, 45.0, 75.0, rng.uniform(1, 89)]))
        for canopy_top in (None, canopy):
            geometry = search_geometry(dsm, 1.0, azimuth, altitude, canopy_top=canopy_top, max_distance_m=60)
            expected = ratti_shade_codes(dsm, geometry, canopy_top)
            got = shade_codes(dsm, 1.0, azimuth, altitude, canopy_top=canopy_top, max_distance_m=60)
            assert np.array_equal(got, expected), (seed, azimuth, altitude, canopy_top is None)
            assert (expected == SURFACE_SHADE).any()


def test_window_sweep_equals_the_whole_raster_sweep():
    # the halo is swept only K cells deep: the window's cells must not notice
    rng = np.random.default_rng(7)
    dsm, canopy = random_surface(rng, shape=(120, 140))
    window = (30, 95, 20, 101)
    for azimuth in (0.0, 33.0, 90.0, 161.0, 200.0, 250.0, 300.0):
        whole = shade_codes(dsm, 1.0, azimuth, 12.0, canopy_top=canopy, max_distance_m=25)
        part = shade_codes(dsm, 1.0, azimuth, 12.0, canopy_top=canopy, max_distance_m=25, window=window)
        assert np.array_equal(part, whole[30:95, 20:101]), azimuth


@pytest.mark.parametrize("seed", range(3))
def test_on_a_sector_azimuth_the_horizon_is_the_sweep(seed):
    # on a sector's own azimuth both methods use the same ray lattice: only the order
    # of rounding differs (a division against a subtraction)
    rng = np.random.default_rng(seed)
    dsm, canopy = random_surface(rng)
    horizon = HorizonCaster(dsm, 1.0, canopy_top=canopy, max_distance_m=60, sector_deg=2.0)
    sweep = ShadeCaster(dsm, 1.0, canopy_top=canopy, max_distance_m=60)
    for azimuth in (0.0, 46.0, 90.0, 134.0, 180.0, 226.0, 270.0, 318.0):
        altitude = float(rng.uniform(3, 70))
        expected = sweep.codes(azimuth, altitude)
        assert np.mean(horizon.codes(azimuth, altitude) == expected) >= 0.9999, (azimuth, altitude)
        assert (expected == SURFACE_SHADE).any()


def test_exact_tie_is_decided_as_the_reference_does():
    # due south at 45 deg the sun line rises tan(45 deg) ~ 1 m per cell: a 3 m wall three
    # cells away is a near tie that the sweep must hand back to the reference expression
    dsm = np.zeros((20, 5))
    dsm[10, :] = 3.0
    codes = shade_codes(dsm, 1.0, 180.0, 45.0)
    expected = ratti_shade_codes(dsm, search_geometry(dsm, 1.0, 180.0, 45.0))
    assert np.array_equal(codes, expected)
    assert codes[6, 2] == SUNLIT and codes[8, 2] == SURFACE_SHADE


def test_canopy_passes_exactly_its_transmissivity():
    dsm = np.zeros((60, 60))
    canopy = np.full(dsm.shape, np.nan)
    canopy[25:35, 25:35] = 8.0
    codes = shade_codes(dsm, 1.0, 180.0, 50.0, canopy_top=canopy)
    assert codes[30, 30] == CANOPY_SHADE  # under the crown
    assert codes[20, 30] == CANOPY_SHADE  # crown shadow to the north
    assert codes[45, 30] == SUNLIT  # south of the tree
    light = light_fraction(codes, 0.2)
    assert light[30, 30] == pytest.approx(0.2) and light[45, 30] == 1.0
    # a building shadow over the canopy shadow leaves no sun at all
    dsm[40:42, 20:40] = 30.0
    codes = shade_codes(dsm, 1.0, 180.0, 50.0, canopy_top=canopy)
    assert codes[30, 30] == SURFACE_SHADE
    # over a day, the sun hours under the crown are exactly tau times those of open ground
    dsm[40:42, 20:40] = 0.0
    positions = SunPositions(
        pd.DatetimeIndex(["2025-06-21 10:00", "2025-06-21 12:00"], tz="Asia/Tokyo"),
        np.array([50.0, 70.0]),
        np.array([150.0, 180.0]),
        np.array([0.5, 1.5]),
    )
    shade_h, sun_h = accumulate_shade_hours(
        dsm, 1.0, positions, 0.0, canopy_top=canopy, canopy_transmissivity=0.35
    )
    assert sun_h[30, 30] == pytest.approx(0.35 * 2.0) and sun_h[50, 50] == pytest.approx(2.0)
    assert shade_h[30, 30] == pytest.approx(0.65 * 2.0)


def test_sun_below_horizon_is_shade():
    codes = shade_codes(np.zeros((4, 4)), 1.0, 90.0, -2.0)
    assert (codes == SURFACE_SHADE).all()


def test_transmissivity_follows_leaf_season_and_habit():
    tau = CanopyTransmissivity()
    # SOLWEIG's defaults (UMEP Tree_settings): 0.03 in leaf, 0.5 bare
    assert tau.for_date(dt.date(2025, 8, 5)) == 0.03
    assert tau.for_date(dt.date(2025, 12, 21)) == 0.5
    # an evergreen crown keeps its leaves: leaf-on transmissivity in every month
    assert tau.by_habit(dt.date(2025, 12, 21)) == (0.5, 0.03)
    assert tau.by_habit(dt.date(2025, 8, 5)) == (0.03, 0.03)


def _two_trees():
    """Flat ground, a deciduous crown (west) and an evergreen crown (east), 8 m tops."""
    dsm = np.zeros((60, 80))
    canopy = np.full(dsm.shape, np.nan)
    canopy[25:35, 15:25] = 8.0
    canopy[25:35, 55:65] = 8.0
    evergreen = np.full(dsm.shape, np.nan)
    evergreen[25:35, 55:65] = 8.0
    return dsm, canopy, evergreen


@pytest.mark.parametrize("method", ["sweep", "horizon"])
def test_evergreen_crowns_have_their_own_code_and_tau(method):
    dsm, canopy, evergreen = _two_trees()
    caster = make_caster(
        dsm, 1.0, method=method, canopy_top=canopy, evergreen_top=evergreen, max_distance_m=50.0
    )
    codes = caster.codes(180.0, 50.0)
    assert codes[30, 20] == CANOPY_SHADE and codes[20, 20] == CANOPY_SHADE  # deciduous crown, its shadow
    assert codes[30, 60] == EVERGREEN_SHADE and codes[20, 60] == EVERGREEN_SHADE
    assert codes[45, 20] == SUNLIT and codes[45, 60] == SUNLIT
    # in a leaf-off month the bare deciduous crown passes more sun than the evergreen one
    light = light_fraction(codes, *CanopyTransmissivity().by_habit(dt.date(2025, 12, 21)))
    assert light[30, 20] == pytest.approx(0.5) and light[30, 60] == pytest.approx(0.03)
    assert light[30, 20] > light[30, 60]
    # in leaf both pass the same
    light = light_fraction(codes, *CanopyTransmissivity().by_habit(dt.date(2025, 8, 5)))
    assert light[30, 20] == light[30, 60] == pytest.approx(0.03)


def test_evergreen_codes_equal_the_reference_and_reduce_to_the_old_codes():
    rng = np.random.default_rng(3)
    dsm = rng.uniform(0.0, 0.5, (50, 70))
    dsm[10:14, 30:40] = 12.0
    dsm, canopy, evergreen = dsm, np.full(dsm.shape, np.nan), np.full(dsm.shape, np.nan)
    canopy[30:36, 10:18] = 7.0
    canopy[30:36, 45:53] = 9.0
    evergreen[30:36, 45:53] = 9.0
    for azimuth, altitude in ((180.0, 40.0), (117.0, 25.0), (250.0, 30.0)):
        geometry = search_geometry(dsm, 1.0, azimuth, altitude, canopy_top=canopy)
        fast = shade_codes(dsm, 1.0, azimuth, altitude, canopy_top=canopy, evergreen_top=evergreen)
        assert np.array_equal(fast, ratti_shade_codes(dsm, geometry, canopy, evergreen))
        assert (fast == EVERGREEN_SHADE).any()
        # every crown of the same habit as before: the codes of before, exactly
        old = shade_codes(dsm, 1.0, azimuth, altitude, canopy_top=canopy)
        assert np.array_equal(np.where(fast == EVERGREEN_SHADE, CANOPY_SHADE, fast), old)


def test_evergreen_top_must_be_part_of_the_canopy():
    dsm, canopy, evergreen = _two_trees()
    evergreen[5, 5] = 3.0
    with pytest.raises(ValueError, match="evergreen_top differs from canopy_top"):
        shade_codes(dsm, 1.0, 180.0, 50.0, canopy_top=canopy, evergreen_top=evergreen)


def test_tile_shade_gives_each_habit_its_tau_in_winter():
    dsm, canopy, evergreen = _two_trees()
    grid = Grid(0.0, 80.0, 1.0, 80, 60, "EPSG:6677")
    inner = Grid(10.0, 70.0, 1.0, 60, 40, "EPSG:6677")
    winter = [Scenario(DEFAULT_SEASONS[3], DEFAULT_TIME_SLOTS[1])]  # winter solstice, midday
    options = dict(canopy_top=canopy, step_minutes=30, max_distance_m=10.0, sun_hours=False)
    mixed = tile_shade(dsm, grid, inner, winter, 2025, evergreen_top=evergreen, **options)
    deciduous = tile_shade(dsm, grid, inner, winter, 2025, **options)
    r0, _, c0, _ = inner_window(grid, inner)
    name = winter[0].name
    under_deciduous = mixed.scenarios[name].shade_fraction[30 - r0, 20 - c0]
    under_evergreen = mixed.scenarios[name].shade_fraction[30 - r0, 60 - c0]
    assert under_deciduous == pytest.approx(0.5, abs=1e-6)
    assert under_evergreen == pytest.approx(0.97, abs=1e-6)
    # without the evergreen raster both crowns are deciduous
    assert deciduous.scenarios[name].shade_fraction[30 - r0, 60 - c0] == pytest.approx(0.5, abs=1e-6)


def test_halo_length():
    assert shadow_halo_m(60.0, 30.0) == pytest.approx(60.0 / math.tan(math.radians(30.0)))
    assert shadow_halo_m(200.0, 5.0, cap_m=500.0) == 500.0


def test_tile_shade_sees_a_tower_in_the_halo():
    inner = Grid(-60_000.0, -20_000.0, 2.0, 40, 40, "EPSG:6677")  # near Tokyo, zone IX
    grid = inner.buffered(60.0)
    dsm = np.zeros(grid.shape)
    r0, r1, c0, c1 = inner_window(grid, inner)
    dsm[r1 + 2 : r1 + 8, c0 + 15 : c0 + 25] = 40.0  # just south of the tile, in the halo
    winter_midday = Scenario(DEFAULT_SEASONS[3], DEFAULT_TIME_SLOTS[1])
    summer_midday = Scenario(DEFAULT_SEASONS[0], DEFAULT_TIME_SLOTS[1])
    result = tile_shade(dsm, grid, inner, [winter_midday, summer_midday], 2025, step_minutes=30)
    winter = result.scenarios["winter_solstice_midday"]
    assert winter.shade_fraction.shape == inner.shape
    assert winter.slot_hours == pytest.approx(3.0)
    # the south edge of the tile behind the tower is in winter shade all midday, the far side is not
    assert winter.shade_fraction[-1, 20] == pytest.approx(1.0)
    assert winter.shade_fraction[-1, 2] == 0.0
    summer = result.scenarios["summer_solstice_midday"]
    assert summer.shade_hours.sum() < winter.shade_hours.sum()
    assert set(result.sun_hours) == {"winter_solstice", "summer_solstice"}
    # open ground gets every daylight sample with the sun's centre above the horizon
    lon, lat = grid_centre_lonlat(inner)
    day = daylight_sun_positions(dt.date(2025, 6, 21), lat, lon, step_minutes=30)
    expected = day.weight_hours[day.sun_altitude_deg > 0].sum()
    assert result.sun_hours["summer_solstice"][0, 0] == pytest.approx(expected, abs=1e-5)
    assert expected == pytest.approx(14.5, abs=0.15)


def test_building_summary_means_roof_and_ring():
    index = np.full((10, 10), -1)
    index[4:6, 4:6] = 0
    hours = np.zeros((10, 10))
    hours[4:6, 4:6] = 2.0
    hours[3, 4] = 4.0  # one ring cell at 1 m
    summary = building_shade_summary(hours, index, 1.0, ring_m=1.0)
    row = summary.iloc[0]
    assert row.roof_cells == 4 and row.roof_shade_hours_mean == 2.0
    assert row.ring_cells == 8 and row.ring_shade_hours_mean == pytest.approx(0.5)


def test_tile_shade_methods_agree_and_the_sweep_sums_every_sample():
    inner = Grid(-60_000.0, -20_000.0, 2.0, 40, 40, "EPSG:6677")
    grid = inner.buffered(60.0)
    dsm = np.zeros(grid.shape)
    canopy = np.full(grid.shape, np.nan)
    r0, r1, c0, c1 = inner_window(grid, inner)
    dsm[r1 + 2 : r1 + 8, c0 + 15 : c0 + 25] = 40.0
    dsm[r0 + 5 : r0 + 12, c0 + 5 : c0 + 9] = 15.0
    canopy[r0 + 20 : r0 + 26, c0 + 20 : c0 + 26] = 9.0
    scenarios = [
        Scenario(DEFAULT_SEASONS[3], DEFAULT_TIME_SLOTS[0]),
        Scenario(DEFAULT_SEASONS[0], DEFAULT_TIME_SLOTS[2]),
    ]
    tau = CanopyTransmissivity()
    options = dict(canopy_top=canopy, transmissivity=tau, step_minutes=20, max_distance_m=60.0)
    sweep = tile_shade(dsm, grid, inner, scenarios, 2025, method="sweep", **options)
    horizon = tile_shade(dsm, grid, inner, scenarios, 2025, **options)
    lon, lat = grid_centre_lonlat(inner)
    convergence = meridian_convergence_deg(grid.crs, lon, lat)
    for scenario in scenarios:
        date = scenario.season.date(2025)
        positions = slot_sun_positions(date, scenario.slot, lat, lon, step_minutes=20)
        # the sample-by-sample sum of the exact sweep, as the stage computed it before
        expected, _ = accumulate_shade_hours(
            dsm,
            grid.resolution,
            positions,
            convergence,
            canopy_top=canopy,
            canopy_transmissivity=tau.for_date(date),
            max_distance_m=60.0,
            window=(r0, r1, c0, c1),
        )
        got = sweep.scenarios[scenario.name].shade_hours
        np.testing.assert_allclose(got, expected, atol=1e-5)
        assert (got > 0).any() and (got == 0).any()
        # within one 20-minute sample: on 40 x 40 cells of 2 m, shadow edges are a large share
        close = np.abs(horizon.scenarios[scenario.name].shade_hours - got) <= 20 / 60 + 1e-6
        assert close.mean() >= 0.99
    for season in sweep.sun_hours:  # whole days: sunrise and sunset too, the longest shadows
        assert np.mean(np.abs(horizon.sun_hours[season] - sweep.sun_hours[season]) <= 2 / 3 + 1e-6) >= 0.99
    with pytest.raises(ValueError, match="unknown shade method"):
        tile_shade(dsm, grid, inner, scenarios, 2025, method="exact", **options)
