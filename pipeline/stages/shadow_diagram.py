"""``shadow_diagram``: the Japanese shadow diagram (日影図) per tile.

On the winter solstice of ``scenarios.year``, for the tile's buildings (those at least
``min_height_m`` tall, or the ``gml:id``s named), with the neighbours' buildings read too:
hourly outlines 8:00-16:00 true solar time and equal-time shadow lines on the measurement
plane (:mod:`pipeline.shade.diagram`), as GeoParquet under ``<output>/shadow_diagram/``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from pipeline.core.settings import StageSettings
from pipeline.core.stage import Stage
from pipeline.core.task import Outputs, PlanContext, Record, Result, Task, done, keys, tile_neighbourhood


class ShadowDiagramSettings(StageSettings):
    """The 日影図 (shadow diagram) per tile on the winter solstice of `scenarios.year`."""

    plane_height_m: Literal[1.5, 4.0, 6.5] = Field(
        4.0, description="Measurement plane above ground: `1.5`, `4.0` or `6.5` m."
    )
    hours: list[float] = Field(
        [2.0, 2.5, 3.0, 4.0, 5.0],
        min_length=1,
        description=("Levels of the equal-time shadow lines (hours)."),
    )
    buildings: list[str] = Field(
        default_factory=list, description="`gml:id`s to draw; empty means every building of the tile."
    )
    min_height_m: float = Field(
        10.0,
        ge=0,
        le=1000,
        description="Only buildings at least this tall (the regulation's usual threshold).",
    )
    step_minutes: float = Field(
        2.0, gt=0, le=30, description="Time step of the shade-hour count on the plane."
    )
    resolution_m: float = Field(
        1.0, gt=0, le=10, description="Cell size of the plane raster the lines are traced on."
    )

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: list[float]) -> list[float]:
        if any(not 0 < h <= 8 for h in value):
            raise ValueError(f"hours lie in (0, 8] (the regulated day is 8:00-16:00), got {value}")
        return sorted(set(value))


@dataclass(frozen=True)
class ShadowDiagramOutputs(Outputs):
    """GeoParquet of the tile's hourly shadow outlines and equal-time shadow lines (None: no
    building of the tile qualified)."""

    outlines: str | None = None
    equal_time_lines: str | None = None


def shadow_diagram_tile(
    tile: str,
    inner,
    out_dir: str,
    *,
    settings: ShadowDiagramSettings,
    year: int,
    timezone: str,
    ingest: list[Record],
) -> Result:
    """Hourly outlines and equal-time lines for the tile's buildings (with neighbours' shadows)."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    from pipeline.shade.diagram import equal_time_shadow_lines, shadow_outlines
    from tiles.atomic import atomic_path

    tables = [gpd.read_parquet(r.outputs.table) for r in ingest if r.feature_type == "bldg"]
    buildings = pd.concat(tables, ignore_index=True) if tables else gpd.GeoDataFrame()
    folder = Path(out_dir)
    outputs = {}
    if len(buildings):
        buildings = gpd.GeoDataFrame(buildings, geometry="geometry", crs=inner.crs)
        centres = buildings.geometry.centroid
        x0, y0, x1, y1 = inner.bounds
        in_tile = (centres.x >= x0) & (centres.x < x1) & (centres.y >= y0) & (centres.y < y1)
        chosen = buildings[
            in_tile & buildings["height_m"].notna() & (buildings["height_m"] >= settings.min_height_m)
        ]
        if settings.buildings:
            chosen = chosen[chosen["gml_id"].isin(settings.buildings)]
        chosen = chosen[chosen.geometry.notna() & ~chosen.geometry.is_empty]
    else:
        chosen = buildings
    if not len(chosen):
        return Result(counts={"buildings": 0})
    footprints = [shapely.make_valid(g) for g in chosen.geometry]
    heights = chosen["height_m"].to_numpy(dtype=float)
    outlines = shadow_outlines(
        footprints, heights, inner.crs, plane_height_m=settings.plane_height_m, year=year, timezone=timezone
    )
    lines, _, _ = equal_time_shadow_lines(
        footprints,
        heights,
        inner.crs,
        plane_height_m=settings.plane_height_m,
        year=year,
        levels=settings.hours,
        step_minutes=settings.step_minutes,
        resolution=settings.resolution_m,
        timezone=timezone,
    )
    for frame in (outlines, lines):
        frame["tile"] = tile
        frame["plane_height_m"] = settings.plane_height_m
    outputs["outlines"] = str(folder / f"{tile}_hourly_outlines.parquet")
    outputs["equal_time_lines"] = str(folder / f"{tile}_equal_time_lines.parquet")
    with atomic_path(outputs["outlines"]) as tmp:
        outlines.to_parquet(tmp, index=False)
    with atomic_path(outputs["equal_time_lines"]) as tmp:
        lines.to_parquet(tmp, index=False)
    return Result(
        outputs=ShadowDiagramOutputs(**outputs), counts={"buildings": len(chosen), "lines": len(lines)}
    )


def plan(ctx: PlanContext, records: Mapping[str, Record]) -> list[Task]:
    settings: ShadowDiagramSettings = ctx.settings("shadow_diagram")
    definition = ctx.definition
    from citygml.source import meshes_related

    buildings = done(records, "ingest", feature_type="bldg")
    tasks = []
    for tile in ctx.tiles:
        meshes = sorted(tile_neighbourhood(tile))
        related = [r for r in buildings if meshes_related(r.mesh_code, meshes)]
        if not related:
            continue
        tasks.append(
            Task(
                stage="shadow_diagram",
                tile=tile,
                func=shadow_diagram_tile,
                args=(tile, ctx.tile_grid(tile, halo=False), str(ctx.out("shadow_diagram"))),
                kwargs={
                    "settings": settings,
                    "year": definition.scenarios.year,
                    "timezone": definition.timezone,
                },
                params={
                    "settings": settings.model_dump(),
                    "year": definition.scenarios.year,
                    "tz": definition.timezone,
                },
                upstream={"ingest": keys(related)},
                meshes=(tile,),
            )
        )
    return tasks


# The buildings of the tile and its neighbours (their shadows cross the tile's edge).
STAGE = Stage(
    name="shadow_diagram",
    settings=ShadowDiagramSettings,
    plan=plan,
    code=("pipeline.shade", "pipeline.geo"),
    needs=("ingest",),
    reach="neighbours",
    outputs=ShadowDiagramOutputs,
    reads={"ingest": ("table",)},
)
