"""The per-tile LiDAR task: points of the files touching a tile -> rasters on its grid.

A Dask runner makes one task per tile::

    result = lidar_rasters_for_tile(paths_touching_tile, tile_grid.buffered(halo_m),
                                    source_crs=run.lidar_crs)
    outputs = write_lidar_rasters(result, out_dir / "lidar", tile_id)

Only the points inside the tile grid are kept (files are streamed chunk by chunk and
filtered after reprojection), stored compactly (float32 offsets from the grid corner,
14 bytes a point), so memory per task grows with the tile's points, never with the
files' size.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
from pyproj import CRS

from pipeline.geo.raster import Grid, write_cog
from pipeline.lidar import ground as ground_mod
from pipeline.lidar import rasters
from pipeline.lidar.backend_pdal import collect_tile_points_pdal
from pipeline.lidar.crs import require_metric
from pipeline.lidar.errors import LidarBackendError, LidarError
from pipeline.lidar.noise import noise_class_mask, statistical_outlier_mask
from pipeline.lidar.points import LidarTileStats, TilePoints, skip_bad_file
from pipeline.lidar.reader import DEFAULT_CHUNK_SIZE, iter_tile_points, open_checked

log = logging.getLogger(__name__)

Backend = Literal["auto", "laspy", "pdal"]
RASTER_NAMES = ("dtm", "dsm", "ndsm", "chm", "density")


@dataclass
class LidarRasters:
    """Rasters of one tile on ``grid`` (float32, metres; density in points per m²).

    ``dtm``/``dsm``/``ndsm`` are NaN everywhere when the tile holds no ground point.
    """

    grid: Grid
    dtm: np.ndarray
    dsm: np.ndarray
    ndsm: np.ndarray
    chm: np.ndarray
    density: np.ndarray
    stats: LidarTileStats

    def layers(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in RASTER_NAMES}


def _local_grid(grid: Grid) -> Grid:
    """The same grid with its origin at (0, 0) south-west: the frame of TilePoints."""
    return replace(grid, x_min=0.0, y_max=grid.height * grid.resolution)


def pdal_available() -> bool:
    try:
        import pdal  # noqa: F401
    except ImportError:
        return False
    return True


def choose_backend(backend: Backend) -> str:
    """``"auto"`` is PDAL when its Python bindings import, else laspy."""
    if backend == "auto":
        return "pdal" if pdal_available() else "laspy"
    if backend == "pdal" and not pdal_available():
        raise LidarBackendError(
            "pdal",
            "backend 'pdal' requested but `import pdal` fails "
            "(install PDAL and python-pdal, e.g. from conda-forge)",
        )
    if backend not in ("laspy", "pdal"):
        raise ValueError(f"unknown LiDAR backend {backend!r} (auto, laspy or pdal)")
    return backend


def collect_tile_points(
    paths: list[str | os.PathLike],
    grid: Grid,
    *,
    source_crs: str | CRS | None,
    target_crs: str | CRS,
    chunk_size: int,
    stats: LidarTileStats,
    skip_bad_files: bool,
) -> TilePoints:
    """Stream every file and keep the points inside ``grid`` (laspy backend)."""
    parts: list[TilePoints] = []
    datums = set()
    for path in paths:
        file_parts: list[TilePoints] = []  # kept only once the whole file decoded
        try:
            las = open_checked(path, source_crs)
            file_parts.extend(
                iter_tile_points(
                    las,
                    target_crs,
                    bounds=grid.bounds,
                    origin=(grid.x_min, grid.y_min),
                    chunk_size=chunk_size,
                )
            )
        except LidarError as exc:
            skip_bad_file(exc, stats, skip_bad_files)
            continue
        parts.extend(file_parts)
        stats.files.append(str(path))
        datums.add(las.crs.vertical_datum)
    if len(datums) == 1:
        stats.vertical_datum = datums.pop()
    elif datums:
        stats.vertical_datum = "mixed: " + ", ".join(sorted(datums))
    if not parts:
        return TilePoints.empty()
    points = TilePoints(
        *(
            np.concatenate([getattr(p, name) for p in parts])
            for name in ("x", "y", "z", "classification", "number_of_returns")
        )
    )
    return points


def rasters_from_points(
    points: TilePoints,
    grid: Grid,
    stats: LidarTileStats,
    *,
    ground: np.ndarray | None = None,
    cloth: ground_mod.ClothParameters = ground_mod.ClothParameters(),
    outlier_k: int = 8,
    outlier_n_sigma: float = 3.0,
) -> LidarRasters:
    """Noise removal, ground, and the five rasters from a tile's points.

    ``ground`` (one flag per point) comes from the PDAL backend's SMRF; otherwise
    ground is ASPRS class 2 when present, else the cloth simulation filter.
    """
    local = _local_grid(grid)
    stats.points_in_tile = len(points)
    counts = np.bincount(points.classification, minlength=256)
    stats.class_counts = {int(c): int(counts[c]) for c in np.flatnonzero(counts)}

    noise = noise_class_mask(points.classification)
    stats.noise_class_points = int(noise.sum())
    if noise.any():
        points = points.subset(~noise)
        ground = None if ground is None else ground[~noise]
    outliers = statistical_outlier_mask(points.x, points.y, points.z, k=outlier_k, n_sigma=outlier_n_sigma)
    stats.outlier_points = int(outliers.sum())
    if outliers.any():
        points = points.subset(~outliers)
        ground = None if ground is None else ground[~outliers]

    classified = ground_mod.has_ground_classes(points.classification)
    if ground is not None:
        stats.ground_source = "PDAL SMRF"
    elif classified:
        ground = points.classification == ground_mod.ASPRS_GROUND
        stats.ground_source = "ASPRS class 2"
    else:
        ground = ground_mod.ground_mask_csf(points.x, points.y, points.z, cloth)
        stats.ground_source = "cloth simulation filter"
    stats.ground_points = int(ground.sum())

    object_classes = ground_mod.has_object_classes(points.classification)
    vegetation = ground_mod.vegetation_mask(
        points.classification, points.number_of_returns, ground, classes_available=object_classes
    )
    stats.vegetation_points = int(vegetation.sum())
    stats.vegetation_source = (
        "ASPRS classes 3-5" if object_classes else "non-ground returns of multi-return pulses"
    )

    dtm, dsm, ndsm, chm, density = rasters.tile_rasters(
        local, points.x, points.y, points.z, ground, vegetation
    )
    as32 = lambda a: a.astype(np.float32)  # noqa: E731
    return LidarRasters(grid, as32(dtm), as32(dsm), as32(ndsm), as32(chm), as32(density), stats)


def lidar_rasters_for_tile(
    paths: list[str | os.PathLike],
    grid: Grid,
    *,
    source_crs: str | CRS | None = None,
    target_crs: str | CRS | None = None,
    backend: Backend = "auto",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    skip_bad_files: bool = True,
    cloth: ground_mod.ClothParameters = ground_mod.ClothParameters(),
) -> LidarRasters:
    """DTM, DSM, nDSM, canopy height and point density of one tile.

    Parameters
    ----------
    paths : list of path-like
        LAS/LAZ files touching the tile (see :func:`pipeline.lidar.file_bounds`).
    grid : Grid
        The tile grid (buffered by the halo if neighbours matter), metric CRS.
    source_crs : str or pyproj.CRS, optional
        CRS of the files; overrides theirs, required when a file carries none.
    target_crs : str or pyproj.CRS, optional
        Defaults to ``grid.crs``; must be a projected CRS in metres.
    backend : {"auto", "laspy", "pdal"}
        ``auto`` uses PDAL when ``import pdal`` works, else laspy + lazrs.
    chunk_size : int
        Points decoded at a time per file.
    skip_bad_files : bool
        Log and skip a file that fails its checks (recorded in ``stats.skipped_files``)
        instead of failing the tile.

    Returns
    -------
    LidarRasters
        Arrays on ``grid`` plus :class:`LidarTileStats`. A tile without points gives
        NaN terrain/surface, zero canopy and density, and a warning.
    """
    started = time.perf_counter()
    target_crs = target_crs or grid.crs
    require_metric(target_crs)
    chosen = choose_backend(backend)
    stats = LidarTileStats(backend=chosen)
    ground = None
    if chosen == "pdal":
        points, ground = collect_tile_points_pdal(
            paths,
            grid,
            source_crs=source_crs,
            target_crs=target_crs,
            stats=stats,
            skip_bad_files=skip_bad_files,
        )
    else:
        points = collect_tile_points(
            paths,
            grid,
            source_crs=source_crs,
            target_crs=target_crs,
            chunk_size=chunk_size,
            stats=stats,
            skip_bad_files=skip_bad_files,
        )
    if len(points) == 0:
        log.warning("tile %s: no LiDAR points in %d file(s); rasters are empty", grid.bounds, len(paths))
        nan = np.full(grid.shape, np.nan, np.float32)
        zero = np.zeros(grid.shape, np.float32)
        stats.seconds = time.perf_counter() - started
        return LidarRasters(grid, nan, nan.copy(), nan.copy(), zero, zero.copy(), stats)
    result = rasters_from_points(points, grid, stats, ground=ground, cloth=cloth)
    stats.seconds = time.perf_counter() - started
    log.info(
        "tile %s: %d points (%d noise, %d outliers, %d ground via %s) -> rasters in %.2f s",
        grid.bounds,
        stats.points_in_tile,
        stats.noise_class_points,
        stats.outlier_points,
        stats.ground_points,
        stats.ground_source,
        stats.seconds,
    )
    return result


def write_lidar_rasters(result: LidarRasters, out_dir: str | os.PathLike, tile_id: str) -> dict[str, str]:
    """Write the five rasters of a tile as COGs ``{out_dir}/{tile_id}_{name}.tif``.

    Heights are float32 metres (orthometric, NaN nodata); density is points per m².
    Returns ``{name: path}``.
    """
    out_dir = Path(out_dir)
    started = time.perf_counter()
    stats = result.stats
    tags = {
        "vertical_datum": stats.vertical_datum,
        "ground_source": stats.ground_source,
        "points_in_tile": str(stats.points_in_tile),
        "noise_removed": str(stats.noise_class_points + stats.outlier_points),
    }
    units = {
        "dtm": "metre",
        "dsm": "metre",
        "ndsm": "metre",
        "chm": "metre",
        "density": "points per square metre",
    }
    written = {}
    for name, data in result.layers().items():
        path = out_dir / f"{tile_id}_{name}.tif"
        written[name] = write_cog(
            path,
            data,
            result.grid,
            nodata=float("nan"),
            band_names=[name],
            tags={**tags, "units": units[name]},
        )
    log.info(
        "wrote %d LiDAR rasters of tile %s to %s in %.2f s",
        len(written),
        tile_id,
        out_dir,
        time.perf_counter() - started,
    )
    return written


def stats_dict(stats: LidarTileStats) -> dict:
    """Plain dict of the stats, for a run manifest."""
    return asdict(stats)
