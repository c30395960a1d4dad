"""LiDAR points as a 3D Tiles 1.1 point cloud, heights on the ellipsoid."""

from __future__ import annotations

import itertools

import numpy as np


def lidar_point_tiles(
    paths: list[str],
    out_dir: str,
    *,
    source_crs: str | None,
    geoid_model: str,
    chunk_size: int,
    max_points_per_tile: int,
    bounds: tuple[float, float, float, float] | None = None,
) -> dict:
    """The points of ``paths`` as a 3D Tiles 1.1 point cloud (octree of GLB tiles).

    ``bounds`` (lon_min, lat_min, lon_max, lat_max; degrees JGD2011) keeps the points with
    ``lon_min <= lon < lon_max`` and ``lat_min < lat <= lat_max``: a mesh cell's share,
    so that cells side by side hold every point once. Without it every point is kept.

    Heights are orthometric in the files; the geoid height (GSI model) is added so the
    points sit on the ellipsoid as 3D Tiles expect. Colour is the file's RGB, else the
    ASPRS classification colour; classification, intensity and return number are kept
    as per-point properties. Returns the tileset path (None when no point falls in
    ``bounds``) and counts (tiles, points, bytes).
    """
    from pipeline.geo.geoid import geoid_height
    from pipeline.lidar.reader import iter_tileset_points, open_checked
    from tiles import PointChunk, write_point_tileset

    # ASPRS point formats 2, 3, 5, 7, 8 and 10 carry RGB; the others get class colours.
    coloured = {str(p): open_checked(p, source_crs).header.point_format in (2, 3, 5, 7, 8, 10) for p in paths}

    def chunks():
        for path in paths:
            for chunk in iter_tileset_points(
                [path], "EPSG:6668", source_crs=source_crs, chunk_size=chunk_size, bounds=bounds
            ):
                if not len(chunk["positions"]):
                    continue
                lon, lat, height = chunk["positions"].T
                if geoid_model != "none":
                    height = height + geoid_height(lon, lat, geoid_model)
                yield PointChunk(
                    np.column_stack([lon, lat, height]),
                    rgb=chunk["rgb"] if coloured[str(path)] else None,
                    classification=chunk["classification"],
                    intensity=chunk["intensity"],
                    return_number=chunk["return_number"],
                )

    stream = chunks()
    first = next(stream, None)
    if first is None:
        return {"tileset": None, "tiles": 0, "points": 0, "bytes": 0}
    summary = write_point_tileset(
        itertools.chain([first], stream), out_dir, crs="EPSG:4979", max_points_per_tile=max_points_per_tile
    )
    return {
        "tileset": str(summary.tileset_path),
        "tiles": summary.tile_count,
        "points": summary.feature_count,
        "bytes": summary.bytes_written,
    }
