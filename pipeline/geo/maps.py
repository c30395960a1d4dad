"""PNG maps of rasters for planners: colour legend with units, scale bar, north arrow, title.

Rendered with matplotlib's non-interactive Agg backend and written atomically. Optional
vector overlays (GeoDataFrames or shapely geometries in the raster's CRS) are drawn on
top, so other stages (walkability) reuse the same map style.
"""
from __future__ import annotations

import io
import logging
import os
import time
from dataclasses import dataclass, field

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar  # noqa: E402

from pipeline.geo.atomic import write_bytes_atomic  # noqa: E402
from pipeline.geo.raster import Grid  # noqa: E402

log = logging.getLogger(__name__)


@dataclass
class Overlay:
    """Vector layer drawn over the raster (a GeoDataFrame/GeoSeries or a list of shapely geometries)."""

    data: object
    color: str = "black"
    linewidth: float = 0.8
    facecolor: str = "none"
    label: str | None = None
    style: dict = field(default_factory=dict)


def _nice_length(span_m: float) -> float:
    """A round scale-bar length of about a fifth of the map width."""
    target = span_m / 5
    magnitude = 10 ** np.floor(np.log10(target))
    for step in (5, 2, 1):
        if step * magnitude <= target:
            return float(step * magnitude)
    return float(magnitude)


def _geoseries(data):
    import geopandas as gpd
    if isinstance(data, (gpd.GeoDataFrame, gpd.GeoSeries)):
        return data.geometry if isinstance(data, gpd.GeoDataFrame) else data
    return gpd.GeoSeries(list(data))


def raster_map_figure(data: np.ndarray, grid: Grid, *, title: str, units: str, cmap: str = "viridis",
                      vmin: float | None = None, vmax: float | None = None,
                      overlays: list[Overlay] | None = None):
    """The matplotlib figure of a raster map (see :func:`render_raster_map`).

    Parameters
    ----------
    data : numpy.ndarray
        2-D values on ``grid`` (NaN drawn transparent).
    grid : Grid
        North-up metric grid; axes are metres in ``grid.crs`` and "up" is grid north.
    title, units : str
        Map title and colour-bar label (e.g. ``"shade hours (h)"``).
    overlays : list of Overlay, optional
        Vector layers in ``grid.crs`` drawn on top.
    """
    values = np.ma.masked_invalid(np.asarray(data, dtype=np.float64))
    if values.shape != grid.shape:
        raise ValueError(f"map data shape {values.shape} does not match grid {grid.shape}")
    fig, ax = plt.subplots(figsize=(8, 8 * grid.height / max(grid.width, 1) + 0.6))
    x0, y0, x1, y1 = grid.bounds
    image = ax.imshow(values, extent=(x0, x1, y0, y1), origin="upper", cmap=cmap, vmin=vmin, vmax=vmax,
                      interpolation="nearest")
    for overlay in overlays or []:
        _geoseries(overlay.data).plot(ax=ax, color=overlay.color if overlay.facecolor == "none" else None,
                                      edgecolor=overlay.color, facecolor=overlay.facecolor,
                                      linewidth=overlay.linewidth, label=overlay.label, **overlay.style)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_title(title)
    ax.set_xlabel(f"x (m, {grid.crs})")
    ax.set_ylabel("y (m)")
    ax.ticklabel_format(useOffset=False, style="plain")
    colorbar = fig.colorbar(image, ax=ax, shrink=0.8)
    colorbar.set_label(units)
    length = _nice_length(x1 - x0)
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.add_artist(AnchoredSizeBar(ax.transData, length, label, "lower left", pad=0.5, frameon=True,
                                  size_vertical=(y1 - y0) / 150))
    ax.annotate("N", xy=(0.95, 0.95), xytext=(0.95, 0.83), xycoords="axes fraction", ha="center",
                va="center", fontsize=12, fontweight="bold",
                arrowprops=dict(facecolor="black", width=4, headwidth=12))
    if any(o.label for o in overlays or []):
        ax.legend(loc="lower right")
    return fig


def render_raster_map(data: np.ndarray, grid: Grid, *, title: str, units: str, dpi: int = 150,
                      **options) -> bytes:
    """Render a raster map to PNG bytes: the raster with a colour legend in ``units``, a
    scale bar, a north arrow, the title and any overlays (:func:`raster_map_figure`).

    The PNG's text chunks say what it shows: ``Title``, ``Description`` (the legend's
    units) and ``Extent`` (``x_min y_min x_max y_max CRS``), so a map can be checked and
    catalogued without looking at it.
    """
    fig = raster_map_figure(data, grid, title=title, units=units, **options)
    x0, y0, x1, y1 = grid.bounds
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight",
                metadata={"Title": title, "Description": f"legend: {units}",
                          "Extent": f"{x0:.2f} {y0:.2f} {x1:.2f} {y1:.2f} {grid.crs}",
                          "Software": "machi"})
    plt.close(fig)
    return buffer.getvalue()


def write_raster_map(path: str | os.PathLike, data: np.ndarray, grid: Grid, *, title: str, units: str,
                     **options) -> str:
    """Render a map (see :func:`render_raster_map`) and write it atomically as PNG."""
    started = time.perf_counter()
    png = render_raster_map(data, grid, title=title, units=units, **options)
    write_bytes_atomic(path, png)
    log.info("map: wrote %s (%d bytes) in %.1f s", path, len(png), time.perf_counter() - started)
    return str(path)
