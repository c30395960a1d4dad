"""Sky view factor: flat ground, the analytic street canyon, a brute-force horizon oracle, trees."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipeline.shade.shadow import sweep_geometry
from pipeline.thermal.svf import sky_view_factor


def test_flat_ground_and_roofs_see_the_whole_sky():
    flat = sky_view_factor(np.full((60, 80), 12.5), 1.0)
    assert flat.surface.shape == (60, 80)
    np.testing.assert_array_equal(flat.surface, 1.0)
    assert flat.opaque_trees is None
    block = np.zeros((80, 80))
    block[30:50, 30:50] = 20.0
    svf = sky_view_factor(block, 1.0).surface
    np.testing.assert_array_equal(svf[30:50, 30:50], 1.0)  # every roof cell
    assert svf[29, 40] < 0.7 and 0.99 < svf[0, 0] <= 1.0


def _canyon(height_m: float, width_m: int, length: int = 500):
    """An east-west pair of walls; wall *cell centres* stand ``width_m`` apart (heights are
    samples at cell centres), the street's centre cell halfway between them."""
    n = length
    dsm = np.zeros((n, n))
    centre = n // 2
    half = width_m // 2
    dsm[: centre - half + 1, :] = height_m
    dsm[centre + half :, :] = height_m
    return dsm, centre


@pytest.mark.parametrize("height_m,width_m", [(20.0, 20), (10.0, 20), (30.0, 20), (12.0, 40)])
def test_infinite_canyon_centre_has_the_analytic_svf(height_m, width_m):
    """SVF at the centre of an infinitely long canyon is cos(atan(2H/W)) (Oke 1987).

    Tolerance 0.01, from what the raster can represent: a wall is a cell wide and its
    position along a slanted ray lattice is known to half a cell (0.5 m), and
    d SVF / d W = 4H^2 / (W^2 + 4H^2)^1.5 is at most 0.018 per metre for these canyons;
    the canyon is 500 m long: seen from its middle, directions within 2.3 degrees of
    its axis miss the far walls (< 0.0005 of the view).
    """
    dsm, centre = _canyon(height_m, width_m)
    svf = sky_view_factor(dsm, 1.0, n_azimuths=36, window=(centre, centre + 1, 245, 255)).surface
    expected = math.cos(math.atan(2 * height_m / width_m))
    np.testing.assert_allclose(svf, expected, atol=0.01)


def _brute_force(dsm: np.ndarray, resolution: float, n_azimuths: int) -> np.ndarray:
    """Mean over azimuths of cos^2 of the steepest slope to every cell ahead on the same ray
    line (step by step, no hull): the specification of the hull sweep."""
    total = np.zeros(dsm.shape)
    for azimuth in np.arange(n_azimuths) * 360.0 / n_azimuths:
        g = sweep_geometry(float(azimuth), 45.0, resolution, 0.0)
        a = g.orient(dsm)
        n_rows, width = a.shape
        off = g.line_offsets(width)
        out = np.ones(a.shape)
        for r in range(n_rows):
            for c in range(width):
                m = r - off[c]
                best = 0.0
                for cc in range(c + 1, width):
                    rr = m + off[cc]
                    if not 0 <= rr < n_rows:
                        break
                    best = max(best, (a[rr, cc] - a[r, c]) / ((cc - c) * g.step_m))
                out[r, c] = 1.0 / (1.0 + best * best)
        total += g.restore(out)
    return total / n_azimuths


def test_hull_sweep_equals_brute_force_horizons():
    rng = np.random.default_rng(7)
    dsm = rng.uniform(0, 3, (23, 29))
    dsm[5:9, 4:20] += 15.0
    dsm[14:20, 10:13] += 25.0
    svf = sky_view_factor(dsm, 2.0, n_azimuths=12).surface
    np.testing.assert_allclose(svf, _brute_force(dsm, 2.0, 12), atol=2e-7)  # float32 output


def test_trees_block_sky_by_their_transmissivity():
    dsm = np.zeros((81, 81))
    canopy = np.full(dsm.shape, np.nan)
    canopy[36:45, 36:45] = 8.0  # a 9 m crown, 8 m high
    view = sky_view_factor(dsm, 1.0, canopy_top=canopy)
    np.testing.assert_array_equal(view.surface, 1.0)  # no building anywhere
    assert view.opaque_trees[40, 40] == 0.0  # under the crown
    assert 0.5 < view.opaque_trees[40, 47] < 0.95  # beside it
    assert view.opaque_trees[0, 0] > 0.99
    np.testing.assert_array_equal(view.with_trees(1.0), view.surface)
    np.testing.assert_array_equal(view.with_trees(0.0), view.opaque_trees)
    assert view.with_trees(0.2)[40, 40] == pytest.approx(0.2)
    with pytest.raises(ValueError, match="transmissivity must be in"):
        view.with_trees(1.5)


def test_each_habit_is_seen_through_its_own_transmissivity():
    dsm = np.zeros((81, 81))
    canopy = np.full(dsm.shape, np.nan)
    canopy[36:45, 20:29] = 8.0  # a deciduous crown (west)
    canopy[36:45, 52:61] = 8.0  # an evergreen crown (east)
    evergreen = np.where(np.arange(81)[None, :] >= 52, canopy, np.nan)
    view = sky_view_factor(dsm, 1.0, canopy_top=canopy, evergreen_top=evergreen)
    assert view.opaque_evergreen[40, 24] > 0.9 and view.opaque_evergreen[40, 56] == 0.0
    # one tau for both habits: exactly the single-habit formula
    single = sky_view_factor(dsm, 1.0, canopy_top=canopy)
    np.testing.assert_array_equal(view.opaque_trees, single.opaque_trees)
    np.testing.assert_allclose(view.with_trees(0.3, 0.3), single.with_trees(0.3), atol=1e-6)
    # winter: the bare deciduous crown lets through 0.5 of its sky, the evergreen one 0.03
    # (each also hides a sliver of the other's sky: 8 m high, 32 m away)
    winter = view.with_trees(0.5, 0.03)
    assert winter[40, 24] == pytest.approx(0.5, abs=3e-3) and winter[40, 56] == pytest.approx(0.03, abs=3e-3)
    assert winter[40, 24] > 10 * winter[40, 56]
    # without an evergreen raster the second tau is ignored
    np.testing.assert_array_equal(single.with_trees(0.5, 0.03), single.with_trees(0.5))


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="finite 2-D"):
        sky_view_factor(np.array([[0.0, np.nan]]), 1.0)
    with pytest.raises(ValueError, match="canopy_top shape"):
        sky_view_factor(np.zeros((4, 4)), 1.0, canopy_top=np.zeros((3, 3)))


def _rough_city(seed: int = 1):
    """A random DSM with blocks, deciduous and evergreen crowns."""
    rng = np.random.default_rng(seed)
    dsm = rng.random((150, 140)) * 3
    for _ in range(40):
        r, c = rng.integers(0, 140, 2)
        dsm[r : r + 8, c : c + 6] += rng.random() * 25
    canopy = np.full(dsm.shape, np.nan)
    trees = rng.random(dsm.shape) < 0.05
    canopy[trees] = dsm[trees] + 4
    evergreen = np.where(trees & (rng.random(dsm.shape) < 0.5), canopy, np.nan)
    return dsm, canopy, evergreen


def test_the_sky_from_the_shade_sectors_equals_the_sweep_when_nothing_lies_beyond_them():
    """HorizonSkyView (the horizons of the shadow pass's sectors) against sky_view_factor
    (its own sweep) on a random city with both leaf habits: the same within 1e-7 when the
    sectors look as far as the raster reaches (they stop at the halo, 200 m, in a run); in
    any order the directions come; and on the analytic canyon."""
    from pipeline.shade.horizon import HorizonCaster
    from pipeline.thermal.svf import HorizonSkyView

    dsm, canopy, evergreen = _rough_city()
    window = (30, 120, 25, 115)
    sweep = sky_view_factor(dsm, 1.0, canopy_top=canopy, window=window, evergreen_top=evergreen)
    caster = HorizonCaster(
        dsm, 1.0, canopy_top=canopy, window=window, max_distance_m=1000.0, evergreen_top=evergreen
    )
    in_order = HorizonSkyView(caster, 36).finish()
    shuffled = HorizonSkyView(caster, 36)
    for index in np.random.default_rng(3).permutation(caster.n_sectors):
        shuffled.take(int(index))
    shuffled = shuffled.finish()
    for name in ("surface", "opaque_trees", "opaque_evergreen"):
        np.testing.assert_allclose(getattr(in_order, name), getattr(sweep, name), rtol=0, atol=1e-7)
        assert getattr(shuffled, name).tobytes() == getattr(in_order, name).tobytes()
    assert HorizonSkyView.fits(caster, 36) and not HorizonSkyView.fits(caster, 7)
    with pytest.raises(ValueError, match="do not fall on"):
        HorizonSkyView(caster, 7)
    # a short reach sees less of the city: more sky, never less
    near = HorizonSkyView(HorizonCaster(dsm, 1.0, window=window, max_distance_m=20.0), 36).finish()
    assert (near.surface >= in_order.surface - 1e-7).all() and (near.surface > in_order.surface + 1e-3).any()
    canyon, centre = _canyon(20.0, 20)
    caster = HorizonCaster(canyon, 1.0, window=(centre, centre + 1, 245, 255), max_distance_m=250.0)
    np.testing.assert_allclose(
        HorizonSkyView(caster, 36).finish().surface, math.cos(math.atan(2 * 20.0 / 20)), atol=0.01
    )
