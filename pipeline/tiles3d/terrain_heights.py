"""Ground heights for the viewer: sampled from the surface stage's terrain COGs.

The terrain COGs (``surface/<tile>_terrain.tif``) are per-tile grids with a halo, in the
run's metric CRS, orthometric metres. :class:`TerrainHeights` answers "how high is the
ground here" for any points; :func:`ellipsoidal_height_grid` resamples it onto a
longitude/latitude grid of ellipsoidal heights (orthometric + GSI geoid), the globe
surface the viewer draws so that draped imagery, streets and buildings stand on one
ground.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.geo.raster import Grid, RasterCache

log = logging.getLogger(__name__)


class TerrainHeights:
    """Orthometric ground height (m) at points in the terrain's CRS.

    Parameters
    ----------
    paths : sequence of path
        Terrain COGs (float32, metres), all in one metric CRS. Where several cover a
        point, the first in sorted path order wins (tiles agree inside their halos).
    default_m : float, optional
        Height where no raster covers a point. Without it such points raise.
    cache : int
        Rasters held in memory at once (least recently used go first): a city's
        terrain is read a few tiles at a time, so memory is that of a few tiles.

    Notes
    -----
    Values are the nearest cell's (the terrain grid is 1 m in a normal run, finer than
    anything drawn on it). Only headers are read up front; a raster's cells on first use.
    """

    def __init__(self, paths: Sequence[str | Path], default_m: float | None = None, cache: int = 4):
        self.paths = sorted(Path(p) for p in paths)
        self.default_m = default_m
        self._grids: list[Grid] | None = None
        self._arrays = RasterCache(self.paths, cache)

    def grids(self) -> list[Grid]:
        """The rasters' grids (headers only)."""
        if self._grids is None:
            import rasterio

            grids = []
            for path in self.paths:
                with rasterio.open(path) as src:
                    t = src.transform
                    grids.append(Grid(t.c, t.f, t.a, src.width, src.height, src.crs.to_string()))
            crs = {g.crs for g in grids}
            if len(crs) > 1:
                raise ValueError(f"terrain rasters are in several CRS {sorted(crs)}: {self.paths}")
            self._grids = grids
        return self._grids

    @property
    def crs(self) -> str | None:
        grids = self.grids()
        return grids[0].crs if grids else None

    def bounds(self) -> tuple[float, float, float, float] | None:
        """(x_min, y_min, x_max, y_max) of all rasters (m), or None without rasters."""
        grids = self.grids()
        if not grids:
            return None
        b = np.array([g.bounds for g in grids])
        return (float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max()))

    def mean_height(self) -> float | None:
        """Mean height (m) over every raster cell with a value; None without values."""
        total, count = 0.0, 0
        for i in range(len(self.grids())):
            values = self._arrays[i]
            finite = values[np.isfinite(values)]
            total += float(finite.sum(dtype=np.float64))
            count += finite.size
        return total / count if count else None

    def sample(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Heights (m, orthometric) at ``x, y`` (m, in the rasters' CRS); NaN where no raster
        has a value. Same shape as ``x``."""
        x, y = np.broadcast_arrays(np.asarray(x, np.float64), np.asarray(y, np.float64))
        heights = np.full(x.shape, np.nan)
        for i, grid in enumerate(self.grids()):
            todo = np.isnan(heights)
            if not todo.any():
                break
            row, col = grid.rowcol(x[todo], y[todo])
            inside = (row >= 0) & (row < grid.height) & (col >= 0) & (col < grid.width)
            if not inside.any():
                continue  # its cells are not read
            values = np.full(row.shape, np.nan)
            values[inside] = self._arrays[i][row[inside], col[inside]]
            heights[todo] = values
        return heights

    def __call__(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Heights (m, orthometric) at ``x, y``; ``default_m`` where no raster has a value.

        Raises
        ------
        ValueError
            If a point has no value and there is no ``default_m``.
        """
        x, y = np.broadcast_arrays(np.asarray(x, np.float64), np.asarray(y, np.float64))
        heights = self.sample(x, y)
        missing = np.isnan(heights)
        if missing.any():
            if self.default_m is None:
                i = np.flatnonzero(missing.ravel())[0]
                raise ValueError(
                    f"{int(missing.sum())} point(s) outside every terrain raster "
                    f"({len(self.paths)} file(s)), e.g. x {x.ravel()[i]:.1f}, y {y.ravel()[i]:.1f}"
                )
            heights[missing] = self.default_m
        return heights


#: Rows of the height grid computed at once (bounds the float64 coordinates in memory).
ROWS_PER_BAND = 128


@dataclass(frozen=True)
class HeightGrid:
    """Ellipsoidal heights on a longitude/latitude grid (cell centres; row 0 north).

    ``heights`` (rows, cols) float32, metres above the GRS80 ellipsoid; ``west``,
    ``south``, ``east``, ``north`` in degrees (JGD2011 ≈ WGS84) are the outer edges.
    """

    heights: np.ndarray
    west: float
    south: float
    east: float
    north: float


def ellipsoidal_height_grid(
    terrain: TerrainHeights,
    lonlat_bounds: tuple[float, float, float, float],
    *,
    crs: str,
    resolution_m: float = 5.0,
    max_size: int = 2048,
    geoid_model: str = "gsigeo2011",
) -> HeightGrid:
    """Resample the terrain onto a lon/lat grid of ellipsoidal heights.

    Parameters
    ----------
    terrain : TerrainHeights
        Orthometric heights in ``crs``; points it does not cover take the nearest
        covered grid value (or ``terrain.default_m`` when none is covered).
    lonlat_bounds : (west, south, east, north)
        Degrees.
    crs : str
        The terrain's metric CRS (``EPSG:6677``).
    resolution_m : float
        Target spacing (m); coarsened so neither side exceeds ``max_size`` cells.

    Returns
    -------
    HeightGrid
    """
    from pyproj import Transformer
    from scipy import ndimage

    from pipeline.geo.geoid import geoid_height

    west, south, east, north = lonlat_bounds
    lat0 = math.radians((south + north) / 2.0)
    metres_per_deg_lat = 111_132.0
    width_m = (east - west) * metres_per_deg_lat * math.cos(lat0)
    height_m = (north - south) * metres_per_deg_lat
    step = max(resolution_m, width_m / max_size, height_m / max_size)
    cols = max(2, int(math.ceil(width_m / step)))
    rows = max(2, int(math.ceil(height_m / step)))
    lon = west + (np.arange(cols) + 0.5) * (east - west) / cols
    lat = north - (np.arange(rows) + 0.5) * (north - south) / rows
    to_metric = Transformer.from_crs("EPSG:6668", crs, always_xy=True)
    # a band of rows at a time: the float64 coordinates of the whole grid would cost
    # ~50 bytes a cell; what stays is the float32 grid and the mask of uncovered cells
    ortho = np.empty((rows, cols), np.float32)
    for start in range(0, rows, ROWS_PER_BAND):
        lon2, lat2 = np.meshgrid(lon, lat[start : start + ROWS_PER_BAND])
        x, y = to_metric.transform(lon2, lat2)
        ortho[start : start + ROWS_PER_BAND] = terrain.sample(np.asarray(x), np.asarray(y))
    missing = np.isnan(ortho)
    if missing.all():
        ortho[:] = terrain.default_m if terrain.default_m is not None else 0.0
    elif missing.any():
        index = ndimage.distance_transform_edt(missing, return_distances=False, return_indices=True)
        ortho = ortho[tuple(index)]
        del index
    heights = ortho
    for start in range(0, rows, ROWS_PER_BAND):
        lon2, lat2 = np.meshgrid(lon, lat[start : start + ROWS_PER_BAND])
        band = heights[start : start + ROWS_PER_BAND]
        band[:] = (band.astype(np.float64) + geoid_height(lon2, lat2, geoid_model)).astype(np.float32)
    log.info("terrain height grid %d x %d at %.1f m", cols, rows, step)
    return HeightGrid(heights, west, south, east, north)
