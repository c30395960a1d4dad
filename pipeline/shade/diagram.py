"""Japanese shadow diagrams (日影図) and equal-time shadow lines (等時間日影線).

The Building Standards Act measures shadows on the winter solstice between 8:00 and
16:00 *true solar time* on a horizontal plane 1.5 m, 4 m or 6.5 m above the average
ground level. Buildings are vertical prisms: a footprint polygon and a height above
that average ground level (metres, grid CRS). The shadow of a prism on the plane is the
Minkowski sum of its footprint with the segment from 0 to the shadow vector
``(h - plane) / tan(altitude)`` pointing away from the sun: the union of the footprint,
its translate and the quad swept by every edge. Sun positions are NREL SPA geometric
altitudes (no refraction, as in the regulation's formulas), azimuths turned to grid
north with the meridian convergence at the buildings' centroid.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time

import contourpy
import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer
from rasterio import features
from shapely import affinity
from shapely.geometry import LineString, Polygon

from pipeline.geo.raster import Grid
from pipeline.shade.sun import (
    DEFAULT_TIMEZONE,
    SunPositions,
    meridian_convergence_deg,
    solar_position,
    true_solar_timestamps,
    true_to_grid_azimuth,
)

log = logging.getLogger(__name__)

MEASUREMENT_PLANES_M = (1.5, 4.0, 6.5)
DEFAULT_EQUAL_TIME_HOURS = (2.0, 2.5, 3.0, 4.0, 5.0)
DEFAULT_SOLAR_HOURS = tuple(float(h) for h in range(8, 17))
#: The regulated day, true solar time (建築基準法第56条の2第1項): 8:00-16:00; 9:00-15:00 in Hokkaido.
REGULATED_SOLAR_WINDOW = (8.0, 16.0)
HOKKAIDO_SOLAR_WINDOW = (9.0, 15.0)


def winter_solstice(year: int) -> dt.date:
    """The conventional winter-solstice date used for diagrams (December 21/22 varies; 21 here)."""
    return dt.date(year, 12, 21)


def prism_shadow(
    footprint: Polygon, height_above_plane_m: float, sun_azimuth_grid_deg: float, sun_altitude_deg: float
):
    """Shadow of a vertical prism on a horizontal plane.

    Parameters
    ----------
    footprint : shapely Polygon or MultiPolygon
        Metres, grid CRS.
    height_above_plane_m : float
        Top of the prism above the measurement plane, metres; nothing when <= 0.
    sun_azimuth_grid_deg, sun_altitude_deg : float
        Degrees; azimuth clockwise from grid north. No shadow when the sun is down.

    Returns
    -------
    shapely geometry
        The footprint swept along the shadow vector (empty Polygon when no shadow).
    """
    if height_above_plane_m <= 0 or sun_altitude_deg <= 0 or footprint.is_empty:
        return Polygon()
    length = height_above_plane_m / math.tan(math.radians(sun_altitude_deg))
    dx = -length * math.sin(math.radians(sun_azimuth_grid_deg))
    dy = -length * math.cos(math.radians(sun_azimuth_grid_deg))
    parts = [footprint, affinity.translate(footprint, dx, dy)]
    for polygon in getattr(footprint, "geoms", [footprint]):
        for ring in [polygon.exterior, *polygon.interiors]:
            xy = np.asarray(ring.coords)[:, :2]
            for (x0, y0), (x1, y1) in zip(xy[:-1], xy[1:]):
                quad = Polygon([(x0, y0), (x1, y1), (x1 + dx, y1 + dy), (x0 + dx, y0 + dy)])
                if quad.area > 0:
                    parts.append(quad)
    return shapely.union_all(parts)


def _check_buildings(footprints, heights_m) -> tuple[np.ndarray, np.ndarray]:
    geoms = np.asarray(footprints, dtype=object)
    heights = np.asarray(heights_m, dtype=np.float64)
    if geoms.shape != heights.shape:
        raise ValueError(f"{len(geoms)} footprints but {heights.size} heights")
    for i, (geom, height) in enumerate(zip(geoms, heights)):
        if (
            geom is None
            or not isinstance(geom, shapely.Geometry)
            or geom.geom_type not in ("Polygon", "MultiPolygon")
        ):
            raise ValueError(f"building {i}: footprint is not a polygon ({type(geom).__name__})")
        if not math.isfinite(height):
            raise ValueError(f"building {i}: height {height} is not finite")
    return geoms, heights


def _site_convergence(geoms: np.ndarray, crs: str) -> tuple[float, float, float]:
    centre = shapely.union_all(list(geoms)).centroid
    lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(centre.x, centre.y)
    return float(lon), float(lat), meridian_convergence_deg(crs, lon, lat)


def solar_time_positions(
    date: dt.date,
    latitude: float,
    longitude: float,
    solar_hours,
    *,
    timezone: str = DEFAULT_TIMEZONE,
    weight_hours: float = 0.0,
) -> SunPositions:
    """Geometric sun positions at the given true-solar-time hours of ``date``."""
    times = true_solar_timestamps(date, longitude, solar_hours, latitude=latitude, timezone=timezone)
    altitude, azimuth = solar_position(times, latitude, longitude, refraction=False)
    return SunPositions(times, altitude, azimuth, np.full(len(times), weight_hours))


def shadow_outlines(
    footprints,
    heights_m,
    crs: str,
    *,
    plane_height_m: float = 4.0,
    year: int,
    solar_hours=DEFAULT_SOLAR_HOURS,
    timezone: str = DEFAULT_TIMEZONE,
) -> gpd.GeoDataFrame:
    """Hourly shadow outlines (日影図) on the winter solstice.

    Parameters
    ----------
    footprints : sequence of shapely Polygon
        Building footprints, metres in ``crs``.
    heights_m : array-like
        Building heights above the average ground level, metres.
    crs : str
        The metric CRS of the footprints (a JGD2011 plane rectangular zone).
    plane_height_m : float
        Measurement plane above the average ground level: 1.5, 4 or 6.5 m.
    solar_hours : sequence of float
        True-solar-time hours (default 8, 9, ..., 16).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``time_solar`` (hours), ``time_local`` (timezone-aware clock time),
        ``sun_altitude_deg``, ``sun_azimuth_deg`` (true) and ``geometry`` (the union of
        all buildings' shadows), in ``crs``.
    """
    geoms, heights = _check_buildings(footprints, heights_m)
    lon, lat, convergence = _site_convergence(geoms, crs)
    positions = solar_time_positions(winter_solstice(year), lat, lon, solar_hours, timezone=timezone)
    grid_azimuth = positions.grid_azimuth_deg(convergence)
    outlines = []
    for altitude, azimuth in zip(positions.sun_altitude_deg, grid_azimuth):
        outlines.append(
            shapely.union_all(
                [prism_shadow(g, h - plane_height_m, azimuth, altitude) for g, h in zip(geoms, heights)]
            )
        )
    return gpd.GeoDataFrame(
        {
            "time_solar": np.asarray(solar_hours, dtype=np.float64),
            "time_local": positions.timestamps,
            "sun_altitude_deg": positions.sun_altitude_deg,
            "sun_azimuth_deg": positions.sun_azimuth_deg,
        },
        geometry=outlines,
        crs=crs,
    )


def plane_shade_hours(
    footprints,
    heights_m,
    grid: Grid,
    positions: SunPositions,
    convergence_deg: float,
    *,
    plane_height_m: float = 4.0,
) -> np.ndarray:
    """Hours each cell centre of the measurement plane spends in the buildings' shadow.

    Returns float32 hours on ``grid`` (``sum of weight_hours`` over the positions whose
    shadow polygon contains the cell centre).
    """
    geoms, heights = _check_buildings(footprints, heights_m)
    hours = np.zeros(grid.shape, dtype=np.float64)
    for altitude, azimuth, weight in zip(
        positions.sun_altitude_deg,
        true_to_grid_azimuth(positions.sun_azimuth_deg, convergence_deg),
        positions.weight_hours,
    ):
        shadows = [
            s
            for s in (prism_shadow(g, h - plane_height_m, azimuth, altitude) for g, h in zip(geoms, heights))
            if not s.is_empty
        ]
        if not shadows:
            continue
        burnt = features.rasterize(
            ((s, 1) for s in shadows), out_shape=grid.shape, transform=grid.transform, fill=0, dtype=np.uint8
        )
        hours += weight * burnt
    return hours.astype(np.float32)


def contour_lines(values: np.ndarray, grid: Grid, levels) -> gpd.GeoDataFrame:
    """Contours of a raster (cell-centre values) as LineStrings: columns ``hours``, ``geometry``."""
    x, y = grid.cell_centres()
    generator = contourpy.contour_generator(
        x, y, np.asarray(values, dtype=np.float64), line_type=contourpy.LineType.Separate
    )
    rows, lines = [], []
    for level in levels:
        for xy in generator.lines(level):
            if len(xy) >= 2:
                rows.append(float(level))
                lines.append(LineString(xy))
    return gpd.GeoDataFrame({"hours": rows}, geometry=lines, crs=grid.crs)


def equal_time_shadow_lines(
    footprints,
    heights_m,
    crs: str,
    *,
    plane_height_m: float = 4.0,
    year: int,
    levels=DEFAULT_EQUAL_TIME_HOURS,
    step_minutes: float = 2.0,
    resolution: float = 0.5,
    max_reach_m: float = 300.0,
    timezone: str = DEFAULT_TIMEZONE,
    solar_window: tuple[float, float] = REGULATED_SOLAR_WINDOW,
) -> tuple[gpd.GeoDataFrame, np.ndarray, Grid]:
    """Equal-time shadow lines (等時間日影線) over a window of true solar time, winter solstice.

    The plane is sampled at cell centres of a ``resolution`` grid covering the
    buildings plus their longest shadow (capped at ``max_reach_m``); time at the
    mid-point of each ``step_minutes`` step of true solar time. ``solar_window`` is
    8:00-16:00 by default; within Hokkaido (道の区域内) the law counts 9:00-15:00
    (建築基準法第56条の2第1項).

    Returns
    -------
    lines : geopandas.GeoDataFrame
        Columns ``hours`` and ``geometry`` (LineString) in ``crs``.
    shade_hours : numpy.ndarray of float32
        Hours in shadow per cell of the plane.
    grid : Grid
        The plane's grid.
    """
    started = time.perf_counter()
    geoms, heights = _check_buildings(footprints, heights_m)
    lon, lat, convergence = _site_convergence(geoms, crs)
    start_h, end_h = (float(h) for h in solar_window)
    if not 0.0 <= start_h < end_h <= 24.0:
        raise ValueError(f"solar_window must be (start, end) hours with start < end, got {solar_window}")
    n_steps = max(1, int(round((end_h - start_h) * 60 / step_minutes)))
    step_h = (end_h - start_h) / n_steps
    mids = start_h + (np.arange(n_steps) + 0.5) * step_h
    positions = solar_time_positions(
        winter_solstice(year), lat, lon, mids, timezone=timezone, weight_hours=step_h
    )
    lowest = max(float(positions.sun_altitude_deg.min()), 1.0)
    reach = min(max_reach_m, max(float(heights.max()) - plane_height_m, 0.0) / math.tan(math.radians(lowest)))
    x0, y0, x1, y1 = shapely.union_all(list(geoms)).bounds
    grid = Grid.from_bounds(
        x0 - reach - resolution,
        y0 - reach - resolution,
        x1 + reach + resolution,
        y1 + reach + resolution,
        resolution,
        crs,
    )
    hours = plane_shade_hours(geoms, heights, grid, positions, convergence, plane_height_m=plane_height_m)
    lines = contour_lines(hours, grid, levels)
    log.info(
        "shadow diagram: %d buildings, %d time steps on %dx%d plane cells in %.1f s",
        len(geoms),
        n_steps,
        grid.height,
        grid.width,
        time.perf_counter() - started,
    )
    return lines, hours, grid
