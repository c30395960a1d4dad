"""Before, after and change maps of a run on a baseline (施策の効果の地図).

For one scenario and one quantity (the thermal stage's mean UTCI, the shadow stage's shade
hours), three PNG maps over the area that changed (within the tiles the measures reached,
:data:`MARGIN_M` around the changed cells): the baseline's raster
("before"), the run's ("after") and after - before ("change"), drawn with the shared map
style of :mod:`pipeline.geo.maps` (legend with units, scale bar, north arrow), the measures
and the district outlines on top. Before and after share one colour scale; the change is
drawn on a diverging scale centred on 0 where blue is the better side (cooler, more shade).

Every map is written atomically and is byte-identical for the same rasters
(:func:`pipeline.geo.maps.write_raster_map` keeps no timestamp).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely

from pipeline.geo.maps import DRAW_MAX_PIXELS, ClassLayer, Overlay

#: Colour of the measures drawn on the maps.
MEASURE_COLOUR = "#00a651"


@dataclass(frozen=True)
class MapQuantity:
    """How one quantity is drawn: its colour maps and smallest visible change (its words are
    in :data:`MAP_WORDS`)."""

    cmap: str
    change_cmap: str  # diverging; blue for the better side of the change
    #: the smallest change drawn as one (units of the quantity): what sets the maps' extent
    #: and colour limit, so that numerical noise far from the measures does not
    visible: float


#: The quantities mapped, by the name of their change rasters (``effects/rasters/*_<name>_change.tif``).
QUANTITIES = {
    # 0.1 K: the smallest step the report's tables show (one decimal)
    "utci_mean": MapQuantity("RdYlBu_r", "RdBu_r", 0.1),
    # 0.05 h: three minutes of shade in the slot
    "shade_hours": MapQuantity("magma_r", "RdBu", 0.05),
}
#: The maps' titles, units and legend entries in the report's languages
#: (``stages.walkability.report_lang``).
MAP_WORDS = {
    "ja": {
        "utci_mean": "平均 UTCI",
        "utci_mean_units": "時間帯の平均 UTCI (°C)",
        "utci_mean_change_units": "UTCI の変化、施策後 − 施策前 (K)",
        "shade_hours": "日陰時間",
        "shade_hours_units": "時間帯のうち日陰の時間 (h)",
        "shade_hours_change_units": "日陰時間の変化、施策後 − 施策前 (h)",
        "before": "施策前",
        "after": "施策後",
        "change": "変化",
        "trees": "植栽した樹木",
        "areas": "追加した日よけ・建物",
        "lots": "追加建物の敷地",
        "streets": "変更した街路",
    },
    "en": {
        "utci_mean": "Mean UTCI",
        "utci_mean_units": "mean UTCI over the slot (°C)",
        "utci_mean_change_units": "UTCI change, after - before (K)",
        "shade_hours": "Shade hours",
        "shade_hours_units": "hours in shade in the slot (h)",
        "shade_hours_change_units": "shade change, after - before (h)",
        "before": "before",
        "after": "after",
        "change": "change",
        "trees": "trees planted",
        "areas": "canopies and buildings added",
        "lots": "lots of added buildings",
        "streets": "streets changed",
    },
}
#: The three maps of a quantity and scenario.
PANELS = ("before", "after", "change")
#: Ground shown around the cells that changed (m): a street block's worth of context.
MARGIN_M = 60.0


def changed_bounds(
    change: np.ndarray, grid, visible: float, margin_m: float = MARGIN_M
) -> tuple[float, float, float, float] | None:
    """``(x_min, y_min, x_max, y_max)`` (metres in ``grid.crs``) of the cells of ``change``
    that changed by ``visible`` or more, grown by ``margin_m`` and clipped to ``grid``; None
    when no cell did."""
    rows, cols = np.nonzero(np.abs(np.nan_to_num(change)) >= visible)
    if not rows.size:
        return None
    res = grid.resolution
    x0 = grid.x_min + cols.min() * res - margin_m
    x1 = grid.x_min + (cols.max() + 1) * res + margin_m
    y1 = grid.y_max - rows.min() * res + margin_m
    y0 = grid.y_max - (rows.max() + 1) * res - margin_m
    gx0, gy0, gx1, gy1 = grid.bounds
    return (max(x0, gx0), max(y0, gy0), min(x1, gx1), min(y1, gy1))


def symmetric_limit(
    change: np.ndarray, visible: float = 0.0, percentile: float = 99.0, step: float = 0.5
) -> float:
    """Colour limit ``L`` of a change map drawn from ``-L`` to ``L``: the ``percentile`` of
    the absolute change over the cells that changed (finite, non-zero and at least
    ``visible``), rounded up to a multiple of ``step``; ``step`` when no cell changed.

    The percentile, not the maximum, so that a few cells under a new building's wall do not
    wash out the change along the streets. Units are those of ``change``.
    """
    values = np.abs(np.asarray(change, dtype=np.float64))
    values = values[np.isfinite(values) & (values > 0) & (values >= visible)]
    if not values.size:
        return step
    return float(max(step, np.ceil(np.percentile(values, percentile) / step) * step))


def shared_range(*rasters: np.ndarray) -> tuple[float, float]:
    """One ``(vmin, vmax)`` for several rasters: their finite range rounded out to whole units."""
    finite = np.concatenate([np.asarray(r, np.float64)[np.isfinite(r)] for r in rasters])
    if not finite.size:
        return 0.0, 1.0
    low, high = float(np.floor(finite.min())), float(np.ceil(finite.max()))
    return low, max(high, low + 1.0)


def measure_overlays(measures, districts=None, lang: str = "en") -> list[Overlay]:
    """The district outlines with their names (GeoDataFrame with a ``district`` column, run
    CRS; :func:`pipeline.walkability.rasters.district_overlay`, as on the walkability maps)
    and the measures (:class:`pipeline.measures.records.MeasureSet`, run CRS) as map
    overlays labelled in ``lang``: trees as their crowns, canopies and added buildings as
    outlines, their lots dotted, street changes as lines. A removed building has no
    geometry in the file and is not drawn."""
    from pipeline.walkability.rasters import district_overlay

    words = MAP_WORDS[lang]
    overlays = district_overlay(districts, lang)
    # outlines, so that the change under a crown or a cover stays visible
    crowns = [shapely.Point(t.x, t.y).buffer(t.crown_diameter_m / 2, 16).boundary for t in measures.trees]
    areas = [c.polygon.boundary for c in measures.canopies] + [b.polygon.boundary for b in measures.buildings]
    lines = [s.line for s in measures.streets if s.line is not None]
    lots = list({b.lot_id: b.lot.boundary for b in measures.buildings if b.lot is not None}.values())
    if crowns:
        overlays.append(Overlay(crowns, color=MEASURE_COLOUR, linewidth=0.8, label=words["trees"]))
    if areas:
        overlays.append(Overlay(areas, color=MEASURE_COLOUR, linewidth=1.5, label=words["areas"]))
    if lots:
        overlays.append(
            Overlay(
                lots,
                color=MEASURE_COLOUR,
                linewidth=1.0,
                label=words["lots"],
                style={"linestyle": ":"},
            )
        )
    if lines:
        overlays.append(
            Overlay(
                lines, color=MEASURE_COLOUR, linewidth=2.5, label=words["streets"], style={"linestyle": "--"}
            )
        )
    return overlays


def write_effect_maps(
    folder: str | Path,
    scenario: str,
    title: str,
    quantity: str,
    *,
    before: Sequence[str],
    after: Sequence[str],
    crs: str,
    overlays: Sequence[Overlay] = (),
    buildings=None,
    lang: str = "en",
) -> dict[str, str]:
    """The before, after and change maps of one quantity and scenario.

    Parameters
    ----------
    folder : path
        Where the maps go: ``<quantity>_<panel>_<scenario>.png``, panel in :data:`PANELS`.
    scenario, title : str
        The scenario's name (in the file names) and how the maps' titles name it.
    quantity : str
        A key of :data:`QUANTITIES`.
    before, after : sequence of str
        The baseline's and the run's rasters of the tiles the measures reached (same tiles).
    crs : str
        The run's metric CRS; the maps' axes are its metres.
    overlays : sequence of Overlay
        Drawn on every map (:func:`measure_overlays`).
    buildings : callable, optional
        ``buildings(grid)`` returns the buildings' :class:`pipeline.geo.maps.ClassLayer`
        (or None) on the maps' grid (:func:`pipeline.geo.maps.building_layer`).
    lang : {"en", "ja"}
        The language of the titles and units (:data:`MAP_WORDS`); ``title`` is given in it.

    Returns
    -------
    dict
        Panel -> PNG path; empty without rasters.
    """
    from pipeline.geo.maps import write_raster_map
    from pipeline.geo.raster import mosaic

    if not before or not after:
        return {}
    spec = QUANTITIES[quantity]
    words = MAP_WORDS[lang]
    units, change_units = words[f"{quantity}_units"], words[f"{quantity}_change_units"]

    def read(bounds=None):
        was, grid = mosaic(before, crs=crs, bounds=bounds, max_pixels=DRAW_MAX_PIXELS)
        now, _ = mosaic(after, crs=crs, bounds=grid.bounds, resolution=grid.resolution)
        now = _fitted(now, grid.shape)
        return was, now, grid, (now.astype(np.float64) - was.astype(np.float64)).astype(np.float32)

    was, now, grid, change = read()
    bounds = changed_bounds(change, grid, spec.visible)
    if bounds is not None and bounds != grid.bounds:
        was, now, grid, change = read(bounds)
    low, high = shared_range(was, now)
    limit = symmetric_limit(change, spec.visible)
    layer: ClassLayer | None = buildings(grid) if buildings else None
    layers = [layer] if layer is not None else []
    drawn = {
        "before": (was, units, spec.cmap, low, high),
        "after": (now, units, spec.cmap, low, high),
        "change": (change, change_units, spec.change_cmap, -limit, limit),
    }
    folder = Path(folder)
    written = {}
    for panel in PANELS:
        values, units, cmap, vmin, vmax = drawn[panel]
        written[panel] = write_raster_map(
            folder / f"{quantity}_{panel}_{scenario}.png",
            values,
            grid,
            title=f"{words[quantity]} {words[panel]}: {title}",
            units=units,
            cmap=cmap,
            vmin=vmin,
            vmax=vmax,
            overlays=list(overlays),
            layers=layers,
        )
    return written


def _fitted(values: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``values`` cut or NaN-padded to ``shape`` (the mosaic's own rounding of the bounds)."""
    if values.shape == shape:
        return values
    fitted = np.full(shape, np.nan, np.float32)
    rows, cols = min(shape[0], values.shape[0]), min(shape[1], values.shape[1])
    fitted[:rows, :cols] = values[:rows, :cols]
    return fitted
