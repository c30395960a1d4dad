"""COG writing: lossless whatever the compression, tiled, with overviews, deterministic."""

import numpy as np
import pytest
import rasterio

from pipeline.geo.raster import Grid, read_raster, write_cog


@pytest.fixture
def hours():
    """Shade-hour-like values (sums of a few 10-minute weights) with NaN holes, 600 x 520."""
    rng = np.random.default_rng(7)
    values = (rng.integers(0, 19, size=(520, 600)) / 6.0).astype(np.float32)
    values[100:140, 200:260] = np.nan
    return values, Grid(-20000.0, -10000.0, 1.0, 600, 520, "EPSG:6677")


@pytest.mark.parametrize(
    "options", [{}, {"compress": "ZSTD", "predictor": 1, "level": 1}, {"compress": "DEFLATE", "predictor": 1}]
)
def test_cog_round_trips_values_bit_for_bit_with_tiles_and_overviews(tmp_path, hours, options):
    values, grid = hours
    path = write_cog(tmp_path / "a.tif", values, grid, nodata=np.nan, tags={"units": "hours"}, **options)
    back, back_grid, nodata = read_raster(path)
    assert back_grid == grid and np.isnan(nodata)
    assert np.array_equal(back.view(np.uint32), values.view(np.uint32))
    with rasterio.open(path) as src:
        assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert src.tags(ns="IMAGE_STRUCTURE")["COMPRESSION"] == options.get("compress", "DEFLATE")
        assert src.profile["tiled"] and src.block_shapes == [(256, 256)]
        assert src.overviews(1) == [2, 4]
        assert src.tags()["units"] == "hours"


def test_overviews_and_bytes_do_not_depend_on_anything_but_the_options(tmp_path, hours):
    values, grid = hours
    zstd = {"compress": "ZSTD", "predictor": 1, "level": 1}
    first = write_cog(tmp_path / "a.tif", values, grid, nodata=np.nan, **zstd)
    again = write_cog(tmp_path / "b.tif", values, grid, nodata=np.nan, **zstd)
    deflate = write_cog(tmp_path / "c.tif", values, grid, nodata=np.nan)
    assert open(first, "rb").read() == open(again, "rb").read()
    with rasterio.open(first) as a, rasterio.open(deflate) as b:
        for factor in a.overviews(1):
            shape = (grid.height // factor, grid.width // factor)
            ours, theirs = a.read(1, out_shape=shape), b.read(1, out_shape=shape)
            assert np.isfinite(ours).any()
            assert np.array_equal(ours, theirs, equal_nan=True)
