"""LiDAR stage: LAS/LAZ in, DTM / DSM / nDSM / canopy / density rasters per tile out.

Files are checked against their size before any point is read
(:mod:`~pipeline.lidar.header`), their CRS resolved (:mod:`~pipeline.lidar.crs`),
and streamed in bounded chunks (:mod:`~pipeline.lidar.reader`). Per tile, noise is
removed (:mod:`~pipeline.lidar.noise`), ground taken from ASPRS classes or the cloth
simulation filter (:mod:`~pipeline.lidar.ground`) and rasters made on a
:class:`pipeline.geo.raster.Grid` (:mod:`~pipeline.lidar.rasters`, :mod:`~pipeline.lidar.tile`).
Heights stay orthometric, in metres.
"""

from pipeline.lidar.crs import SourceCRS
from pipeline.lidar.errors import LidarBackendError, LidarCRSError, LidarError, LidarHeaderError
from pipeline.lidar.ground import ClothParameters
from pipeline.lidar.header import LasPublicHeader, read_checked_header
from pipeline.lidar.points import LidarTileStats, TilePoints
from pipeline.lidar.reader import (
    CheckedLas,
    PointChunk,
    file_bounds,
    iter_point_chunks,
    iter_tileset_points,
    open_checked,
)
from pipeline.lidar.summary import LidarSummary, summarize_lidar_file
from pipeline.lidar.tile import LidarRasters, lidar_rasters_for_tile, write_lidar_rasters

__all__ = [
    "CheckedLas",
    "ClothParameters",
    "LasPublicHeader",
    "LidarBackendError",
    "LidarCRSError",
    "LidarError",
    "LidarHeaderError",
    "LidarRasters",
    "LidarSummary",
    "LidarTileStats",
    "PointChunk",
    "SourceCRS",
    "TilePoints",
    "file_bounds",
    "iter_point_chunks",
    "iter_tileset_points",
    "lidar_rasters_for_tile",
    "open_checked",
    "read_checked_header",
    "summarize_lidar_file",
    "write_lidar_rasters",
]
