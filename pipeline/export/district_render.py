"""Perspective images of the district for the printed report, rendered off-screen with pyvista.

One image per season at the same time slot, all from the same camera: the ground
coloured by the scenario's shade hours (draped on the terrain), buildings as grey
prisms (footprint × height, standing on their ground elevation), and the streets as
tubes coloured by their walkability score, each with a legend (scalar bar with units).

Coordinates are the run's metric CRS, shifted to the district's centre so that VTK's
float32 keeps centimetres; heights orthometric metres (no geoid needed: nothing here
is placed on the globe). Renders without a display: VTK's wheels fall back to EGL (or
OSMesa) when there is no X server (Debian: ``libegl1``, ``libgl1``, ``libgl1-mesa-dri``).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from tiles.atomic import atomic_path

log = logging.getLogger(__name__)

MAX_GROUND_CELLS = 500  # per side: the ground image is resampled to at most this


def _pyvista():
    if not os.environ.get("DISPLAY"):
        # no X server: go straight to EGL instead of failing over from X with a warning
        os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
    import pyvista

    pyvista.OFF_SCREEN = True
    return pyvista


def building_prisms(pv, footprints, heights_m: np.ndarray, ground_m: np.ndarray, origin: np.ndarray):
    """One PolyData of every footprint extruded from its ground elevation to ground + height."""
    import shapely

    points, faces, offset = [], [], 0
    for polygon, height, ground in zip(footprints, heights_m, ground_m):
        if polygon is None or not np.isfinite(height) or height <= 0:
            continue
        for part in shapely.get_parts(polygon):
            ring = shapely.get_coordinates(shapely.orient_polygons(part).exterior)[:-1] - origin
            n = len(ring)
            if n < 3:
                continue
            base = float(ground) if np.isfinite(ground) else 0.0
            points.append(np.column_stack([ring, np.full(n, base)]))
            points.append(np.column_stack([ring, np.full(n, base + height)]))
            faces.append(np.concatenate([[n], offset + n + np.arange(n)]))  # roof
            for i in range(n):
                j = (i + 1) % n
                faces.append(np.array([4, offset + i, offset + j, offset + n + j, offset + n + i]))
            offset += 2 * n
    if not points:
        return None
    return pv.PolyData(np.vstack(points), np.concatenate(faces)).triangulate()


def _shade_mosaic(paths: Sequence[str | Path], bounds: tuple[float, float, float, float]):
    from rasterio.enums import Resampling
    from rasterio.merge import merge

    x0, y0, x1, y1 = bounds
    resolution = max((x1 - x0), (y1 - y0)) / MAX_GROUND_CELLS
    data, transform = merge([str(p) for p in paths], bounds=bounds, res=resolution, nodata=np.nan,
                            resampling=Resampling.average)
    return data[0], transform


def render_district_3d(out_dir: str | Path, *, buildings: Sequence[str | Path],
                       streets: Mapping[str, str | Path], shade: Mapping[str, Sequence[str | Path]],
                       terrain: Sequence[str | Path] = (), titles: Mapping[str, str] | None = None,
                       slot_hours: float = 3.0, window_size: tuple[int, int] = (1200, 800),
                       stem: str = "district_3d", view_from_deg: float = 20.0) -> list[str]:
    """Render one PNG per season: shade hours on the ground, buildings, streets by score.

    Parameters
    ----------
    out_dir : path
        Receives ``<stem>_<season>.png``.
    buildings : sequence of path
        Ingest building GeoParquet tables (footprint in the run CRS, ``height_m``,
        ``ground_elevation_m`` orthometric m).
    streets : mapping
        Season -> scored segments GeoParquet of that season at the chosen slot.
    shade : mapping
        Season -> that scenario's ``shade_hours`` COGs (h).
    terrain : sequence of path
        Terrain COGs (orthometric m) to drape the ground on; flat without them.
    titles : mapping, optional
        Season -> image title (default: the season name).
    slot_hours : float
        Length of the slot (h): the top of the shade legend.
    view_from_deg : float
        Compass direction the camera looks from (degrees clockwise from grid north); the
        default, from the north-north-east, shows the shadows cast northwards.

    Returns
    -------
    list of str
        PNG paths, in the order of ``streets``.
    """
    import geopandas as gpd
    import pandas as pd
    import shapely

    from .terrain_heights import TerrainHeights

    pv = _pyvista()
    out_dir = Path(out_dir)
    table = gpd.GeoDataFrame(pd.concat([gpd.read_parquet(p) for p in buildings], ignore_index=True)) if buildings else None
    first = gpd.read_parquet(next(iter(streets.values())))
    bounds = [first.total_bounds] + ([table.total_bounds] if table is not None and len(table) else [])
    x0, y0 = np.min([b[:2] for b in bounds], axis=0) - 20.0  # a margin of ground around the district
    x1, y1 = np.max([b[2:] for b in bounds], axis=0) + 20.0
    origin = np.array([(x0 + x1) / 2.0, (y0 + y1) / 2.0])
    ground = TerrainHeights(terrain)
    ground.default_m = ground.mean_height() or 0.0
    prisms = None
    if table is not None and len(table):
        heights = pd.to_numeric(table.get("height_m"), errors="coerce").to_numpy(float)
        base = pd.to_numeric(table.get("ground_elevation_m"), errors="coerce").to_numpy(float)
        prisms = building_prisms(pv, table.geometry.to_numpy(), heights, base, origin)
    written = []
    for season, segments_path in streets.items():
        segments = gpd.read_parquet(segments_path)
        plotter = pv.Plotter(off_screen=True, window_size=list(window_size))
        plotter.set_background("white")
        if shade.get(season):
            values, transform = _shade_mosaic(shade[season], (x0, y0, x1, y1))
            rows, cols = values.shape
            xs = transform.c + (np.arange(cols) + 0.5) * transform.a - origin[0]
            ys = transform.f + (np.arange(rows) + 0.5) * transform.e - origin[1]
            gx, gy = np.meshgrid(xs, ys)
            gz = ground(gx + origin[0], gy + origin[1]) - 0.2
            surface = pv.StructuredGrid(gx, gy, gz)
            surface["shade hours (h)"] = values.ravel(order="F")
            plotter.add_mesh(surface, scalars="shade hours (h)", cmap="cividis_r", clim=(0, slot_hours),
                             nan_color="#dddddd", scalar_bar_args={"title": "shade hours in the slot (h)",
                                                                  "position_x": 0.03, "position_y": 0.02, "label_font_size": 12, "title_font_size": 14,
                                                                  "width": 0.4, "color": "black"})
        if prisms is not None:
            plotter.add_mesh(prisms, color="#bdbdbd", smooth_shading=False)
        lines = []
        for line, score in zip(segments.geometry.to_numpy(), segments["score"].to_numpy(float)):
            for part in shapely.get_parts(line):
                xy = shapely.get_coordinates(part)
                if len(xy) < 2:
                    continue
                z = ground(xy[:, 0], xy[:, 1]) + 1.0
                poly = pv.lines_from_points(np.column_stack([xy - origin, z]))
                poly["walkability score"] = np.full(poly.n_points, score if np.isfinite(score) else np.nan)
                lines.append(poly)
        if lines:
            network = pv.merge(lines).tube(radius=3.0)
            plotter.add_mesh(network, scalars="walkability score", cmap="viridis", clim=(0, 100),
                             nan_color="#999999", scalar_bar_args={"title": "walkability score (0-100)",
                                                                  "position_x": 0.55, "position_y": 0.02, "label_font_size": 12, "title_font_size": 14,
                                                                  "width": 0.4, "color": "black"})
        plotter.add_text((titles or {}).get(season, season), position="upper_left", font_size=14, color="black")
        span = max(x1 - x0, y1 - y0)
        plotter.camera.focal_point = (0.0, 0.0, float(ground.default_m))
        # seen from the north-north-east, looking south: the shadows, which fall north of the
        # buildings, are in view (from the south they hide behind the buildings)
        azimuth = np.radians(view_from_deg)
        plotter.camera.position = (1.39 * span * np.sin(azimuth), 1.39 * span * np.cos(azimuth),
                                   float(ground.default_m) + 1.05 * span)
        plotter.camera.up = (0.0, 0.0, 1.0)
        plotter.camera.view_angle = 35.0
        path = out_dir / f"{stem}_{season}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            plotter.screenshot(str(tmp))
        plotter.close()
        written.append(str(path))
        log.info("3D district image %s", path)
    return written
