"""Shadow stages of a run: shade per scenario per tile, maps, and the shadow diagram.

- ``shadow`` (one task per tile): reads the tile's surface rasters (tile plus halo),
  casts shadows for every scenario (season × time slot) and for the whole day of every
  season, and writes, on the tile grid (halo removed), COGs of shade fraction, shade
  hours and sun hours, plus per-building roof and surround shade hours (GeoParquet-ready
  Parquet keyed by ``gml_id``);
- ``shadow_maps`` (one task): mosaics the tiles and draws a PNG map per scenario (legend,
  scale bar, north arrow, title) over the extent of the buildings;
- ``shadow_diagram`` (one task per tile): the Japanese shadow diagram (日影図) on the
  winter solstice for the tile's buildings: hourly outlines 8:00-16:00 true solar time
  and equal-time shadow lines on the measurement plane, as GeoParquet.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipeline.geo.atomic import atomic_path
from pipeline.geo.raster import Grid, read_raster, write_cog
from pipeline.records import StageResult
from pipeline.shade.shadow import (CanopyTransmissivity, TileShade, building_shade_summary, inner_window,
                             tile_shade)
from pipeline.shade.sun import DEFAULT_SEASONS, DEFAULT_TIME_SLOTS, Scenario, Season, TimeSlot

log = logging.getLogger(__name__)


class Transmissivity(BaseModel):
    """Share of sunlight that passes through a tree crown."""

    model_config = ConfigDict(extra="forbid")
    leaf_on: float = Field(0.2, ge=0, le=1, description="summer crowns (deciduous in leaf)")
    leaf_off: float = Field(0.6, ge=0, le=1, description="winter crowns (deciduous bare)")
    leaf_off_months: list[int] = Field([12, 1, 2, 3], description="months with bare crowns")


class ShadowStage(BaseModel):
    """``stages.shadow``: scenarios and sampling of the shade maps."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    year: int = Field(2026, ge=1900, le=2100, description="year of the season dates")
    seasons: dict[str, str] = Field(
        default_factory=lambda: {s.name: f"{s.month:02d}-{s.day:02d}" for s in DEFAULT_SEASONS},
        description="season name -> MM-DD")
    slots: dict[str, tuple[str, str]] = Field(
        default_factory=lambda: {s.name: (s.start, s.end) for s in DEFAULT_TIME_SLOTS},
        description="slot name -> [HH:MM start, HH:MM end], local time")
    step_minutes: float = Field(10.0, gt=0, le=60, description="sampling step within a slot")
    transmissivity: Transmissivity = Field(default_factory=Transmissivity)
    sun_hours: bool = Field(True, description="also sun hours over each season's whole day")

    @field_validator("seasons")
    @classmethod
    def _dates(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            try:
                dt.date(2001, *(int(p) for p in text.split("-")))
            except (ValueError, TypeError):
                raise ValueError(f"season {name!r}: {text!r} is not MM-DD") from None
        return value

    def scenarios(self) -> list[Scenario]:
        seasons = [Season(name, *(int(p) for p in text.split("-"))) for name, text in self.seasons.items()]
        slots = [TimeSlot(name, start, end) for name, (start, end) in self.slots.items()]
        return [Scenario(season, slot) for season in seasons for slot in slots]


class ShadowDiagramStage(BaseModel):
    """``stages.shadow_diagram``: the 日影図 on the winter solstice."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    plane_height_m: Literal[1.5, 4.0, 6.5] = Field(4.0, description="measurement plane above ground")
    hours: list[float] = Field([2.0, 2.5, 3.0, 4.0, 5.0], description="equal-time line levels")
    buildings: list[str] = Field(default_factory=list, description="gml:ids; empty = all")
    min_height_m: float = Field(10.0, ge=0, description="only buildings at least this tall")
    step_minutes: float = Field(2.0, gt=0, le=30)
    resolution_m: float = Field(1.0, gt=0, le=10, description="raster of the plane for the lines")
    year: int = 2026


# -- shade per tile ----------------------------------------------------------------
def shadow_tile(tile: str, inner: Grid, out_dir: str, *, settings: ShadowStage, halo_m: float,
                timezone: str, surface: list[dict]) -> StageResult:
    """Shade fraction, shade hours and sun hours of one tile, and per-building summaries."""
    start = time.perf_counter()
    [record] = [r for r in surface if r.get("status") == "done"] or [None]
    if record is None:
        raise ValueError(f"tile {tile}: its surface task did not finish")
    outputs = record["outputs"]
    dsm, outer, _ = read_raster(outputs["dsm"])
    canopy, _, _ = read_raster(outputs["canopy"])
    building_index, _, _ = read_raster(outputs["building_id"])
    transmissivity = CanopyTransmissivity(
        leaf_on=settings.transmissivity.leaf_on, leaf_off=settings.transmissivity.leaf_off,
        leaf_off_months=tuple(settings.transmissivity.leaf_off_months))
    canopy_top = canopy if np.isfinite(canopy).any() else None
    shade = shade_by_season(dsm, outer, inner, settings.scenarios(), settings.year,
                            canopy_top=canopy_top, transmissivity=transmissivity,
                            step_minutes=settings.step_minutes, timezone=timezone,
                            max_distance_m=halo_m, sun_hours=settings.sun_hours)
    folder = Path(out_dir) / tile
    written: dict = {"shade_fraction": {}, "shade_hours": {}, "sun_hours": {}}
    for name, result in shade.scenarios.items():
        written["shade_fraction"][name] = write_cog(
            folder / f"{name}_shade_fraction.tif", result.shade_fraction.astype(np.float32), inner,
            nodata=np.nan, tags={"scenario": name, "units": "share of the slot in shade"})
        written["shade_hours"][name] = write_cog(
            folder / f"{name}_shade_hours.tif", result.shade_hours.astype(np.float32), inner,
            nodata=np.nan, tags={"scenario": name, "units": "hours"})
    for season, hours in shade.sun_hours.items():
        written["sun_hours"][season] = write_cog(
            folder / f"{season}_sun_hours.tif", hours.astype(np.float32), inner, nodata=np.nan,
            tags={"season": season, "units": "hours of direct sun, sunrise to sunset"})

    row0, row1, col0, col1 = inner_window(outer, inner)
    inner_index = building_index[row0:row1, col0:col1]
    names = gpd.read_parquet(outputs["buildings"])
    summary = names.set_index("building_index")[["gml_id", "geometry"]]
    for name, result in shade.scenarios.items():
        per_building = building_shade_summary(result.shade_hours, inner_index, inner.resolution)
        per_building = per_building.set_index("building_index")
        summary[f"roof_shade_hours_{name}"] = per_building["roof_shade_hours_mean"]
        summary[f"surround_shade_hours_{name}"] = per_building["ring_shade_hours_mean"]
    summary = summary.dropna(subset=[c for c in summary.columns if c.startswith("roof_")], how="all")
    table = folder / "buildings_shade.parquet"
    with atomic_path(table) as tmp:
        gpd.GeoDataFrame(summary.reset_index(drop=True), geometry="geometry",
                         crs=inner.crs).to_parquet(tmp, index=False)
    written["buildings"] = written["feature_table"] = str(table)
    log.info("shadow %s: %d scenarios, %d buildings summarised (%.1f s)", tile,
             len(shade.scenarios), len(summary), time.perf_counter() - start)
    return StageResult(written, {"scenarios": len(shade.scenarios), "buildings": len(summary)},
                       feature_type="bldg")


def shade_by_season(dsm: np.ndarray, outer: Grid, inner: Grid, scenarios: list[Scenario],
                    year: int, *, canopy_top: np.ndarray | None, **options) -> TileShade:
    """:func:`pipeline.shade.shadow.tile_shade`, one Dask task per season (its time steps).

    Inside a Dask worker the seasons of a tile go to the cluster as separate tasks (the
    tile's surface scattered once), so one tile's time steps spread over every worker;
    elsewhere they run one after the other. Memory per task is one tile's rasters.
    """
    groups: dict[str, list[Scenario]] = {}
    for scenario in scenarios:
        groups.setdefault(scenario.season.name, []).append(scenario)
    try:
        from distributed import worker_client
        with worker_client() as client:
            dsm_future, canopy_future = client.scatter([dsm, canopy_top], broadcast=False)
            futures = [client.submit(tile_shade, dsm_future, outer, inner, group, year,
                                     canopy_top=canopy_future, pure=False, **options)
                       for group in groups.values()]
            parts = client.gather(futures)
    except ValueError:  # not running on a Dask worker
        parts = [tile_shade(dsm, outer, inner, group, year, canopy_top=canopy_top, **options)
                 for group in groups.values()]
    merged = TileShade(grid=inner)
    for part in parts:
        merged.scenarios.update(part.scenarios)
        merged.sun_hours.update(part.sun_hours)
    return merged


# -- maps ----------------------------------------------------------------------------
def shadow_maps(out_dir: str, extent: tuple[float, float, float, float] | None, crs: str, *,
                shadow: list[dict], buildings: list[str] = ()) -> StageResult:
    """A PNG per scenario (shade hours) and per season (sun hours) over ``extent``."""
    from pipeline.geo.maps import Overlay, write_raster_map
    from rasterio.merge import merge

    done = [r for r in shadow if r.get("status") == "done"]
    footprints = None
    if buildings:
        footprints = pd.concat([gpd.read_parquet(p, columns=["geometry"]) for p in buildings])
    written = {}
    for kind, units, cmap in (("shade_hours", "hours in shade", "magma_r"),
                              ("sun_hours", "hours of sun", "YlOrRd")):
        names = sorted({n for r in done for n in r["outputs"].get(kind, {})})
        for name in names:
            paths = [r["outputs"][kind][name] for r in done if name in r["outputs"][kind]]
            mosaic, transform = merge(paths, bounds=extent, nodata=np.nan)
            grid = Grid(transform.c, transform.f, transform.a, mosaic.shape[2], mosaic.shape[1], crs)
            title = f"{'Shade' if kind == 'shade_hours' else 'Sun'} hours, {name.replace('_', ' ')}"
            overlays = [Overlay(footprints.geometry, color="#4a4a4a", linewidth=0.3,
                                label="buildings")] if footprints is not None else []
            path = Path(out_dir) / f"{kind}_{name}.png"
            write_raster_map(path, mosaic[0], grid, title=title, units=units, cmap=cmap,
                             vmin=0, overlays=overlays)
            written[f"{kind}_{name}"] = str(path)
    return StageResult(written, {"maps": len(written)})


# -- shadow diagram -----------------------------------------------------------------
def shadow_diagram_tile(tile: str, inner: Grid, out_dir: str, *, settings: ShadowDiagramStage,
                        timezone: str, ingest: list[dict]) -> StageResult:
    """Hourly outlines and equal-time lines for the tile's buildings (with neighbours' shadows)."""
    from pipeline.shade.diagram import equal_time_shadow_lines, shadow_outlines
    import shapely

    tables = [gpd.read_parquet(r["outputs"]["table"]) for r in ingest
              if r.get("status") == "done" and r.get("feature_type") == "bldg"]
    buildings = pd.concat(tables, ignore_index=True) if tables else gpd.GeoDataFrame()
    folder = Path(out_dir)
    outputs = {}
    if len(buildings):
        buildings = gpd.GeoDataFrame(buildings, geometry="geometry", crs=inner.crs)
        centres = buildings.geometry.centroid
        x0, y0, x1, y1 = inner.bounds
        in_tile = (centres.x >= x0) & (centres.x < x1) & (centres.y >= y0) & (centres.y < y1)
        chosen = buildings[in_tile & buildings["height_m"].notna()
                           & (buildings["height_m"] >= settings.min_height_m)]
        if settings.buildings:
            chosen = chosen[chosen["gml_id"].isin(settings.buildings)]
        chosen = chosen[chosen.geometry.notna() & ~chosen.geometry.is_empty]
    else:
        chosen = buildings
    if not len(chosen):
        return StageResult({}, {"buildings": 0})
    footprints = [shapely.make_valid(g) for g in chosen.geometry]
    heights = chosen["height_m"].to_numpy(dtype=float)
    outlines = shadow_outlines(footprints, heights, inner.crs, plane_height_m=settings.plane_height_m,
                               year=settings.year, timezone=timezone)
    lines, _, _ = equal_time_shadow_lines(footprints, heights, inner.crs,
                                          plane_height_m=settings.plane_height_m,
                                          year=settings.year, levels=settings.hours,
                                          step_minutes=settings.step_minutes,
                                          resolution=settings.resolution_m, timezone=timezone)
    for frame in (outlines, lines):
        frame["tile"] = tile
        frame["plane_height_m"] = settings.plane_height_m
    outputs["outlines"] = str(folder / f"{tile}_hourly_outlines.parquet")
    outputs["equal_time_lines"] = str(folder / f"{tile}_equal_time_lines.parquet")
    with atomic_path(outputs["outlines"]) as tmp:
        outlines.to_parquet(tmp, index=False)
    with atomic_path(outputs["equal_time_lines"]) as tmp:
        lines.to_parquet(tmp, index=False)
    return StageResult(outputs, {"buildings": len(chosen), "lines": len(lines)})
