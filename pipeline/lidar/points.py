"""The points of one tile and what happened to them: shared by both reading backends.

:mod:`pipeline.lidar.tile` (laspy) and :mod:`pipeline.lidar.backend_pdal` (PDAL) both
fill a :class:`TilePoints` and a :class:`LidarTileStats`; keeping them here lets each
backend import them without importing the other.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from pipeline.lidar.errors import LidarError

log = logging.getLogger(__name__)


@dataclass
class TilePoints:
    """Points inside a tile: x, y as float32 metres from the grid's (x_min, y_min) corner."""

    x: np.ndarray  # float32, metres east of grid.x_min
    y: np.ndarray  # float32, metres north of grid.y_min
    z: np.ndarray  # float32, orthometric metres
    classification: np.ndarray  # uint8
    number_of_returns: np.ndarray  # uint8

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @classmethod
    def empty(cls) -> TilePoints:
        f32, u8 = np.empty(0, np.float32), np.empty(0, np.uint8)
        return cls(f32, f32, f32, u8, u8)

    def subset(self, mask: np.ndarray) -> TilePoints:
        return TilePoints(
            self.x[mask], self.y[mask], self.z[mask], self.classification[mask], self.number_of_returns[mask]
        )


@dataclass
class LidarTileStats:
    """What happened to the points of one tile."""

    files: list[str] = field(default_factory=list)
    skipped_files: dict[str, str] = field(default_factory=dict)  # path -> error
    backend: str = "laspy"
    points_in_tile: int = 0
    class_counts: dict[int, int] = field(default_factory=dict)  # as read, before noise removal
    noise_class_points: int = 0  # ASPRS 7 / 18, dropped
    outlier_points: int = 0  # statistical outliers, dropped
    ground_points: int = 0  # ground points the DTM was made from
    ground_source: str = ""  # "ASPRS class 2" | "cloth simulation filter" | "PDAL SMRF"
    vegetation_source: str = ""
    vegetation_points: int = 0
    vertical_datum: str = "unknown/assumed orthometric"
    seconds: float = 0.0


def skip_bad_file(exc: LidarError, stats: LidarTileStats, skip_bad_files: bool) -> None:
    """Record a file that failed (and go on), or re-raise when the caller wants that."""
    if not skip_bad_files:
        raise exc
    log.error("skipped %s", exc)
    stats.skipped_files[str(exc.path)] = exc.problem
