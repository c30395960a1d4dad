"""LiDAR stage on PDAL's real test files and on synthetic scenes with known answers."""

from __future__ import annotations

import subprocess
import sys

import laspy
import numpy as np
import pytest
from pyproj import CRS

from pipeline.geo.raster import Grid, read_raster
from pipeline.lidar import (
    LidarCRSError,
    LidarHeaderError,
    file_bounds,
    iter_tileset_points,
    lidar_rasters_for_tile,
    open_checked,
    read_checked_header,
    summarize_lidar_file,
    write_lidar_rasters,
)
from pipeline.lidar.noise import statistical_outlier_mask

UTM10 = "EPSG:26910"  # NAD83 / UTM 10N, metres: autzen (Eugene, Oregon) lies in it
FOOT = 0.3048


# ---------------------------------------------------------------- header checks / bad files


def test_garbage_header_is_rejected_before_any_allocation(lidar_dir):
    path = lidar_dir / "bad" / "garbage_nVariableLength.las"
    # In a subprocess with a timeout, so a regression that hands the file to laspy fails
    # the test instead of hanging CI while allocating ~18 GB.
    code = (
        "import sys\nfrom pipeline.lidar import summarize_lidar_file, LidarHeaderError\n"
        "try:\n    summarize_lidar_file(sys.argv[1])\n"
        "except LidarHeaderError as e:\n    print(e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=30, check=True
    )
    assert "garbage_nVariableLength.las" in out.stdout
    assert "VLRs" in out.stdout and "bytes" in out.stdout
    with pytest.raises(LidarHeaderError, match="1069128089 VLRs"):
        read_checked_header(path)


def test_truncated_file_is_rejected(tmp_path, lidar_dir):
    data = (lidar_dir / "autzen_trim.las").read_bytes()
    cut = tmp_path / "cut.las"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(LidarHeaderError, match="110,000 points"):
        read_checked_header(cut)
    not_las = tmp_path / "x.las"
    not_las.write_bytes(b"PK\x03\x04" + b"\0" * 400)
    with pytest.raises(LidarHeaderError, match="signature"):
        read_checked_header(not_las)


def test_no_points_file_gives_empty_result_with_warning(lidar_dir, caplog):
    path = lidar_dir / "bad" / "no-points.las"
    summary = summarize_lidar_file(path)
    assert summary.point_count == 0 and summary.class_counts == {}
    assert "no points" in " ".join(summary.warnings)
    assert summary.crs.startswith("EPSG:4269")
    assert file_bounds(path, UTM10) is None
    grid = Grid(0.0, 10.0, 1.0, 10, 10, UTM10)
    result = lidar_rasters_for_tile([path], grid, backend="laspy")
    assert result.stats.points_in_tile == 0
    assert np.isnan(result.dtm).all() and (result.density == 0).all()
    assert "no LiDAR points" in caplog.text


def test_malformed_geotiff_keys_need_a_named_crs(lidar_dir):
    path = lidar_dir / "bad" / "bad-geotiff-keys.las"
    with pytest.raises(LidarCRSError, match="malformed GeoTIFF keys.*key id 0"):
        open_checked(path)
    las = open_checked(path, source_crs="EPSG:32617")
    assert las.crs.origin == "named by caller" and las.crs.z_to_metres == 1.0
    bounds = file_bounds(path, "EPSG:32617", source_crs="EPSG:32617")
    grid = Grid.from_bounds(*bounds, 1.0, "EPSG:32617").buffered(1)
    result = lidar_rasters_for_tile([path], grid, source_crs="EPSG:32617", backend="laspy")
    assert result.stats.points_in_tile == 10 and result.stats.ground_points == 10
    # Without a named CRS the tile skips the file and says why.
    skipped = lidar_rasters_for_tile([path], grid, backend="laspy")
    assert "malformed GeoTIFF keys" in skipped.stats.skipped_files[str(path)]


# ---------------------------------------------------------------- header summary


@pytest.mark.parametrize("name, compressed", [("1.2-with-color.las", False), ("simple.laz", True)])
def test_header_summary(lidar_dir, name, compressed):
    summary = summarize_lidar_file(lidar_dir / name)
    assert (summary.version, summary.point_format, summary.compressed) == ("1.2", 3, compressed)
    assert summary.point_count == 1065
    assert summary.class_counts == {1: 789, 2: 276}
    assert summary.mins == pytest.approx((635619.85, 848899.70, 406.59))
    assert summary.maxs == pytest.approx((638982.55, 853535.43, 586.38))
    assert summary.crs == "unknown" and "no CRS" in summary.warnings[0]
    text = str(summary)
    assert "1,065" in text and "ground" in text and "orthometric" in text


def test_summary_reads_autzen_wkt_in_feet(lidar_dir):
    summary = summarize_lidar_file(lidar_dir / "autzen_trim.laz")
    assert summary.crs_origin == "WKT VLR" and "Lambert" in summary.crs
    assert summary.z_to_metres == pytest.approx(FOOT)
    assert summary.vertical_datum == "unknown/assumed orthometric"
    assert summary.class_counts == {1: 83893, 2: 26107}


# ---------------------------------------------------------------- autzen rasters


@pytest.fixture(scope="module")
def autzen_grid(lidar_dir):
    bounds = file_bounds(lidar_dir / "autzen_trim.las", UTM10)
    return Grid.from_bounds(*bounds, 2.0, UTM10).buffered(2.0)


@pytest.fixture(scope="module")
def autzen_las(lidar_dir, autzen_grid):
    return lidar_rasters_for_tile(
        [lidar_dir / "autzen_trim.las"], autzen_grid, backend="laspy", chunk_size=30_000
    )


def test_autzen_las_and_laz_give_identical_rasters(lidar_dir, autzen_grid, autzen_las):
    laz = lidar_rasters_for_tile([lidar_dir / "autzen_trim.laz"], autzen_grid, backend="laspy")
    for name, array in autzen_las.layers().items():
        np.testing.assert_array_equal(array, laz.layers()[name], err_msg=name)


def test_autzen_rasters_are_consistent(autzen_las):
    r = autzen_las
    assert np.isfinite(r.dtm).all() and np.isfinite(r.dsm).all()
    assert (r.dtm <= r.dsm).all()
    assert (r.ndsm >= 0).all() and (r.chm >= 0).all()
    # Heights in metres: the file stores 406.26-520.51 ft.
    assert 406.26 * FOOT - 0.5 < r.dtm.min() and r.dsm.max() < 520.51 * FOOT + 0.01
    # Density integrates back to the points kept.
    kept = r.stats.points_in_tile - r.stats.outlier_points - r.stats.noise_class_points
    assert r.density.sum() * r.grid.resolution**2 == pytest.approx(kept)


def test_autzen_ground_share_matches_class_counts(autzen_las):
    stats = autzen_las.stats
    assert stats.points_in_tile == 110_000
    assert stats.class_counts == {1: 83893, 2: 26107}
    assert stats.ground_source == "ASPRS class 2"
    # Ground used = classified ground minus the few removed as isolated points.
    assert 0.99 * 26107 <= stats.ground_points <= 26107
    assert stats.outlier_points < 0.01 * 110_000


def test_named_crs_matches_file_crs_within_datum_shift(lidar_dir):
    from_file = file_bounds(lidar_dir / "autzen_trim.las", UTM10)
    named = file_bounds(lidar_dir / "autzen_trim.las", UTM10, source_crs="EPSG:2992")
    # The file says NAD83(HARN), EPSG:2992 is NAD83: about a metre apart, no more.
    assert np.allclose(from_file, named, atol=2.0)


def test_write_rasters_round_trip(tmp_path, autzen_las):
    paths = write_lidar_rasters(autzen_las, tmp_path, "autzen")
    assert set(paths) == {"dtm", "dsm", "ndsm", "chm", "density"}
    dsm, grid, _ = read_raster(paths["dsm"])
    assert grid.shape == autzen_las.grid.shape
    np.testing.assert_array_equal(dsm, autzen_las.dsm)


def test_tileset_points_in_lon_lat(lidar_dir):
    chunks = list(
        iter_tileset_points([lidar_dir / "simple.laz"], "EPSG:4326", source_crs="EPSG:2992", chunk_size=500)
    )
    assert [len(c["classification"]) for c in chunks] == [500, 500, 65]
    lon, lat, h = np.concatenate([c["positions"] for c in chunks]).T
    assert (-123.2 < lon).all() and (lon < -123.0).all() and (44.0 < lat).all() and (lat < 44.1).all()
    assert h.min() == pytest.approx(406.59 * FOOT, abs=0.01)
    assert chunks[0]["rgb"].dtype == np.uint8 and chunks[0]["rgb"].shape == (500, 3)


# ---------------------------------------------------------------- synthetic scene

GROUND_Z, BUILDING_Z, TREE_TOP_Z = 10.0, 30.0, 20.0
X0, Y0 = -5000.0, -35000.0  # EPSG:6677 (JGD2011 / Japan Plane Rectangular CS IX), Tokyo
BUILDING = (10.0, 30.0, 10.0, 30.0)  # x0, x1, y0, y1 (local metres)
TREE_CENTRE, TREE_RADIUS = (45.0, 45.0), 5.0
BIRDS = [(5.5, 50.5, 80.0), (50.5, 5.5, 75.0), (35.5, 52.5, 90.0)]


def _synthetic_points(seed: int = 7):
    """Flat ground at 10 m, a 20 m box building, a 10 m tree cylinder, three birds."""
    rng = np.random.default_rng(seed)
    n = 60 * 60 * 6
    x, y = rng.uniform(0, 60, n), rng.uniform(0, 60, n)
    on_roof = (x > BUILDING[0]) & (x < BUILDING[1]) & (y > BUILDING[2]) & (y < BUILDING[3])
    in_tree = np.hypot(x - TREE_CENTRE[0], y - TREE_CENTRE[1]) < TREE_RADIUS
    z = np.full(n, GROUND_Z)
    z[on_roof] = BUILDING_Z
    cls = np.where(on_roof, 6, 2)
    returns = np.ones(n, int)
    # Tree (a cylinder with a flat crown): every pulse returns twice, first at the crown
    # top, last on the ground.
    tx, ty = x[in_tree], y[in_tree]
    crown_z = np.full(tx.size, TREE_TOP_Z)
    returns[in_tree] = 2
    x = np.concatenate([x, tx, [b[0] for b in BIRDS]])
    y = np.concatenate([y, ty, [b[1] for b in BIRDS]])
    z = np.concatenate([z, crown_z, [b[2] for b in BIRDS]])
    cls = np.concatenate([cls, np.full(tx.size, 5), np.ones(len(BIRDS), int)])
    returns = np.concatenate([returns, np.full(tx.size, 2), np.ones(len(BIRDS), int)])
    return x + X0, y + Y0, z, cls, returns


def _write_las(path, x, y, z, cls, returns):
    header = laspy.LasHeader(point_format=6, version="1.4")
    header.scales = np.array([0.001, 0.001, 0.001])
    header.offsets = np.array([X0, Y0, 0.0])
    header.add_crs(CRS.from_epsg(6677))
    las = laspy.LasData(header)
    las.x, las.y, las.z = x, y, z
    las.classification = cls
    las.number_of_returns = returns
    las.return_number = np.ones_like(returns)
    las.write(path)
    return path


@pytest.fixture(scope="module")
def synthetic_grid():
    return Grid(X0, Y0 + 60.0, 1.0, 60, 60, "EPSG:6677")


def _cells_inside(grid: Grid, predicate, margin: float) -> np.ndarray:
    cx, cy = grid.cell_centres()
    xx, yy = np.meshgrid(cx - X0, cy - Y0)
    return predicate(xx, yy, margin)


def _roof(xx, yy, m):
    return (xx > BUILDING[0] + m) & (xx < BUILDING[1] - m) & (yy > BUILDING[2] + m) & (yy < BUILDING[3] - m)


def _crown(xx, yy, m):
    return np.hypot(xx - TREE_CENTRE[0], yy - TREE_CENTRE[1]) < TREE_RADIUS - m


def _open(xx, yy, m):
    return (
        ~_roof(xx, yy, -m)
        & ~_crown(xx, yy, -m)
        & ~np.any([np.hypot(xx - bx, yy - by) < m for bx, by, _ in BIRDS], axis=0)
    )


def test_synthetic_classified_scene(tmp_path, synthetic_grid):
    path = _write_las(tmp_path / "scene.las", *_synthetic_points())
    assert open_checked(path).crs.name.startswith("EPSG:6677")
    r = lidar_rasters_for_tile([path], synthetic_grid, backend="laspy")
    assert r.stats.ground_source == "ASPRS class 2"
    assert r.stats.vegetation_source == "ASPRS classes 3-5"
    # Flat ground: exact up to the 1 mm LAS scale, also under the building (interpolated).
    np.testing.assert_allclose(r.dtm, GROUND_Z, atol=0.002)
    roof = _cells_inside(synthetic_grid, _roof, 1.0)
    crown = _cells_inside(synthetic_grid, _crown, 1.5)
    open_ground = _cells_inside(synthetic_grid, _open, 1.5)
    np.testing.assert_allclose(r.ndsm[roof], BUILDING_Z - GROUND_Z, atol=0.002)
    np.testing.assert_allclose(r.ndsm[open_ground], 0.0, atol=0.002)
    np.testing.assert_allclose(r.chm[crown], TREE_TOP_Z - GROUND_Z, atol=0.002)
    assert (r.chm[roof] == 0).all() and (r.chm[open_ground] == 0).all()
    # The three birds were removed, and nothing else.
    assert r.stats.outlier_points == len(BIRDS)
    assert r.dsm.max() == pytest.approx(BUILDING_Z, abs=0.002)


def test_synthetic_unclassified_scene_uses_cloth_filter(tmp_path, synthetic_grid):
    x, y, z, cls, returns = _synthetic_points()
    path = _write_las(tmp_path / "raw.las", x, y, z, np.zeros_like(cls), returns)
    r = lidar_rasters_for_tile([path], synthetic_grid, backend="laspy")
    assert r.stats.ground_source == "cloth simulation filter"
    assert r.stats.vegetation_source == "non-ground returns of multi-return pulses"
    true_ground = int((cls == 2).sum())
    assert abs(r.stats.ground_points - true_ground) <= 0.01 * true_ground
    np.testing.assert_allclose(r.dtm, GROUND_Z, atol=0.05)
    roof = _cells_inside(synthetic_grid, _roof, 1.0)
    crown = _cells_inside(synthetic_grid, _crown, 1.5)
    np.testing.assert_allclose(r.ndsm[roof], BUILDING_Z - GROUND_Z, atol=0.05)
    np.testing.assert_allclose(r.chm[crown], TREE_TOP_Z - GROUND_Z, atol=0.05)
    assert (r.chm[roof] == 0).all()


def test_outlier_rule_spares_sparse_surfaces():
    rng = np.random.default_rng(1)
    # A plane sampled densely on one half and ten times more sparsely on the other.
    dense = rng.uniform(0, 50, (20000, 2))
    sparse = rng.uniform(0, 50, (2000, 2)) + [50, 0]
    xy = np.vstack([dense, sparse, [[25.0, 25.0]]])
    z = np.append(np.zeros(len(xy) - 1), 40.0)  # one bird
    mask = statistical_outlier_mask(xy[:, 0], xy[:, 1], z)
    assert mask[-1] and mask.sum() == 1


def _block_knn_reference(x, y, z, k, dims, block_size_m, halo_m):
    """Per block, a k-d tree over the block's points and those of its halo box, in the
    box's frame (coordinates minus its corner in their own dtype, then float64)."""
    from scipy.spatial import cKDTree

    x0, y0 = float(x.min()), float(y.min())
    bx = np.floor((x - x0) / block_size_m).astype(np.int64)
    by = np.floor((y - y0) / block_size_m).astype(np.int64)
    out = np.full(x.size, np.nan)
    for i, j in set(zip(bx.tolist(), by.tolist())):
        lo_x, lo_y = x0 + i * block_size_m - halo_m, y0 + j * block_size_m - halo_m
        hi_x, hi_y = lo_x + block_size_m + 2 * halo_m, lo_y + block_size_m + 2 * halo_m
        own = (bx == i) & (by == j)
        near = own | (
            (abs(bx - i) <= 1) & (abs(by - j) <= 1) & (x >= lo_x) & (x < hi_x) & (y >= lo_y) & (y < hi_y)
        )
        local = np.column_stack(
            [
                (x[near] - lo_x).astype(np.float64),
                (y[near] - lo_y).astype(np.float64),
                z[near].astype(np.float64),
            ]
        )[:, :dims]
        kk = min(k + 1, int(near.sum()))
        if kk < 2:
            out[own] = np.inf
            continue
        dist, _ = cKDTree(local).query(local[own[near]], k=kk)
        out[own] = dist[:, 1:].mean(axis=1)
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("dims", [3, 2])
def test_block_neighbours_equal_kd_tree_per_block(dtype, dims):
    """One sorted grid for the tile gives, to the bit, the mean k-NN distances of a k-d
    tree per block and halo: in the block's frame and dtype, neighbours beyond the halo
    ignored (isolated points, a block of 1 and of 3 points), for all or some points."""
    from pipeline.lidar.neighbours import BlockNeighbours

    rng = np.random.default_rng(11)
    centres = rng.uniform(0, 120, (12, 2))
    xy = np.vstack(
        [c + rng.normal(0, rng.uniform(0.3, 4), (rng.integers(50, 400), 2)) for c in centres]
        + [rng.uniform(0, 120, (3000, 2))]
    )
    xy = np.vstack([xy, xy[:100], [[299.0, 299.0], [0.0, 299.5], [1.0, 299.0], [0.5, 298.0]]])
    xy += 5000.0  # far from the origin: float32 rounding shows
    z = np.append(rng.normal(0, 2, len(xy) - 4), [40.0, 0.0, 1.0, 0.0])
    z[rng.integers(0, len(z) - 4, 20)] += 30.0  # birds
    x, y, z = (a.astype(dtype) for a in (xy[:, 0], xy[:, 1], z))
    neighbours = BlockNeighbours(x, y, z, block_size_m=25.0, halo_m=4.0, k=8)
    expected = _block_knn_reference(x, y, z, 8, dims, 25.0, 4.0)
    assert np.isinf(expected).sum() == 1 and np.isfinite(expected).sum() == len(x) - 1
    assert np.array_equal(neighbours.mean_distances(dims), expected)
    wanted = rng.random(len(x)) < 0.2
    some = neighbours.mean_distances(dims, wanted)
    assert np.array_equal(some[wanted], expected[wanted]) and np.isnan(some[~wanted]).all()
    # the halo matters: without it (blocks as big as the tile) the distances differ
    whole = BlockNeighbours(x, y, z, block_size_m=1000.0, halo_m=4.0, k=8).mean_distances(dims)
    assert not np.array_equal(whole, expected)


@pytest.mark.parametrize("name", ["autzen_trim.las", "autzen_trim.laz"])
def test_tile_points_equal_point_chunks_in_float32(lidar_dir, name):
    """The compiled read of a file already in the target CRS keeps exactly the points
    ``iter_point_chunks`` keeps (bounds half-open as the grid's cells, points on them
    included) and gives their float32 offsets to the bit, heights in feet to metres."""
    from pipeline.lidar.crs import PointTransform
    from pipeline.lidar.reader import iter_point_chunks, iter_tile_points

    las = open_checked(lidar_dir / name)
    target = las.crs.horizontal  # no reprojection: the compiled path
    assert PointTransform(las.crs, target).identity and las.crs.z_to_metres == FOOT
    every = list(iter_point_chunks(las, target, chunk_size=1_000_000))[0]
    # edges through points, so that both sides of each inequality are exercised
    xs, ys = np.sort(every.x), np.sort(every.y)
    bounds = (
        float(xs[len(xs) // 4]),
        float(ys[len(ys) // 4]),
        float(xs[3 * len(xs) // 4]),
        float(ys[3 * len(ys) // 4]),
    )
    origin = (bounds[0] - 3.25, bounds[1] - 1.5)
    ours = list(iter_tile_points(las, target, bounds=bounds, origin=origin, chunk_size=30_000))
    chunks = list(iter_point_chunks(las, target, bounds=bounds, chunk_size=30_000, raster_only=True))
    assert len(ours) == len(chunks) > 1
    for tile_points, chunk in zip(ours, chunks):
        np.testing.assert_array_equal(tile_points.x, (chunk.x - origin[0]).astype(np.float32))
        np.testing.assert_array_equal(tile_points.y, (chunk.y - origin[1]).astype(np.float32))
        np.testing.assert_array_equal(tile_points.z, chunk.z.astype(np.float32))
        np.testing.assert_array_equal(tile_points.classification, chunk.classification)
        np.testing.assert_array_equal(tile_points.number_of_returns, chunk.number_of_returns)
    x, y = np.concatenate([c.x for c in chunks]), np.concatenate([c.y for c in chunks])
    assert (x == bounds[0]).any() and (y == bounds[3]).any() and 0 < len(x) < 100_000
    assert ((every.x == bounds[2]) | (every.y == bounds[1])).any()  # on the open edges


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tile_rasters_equal_the_raster_functions(dtype):
    """The compiled passes give, to the bit, the rasters the per-raster functions give:
    points outside the grid ignored, cells without ground or returns filled, canopy over
    the capped DTM, heights summed in point order."""
    from pipeline.lidar import rasters

    rng = np.random.default_rng(5)
    grid = Grid(0.0, 40.0, 0.5, 90, 80, UTM10)  # 45 m x 40 m
    n = 30_000
    x = rng.uniform(-2, 47, n).astype(dtype)  # some outside
    y = rng.uniform(-3, 43, n).astype(dtype)
    z = (rng.normal(20, 5, n) + 1e3 * rng.random(n) ** 40).astype(dtype)
    hole = (x > 10) & (x < 20) & (y > 10) & (y < 20)  # a building: no ground in it
    ground = (rng.random(n) < 0.4) & ~hole
    vegetation = ~ground & (rng.random(n) < 0.5)
    ours = rasters.tile_rasters(grid, x, y, z, ground, vegetation)
    dtm = rasters.terrain_model(grid, x[ground], y[ground], z[ground])
    dsm = rasters.surface_model(grid, x, y, z)
    dtm = np.fmin(dtm, dsm)
    expected = (
        dtm,
        dsm,
        rasters.normalized_surface(dsm, dtm),
        rasters.canopy_height(
            grid, x[vegetation], y[vegetation], z[vegetation], np.nan_to_num(dtm, nan=np.inf)
        ),
        rasters.point_density(grid, x, y),
    )
    for got, want in zip(ours, expected):
        assert got.dtype == want.dtype and np.array_equal(got, want, equal_nan=True)
    assert (ours[3] > 0).any() and (ours[4] == 0).any()
