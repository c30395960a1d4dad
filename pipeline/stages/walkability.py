"""Walkability in four steps, none of which holds more than a tile (or a district):

``walkability`` (per tile) reads the street network of the tile and its eight neighbours,
the PLATEAU buildings (destinations, floor area) and roads (widths) of those meshes, the
shade-fraction rasters of the shadow stage, the tile's terrain and the aligned people
flow, and writes the raw metrics of the tile's own segments
(:mod:`pipeline.walkability.metrics`): ``<output>/walkability/tiles/<tile>_segments.parquet``
and ``<tile>_scenarios.parquet``, and the sketches of its values (``<tile>_sketches.json``).

``walkability_scale`` (one small task) merges the sketches into the run's references
(:mod:`pipeline.walkability.scale`), then scores the tiles one at a time with them and
merges the sketches of the scores per scenario: ``<output>/walkability/scale.json``.

``walkability_score`` (per tile) scores, ranks (``score_percentile``) and classes the
tile's segments in every scenario with that scale and sums them for the summaries: ``tiles/<tile>_scored.parquet`` and
``tiles/<tile>_partials.parquet``.

``walkability_summary`` (one task) writes every planners' output from the scored tiles,
a tile at a time (:mod:`pipeline.walkability.outputs`). All four are configured by
``stages.walkability`` and run when ``inputs.streets`` names street files; the districts
of the summaries are ``inputs.districts``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from pipeline.core.settings import InputPath, StageSettings, Strict, one_or_many
from pipeline.core.stage import Stage
from pipeline.core.task import Outputs, PlanContext, Record, Result, Task, done, keys, tile_neighbourhood

log = logging.getLogger(__name__)


def _default_weights() -> dict[str, float]:
    from pipeline.walkability.scores import DEFAULT_WEIGHTS

    return dict(DEFAULT_WEIGHTS)


class ComfortCurveSettings(Strict):
    """How a segment's mean UTCI (°C) becomes its thermal comfort `c_thermal` (0..1)."""

    cold_zero_c: float = Field(
        -40.0,
        ge=-60,
        le=0,
        description="UTCI at and below which "
        "`c_thermal` is 0 (extreme cold stress from -40 °C; Bröde et al. 2012).",
    )
    comfort_low_c: float = Field(
        18.0,
        ge=-30,
        le=30,
        description="Lower end of the band where "
        "`c_thermal` is 1 (UTCI's thermal comfort zone from 18 °C; 9 makes "
        "the whole no-thermal-stress class 1).",
    )
    comfort_high_c: float = Field(
        26.0, ge=0, le=40, description="Upper end of that band (no thermal stress up to 26 °C)."
    )
    heat_zero_c: float = Field(
        46.0,
        ge=26,
        le=60,
        description="UTCI at and above which "
        "`c_thermal` is 0 (extreme heat stress from 46 °C; Bröde et al. 2012).",
    )

    @model_validator(mode="after")
    def _ordered(self):
        if not self.cold_zero_c < self.comfort_low_c <= self.comfort_high_c < self.heat_zero_c:
            raise ValueError("need cold_zero_c < comfort_low_c <= comfort_high_c < heat_zero_c")
        return self


#: The walkability stages' input files (``inputs.streets``, ``inputs.districts``).
INPUTS: dict[str, Any] = {
    "streets": (
        Annotated[list[InputPath], BeforeValidator(one_or_many)],
        Field(
            default_factory=list,
            description="Street centre lines: OSM XML (osmnx's own `walk` "
            "filter applied after loading) or a line layer (GeoPackage, GeoParquet, GeoJSON; "
            "optional `highway`, `width_m`). The walkability stages run when it names files.",
        ),
    ),
    "districts": (
        InputPath | None,
        Field(
            None,
            description="Polygons for the per-district "
            "summary (name column: `stages.walkability.district_name`).",
        ),
    ),
}
#: Where those keys were before every input moved under ``inputs:``.
MOVED = {"stages.walkability.streets": "inputs.streets", "stages.walkability.districts": "inputs.districts"}


class WalkabilitySettings(StageSettings):
    """Walkability per street segment and scenario (runs when `inputs.streets` is given)."""

    district_name: str = Field("name", description="Column with the districts' names.")
    distances: list[int] = Field(
        [400, 800], min_length=1, description=("Walking thresholds (m) for access, each in (0, 5000].")
    )
    access_classes: list[str] = Field(
        ["commercial", "office", "public", "education_medical"],
        description=(
            "Destination classes whose access enters the score (PLATEAU `usage` codes map to "
            "commercial, office, residential, public, education_medical, industrial)."
        ),
    )
    floor_area_per_destination_m2: float = Field(
        500.0,
        gt=0,
        le=100_000,
        description=("One destination per started this much floor area (footprint x storeys)."),
    )
    sun_weight: dict[str, float] = Field(
        default_factory=lambda: {
            "heat_day": 1.6,
            "summer_solstice": 1.4,
            "equinox": 1.0,
            "winter_solstice": 0.8,
        },
        description="Per season, the perceived length of a metre in the sun (1 = plain).",
    )
    shade_weight: dict[str, float] = Field(
        default_factory=dict,
        description=("Per season, the perceived length of a metre in shade (default 1)."),
    )
    hot_seasons: list[str] = Field(
        ["summer_solstice", "heat_day"],
        description=(
            'Without the thermal stage: seasons in which crowded, unshaded streets are "used but '
            'uncomfortable". With it, `uncomfortable_hours` decides.'
        ),
    )
    weights: dict[str, float] = Field(
        default_factory=_default_weights,
        description=(
            "Score weight per component (`access`, `mix`, `intersections`, `shade`, `thermal`, "
            "`slope`, `width`). With the thermal stage, `thermal` (c_thermal) takes the weight "
            "of `shade` unless `thermal` is weighed itself; shade share stays a column."
        ),
    )
    discomfort_weight: float = Field(
        1.6,
        ge=1,
        le=10,
        description=(
            "With the thermal stage: perceived length of a metre at `c_thermal` 0 (a metre in "
            "comfort is 1); replaces `sun_weight`/`shade_weight` in the comfort-weighted access."
        ),
    )
    busy_street_factor: float = Field(
        1.0,
        ge=1,
        le=3,
        description=(
            "Perceived length of a metre on a busy street (OSM trunk, primary, secondary) in the "
            "perceived cost (comfort-weighted access); 1.14: busy roads perceived 14 % longer "
            "(Broach & Dill 2015); 1 (default): traffic not weighed. A `street` measure with "
            "`pedestrian_only` makes its street `pedestrian`, not busy: it changes the perceived "
            "cost only with a factor above 1, set in the baseline and the measure run alike."
        ),
    )
    comfort_curve: ComfortCurveSettings = Field(
        default_factory=ComfortCurveSettings, description="UTCI to c_thermal."
    )
    thermal_rule: Literal["gate", "weight"] = Field(
        "gate",
        description=(
            "With the thermal stage, how `c_thermal` enters the score: `gate` multiplies the "
            "weighted mean of the other components (plain access) by it (no access makes up for "
            "heat stress); `weight` puts it in the weighted mean with the weight of `shade`."
        ),
    )
    coolwalk_alpha: float = Field(
        2.0,
        gt=1,
        le=10,
        description=(
            "Sun (discomfort) avoidance factor of the CoolWalkability per district (Wolf, Vierø & "
            "Szell 2024): a metre in the sun (out of comfort) counts this much."
        ),
    )
    allocation: Literal["floor_area", "length"] = Field(
        "floor_area",
        description=(
            "Spread mesh populations on streets by the floor area of the buildings along them, "
            "or by segment length."
        ),
    )
    day_type: Literal["weekday", "holiday", "all"] = Field(
        "weekday", description=("People-flow day type used for the classes.")
    )
    walkable_percentile: float = Field(
        50.0,
        ge=0,
        le=100,
        description=(
            "Standing from which a street is walkable: its score's percentile (0-100) among the run's "
            "streets in the same scenario, so every season and slot has its walkable streets."
        ),
    )
    uncomfortable_hours: float = Field(
        1.0,
        ge=0,
        le=24,
        description=(
            "With the thermal stage: hours of the slot in strong heat stress or worse (UTCI above "
            "32 °C) or moderate cold stress or worse (at or below 0 °C), on the street's better "
            'sidewalk, from which a crowded street is "used but uncomfortable".'
        ),
    )
    unshaded_below: float = Field(
        0.3, ge=0, le=1, description="Shade share below which a street is unshaded."
    )
    raster_resolution_m: float = Field(5.0, gt=0, le=50, description="Cell size of the score COGs.")
    max_assign_m: float = Field(
        100.0, gt=0, le=1000, description="How far a destination may be from its street."
    )
    maps: bool = Field(True, description="PNG maps and the HTML report.")
    report_lang: Literal["ja", "en"] = Field(
        "ja",
        description=(
            "Language of `walkability/report.html`: Japanese (`ja`) or English (`en`); "
            "`machi run --lang en` sets it."
        ),
    )

    @field_validator("weights")
    @classmethod
    def _known_components(cls, value: dict[str, float]) -> dict[str, float]:
        from pipeline.walkability.scores import COMPONENTS

        unknown = set(value) - set(COMPONENTS)
        if unknown:
            raise ValueError(f"unknown score component(s) {sorted(unknown)}; known: {list(COMPONENTS)}")
        if any(w < 0 for w in value.values()) or not any(w > 0 for w in value.values()):
            raise ValueError("weights must be >= 0 with at least one > 0")
        return value

    @field_validator("distances")
    @classmethod
    def _distances(cls, value: list[int]) -> list[int]:
        if not value or any(not 0 < d <= 5000 for d in value):
            raise ValueError("distances must be metres in (0, 5000]")
        return sorted(set(value))

    @field_validator("sun_weight", "shade_weight")
    @classmethod
    def _positive(cls, value: dict[str, float]) -> dict[str, float]:
        bad = {k: v for k, v in value.items() if not v > 0}
        if bad:
            raise ValueError(f"weights must be > 0, got {bad}")
        return value


@dataclass(frozen=True)
class WalkabilityTileOutputs(Outputs):
    """One tile's raw metrics: ``segments`` (GeoParquet, one row per street segment),
    ``scenarios`` (Parquet, one row per segment and scenario) and ``sketches`` (JSON, the
    tile's share of the run's references); all None when the tile has no street."""

    segments: str | None = None
    scenarios: str | None = None
    sketches: str | None = None


@dataclass(frozen=True)
class WalkabilityScaleOutputs(Outputs):
    """``scale``: the run's references and score sketches (``walkability/scale.json``)."""

    scale: str


@dataclass(frozen=True)
class WalkabilityScoreOutputs(Outputs):
    """One tile's scored segments (``scored``) and its sums for the summaries (``partials``)."""

    scored: str | None = None
    partials: str | None = None


@dataclass(frozen=True)
class WalkabilitySummaryOutputs(Outputs):
    """The planners' outputs of the run (:func:`pipeline.walkability.outputs.write_run_outputs`):
    per scenario ``segments`` (GeoParquet), ``score_raster`` (COG), ``score_map``,
    ``class_map`` and ``utci_map`` (PNG); summaries per mesh and district
    (``{"parquet": ..., "csv": ...}``); the CoolWalkability per district; the nearest street
    of every building (``buildings_nearest_street`` = ``feature_table``, joined to the
    ``bldg`` 3D Tiles); the 3D views by title, the HTML ``report``, the ``priority``
    ranking of where to act first (``{"parquet": ..., "csv": ...}``) and ``people_sources``
    (``{"parquet": ..., "csv": ...}``): per scenario, which people flow its streets carry,
    observed or modelled (:mod:`pipeline.walkability.flow_sources`)."""

    segments: dict[str, str] = field(default_factory=dict)
    score_raster: dict[str, str] = field(default_factory=dict)
    score_map: dict[str, str] = field(default_factory=dict)
    class_map: dict[str, str] = field(default_factory=dict)
    utci_map: dict[str, str] | None = None
    summary_by_mesh: dict[str, str] | None = None
    summary_by_district: dict[str, str] | None = None
    coolwalkability_by_district: dict[str, str] | None = None
    buildings_nearest_street: str | None = None
    feature_table: str | None = None
    district_3d: dict[str, str] | None = None
    report: str | None = None
    priority: dict[str, str] | None = None
    people_sources: dict[str, str] | None = None


def _streets_given(definition) -> bool:
    return bool(definition.inputs.streets)


def _per_scenario(records: list[Record], kind: str) -> dict[str, list[str]]:
    """Scenario -> the ``kind`` COGs of ``records`` (e.g. shadow ``shade_fraction``), sorted."""
    paths: dict[str, list[str]] = {}
    for record in records:
        for name, path in getattr(record.outputs, kind).items():
            paths.setdefault(name, []).append(path)
    return {name: sorted(p) for name, p in sorted(paths.items())}


def _curve(settings: WalkabilitySettings):
    from pipeline.walkability.comfort import ComfortCurve

    return ComfortCurve(**settings.comfort_curve.model_dump())


def _tables(records: list[Record], feature_type: str) -> list[str]:
    return sorted(r.outputs.table for r in records if r.feature_type == feature_type)


# -- per tile ----------------------------------------------------------------------------
def walkability_tile(
    tile: str,
    crs: str,
    out_dir: str,
    *,
    streets: list[str],
    settings: WalkabilitySettings,
    scenarios: list,
    measures: tuple[str, ...] = (),
    shadow: list[Record] = (),
    surface: list[Record] = (),
    ingest: list[Record] = (),
    peopleflow: list[Record] = (),
    thermal: list[Record] = (),
) -> Result:
    """Raw walkability metrics of the segments of one tile (runs on a worker)."""
    from pipeline.peopleflow.tables import read_flow
    from pipeline.walkability.inputs import read_street_lines, read_tables, tile_region
    from pipeline.walkability.metrics import MetricOptions, TileInputs, tile_metrics
    from pipeline.walkability.network import from_lines
    from pipeline.walkability.scale import tile_partial
    from tiles.atomic import atomic_path, write_text_atomic

    start = time.perf_counter()
    _, region = tile_region(tile, crs, max(settings.distances))
    lines = read_street_lines(streets, crs, region)
    if lines.empty:
        log.warning("walkability %s: no streets in the tile's region", tile)
        return Result(counts={"segments": 0})
    flow = read_flow(peopleflow[0].outputs.flow_by_mesh, settings.day_type) if peopleflow else None
    network = from_lines(lines)
    changed = _apply_street_measures(network, measures, tile, crs) if measures else 0
    inputs = TileInputs(
        network,
        read_tables(_tables(ingest, "bldg"), crs),
        read_tables(_tables(ingest, "tran"), crs),
        region,
        terrain=surface[0].outputs.terrain if surface else None,
        flow=flow,
        shade_fraction=_per_scenario(shadow, "shade_fraction"),
        utci_mean=_per_scenario(thermal, "utci_mean"),
        stress_hours=_per_scenario(thermal, "stress_hours"),
    )
    options = MetricOptions(
        distances=settings.distances,
        floor_area_per_destination_m2=settings.floor_area_per_destination_m2,
        max_assign_m=settings.max_assign_m,
        allocation=settings.allocation,
        sun_weight=settings.sun_weight,
        shade_weight=settings.shade_weight,
        comfort_curve=_curve(settings),
        discomfort_weight=settings.discomfort_weight,
        busy_street_factor=settings.busy_street_factor,
    )
    metrics = tile_metrics(tile, inputs, scenarios, options)
    if metrics is None:
        return Result(counts={"segments": 0})
    metrics.scenarios["people_source"] = _people_sources(metrics, peopleflow, settings.day_type)
    metrics.counts["street_measure_segments"] = changed
    zoning = _tables(ingest, "urf")
    if zoning:  # the use district (用途地域) and its rates, where the run reads urf files
        from pipeline.walkability.zoning import segment_zoning

        metrics.segments = metrics.segments.join(segment_zoning(metrics.segments, read_tables(zoning, crs)))
    folder = Path(out_dir)
    outputs = {
        "segments": str(folder / f"{tile}_segments.parquet"),
        "scenarios": str(folder / f"{tile}_scenarios.parquet"),
    }
    with atomic_path(outputs["segments"]) as tmp:
        metrics.segments.to_parquet(tmp, index=False)
    with atomic_path(outputs["scenarios"]) as tmp:
        metrics.scenarios.to_parquet(tmp, index=False)
    # the tile's share of the run-wide references, merged by walkability_scale
    outputs["sketches"] = str(folder / f"{tile}_sketches.json")
    write_text_atomic(
        outputs["sketches"],
        json.dumps(tile_partial(metrics.segments, metrics.scenarios, settings.distances[0]), sort_keys=True),
    )
    log.info(
        "walkability %s: %d segments (network %d, %d destinations), %d scenarios, %.1f s",
        tile,
        metrics.counts["segments"],
        metrics.counts["network_segments"],
        metrics.counts["destinations"],
        len(scenarios),
        time.perf_counter() - start,
    )
    return Result(outputs=WalkabilityTileOutputs(**outputs), counts=metrics.counts)


def _apply_street_measures(network, measures: tuple[str, ...], tile: str, crs: str) -> int:
    """Apply the ``street`` measures of the ``measures`` files to ``network``'s segments in
    place (:mod:`pipeline.measures.streets`); the number of segments changed."""
    from pipeline.measures.reader import read_measure_files
    from pipeline.measures.streets import apply_street_changes, match_street_changes

    changes = read_measure_files(measures, crs).streets
    if not changes:
        return 0
    matched = match_street_changes(network.segments, changes, tile=tile)
    network.segments = apply_street_changes(network.segments, matched)
    log.info("walkability %s: %d segment(s) changed by street measures", tile, len(matched))
    return len(matched)


def _people_sources(metrics, peopleflow: list[Record], day_type: str):
    """The ``people_source`` of each row of ``metrics.scenarios`` (``none`` where people are unknown)."""
    import numpy as np
    import pandas as pd

    from pipeline.peopleflow.tables import read_flow_sources
    from pipeline.walkability.inputs import segment_flow_sources

    rows = metrics.scenarios
    if not peopleflow:
        return np.full(len(rows), "none", dtype=object)
    labels = segment_flow_sources(
        metrics.segments.set_index("segment_id"),
        read_flow_sources(peopleflow[0].outputs.flow_by_mesh, day_type),
    )
    long = labels.stack().rename("people_source")
    picked = long.reindex(pd.MultiIndex.from_arrays([rows["segment_id"], rows["scenario"]])).to_numpy(object)
    return np.where(rows["people"].notna().to_numpy() & pd.notna(picked), picked, "none").astype(object)


def plan_tiles(ctx: PlanContext, records: Mapping[str, Record]) -> list[Task]:
    """One task per tile; upstream: ingest (bldg, tran, urf) and shadow of the tile and its
    neighbours, the tile's surface, and the peopleflow task."""
    from citygml.source import meshes_related

    settings: WalkabilitySettings = ctx.settings("walkability")
    scenarios = ctx.scenarios
    streets = list(ctx.definition.inputs.streets)
    measures = tuple(str(p) for p in getattr(ctx.definition.inputs, "measures", []) or [])
    hashes = [ctx.hash_file(p) for p in streets] + [ctx.hash_file(p) for p in measures]
    tasks = []
    for tile in ctx.tiles:
        meshes = tile_neighbourhood(tile)
        ingest = [
            r
            for r in done(records, "ingest")
            if r.feature_type in ("bldg", "tran", "urf") and meshes_related(r.mesh_code, meshes)
        ]
        shadow = [r for r in done(records, "shadow") if r.tile in meshes]
        thermal = [r for r in done(records, "thermal") if r.tile in meshes]
        tasks.append(
            Task(
                stage="walkability",
                tile=tile,
                func=walkability_tile,
                args=(tile, ctx.crs, str(ctx.out("walkability", "tiles"))),
                kwargs={
                    "streets": [str(p) for p in streets],
                    "settings": settings,
                    "scenarios": scenarios,
                    "measures": measures,
                },
                params={
                    "settings": settings.model_dump(mode="json"),
                    "crs": ctx.crs,
                    "scenarios": ctx.definition.scenarios.model_dump(mode="json"),
                },
                input_hashes=hashes,
                upstream={
                    "ingest": keys(ingest),
                    "shadow": keys(shadow),
                    "thermal": keys(thermal),
                    "surface": keys(done(records, "surface", tile=tile)),
                    "peopleflow": keys(done(records, "peopleflow")),
                },
                meshes=(tile,),
            )
        )
    return tasks


# -- over the run -----------------------------------------------------------------------
#: The slot of the report's 3D views (one per season); the first slot when a run has none so named.
VIEW_SLOT = "midday"
#: Above this many buildings the 3D views are skipped: one image of a whole city is neither
#: legible nor a task of bounded memory.
VIEW_MAX_BUILDINGS = 20_000


def _district_views(
    scenarios: list, *, buildings: list[str], shade: dict[str, list[str]], terrain: list[str]
):
    """The ``render_3d`` callback of the report: one pyvista perspective per season at
    :data:`VIEW_SLOT`, or None when pyvista is missing or the run is too large."""
    import pyarrow.parquet as pq

    try:
        import pyvista  # noqa: F401
    except ImportError:
        log.warning("walkability report: pyvista is not installed, no 3D views")
        return None
    n_buildings = sum(pq.ParquetFile(p).metadata.num_rows for p in buildings)
    if n_buildings > VIEW_MAX_BUILDINGS:
        log.warning(
            "walkability report: %d buildings, more than %d; no 3D views of the whole run",
            n_buildings,
            VIEW_MAX_BUILDINGS,
        )
        return None
    slots = [s.slot.name for s in scenarios]
    slot = VIEW_SLOT if VIEW_SLOT in slots else slots[0]
    chosen = {s.season.name: s for s in scenarios if s.slot.name == slot}

    def render(folder, segments: Mapping[str, str]) -> dict[str, str]:
        from pipeline.viewer.district_render import render_district_3d

        titles = {
            season: f"{season.replace('_', ' ')}, {s.slot.name} ({s.slot.start}-{s.slot.end})"
            for season, s in chosen.items()
        }
        slot_hours = next(iter(chosen.values())).slot.hours
        paths = render_district_3d(
            folder,
            buildings=buildings,
            streets={season: segments[s.name] for season, s in chosen.items()},
            shade={season: shade.get(s.name, []) for season, s in chosen.items()},
            terrain=terrain,
            titles=titles,
            slot_hours=slot_hours,
        )
        return dict(zip(titles.values(), paths))

    return render


# -- run-wide references: a reduce of the tiles' sketches ------------------------------
def _simulated(flow_fit: list[Record], segment_ids=None):
    """The ``flow_fit`` stage's simulated people (of ``segment_ids``), or None without it."""
    import pandas as pd

    if not flow_fit:
        return None
    filters = [("segment_id", "in", list(segment_ids))] if segment_ids is not None else None
    return pd.read_parquet(
        flow_fit[0].outputs.simulated, columns=["segment_id", "scenario", "people_per_100m"], filters=filters
    )


def _filled_tables(record: Record, flow_fit: list[Record]):
    """A tile's tables (:func:`read_tile_tables`) with the simulated people filled in where
    nothing else gave any (:func:`pipeline.walkability.flow_sources.fill_simulated`)."""
    from pipeline.walkability.flow_sources import fill_simulated
    from pipeline.walkability.scenario_scores import read_tile_tables

    segments, rows = read_tile_tables(record.outputs.segments, record.outputs.scenarios)
    if flow_fit:
        rows = fill_simulated(rows, segments["length_m"], _simulated(flow_fit, segments.index))
    return segments, rows


def walkability_scale(
    out_dir: str,
    *,
    settings: WalkabilitySettings,
    scenarios: list,
    walkability: list[Record] = (),
    flow_fit: list[Record] = (),
) -> Result:
    """Merge the tiles' sketches into the run's scale, ``<output>/walkability/scale.json``;
    then score each tile's segments with it, a tile at a time, and merge the sketches of
    their scores per scenario into the scale (their standings follow). Runs on a worker;
    holds one tile's tables at a time."""
    from pipeline.walkability.scale import reduce_partials
    from pipeline.walkability.scenario_scores import score_sketches
    from pipeline.walkability.sketch import ScoreSketch
    from tiles.atomic import write_text_atomic

    tiles = sorted((r for r in walkability if r.outputs.sketches), key=lambda r: r.outputs.sketches)
    if not tiles:
        raise ValueError("walkability_scale: no tile produced street segments")
    paths = [r.outputs.sketches for r in tiles]
    if flow_fit:  # the simulated people count in the run's used / crowded thresholds
        from pipeline.walkability.scale import tile_partial

        scale = reduce_partials(
            json.loads(
                json.dumps(tile_partial(segments.reset_index(), rows, settings.distances[0]), sort_keys=True)
            )
            for segments, rows in (_filled_tables(r, flow_fit) for r in tiles)
        )
    else:
        scale = reduce_partials(json.loads(Path(p).read_text(encoding="utf-8")) for p in paths)
    scores: dict[str, ScoreSketch] = {}
    for record in tiles:
        segments, rows = _filled_tables(record, flow_fit)
        for name, sketch in score_sketches(segments, rows, scenarios, settings, scale).items():
            scores[name] = scores.get(name, ScoreSketch()).merge(ScoreSketch.from_json(sketch))
    scale.score = {name: sketch.to_json() for name, sketch in sorted(scores.items())}
    path = Path(out_dir) / "scale.json"
    write_text_atomic(path, scale.to_json())
    log.info(
        "walkability scale: %d segments of %d tiles; %d access references",
        scale.segments,
        len(paths),
        len(scale.access_reference),
    )
    return Result(
        outputs=WalkabilityScaleOutputs(scale=str(path)),
        counts={"segments": scale.segments, "tiles": len(paths)},
    )


def plan_scale(ctx: PlanContext, records: Mapping[str, Record]) -> list[Task]:
    """The single ``walkability_scale`` task (after every ``walkability`` tile)."""
    tiles = [r for r in done(records, "walkability") if r.outputs.sketches]
    if not tiles:
        return []
    settings: WalkabilitySettings = ctx.settings("walkability")
    return [
        Task(
            stage="walkability_scale",
            tile="all",
            func=walkability_scale,
            args=(str(ctx.out("walkability")),),
            kwargs={"settings": settings, "scenarios": ctx.scenarios},
            params={
                "settings": settings.model_dump(mode="json"),
                "scenarios": ctx.definition.scenarios.model_dump(mode="json"),
            },
            upstream={"walkability": keys(tiles), **_fill_upstream(ctx, records)},
        )
    ]


def _fill_upstream(ctx: PlanContext, records: Mapping[str, Record]) -> dict[str, list[str]]:
    """``{"flow_fit": [key]}`` when the ``flow_fit`` record's simulated people fill the tables
    (``stages.flow.fill_people``), else nothing (the tasks of runs without it keep their keys)."""
    fit = done(records, "flow_fit") if ctx.settings("flow").fill_people else []
    return {"flow_fit": keys(fit)} if fit else {}


# -- per tile: scores and classes with the run's scale ----------------------------------
def walkability_score_tile(
    tile: str,
    out_dir: str,
    crs: str,
    *,
    districts: str | None = None,
    settings: WalkabilitySettings,
    scenarios: list,
    walkability: list[Record] = (),
    scale: list[Record] = (),
    flow_fit: list[Record] = (),
) -> Result:
    """Score and class one tile's segments in every scenario and sum them for the run's
    summaries (runs on a worker; reads the tile's tables and the run's scale)."""
    from pipeline.walkability.outputs import read_districts, tile_partials, write_scored_tile
    from pipeline.walkability.scale import RunScale
    from pipeline.walkability.scenario_scores import score_tile

    start = time.perf_counter()
    record = walkability[0]
    run_scale = RunScale.from_json(Path(scale[0].outputs.scale).read_text(encoding="utf-8"))
    segments, rows = _filled_tables(record, flow_fit)
    scored = score_tile(segments, rows, scenarios, settings, run_scale)
    district_areas = read_districts(districts, settings.district_name, crs) if districts else None
    written = write_scored_tile(Path(out_dir), tile, scored, tile_partials(scored, settings, district_areas))
    log.info(
        "walkability score %s: %d segments x %d scenarios, %.1f s",
        tile,
        len(segments),
        len(scored),
        time.perf_counter() - start,
    )
    return Result(
        outputs=WalkabilityScoreOutputs(scored=written.scored, partials=written.partials),
        counts={"segments": len(segments)},
        details={"bounds": list(written.bounds)},
    )


def plan_score(ctx: PlanContext, records: Mapping[str, Record]) -> list[Task]:
    """One task per tile with segments, once the run's scale is known."""
    settings: WalkabilitySettings = ctx.settings("walkability")
    scale = done(records, "walkability_scale")
    if not scale:
        return []
    districts = ctx.definition.inputs.districts
    hashes = [ctx.hash_file(districts)] if districts else []
    tasks = []
    for tile in ctx.tiles:
        tile_records = [r for r in done(records, "walkability", tile=tile) if r.outputs.segments]
        if not tile_records:
            continue
        tasks.append(
            Task(
                stage="walkability_score",
                tile=tile,
                func=walkability_score_tile,
                args=(tile, str(ctx.out("walkability", "tiles")), ctx.crs),
                kwargs={
                    "districts": str(districts) if districts else None,
                    "settings": settings,
                    "scenarios": ctx.scenarios,
                },
                params={
                    "settings": settings.model_dump(mode="json"),
                    "crs": ctx.crs,
                    "scenarios": ctx.definition.scenarios.model_dump(mode="json"),
                },
                input_hashes=hashes,
                upstream={
                    "walkability": keys(tile_records),
                    "scale": keys(scale),
                    **_fill_upstream(ctx, records),
                },
                meshes=(tile,),
            )
        )
    return tasks


# -- over the run: reductions of the scored tiles ---------------------------------------
def walkability_summary(
    out_dir: str,
    crs: str,
    *,
    districts: str | None = None,
    settings: WalkabilitySettings,
    scenarios: list,
    walkability_score: list[Record] = (),
    scale: list[Record] = (),
    ingest: list[Record] = (),
    peopleflow: list[Record] = (),
    shadow: list[Record] = (),
    thermal: list[Record] = (),
    surface: list[Record] = (),
    thermal_forcing: list[Record] = (),
    citygml: str | None = None,
    lidar: list[str] = (),
    run_tiles: int = 0,
    trees_changes_table: list[Record] = (),
    effects_report: str | None = None,
) -> Result:
    """Every planners' output from the scored tiles, a tile at a time (runs on a worker);
    ``citygml`` and ``lidar`` are the run's inputs, named in the report's sources."""
    import pandas as pd

    from pipeline.thermal.forcing import season_weather_table
    from pipeline.walkability.outputs import RunContext, ScoredTile, read_districts, write_run_outputs
    from pipeline.walkability.partials import add_up, mean_score_of_all
    from pipeline.walkability.report import read_report_sources
    from pipeline.walkability.scale import RunScale
    from pipeline.walkability.scenario_scores import effective_weights

    start = time.perf_counter()
    tiles = [
        ScoredTile(r.tile, r.outputs.scored, r.outputs.partials, tuple(r.details["bounds"]))
        for r in sorted(walkability_score, key=lambda r: r.tile)
        if r.outputs.scored
    ]
    if not tiles:
        raise ValueError("walkability_summary: no tile produced street segments")
    run_scale = RunScale.from_json(Path(scale[0].outputs.scale).read_text(encoding="utf-8"))
    sums = add_up([pd.read_parquet(t.partials) for t in tiles])
    district_areas = read_districts(districts, settings.district_name, crs) if districts else None
    coverage = pd.read_parquet(peopleflow[0].outputs.coverage) if peopleflow else None
    buildings = sorted((r.outputs.table, r.mesh_code) for r in ingest if r.feature_type == "bldg")
    context = RunContext(
        districts=district_areas,
        building_tables=buildings,
        building_ids=sorted(r.outputs.building_id for r in surface if r.outputs.building_id),
        coverage=coverage,
        shade_fraction=_per_scenario(shadow, "shade_fraction"),
        utci_mean=_per_scenario(thermal, "utci_mean"),
        weather=sorted({w for r in thermal for w in r.details.get("weather", [])}),
        weather_by_season=(
            season_weather_table(thermal_forcing[0].outputs.weather_csv) if thermal_forcing else None
        ),
        render_3d=_district_views(
            scenarios,
            buildings=_tables(ingest, "bldg"),
            shade=_per_scenario(shadow, "shade_hours"),
            terrain=sorted(r.outputs.terrain for r in surface if r.outputs.terrain),
        ),
        sources=read_report_sources(citygml, lidar),
        weights=effective_weights(settings.weights, bool(thermal), settings.thermal_rule),
        tree_update=_tree_update(trees_changes_table, run_tiles),
        effects_report=effects_report,
    )
    outputs = write_run_outputs(
        Path(out_dir),
        tiles,
        scenarios,
        settings=settings,
        crs=crs,
        sums=sums,
        n_segments=run_scale.segments,
        context=context,
    )
    sources = _write_people_sources(Path(out_dir), tiles, scenarios)
    outputs["people_sources"] = sources.paths
    run = sums[sums["level"] == "run"]
    counts = {
        "segments": run_scale.segments,
        "scenarios": len(scenarios),
        "mean_score": {
            s.name: round(mean_score_of_all(run[run["scenario"] == s.name]), 2)
            for s in scenarios
            if (run["scenario"] == s.name).any()
        },
    }
    log.info(
        "walkability summary: %d segments x %d scenarios from %d tiles, %.1f s",
        run_scale.segments,
        len(scenarios),
        len(tiles),
        time.perf_counter() - start,
    )
    thermal_known = bool(thermal)
    return Result(
        outputs=WalkabilitySummaryOutputs.from_json(outputs, stage="walkability_summary"),
        counts=counts,
        feature_type="bldg" if outputs.get("feature_table") else None,
        details={
            "weights": effective_weights(settings.weights, thermal_known, settings.thermal_rule),
            "thermal_rule": settings.thermal_rule if thermal_known else None,
            "districts": districts,
            "district_name": settings.district_name,
            "day_type": settings.day_type,
            "people_flow": sources.flow,
        },
    )


def _tree_update(records: list[Record], tiles: int):
    """The report's 植栽の更新 from the ``trees_changes_table`` record (None without one)."""
    from pipeline.walkability.report import read_tree_update

    found = [r for r in records if r.outputs.counts]
    if not found:
        return None
    record = found[0]
    return read_tree_update(
        record.outputs.counts, record.outputs.map, len(record.details.get("tiles", [])), tiles
    )


@dataclass(frozen=True)
class _PeopleSources:
    paths: dict[str, str]
    flow: dict[str, str]


def _write_people_sources(folder: Path, tiles: list, scenarios: list) -> _PeopleSources:
    """``people_sources.parquet``/``.csv``: per scenario the share of street length by
    ``people_source``, from the scored tiles a tile at a time; and scenario -> observed /
    modelled / mixed / none (:func:`pipeline.walkability.flow_sources.slot_sources`)."""
    import pandas as pd
    import pyarrow.parquet as pq

    from pipeline.walkability.flow_sources import slot_sources, source_lengths
    from tiles.atomic import atomic_path

    def lengths(path: str):
        names = pq.read_schema(path).names
        return source_lengths(
            pd.read_parquet(
                path, columns=[c for c in ("scenario", "people_source", "length_m") if c in names]
            )
        )

    table = slot_sources((lengths(t.scored) for t in tiles), scenarios)
    paths = {"parquet": str(folder / "people_sources.parquet"), "csv": str(folder / "people_sources.csv")}
    with atomic_path(paths["parquet"]) as tmp:
        table.to_parquet(tmp, index=False)
    with atomic_path(paths["csv"]) as tmp:
        table.to_csv(tmp, index=False, encoding="utf-8", float_format="%.6f")
    return _PeopleSources(paths, dict(zip(table["scenario"], table["flow"])))


def plan_summary(ctx: PlanContext, records: Mapping[str, Record]) -> list[Task]:
    """The single ``walkability_summary`` task (after every ``walkability_score`` tile)."""
    settings: WalkabilitySettings = ctx.settings("walkability")
    tiles = done(records, "walkability_score")
    if not tiles:
        return []
    inputs = ctx.definition.inputs
    districts = inputs.districts
    # a run on a baseline has the effects stage's before/after page beside this report
    effects = {"effects_report": "../effects/report.html"} if inputs.baseline is not None else {}
    return [
        Task(
            stage="walkability_summary",
            tile="all",
            func=walkability_summary,
            args=(str(ctx.out("walkability")), ctx.crs),
            kwargs={
                "districts": str(districts) if districts else None,
                "settings": settings,
                "scenarios": ctx.scenarios,
                "citygml": str(inputs.citygml) if inputs.citygml else None,
                "lidar": [str(p) for p in sorted(inputs.lidar or [])],
                "run_tiles": len(ctx.tiles),
                **effects,
            },
            params={
                "settings": settings.model_dump(mode="json"),
                "crs": ctx.crs,
                "scenarios": ctx.definition.scenarios.model_dump(mode="json"),
                **effects,
            },
            input_hashes=[ctx.hash_file(districts)] if districts else [],
            upstream={
                "walkability_score": keys(tiles),
                "scale": keys(done(records, "walkability_scale")),
                "ingest": keys(done(records, "ingest", feature_type="bldg")),
                "shadow": keys(done(records, "shadow")),
                "thermal": keys(done(records, "thermal")),
                "thermal_forcing": keys(done(records, "thermal_forcing")),
                "surface": keys(done(records, "surface")),
                "peopleflow": keys(done(records, "peopleflow")),
                "trees_changes_table": keys(done(records, "trees_changes_table")),
            },
        )
    ]


STAGE = Stage(
    name="walkability",
    settings=WalkabilitySettings,
    plan=plan_tiles,
    wanted=_streets_given,
    code=(
        "pipeline.walkability",
        "pipeline.measures",
        "pipeline.peopleflow",
        "pipeline.thermal",
        "pipeline.geo",
    ),
    needs=("ingest", "surface", "shadow", "thermal", "peopleflow"),
    reach="neighbours",
    inputs=INPUTS,
    moved=MOVED,
    outputs=WalkabilityTileOutputs,
    reads={
        "ingest": ("table",),
        "surface": ("terrain",),
        "shadow": ("shade_fraction",),
        "thermal": ("utci_mean", "stress_hours"),
        "peopleflow": ("flow_by_mesh",),
    },
)
SCALE = Stage(
    name="walkability_scale",
    settings=WalkabilitySettings,
    plan=plan_scale,
    section="walkability",
    wanted=_streets_given,
    code=("pipeline.walkability",),
    needs=("walkability", "flow_fit"),
    reach="run",
    outputs=WalkabilityScaleOutputs,
    reads={"walkability": ("sketches", "segments", "scenarios"), "flow_fit": ("simulated",)},
)
SCORE = Stage(
    name="walkability_score",
    settings=WalkabilitySettings,
    plan=plan_score,
    section="walkability",
    wanted=_streets_given,
    code=("pipeline.walkability", "pipeline.thermal", "pipeline.geo"),
    needs=("walkability", "walkability_scale", "flow_fit"),
    reach="tile",
    outputs=WalkabilityScoreOutputs,
    reads={
        "walkability": ("segments", "scenarios"),
        "walkability_scale": ("scale",),
        "flow_fit": ("simulated",),
    },
)
SUMMARY = Stage(
    name="walkability_summary",
    settings=WalkabilitySettings,
    plan=plan_summary,
    section="walkability",
    wanted=_streets_given,
    code=(
        "pipeline.walkability",
        "pipeline.thermal",
        "pipeline.geo",
        "pipeline.tiles3d",
        "pipeline.viewer",
        "pipeline.trees",
    ),
    needs=(
        "ingest",
        "surface",
        "shadow",
        "thermal_forcing",
        "thermal",
        "peopleflow",
        "walkability_scale",
        "walkability_score",
        "trees_changes_table",
    ),
    reach="run",
    outputs=WalkabilitySummaryOutputs,
    reads={
        "walkability_score": ("scored", "partials"),
        "walkability_scale": ("scale",),
        "peopleflow": ("coverage",),
        "ingest": ("table",),
        "surface": ("building_id", "terrain"),
        "shadow": ("shade_fraction", "shade_hours"),
        "thermal": ("utci_mean",),
        "thermal_forcing": ("weather_csv",),
        "trees_changes_table": ("counts", "map"),
    },
)
