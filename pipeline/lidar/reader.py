"""Read LAS 1.0-1.4 / LAZ points in bounded chunks, reprojected to a target CRS.

Every file goes through :func:`open_checked` first: the header is checked against the
file size (:mod:`pipeline.lidar.header`) before laspy sees it, and its CRS is resolved
(:mod:`pipeline.lidar.crs`). Points are then streamed with
``laspy.open(...).chunk_iterator(chunk_size)`` (LAZ decompressed by lazrs), so memory
per chunk is ``chunk_size`` points whatever the file size.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, fields

import laspy
import numba
import numpy as np
from pyproj import CRS

from pipeline.lidar.crs import PointTransform, SourceCRS, resolve_source_crs
from pipeline.lidar.errors import LidarError, LidarHeaderError
from pipeline.lidar.header import LasPublicHeader, read_checked_header
from pipeline.lidar.points import TilePoints

log = logging.getLogger(__name__)

DEFAULT_CHUNK_SIZE = 1_000_000
#: Point formats that carry red/green/blue.
RGB_FORMATS = frozenset({2, 3, 5, 7, 8, 10})


@dataclass
class PointChunk:
    """Points of one chunk; coordinates in the target CRS, heights in orthometric metres."""

    x: np.ndarray  # float64, target CRS x (easting or longitude)
    y: np.ndarray  # float64, target CRS y (northing or latitude)
    z: np.ndarray  # float64, metres, orthometric as in the file
    classification: np.ndarray  # uint8, ASPRS class
    return_number: np.ndarray | None  # uint8, 1-based (None: only the raster dimensions read)
    number_of_returns: np.ndarray  # uint8
    intensity: np.ndarray | None  # uint16 (None when only the raster dimensions were read)
    rgb: np.ndarray | None  # (n, 3) uint16, or None when the format has no colour

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def subset(self, mask: np.ndarray) -> PointChunk:
        """The points where ``mask`` is true (or at the given indices)."""
        return PointChunk(
            **{
                f.name: (None if getattr(self, f.name) is None else getattr(self, f.name)[mask])
                for f in fields(self)
            }
        )


@dataclass(frozen=True)
class CheckedLas:
    """A LAS/LAZ file whose header passed the size checks, with its resolved CRS."""

    path: str
    header: LasPublicHeader
    crs: SourceCRS


def open_checked(path: str | os.PathLike, source_crs: str | CRS | None = None) -> CheckedLas:
    """Check the header of ``path`` against its size, then resolve its CRS.

    Raises
    ------
    LidarHeaderError
        Corrupt or inconsistent header; no point is read.
    LidarCRSError
        No readable CRS in the file and ``source_crs`` is None.
    """
    header = read_checked_header(path)
    try:
        with laspy.open(os.fspath(path)) as reader:
            laspy_header = reader.header
    except (laspy.errors.LaspyException, ValueError, EOFError) as exc:
        raise LidarHeaderError(path, f"laspy cannot read the header: {exc}") from exc
    return CheckedLas(str(path), header, resolve_source_crs(header, laspy_header, source_crs))


#: What the rasters need (x, y, z, class, number of returns): LAS 1.4 layered LAZ (point
#: formats 6-10) then skips decoding the other layers (intensity, GPS time, ...).
RASTER_LAYERS = (
    laspy.DecompressionSelection.XY_RETURNS_CHANNEL
    | laspy.DecompressionSelection.Z
    | laspy.DecompressionSelection.CLASSIFICATION
)


def _chunk_from_record(
    points, transform: PointTransform, point_format: int, raster_only: bool = False
) -> PointChunk:
    x, y, z = transform(np.asarray(points.x), np.asarray(points.y), np.asarray(points.z))
    if raster_only:
        return PointChunk(
            x=x,
            y=y,
            z=z,
            classification=np.asarray(points.classification, dtype=np.uint8),
            return_number=None,
            number_of_returns=np.asarray(points.number_of_returns, dtype=np.uint8),
            intensity=None,
            rgb=None,
        )
    rgb = None
    if point_format in RGB_FORMATS:
        rgb = np.stack(
            [np.asarray(points.red), np.asarray(points.green), np.asarray(points.blue)], axis=1
        ).astype(np.uint16, copy=False)
    return PointChunk(
        x=x,
        y=y,
        z=z,
        classification=np.asarray(points.classification, dtype=np.uint8),
        return_number=np.asarray(points.return_number, dtype=np.uint8),
        number_of_returns=np.asarray(points.number_of_returns, dtype=np.uint8),
        intensity=np.asarray(points.intensity, dtype=np.uint16),
        rgb=rgb,
    )


def iter_point_chunks(
    las: CheckedLas,
    target_crs: str | CRS,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    bounds: tuple[float, float, float, float] | None = None,
    raster_only: bool = False,
) -> Iterator[PointChunk]:
    """Yield the points of a checked file chunk by chunk, in ``target_crs``.

    Parameters
    ----------
    las : CheckedLas
        From :func:`open_checked`.
    target_crs : str or pyproj.CRS
        CRS of the output x/y (its horizontal part); z stays orthometric, in metres.
    chunk_size : int
        Points decoded at a time; bounds memory whatever the file size.
    bounds : (x_min, y_min, x_max, y_max), optional
        Keep only points with ``x_min <= x < x_max`` and ``y_min < y <= y_max`` in the
        target CRS (the half-open cells of :class:`pipeline.geo.raster.Grid`).
    raster_only : bool
        Read only x, y, z, classification and number of returns (``intensity``,
        ``return_number`` and ``rgb`` are None); LAS 1.4 LAZ then decodes only those
        layers, a quarter less work.

    Raises
    ------
    LidarError
        When decoding fails part-way (truncated or corrupt point data).
    """
    transform = PointTransform(las.crs, target_crs)
    if bounds is not None and las.header.point_count:
        x_min, y_min, x_max, y_max = transform.bounds(*las.header.mins[:2], *las.header.maxs[:2])
        if x_max < bounds[0] or x_min > bounds[2] or y_max < bounds[1] or y_min > bounds[3]:
            return
    with _decoding(las) as count:
        selection = RASTER_LAYERS if raster_only else laspy.DecompressionSelection.all()
        with laspy.open(las.path, decompression_selection=selection) as reader:
            for points in reader.chunk_iterator(chunk_size):
                chunk = _chunk_from_record(points, transform, las.header.point_format, raster_only)
                count.read += len(chunk)
                if bounds is not None:
                    inside = (
                        (chunk.x >= bounds[0])
                        & (chunk.x < bounds[2])
                        & (chunk.y > bounds[1])
                        & (chunk.y <= bounds[3])
                    )
                    if not inside.all():
                        chunk = chunk.subset(inside)
                count.kept += len(chunk)
                if len(chunk):
                    yield chunk


def iter_tile_points(
    las: CheckedLas,
    target_crs: str | CRS,
    *,
    bounds: tuple[float, float, float, float],
    origin: tuple[float, float],
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Iterator[TilePoints]:
    """The points of a checked file inside ``bounds``, chunk by chunk, as :class:`TilePoints`
    (float32 metres from ``origin``; x, y, z, classification and number of returns only).

    The same numbers as ``iter_point_chunks(..., bounds=bounds, raster_only=True)``
    followed by ``(x - origin[0]).astype(np.float32)``, ...: when the file is already in
    ``target_crs``, one compiled pass goes from the stored integers to the kept float32
    points (no float64 arrays, no mask, no copies); otherwise x, y are reprojected first.

    Raises
    ------
    LidarError
        When decoding fails part-way (truncated or corrupt point data).
    """
    transform = PointTransform(las.crs, target_crs)
    if not transform.identity:
        for chunk in iter_point_chunks(
            las, target_crs, chunk_size=chunk_size, bounds=bounds, raster_only=True
        ):
            yield TilePoints(
                (chunk.x - origin[0]).astype(np.float32),
                (chunk.y - origin[1]).astype(np.float32),
                chunk.z.astype(np.float32),
                chunk.classification,
                chunk.number_of_returns,
            )
        return
    if las.header.point_count:
        x_min, y_min, x_max, y_max = (*las.header.mins[:2], *las.header.maxs[:2])
        if x_max < bounds[0] or x_min > bounds[2] or y_max < bounds[1] or y_min > bounds[3]:
            return
    with _decoding(las) as count:
        with laspy.open(las.path, decompression_selection=RASTER_LAYERS) as reader:
            for points in reader.chunk_iterator(chunk_size):
                count.read += len(points)
                # laspy scales as (X * scale) + offset in float64; so does the kernel
                kept = _scaled_inside(
                    points.array["X"],
                    points.array["Y"],
                    points.array["Z"],
                    np.asarray(points.classification, dtype=np.uint8),
                    np.asarray(points.number_of_returns, dtype=np.uint8),
                    np.asarray(points.scales, dtype=np.float64),
                    np.asarray(points.offsets, dtype=np.float64),
                    float(las.crs.z_to_metres),
                    np.asarray(bounds, dtype=np.float64),
                    float(origin[0]),
                    float(origin[1]),
                )
                count.kept += len(kept[0])
                if len(kept[0]):
                    yield TilePoints(*kept)


@dataclass
class _Count:
    read: int = 0
    kept: int = 0


@contextlib.contextmanager
def _decoding(las: CheckedLas) -> Iterator[_Count]:
    """Count the points a read decodes and keeps; a decoding failure becomes a
    :class:`LidarError` naming the file and how far it got; log the counts and time."""
    count, started = _Count(), time.perf_counter()
    try:
        yield count
    except (laspy.errors.LaspyException, ValueError, EOFError, OSError) as exc:
        if isinstance(exc, LidarError):
            raise
        raise LidarError(las.path, f"point data unreadable after {count.read:,} points: {exc}") from exc
    log.info(
        "read %s: %d points, %d inside bounds, %.2f s",
        las.path,
        count.read,
        count.kept,
        time.perf_counter() - started,
    )


@numba.njit(cache=True, nogil=True)
def _scaled_inside(X, Y, Z, classification, returns, scales, offsets, z_to_metres, bounds, x0, y0):
    """Stored integers -> float32 metres from ``(x0, y0)`` of the points inside ``bounds``.

    ``x = X * scale + offset`` (float64, the file's CRS = the target's), kept when
    ``bounds[0] <= x < bounds[2]`` and ``bounds[1] < y <= bounds[3]``; returns
    ``float32(x - x0)``, ``float32(y - y0)``, ``float32(z * z_to_metres)`` (metres) and
    the kept classification and number of returns (uint8).
    """
    n = X.size
    xs, ys, zs = np.empty(n, np.float32), np.empty(n, np.float32), np.empty(n, np.float32)
    cls, nret = np.empty(n, np.uint8), np.empty(n, np.uint8)
    m = 0
    for i in range(n):
        x = np.float64(X[i]) * scales[0] + offsets[0]
        y = np.float64(Y[i]) * scales[1] + offsets[1]
        if not (x >= bounds[0] and x < bounds[2] and y > bounds[1] and y <= bounds[3]):
            continue
        z = np.float64(Z[i]) * scales[2] + offsets[2]
        if z_to_metres != 1.0:
            z = z * z_to_metres
        xs[m] = np.float32(x - x0)
        ys[m] = np.float32(y - y0)
        zs[m] = np.float32(z)
        cls[m] = classification[i]
        nret[m] = returns[i]
        m += 1
    return xs[:m], ys[:m], zs[:m], cls[:m], nret[:m]


def file_bounds(
    path: str | os.PathLike, target_crs: str | CRS, *, source_crs: str | CRS | None = None
) -> tuple[float, float, float, float] | None:
    """Header bounds of a file as ``(x_min, y_min, x_max, y_max)`` in ``target_crs``.

    Reads only the header; used to decide which tiles a file touches. Returns None
    (with a warning) for a file without points.
    """
    las = open_checked(path, source_crs)
    if las.header.point_count == 0:
        log.warning("%s: no points; it touches no tile", path)
        return None
    transform = PointTransform(las.crs, target_crs)
    return transform.bounds(*las.header.mins[:2], *las.header.maxs[:2])


def iter_tileset_points(
    paths: list[str | os.PathLike],
    target_crs: str | CRS = "EPSG:4326",
    *,
    source_crs: str | CRS | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    bounds: tuple[float, float, float, float] | None = None,
) -> Iterator[dict[str, np.ndarray]]:
    """Chunks of points for a point-cloud 3D Tiles writer (``tiles.write_point_tileset``).

    Each chunk is a dict of numpy arrays of equal length:

    - ``positions``: (n, 3) float64; x, y in ``target_crs`` (longitude, latitude in
      degrees for a geographic CRS, thanks to ``always_xy``), z orthometric metres
      (the tiles writer adds the geoid height to place it on the ellipsoid);
    - ``rgb``: (n, 3) uint8 (LAS 16-bit colour scaled down; grey from the top 8 bits
      of intensity when the file has no colour);
    - ``classification`` uint8, ``intensity`` uint16, ``return_number`` uint8.
    """
    for path in paths:
        las = open_checked(path, source_crs)
        for chunk in iter_point_chunks(las, target_crs, chunk_size=chunk_size, bounds=bounds):
            yield {
                "positions": np.column_stack([chunk.x, chunk.y, chunk.z]),
                "rgb": _rgb8(chunk),
                "classification": chunk.classification,
                "intensity": chunk.intensity,
                "return_number": chunk.return_number,
            }


def _rgb8(chunk: PointChunk) -> np.ndarray:
    if chunk.rgb is not None:
        rgb = chunk.rgb
        # LAS says 16-bit colour, but many writers store 8-bit values: scale only if needed.
        return (rgb >> 8).astype(np.uint8) if rgb.max(initial=0) > 255 else rgb.astype(np.uint8)
    # LAS 1.4 normalises intensity to 16 bits; a fixed shift keeps chunks consistent.
    grey8 = (chunk.intensity >> 8).astype(np.uint8)
    return np.repeat(grey8[:, None], 3, axis=1)
