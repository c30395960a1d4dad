"""Per-segment components sampled from rasters and the network: shade share, slope, intersections.

:func:`sample_segments` is the one raster sampler; shade share, slope and the thermal
metrics of :mod:`pipeline.walkability.comfort` all read rasters through it.

Rasters are numpy arrays on a :class:`pipeline.geo.raster.Grid` in the network's metric CRS
(shade fraction 0..1 per cell from the shadow stage; terrain heights in metres). Each
segment is sampled at points every ``step_m`` metres along it (both ends included);
samples outside the grid or on nodata are ignored.

Pedestrians walk on sidewalks, not on the centreline: :func:`sidewalk_offsets` gives each
segment the distance of its two walking lines from the centreline (``width / 2 - 1.5`` m),
and :func:`sample_sides` samples the centreline's points moved that far to the left and
to the right (perpendicular to the segment at each point), so each side has as many
samples as the centreline and a share of its samples is still a share of the length.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from pipeline.geo.raster import Grid
from pipeline.walkability.network import StreetNetwork


def _sample_points(lines, step_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points every ``step_m`` along each line: (segment index, x, y), in segment order."""
    lengths = shapely.length(lines)
    counts = np.maximum(2, np.ceil(lengths / step_m).astype(np.int64) + 1)
    owner = np.repeat(np.arange(len(lines)), counts)
    starts = np.cumsum(counts) - counts
    frac = (np.arange(counts.sum()) - np.repeat(starts, counts)) / np.repeat(counts - 1, counts)
    pts = shapely.line_interpolate_point(np.repeat(lines, counts), frac, normalized=True)
    xy = shapely.get_coordinates(pts)
    return owner, xy[:, 0], xy[:, 1]


#: Distance (m) of the walking line from the road's edge: the middle of a 3 m sidewalk,
#: between the 2 m minimum and the 3.5 m of streets with heavy pedestrian traffic of the
#: Road Structure Ordinance (道路構造令, art. 11).
SIDEWALK_INSET_M = 1.5
#: The sides of a segment, in column order (``left`` of its direction of digitisation).
SIDES = ("left", "right")


def sidewalk_offsets(width_m, inset_m: float = SIDEWALK_INSET_M) -> np.ndarray:
    """Distance (m) of each segment's two walking lines from its centreline.

    ``width_m / 2 - inset_m``: a walking line ``inset_m`` in from each edge of a road
    ``width_m`` wide. A street too narrow for that (width at most ``2 * inset_m``) or of
    unknown width (NaN) is walked on its centreline (offset 0).
    """
    width = np.asarray(width_m, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        offset = width / 2.0 - inset_m
    return np.where(np.isfinite(offset) & (offset > 0), offset, 0.0)


def _unit_normals(
    lines, owner: np.ndarray, distance: np.ndarray, lengths: np.ndarray, probe_m: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """Left-pointing unit normal of each line at ``distance`` along it (from the chord of
    the points ``probe_m`` before and after, clamped to the line)."""
    line = lines[owner]
    ahead = shapely.get_coordinates(
        shapely.line_interpolate_point(line, np.minimum(distance + probe_m, lengths[owner]))
    )
    behind = shapely.get_coordinates(
        shapely.line_interpolate_point(line, np.maximum(distance - probe_m, 0.0))
    )
    dx, dy = (ahead - behind).T
    norm = np.hypot(dx, dy)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm > 0, -dy / norm, 0.0), np.where(norm > 0, dx / norm, 0.0)


def sample_sides(
    network: StreetNetwork,
    rasters,
    grid: Grid,
    offsets_m,
    *,
    step_m: float = 5.0,
    nodata: float | None = None,
) -> tuple[np.ndarray, dict[str, list[np.ndarray]]]:
    """Raster values on each segment's centreline and its two walking lines.

    Parameters
    ----------
    network : StreetNetwork
        Segments in the grid's CRS (metres).
    rasters : sequence of numpy.ndarray
        Rasters on ``grid`` to sample at the same points (e.g. mean UTCI, shade fraction).
    offsets_m : array-like
        Per segment, distance of the walking lines from the centreline (m;
        :func:`sidewalk_offsets`); 0 puts both on the centreline.
    step_m : float
        Spacing of the samples along the centreline, metres (both ends included).

    Returns
    -------
    owner : numpy.ndarray of int64
        Segment position of each sample (the same for every side).
    values : dict
        ``{"centre" | "left" | "right": [values of each raster at that side's samples]}``;
        the left side is on the left of the segment's direction of digitisation.
    """
    lines = network.segments.geometry.to_numpy()
    owner, x, y = _sample_points(lines, step_m)
    lengths = shapely.length(lines)
    counts = np.bincount(owner, minlength=len(lines))
    starts = np.cumsum(counts) - counts
    along = (np.arange(len(owner)) - starts[owner]) / (counts[owner] - 1) * lengths[owner]
    nx, ny = _unit_normals(lines, owner, along, lengths)
    offset = np.asarray(offsets_m, dtype=np.float64)[owner]
    points = {
        "centre": (x, y),
        "left": (x + offset * nx, y + offset * ny),
        "right": (x - offset * nx, y - offset * ny),
    }
    return owner, {
        side: [_values_at(r, grid, px, py, nodata) for r in rasters] for side, (px, py) in points.items()
    }


def _values_at(raster: np.ndarray, grid: Grid, x, y, nodata) -> np.ndarray:
    if raster.shape != grid.shape:
        raise ValueError(f"raster shape {raster.shape} does not match grid {grid.shape}")
    row, col = grid.rowcol(x, y)
    inside = (row >= 0) & (row < grid.height) & (col >= 0) & (col < grid.width)
    values = np.full(len(x), np.nan)
    values[inside] = raster[row[inside], col[inside]]
    if nodata is not None and not np.isnan(nodata):
        values[values == nodata] = np.nan
    return values


def sample_segments(
    network: StreetNetwork,
    raster: np.ndarray,
    grid: Grid,
    *,
    step_m: float = 5.0,
    nodata: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Raster values at points every ``step_m`` along each segment (both ends included).

    The one sampler of per-segment raster metrics (shade share, slope, UTCI). Points are
    evenly spaced along each segment, so a share of a segment's samples is a share of
    its length.

    Returns
    -------
    owner : numpy.ndarray of int64
        Segment position (0..n-1) of each sample, in segment order.
    values : numpy.ndarray of float64
        Raster value at each sample; NaN outside the grid or on ``nodata``.
    """
    owner, x, y = _sample_points(network.segments.geometry.to_numpy(), step_m)
    return owner, _values_at(raster, grid, x, y, nodata)


def segment_means(owner: np.ndarray, values: np.ndarray, n_segments: int) -> np.ndarray:
    """Mean of the finite sample ``values`` of each segment (NaN where it has none)."""
    ok = np.isfinite(values)
    total = np.bincount(owner[ok], values[ok], minlength=n_segments)
    count = np.bincount(owner[ok], minlength=n_segments)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)


def sample_mean(
    network: StreetNetwork,
    raster: np.ndarray,
    grid: Grid,
    *,
    step_m: float = 5.0,
    nodata: float | None = None,
) -> np.ndarray:
    """Mean raster value along each segment (NaN where no sample falls on data)."""
    owner, values = sample_segments(network, raster, grid, step_m=step_m, nodata=nodata)
    return segment_means(owner, values, len(network))


def shade_share(
    network: StreetNetwork,
    shade_fraction: np.ndarray,
    grid: Grid,
    *,
    step_m: float = 5.0,
    nodata: float | None = None,
) -> np.ndarray:
    """Share of each segment in shade for a scenario (0..1), from a shade-fraction raster."""
    return np.clip(sample_mean(network, shade_fraction, grid, step_m=step_m, nodata=nodata), 0.0, 1.0)


def slope_percent(
    network: StreetNetwork,
    terrain_m: np.ndarray,
    grid: Grid,
    *,
    step_m: float = 10.0,
    nodata: float | None = None,
) -> pd.DataFrame:
    """Gradient of each segment from a terrain raster: ``slope_mean_pct`` (end to end) and
    ``slope_max_pct`` (steepest stretch between consecutive samples ``step_m`` apart)."""
    lines = network.segments.geometry.to_numpy()
    owner, x, y = _sample_points(lines, step_m)
    z = _values_at(terrain_m, grid, x, y, nodata)
    same = owner[1:] == owner[:-1]
    run = np.hypot(np.diff(x), np.diff(y))
    with np.errstate(invalid="ignore", divide="ignore"):
        grade = np.abs(np.diff(z)) / run * 100.0
    grade = np.where(same & (run > 0), grade, np.nan)
    steepest = pd.Series(grade).groupby(owner[:-1]).max().reindex(range(len(lines))).to_numpy()
    first = np.searchsorted(owner, np.arange(len(lines)))
    last = np.searchsorted(owner, np.arange(len(lines)), side="right") - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.abs(z[last] - z[first]) / shapely.length(lines) * 100.0
    return pd.DataFrame({"slope_mean_pct": mean, "slope_max_pct": steepest}, index=network.segments.index)


def intersection_density(network: StreetNetwork, radius_m: float = 400.0) -> np.ndarray:
    """Junctions (nodes joining 3 or more segments) per km2 within ``radius_m`` of each
    segment's midpoint (straight-line)."""
    from scipy.spatial import cKDTree

    degree = pd.concat([network.segments["u"], network.segments["v"]]).value_counts()
    junctions = network.nodes.loc[degree.index[degree >= 3].intersection(network.nodes.index)]
    mid = shapely.get_coordinates(
        shapely.line_interpolate_point(network.segments.geometry.to_numpy(), 0.5, normalized=True)
    )
    if len(junctions) == 0:
        return np.zeros(len(network))
    tree = cKDTree(junctions[["x", "y"]].to_numpy())
    counts = np.array([len(n) for n in tree.query_ball_point(mid, radius_m)])
    return counts / (np.pi * (radius_m / 1000.0) ** 2)
