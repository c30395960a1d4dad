"""The run's rasters and maps, painted a tile at a time.

The score COG of every scenario and the maps (score, class, UTCI) are painted tile by tile
into canvases on disk (:class:`pipeline.geo.raster.MaxCanvas`): the streets' score at
their width, and for the maps the score, class and stress class 20 m wide, the highest
value winning where streets meet (for classes, the later one in
:data:`pipeline.walkability.classes.CLASS_PRIORITY`; for stress classes the hotter).
The maps read the canvases back at most :data:`MAP_MAX_PIXELS` a side and draw streets
and buildings as categorical layers (:class:`pipeline.geo.maps.ClassLayer`), so a map
of a city costs what a map of a district does. Titles, legends and units are in the
report's language (``stages.walkability.report_lang``, :data:`MAP_WORDS`) and the districts
of the report's tables are outlined and named on every map.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from pipeline.geo.maps import ClassLayer
from pipeline.geo.raster import Grid, mosaic
from pipeline.walkability.classes import CLASS_COLOURS, CLASS_PRIORITY, CLASS_WORDS
from pipeline.walkability.words import scenario_label

#: run-wide rasters of the maps are read at most this many pixels on a side
MAP_MAX_PIXELS = 4096
#: streets on the maps are drawn this wide either side of the centre line (m), so that
#: they read at the scale of a district map
MAP_HALF_WIDTH_M = 10.0

#: The maps' titles, legend entries and units, in the report's languages.
MAP_WORDS = {
    "ja": {
        "score": "歩きやすさスコア",
        "score_units": "スコア (0–100)",
        "classes": "街路の分類",
        "shade_units": "時間帯のうち日陰の割合 (0–1)",
        "utci": "体感温度 (UTCI)",
        "utci_units": "時間帯の平均 UTCI (°C)",
        "buildings": "建物",
        "districts": "地区",
        "design_case": " (設計条件)",
    },
    "en": {
        "score": "Walkability score",
        "score_units": "score (0-100)",
        "classes": "Walkability classes",
        "shade_units": "share of the time slot in shade (0-1)",
        "utci": "Felt temperature (UTCI)",
        "utci_units": "mean UTCI over the slot (°C)",
        "buildings": "buildings",
        "districts": "districts",
        "design_case": " (design case)",
    },
}


def burn_scores(
    segments: gpd.GeoDataFrame, grid: Grid, column: str = "score", *, half_width_m: float | np.ndarray = 0.0
) -> np.ndarray:
    """``column`` of the segments rasterised onto ``grid`` (every touched cell; NaN elsewhere).

    With ``half_width_m`` (one value, or one per segment) the street space around the
    centre line is burned. Segments are burned lowest value first, so where several share
    a cell the highest wins.
    """
    from rasterio.features import rasterize

    half = np.broadcast_to(np.asarray(half_width_m, float), (len(segments),))
    order = np.argsort(segments[column].to_numpy(float), kind="stable")
    known = segments[column].notna().to_numpy()[order]
    order = order[known]
    if not len(order):
        return np.full(grid.shape, np.nan, np.float32)
    geoms = segments.geometry.to_numpy()[order]
    geoms = np.where(
        half[order] > 0,
        [g.buffer(h, cap_style="flat") if h > 0 else g for g, h in zip(geoms, half[order])],
        geoms,
    )
    values = segments[column].to_numpy(float)[order]
    return rasterize(
        zip(geoms, values),
        out_shape=grid.shape,
        transform=grid.transform,
        fill=np.nan,
        all_touched=True,
        dtype="float32",
    )


def street_half_width(segments: gpd.GeoDataFrame, minimum_m: float = 3.0) -> np.ndarray:
    """Half the street width (m) of each segment, at least ``minimum_m`` (unknown widths too)."""
    width = pd.to_numeric(
        segments.get("width_m", pd.Series(np.nan, index=segments.index)), errors="coerce"
    ).to_numpy(float)
    return np.maximum(np.nan_to_num(width / 2.0, nan=minimum_m), minimum_m)


def scored_columns(path: str, wanted: Sequence[str]) -> list[str]:
    """The columns of ``wanted`` that the Parquet file at ``path`` has (read from its schema)."""
    import pyarrow.parquet as pq

    names = set(pq.read_schema(path).names)
    return [c for c in wanted if c in names]


def _km(length_m: float) -> str:
    return f"{length_m / 1000:.1f} km"


def district_overlay(districts: gpd.GeoDataFrame | None, lang: str = "ja") -> list:
    """The districts (a ``district`` name column, in the map's CRS) as a map overlay:
    thin dark outlines with each name written inside; [] without districts."""
    from pipeline.geo.maps import Overlay

    if districts is None or not len(districts):
        return []
    return [
        Overlay(
            districts[["district", "geometry"]],
            color="#333333",
            linewidth=0.9,
            label=MAP_WORDS[lang]["districts"],
            style={"linestyle": "--"},
            text_column="district",
        )
    ]


def write_score_map(
    folder: Path,
    name: str,
    title: str,
    score: tuple[np.ndarray, Grid],
    buildings: ClassLayer | None,
    *,
    lang: str = "ja",
    districts: gpd.GeoDataFrame | None = None,
) -> str:
    """The score map of one scenario: the score raster (streets drawn 20 m wide so that
    they read at the scale of a district map), over the buildings when given, with the
    districts named; words in ``lang``."""
    from dataclasses import replace

    from pipeline.geo.maps import write_raster_map

    w = MAP_WORDS[lang]
    return write_raster_map(
        folder / f"score_{name}.png",
        score[0],
        score[1],
        title=f"{w['score']}: {title}",
        units=w["score_units"],
        cmap="RdYlGn",
        vmin=0,
        vmax=100,
        layers=[replace(buildings, below=True)] if buildings else [],
        overlays=district_overlay(districts, lang),
    )


def write_class_map(
    folder: Path,
    name: str,
    title: str,
    classes: tuple[np.ndarray, Grid],
    lengths: Mapping[str, float],
    buildings: ClassLayer | None,
    shade: tuple[np.ndarray, Grid] | None = None,
    *,
    lang: str = "ja",
    districts: gpd.GeoDataFrame | None = None,
) -> str:
    """The class map of one scenario: streets (20 m wide) coloured by class over the
    scenario's shade and the buildings, with the districts named. ``classes`` holds the
    codes of :data:`pipeline.walkability.classes.CLASS_PRIORITY` (1-based); ``lengths``
    the street length per class for the legend (class names in ``lang``)."""
    from matplotlib.colors import LinearSegmentedColormap

    from pipeline.geo.maps import ClassLayer, write_raster_map

    # white (sun) to mid grey (shade), so class colours stay readable on shaded ground
    shade_cmap = LinearSegmentedColormap.from_list("shade", ["#ffffff", "#8c8c8c"])
    codes = {i + 1: cls for i, cls in enumerate(CLASS_PRIORITY)}
    streets = ClassLayer(
        classes[0],
        classes[1],
        {c: CLASS_COLOURS[cls] for c, cls in codes.items()},
        {
            c: f"{CLASS_WORDS[cls][lang]} ({_km(lengths.get(cls, 0.0))})"
            for c, cls in codes.items()
            if lengths.get(cls, 0.0) > 0
        },
    )
    background = shade if shade is not None else (np.full(classes[0].shape, np.nan, np.float32), classes[1])
    return write_raster_map(
        folder / f"class_{name}.png",
        background[0],
        background[1],
        title=f"{MAP_WORDS[lang]['classes']}: {title}",
        units=MAP_WORDS[lang]["shade_units"],
        cmap=shade_cmap,
        vmin=0,
        vmax=1,
        layers=[layer for layer in (buildings, streets) if layer is not None],
        overlays=district_overlay(districts, lang),
    )


def write_thermal_map(
    folder: Path,
    name: str,
    title: str,
    stress: tuple[np.ndarray, Grid],
    lengths: Mapping[str, float],
    utci: tuple[np.ndarray, Grid],
    buildings: ClassLayer | None,
    *,
    lang: str = "ja",
    districts: gpd.GeoDataFrame | None = None,
) -> str:
    """Streets (20 m wide) coloured by the UTCI stress class of their mean UTCI, over the
    scenario's mean-UTCI raster (°C): the thermal side of the score, for one scenario,
    with the districts named and words in ``lang``.
    ``stress`` holds 1-based indices of :data:`pipeline.thermal.utci.STRESS_KEYS` (cold to
    hot; where streets meet the hotter class is drawn)."""
    from pipeline.geo.maps import ClassLayer, write_raster_map
    from pipeline.thermal.utci import STRESS_CLASSES
    from pipeline.walkability.classes import stress_class_colours

    colours = stress_class_colours()
    streets = ClassLayer(
        stress[0],
        stress[1],
        {i + 1: colours[c.key] for i, c in enumerate(STRESS_CLASSES)},
        {
            i + 1: f"{c.label_ja if lang == 'ja' else c.label_en} ({_km(lengths.get(c.key, 0.0))})"
            for i, c in enumerate(STRESS_CLASSES)
            if lengths.get(c.key, 0.0) > 0
        },
    )
    values, grid = utci
    finite = values[np.isfinite(values)]
    low, high = (np.floor(finite.min()), np.ceil(finite.max())) if finite.size else (0.0, 1.0)
    return write_raster_map(
        folder / f"utci_{name}.png",
        values,
        grid,
        title=f"{MAP_WORDS[lang]['utci']}: {title}",
        units=MAP_WORDS[lang]["utci_units"],
        cmap="RdYlBu_r",
        vmin=float(low),
        vmax=float(max(high, low + 1)),
        layers=[layer for layer in (buildings, streets) if layer is not None],
        overlays=district_overlay(districts, lang),
    )


def _codes(values: pd.Series, order: Sequence[str]) -> pd.Series:
    """1-based positions of ``values`` in ``order`` (NaN where absent)."""
    return values.astype(object).map({key: float(i + 1) for i, key in enumerate(order)}).astype(float)


def map_title(scenario, lang: str) -> str:
    """The scenario as the maps name it (:func:`pipeline.walkability.words.scenario_label`),
    marked as a design case when its weather is the design heat day."""
    from pipeline.geo.scenarios import DESIGN_HEAT_DAY

    design = getattr(getattr(scenario.season, "weather", None), "kind", None) == DESIGN_HEAT_DAY
    return scenario_label(scenario, lang) + (MAP_WORDS[lang]["design_case"] if design else "")


def write_rasters_and_maps(
    folder: Path,
    tiles: Sequence[str | Path],
    scenarios: Sequence,
    grid: Grid,
    *,
    settings,
    sums: pd.DataFrame,
    shade_fraction: Mapping[str, Sequence[str]],
    utci_mean: Mapping[str, Sequence[str]],
    building_ids: Sequence[str],
    districts: gpd.GeoDataFrame | None = None,
) -> dict:
    """``score_<scenario>.tif`` from the scored tiles' GeoParquet files ``tiles`` (the
    street space at its width, the higher score where streets meet) and, with ``settings.maps``, the score, class and UTCI maps of every
    scenario. Every raster is painted a tile at a time into a canvas on disk
    (:class:`pipeline.geo.raster.MaxCanvas`) and the maps read it back at most
    :data:`MAP_MAX_PIXELS` a side: the task holds one tile's streets and one map, whatever
    the city's size. Returns ``{"score_raster": {...}, "score_map": {...}, "class_map":
    {...}, "utci_map": {...}}``. The maps' words are in ``settings.report_lang`` and name
    ``districts`` (a ``district`` name column, in ``grid.crs``) when given."""
    import contextlib

    from pipeline.geo.maps import building_layer
    from pipeline.geo.raster import MaxCanvas
    from pipeline.thermal.utci import STRESS_KEYS

    names = [s.name for s in scenarios]
    written: dict = {"score_raster": {}, "score_map": {}, "class_map": {}, "utci_map": {}}
    thermal = any(scored_columns(path, ["utci_class"]) for path in tiles)
    with contextlib.ExitStack() as stack:

        def canvases(kind: str) -> dict:
            return {
                n: stack.enter_context(MaxCanvas(grid, folder / "maps" / f"{kind}_{n}.tif")) for n in names
            }

        streets = {n: stack.enter_context(MaxCanvas(grid, folder / f"score_{n}.tif")) for n in names}
        wide = canvases("score") if settings.maps else {}
        classes = canvases("class") if settings.maps else {}
        stress = canvases("utci") if settings.maps and thermal else {}
        for path in tiles:
            table = gpd.read_parquet(
                path,
                columns=scored_columns(
                    path, ["scenario", "score", "width_m", "class", "utci_class", "geometry"]
                ),
            )
            for name, rows in table.groupby("scenario", sort=True):
                if name not in streets:
                    continue
                rows = rows.assign(_class=_codes(rows["class"], CLASS_PRIORITY))
                if "utci_class" in rows:
                    rows["_stress"] = _codes(rows["utci_class"], STRESS_KEYS)
                half = street_half_width(rows)
                jobs = [
                    (streets[name], "score", half),
                    (wide.get(name), "score", MAP_HALF_WIDTH_M),
                    (classes.get(name), "_class", MAP_HALF_WIDTH_M),
                    (stress.get(name) if "_stress" in rows else None, "_stress", MAP_HALF_WIDTH_M),
                ]
                for canvas, column, half_width in jobs:
                    if canvas is None:
                        continue
                    piece = canvas.window(
                        tuple(rows.total_bounds), margin_m=float(np.max(half_width)) + 2 * grid.resolution
                    )
                    if piece is not None:
                        canvas.paint(burn_scores(rows, piece, column, half_width_m=half_width), piece)
        run = sums[sums["level"] == "run"]
        for scenario in scenarios:
            name = scenario.name
            written["score_raster"][name] = streets[name].write_cog(
                folder / f"score_{name}.tif",
                tags={"scenario": name, "units": "walkability score 0-100", "day_type": settings.day_type},
            )
            if not settings.maps:
                continue
            lang = settings.report_lang
            title = map_title(scenario, lang)
            words = dict(lang=lang, districts=districts)
            score = wide[name].read(MAP_MAX_PIXELS)
            buildings = building_layer(building_ids, score[1], MAP_WORDS[lang]["buildings"])
            written["score_map"][name] = write_score_map(
                folder / "maps", name, title, score, buildings, **words
            )
            totals = run[run["scenario"] == name].sum(numeric_only=True)
            shade = mosaic(
                shade_fraction.get(name, ()), crs=grid.crs, bounds=grid.bounds, resolution=score[1].resolution
            )
            written["class_map"][name] = write_class_map(
                folder / "maps",
                name,
                title,
                classes[name].read(MAP_MAX_PIXELS, categorical=True),
                {cls: float(totals.get(f"length_{cls}", 0.0)) for cls in CLASS_COLOURS},
                buildings,
                shade,
                **words,
            )
            if stress and utci_mean.get(name):
                written["utci_map"][name] = write_thermal_map(
                    folder / "maps",
                    name,
                    title,
                    stress[name].read(MAP_MAX_PIXELS, categorical=True),
                    {key: float(totals.get(f"length_utci_{key}", 0.0)) for key in STRESS_KEYS},
                    mosaic(utci_mean[name], crs=grid.crs, bounds=grid.bounds, resolution=score[1].resolution),
                    buildings,
                    **words,
                )
    return written
