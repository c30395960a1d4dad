"""Writing the walkability outputs planners use, per scenario, under ``<output>/walkability/``.

===================================  ========================================================
file                                 holds
===================================  ========================================================
``segments_<scenario>.parquet``      GeoParquet: every segment with its raw metrics, scaled
                                     components ``c_*``, ``score`` (0-100), its standing in
                                     the scenario ``score_percentile`` (0-100) and ``class``;
                                     with the thermal stage, per side (``centre``, ``left``,
                                     ``right``) ``utci_<side>_c``, ``c_thermal_<side>``,
                                     ``shade_share_<side>``, the ``side`` walked and its
                                     ``hours_utci_above_32/above_38/below_0``
``score_<scenario>.tif``             COG, float32: the score burned onto a
                                     ``raster_resolution_m`` grid (street cells; NaN elsewhere;
                                     where segments meet the higher score wins)
``summary_by_mesh.parquet/.csv``     per 3rd-level mesh cell and scenario: length-weighted
                                     score and shade share, people per 100 m, class, street
                                     length and the share of it in each class
``summary_by_district.parquet/.csv`` the same per district polygon (when districts are given)
``buildings_nearest_street.parquet`` ``gml_id``, ``nearest_segment_id``, ``distance_m`` and
                                     ``walk_score_<scenario>`` of the nearest street (for the
                                     3D Tiles property tables)
``maps/score_<scenario>.png``        score map; ``maps/class_<scenario>.png`` class map
                                     (legend, scale bar, north arrow, title); with the thermal
                                     stage ``maps/utci_<scenario>.png``: streets by UTCI stress
                                     class over the mean-UTCI raster
``priority.parquet/.csv``            where to act first: the segments of every scenario
                                     ranked by unshaded person-hours in strong heat stress
                                     (:mod:`pipeline.walkability.priority`; with people flow
                                     and the thermal stage)
``report.html``                      the printed report (Japanese, or English with
                                     ``report_lang: en``), :mod:`pipeline.walkability.report`
``maps/district_3d_<season>.png``    3D perspective of the district per season at one slot
                                     (when the stage passes a ``render_3d`` callback)
===================================  ========================================================
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from pipeline.geo.raster import Grid
from pipeline.walkability.coolwalk import district_coolwalkability
from pipeline.walkability.rasters import scored_columns, write_rasters_and_maps
from pipeline.walkability.report import write_report
from tiles.atomic import atomic_path

log = logging.getLogger(__name__)


def read_districts(path: Path, name_column: str, crs: str) -> gpd.GeoDataFrame:
    """District polygons with a ``district`` name column, in ``crs``."""
    districts = gpd.read_file(path)
    if name_column not in districts:
        raise ValueError(
            f"{path}: no column {name_column!r} for the district names; found "
            f"{[c for c in districts.columns if c != 'geometry']}"
        )
    if districts.crs is None:
        raise ValueError(f"{path}: the district layer has no CRS")
    kinds = set(districts.geometry.geom_type.dropna())
    if kinds - {"Polygon", "MultiPolygon"}:
        raise ValueError(f"{path}: districts must be polygons, found {sorted(kinds)}")
    return gpd.GeoDataFrame(
        {"district": districts[name_column].astype(str)},
        geometry=districts.geometry.to_numpy(),
        crs=districts.crs,
    ).to_crs(crs)


def write_geoparquet(frame: gpd.GeoDataFrame, path: Path) -> str:
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)
    return str(path)


def write_table(frame: pd.DataFrame, stem: Path) -> dict[str, str]:
    """The same table as Parquet and as CSV (UTF-8 with BOM so Excel reads Japanese names)."""
    parquet, csv = stem.with_suffix(".parquet"), stem.with_suffix(".csv")
    with atomic_path(parquet) as tmp:
        frame.to_parquet(tmp, index=False)
    with atomic_path(csv) as tmp:
        frame.to_csv(tmp, index=False, encoding="utf-8-sig")
    return {"parquet": str(parquet), "csv": str(csv)}


def buildings_nearest_street(
    buildings: gpd.GeoDataFrame, scored: dict[str, gpd.GeoDataFrame], max_distance_m: float = 100.0
) -> pd.DataFrame:
    """Per building: its nearest segment (footprint to line) and that segment's score per scenario."""
    first = next(iter(scored.values()))
    lines = gpd.GeoDataFrame(
        {"nearest_segment_id": first.index.to_numpy()}, geometry=first.geometry.to_numpy(), crs=first.crs
    )
    footprints = gpd.GeoDataFrame(
        {"gml_id": buildings["gml_id"].astype(str).to_numpy()},
        geometry=buildings.geometry.to_numpy(),
        crs=buildings.crs,
    )
    near = gpd.sjoin_nearest(
        footprints, lines, how="left", max_distance=max_distance_m, distance_col="distance_m"
    )
    near = near[~near.index.duplicated()]  # equidistant streets: keep the first
    table = pd.DataFrame(near[["gml_id", "nearest_segment_id", "distance_m"]])
    for name, segments in scored.items():
        table[f"walk_score_{name}"] = segments["score"].reindex(table["nearest_segment_id"]).to_numpy(float)
        table[f"walk_class_{name}"] = segments["class"].reindex(table["nearest_segment_id"]).to_numpy(object)
    return table.reset_index(drop=True)


# -- one tile ----------------------------------------------------------------------------
#: how far a building's nearest street may be (m)
NEAREST_STREET_M = 100.0


@dataclass(frozen=True)
class ScoredTile:
    """What the scoring of one tile hands to the run's outputs.

    ``scored``: GeoParquet of the tile's segments scored in every scenario (a
    ``scenario`` column); ``partials``: the tile's sums for the run's summaries
    (:mod:`pipeline.walkability.partials`); ``bounds``: the segments' extent (metric CRS).
    """

    tile: str
    scored: str
    partials: str
    bounds: tuple[float, float, float, float]


def tile_partials(
    scored: Mapping[str, gpd.GeoDataFrame], settings, districts: gpd.GeoDataFrame | None = None
) -> pd.DataFrame:
    """The sums one tile adds to the run's summaries, per mesh cell, district and the whole
    run, for every scenario (:func:`pipeline.walkability.partials.partial_sums`)."""
    from pipeline.walkability.inputs import midpoint_districts
    from pipeline.walkability.partials import partial_sums

    plain = [f"access_{k}_{d}" for k in settings.access_classes for d in settings.distances]
    comfort = [f"access_comfort_{k}_{d}" for k in settings.access_classes for d in settings.distances]
    parts = []
    for name, segments in scored.items():
        common = dict(scenario=name, access_plain=plain, access_comfort=comfort)
        parts.append(partial_sums(segments, segments["meshcode"].to_numpy(), level="mesh", **common))
        if districts is not None:
            parts.append(
                partial_sums(segments, midpoint_districts(segments, districts), level="district", **common)
            )
        parts.append(partial_sums(segments, np.full(len(segments), "all", object), level="run", **common))
    return pd.concat(parts, ignore_index=True)


def write_scored_tile(
    folder: Path, tile: str, scored: Mapping[str, gpd.GeoDataFrame], partials: pd.DataFrame
) -> ScoredTile:
    """Write one tile's scored segments (every scenario, one GeoParquet) and its partial sums."""
    first = next(iter(scored.values()))
    table = gpd.GeoDataFrame(
        pd.concat([s.reset_index() for s in scored.values()], ignore_index=True),
        geometry="geometry",
        crs=first.crs,
    )
    scored_path = write_geoparquet(table, Path(folder) / f"{tile}_scored.parquet")
    partials_path = Path(folder) / f"{tile}_partials.parquet"
    with atomic_path(partials_path) as tmp:
        partials.to_parquet(tmp, index=False)
    bounds = tuple(float(v) for v in first.total_bounds)
    return ScoredTile(tile, scored_path, str(partials_path), bounds)


def write_priority(stem: Path, segments: Mapping[str, str]) -> tuple[dict[str, str], pd.DataFrame] | None:
    """Where to act first: every scenario's segments ranked by the priority index
    (:func:`pipeline.walkability.priority.priority_table`), one table as Parquet and CSV;
    None (nothing written) when the segments lack people flow or the thermal columns."""
    import pyarrow.parquet as pq

    from pipeline.walkability.priority import NEEDED, priority_table

    tables = []
    for name, path in segments.items():
        columns = pq.read_schema(path).names
        if not set(NEEDED) <= set(columns):
            log.info("priority: %s lacks %s; no ranking", path, sorted(set(NEEDED) - set(columns)))
            return None
        wanted = list(NEEDED) + [c for c in ("name", "highway") if c in columns]
        tables.append(priority_table(pd.read_parquet(path, columns=wanted), name))
    table = pd.concat(tables, ignore_index=True)
    return write_table(table, stem), table


# -- the run -----------------------------------------------------------------------------
def _run_grid(tiles: Sequence[ScoredTile], resolution: float, crs: str, margin_m: float = 30.0) -> Grid:
    bounds = np.array([t.bounds for t in tiles])
    return Grid.from_bounds(
        bounds[:, 0].min() - margin_m,
        bounds[:, 1].min() - margin_m,
        bounds[:, 2].max() + margin_m,
        bounds[:, 3].max() + margin_m,
        resolution,
        crs,
    )


def coolwalk_by_district(
    tiles: Sequence[ScoredTile], districts: gpd.GeoDataFrame, scenario_names: Sequence[str], *, alpha: float
) -> pd.DataFrame:
    """CoolWalkability per district (:func:`district_coolwalkability`), each district from
    the scored tiles it touches only: a task bounded by the size of a district."""
    import shapely

    order = {name: i for i, name in enumerate(scenario_names)}
    rows = []
    for i in np.argsort(districts["district"].to_numpy(str), kind="stable"):
        district = districts.iloc[[i]]
        touching = [t for t in tiles if shapely.box(*t.bounds).intersects(district.geometry.iloc[0])]
        if not touching:
            continue
        frames = [
            gpd.read_parquet(
                t.scored,
                columns=scored_columns(
                    t.scored, ["segment_id", "scenario", "shade_share", "c_thermal", "geometry"]
                ),
            )
            for t in touching
        ]
        table = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=frames[0].crs)
        scored = {
            name: part.set_index("segment_id")
            for name, part in sorted(
                table.groupby("scenario", sort=False), key=lambda kv: order.get(kv[0], len(order))
            )
            if name in order
        }
        rows.append(district_coolwalkability(scored, district, alpha=alpha))
    if not rows:
        return pd.DataFrame()
    table = pd.concat(rows, ignore_index=True)
    table["_order"] = table["scenario"].map(order)
    return (
        table.sort_values(["_order", "district"], kind="stable").drop(columns="_order").reset_index(drop=True)
    )


def write_buildings_nearest(
    path: Path,
    building_tables: Sequence[tuple[str, str | None]],
    tiles: Sequence[ScoredTile],
    crs: str,
    scenario_names: Sequence[str],
) -> str | None:
    """``buildings_nearest_street.parquet``, a building table at a time: each building's
    nearest street among the scored tiles around its file's mesh (:func:`buildings_nearest_street`)."""
    from citygml.source import meshes_related
    from pipeline.geo import meshcode
    from pipeline.geo.parquet import concat_parquet
    from pipeline.walkability.inputs import read_tables

    chunks = []
    scratch = path.parent / "tiles"
    for table_path, mesh in sorted(building_tables, key=lambda bt: str(bt[0])):
        buildings = read_tables([table_path], crs)
        if not len(buildings) or "gml_id" not in buildings:
            continue
        around = (
            {str(c) for c in meshcode.neighbours(int(mesh), include_self=True)}
            if mesh and len(mesh) == 8
            else {mesh}
            if mesh
            else None
        )
        near = [t for t in tiles if around is None or meshes_related(t.tile, around)]
        if not near:
            continue
        frames = [
            gpd.read_parquet(t.scored, columns=["segment_id", "scenario", "score", "class", "geometry"])
            for t in near
        ]
        table = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=frames[0].crs)
        scored = {name: table[table["scenario"] == name].set_index("segment_id") for name in scenario_names}
        nearest = buildings_nearest_street(buildings, scored, max_distance_m=NEAREST_STREET_M)
        chunk = scratch / f"{Path(table_path).stem}_nearest_street.parquet"
        with atomic_path(chunk) as tmp:
            nearest.to_parquet(tmp, index=False)
        chunks.append(str(chunk))
    if not chunks:
        return None
    concat_parquet(chunks, path)
    return str(path)


@dataclass(frozen=True)
class RunContext:
    """What the run-wide outputs are written with, besides the scored tiles.

    Attributes
    ----------
    districts : GeoDataFrame, optional
        The planning districts (their summaries and CoolWalkability).
    building_tables : sequence of (str, str or None)
        ``(GeoParquet, mesh code)`` of the ingested buildings (for their nearest streets).
    building_ids : sequence of str
        The surface stage's building-id rasters (the buildings on the maps).
    coverage : DataFrame, optional
        The people-flow coverage table (in the report).
    shade_fraction, utci_mean : mapping
        Scenario -> the shadow stage's shade-fraction COGs (under the class maps) and the
        thermal stage's mean-UTCI COGs (under the UTCI maps).
    weather : list of str
        The weather sources named in the report; ``weather_by_season`` their table.
    render_3d : callable, optional
        ``render_3d(maps_folder, {scenario: segments GeoParquet})`` returns ``{caption:
        PNG}`` of the 3D views the report shows.
    sources : pipeline.walkability.report.ReportSources, optional
        The data sources named in the report's method section, with the applied
        ``weights``.
    """

    districts: gpd.GeoDataFrame | None = None
    building_tables: Sequence[tuple[str, str | None]] = ()
    building_ids: Sequence[str] = ()
    coverage: pd.DataFrame | None = None
    shade_fraction: Mapping[str, list[str]] = field(default_factory=dict)
    utci_mean: Mapping[str, list[str]] = field(default_factory=dict)
    weather: list[str] | None = None
    weather_by_season: pd.DataFrame | None = None
    render_3d: Callable[[Path, Mapping[str, str]], Mapping[str, str]] | None = None
    sources: object = None
    weights: dict[str, float] | None = None
    tree_update: object = None  # pipeline.walkability.report.TreeUpdate: the report's 植栽の更新
    effects_report: str | None = None  # the link to effects/report.html of a run on a baseline


def write_run_outputs(
    folder: Path,
    tiles: Sequence[ScoredTile],
    scenarios: list,
    *,
    settings,
    crs: str,
    sums: pd.DataFrame,
    n_segments: int,
    context: RunContext = RunContext(),
) -> dict:
    """Write every output of the module table from the scored tiles; returns
    ``{kind: path or {scenario: path}}``.

    Every step reads a tile (or a district, or a building file and the tiles around it)
    at a time: the segments of a scenario are streamed into one GeoParquet, the rasters
    and maps painted tile by tile (:func:`write_rasters_and_maps`), and the summaries are
    the run's ``sums`` (per-tile partial sums added up,
    :func:`pipeline.walkability.partials.add_up`). ``context`` holds the districts,
    buildings, the other stages' rasters and what the report names.
    """
    from pipeline.geo.parquet import concat_parquet

    start = time.perf_counter()
    folder = Path(folder)
    tiles = sorted(tiles, key=lambda t: t.tile)
    names = [s.name for s in scenarios]
    outputs: dict = {"segments": {}}
    for name in names:
        path = folder / f"segments_{name}.parquet"
        concat_parquet([t.scored for t in tiles], path, filters=[("scenario", "==", name)])
        outputs["segments"][name] = str(path)
    outputs.update(
        write_rasters_and_maps(
            folder,
            [t.scored for t in tiles],
            scenarios,
            _run_grid(tiles, settings.raster_resolution_m, crs),
            settings=settings,
            sums=sums,
            shade_fraction=context.shade_fraction,
            utci_mean=context.utci_mean,
            building_ids=context.building_ids,
            districts=context.districts,
        )
    )
    summaries = _write_summaries(
        folder, tiles, scenarios, settings=settings, sums=sums, districts=context.districts
    )
    outputs.update(summaries.paths)
    nearest = write_buildings_nearest(
        folder / "buildings_nearest_street.parquet", context.building_tables, tiles, crs, names
    )
    if nearest:
        outputs["buildings_nearest_street"] = outputs["feature_table"] = nearest
    priority = write_priority(folder / "priority", outputs["segments"])
    if priority is not None:
        outputs["priority"] = priority[0]
    if settings.maps:
        outputs.update(
            _write_report(
                folder,
                outputs,
                scenarios,
                summaries,
                settings=settings,
                sums=sums,
                n_segments=n_segments,
                context=context,
                priority=priority[1] if priority is not None else None,
            )
        )
    if not outputs["utci_map"]:
        del outputs["utci_map"]
    log.info(
        "walkability outputs: %d scenarios of %d segments from %d tiles written to %s in %.1f s",
        len(names),
        n_segments,
        len(tiles),
        folder,
        time.perf_counter() - start,
    )
    return outputs


@dataclass
class _Summaries:
    """The per-mesh and per-district summaries and the CoolWalkability, with their paths."""

    paths: dict
    mesh: pd.DataFrame
    district: pd.DataFrame | None = None
    coolwalk: pd.DataFrame | None = None


def _write_summaries(
    folder: Path,
    tiles: Sequence[ScoredTile],
    scenarios: list,
    *,
    settings,
    sums: pd.DataFrame,
    districts: gpd.GeoDataFrame | None,
) -> _Summaries:
    """``summary_by_mesh``, and with districts ``summary_by_district`` and
    ``coolwalkability_by_district``: the run's sums per place, classed per scenario."""
    from pipeline.walkability.partials import place_summary

    mesh_rows, district_rows = [], []
    for scenario in scenarios:
        common = dict(
            hot_season=scenario.season.name in settings.hot_seasons,
            walkable_percentile=settings.walkable_percentile,
            unshaded_below=settings.unshaded_below,
            uncomfortable_hours=settings.uncomfortable_hours,
        )
        of = sums["scenario"] == scenario.name
        cells = place_summary(sums[of & (sums["level"] == "mesh")], "meshcode", **common)
        cells["meshcode"] = cells["meshcode"].astype(np.int64)
        cells.insert(1, "scenario", scenario.name)
        mesh_rows.append(cells)
        if districts is not None and (of & (sums["level"] == "district")).any():
            rows = place_summary(sums[of & (sums["level"] == "district")], "district", **common)
            rows.insert(1, "scenario", scenario.name)
            district_rows.append(rows)
    summaries = _Summaries({}, pd.concat(mesh_rows, ignore_index=True))
    summaries.paths["summary_by_mesh"] = write_table(summaries.mesh, folder / "summary_by_mesh")
    if district_rows:
        summaries.district = pd.concat(district_rows, ignore_index=True)
        summaries.paths["summary_by_district"] = write_table(
            summaries.district, folder / "summary_by_district"
        )
        summaries.coolwalk = coolwalk_by_district(
            tiles, districts, [s.name for s in scenarios], alpha=settings.coolwalk_alpha
        )
        summaries.paths["coolwalkability_by_district"] = write_table(
            summaries.coolwalk, folder / "coolwalkability_by_district"
        )
    return summaries


def _write_report(
    folder: Path,
    outputs: dict,
    scenarios: list,
    summaries: _Summaries,
    *,
    settings,
    sums: pd.DataFrame,
    n_segments: int,
    context: RunContext,
    priority,
) -> dict:
    """The 3D views (``district_3d``) and ``report.html`` from the outputs written so far."""
    written = {}
    views = dict(context.render_3d(folder / "maps", outputs["segments"])) if context.render_3d else {}
    if views:
        written["district_3d"] = views
    written["report"] = write_report(
        folder / "report.html",
        sums[sums["level"] == "run"],
        scenarios,
        n_segments=n_segments,
        settings=settings,
        mesh_summary=summaries.mesh,
        district_summary=summaries.district,
        maps=outputs["score_map"],
        class_maps=outputs["class_map"],
        coverage=context.coverage,
        weather=context.weather,
        coolwalk=summaries.coolwalk,
        weather_by_season=context.weather_by_season,
        views_3d=views,
        utci_maps=outputs["utci_map"],
        priority=priority,
        sources=context.sources,
        weights=context.weights,
        lang=settings.report_lang,
        tree_update=context.tree_update,
        effects_report=context.effects_report,
    )
    return written
