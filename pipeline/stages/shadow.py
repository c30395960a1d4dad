"""``shadow`` (one task per tile) and ``shadow_maps`` (one task for the run).

``shadow`` reads the tile's surface rasters (tile plus halo), casts shadows for every
scenario (season x time slot) and for the whole day of every season in one call
(:func:`pipeline.shade.shadow.tile_shade`: one schedule of the tile's distinct sun
positions, horizons computed once per azimuth sector by default, ``method: sweep`` for
the exact reference; one numba thread inside a Dask worker), and writes, on the tile grid (halo removed), COGs of
shade fraction, shade hours and sun hours, plus per-building roof and surround shade
hours (Parquet keyed by ``gml_id``, joined to the building tiles' property tables). When
the run names weather and the thermal stage casts shade alike
(:func:`pipeline.stages.thermal.shares_pass`, the default), the same pass also computes the
tile's sky view and thermal comfort (:func:`pipeline.thermal.tile.shade_and_thermal`) and
writes them under ``thermal/<tile>/``; the thermal stage's task then hands them on.
``shadow_maps`` draws a PNG per scenario (legend, scale bar, north arrow, title) over the
extent of the buildings, at most :data:`MAP_MAX_PIXELS` on a side. Both are configured by
``stages.shadow``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field

from pipeline.core.settings import StageSettings
from pipeline.core.stage import Stage
from pipeline.core.task import Outputs, PlanContext, Record, Result, Task, done, keys
from pipeline.stages.common import (
    SectorSetting,
    ShadeMethodSetting,
    Transmissivity,
    numba_threads,
    numba_threads_for_task,
    surface_scenario_tasks,
)

log = logging.getLogger(__name__)

#: A map of the whole run is drawn at most this many pixels on a side (coarser cells for
#: a large city), so the map task stays bounded whatever the city's size.
MAP_MAX_PIXELS = 4096
#: How the shade and sun-hour COGs are compressed (lossless): their values are sums of a
#: few sample weights, so many cells repeat a value exactly and plain ZSTD without a
#: predictor beats the floating-point predictor on both CPU and size (sample tile, 28
#: COGs: 1.2 CPU s and 4.3 MB against 2.8 s and 6.9 MB for DEFLATE with predictor 3;
#: ``benchmarks/shadow_stage.py``).
COG_OPTIONS = {"compress": "ZSTD", "predictor": 1, "level": 1}


class ShadowSettings(StageSettings):
    """Shade maps per tile and scenario (and the `shadow_maps` PNGs)."""

    step_minutes: float = Field(
        10.0,
        gt=0,
        le=60,
        description="Sampling step inside a slot (sun position at the middle of each step).",
    )
    transmissivity: Transmissivity = Field(default_factory=Transmissivity, description="Tree crowns.")
    sun_hours: bool = Field(
        True, description="Also sun hours over each season's whole day (sunrise to sunset)."
    )
    maps: bool = Field(True, description="PNG maps of shade and sun hours (`shadow_maps` stage).")
    method: ShadeMethodSetting = "horizon"
    sector_deg: SectorSetting = 2.0


@dataclass(frozen=True)
class ShadowOutputs(Outputs):
    """One tile's shade (COGs on the tile grid, halo removed), by scenario name:
    ``shade_fraction`` (share of the slot in shade) and ``shade_hours``; by season:
    ``sun_hours`` (sunrise to sunset). ``buildings`` (= ``feature_table``, joined to the
    ``bldg`` 3D Tiles): roof and surround shade hours per building."""

    shade_fraction: dict[str, str] = field(default_factory=dict)
    shade_hours: dict[str, str] = field(default_factory=dict)
    sun_hours: dict[str, str] = field(default_factory=dict)
    buildings: str | None = None
    feature_table: str | None = None
    #: The tile's :class:`~pipeline.stages.thermal.ThermalOutputs` (manifest form) when this
    #: task computed them in its pass (the run names weather; ``thermal.shares_pass``).
    thermal: dict[str, Any] | None = None


@dataclass(frozen=True)
class ShadowMapsOutputs(Outputs):
    """PNG maps by name: ``shade_hours_<scenario>`` and ``sun_hours_<season>``."""

    maps: dict[str, str] = field(default_factory=dict)


def shadow_tile(
    tile: str,
    inner,
    out_dir: str,
    *,
    settings: ShadowSettings,
    scenarios: list,
    year: int,
    halo_m: float,
    timezone: str,
    surface: list[Record],
    thermal=None,
    forcing: list[Record] = (),
    weather_file: str | None = None,
    thermal_dir: str | None = None,
) -> Result:
    """Shade fraction, shade hours and sun hours of one tile, and per-building summaries.

    With ``thermal`` (the thermal stage's settings, when the run names weather and
    :func:`pipeline.stages.thermal.shares_pass`), the same pass also computes the tile's
    sky view and thermal comfort (:func:`pipeline.thermal.tile.shade_and_thermal`) and
    writes them under ``thermal_dir`` as the thermal stage would, from the ``forcing``
    record's ``weather.csv`` (or ``weather_file``).
    """
    from pipeline.geo.raster import read_raster
    from pipeline.shade.shadow import CanopyTransmissivity, tile_shade
    from pipeline.stages import thermal as thermal_stage
    from pipeline.thermal.tile import shade_and_thermal

    start = time.perf_counter()
    tile_surface = thermal_stage.read_tile_surface(
        tile, inner, surface, settings.transmissivity.unknown_habit
    )
    thermal_outputs, sources = None, set()
    with numba_threads(numba_threads_for_task()):
        if thermal is None:
            tau = settings.transmissivity
            shade = tile_shade(
                tile_surface.dsm,
                tile_surface.outer,
                inner,
                scenarios,
                year,
                canopy_top=tile_surface.canopy_top,
                transmissivity=CanopyTransmissivity(
                    leaf_on=tau.leaf_on, leaf_off=tau.leaf_off, leaf_off_months=tuple(tau.leaf_off_months)
                ),
                step_minutes=settings.step_minutes,
                timezone=timezone,
                max_distance_m=halo_m,
                sun_hours=settings.sun_hours,
                method=settings.method,
                sector_deg=settings.sector_deg,
                evergreen_top=tile_surface.evergreen_top,
                covers=tile_surface.covers,
            )
        else:  # the same shade (shares_pass), with the thermal steps taken in the pass
            weather = thermal_stage.read_tile_weather(thermal, timezone, forcing, weather_file)
            tile_pass = shade_and_thermal(
                tile_surface,
                scenarios,
                year,
                weather,
                thermal_stage.thermal_options(thermal, halo_m, timezone, settings.step_minutes),
                sun_hours=settings.sun_hours,
            )
            shade = tile_pass.shade
            thermal_outputs, sources = thermal_stage.write_thermal(
                Path(thermal_dir) / tile, inner, tile_pass.sky_view, tile_pass.thermal, scenarios
            )
    pass_seconds = time.perf_counter() - start
    written = _write_shade(Path(out_dir) / tile, inner, shade)
    building_index, _, _ = read_raster(surface[0].outputs.building_id)
    summary = _building_summary(tile_surface, building_index, surface[0].outputs.buildings, shade)
    table = Path(out_dir) / tile / "buildings_shade.parquet"
    _write_table(table, summary, inner.crs)
    written["buildings"] = written["feature_table"] = str(table)
    if thermal_outputs is not None:
        written["thermal"] = thermal_outputs.to_json()
    log.info(
        "shadow %s: %d scenarios, %d buildings summarised (%s method, pass %.1f s, total %.1f s%s)",
        tile,
        len(shade.scenarios),
        len(summary),
        settings.method,
        pass_seconds,
        time.perf_counter() - start,
        ", thermal in the same pass" if thermal is not None else "",
    )
    details = {
        "method": settings.method,
        "pass_seconds": round(pass_seconds, 2),
        "thermal": thermal is not None,
    }
    if thermal is not None:
        details["weather"] = sorted(sources)
    return Result(
        outputs=ShadowOutputs(**written),
        counts={"scenarios": len(shade.scenarios), "buildings": len(summary)},
        feature_type="bldg",
        details=details,
    )


def _write_shade(folder: Path, inner, shade) -> dict:
    """The shade-fraction, shade-hour and sun-hour COGs of a :class:`~pipeline.shade.shadow.TileShade`."""
    import numpy as np

    from pipeline.geo.raster import write_cog

    written: dict = {"shade_fraction": {}, "shade_hours": {}, "sun_hours": {}}
    for name, result in shade.scenarios.items():
        written["shade_fraction"][name] = write_cog(
            folder / f"{name}_shade_fraction.tif",
            result.shade_fraction.astype(np.float32),
            inner,
            nodata=np.nan,
            tags={"scenario": name, "units": "share of the slot in shade"},
            **COG_OPTIONS,
        )
        written["shade_hours"][name] = write_cog(
            folder / f"{name}_shade_hours.tif",
            result.shade_hours.astype(np.float32),
            inner,
            nodata=np.nan,
            tags={"scenario": name, "units": "hours"},
            **COG_OPTIONS,
        )
    for season, hours in shade.sun_hours.items():
        written["sun_hours"][season] = write_cog(
            folder / f"{season}_sun_hours.tif",
            hours.astype(np.float32),
            inner,
            nodata=np.nan,
            tags={"season": season, "units": "hours of direct sun, sunrise to sunset"},
            **COG_OPTIONS,
        )
    return written


def _building_summary(tile_surface, building_index, buildings_path: str, shade):
    """Roof and surround shade hours per building and scenario (rows without a roof cell dropped)."""
    import geopandas as gpd

    from pipeline.shade.buildings import building_zones, zone_means

    row0, row1, col0, col1 = tile_surface.window
    inner_index = building_index[row0:row1, col0:col1]
    names = gpd.read_parquet(buildings_path)
    summary = names.set_index("building_index")[["gml_id", "geometry"]]
    zones = building_zones(inner_index, tile_surface.inner.resolution)
    for name, result in shade.scenarios.items():
        per_building = zone_means(result.shade_hours, zones).set_index("building_index")
        summary[f"roof_shade_hours_{name}"] = per_building["roof_shade_hours_mean"]
        summary[f"surround_shade_hours_{name}"] = per_building["ring_shade_hours_mean"]
    return summary.dropna(subset=[c for c in summary.columns if c.startswith("roof_")], how="all")


def _write_table(path: Path, summary, crs) -> None:
    import geopandas as gpd

    from tiles.atomic import atomic_path

    with atomic_path(path) as tmp:
        gpd.GeoDataFrame(summary.reset_index(drop=True), geometry="geometry", crs=crs).to_parquet(
            tmp, index=False
        )


def shadow_maps(
    out_dir: str,
    extent: tuple[float, float, float, float] | None,
    crs: str,
    *,
    shadow: list[Record],
    surface: list[Record] = (),
    labels: Mapping[str, str] | None = None,
) -> Result:
    """A PNG per scenario (shade hours) and per season (sun hours) over ``extent`` (default:
    every tile), with the buildings in grey; every raster read at most
    :data:`MAP_MAX_PIXELS` on a side, so the task is the same size for a district and a city.

    Titles and units are in Japanese and English (these maps belong to no report and so to no
    report language); ``labels`` names each scenario and season (:func:`map_labels`).

    The buildings come from the surface stage's building-id rasters, read the same way
    (nearest cell: a building stays a building), not from every footprint of the run.
    """
    from pipeline.geo.maps import building_layer, write_raster_map
    from pipeline.geo.raster import mosaic

    written = {}
    ids = sorted(r.outputs.building_id for r in surface if r.outputs.building_id)
    labels = labels or {}
    for kind, units, cmap in (
        ("shade_hours", "日陰の時間 / hours in shade (h)", "magma_r"),
        ("sun_hours", "日照の時間 / hours of sun (h)", "YlOrRd"),
    ):
        names = sorted({n for r in shadow for n in getattr(r.outputs, kind)})
        for name in names:
            paths = [getattr(r.outputs, kind)[name] for r in shadow if name in getattr(r.outputs, kind)]
            values, grid = mosaic(paths, crs=crs, bounds=extent, max_pixels=MAP_MAX_PIXELS)
            buildings = building_layer(ids, grid)
            ja, en = ("日陰時間", "Shade hours") if kind == "shade_hours" else ("日照時間", "Sun hours")
            label_ja, label_en = labels.get(name, f"{name} / {name}").split(" / ", 1)
            title = f"{ja} {label_ja} / {en}, {label_en}"
            path = Path(out_dir) / f"{kind}_{name}.png"
            write_raster_map(
                path,
                values,
                grid,
                title=title,
                units=units,
                cmap=cmap,
                vmin=0,
                layers=[buildings] if buildings else [],
            )
            written[f"{kind}_{name}"] = str(path)
    return Result(outputs=ShadowMapsOutputs(maps=written), counts={"maps": len(written)})


def plan_tiles(ctx: PlanContext, records: Mapping[str, Record]) -> list[Task]:
    """One task per tile; when the run wants the thermal stage and it shares the pass
    (:func:`pipeline.stages.thermal.shares_pass`), the task computes the thermal outputs too."""
    from pipeline.stages import thermal as thermal_stage

    settings: ShadowSettings = ctx.settings("shadow")
    tasks = surface_scenario_tasks(ctx, records, stage="shadow", func=shadow_tile, settings=settings)
    if not thermal_stage.STAGE.is_wanted(ctx.definition):
        return tasks
    thermal: thermal_stage.ThermalSettings = ctx.settings("thermal")
    if not thermal_stage.shares_pass(settings, thermal):
        return tasks
    for task in tasks:
        task.kwargs.update(thermal=thermal, thermal_dir=str(ctx.out("thermal")))
        task.params["thermal"] = thermal.model_dump(mode="json")
        thermal_stage.add_weather(ctx, records, task)
    return tasks


def map_labels(scenarios) -> dict[str, str]:
    """``"<ja> / <en>"`` for each scenario's name (season, slot and hours) and each season's
    name, in the planners' words (:mod:`pipeline.walkability.words`)."""
    from pipeline.walkability.words import SEASON_WORDS, scenario_label, word

    labels = {}
    for scenario in scenarios:
        labels[scenario.name] = f"{scenario_label(scenario, 'ja')} / {scenario_label(scenario, 'en')}"
        season = scenario.season.name
        labels[season] = f"{word(season, SEASON_WORDS, 'ja')} / {word(season, SEASON_WORDS, 'en')}"
    return labels


def plan_maps(ctx: PlanContext, records: Mapping[str, Record]) -> list[Task]:
    shadow = done(records, "shadow")
    if not shadow:
        return []
    labels = map_labels(ctx.scenarios)
    return [
        Task(
            stage="shadow_maps",
            tile="all",
            func=shadow_maps,
            args=(str(ctx.out("maps")), None, ctx.crs),
            kwargs={"labels": labels},
            params={"max_pixels": MAP_MAX_PIXELS, "labels": labels},
            upstream={"shadow": keys(shadow), "surface": keys(done(records, "surface"))},
        )
    ]


STAGE = Stage(
    name="shadow",
    settings=ShadowSettings,
    plan=plan_tiles,
    code=("pipeline.shade", "pipeline.thermal", "pipeline.geo", "pipeline.surface.habit"),
    needs=("surface", "thermal_forcing"),
    reach="tile",
    outputs=ShadowOutputs,
    reads={
        "surface": ("dsm", "canopy", "canopy_habit", "building_id", "buildings"),
        "thermal_forcing": ("weather_csv",),
    },
)
MAPS = Stage(
    name="shadow_maps",
    settings=ShadowSettings,
    plan=plan_maps,
    section="shadow",
    wanted=lambda definition: definition.stages.shadow.maps,
    code=("pipeline.geo",),
    needs=("surface", "shadow"),
    reach="run",
    outputs=ShadowMapsOutputs,
    reads={"surface": ("building_id",), "shadow": ("shade_hours", "sun_hours")},
)
