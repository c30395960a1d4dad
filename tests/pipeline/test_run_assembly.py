"""Run-wide files assembled a piece at a time: the max canvas and the (Geo)Parquet concatenation."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely

from pipeline.geo.parquet import concat_parquet
from pipeline.geo.raster import Grid, MaxCanvas


@pytest.mark.parametrize("order", [(0, 1, 2), (2, 1, 0), (1, 2, 0)])
def test_max_canvas_keeps_the_highest_value_whatever_the_order(tmp_path, order):
    grid = Grid(0.0, 100.0, 5.0, 20, 20, "EPSG:6677")
    full = np.full(grid.shape, np.nan, np.float32)
    rng = np.random.default_rng(11)
    pieces = []
    for bounds in ((0, 0, 60, 40), (40, 20, 100, 80), (10, 50, 50, 100)):
        values = rng.uniform(0, 100, (1,)).astype(np.float32)[0]
        pieces.append((bounds, values))
    path = tmp_path / f"score_{''.join(map(str, order))}.tif"
    with MaxCanvas(grid, path) as canvas:
        for i in order:
            bounds, value = pieces[i]
            piece = canvas.window(bounds)
            data = np.full(piece.shape, value, np.float32)
            data[0, 0] = np.nan  # NaN is no value: never wins
            canvas.paint(data, piece)
            r0 = int(round((grid.y_max - piece.y_max) / grid.resolution))
            c0 = int(round((piece.x_min - grid.x_min) / grid.resolution))
            full[r0 : r0 + piece.height, c0 : c0 + piece.width] = np.fmax(
                full[r0 : r0 + piece.height, c0 : c0 + piece.width], data
            )
        canvas.write_cog(path, tags={"units": "score"})
        small, small_grid = canvas.read(max_pixels=10)
    with rasterio.open(path) as src:
        np.testing.assert_array_equal(src.read(1), full)
        assert src.tags()["units"] == "score" and src.crs.to_epsg() == 6677
    assert small.shape == (10, 10) and small_grid.resolution == 10.0
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # the scratch file is gone
    assert canvas.window((500, 500, 600, 600)) is None


def test_concat_parquet_unifies_columns_and_merges_the_geo_metadata(tmp_path):
    a = gpd.GeoDataFrame(
        {"segment_id": ["a:0", "a:1"], "scenario": ["s", "t"], "score": [1.0, 2.0]},
        geometry=[shapely.LineString([(0, 0), (1, 1)]), shapely.LineString([(0, 0), (2, 0)])],
        crs="EPSG:6677",
    )
    b = gpd.GeoDataFrame(
        {"segment_id": ["b:0"], "scenario": ["s"], "score": [3.0], "zone": ["商業地域"]},
        geometry=[shapely.Point(10, -5)],
        crs="EPSG:6677",
    )
    paths = []
    for name, frame in (("a", a), ("b", b)):
        paths.append(tmp_path / f"{name}.parquet")
        frame.to_parquet(paths[-1], index=False)
    rows = concat_parquet(paths, tmp_path / "all.parquet", filters=[("scenario", "==", "s")])
    joined = gpd.read_parquet(tmp_path / "all.parquet")
    assert rows == 2 and joined["segment_id"].tolist() == ["a:0", "b:0"]
    assert joined["zone"].isna().tolist() == [True, False] and joined["zone"].iloc[1] == "商業地域"
    assert joined.crs.to_epsg() == 6677
    import json

    import pyarrow.parquet as pq

    geo = json.loads(pq.read_schema(tmp_path / "all.parquet").metadata[b"geo"])["columns"]["geometry"]
    assert geo["bbox"] == [0.0, -5.0, 10.0, 1.0]
    assert geo["geometry_types"] == ["LineString", "Point"]
    plain = tmp_path / "plain.parquet"
    pd.DataFrame({"x": [1]}).to_parquet(plain)
    with pytest.raises(ValueError, match="some inputs are GeoParquet"):
        concat_parquet([paths[0], plain], tmp_path / "mixed.parquet")


def test_max_canvas_reads_class_codes_as_codes_when_decimated(tmp_path):
    grid = Grid(0.0, 40.0, 1.0, 40, 40, "EPSG:6677")
    codes = np.where((np.arange(40)[:, None] + np.arange(40)[None, :]) % 2 == 0, 1.0, 5.0).astype(np.float32)
    with MaxCanvas(grid, tmp_path / "class.tif") as canvas:
        canvas.paint(codes, canvas.window(grid.bounds))
        classes, small = canvas.read(max_pixels=10, categorical=True)
        averaged, _ = canvas.read(max_pixels=10)
    assert small.shape == (10, 10) and set(np.unique(classes)) <= {1.0, 5.0}
    assert np.allclose(averaged, 3.0)  # what averaging would make of them: no class at all
