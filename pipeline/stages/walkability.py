"""``walkability`` (one task per tile) and ``walkability_summary`` (one task for the run).

``walkability`` reads the street network of the tile and its eight neighbours, the
PLATEAU buildings (destinations, floor area) and roads (widths) of those meshes, the
shade-fraction rasters of the shadow stage, the tile's terrain and the aligned people
flow, and writes the raw metrics of the tile's own segments
(:mod:`pipeline.walkability.metrics`): ``<output>/walkability/tiles/<tile>_segments.parquet``
and ``<tile>_scenarios.parquet``.

``walkability_summary`` scales the components over the run, scores and classes every
segment per scenario and writes every planners' output
(:mod:`pipeline.walkability.scenario_scores`, :mod:`pipeline.walkability.outputs`).
Both are configured by ``stages.walkability`` and run when it names street files.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Literal, Mapping

from pydantic import Field, field_validator

from pipeline.core.settings import InputPath, StageSettings, one_or_many
from pipeline.core.stage import Stage
from pipeline.core.task import PlanContext, Record, Result, Task, done, keys, tile_neighbourhood

log = logging.getLogger(__name__)


def _default_weights() -> dict[str, float]:
    from pipeline.walkability.scores import DEFAULT_WEIGHTS
    return dict(DEFAULT_WEIGHTS)


class WalkabilitySettings(StageSettings):
    """Walkability per street segment and scenario (runs when `streets` is given)."""

    streets: list[InputPath] = Field(default_factory=list, description=(
        "Street centre lines: OSM XML (osmnx's own `walk` filter applied after loading) or a "
        "line layer (GeoPackage, GeoParquet, GeoJSON; optional `highway`, `width_m`)."))
    districts: InputPath | None = Field(None, description="Polygons for the per-district summary.")
    district_name: str = Field("name", description="Column with the districts' names.")
    distances: list[int] = Field([400, 800], min_length=1, description=(
        "Walking thresholds (m) for access, each in (0, 5000]."))
    access_classes: list[str] = Field(
        ["commercial", "office", "public", "education_medical"], description=(
            "Destination classes whose access enters the score (PLATEAU `usage` codes map to "
            "commercial, office, residential, public, education_medical, industrial)."))
    floor_area_per_destination_m2: float = Field(500.0, gt=0, le=100_000, description=(
        "One destination per started this much floor area (footprint x storeys)."))
    sun_weight: dict[str, float] = Field(
        default_factory=lambda: {"heat_day": 1.6, "summer_solstice": 1.4, "equinox": 1.0,
                                 "winter_solstice": 0.8},
        description="Per season, the perceived length of a metre in the sun (1 = plain).")
    shade_weight: dict[str, float] = Field(default_factory=dict, description=(
        "Per season, the perceived length of a metre in shade (default 1)."))
    hot_seasons: list[str] = Field(["summer_solstice", "heat_day"], description=(
        "Seasons in which crowded, unshaded streets are \"used but uncomfortable\"."))
    weights: dict[str, float] = Field(default_factory=_default_weights,
                                      description="Score weight per component.")
    allocation: Literal["floor_area", "length"] = Field("floor_area", description=(
        "Spread mesh populations on streets by the floor area of the buildings along them, "
        "or by segment length."))
    day_type: Literal["weekday", "holiday", "all"] = Field("weekday", description=(
        "People-flow day type used for the classes."))
    walkable_score: float = Field(50.0, ge=0, le=100, description="Score from which a street is "
                                  "walkable.")
    unshaded_below: float = Field(0.3, ge=0, le=1, description="Shade share below which a street "
                                  "is unshaded.")
    raster_resolution_m: float = Field(5.0, gt=0, le=50, description="Cell size of the score COGs.")
    max_assign_m: float = Field(100.0, gt=0, le=1000, description="How far a destination may be "
                                "from its street.")
    maps: bool = Field(True, description="PNG maps and the HTML report.")

    @field_validator("streets", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return one_or_many(value)

    @field_validator("weights")
    @classmethod
    def _known_components(cls, value: dict[str, float]) -> dict[str, float]:
        known = _default_weights()
        unknown = set(value) - set(known)
        if unknown:
            raise ValueError(f"unknown score component(s) {sorted(unknown)}; known: {list(known)}")
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


def _streets_given(definition) -> bool:
    return bool(definition.stages.walkability.streets)


def _shade_fraction(shadow: list[Record]) -> dict[str, list[str]]:
    """Scenario -> the shade-fraction COGs of ``shadow`` records (sorted)."""
    paths: dict[str, list[str]] = {}
    for record in shadow:
        for name, path in record.outputs.get("shade_fraction", {}).items():
            paths.setdefault(name, []).append(path)
    return {name: sorted(p) for name, p in sorted(paths.items())}


def _tables(records: list[Record], feature_type: str) -> list[str]:
    return sorted(r.outputs["table"] for r in records if r.feature_type == feature_type)


# -- per tile ----------------------------------------------------------------------------
def walkability_tile(tile: str, crs: str, out_dir: str, *, settings: WalkabilitySettings,
                     scenarios: list, shadow: list[Record] = (), surface: list[Record] = (),
                     ingest: list[Record] = (), peopleflow: list[Record] = ()) -> Result:
    """Raw walkability metrics of the segments of one tile (runs on a worker)."""
    from pipeline.geo.atomic import atomic_path
    from pipeline.peopleflow.tables import read_flow
    from pipeline.walkability.inputs import read_street_lines, read_tables, tile_region
    from pipeline.walkability.metrics import tile_metrics
    from pipeline.walkability.network import from_lines

    start = time.perf_counter()
    _, region = tile_region(tile, crs, max(settings.distances))
    lines = read_street_lines(settings.streets, crs, region)
    if lines.empty:
        log.warning("walkability %s: no streets in the tile's region", tile)
        return Result(counts={"segments": 0})
    flow = read_flow(peopleflow[0].outputs["flow_by_mesh"], settings.day_type) if peopleflow else None
    metrics = tile_metrics(
        tile, from_lines(lines), read_tables(_tables(ingest, "bldg"), crs),
        read_tables(_tables(ingest, "tran"), crs), scenarios=scenarios, region=region,
        distances=settings.distances, floor_area_per_destination_m2=settings.floor_area_per_destination_m2,
        max_assign_m=settings.max_assign_m, sun_weight=settings.sun_weight,
        shade_weight=settings.shade_weight, allocation=settings.allocation,
        terrain=surface[0].outputs["terrain"] if surface else None, flow=flow,
        shade_fraction=_shade_fraction(shadow))
    if metrics is None:
        return Result(counts={"segments": 0})
    folder = Path(out_dir)
    outputs = {"segments": str(folder / f"{tile}_segments.parquet"),
               "scenarios": str(folder / f"{tile}_scenarios.parquet")}
    with atomic_path(outputs["segments"]) as tmp:
        metrics.segments.to_parquet(tmp, index=False)
    with atomic_path(outputs["scenarios"]) as tmp:
        metrics.scenarios.to_parquet(tmp, index=False)
    log.info("walkability %s: %d segments (network %d, %d destinations), %d scenarios, %.1f s",
             tile, metrics.counts["segments"], metrics.counts["network_segments"],
             metrics.counts["destinations"], len(scenarios), time.perf_counter() - start)
    return Result(outputs=outputs, counts=metrics.counts)


def plan_tiles(ctx: PlanContext, records: Mapping[str, Record]) -> list[Task]:
    """One task per tile; upstream: ingest (bldg, tran) and shadow of the tile and its
    neighbours, the tile's surface, and the peopleflow task."""
    settings: WalkabilitySettings = ctx.settings("walkability")
    scenarios = ctx.scenarios
    hashes = [ctx.hash_file(p) for p in settings.streets]
    tasks = []
    for tile in ctx.tiles:
        meshes = tile_neighbourhood(tile)
        ingest = [r for r in done(records, "ingest") if r.feature_type in ("bldg", "tran")
                  and (r.mesh_code or "") in meshes]
        shadow = [r for r in done(records, "shadow") if r.tile in meshes]
        tasks.append(Task(
            stage="walkability", tile=tile, func=walkability_tile,
            args=(tile, ctx.crs, str(ctx.out("walkability", "tiles"))),
            kwargs={"settings": settings, "scenarios": scenarios},
            params={"settings": settings.model_dump(mode="json"), "crs": ctx.crs,
                    "scenarios": ctx.definition.scenarios.model_dump(mode="json")},
            input_hashes=hashes,
            upstream={"ingest": keys(ingest), "shadow": keys(shadow),
                      "surface": keys(done(records, "surface", tile=tile)),
                      "peopleflow": keys(done(records, "peopleflow"))}))
    return tasks


# -- over the run -----------------------------------------------------------------------
def walkability_summary(out_dir: str, crs: str, *, settings: WalkabilitySettings, scenarios: list,
                        walkability: list[Record] = (), ingest: list[Record] = (),
                        peopleflow: list[Record] = (), shadow: list[Record] = ()) -> Result:
    """Scores, classes and every output per scenario (runs on a worker)."""
    import pandas as pd

    from pipeline.walkability.inputs import read_tables
    from pipeline.walkability.outputs import read_districts
    from pipeline.walkability.scenario_scores import score_run

    tiles = [r for r in walkability if r.outputs.get("segments")]
    if not tiles:
        raise ValueError("walkability_summary: no tile produced street segments")
    districts = (read_districts(settings.districts, settings.district_name, crs)
                 if settings.districts else None)
    coverage = pd.read_parquet(peopleflow[0].outputs["coverage"]) if peopleflow else None
    outputs, counts = score_run(
        out_dir, crs, segment_tables=[r.outputs["segments"] for r in tiles],
        scenario_tables=[r.outputs["scenarios"] for r in tiles], scenarios=scenarios,
        settings=settings, buildings=read_tables(_tables(ingest, "bldg"), crs), districts=districts,
        coverage=coverage, shade_fraction=_shade_fraction(shadow))
    return Result(outputs=outputs, counts=counts,
                  feature_type="bldg" if outputs.get("feature_table") else None)


def plan_summary(ctx: PlanContext, records: Mapping[str, Record]) -> list[Task]:
    """The single ``walkability_summary`` task (after every ``walkability`` tile)."""
    settings: WalkabilitySettings = ctx.settings("walkability")
    tiles = done(records, "walkability")
    if not tiles:
        return []
    return [Task(stage="walkability_summary", tile="all", func=walkability_summary,
                 args=(str(ctx.out("walkability")), ctx.crs),
                 kwargs={"settings": settings, "scenarios": ctx.scenarios},
                 params={"settings": settings.model_dump(mode="json"), "crs": ctx.crs,
                         "scenarios": ctx.definition.scenarios.model_dump(mode="json")},
                 input_hashes=[ctx.hash_file(settings.districts)] if settings.districts else [],
                 upstream={"walkability": keys(tiles),
                           "ingest": keys(done(records, "ingest", feature_type="bldg")),
                           "shadow": keys(done(records, "shadow")),
                           "peopleflow": keys(done(records, "peopleflow"))})]


STAGE = Stage(name="walkability", settings=WalkabilitySettings, plan=plan_tiles,
              wanted=_streets_given)
SUMMARY = Stage(name="walkability_summary", settings=WalkabilitySettings, plan=plan_summary,
                section="walkability", wanted=_streets_given)
