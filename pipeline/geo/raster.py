"""Raster grids and Cloud-Optimized GeoTIFF output shared by every raster stage.

Every raster in Machi lives on a :class:`Grid`: north-up, square cells, in the run's
metric CRS (a JGD2011 plane rectangular zone, EPSG:6669-6687, unless the run names
another). Row 0 is the northern edge. Heights are metres, orthometric.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine

from tiles.atomic import atomic_path


@dataclass(frozen=True)
class Grid:
    """A north-up grid of square cells.

    Cell ``(row, col)`` covers ``x`` in ``[x_min + col*res, x_min + (col+1)*res)`` and
    ``y`` in ``(y_max - (row+1)*res, y_max - row*res]`` (metres, in ``crs``).
    """

    x_min: float
    y_max: float
    resolution: float
    width: int
    height: int
    crs: str

    @classmethod
    def from_bounds(
        cls, x_min: float, y_min: float, x_max: float, y_max: float, resolution: float, crs: str
    ) -> Grid:
        """The smallest grid aligned to multiples of ``resolution`` that covers the bounds."""
        x0 = math.floor(x_min / resolution) * resolution
        y1 = math.ceil(y_max / resolution) * resolution
        width = max(1, math.ceil((x_max - x0) / resolution - 1e-9))
        height = max(1, math.ceil((y1 - y_min) / resolution - 1e-9))
        return cls(x0, y1, float(resolution), int(width), int(height), crs)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.height, self.width)

    @property
    def x_max(self) -> float:
        return self.x_min + self.width * self.resolution

    @property
    def y_min(self) -> float:
        return self.y_max - self.height * self.resolution

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(x_min, y_min, x_max, y_max) in metres."""
        return (self.x_min, self.y_min, self.x_max, self.y_max)

    @property
    def transform(self) -> Affine:
        return Affine(self.resolution, 0.0, self.x_min, 0.0, -self.resolution, self.y_max)

    def buffered(self, halo_m: float) -> Grid:
        """The same grid grown by a whole number of cells covering ``halo_m`` on every side."""
        cells = int(math.ceil(halo_m / self.resolution))
        return replace(
            self,
            x_min=self.x_min - cells * self.resolution,
            y_max=self.y_max + cells * self.resolution,
            width=self.width + 2 * cells,
            height=self.height + 2 * cells,
        )

    def halo_cells(self, outer: Grid) -> int:
        """How many cells ``outer`` (made by :meth:`buffered`) adds on each side."""
        return int(round((self.x_min - outer.x_min) / self.resolution))

    def cell_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Return 1-D arrays ``(x, y)`` of column and row centre coordinates."""
        x = self.x_min + (np.arange(self.width) + 0.5) * self.resolution
        y = self.y_max - (np.arange(self.height) + 0.5) * self.resolution
        return x, y

    def rowcol(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Integer (row, col) of the cells holding points ``x, y`` (may be out of range)."""
        col = np.floor((np.asarray(x) - self.x_min) / self.resolution).astype(np.int64)
        row = np.floor((self.y_max - np.asarray(y)) / self.resolution).astype(np.int64)
        return row, col


def write_cog(
    path: str | os.PathLike,
    data: np.ndarray,
    grid: Grid,
    *,
    nodata: float | int | None = None,
    band_names: list[str] | None = None,
    tags: dict[str, str] | None = None,
    compress: str = "DEFLATE",
    predictor: int | None = None,
    level: int | None = None,
) -> str:
    """Write ``data`` (2-D, or 3-D bands-first) on ``grid`` as a Cloud-Optimized GeoTIFF.

    Written atomically, tiled (256 px blocks), with internal overviews (GDAL's COG
    driver; averaged for floats, nearest cell for integers). Compression is lossless:
    ``compress`` (``"DEFLATE"`` or ``"ZSTD"``) at GDAL's default ``level`` unless given,
    with TIFF ``predictor`` 3 (floating point) for floats and 2 (horizontal) for integers
    unless given (1: none, best for rasters of few distinct values such as sums of a few
    weights). Returns the path as a string.
    """
    array = np.asarray(data)
    if array.ndim == 2:
        array = array[np.newaxis]
    if array.shape[1:] != grid.shape:
        raise ValueError(f"{path}: array shape {array.shape[1:]} does not match grid {grid.shape}")
    floating = np.issubdtype(array.dtype, np.floating)
    if predictor is None:
        predictor = 3 if floating else 2
    profile = dict(
        driver="COG",
        width=grid.width,
        height=grid.height,
        count=array.shape[0],
        dtype=array.dtype,
        crs=grid.crs,
        transform=grid.transform,
        nodata=nodata,
        compress=compress,
        predictor=predictor,
        blocksize=256,
        overview_resampling="average" if floating else "nearest",
    )
    if level is not None:
        profile["level"] = int(level)
    with atomic_path(path) as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(array)
            if band_names:
                for i, name in enumerate(band_names, start=1):
                    dst.set_band_description(i, name)
            if tags:
                dst.update_tags(**tags)
    return str(path)


def read_raster(path: str | os.PathLike) -> tuple[np.ndarray, Grid, float | None]:
    """Read band 1 of a raster written by :func:`write_cog`: ``(array, grid, nodata)``."""
    with rasterio.open(path) as src:
        t = src.transform
        grid = Grid(t.c, t.f, t.a, src.width, src.height, src.crs.to_string())
        return src.read(1), grid, src.nodata


def mosaic(
    paths,
    *,
    crs: str | None = None,
    bounds: tuple[float, float, float, float] | None = None,
    resolution: float | None = None,
    max_pixels: int | None = None,
    dtype: str | None = None,
) -> tuple[np.ndarray, Grid] | None:
    """Band 1 of several single-band float rasters on one grid (NaN where none), or None.

    Parameters
    ----------
    paths : iterable of path
        Rasters in one CRS (e.g. the tiles of a stage). They are sorted by path first:
        where two overlap, the first in that order wins, so the result never depends on
        the order the paths are given in (or tasks finished in).
    crs : str, optional
        CRS of the result's :class:`Grid` (default: the first raster's).
    bounds : (x_min, y_min, x_max, y_max), optional
        Extent of the result (default: the union of the inputs).
    resolution : float, optional
        Cell size of the result (default: the inputs').
    max_pixels : int, optional
        Coarsen the cell size so neither side exceeds this many pixels (maps of a city
        stay bounded whatever its size). Cells are resampled by nearest neighbour.
    dtype : str, optional
        The result's type; give ``"float32"`` for integer rasters (NaN marks no data).
    """
    from rasterio.merge import merge

    paths = sorted(str(p) for p in paths)
    if not paths:
        return None
    if max_pixels:
        with rasterio.open(paths[0]) as first:
            native = resolution or first.res[0]
        if bounds is None:
            boxes = []
            for path in paths:
                with rasterio.open(path) as src:
                    boxes.append(tuple(src.bounds))
            stacked = np.array(boxes)
            bounds = (stacked[:, 0].min(), stacked[:, 1].min(), stacked[:, 2].max(), stacked[:, 3].max())
        longest = max(bounds[2] - bounds[0], bounds[3] - bounds[1])
        resolution = max(native, longest / max_pixels)
    data, transform = merge(paths, bounds=bounds, res=resolution, nodata=np.nan, dtype=dtype)
    if crs is None:
        with rasterio.open(paths[0]) as src:
            crs = src.crs.to_string()
    return data[0], Grid(transform.c, transform.f, transform.a, data.shape[2], data.shape[1], crs)


class RasterCache:
    """Band 1 of many rasters, read on demand a few at a time (least recently used go
    first) as float32 with NaN for no data: a run-wide job over per-tile rasters (the
    viewer's ground heights, its imagery) then holds a few tiles, whatever the city.

    Parameters
    ----------
    paths : sequence of path
        The rasters, in the order callers index them.
    size : int
        Arrays held at once.
    """

    def __init__(self, paths, size: int = 4):
        from collections import OrderedDict

        self.paths = [Path(p) for p in paths]
        self.size = max(1, size)
        self._arrays: OrderedDict[int, np.ndarray] = OrderedDict()

    def __getitem__(self, i: int) -> np.ndarray:
        if i in self._arrays:
            self._arrays.move_to_end(i)
            return self._arrays[i]
        with rasterio.open(self.paths[i]) as src:
            data, nodata = src.read(1).astype(np.float32), src.nodata
        if nodata is not None and not np.isnan(nodata):
            data[data == nodata] = np.nan
        self._arrays[i] = data
        while len(self._arrays) > self.size:
            self._arrays.popitem(last=False)
        return data


class MaxCanvas:
    """A float32 raster on disk that pieces are painted into, the highest value winning.

    For a run-wide raster assembled tile by tile (the walkability score of a city): each
    :meth:`paint` opens the file, reads and writes only the window of the piece and closes
    it again, so neither the canvas nor GDAL's block cache is ever held in memory whole;
    and since the maximum is order-independent the result is the same whatever order the
    pieces come in. :meth:`write_cog` streams it into a COG. Use as a context manager;
    the scratch file beside ``path`` (named as :mod:`tiles.atomic` names
    temporaries, so a killed run's is cleaned up too) is removed on exit.

    >>> with MaxCanvas(grid, "score.tif") as canvas:  # doctest: +SKIP
    ...     canvas.paint(values, canvas.window(bounds))
    ...     canvas.write_cog("score.tif", tags={"units": "score"})
    """

    def __init__(self, grid: Grid, path: str | os.PathLike):
        import uuid

        self.grid = grid
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        self.path = target.with_name(f".{target.stem}.{uuid.uuid4().hex[:8]}.tmp.tif")
        profile = dict(
            driver="GTiff",
            width=grid.width,
            height=grid.height,
            count=1,
            dtype="float32",
            crs=grid.crs,
            transform=grid.transform,
            nodata=np.nan,
            tiled=True,
            blockxsize=256,
            blockysize=256,
        )
        with rasterio.open(self.path, "w", **profile) as dataset:
            for _, window in dataset.block_windows(1):
                dataset.write(np.full((window.height, window.width), np.nan, np.float32), 1, window=window)

    def window(self, bounds: tuple[float, float, float, float], margin_m: float = 0.0) -> Grid | None:
        """The sub-grid of the canvas covering ``bounds`` grown by ``margin_m`` (None outside)."""
        g = self.grid
        col0 = max(0, int(math.floor((bounds[0] - margin_m - g.x_min) / g.resolution)))
        col1 = min(g.width, int(math.ceil((bounds[2] + margin_m - g.x_min) / g.resolution)))
        row0 = max(0, int(math.floor((g.y_max - bounds[3] - margin_m) / g.resolution)))
        row1 = min(g.height, int(math.ceil((g.y_max - bounds[1] + margin_m) / g.resolution)))
        if col1 <= col0 or row1 <= row0:
            return None
        return Grid(
            g.x_min + col0 * g.resolution,
            g.y_max - row0 * g.resolution,
            g.resolution,
            col1 - col0,
            row1 - row0,
            g.crs,
        )

    def paint(self, values: np.ndarray, piece: Grid) -> None:
        """Put ``values`` (on ``piece``, a :meth:`window` of the canvas) in, keeping the
        higher of the old and new value per cell (NaN is no value)."""
        from rasterio.windows import Window

        col = int(round((piece.x_min - self.grid.x_min) / self.grid.resolution))
        row = int(round((self.grid.y_max - piece.y_max) / self.grid.resolution))
        window = Window(col, row, piece.width, piece.height)
        with rasterio.open(self.path, "r+") as dataset:
            old = dataset.read(1, window=window)
            dataset.write(np.fmax(old, np.asarray(values, np.float32)), 1, window=window)

    def read(self, max_pixels: int | None = None, *, categorical: bool = False) -> tuple[np.ndarray, Grid]:
        """The canvas, decimated so neither side exceeds ``max_pixels``: by averaging, or
        for ``categorical`` codes (classes) by nearest cell, so a code stays a code."""
        from rasterio.enums import Resampling

        g = self.grid
        factor = max(1.0, max(g.width, g.height) / max_pixels) if max_pixels else 1.0
        width, height = max(1, int(round(g.width / factor))), max(1, int(round(g.height / factor)))
        with rasterio.open(self.path) as src:
            data = src.read(
                1,
                out_shape=(height, width),
                resampling=Resampling.nearest if categorical else Resampling.average,
            )
        resolution = g.resolution * g.width / width
        return data, Grid(g.x_min, g.y_max, resolution, width, height, g.crs)

    def write_cog(self, path: str | os.PathLike, *, tags: dict[str, str] | None = None) -> str:
        """Copy the canvas into a COG at ``path`` (atomically; options as :func:`write_cog`)."""
        from rasterio.shutil import copy as copy_dataset

        if tags:
            with rasterio.open(self.path, "r+") as dataset:
                dataset.update_tags(**tags)
        with atomic_path(path) as tmp:
            copy_dataset(
                self.path,
                tmp,
                driver="COG",
                compress="DEFLATE",
                predictor=3,
                blocksize=256,
                overview_resampling="average",
            )
        return str(path)

    def __enter__(self) -> MaxCanvas:
        return self

    def __exit__(self, *exc) -> None:
        self.path.unlink(missing_ok=True)
