"""Raster results as web-mercator PNG tiles (XYZ) the viewer drapes on the ground.

Why tiles and not one image per scenario: an image of a whole city at 1 m is tens of
thousands of pixels on a side, which no browser texture holds; XYZ tiles let the
viewer fetch only what is on screen, at the zoom it needs. The finest zoom is the first
whose pixels are no larger than the source cells (z17, 0.97 m at 36° N, for 1 m
rasters), so 1 m shade stays sharp; the coarsest is the one where the whole extent fits
in a tile. Tiles are made depth first from the finest level up (each parent the
NaN-aware mean of its four children), so memory stays at a few tiles whatever the city.

Every tile inside the extent is written, an empty one as a transparent PNG, so the
viewer never asks for a tile that is not there. Values are coloured with a matplotlib
colour map between ``vmin`` and ``vmax``; NaN (no data) is transparent.
"""
from __future__ import annotations

import io
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from tiles.atomic import write_bytes_atomic
from pipeline.geo.raster import RasterCache

log = logging.getLogger(__name__)

TILE_SIZE = 256
EARTH_CIRCUMFERENCE_M = 2 * math.pi * 6_378_137.0
URL_TEMPLATE = "{z}/{x}/{y}.png"


@dataclass(frozen=True)
class ImageryPyramid:
    """A written XYZ pyramid: ``{z}/{x}/{y}.png`` under ``folder``.

    ``bounds`` (west, south, east, north) in degrees is the data's extent; every tile of
    zoom ``min_zoom`` to ``max_zoom`` that touches it exists.
    """

    folder: Path
    min_zoom: int
    max_zoom: int
    bounds: tuple[float, float, float, float]
    tiles: int


def finest_zoom(resolution_m: float, latitude_deg: float) -> int:
    """The first zoom whose pixels (m on the ground at ``latitude_deg``) are at most
    ``resolution_m``."""
    ground = EARTH_CIRCUMFERENCE_M * math.cos(math.radians(latitude_deg)) / TILE_SIZE
    return int(min(22, max(0, math.ceil(math.log2(ground / resolution_m)))))


def coarsest_zoom(width_m: float, latitude_deg: float, finest: int) -> int:
    """The zoom at which a tile is about as wide as ``width_m``, not above ``finest``."""
    ground = EARTH_CIRCUMFERENCE_M * math.cos(math.radians(latitude_deg))
    return int(min(finest, max(0, math.floor(math.log2(ground / max(width_m, 1.0))))))


class _Sources:
    """The COGs of one layer, their bounds in web mercator, arrays read on demand (LRU)."""

    def __init__(self, paths: Sequence[str | Path], cache: int = 16):
        import rasterio
        from rasterio.warp import transform_bounds

        self.paths = sorted(Path(p) for p in paths)
        if not self.paths:
            raise ValueError("no rasters to tile")
        self.meta = []
        for path in self.paths:
            with rasterio.open(path) as src:
                if src.crs is None:
                    raise ValueError(f"{path}: raster without a CRS")
                merc = transform_bounds(src.crs, "EPSG:3857", *src.bounds, densify_pts=21)
                lonlat = transform_bounds(src.crs, "EPSG:4326", *src.bounds, densify_pts=21)
                self.meta.append((src.crs, src.transform, src.nodata, merc, lonlat, abs(src.transform.a)))
        self._arrays = RasterCache(self.paths, cache)

    @property
    def lonlat_bounds(self) -> tuple[float, float, float, float]:
        b = np.array([m[4] for m in self.meta])
        return (float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max()))

    @property
    def resolution_m(self) -> float:
        return float(min(m[5] for m in self.meta))

    def warp(self, merc_bounds: tuple[float, float, float, float]) -> np.ndarray:
        """The sources resampled (nearest) onto one 256 x 256 web-mercator tile; NaN outside."""
        from rasterio.transform import from_bounds
        from rasterio.warp import Resampling, reproject

        out = np.full((TILE_SIZE, TILE_SIZE), np.nan, np.float32)
        west, south, east, north = merc_bounds
        dst_transform = from_bounds(west, south, east, north, TILE_SIZE, TILE_SIZE)
        for i, (crs, transform, _, b, _, _) in enumerate(self.meta):
            if b[0] >= east or b[2] <= west or b[1] >= north or b[3] <= south:
                continue
            # sources later in path order fill only what earlier ones left empty
            layer = np.full_like(out, np.nan)
            reproject(self._arrays[i], layer, src_transform=transform, src_crs=crs, src_nodata=np.nan,
                      dst_transform=dst_transform, dst_crs="EPSG:3857", dst_nodata=np.nan,
                      resampling=Resampling.nearest)
            empty = np.isnan(out)
            out[empty] = layer[empty]
        return out


def _downsample(children: list[list[np.ndarray | None]]) -> np.ndarray:
    """A parent tile from its 2 x 2 children (``children[row][col]``; None = outside):
    the mean of the known values of each 2 x 2 block, NaN where all four are unknown."""
    full = np.full((2 * TILE_SIZE, 2 * TILE_SIZE), np.nan, np.float32)
    for r in range(2):
        for c in range(2):
            child = children[r][c]
            if child is not None:
                full[r * TILE_SIZE:(r + 1) * TILE_SIZE, c * TILE_SIZE:(c + 1) * TILE_SIZE] = child
    blocks = full.reshape(TILE_SIZE, 2, TILE_SIZE, 2)
    known = np.isfinite(blocks)
    total = np.where(known, blocks, 0.0).sum(axis=(1, 3))
    count = known.sum(axis=(1, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan).astype(np.float32)


def colourize(values: np.ndarray, *, cmap: str, vmin: float, vmax: float, alpha: float = 0.6) -> bytes:
    """PNG bytes of ``values`` coloured by ``cmap`` over [vmin, vmax]; NaN transparent."""
    from matplotlib import colormaps
    from PIL import Image

    scaled = np.clip((values - vmin) / (vmax - vmin if vmax > vmin else 1.0), 0.0, 1.0)
    rgba = (colormaps[cmap](np.nan_to_num(scaled)) * 255).round().astype(np.uint8)
    rgba[..., 3] = np.where(np.isnan(values), 0, int(round(alpha * 255)))
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def write_imagery_tiles(paths: Sequence[str | Path], out_dir: str | Path, *, cmap: str, vmin: float,
                        vmax: float, alpha: float = 0.6, max_zoom: int | None = None,
                        min_zoom: int | None = None) -> ImageryPyramid:
    """Colour the rasters at ``paths`` into an XYZ PNG pyramid under ``out_dir``.

    Parameters
    ----------
    paths : sequence of path
        Single-band rasters (COGs) of one variable, e.g. one scenario's shade hours on
        every tile; any CRS, NaN or their nodata = no data. Where tiles overlap (halos)
        the first in sorted path order wins.
    out_dir : path
        Receives ``{z}/{x}/{y}.png``.
    cmap, vmin, vmax : str, float, float
        Matplotlib colour map and the value range it spans (in the rasters' units).
    alpha : float
        Opacity of cells with data.
    max_zoom, min_zoom : int, optional
        Zoom range; by default from the rasters' cell size and extent (module doc).

    Returns
    -------
    ImageryPyramid
    """
    import mercantile

    sources = _Sources(paths)
    west, south, east, north = sources.lonlat_bounds
    latitude = (south + north) / 2.0
    width_m = (east - west) * EARTH_CIRCUMFERENCE_M / 360.0 * math.cos(math.radians(latitude))
    finest = finest_zoom(sources.resolution_m, latitude) if max_zoom is None else max_zoom
    coarsest = coarsest_zoom(width_m, latitude, finest) if min_zoom is None else min(min_zoom, finest)
    out_dir = Path(out_dir)
    transparent = colourize(np.full((TILE_SIZE, TILE_SIZE), np.nan, np.float32), cmap=cmap, vmin=vmin,
                            vmax=vmax, alpha=alpha)
    inside = {z: {(t.x, t.y) for t in mercantile.tiles(west, south, east, north, [z])}
              for z in range(coarsest, finest + 1)}
    written = 0

    def tile(z: int, x: int, y: int) -> np.ndarray | None:
        nonlocal written
        if (x, y) not in inside[z]:
            return None
        if z == finest:
            values = sources.warp(tuple(mercantile.xy_bounds(x, y, z)))
        else:
            values = _downsample([[tile(z + 1, 2 * x + c, 2 * y + r) for c in range(2)] for r in range(2)])
        has_data = bool(np.isfinite(values).any())
        data = colourize(values, cmap=cmap, vmin=vmin, vmax=vmax, alpha=alpha) if has_data else transparent
        write_bytes_atomic(out_dir / str(z) / str(x) / f"{y}.png", data)
        written += 1
        return values

    for x, y in sorted(inside[coarsest]):
        tile(coarsest, x, y)
    log.info("imagery %s: %d tiles, zoom %d-%d", out_dir, written, coarsest, finest)
    return ImageryPyramid(out_dir, coarsest, finest, (west, south, east, north), written)
