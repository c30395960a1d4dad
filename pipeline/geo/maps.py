"""PNG maps of rasters for planners: colour legend with units, scale bar, north arrow, title.

Rendered with matplotlib's non-interactive Agg backend and written atomically. Optional
vector overlays (GeoDataFrames or shapely geometries in the raster's CRS) are drawn on
top, optionally with a text label per feature (district names), so other stages
(walkability, trees, effects) reuse the same map style.

Text is set in IPAexGothic (:data:`MAP_FONTS`), the Japanese font that the PyPI package
``matplotlib-fontja`` ships, registered here for every map, so Japanese titles and legends
render on a machine without system CJK fonts; DejaVu Sans (matplotlib's own) is the
fallback for a glyph IPAexGothic lacks. The PNG carries no date (matplotlib writes none
for PNG; ``Software`` is set to ``machi``, not matplotlib's version), so the same map is
the same bytes.
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

from pipeline.geo.raster import Grid  # noqa: E402
from tiles.atomic import write_bytes_atomic  # noqa: E402

log = logging.getLogger(__name__)


#: A raster is drawn with at most this many cells a side (the map is about 1,000 px wide)
DRAW_MAX_PIXELS = 1000

#: The Japanese font family of every map: IPAexGothic (IPA, IPA Font License v1.0), the
#: TrueType file the PyPI package ``matplotlib-fontja`` ships.
JAPANESE_FONT = "IPAexGothic"
#: Font families of the maps' text, in order of preference (matplotlib falls back per glyph).
MAP_FONTS = [JAPANESE_FONT, "DejaVu Sans"]


def register_japanese_font() -> str:
    """Register :data:`JAPANESE_FONT` with matplotlib's font manager and return its family.

    The font file comes from the ``matplotlib-fontja`` package (a project dependency).
    Registering twice is harmless. Maps select the family per figure
    (:func:`map_style`), so no global ``rcParams`` are relied on.
    """
    from matplotlib import font_manager

    try:
        from matplotlib_fontja import get_font_ttf_path
    except ImportError as error:  # pragma: no cover - the dependency is declared
        raise ImportError(
            "pipeline.geo.maps needs the Japanese font of the package matplotlib-fontja: "
            "pip install matplotlib-fontja"
        ) from error
    names = {f.name for f in font_manager.fontManager.ttflist}
    if JAPANESE_FONT not in names:
        font_manager.fontManager.addfont(get_font_ttf_path())
    return JAPANESE_FONT


def map_style():
    """A matplotlib ``rc_context`` with the maps' fonts (:data:`MAP_FONTS`), the Japanese
    one registered first; every figure of this module is drawn and saved inside it."""
    register_japanese_font()
    return plt.rc_context({"font.family": MAP_FONTS, "axes.unicode_minus": True})


@dataclass
class Overlay:
    """Vector layer drawn over the raster (a GeoDataFrame/GeoSeries or a list of shapely geometries)."""

    data: object
    color: str = "black"
    linewidth: float = 0.8
    facecolor: str = "none"
    label: str | None = None
    style: dict = field(default_factory=dict)
    #: column of ``data`` whose value is written at each feature's representative point
    #: (e.g. ``"district"``: district names on the map); None for no text
    text_column: str | None = None
    fontsize: float = 9.0


@dataclass
class ClassLayer:
    """A categorical raster drawn over the map: ``values`` (integer codes on ``grid``, NaN or
    codes not in ``colours`` transparent), each code in its colour with its legend label.

    For what a city has too much of to draw as vectors (its streets by class, its
    buildings): the layer costs its cells, not its features.
    """

    values: np.ndarray
    grid: Grid
    colours: dict[int, str]
    labels: dict[int, str] = field(default_factory=dict)
    below: bool = False  # drawn under the map's own raster (seen where it is NaN)


def _decimated(data: np.ndarray, grid: Grid) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """Every k-th cell of ``data`` and the extent they cover, with at most
    :data:`DRAW_MAX_PIXELS` a side. matplotlib needs about 100 bytes per cell it is given
    (1.6 GB for 4,096 px a side) while the map is about 1,000 px wide; nearest, so classes
    and masks stay themselves, each kept cell standing for k x k."""
    step = max(1, int(np.ceil(max(data.shape) / DRAW_MAX_PIXELS)))
    kept = data[::step, ::step]
    x0, y1 = grid.x_min, grid.y_max
    return kept, (
        x0,
        x0 + kept.shape[1] * step * grid.resolution,
        y1 - kept.shape[0] * step * grid.resolution,
        y1,
    )


def _draw_classes(ax, layer: ClassLayer) -> list:
    """Draw ``layer`` on ``ax``; return its legend handles."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    if layer.values.shape != layer.grid.shape:
        raise ValueError(f"class layer shape {layer.values.shape} does not match grid {layer.grid.shape}")
    codes = sorted(layer.colours)
    kept, extent = _decimated(np.asarray(layer.values, dtype=np.float64), layer.grid)
    # codes -> 0..n-1 positions in a listed colour map; anything else transparent
    position = np.full(kept.shape, np.nan)
    for i, code in enumerate(codes):
        position[kept == code] = i
    ax.imshow(
        np.ma.masked_invalid(position),
        extent=extent,
        origin="upper",
        interpolation="nearest",
        cmap=ListedColormap([layer.colours[c] for c in codes]),
        vmin=-0.5,
        vmax=len(codes) - 0.5,
        zorder=-1 if layer.below else 1,
    )
    return [
        Patch(facecolor=layer.colours[c], edgecolor="none", label=layer.labels[c])
        for c in codes
        if layer.labels.get(c)
    ]


#: colour of the buildings on every map
BUILDING_COLOUR = "#595959"


def building_layer(building_id_rasters, grid: Grid, label: str = "buildings") -> ClassLayer | None:
    """The buildings on ``grid`` as a grey layer (legend entry ``label``), from the
    surface stage's building-id rasters (``-1`` where none), read at the grid's cell size:
    never every footprint of a city. None without rasters."""
    from pipeline.geo.raster import mosaic

    paths = sorted(str(p) for p in building_id_rasters)
    if not paths:
        return None
    ids, _ = mosaic(paths, crs=grid.crs, bounds=grid.bounds, resolution=grid.resolution, dtype="float32")
    if ids.shape != grid.shape:  # the mosaic's own rounding of the bounds: fit it to the grid
        fitted = np.full(grid.shape, np.nan, np.float32)
        rows, cols = min(grid.height, ids.shape[0]), min(grid.width, ids.shape[1])
        fitted[:rows, :cols] = ids[:rows, :cols]
        ids = fitted
    mask = np.where(np.nan_to_num(ids, nan=-1) >= 0, 1.0, np.nan)
    return ClassLayer(mask, grid, {1: BUILDING_COLOUR}, {1: label})


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


def _draw_texts(ax, overlay: Overlay, bounds: tuple[float, float, float, float]) -> None:
    """Write ``overlay.text_column`` of each feature at its representative point (inside
    the feature, also for a concave one), in dark text with a white halo; features whose
    point falls outside ``bounds`` are left out."""
    import matplotlib.patheffects as effects

    x0, y0, x1, y1 = bounds
    geometry = _geoseries(overlay.data)
    texts = overlay.data[overlay.text_column]
    for shape, text in zip(geometry, texts):
        if shape is None or shape.is_empty or text is None or str(text) == "":
            continue
        point = shape.representative_point()
        if not (x0 <= point.x <= x1 and y0 <= point.y <= y1):
            continue
        ax.text(
            point.x,
            point.y,
            str(text),
            ha="center",
            va="center",
            fontsize=overlay.fontsize,
            color="#1a1a1a",
            zorder=5,
            path_effects=[effects.withStroke(linewidth=3, foreground="white")],
        )


def raster_map_figure(
    data: np.ndarray,
    grid: Grid,
    *,
    title: str,
    units: str,
    cmap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
    overlays: list[Overlay] | None = None,
    layers: list[ClassLayer] | None = None,
):
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
    layers : list of ClassLayer, optional
        Categorical rasters drawn over the data, in order (e.g. buildings, then streets by
        class), each code with its legend entry.

    Text is set in :data:`MAP_FONTS` (Japanese and Latin). Rasters are drawn with at most :data:`DRAW_MAX_PIXELS` cells a side, so a map costs the
    same memory for a district and a city.
    """
    data = np.asarray(data)
    if data.shape != grid.shape:
        raise ValueError(f"map data shape {data.shape} does not match grid {grid.shape}")
    with map_style():
        return _figure(data, grid, title, units, cmap, vmin, vmax, overlays or [], layers or [])


def _figure(data, grid, title, units, cmap, vmin, vmax, overlays, layers):
    kept, extent = _decimated(data, grid)
    values = np.ma.masked_invalid(np.asarray(kept, dtype=np.float64))
    fig, ax = plt.subplots(figsize=(8, 8 * grid.height / max(grid.width, 1) + 0.6))
    x0, y0, x1, y1 = grid.bounds
    image = ax.imshow(
        values, extent=extent, origin="upper", cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest"
    )
    handles = []
    for layer in layers:
        handles += _draw_classes(ax, layer)
    for overlay in overlays:
        shapes = _geoseries(overlay.data)
        if overlay.facecolor == "none":  # outlines only: polygons drawn by their boundary
            shapes = shapes.where(~shapes.geom_type.isin(["Polygon", "MultiPolygon"]), shapes.boundary)
        shapes.plot(
            ax=ax,
            color=overlay.color if overlay.facecolor == "none" else None,
            edgecolor=overlay.color,
            facecolor=overlay.facecolor,
            linewidth=overlay.linewidth,
            label=overlay.label,
            **overlay.style,
        )
        if overlay.text_column:
            _draw_texts(ax, overlay, grid.bounds)
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
    ax.add_artist(
        AnchoredSizeBar(
            ax.transData, length, label, "lower left", pad=0.5, frameon=True, size_vertical=(y1 - y0) / 150
        )
    )
    ax.annotate(
        "N",
        xy=(0.95, 0.95),
        xytext=(0.95, 0.83),
        xycoords="axes fraction",
        ha="center",
        va="center",
        fontsize=12,
        fontweight="bold",
        fontfamily="DejaVu Sans",  # IPAexGothic has no bold
        arrowprops=dict(facecolor="black", width=4, headwidth=12),
    )
    if handles or any(o.label for o in overlays):
        labelled, _ = ax.get_legend_handles_labels()
        ax.legend(handles=labelled + handles, loc="lower right", fontsize=8)
    return fig


def render_raster_map(
    data: np.ndarray, grid: Grid, *, title: str, units: str, dpi: int = 150, **options
) -> bytes:
    """Render a raster map to PNG bytes: the raster with a colour legend in ``units``, a
    scale bar, a north arrow, the title and any overlays (:func:`raster_map_figure`).

    The PNG's text chunks say what it shows: ``Title``, ``Description`` (the legend's
    units) and ``Extent`` (``x_min y_min x_max y_max CRS``), so a map can be checked and
    catalogued without looking at it.
    """
    fig = raster_map_figure(data, grid, title=title, units=units, **options)
    x0, y0, x1, y1 = grid.bounds
    buffer = io.BytesIO()
    with map_style():
        _save(fig, buffer, dpi, title, units, f"{x0:.2f} {y0:.2f} {x1:.2f} {y1:.2f} {grid.crs}")
    plt.close(fig)
    return buffer.getvalue()


def _save(fig, buffer, dpi, title, units, extent) -> None:
    fig.savefig(
        buffer,
        format="png",
        dpi=dpi,
        bbox_inches="tight",
        metadata={
            "Title": title,
            "Description": f"legend: {units}",
            "Extent": extent,
            "Software": "machi",
        },
    )


def write_raster_map(
    path: str | os.PathLike, data: np.ndarray, grid: Grid, *, title: str, units: str, **options
) -> str:
    """Render a map (see :func:`render_raster_map`) and write it atomically as PNG."""
    started = time.perf_counter()
    png = render_raster_map(data, grid, title=title, units=units, **options)
    write_bytes_atomic(path, png)
    log.info("map: wrote %s (%d bytes) in %.1f s", path, len(png), time.perf_counter() - started)
    return str(path)
