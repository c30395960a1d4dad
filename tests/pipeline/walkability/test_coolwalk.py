"""CoolWalkability: the paper's grid result, an irregular city, the limits, and UTCI in place of shade."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from rasterio.features import rasterize
from shapely.geometry import LineString, box

from pipeline.geo.raster import Grid
from pipeline.shade.shadow import light_fraction, shade_codes
from pipeline.walkability.components import shade_share
from pipeline.walkability.coolwalk import coolwalkability
from pipeline.walkability.network import from_lines

CRS = "EPSG:6677"
SPACING = 100.0
N = 7
#: (sun azimuth from grid north, altitude), degrees: morning, midday, afternoon
SUNS = [(100.0, 40.0), (160.0, 55.0), (250.0, 35.0)]


def _city(irregular: bool, seed: int = 0):
    """A 6 x 6 block street grid with 12 m setbacks and buildings on every side of every street
    (an outer ring of blocks, so edge streets are like inner ones). Regular: straight streets,
    every building 20 m. Irregular: inner junctions moved up to 30 m, diagonal streets,
    buildings 8-45 m."""
    rng = np.random.default_rng(seed)
    nodes = np.stack(np.meshgrid(np.arange(N) * SPACING, np.arange(N) * SPACING, indexing="ij"), -1)
    if irregular:
        nodes[1:-1, 1:-1] += rng.uniform(-30, 30, nodes[1:-1, 1:-1].shape)
    lines = [LineString([nodes[i, j], nodes[i + 1, j]]) for i in range(N - 1) for j in range(N)]
    lines += [LineString([nodes[i, j], nodes[i, j + 1]]) for i in range(N) for j in range(N - 1)]
    if irregular:
        lines += [
            LineString([nodes[i, j], nodes[i + 1, j + 1]])
            for i in range(0, N - 1, 2)
            for j in range(1, N - 1, 2)
        ]
    network = from_lines(gpd.GeoDataFrame(geometry=lines, crs=CRS))
    size = int((N - 1) * SPACING + 300)
    grid = Grid(-150.0, (N - 1) * SPACING + 150.0, 1.0, size, size, CRS)
    blocks = list(shapely.get_parts(shapely.polygonize(lines)))
    blocks += [
        box(x, y, x + SPACING, y + SPACING)
        for x in np.arange(-1, N) * SPACING
        for y in np.arange(-1, N) * SPACING
        if not (0 <= x < (N - 1) * SPACING and 0 <= y < (N - 1) * SPACING)
    ]
    heights = rng.uniform(8, 45, len(blocks)) if irregular else np.full(len(blocks), 20.0)
    dsm = rasterize(
        [(b.buffer(-12), h) for b, h in zip(blocks, heights)],
        out_shape=grid.shape,
        transform=grid.transform,
        fill=0.0,
    ).astype(np.float64)
    return network, grid, dsm


def _shade_shares(network, grid, dsm, sun):
    shade = 1.0 - light_fraction(shade_codes(dsm, grid.resolution, *sun), 0.2)
    return shade_share(network, shade, grid, step_m=2.0)


@pytest.mark.parametrize("sun", SUNS)
def test_regular_grid_with_equal_heights_gives_no_benefit(sun):
    """Wolf, Vierø & Szell (2024): on a regular grid with constant building heights C_alpha does
    not depend on alpha and equals the shortest paths' shaded share."""
    network, grid, dsm = _city(irregular=False)
    share = _shade_shares(network, grid, dsm, sun)
    for alpha in (1.5, 2.0, 5.0):
        result = coolwalkability(network, share, alpha, max_distance_m=800)
        assert result.benefit == pytest.approx(0.0, abs=1e-3)
        assert result.value == pytest.approx(result.shortest_path_value, abs=1e-3)


@pytest.mark.parametrize("sun", SUNS)
def test_irregular_network_with_varied_heights_gives_a_clear_benefit(sun):
    network, grid, dsm = _city(irregular=True)
    share = _shade_shares(network, grid, dsm, sun)
    mild, strong = (coolwalkability(network, share, alpha, max_distance_m=800) for alpha in (2.0, 5.0))
    print(
        f"sun {sun}: C_2 {mild.value:.3f} (shortest {mild.shortest_path_value:.3f}, benefit "
        f"{mild.benefit:.3f}); C_5 benefit {strong.benefit:.3f}"
    )
    assert mild.benefit > 0.02
    assert strong.benefit > mild.benefit  # the more one avoids sun, the more shade pays
    assert 0.0 < mild.value < 1.0 and mild.n_pairs > 1000


def test_limits_and_equation_on_two_routes():
    """O -> D by two routes of 400 m, one shaded, one not; a walker with alpha takes the
    shaded one. Pairs: every ordered pair of the 4 nodes within reach."""
    o, n, s, d = (0, 0), (200, 100), (200, -100), (400, 0)
    lines = [LineString([o, n, d]), LineString([o, s, d])]
    network = from_lines(gpd.GeoDataFrame(geometry=lines, crs=CRS))  # two parallel segments O-D
    north = network.segments.geometry.centroid.y.to_numpy() > 0
    shaded = coolwalkability(network, north.astype(float), 2.0)
    # one pair (both directions): shortest 447.2 m either way, both routes tie; shade-seeking
    # and the tie-broken shortest path both take the shaded one: C = 1, no benefit
    assert shaded.n_pairs == 2 and shaded.value == pytest.approx(1.0) and shaded.benefit == pytest.approx(0.0)
    assert coolwalkability(network, np.zeros(2), 3.0).value == pytest.approx(0.0)
    assert coolwalkability(network, np.ones(2), 3.0).value == pytest.approx(1.0)
    # make the shaded route 10 % longer: alpha 2 still takes it, a shortest path does not
    lines = [LineString([o, (200, 150), d]), LineString([o, s, d])]
    network = from_lines(gpd.GeoDataFrame(geometry=lines, crs=CRS))
    north = network.segments.geometry.centroid.y.to_numpy() > 0
    length = network.segments["length_m"].to_numpy()
    result = coolwalkability(network, north.astype(float), 2.0)
    d_short, d_shade = length[~north][0], length[north][0]
    assert result.value == pytest.approx((2 * d_short - d_shade) / d_short)  # equation (2)
    assert result.shortest_path_value == pytest.approx(0.0)
    assert result.benefit == pytest.approx(result.value)
    with pytest.raises(ValueError, match="alpha must be greater than 1"):
        coolwalkability(network, north.astype(float), 1.0)


def test_utci_comfort_in_place_of_shade_reduces_to_shade_when_binary():
    """UTCI 20 °C in shade (c_thermal 1) and 50 °C in sun (extreme heat stress, c_thermal 0): the thermal
    CoolWalkability, from c_thermal sampled along the streets, is the paper's, from the shade
    share sampled the same way. Uniformly half-comfortable streets give C = 0.5, no benefit."""
    from pipeline.walkability.comfort import segment_thermal

    network, grid, dsm = _city(irregular=True)
    shade = 1.0 - light_fraction(shade_codes(dsm, grid.resolution, *SUNS[1]), 0.0)
    utci = np.where(shade > 0.5, 20.0, 50.0).astype(np.float32)
    c_thermal = segment_thermal(network, utci, grid, step_m=2.0)["c_thermal"].to_numpy()
    share = shade_share(network, shade, grid, step_m=2.0)
    np.testing.assert_allclose(c_thermal, share)
    thermal = coolwalkability(network, c_thermal, 2.0, max_distance_m=600)
    by_shade = coolwalkability(network, share, 2.0, max_distance_m=600)
    assert thermal == by_shade and thermal.benefit > 0.02
    half = coolwalkability(network, np.full(len(network), 0.5), 2.0, max_distance_m=600)
    assert half.value == pytest.approx(0.5) and half.benefit == pytest.approx(0.0)
