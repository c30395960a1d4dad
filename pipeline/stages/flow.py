"""``flow`` and ``flow_fit``: simulated pedestrians per street segment and scenario.

``flow`` (one task per tile) assigns the trips that start in the tile on the street
network within ``reach_m`` of it (:mod:`pipeline.flowsim.tile`): trip ends from the
PLATEAU buildings' floor area by usage and the stops layer, with the trip-rate table's
rates for each scenario's slot (:mod:`pipeline.flowsim.generation`); route and
destination choice on the scenario's perceived cost, each metre weighed by the walkability
stage's perceived length per metre of its segment, ``imp_factor`` (comfort: ``c_thermal``
of the better sidewalk with ``stages.walkability.discomfort_weight``; traffic:
``stages.walkability.busy_street_factor`` on busy streets; :mod:`pipeline.flowsim.assignment`),
the same cost its comfort-weighted access walks on: a street made pedestrian-only, or
widened, by a ``street`` measure changes the routes too. Writes
``<output>/flow/tiles/<tile>_flows.parquet`` (trips per hour on every segment they reach).

``flow_fit`` (one task) fits the one ratio of MLIT stay population to simulated people per
mesh cell (over the cells and scenarios MLIT itself observed) and the one ratio of counted
to simulated walkers per hour, and writes ``flow/simulated.parquet`` (``segment_id,
scenario, trips_per_hour, people_per_100m``: the MLIT ratio applied), ``flow/validation``
(GEH per counter and scenario, Parquet and CSV) and ``flow/ratios.json``.

Where the walkability tables have no people for a segment and scenario (no observed flow,
no profile), ``people_per_100m`` is the simulated value and ``people_source`` is
``simulated`` (:func:`pipeline.walkability.flow_sources.fill_simulated`); observed values
are never replaced. Both stages run when ``stages.flow.enabled`` is true and
``inputs.streets`` names streets; they need ``inputs.trip_rates``. The assignment is exact
(expected flows, no sampling): the same inputs give the same bytes for any worker count.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field

from pipeline.core.settings import InputPath, StageSettings
from pipeline.core.stage import Stage
from pipeline.core.task import Outputs, PlanContext, Record, Result, Task, done, keys

log = logging.getLogger(__name__)

#: The flow stages' input files.
INPUTS: dict[str, Any] = {
    "trip_rates": (
        InputPath | None,
        Field(
            None,
            description=(
                "Trips per hour per 100 m² floor area by class (residential, commercial, office, public) "
                "and per unit weight of a stop (station, bus_stop), per day type and hour: CSV "
                "`class, day_type, hour, produced, attracted` whose first line is `# source: <publication, "
                "table, year, URL>`. Required by `stages.flow`; none is shipped."
            ),
        ),
    ),
    "stops": (
        InputPath | None,
        Field(
            None,
            description=(
                "Stations and bus stops: points with `kind` (station, bus_stop) and optional `weight` "
                "(e.g. daily boardings), any vector format."
            ),
        ),
    ),
}


class FlowSettings(StageSettings):
    """Pedestrian flow simulation (runs when enabled and `inputs.streets` is given)."""

    enabled: bool = Field(False, description="Run the simulation (needs `inputs.trip_rates` and `theta`).")
    theta: float | None = Field(
        None,
        gt=0,
        le=1,
        description=(
            "Logit dispersion, 1/m of perceived walk: how sharply walkers prefer the cheaper "
            "destination and route. A behavioural parameter with no default: calibrate it on "
            "counters (`pipeline.flowsim.validation.calibrate_theta`)."
        ),
    )
    reach_m: float = Field(
        2000.0,
        gt=0,
        le=5000,
        description="Longest walk (m); bounds each tile's network to the tiles within this of it.",
    )
    destinations_on_length: bool = Field(
        False,
        description=(
            "Choose destinations on plain length, so only the routes feel the scenario (a nested "
            "logit); default: the joint destination and route logit on perceived cost."
        ),
    )
    max_snap_m: float = Field(
        100.0,
        gt=0,
        le=1000,
        description="Farthest a building or stop may be from the street network to send and receive trips.",
    )
    counter_max_distance_m: float = Field(
        30.0, gt=0, le=200, description="Farthest a counter may be from the segment it counts."
    )
    fill_people: bool = Field(
        True,
        description=(
            "Give segments with no observed or profiled people in a scenario the simulated "
            "`people_per_100m` (`people_source` = `simulated`)."
        ),
    )


@dataclass(frozen=True)
class FlowTileOutputs(Outputs):
    """``flows``: trips per hour of the trips starting in the tile, on every segment they
    reach (``segment_id``, one column per scenario)."""

    flows: str | None = None


@dataclass(frozen=True)
class FlowFitOutputs(Outputs):
    """``simulated`` (per segment and scenario), the GEH ``validation`` table (Parquet and
    CSV) against counters and the fitted ``ratios`` (JSON)."""

    simulated: str
    ratios: str
    validation: str | None = None
    validation_csv: str | None = None


def _wanted(definition) -> bool:
    return bool(definition.stages.flow.enabled and definition.inputs.streets)


def flow_tile(
    tile: str,
    crs: str,
    out_dir: str,
    *,
    settings: FlowSettings,
    day_type: str,
    scenarios: list,
    trip_rates: str,
    stops: str | None,
    walkability: list[Record] = (),
    ingest: list[Record] = (),
) -> Result:
    """Trips per hour of the trips starting in one tile, in every scenario (runs on a worker)."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    from citygml.source import meshes_related
    from pipeline.flowsim.generation import read_trip_rates
    from pipeline.flowsim.tile import (
        FlowParameters,
        factor_table,
        in_reach,
        simulate_tile,
    )
    from pipeline.geo import meshcode
    from pipeline.walkability.inputs import read_tables
    from tiles.atomic import atomic_path

    start = time.perf_counter()
    tables = {r.tile: r for r in walkability if r.outputs.segments}
    if tile not in tables:
        return Result(counts={"segments": 0})
    bounds = {
        t: tuple(gpd.read_parquet(r.outputs.segments, columns=["geometry"]).total_bounds)
        for t, r in sorted(tables.items())
    }
    cell = meshcode.to_polygons([int(tile)], crs=crs).iloc[0].bounds  # the tile's nodes lie in its cell
    bounds[tile] = (
        min(bounds[tile][0], cell[0]),
        min(bounds[tile][1], cell[1]),
        max(bounds[tile][2], cell[2]),
        max(bounds[tile][3], cell[3]),
    )
    near = in_reach(bounds, tile, settings.reach_m)
    segments = pd.concat(
        [gpd.read_parquet(tables[t].outputs.segments, columns=["segment_id", "geometry"]) for t in near],
        ignore_index=True,
    )
    segments = gpd.GeoDataFrame(segments, geometry="geometry", crs=crs)
    rows = pd.concat([pd.read_parquet(tables[t].outputs.scenarios) for t in near], ignore_index=True)
    factors = factor_table(rows, segments["segment_id"], [s.name for s in scenarios])
    factors.index = pd.RangeIndex(len(segments))
    region = segments.total_bounds
    buildings = read_tables([r.outputs.table for r in ingest if meshes_related(r.mesh_code, near)], crs)
    if len(buildings):
        buildings = buildings.cx[region[0] : region[2], region[1] : region[3]]
    points = None
    if stops:
        points = gpd.read_file(stops).to_crs(crs)
        points = points.cx[region[0] : region[2], region[1] : region[3]]
    params = FlowParameters(
        theta=float(settings.theta),
        reach_m=settings.reach_m,
        day_type=day_type,
        destinations_on_length=settings.destinations_on_length,
        max_snap_m=settings.max_snap_m,
    )
    flows, summary = simulate_tile(
        segments, factors, tile, buildings, points, read_trip_rates(trip_rates), scenarios, params
    )
    path = Path(out_dir) / f"{tile}_flows.parquet"
    with atomic_path(path) as tmp:
        flows.to_parquet(tmp, index=False)
    log.info(
        "flow %s: trips starting in the tile on %d segments, %.0f assigned over %d scenarios, %.1f s",
        tile,
        len(segments),
        float(summary["assigned"].sum()),
        len(scenarios),
        time.perf_counter() - start,
    )
    return Result(
        outputs=FlowTileOutputs(flows=str(path)),
        counts={
            "network_segments": len(segments),
            "generated": round(float(summary["generated"].sum()), 3),
            "assigned": round(float(summary["assigned"].sum()), 3),
            "unassigned": round(float(summary["unassigned"].sum()), 3),
            "unsnapped": round(float(np.sum(summary["unsnapped"])), 3),
        },
    )


def plan_tiles(ctx: PlanContext, records: Mapping[str, Record]) -> list[Task]:
    """One task per tile with segments; each reads the walkability tables within the reach."""
    settings: FlowSettings = ctx.settings("flow")
    inputs = ctx.definition.inputs
    if inputs.trip_rates is None or settings.theta is None:
        raise ValueError(
            "stages.flow is enabled but needs inputs.trip_rates (a cited trip-rate table) "
            "and stages.flow.theta (the logit dispersion, calibrated on counters)"
        )
    walk = ctx.settings("walkability")
    tiles = [r for r in done(records, "walkability") if r.outputs.segments]
    bldg = done(records, "ingest", feature_type="bldg")
    hashes = [ctx.hash_file(inputs.trip_rates)] + ([ctx.hash_file(inputs.stops)] if inputs.stops else [])
    return [
        Task(
            stage="flow",
            tile=r.tile,
            func=flow_tile,
            args=(r.tile, ctx.crs, str(ctx.out("flow", "tiles"))),
            kwargs={
                "settings": settings,
                "day_type": walk.day_type,
                "scenarios": ctx.scenarios,
                "trip_rates": str(inputs.trip_rates),
                "stops": str(inputs.stops) if inputs.stops else None,
            },
            params={
                "settings": settings.model_dump(mode="json"),
                "crs": ctx.crs,
                "day_type": walk.day_type,
                "scenarios": ctx.definition.scenarios.model_dump(mode="json"),
            },
            input_hashes=hashes,
            upstream={"walkability": keys(tiles), "ingest": keys(bldg)},
            meshes=(r.tile,),
        )
        for r in tiles
    ]


def flow_fit(
    out_dir: str,
    crs: str,
    *,
    settings: FlowSettings,
    day_type: str,
    scenarios: list,
    flow: list[Record] = (),
    walkability: list[Record] = (),
    peopleflow: list[Record] = (),
) -> Result:
    """The run's fitted ratios, simulated people per segment and GEH validation (one task)."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    from pipeline.flowsim.simulate import fit_and_validate
    from pipeline.flowsim.tile import add_up
    from pipeline.flowsim.validation import counter_segments
    from pipeline.peopleflow.tables import read_flow, read_flow_sources
    from tiles.atomic import atomic_path, write_text_atomic

    tiles = sorted((r for r in flow if r.outputs.flows), key=lambda r: r.tile)
    if not tiles:
        raise ValueError("flow_fit: no tile produced flows")
    names = [s.name for s in scenarios]
    flows = add_up([pd.read_parquet(r.outputs.flows) for r in tiles])
    segments = pd.concat(
        [
            gpd.read_parquet(r.outputs.segments, columns=["segment_id", "length_m", "meshcode", "geometry"])
            for r in sorted(walkability, key=lambda r: r.tile)
            if r.outputs.segments
        ]
    )
    segments = (
        gpd.GeoDataFrame(segments, geometry="geometry", crs=crs)
        .set_index("segment_id")
        .loc[flows["segment_id"]]
    )
    mlit = counted = on_segment = None
    if peopleflow:
        population = read_flow(peopleflow[0].outputs.flow_by_mesh, day_type)
        labels = read_flow_sources(peopleflow[0].outputs.flow_by_mesh, day_type)
        observed = population.where(labels == "mlit")
        if 3 in observed.index.get_level_values("level"):
            mlit = observed.xs(3, level="level").reindex(columns=names)
        if peopleflow[0].outputs.flow_by_counter:
            counted = pd.read_parquet(peopleflow[0].outputs.flow_by_counter)
            counted = counted[counted["day_type"] == day_type]
            where = counted.groupby("counter_id")[["lat", "lon"]].first()
            points = gpd.GeoDataFrame(
                {"counter_id": where.index},
                crs="EPSG:6668",
                geometry=gpd.points_from_xy(where["lon"], where["lat"]),
            ).to_crs(crs)
            on_segment = counter_segments(
                points, segments.reset_index(drop=True), max_distance_m=settings.counter_max_distance_m
            )
    fitted = fit_and_validate(
        flows[names],
        segments["length_m"].to_numpy(float),
        segments["meshcode"].to_numpy(np.int64),
        mlit,
        counted,
        on_segment,
    )
    folder = Path(out_dir)
    simulated = pd.DataFrame(
        {
            "segment_id": np.repeat(flows["segment_id"].to_numpy(), len(names)),
            "scenario": np.tile(names, len(flows)),
            "trips_per_hour": flows[names].to_numpy(float).ravel(),
            "people_per_100m": fitted.people_per_100m[names].to_numpy(float).ravel(),
        }
    )
    outputs = {"simulated": str(folder / "simulated.parquet"), "ratios": str(folder / "ratios.json")}
    with atomic_path(outputs["simulated"]) as tmp:
        simulated.to_parquet(tmp, index=False)
    if counted is not None:
        outputs["validation"] = str(folder / "validation.parquet")
        outputs["validation_csv"] = str(folder / "validation.csv")
        with atomic_path(outputs["validation"]) as tmp:
            fitted.validation.to_parquet(tmp, index=False)
        with atomic_path(outputs["validation_csv"]) as tmp:
            fitted.validation.to_csv(tmp, index=False, encoding="utf-8", float_format="%.6f")

    def number(value: float):
        return round(float(value), 9) if np.isfinite(value) else None

    ratios = {
        "mlit_ratio": number(fitted.mlit_ratio),
        "mlit_pairs": fitted.mlit_pairs,
        "counter_ratio": number(fitted.counter_ratio),
        "share_geh_below_5": number(fitted.share_geh_below_5),
        "counters_validated": len(on_segment) if on_segment is not None else 0,
        "theta": settings.theta,
        "reach_m": settings.reach_m,
        "day_type": day_type,
    }
    write_text_atomic(outputs["ratios"], json.dumps(ratios, indent=1, sort_keys=True))
    log.info(
        "flow_fit: %d segments x %d scenarios; MLIT ratio %s over %d pairs; GEH<5 share %s",
        len(flows),
        len(names),
        ratios["mlit_ratio"],
        fitted.mlit_pairs,
        ratios["share_geh_below_5"],
    )
    return Result(outputs=FlowFitOutputs(**outputs), counts={"segments": len(flows)}, details=ratios)


def plan_fit(ctx: PlanContext, records: Mapping[str, Record]) -> list[Task]:
    """The single ``flow_fit`` task, after every ``flow`` tile."""
    settings: FlowSettings = ctx.settings("flow")
    tiles = [r for r in done(records, "flow") if r.outputs.flows]
    if not tiles:
        return []
    walk = ctx.settings("walkability")
    return [
        Task(
            stage="flow_fit",
            tile="all",
            func=flow_fit,
            args=(str(ctx.out("flow")), ctx.crs),
            kwargs={"settings": settings, "day_type": walk.day_type, "scenarios": ctx.scenarios},
            params={
                "settings": settings.model_dump(mode="json"),
                "crs": ctx.crs,
                "day_type": walk.day_type,
                "scenarios": ctx.definition.scenarios.model_dump(mode="json"),
            },
            upstream={
                "flow": keys(tiles),
                "walkability": keys(r for r in done(records, "walkability") if r.outputs.segments),
                "peopleflow": keys(done(records, "peopleflow")),
            },
        )
    ]


STAGE = Stage(
    name="flow",
    settings=FlowSettings,
    plan=plan_tiles,
    wanted=_wanted,
    code=("pipeline.flowsim", "pipeline.walkability", "pipeline.peopleflow", "pipeline.geo"),
    needs=("ingest", "walkability"),
    reach="run",
    inputs=INPUTS,
    outputs=FlowTileOutputs,
    reads={"walkability": ("segments", "scenarios"), "ingest": ("table",)},
)
FIT = Stage(
    name="flow_fit",
    settings=FlowSettings,
    plan=plan_fit,
    section="flow",
    wanted=_wanted,
    code=("pipeline.flowsim", "pipeline.peopleflow", "pipeline.geo"),
    needs=("flow", "walkability", "peopleflow"),
    reach="run",
    outputs=FlowFitOutputs,
    reads={
        "flow": ("flows",),
        "walkability": ("segments",),
        "peopleflow": ("flow_by_mesh", "flow_by_counter"),
    },
)
