"""Shade by horizon angles: the hull kernel, analytic boxes, trees, and agreement with the sweep."""

from __future__ import annotations

import numpy as np
import pytest

from citygml import open_dataset
from pipeline.geo.meshes import read_meshes
from pipeline.geo.tiling import tile_grid
from pipeline.ingest import ingest_file
from pipeline.shade.horizon import HorizonCaster, _line_horizon
from pipeline.shade.schedule import tile_schedule
from pipeline.shade.shadow import (
    CANOPY_SHADE,
    EVERGREEN_SHADE,
    SUNLIT,
    SURFACE_SHADE,
    ShadeCaster,
    inner_window,
)
from pipeline.shade.sun import default_scenarios, grid_centre_lonlat, meridian_convergence_deg
from pipeline.surface.rasterize import rasterize_triangles_max


def brute_force_horizon(values, heights, n_query, k_max):
    out = np.full(n_query, -np.inf)
    for i in range(n_query):
        for j in range(i + 1, min(i + k_max, values.size - 1) + 1):
            if not np.isnan(values[j]):
                out[i] = max(out[i], (values[j] - heights[i]) / (j - i))
    return out


@pytest.mark.parametrize("own_surface", [True, False])
def test_line_horizon_is_the_steepest_rise_within_reach(own_surface):
    rng = np.random.default_rng(3)
    for _ in range(300):
        n, k_max = int(rng.integers(1, 90)), int(rng.integers(1, 35))
        # rounded heights make collinear points and equal slopes (hull ties)
        values = np.round(rng.normal(0, 3, n)) + (rng.random(n) < 0.2) * rng.integers(5, 30, n)
        heights = values
        if not own_surface:  # canopy: sparse blocking points, another layer's heights
            heights = np.round(rng.normal(0, 3, n))
            values = np.where(rng.random(n) < 0.6, np.nan, values + 5)
        n_query = int(rng.integers(1, n + 1))
        out = np.full(n, 99.0)
        buffers = (
            np.empty(k_max + 2, np.int64),
            np.empty(k_max + 2, np.int64),
            np.empty((k_max + 2, 4), np.int64),
            np.empty(k_max + 2),
            np.empty((3, k_max + 2)),
        )
        _line_horizon(values, heights, own_surface, n_query, k_max, out, *buffers)
        np.testing.assert_allclose(
            out[:n_query], brute_force_horizon(values, heights, n_query, k_max), rtol=1e-12
        )


def test_canopy_passes_its_transmissivity():
    dsm = np.zeros((60, 60))
    canopy = np.full(dsm.shape, np.nan)
    canopy[25:35, 25:35] = 8.0
    caster = HorizonCaster(dsm, 1.0, canopy_top=canopy)
    codes = caster.codes(180.7, 50.0)
    assert codes[30, 30] == CANOPY_SHADE  # under the crown
    assert codes[20, 30] == CANOPY_SHADE  # crown shadow to the north
    assert codes[45, 30] == SUNLIT  # south of the tree
    # two positions of 1 h: sun hours under the crown are tau, shade hours 1 - tau
    acc = np.zeros((2, *dsm.shape))
    caster.accumulate(
        np.array([150.0, 181.0]),
        np.array([50.0, 70.0]),
        np.array([0.35, 0.35]),
        start=np.array([0, 2, 4]),
        target=np.array([0, 1, 0, 1]),
        weight_hours=np.ones(4),
        is_sun=np.array([True, False, True, False]),
        acc=acc,
    )
    assert acc[0, 30, 30] == pytest.approx(0.7) and acc[1, 30, 30] == pytest.approx(1.3)
    assert acc[0, 50, 50] == 2.0 and acc[1, 50, 50] == 0.0
    # a building's shadow over the crown's leaves no sun at all
    dsm[40:42, 20:40] = 30.0
    assert HorizonCaster(dsm, 1.0, canopy_top=canopy).codes(180.7, 50.0)[30, 30] == SURFACE_SHADE


def _numpy_codes(caster, sun_azimuth_grid_deg, sun_altitude_deg):
    """The shade codes as whole-raster numpy selects (HorizonCaster.codes until 2026-12-06):
    canopy shade, then evergreen shade over it, then surface shade over both."""
    index, w = caster.bracket(sun_azimuth_grid_deg)
    s0, k0, e0 = caster.sector(index)
    s1, k1, e1 = caster.sector(index + 1) if w > 0 else (s0, k0, e0)
    t = np.tan(np.radians(sun_altitude_deg))
    codes = np.full(caster.shape, SUNLIT, dtype=np.uint8)
    if caster.canopy_top is not None:
        codes[caster.crown | (t < k0 + w * (k1 - k0))] = CANOPY_SHADE
    if caster.evergreen_top is not None:
        codes[caster.evergreen_crown | (t < e0 + w * (e1 - e0))] = EVERGREEN_SHADE
    codes[t < s0 + w * (s1 - s0)] = SURFACE_SHADE
    return codes


@pytest.mark.parametrize("trees", ["none", "deciduous", "both"])
def test_compiled_codes_equal_the_numpy_selects(trees):
    """Random buildings and crowns (evergreen ones among them), sun positions all round
    and low to high: the compiled codes are the numpy rule's, cell for cell, and every code
    the trees allow occurs."""
    rng = np.random.default_rng(11)
    dsm = np.zeros((140, 150))
    for _ in range(25):
        r, c = rng.integers(0, 130, 2)
        dsm[r : r + rng.integers(3, 12), c : c + rng.integers(3, 12)] = rng.uniform(5.0, 30.0)
    canopy = evergreen = None
    if trees != "none":
        canopy = np.full(dsm.shape, np.nan)
        for _ in range(30):
            r, c = rng.integers(0, 135, 2)
            canopy[r : r + 5, c : c + 5] = dsm[r : r + 5, c : c + 5] + rng.uniform(4.0, 12.0)
    if trees == "both":
        evergreen = np.where(np.arange(dsm.shape[1]) < 75, np.nan, canopy)
    caster = HorizonCaster(
        dsm, 1.0, canopy_top=canopy, evergreen_top=evergreen, max_distance_m=40.0, window=(10, 130, 10, 140)
    )
    seen = set()
    for azimuth, altitude in [
        (0.0, 30.0),
        (37.3, 12.0),
        (90.0, 5.0),
        (181.1, 62.0),
        (244.9, 25.0),
        (359.5, 2.0),
        (120.0, -1.0),
    ]:
        codes = caster.codes(azimuth, altitude)
        expected = (
            _numpy_codes(caster, azimuth, altitude)
            if altitude > 0
            else np.full(caster.shape, SURFACE_SHADE, np.uint8)
        )
        np.testing.assert_array_equal(codes, expected)
        seen |= set(np.unique(codes).tolist())
    assert (
        seen
        == {
            "none": {SUNLIT, SURFACE_SHADE},
            "deciduous": {SUNLIT, SURFACE_SHADE, CANOPY_SHADE},
            "both": {SUNLIT, SURFACE_SHADE, CANOPY_SHADE, EVERGREEN_SHADE},
        }[trees]
    )


def test_night_positions_add_shade_only():
    caster = HorizonCaster(np.zeros((5, 5)), 1.0)
    acc = np.zeros((2, 5, 5))
    caster.accumulate(
        np.array([80.0]),
        np.array([-3.0]),
        np.array([0.2]),
        np.array([0, 2]),
        np.array([0, 1]),
        np.array([0.5, 0.5]),
        np.array([False, True]),
        acc,
    )
    assert (acc[0] == 0.5).all() and (acc[1] == 0.0).all()
    assert (caster.codes(80.0, -3.0) == SURFACE_SHADE).all()


def test_sector_must_divide_the_circle():
    with pytest.raises(ValueError, match="divide 360"):
        HorizonCaster(np.zeros((3, 3)), 1.0, sector_deg=7.0)


@pytest.fixture(scope="module")
def sample_tile(project_root, tmp_path_factory):
    """Tile 53396489 of the sample district as the surface stage grids it (1 m, 200 m halo).

    Buildings are their LOD1 solids on flat ground (trees are tested above).
    """
    folder = tmp_path_factory.mktemp("ingest")
    triangles = []
    for source in open_dataset(project_root / "sample_data/omiya", types=["bldg"]):
        result = ingest_file(source, folder, "EPSG:6677")
        triangles += [row.vertices[row.triangles] for row in read_meshes(result.meshes, lods={1})]
    triangles = np.concatenate(triangles)
    ground = float(np.percentile(triangles[..., 2], 1))
    inner = tile_grid("53396489", "EPSG:6677", 1.0)
    grid = inner.buffered(200.0)
    heights, _ = rasterize_triangles_max(triangles, grid)
    return np.where(np.isnan(heights), ground, np.maximum(heights, ground)), grid, inner


def test_horizon_agrees_with_the_sweep_on_the_sample_tile(sample_tile):
    dsm, grid, inner = sample_tile
    window = inner_window(grid, inner)
    lon, lat = grid_centre_lonlat(inner)
    schedule = tile_schedule(default_scenarios(), 2026, lat, lon)
    azimuths = schedule.grid_azimuth_deg(meridian_convergence_deg(grid.crs, lon, lat))
    altitudes = schedule.sun_altitude_deg
    up = np.flatnonzero(altitudes > 0)
    chosen = up[np.linspace(0, up.size - 1, 12).astype(int)]  # every season, sunrise to sunset
    sweep = ShadeCaster(dsm, 1.0, max_distance_m=200, window=window)
    horizon = HorizonCaster(dsm, 1.0, max_distance_m=200, window=window)
    agreement, repeatability = [], []
    for p in chosen:
        exact = sweep.codes(azimuths[p], altitudes[p])
        agreement.append(np.mean(horizon.codes(azimuths[p], altitudes[p]) == exact))
        # the reference against itself 0.05 degrees (12 s of sun) away: its own lattice noise
        repeatability.append(np.mean(sweep.codes(azimuths[p] + 0.05, altitudes[p]) == exact))
    agreement, repeatability = np.array(agreement), np.array(repeatability)
    assert np.mean(exact != SUNLIT) > 0.01  # the tile has shadows to get wrong
    assert agreement.mean() >= 0.995, agreement
    # the sweep's own lattice changes 0.1-0.5 % of the cells for a 0.05 degree turn; above
    # 5 degrees of sun (shorter shadows) the horizon method stays within that noise
    high = altitudes[chosen] >= 5
    assert agreement[high].mean() >= repeatability[high].mean() - 0.001, (agreement, repeatability)
