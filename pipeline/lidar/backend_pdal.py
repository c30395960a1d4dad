"""The PDAL backend of the per-tile LiDAR task (used when ``import pdal`` works).

Each file still passes Machi's own header and CRS checks first
(:func:`pipeline.lidar.reader.open_checked`), then one PDAL pipeline per tile does the
point work in C++::

    readers.las (one per file, override_srs = the file's horizontal CRS)
    -> filters.merge -> filters.reprojection (to the tile CRS) -> filters.crop (tile)
    -> filters.outlier (statistical, mean_k 8, multiplier 3: marks class 7)
    -> filters.smrf (only when the points carry no ground class; ignores class 7)

and its arrays come back to :func:`pipeline.lidar.tile.rasters_from_points`, so both
backends share one definition of the DTM/DSM/nDSM/canopy/density rasters. Heights: the
reader gets the *horizontal* CRS only, so PROJ never shifts z to the ellipsoid; z is
scaled to metres here with the same rule as the laspy backend.

Not tested here (PDAL has no wheel on PyPI; install it from conda-forge with
``environment.yml``).
"""

from __future__ import annotations

import json
import logging
import os
import time

import numpy as np
from pyproj import CRS

from pipeline.geo.raster import Grid
from pipeline.lidar.crs import horizontal_crs
from pipeline.lidar.errors import LidarBackendError, LidarError
from pipeline.lidar.points import LidarTileStats, TilePoints, skip_bad_file
from pipeline.lidar.reader import open_checked

log = logging.getLogger(__name__)


def build_pipeline(
    files: list[tuple[str, str]],
    grid: Grid,
    target_crs: str | CRS,
    *,
    classify_ground: bool,
    outlier_k: int = 8,
    outlier_multiplier: float = 3.0,
) -> list[dict]:
    """PDAL pipeline stages (JSON-able) for one tile.

    ``files`` is ``[(path, horizontal CRS as WKT)]``.
    """
    target_wkt = horizontal_crs(target_crs).to_wkt()
    x_min, y_min, x_max, y_max = grid.bounds
    stages: list[dict] = [
        {"type": "readers.las", "filename": path, "override_srs": wkt, "tag": f"read{i}"}
        for i, (path, wkt) in enumerate(files)
    ]
    stages.append({"type": "filters.merge", "inputs": [f"read{i}" for i in range(len(files))]})
    stages.append({"type": "filters.reprojection", "out_srs": target_wkt})
    stages.append({"type": "filters.crop", "bounds": f"([{x_min},{x_max}],[{y_min},{y_max}])"})
    stages.append(
        {
            "type": "filters.outlier",
            "method": "statistical",
            "mean_k": outlier_k,
            "multiplier": outlier_multiplier,
        }
    )
    if classify_ground:
        stages.append({"type": "filters.assign", "value": "Classification = 1 WHERE Classification != 7"})
        stages.append({"type": "filters.smrf", "ignore": "Classification[7:7]"})
    return stages


def collect_tile_points_pdal(
    paths: list[str | os.PathLike],
    grid: Grid,
    *,
    source_crs: str | CRS | None,
    target_crs: str | CRS,
    stats: LidarTileStats,
    skip_bad_files: bool,
) -> tuple[TilePoints, np.ndarray | None]:
    """Run the PDAL pipeline of one tile; returns ``(TilePoints, ground flags or None)``."""
    try:
        import pdal
    except ImportError as exc:  # pragma: no cover - checked by choose_backend
        raise LidarBackendError("pdal", "PDAL Python bindings are not installed") from exc
    started = time.perf_counter()
    files, z_scale, datums = [], {}, set()
    for path in paths:
        try:
            las = open_checked(path, source_crs)
        except LidarError as exc:
            skip_bad_file(exc, stats, skip_bad_files)
            continue
        if las.header.point_count == 0:
            continue
        files.append((las.path, las.crs.horizontal.to_wkt()))
        z_scale[las.path] = las.crs.z_to_metres
        datums.add(las.crs.vertical_datum)
        stats.files.append(las.path)
    if len(datums) == 1:
        stats.vertical_datum = datums.pop()
    if not files:
        return TilePoints.empty(), None
    if len(set(z_scale.values())) > 1:
        # One merged pipeline cannot scale z per file; keep the files' units consistent.
        raise LidarBackendError(
            paths[0], "files of one tile store heights in different units; use backend='laspy'"
        )
    factor = next(iter(z_scale.values()))

    # Are ground classes present? A first pass over classification only is cheap in PDAL,
    # but the header's return counts cannot tell; ask the data.
    probe = pdal.Pipeline(json.dumps(build_pipeline(files, grid, target_crs, classify_ground=False)))
    probe.execute()
    arrays = probe.arrays[0]
    classified = bool(np.any(arrays["Classification"] == 2))
    if not classified:
        pipe = pdal.Pipeline(json.dumps(build_pipeline(files, grid, target_crs, classify_ground=True)))
        pipe.execute()
        arrays = pipe.arrays[0]
    classification = np.asarray(arrays["Classification"], dtype=np.uint8)
    points = TilePoints(
        (arrays["X"] - grid.x_min).astype(np.float32),
        (arrays["Y"] - grid.y_min).astype(np.float32),
        (arrays["Z"] * factor).astype(np.float32),
        classification,
        np.asarray(arrays["NumberOfReturns"], dtype=np.uint8),
    )
    log.info(
        "PDAL read %d points for tile %s in %.2f s", len(points), grid.bounds, time.perf_counter() - started
    )
    ground = (classification == 2) if not classified else None
    return points, ground
