"""``viewer``: the planners' app for the run (last, one task): ``<output>/viewer/``.

Writes ``viewer.json`` (scenarios, layers with their URLs, legend domains, districts, the
run's name and CRS) and every layer the app shows that the other stages did not already
write: streets as ground-hugging 3D Tiles ribbons with per-scenario properties, shade
and sun hours as web-mercator imagery tiles, people flow as prisms per mesh cell, the
district and mesh areas, the use districts (用途地域) of the run's ``urf`` files
(:func:`pipeline.viewer.assets.write_viewer`). With
``copy_app`` the app and CesiumJS are copied beside it, so the output folder works on any
static web server; ``machi view OUT`` serves it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from pipeline.core.settings import StageSettings
from pipeline.core.stage import Stage
from pipeline.core.task import Outputs, PlanContext, Record, Result, Task, done, keys


class ViewerSettings(StageSettings):
    """The planners' viewer (runs when walkability ran)."""

    copy_app: bool = Field(
        True,
        description="Copy the app and CesiumJS into `<output>/viewer/` "
        "so the output folder is a complete static site.",
    )


@dataclass(frozen=True)
class ViewerOutputs(Outputs):
    """What :func:`pipeline.viewer.assets.write_viewer` wrote under ``<output>/viewer/``
    (None: not written): ``viewer_json``, the street ribbons' ``streets`` tileset, the
    ``terrain`` heights, the ``shade_hours``/``sun_hours`` imagery pyramids by scenario or
    season, the ``flow`` prisms by slot, the district ``areas`` and their ``summary``, the
    ``use_districts``, on a baseline the ``measures`` to draw and their segment
    ``changes``, and with ``copy_app`` the app's ``index``, ``cesium`` and ``fonts``."""

    viewer_json: str | None = None
    streets: str | None = None
    terrain: str | None = None
    shade_hours: dict[str, str] | None = None
    sun_hours: dict[str, str] | None = None
    flow: dict[str, str] | None = None
    areas: str | None = None
    summary: str | None = None
    use_districts: str | None = None
    priority: str | None = None
    report: str | None = None
    measures: str | None = None
    changes: str | None = None
    index: str | None = None
    cesium: str | None = None
    fonts: str | None = None


def viewer_task(
    out_dir: str,
    *,
    name: str,
    crs: str,
    scenarios: list[dict],
    timezone: str,
    options: dict,
    walkability: list[Record] = (),
    shadow: list[Record] = (),
    surface: list[Record] = (),
    peopleflow: list[Record] = (),
    ingest: list[Record] = (),
    export_tileset: list[Record] = (),
    lidar_tileset: list[Record] = (),
    urf: list[Record] = (),
    thermal_forcing: list[Record] = (),
    effects: list[Record] = (),
    measures: tuple[str, ...] = (),
    default_crown_diameter_m: float = 5.0,
) -> Result:
    from pipeline.measures.reader import read_measure_files
    from pipeline.thermal.forcing import season_weather_table
    from pipeline.viewer.assets import ViewerInputs, ViewerOptions, write_viewer

    summary = walkability[0].outputs if walkability else None
    scoring = walkability[0].details if walkability else {}
    shade: dict[str, list[str]] = {}
    sun: dict[str, list[str]] = {}
    for record in shadow:
        for scenario, path in record.outputs.shade_hours.items():
            shade.setdefault(scenario, []).append(path)
        for season, path in record.outputs.sun_hours.items():
            sun.setdefault(season, []).append(path)
    tilesets = {r.tile: r.outputs.tileset for r in export_tileset if r.outputs.tileset}
    if lidar_tileset and lidar_tileset[0].outputs.tileset:
        tilesets["lidar"] = lidar_tileset[0].outputs.tileset
    inputs = ViewerInputs(
        name=name,
        crs=crs,
        scenarios=scenarios,
        timezone=timezone,
        streets=summary.segments if summary else {},
        shade={k: sorted(v) for k, v in sorted(shade.items())},
        sun_hours={k: sorted(v) for k, v in sorted(sun.items())},
        terrain=sorted(r.outputs.terrain for r in surface),
        flow=peopleflow[0].outputs.flow_by_mesh if peopleflow else None,
        district_summary=((summary.summary_by_district or {}).get("parquet") if summary else None),
        mesh_summary=((summary.summary_by_mesh or {}).get("parquet") if summary else None),
        tilesets=tilesets,
        building_tables=sorted(r.outputs.table for r in ingest),
        use_districts=sorted(r.outputs.table for r in urf if r.outputs.table),
        districts=scoring.get("districts"),
        district_name=scoring.get("district_name", "name"),
        weights=scoring.get("weights"),
        thermal_rule=scoring.get("thermal_rule"),
        day_type=scoring.get("day_type", "weekday"),
        season_weather=(
            season_weather_table(thermal_forcing[0].outputs.weather_csv).to_dict("records")
            if thermal_forcing
            else None
        ),
        priority=((summary.priority or {}).get("parquet") if summary else None),
        report=summary.report if summary else None,
        flow_sources=_flow_sources(peopleflow[0].outputs.coverage) if peopleflow else (),
        measures=(
            read_measure_files(measures, crs, default_crown_diameter_m=default_crown_diameter_m)
            if measures
            else None
        ),
        effects_segments=(effects[0].outputs.segments.get("parquet") if effects else None),
    )
    written = write_viewer(out_dir, inputs, ViewerOptions(**options))
    kept: dict[str, Any] = {k: v for k, v in written.items() if v}
    return Result(outputs=ViewerOutputs.from_json(kept, stage="viewer"), counts={"scenarios": len(scenarios)})


def _flow_sources(coverage: str) -> list[dict[str, str]]:
    """The people-flow sources of the coverage table: ``source`` (file stem) and ``kind``."""
    import pandas as pd

    table = pd.read_parquet(coverage, columns=["source", "kind"]).drop_duplicates()
    return [{"source": str(r.source), "kind": str(r.kind)} for r in table.itertuples()]


def plan(ctx: PlanContext, records: Mapping[str, Record]) -> list[Task]:
    summary = done(records, "walkability_summary")
    if not summary:
        return []
    definition = ctx.definition
    scenarios = [
        {
            "name": s.name,
            "season": s.season.name,
            "slot": s.slot.name,
            "date": s.season.date(definition.scenarios.year).isoformat(),
            "start": s.slot.start,
            "end": s.slot.end,
            "weather_kind": s.season.weather.kind,
            "radiation_kind": s.season.weather.radiation,
        }
        for s in ctx.scenarios
    ]
    options = {"copy_app_files": ctx.settings("viewer").copy_app}  # ViewerOptions
    crown = ctx.settings("surface").default_crown_diameter_m  # as the surface stage reads the measures
    upstream = {
        "walkability": keys(summary),
        "shadow": keys(done(records, "shadow")),
        "surface": keys(done(records, "surface")),
        "peopleflow": keys(done(records, "peopleflow")),
        "ingest": keys(done(records, "ingest", feature_type="bldg")),
        "urf": keys(done(records, "ingest", feature_type="urf")),  # use districts (用途地域)
        "export_tileset": keys(done(records, "export_tileset")),
        "lidar_tileset": keys(done(records, "lidar_tileset")),
        "thermal_forcing": keys(done(records, "thermal_forcing")),
        "effects": keys(done(records, "effects")),  # a run on a baseline
    }
    measures = tuple(str(p) for p in getattr(definition.inputs, "measures", []) or [])
    return [
        Task(
            stage="viewer",
            tile="all",
            func=viewer_task,
            args=(str(ctx.out("viewer")),),
            kwargs={
                "name": definition.name,
                "crs": ctx.crs,
                "scenarios": scenarios,
                "timezone": definition.timezone,
                "options": options,
                "measures": measures,
                "default_crown_diameter_m": crown,
            },
            params={"scenarios": scenarios, "options": options, "crs": ctx.crs, "crown": crown},
            input_hashes=[ctx.hash_file(p) for p in measures],
            upstream=upstream,
        )
    ]


STAGE = Stage(
    name="viewer",
    settings=ViewerSettings,
    plan=plan,
    code=("pipeline.tiles3d", "pipeline.viewer", "pipeline.measures", "pipeline.geo", "tiles"),
    needs=(
        "ingest",
        "lidar_tileset",
        "surface",
        "shadow",
        "thermal_forcing",
        "peopleflow",
        "walkability_summary",
        "export_tileset",
        "effects",
    ),
    reach="run",
    outputs=ViewerOutputs,
    reads={
        "ingest": ("table",),
        "lidar_tileset": ("tileset",),
        "surface": ("terrain",),
        "shadow": ("shade_hours", "sun_hours"),
        "thermal_forcing": ("weather_csv",),
        "peopleflow": ("flow_by_mesh", "coverage"),
        "walkability_summary": ("segments", "summary_by_district", "summary_by_mesh", "priority", "report"),
        "export_tileset": ("tileset",),
        "effects": ("segments",),
    },
)
