"""``effects``: before and after of a run on a baseline (:mod:`pipeline.measures.effects`).

Runs when the run names ``inputs.baseline``, once every tile is scored. "Before" is the
baseline's file of the same output (the path under the baseline folder in place of this
run's output folder; a tile the measures do not reach is the baseline's file itself).
Writes under ``<output>/effects/``: ``segments.parquet`` (GeoParquet) and ``segments.csv``
(per segment and scenario), ``districts.parquet``/``.csv`` (person-hours in strong heat
stress or worse per district and scenario, when ``inputs.districts`` is given, with the
CoolWalkability of the walkability summary before, after and its change), and per
recomputed tile and scenario the change rasters (COG, after - before)
``rasters/<tile>_<scenario>_utci_mean_change.tif`` (°C) and
``rasters/<tile>_<scenario>_shade_hours_change.tif`` (hours); a tile without a raster did
not change.

When the measures add buildings, each is checked against the shadow regulation (日影規制,
:mod:`pipeline.measures.shadow_regulation`): the limits come from the ingested ``urf`` use
district's ``shade_regulation`` (``urf:shadeRegulation``) where the data has one, else from
``stages.effects.shadow_regulation``; the deemed boundary along roads, water and railway land
and the relief for a site below its neighbours use the streets, the ingested ``luse``/``tran``/
``wtr`` tables and the surface stage's terrain. Writes ``shadow_regulation.parquet``/``.csv`` (one
row per added building: pass or fail, max hours and area over the limit per band) and
``shadow_regulation_lines.geojson`` (in the run's CRS: the equal-time and measuring lines).

``maps/<quantity>_<before|after|change>_<scenario>.png``: per season, at the slot of the
walkability report's 3D views (:data:`pipeline.stages.walkability.VIEW_SLOT`, midday), the
maps of mean UTCI and shade hours before, after and their change over the recomputed
tiles, with the measures and the district outlines (:mod:`pipeline.measures.maps`).

``report.html``: the before/after page in the walkability report's language
(:mod:`pipeline.measures.report`; its own page because the walkability report is written
before the effects exist).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import Field, field_validator

from pipeline.core.settings import StageSettings
from pipeline.core.stage import Stage
from pipeline.core.task import Outputs, PlanContext, Record, Result, Task, done, keys

log = logging.getLogger(__name__)


class EffectsSettings(StageSettings):
    """Effects of the measures: before (the baseline) and after, per segment, district and cell."""

    shadow_regulation: str | None = Field(
        None,
        description="Shadow-regulation (日影規制) limits for added buildings where the ingested use "
        'district has no urf:shadeRegulation, in its text form, e.g. "(一) 4時間-2.5時間／4m" '
        "(hours at 5-10 m, beyond 10 m, measurement plane; 建築基準法 別表第四). None: such "
        "buildings are reported with limits unknown.",
    )

    @field_validator("shadow_regulation")
    @classmethod
    def _readable(cls, value: str | None) -> str | None:
        from pipeline.measures.hikage_limits import parse_shade_regulation

        if value is not None:
            parse_shade_regulation(value, where="stages.effects.shadow_regulation")
        return value


@dataclass(frozen=True)
class EffectsOutputs(Outputs):
    """``segments`` and ``districts`` (``{"parquet": ..., "csv": ...}``), the change
    COGs by ``<tile>/<scenario>``: ``utci_mean_change`` (°C), ``shade_hours_change`` (h),
    ``shadow_regulation`` (``parquet``, ``csv``, ``lines``) when buildings are added, and
    ``maps`` (``<scenario>/<quantity>/<panel>`` -> PNG, :mod:`pipeline.measures.maps`) and
    ``report``: the before/after page (:mod:`pipeline.measures.report`)."""

    segments: dict[str, str] = field(default_factory=dict)
    districts: dict[str, str] = field(default_factory=dict)
    utci_mean_change: dict[str, str] = field(default_factory=dict)
    shade_hours_change: dict[str, str] = field(default_factory=dict)
    shadow_regulation: dict[str, str] = field(default_factory=dict)
    maps: dict[str, str] = field(default_factory=dict)
    report: str | None = None


def before_path(path: str, output: str, baseline: str) -> str:
    """The baseline's file standing for ``path`` of this run (itself when it is one)."""
    try:
        return str(Path(baseline) / Path(path).relative_to(output))
    except ValueError:
        return path


def shadow_regulation_run(
    out_dir: str,
    crs: str,
    *,
    measures: tuple[str, ...],
    use_districts: tuple[str, ...] = (),
    streets: tuple[str, ...] = (),
    open_land: tuple[str, ...] = (),
    terrain: tuple[str, ...] = (),
    limits: str | None = None,
    year: int,
    timezone: str,
) -> dict[str, str]:
    """Check every added ``building`` of the ``measures`` files against the shadow regulation.

    Parameters
    ----------
    out_dir : str
        The effects folder.
    crs : str
        The run's metric CRS.
    measures : tuple of str
        The measures files (:func:`pipeline.measures.reader.read_measure_files`).
    use_districts : tuple of str
        Ingested ``urf`` tables (GeoParquet); their ``urf:UseDistrict`` rows give the limits
        where they carry ``shade_regulation``.
    streets : tuple of str
        The run's scored street segments (GeoParquet with ``width_m``): a building's lot
        facing one has its deemed boundary there (みなし境界線).
    open_land : tuple of str
        Ingested ``luse``, ``tran`` and ``wtr`` tables: their water and railway land
        (:mod:`pipeline.measures.open_land`) carries the deemed boundary too.
    terrain : tuple of str
        The surface stage's terrain COGs: the ground levels of the sites and their
        neighbours, for the relief of a site below them (高低差緩和); none: flat ground.
    limits : str, optional
        ``stages.effects.shadow_regulation``: limits where the districts give none.
    year, timezone
        The winter solstice of ``year``, true solar time at the site.

    Returns
    -------
    dict
        ``parquet``, ``csv`` and ``lines`` paths; empty when no building is added.
    """
    import geopandas as gpd
    import pandas as pd

    from pipeline.measures.hikage_limits import parse_shade_regulation
    from pipeline.measures.open_land import read_open_land
    from pipeline.measures.reader import read_measure_files
    from pipeline.measures.shadow_regulation import check_added_buildings, lines_frame, to_frame
    from pipeline.tiles3d.terrain_heights import TerrainHeights
    from pipeline.walkability.outputs import write_table
    from tiles.atomic import atomic_path

    buildings = read_measure_files(measures, crs).buildings if measures else []
    if not buildings:
        return {}
    frame = gpd.GeoDataFrame(
        {
            "id": [b.source for b in buildings],
            "height_m": [b.height_m for b in buildings],
            "storeys": [b.storeys for b in buildings],
            # buildings on one lot are one building (法第56条の2第2項)
            "site_id": [f"lot {b.lot_id}" if b.lot_id else b.source for b in buildings],
            "lot": [b.lot for b in buildings],
        },
        geometry=[b.polygon for b in buildings],
        crs=crs,
    )
    tables = [gpd.read_parquet(p) for p in use_districts]
    tables = [t for t in tables if len(t)]
    zones = gpd.GeoDataFrame(pd.concat(tables, ignore_index=True), crs=tables[0].crs) if tables else None
    default = parse_shade_regulation(limits, where="stages.effects.shadow_regulation") if limits else None
    lots = any(b.lot is not None for b in buildings)
    roads = _roads(streets, crs, frame) if lots else None
    land = read_open_land(open_land, crs, _search_box(frame)) if lots and open_land else None
    ground = TerrainHeights(terrain).sample if terrain else None
    results = check_added_buildings(
        frame,
        zones,
        year=year,
        default_limits=default,
        roads=roads,
        open_land=land,
        ground=ground,
        timezone=timezone,
    )
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    written = write_table(to_frame(results), folder / "shadow_regulation")
    lines = folder / "shadow_regulation_lines.geojson"  # GeoJSON: no timestamp inside, unlike a GPKG
    with atomic_path(str(lines)) as tmp:
        lines_frame(results, crs).to_file(tmp, driver="GeoJSON", layer="shadow_regulation_lines")
    written["lines"] = str(lines)
    failed = sum(r.status == "fail" for r in results)
    log.info("shadow regulation: %d added building(s), %d over the limits", len(results), failed)
    return written


#: Streets read for the deemed boundary lie within this of an added building's lot (m):
#: the widest road's half width and more.
ROAD_SEARCH_M = 60.0


def _roads(streets: tuple[str, ...], crs: str, buildings):
    """The street segments (one row each: ``width_m``, centreline) near the lots."""
    import geopandas as gpd
    import pandas as pd

    if not streets:
        return None
    box = _search_box(buildings)
    tables = [gpd.read_parquet(p, columns=["segment_id", "width_m", "geometry"]) for p in sorted(streets)]
    table = pd.concat([t.cx[box[0] : box[2], box[1] : box[3]] for t in tables], ignore_index=True)
    table = table.drop_duplicates("segment_id")
    return gpd.GeoDataFrame(table, geometry="geometry", crs=tables[0].crs).to_crs(crs)


def _search_box(buildings) -> tuple[float, float, float, float]:
    """The lots' bounds grown by :data:`ROAD_SEARCH_M` (m, the buildings' CRS)."""
    import geopandas as gpd

    lots = gpd.GeoSeries([g for g in buildings["lot"] if g is not None], crs=buildings.crs)
    x0, y0, x1, y1 = lots.total_bounds
    return (x0 - ROAD_SEARCH_M, y0 - ROAD_SEARCH_M, x1 + ROAD_SEARCH_M, y1 + ROAD_SEARCH_M)


def effects_run(
    out_dir: str,
    output: str,
    baseline: str,
    crs: str,
    *,
    districts: str | None,
    district_name: str,
    regulation: Mapping | None = None,
    scenarios: list = (),
    report_lang: str = "ja",
    walkability_score: list[Record] = (),
    walkability_summary: list[Record] = (),
    ingest: list[Record] = (),
    thermal: list[Record] = (),
    shadow: list[Record] = (),
    surface: list[Record] = (),
) -> Result:
    """Write the effects of the measures (module docstring)."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    from pipeline.geo.raster import read_raster, write_cog
    from pipeline.measures.effects import (
        change_raster,
        changed_segments,
        district_coolwalk_change,
        district_person_hours,
        segment_effects,
    )
    from pipeline.measures.report import write_effects_report
    from pipeline.walkability.inputs import midpoint_districts
    from pipeline.walkability.outputs import read_districts, write_geoparquet, write_table

    folder = Path(out_dir)
    (folder / "rasters").mkdir(parents=True, exist_ok=True)
    paths = sorted(r.outputs.scored for r in walkability_score if r.outputs.scored)
    after = pd.concat([gpd.read_parquet(p) for p in paths], ignore_index=True)
    before = pd.concat([gpd.read_parquet(before_path(p, output, baseline)) for p in paths], ignore_index=True)
    effects = segment_effects(before, gpd.GeoDataFrame(after, geometry="geometry", crs=crs))
    written = {"segments": {"parquet": write_geoparquet(effects, folder / "segments.parquet")}}
    csv = folder / "segments.csv"
    pd.DataFrame(effects.drop(columns="geometry")).to_csv(csv, index=False, encoding="utf-8-sig")
    written["segments"]["csv"] = str(csv)
    areas = read_districts(Path(districts), district_name, crs) if districts else None
    if districts:
        table = district_person_hours(effects, midpoint_districts(effects, areas))
        table = district_coolwalk_change(table, *_coolwalk_tables(walkability_summary, output, baseline))
        written["districts"] = write_table(table, folder / "districts")
    rasters: dict[str, dict[str, str]] = {"utci_mean_change": {}, "shade_hours_change": {}}
    for kind, records, name in (
        ("utci_mean_change", thermal, "utci_mean"),
        ("shade_hours_change", shadow, "shade_hours"),
    ):
        for record in records:
            for scenario, path in sorted(getattr(record.outputs, name).items()):
                old = before_path(path, output, baseline)
                if old == path:
                    continue  # a tile the measures do not reach: no change
                new, grid, _ = read_raster(path)
                was, _, _ = read_raster(old)
                rasters[kind][f"{record.tile}/{scenario}"] = write_cog(
                    folder / "rasters" / f"{record.tile}_{scenario}_{kind}.tif",
                    change_raster(was, new),
                    grid,
                    nodata=np.nan,
                    tags={
                        "tile": record.tile,
                        "scenario": scenario,
                        "units": "degC" if kind.startswith("utci") else "hours",
                        "meaning": "after - before",
                    },
                )
    maps = _maps(
        folder / "maps",
        crs,
        scenarios=list(scenarios),
        measures=(regulation or {}).get("measures", ()),
        districts=areas,
        sources={"utci_mean": thermal, "shade_hours": shadow},
        building_ids=sorted(r.outputs.building_id for r in surface if r.outputs.building_id),
        output=output,
        baseline=baseline,
        lang=report_lang,
    )
    if regulation:
        from pipeline.measures.open_land import MODULES

        urf = tuple(r.outputs.table for r in ingest if r.feature_type == "urf" and r.outputs.table)
        land = tuple(r.outputs.table for r in ingest if r.feature_type in MODULES and r.outputs.table)
        terrain = tuple(sorted(r.outputs.terrain for r in surface if r.outputs.terrain))
        written["shadow_regulation"] = shadow_regulation_run(
            str(folder),
            crs,
            use_districts=urf,
            streets=tuple(paths),
            open_land=land,
            terrain=terrain,
            **regulation,
        )
    written["report"] = write_effects_report(
        folder / "report.html",
        effects,
        list(scenarios),
        baseline=baseline,
        districts=pd.read_parquet(written["districts"]["parquet"]) if "districts" in written else None,
        regulation=(
            pd.read_parquet(written["shadow_regulation"]["parquet"])
            if written.get("shadow_regulation")
            else None
        ),
        maps=maps,
        lang=report_lang,
    )
    changed = int(changed_segments(effects).sum())
    log.info(
        "effects: %d segment-scenario rows, %d changed; %d change rasters",
        len(effects),
        changed,
        sum(len(v) for v in rasters.values()),
    )
    return Result(
        outputs=EffectsOutputs(
            **written,
            **rasters,
            maps={
                f"{s}/{q}/{panel}": path
                for s, by_quantity in maps.items()
                for q, panels in by_quantity.items()
                for panel, path in panels.items()
            },
        ),
        counts={"segment_rows": len(effects), "changed_rows": changed},
    )


def map_scenarios(scenarios: list) -> list:
    """The scenarios mapped: per season the one at the walkability report's 3D-view slot
    (:data:`pipeline.stages.walkability.VIEW_SLOT`), or at the run's first slot."""
    from pipeline.stages.walkability import VIEW_SLOT

    slots = [s.slot.name for s in scenarios]
    if not slots:
        return []
    slot = VIEW_SLOT if VIEW_SLOT in slots else slots[0]
    return [s for s in scenarios if s.slot.name == slot]


def _maps(
    folder: Path,
    crs: str,
    *,
    scenarios: list,
    measures: tuple[str, ...],
    districts,
    sources: Mapping[str, list[Record]],
    building_ids: list[str],
    output: str,
    baseline: str,
    lang: str = "ja",
) -> dict[str, dict[str, dict[str, str]]]:
    """``{scenario: {quantity: {panel: PNG}}}`` of :func:`map_scenarios` over the tiles the
    measures reached (those whose raster is not the baseline's), titled in ``lang``."""
    from functools import partial

    from pipeline.geo.maps import building_layer
    from pipeline.measures.maps import measure_overlays, write_effect_maps
    from pipeline.measures.reader import read_measure_files
    from pipeline.measures.records import MeasureSet
    from pipeline.walkability.rasters import map_title

    chosen = map_scenarios(scenarios)
    if not chosen:
        return {}
    overlays = measure_overlays(
        read_measure_files(measures, crs) if measures else MeasureSet(crs), districts, lang
    )
    buildings = partial(building_layer, building_ids) if building_ids else None
    maps: dict[str, dict[str, dict[str, str]]] = {}
    for scenario in chosen:
        for quantity, records in sources.items():
            after = sorted(
                path
                for r in records
                if (path := getattr(r.outputs, quantity).get(scenario.name))
                and before_path(path, output, baseline) != path
            )
            panels = write_effect_maps(
                folder,
                scenario.name,
                map_title(scenario, lang),
                quantity,
                before=[before_path(p, output, baseline) for p in after],
                after=after,
                crs=crs,
                overlays=overlays,
                buildings=buildings,
                lang=lang,
            )
            if panels:
                maps.setdefault(scenario.name, {})[quantity] = panels
    return maps


def _coolwalk_tables(summary: list[Record], output: str, baseline: str):
    """The CoolWalkability per district of the baseline and of this run (None, None without)."""
    import pandas as pd

    paths = [r.outputs.coolwalkability_by_district for r in summary if r.outputs.coolwalkability_by_district]
    if not paths:
        return None, None
    after = paths[0]["parquet"]
    before = before_path(after, output, baseline)
    if not Path(before).is_file():
        log.warning("effects: the baseline has no %s; no CoolWalkability change", before)
        return None, None
    return pd.read_parquet(before), pd.read_parquet(after)


def plan(ctx: PlanContext, records: Mapping[str, Record]) -> list[Task]:
    scored = done(records, "walkability_score")
    baseline = ctx.definition.inputs.baseline
    if not scored or baseline is None:
        return []
    walk = ctx.settings("walkability")
    districts = ctx.definition.inputs.districts
    settings = ctx.settings("effects")
    measures = tuple(str(p) for p in getattr(ctx.definition.inputs, "measures", []) or [])
    # use districts give the limits; land use, railways and water the deemed boundary
    tables = [
        r
        for r in done(records, "ingest")
        if r.feature_type in ("urf", "luse", "tran", "wtr") and r.outputs.table
    ]
    regulation = {
        "measures": measures,
        "limits": settings.shadow_regulation,
        "year": ctx.definition.scenarios.year,
        "timezone": ctx.definition.timezone,
    }
    return [
        Task(
            stage="effects",
            tile="all",
            func=effects_run,
            args=(str(ctx.out("effects")), str(ctx.output), str(baseline), ctx.crs),
            kwargs={
                "districts": str(districts) if districts else None,
                "district_name": walk.district_name,
                "regulation": regulation,
                "scenarios": ctx.scenarios,
                "report_lang": walk.report_lang,
            },
            params={
                "baseline": str(baseline),
                "crs": ctx.crs,
                "district_name": walk.district_name,
                "shadow_regulation": settings.shadow_regulation,
                "year": regulation["year"],
                "timezone": regulation["timezone"],
                "report_lang": walk.report_lang,
                "scenarios": ctx.definition.scenarios.model_dump(mode="json"),
            },
            input_hashes=([ctx.hash_file(districts)] if districts else [])
            + [ctx.hash_file(p) for p in measures],
            upstream={
                "ingest": keys(tables),
                "walkability_score": keys(scored),
                "walkability_summary": keys(done(records, "walkability_summary")),
                "thermal": keys(done(records, "thermal")),
                "shadow": keys(done(records, "shadow")),
                "surface": keys(done(records, "surface")),
            },
        )
    ]


def _on_baseline(definition) -> bool:
    return definition.inputs.baseline is not None


STAGE = Stage(
    name="effects",
    settings=EffectsSettings,
    plan=plan,
    wanted=_on_baseline,
    code=("pipeline.measures", "pipeline.walkability", "pipeline.geo", "pipeline.tiles3d.terrain_heights"),
    needs=("ingest", "surface", "shadow", "thermal", "walkability_score", "walkability_summary"),
    outputs=EffectsOutputs,
    reads={
        "ingest": ("table",),
        "walkability_score": ("scored",),
        "walkability_summary": ("coolwalkability_by_district",),
        "thermal": ("utci_mean",),
        "shadow": ("shade_hours",),
        "surface": ("building_id", "terrain"),
    },
)
