"""The walkability stages of a run: street metrics per tile, then scores and outputs per scenario.

``walkability`` (one task per third-level mesh tile)
    Reads the street network of the tile and its eight neighbours (every 800 m walk from
    a street of the tile stays inside, and every mesh cell a tile street touches is whole,
    so people-flow allocation sees all of that cell's streets), the PLATEAU buildings
    (destinations, floor area) and roads (widths) of those meshes, the shade-fraction
    rasters of the shadow stage, the tile's terrain and the aligned people flow. For the
    tile's own segments (midpoint in the tile) it writes raw metrics:
    ``<output>/walkability/tiles/<tile>_segments.parquet`` (GeoParquet: geometry and the
    metrics that do not change with the scenario: plain access per destination class and
    distance, nearest destination, land-use mix, intersection density, slope, width) and
    ``<tile>_scenarios.parquet`` (one row per segment and scenario: shade share, perceived
    length factor, comfort-weighted access, people on the segment).
``walkability_summary`` (one task for the run)
    Scales the components over the whole run (so a score means the same in every tile),
    computes the composite 0-100 score and the class of every segment per scenario, and
    writes every output planners need (see :mod:`pipeline.walkability.outputs`).

Destinations are PLATEAU buildings classed by ``uro:usage`` (:data:`USAGE_CLASSES`), one
destination point per started ``floor_area_per_destination_m2`` of floor area (footprint x
storeys), so a department store counts more than a kiosk. cityseer counts destinations,
it cannot weight them; repeated points at the building's centroid do that.

Comfort weighting: a segment's perceived length factor is ``shade_share * shade_weight +
(1 - shade_share) * sun_weight`` with the season's weights (hot season: a metre in the sun
costs more; winter: less). Comfort access is scaled by the *plain* access reference, so
in summer a sunny street scores lower than its plain access would give it.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipeline.geo import meshcode
from pipeline.geo.atomic import atomic_path
from pipeline.geo.raster import Grid
from pipeline.records import StageResult
from pipeline.walkability.scores import DEFAULT_WEIGHTS

log = logging.getLogger(__name__)

#: PLATEAU ``Building_usage`` code -> destination classes. Mixed-use buildings (shop +
#: housing) count for both classes, their floor area split evenly; 454 (other) and 461
#: (unknown) are no destination.
USAGE_CLASSES: dict[str, tuple[str, ...]] = {
    "401": ("office",),                       # 業務施設
    "402": ("commercial",),                   # 商業施設
    "403": ("commercial",),                   # 宿泊施設 (hotels: shops, restaurants, visitors)
    "404": ("commercial",),                   # 商業系複合施設
    "411": ("residential",),                  # 住宅
    "412": ("residential",),                  # 共同住宅
    "413": ("commercial", "residential"),     # 店舗等併用住宅
    "414": ("commercial", "residential"),     # 店舗等併用共同住宅
    "415": ("residential", "industrial"),     # 作業所併用住宅
    "421": ("public",),                       # 官公庁施設
    "422": ("education_medical",),            # 文教厚生施設 (schools, hospitals, welfare)
    "431": ("transport",),                    # 運輸倉庫施設
    "441": ("industrial",),                   # 工場
    "451": ("industrial",),                   # 農林漁業用施設
    "452": ("industrial",),                   # 供給処理施設
    "453": ("public",),                       # 防衛施設
}
DESTINATION_CLASSES = ("commercial", "office", "public", "education_medical", "residential",
                       "transport", "industrial")


class WalkabilityStage(BaseModel):
    """``stages.walkability``: streets, destinations, comfort weights and scoring."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    streets: list[Path] = Field(default_factory=list, description=(
        "street centre lines: OSM XML (.osm, osmnx 'walk' filter applied) or a line layer "
        "(GeoPackage, GeoParquet, GeoJSON; columns highway, width_m optional)"))
    districts: Path | None = Field(None, description="polygons for the per-district summary")
    district_name: str = Field("name", description="column of the districts' names")
    distances: list[int] = Field([400, 800], description="walking thresholds (m)")
    access_classes: list[str] = Field(
        ["commercial", "office", "public", "education_medical"],
        description="destination classes whose access counts in the score")
    floor_area_per_destination_m2: float = Field(500.0, gt=0, description=(
        "one destination per started this much floor area"))
    sun_weight: dict[str, float] = Field(
        default_factory=lambda: {"heat_day": 1.6, "summer_solstice": 1.4, "equinox": 1.0,
                                 "winter_solstice": 0.8},
        description="season -> perceived length of a metre in the sun (1 = plain)")
    shade_weight: dict[str, float] = Field(
        default_factory=dict, description="season -> perceived length of a metre in shade (default 1)")
    hot_seasons: list[str] = Field(["summer_solstice", "heat_day"], description=(
        "seasons in which crowded unshaded streets are 'used but uncomfortable'"))
    weights: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_WEIGHTS),
                                      description="score weight per component")
    allocation: Literal["floor_area", "length"] = Field(
        "floor_area", description="how mesh populations are spread on streets")
    day_type: Literal["weekday", "holiday", "all"] = Field("weekday", description=(
        "people-flow day type used for the classes"))
    walkable_score: float = Field(50.0, ge=0, le=100, description="score from which a street is walkable")
    unshaded_below: float = Field(0.3, ge=0, le=1, description="shade share below which a street is unshaded")
    raster_resolution_m: float = Field(5.0, gt=0, le=50, description="cell size of the score COGs")
    max_assign_m: float = Field(100.0, gt=0, description="how far a destination may be from its street")
    maps: bool = Field(True, description="PNG maps and the HTML report")

    @field_validator("streets", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, (str, Path)) else value

    @field_validator("weights")
    @classmethod
    def _known_components(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = set(value) - set(DEFAULT_WEIGHTS)
        if unknown:
            raise ValueError(f"unknown score component(s) {sorted(unknown)}; known: {list(DEFAULT_WEIGHTS)}")
        if any(w < 0 for w in value.values()) or not any(w > 0 for w in value.values()):
            raise ValueError("weights must be >= 0 with at least one > 0")
        return value

    @field_validator("distances")
    @classmethod
    def _distances(cls, value: list[int]) -> list[int]:
        if not value or any(d <= 0 for d in value):
            raise ValueError("distances must be positive metres")
        return sorted(set(value))

    @field_validator("sun_weight", "shade_weight")
    @classmethod
    def _positive(cls, value: dict[str, float]) -> dict[str, float]:
        bad = {k: v for k, v in value.items() if not v > 0}
        if bad:
            raise ValueError(f"weights must be > 0, got {bad}")
        return value

    def resolve_paths(self, base: Path) -> "WalkabilityStage":
        """Make the street and district paths relative to ``base`` (the YAML's folder)."""
        def fix(p: Path) -> Path:
            return p if p.is_absolute() else (base / p).resolve()
        self.streets = [fix(p) for p in self.streets]
        self.districts = fix(self.districts) if self.districts else None
        return self


# -- inputs ------------------------------------------------------------------------------
def tile_region(tile: str, crs: str, reach_m: float) -> tuple[shapely.Geometry, shapely.Geometry]:
    """(tile polygon, region polygon) in ``crs``: the region is the tile and its eight
    neighbours, grown so that it reaches at least ``reach_m`` beyond the tile."""
    codes = meshcode.neighbours(int(tile), include_self=True)
    cells = meshcode.to_polygons(codes, crs=crs, densify_deg=1 / 3600)
    tile_polygon = cells.loc[int(tile)] if int(tile) in cells.index else cells.iloc[0]
    region = shapely.union_all(cells.to_numpy())
    x0, y0, x1, y1 = tile_polygon.bounds
    spare = min(region.bounds[2] - x1, x0 - region.bounds[0], region.bounds[3] - y1, y0 - region.bounds[1])
    if spare < reach_m:
        region = region.buffer(reach_m - spare, join_style="mitre")
    return tile_polygon, region


def read_street_lines(paths: list[Path], crs: str, region: shapely.Geometry | None = None) -> gpd.GeoDataFrame:
    """Street lines of every source in ``crs``, with ``highway`` and ``width_m`` (NaN if unknown).

    OSM XML goes through :func:`~pipeline.walkability.network.from_osm_xml` (walk filter,
    junction-to-junction segments); line layers are read as they are. Only lines meeting
    ``region`` are kept (whole, not clipped).
    """
    from pipeline.walkability.network import from_osm_xml

    frames = []
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: street file not found")
        if path.suffix.lower() in (".osm", ".xml"):
            lines = from_osm_xml(path, crs).segments
        elif path.suffix.lower() in (".parquet", ".geoparquet"):
            lines = gpd.read_parquet(path)
        else:
            mask = gpd.GeoSeries([region], crs=crs) if region is not None else None
            lines = gpd.read_file(path, bbox=mask)
        if lines.crs is None:
            raise ValueError(f"{path}: the street layer has no CRS")
        lines = lines.to_crs(crs)
        kinds = set(lines.geometry.geom_type.dropna())
        if kinds - {"LineString", "MultiLineString"}:
            raise ValueError(f"{path}: street layer must hold lines, found {sorted(kinds)}")
        width = (pd.to_numeric(lines[c], errors="coerce") for c in ("width_m", "width") if c in lines)
        frame = gpd.GeoDataFrame({
            "highway": lines["highway"].astype(str) if "highway" in lines else "unclassified",
            "width_m": next(width, np.nan)}, geometry=lines.geometry.to_numpy(), crs=crs)
        if region is not None:
            frame = frame[frame.intersects(region)]
        frames.append(frame)
        log.info("streets %s: %d lines in the region", path, len(frame))
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=crs)


def read_tables(records: list[dict], feature_type: str, crs: str) -> gpd.GeoDataFrame:
    """Concatenated ingest tables of one feature type (empty frame when none)."""
    frames = [gpd.read_parquet(r["outputs"]["table"]) for r in records
              if r.get("status", "done") == "done" and r.get("feature_type") == feature_type]
    frames = [f for f in frames if len(f)]
    if not frames:
        return gpd.GeoDataFrame(geometry=[], crs=crs)
    table = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry")
    return table.to_crs(crs) if table.crs is not None else table.set_crs(crs)


def building_destinations(buildings: gpd.GeoDataFrame, *, floor_area_per_destination_m2: float = 500.0
                          ) -> gpd.GeoDataFrame:
    """Destination points from PLATEAU buildings: one per started unit of floor area per class.

    Returns points at footprint centroids with ``class`` and ``gml_id``; index unique.
    """
    from pipeline.peopleflow.allocation import floor_area_m2

    if not len(buildings) or "usage" not in buildings:
        return gpd.GeoDataFrame({"class": [], "gml_id": []}, geometry=[], crs=buildings.crs)
    area = floor_area_m2(buildings)
    usage = buildings["usage"].astype(str).str.strip().to_numpy()
    centroids = buildings.geometry.centroid.to_numpy()
    ids = buildings["gml_id"].astype(str).to_numpy() if "gml_id" in buildings else np.arange(len(buildings)).astype(str)
    rows_class, rows_geom, rows_id = [], [], []
    for i in range(len(buildings)):
        classes = USAGE_CLASSES.get(usage[i], ())
        for cls in classes:
            n = int(max(1, np.ceil(area[i] / len(classes) / floor_area_per_destination_m2)))
            rows_class += [cls] * n
            rows_geom += [centroids[i]] * n
            rows_id += [ids[i]] * n
    index = pd.Index([f"d{k}" for k in range(len(rows_class))])
    return gpd.GeoDataFrame({"class": rows_class, "gml_id": rows_id}, geometry=rows_geom,
                            crs=buildings.crs, index=index)


def road_widths(segments: gpd.GeoDataFrame, roads: gpd.GeoDataFrame) -> np.ndarray:
    """Width (m) of the PLATEAU road polygon under each segment's midpoint (NaN where none)."""
    if not len(roads) or "road_structure_width" not in roads:
        return np.full(len(segments), np.nan)
    mid = gpd.GeoDataFrame(geometry=shapely.line_interpolate_point(
        segments.geometry.to_numpy(), 0.5, normalized=True), crs=segments.crs,
        index=pd.RangeIndex(len(segments)))
    polys = roads[["road_structure_width", "geometry"]].copy()
    polys["road_structure_width"] = pd.to_numeric(polys["road_structure_width"], errors="coerce")
    polys = polys[polys["road_structure_width"].notna()]
    hits = gpd.sjoin(mid, polys, how="left", predicate="within")
    return hits.groupby(level=0)["road_structure_width"].max().reindex(range(len(segments))).to_numpy(float)


def mosaic(paths: list[str], crs: str) -> tuple[np.ndarray, Grid] | None:
    """Mosaic of single-band float rasters on a common grid (NaN outside), or None."""
    from rasterio.merge import merge

    if not paths:
        return None
    data, transform = merge(list(paths), nodata=np.nan)
    return data[0], Grid(transform.c, transform.f, transform.a, data.shape[2], data.shape[1], crs)


def _midpoint_meshcodes(segments: gpd.GeoDataFrame, level: int = 3) -> np.ndarray:
    mid = gpd.GeoSeries(shapely.line_interpolate_point(segments.geometry.to_numpy(), 0.5, normalized=True),
                        crs=segments.crs).to_crs("EPSG:6668")
    return meshcode.encode(mid.y.to_numpy(), mid.x.to_numpy(), level)


def segment_flow(segments: gpd.GeoDataFrame, flow: pd.DataFrame, buildings: gpd.GeoDataFrame, *,
                 method: str, region: shapely.Geometry) -> pd.DataFrame:
    """People on each segment per scenario (columns), from mesh populations (NaN: unknown)."""
    from pipeline.peopleflow.allocation import allocate, allocation_weights

    out = pd.DataFrame(index=segments.index)
    if flow is None or flow.empty:
        return out
    parts = []
    lonlat = gpd.GeoSeries([region], crs=segments.crs).to_crs("EPSG:6668").iloc[0]
    for level, values in flow.groupby(level="level"):
        values = values.droplevel("level")
        centres = meshcode.centre(values.index.to_numpy())
        inside = shapely.contains_xy(lonlat, centres[1], centres[0])
        values = values[inside]
        if values.empty:
            continue
        weights = allocation_weights(segments, values.index.to_numpy(), level=int(level),
                                     buildings=buildings if len(buildings) else None,
                                     method=method if len(buildings) else "length")
        people = allocate(values, weights, segments.index)
        # a street in a cell with a known population that got none of it has nobody on
        # it (no building sends people there); NaN stays for streets of unknown cells
        mid_cells = _midpoint_meshcodes(segments, int(level))
        for name in people.columns:
            known = values[name].dropna().index.to_numpy()
            people.loc[np.isin(mid_cells, known) & people[name].isna().to_numpy(), name] = 0.0
        parts.append(people)
    if not parts:
        return out
    total = parts[0]
    for part in parts[1:]:  # different levels cover different scenarios (see read_flow)
        total = total.combine_first(part)
    return total.reindex(segments.index)


# -- the tile task -------------------------------------------------------------------------
def walkability_tile(tile: str, crs: str, out_dir: str, *, settings: WalkabilityStage, scenarios: list,
                     shadow: list[dict] = (), surface: list[dict] = (), ingest: list[dict] = (),
                     peopleflow: list[dict] = ()) -> StageResult:
    """Raw walkability metrics of the segments of one tile (see the module docstring)."""
    from pipeline.peopleflow.stage import read_flow
    from pipeline.geo.raster import read_raster
    from pipeline.walkability.accessibility import (accessibility, assign_destinations,
                                                    comfort_imp_factor, land_use_mix)
    from pipeline.walkability.components import intersection_density, shade_share, slope_percent
    from pipeline.walkability.network import from_lines

    start = time.perf_counter()
    tile_polygon, region = tile_region(tile, crs, max(settings.distances))
    lines = read_street_lines(settings.streets, crs, region)
    if lines.empty:
        log.warning("walkability %s: no streets in the tile's region", tile)
        return StageResult({}, {"segments": 0})
    network = from_lines(lines)
    segments = network.segments
    segments["meshcode"] = _midpoint_meshcodes(segments)
    in_tile = segments["meshcode"].to_numpy() == int(tile)
    if not in_tile.any():
        return StageResult({}, {"segments": 0})

    buildings = read_tables(ingest, "bldg", crs)
    roads = read_tables(ingest, "tran", crs)
    destinations = building_destinations(buildings, floor_area_per_destination_m2=settings.floor_area_per_destination_m2)
    classes = [c for c in DESTINATION_CLASSES if c in set(destinations["class"])]
    distances = settings.distances
    static = pd.DataFrame(index=segments.index)
    data_map = None
    if classes:
        data_map = assign_destinations(network, destinations, max_assign_m=settings.max_assign_m)
        static = static.join(accessibility(network, destinations, "class", classes=classes,
                                           distances=distances, data_map=data_map))
        static = static.join(land_use_mix(network, destinations, "class", distances=distances,
                                          data_map=data_map))
    static["intersection_density"] = intersection_density(network, radius_m=400.0)
    width = road_widths(segments, roads)
    static["width_m"] = np.where(np.isfinite(width), width, segments["width_m"].to_numpy(float))
    static["width_source"] = np.where(np.isfinite(width), "plateau_tran",
                                      np.where(segments["width_m"].notna(), "streets", "unknown"))
    terrain = [r for r in surface if r.get("status", "done") == "done" and r.get("tile") == tile]
    if terrain:
        heights, grid, nodata = read_raster(terrain[0]["outputs"]["terrain"])
        static = static.join(slope_percent(network, heights, grid, nodata=nodata))
    else:
        static["slope_mean_pct"] = static["slope_max_pct"] = np.nan

    flow = None
    if peopleflow:
        done = [r for r in peopleflow if r.get("status", "done") == "done"]
        flow = read_flow(done[0], settings.day_type) if done else None
    people = segment_flow(segments, flow, buildings, method=settings.allocation, region=region)

    done_shadow = [r for r in shadow if r.get("status", "done") == "done"]
    rows = []
    for scenario in scenarios:
        paths = [r["outputs"]["shade_fraction"][scenario.name] for r in done_shadow
                 if scenario.name in r["outputs"].get("shade_fraction", {})]
        shade_raster = mosaic(paths, crs)
        share = (shade_share(network, shade_raster[0], shade_raster[1], nodata=np.nan)
                 if shade_raster else np.full(len(segments), np.nan))
        sun_w = settings.sun_weight.get(scenario.season.name, 1.0)
        shade_w = settings.shade_weight.get(scenario.season.name, 1.0)
        factor = comfort_imp_factor(share, sun_w, shade_w)
        row = pd.DataFrame({"scenario": scenario.name, "shade_share": share, "imp_factor": factor},
                           index=segments.index)
        if classes:
            plain = np.allclose(factor, 1.0)
            comfort = (static[[c for c in static if c.startswith(("access_", "nearest_"))]] if plain
                       else accessibility(network, destinations, "class", classes=classes,
                                          distances=distances, imp_factor=factor, data_map=data_map))
            row = row.join(comfort.rename(columns=lambda c: c.replace("access_", "access_comfort_", 1)
                                          .replace("nearest_", "nearest_comfort_", 1)))
        row["people"] = people[scenario.name] if scenario.name in people else np.nan
        rows.append(row[in_tile])

    ids = pd.Index([f"{tile}:{i}" for i in segments.index[in_tile]], name="segment_id")
    base = segments.loc[in_tile, ["u", "v", "highway", "length_m", "meshcode", "geometry"]]
    table = gpd.GeoDataFrame(base.join(static.loc[in_tile]).set_axis(ids), geometry="geometry", crs=crs)
    table.insert(0, "tile", tile)
    per_scenario = pd.concat([r.set_axis(ids) for r in rows]).reset_index()
    folder = Path(out_dir)
    outputs = {"segments": str(folder / f"{tile}_segments.parquet"),
               "scenarios": str(folder / f"{tile}_scenarios.parquet")}
    with atomic_path(outputs["segments"]) as tmp:
        table.reset_index().to_parquet(tmp, index=False)
    with atomic_path(outputs["scenarios"]) as tmp:
        per_scenario.to_parquet(tmp, index=False)
    counts = {"segments": int(in_tile.sum()), "network_segments": len(segments),
              "destinations": len(destinations), "scenarios": len(scenarios),
              "shade_rasters": int(sum(bool(r["outputs"].get("shade_fraction")) for r in done_shadow))}
    log.info("walkability %s: %d segments (network %d, %d destinations), %d scenarios, %.1f s",
             tile, counts["segments"], len(segments), len(destinations), len(scenarios),
             time.perf_counter() - start)
    return StageResult(outputs, counts)


# -- scoring over the run -----------------------------------------------------------------
def score_scenario(segments: gpd.GeoDataFrame, rows: pd.DataFrame, scenario, settings: WalkabilityStage,
                   n_classes: int) -> gpd.GeoDataFrame:
    """Components, composite score and class of every segment for one scenario.

    ``segments`` are the static metrics of the whole run (index ``segment_id``); ``rows``
    the scenario's rows of the per-scenario tables.
    """
    from pipeline.walkability.scores import classify, components, composite

    table = segments.join(rows.set_index("segment_id").drop(columns="scenario"), how="left")
    mix = f"mix_hill_q0_{max(settings.distances)}"
    comps = components(table, access_columns=[], mix_column=mix if mix in table else None,
                       n_classes=n_classes, shade_column="shade_share")
    scaled = []
    for cls in settings.access_classes:
        for d in settings.distances:
            plain, comfort = f"access_{cls}_{d}", f"access_comfort_{cls}_{d}"
            if plain not in table or comfort not in table:
                continue
            ref = np.nanpercentile(table[plain], 95) if table[plain].notna().any() else np.nan
            # the plain reference: a sunny summer street loses access it has on paper
            scaled.append(np.clip(table[comfort] / ref, 0, 1) if ref > 0 else table[comfort] * 0.0)
    comps["c_access"] = pd.concat(scaled, axis=1).mean(axis=1) if scaled else np.nan
    table = table.join(comps)
    table["score"] = composite(comps, settings.weights).clip(0, 100)
    table["people_per_100m"] = table["people"] / table["length_m"] * 100.0
    hot = scenario.season.name in settings.hot_seasons
    table["class"] = classify(table["score"], table["people_per_100m"], table["shade_share"],
                              hot_season=hot, walkable_score=settings.walkable_score,
                              unshaded_below=settings.unshaded_below)
    # no flow for this scenario (e.g. MLIT has no morning values): use is unknown, not low
    table.loc[table["people"].isna(), "class"] = "flow_unknown"
    table["scenario"] = scenario.name
    table["season"] = scenario.season.name
    table["slot"] = scenario.slot.name
    return gpd.GeoDataFrame(table, geometry="geometry", crs=segments.crs)


def walkability_summary(out_dir: str, crs: str, *, settings: WalkabilityStage, scenarios: list,
                        walkability: list[dict] = (), ingest: list[dict] = (),
                        peopleflow: list[dict] = (), shadow: list[dict] = ()) -> StageResult:
    """Scores, classes and every output per scenario (see :mod:`pipeline.walkability.outputs`)."""
    from pipeline.walkability import outputs as out

    start = time.perf_counter()
    done = [r for r in walkability if r.get("status", "done") == "done" and r["outputs"].get("segments")]
    if not done:
        raise ValueError("walkability_summary: no tile produced street segments")
    segments = gpd.GeoDataFrame(pd.concat([gpd.read_parquet(r["outputs"]["segments"]) for r in done],
                                          ignore_index=True), geometry="geometry").set_index("segment_id")
    per_scenario = pd.concat([pd.read_parquet(r["outputs"]["scenarios"]) for r in done], ignore_index=True)
    n_classes = len([c for c in segments if c.startswith("access_") and c.endswith(f"_{settings.distances[0]}")])
    districts = out.read_districts(settings.districts, settings.district_name, crs) if settings.districts else None
    buildings = read_tables(ingest, "bldg", crs)
    folder = Path(out_dir)
    scored = {}
    for scenario in scenarios:
        rows = per_scenario[per_scenario["scenario"] == scenario.name]
        scored[scenario.name] = score_scenario(segments, rows, scenario, settings, n_classes)
    outputs = out.write_outputs(folder, scored, scenarios, settings=settings, crs=crs,
                                districts=districts, buildings=buildings, peopleflow=peopleflow,
                                shadow=shadow)
    counts = {"segments": len(segments), "scenarios": len(scored),
              "mean_score": {name: round(float(np.average(t["score"].fillna(0), weights=t["length_m"])), 2)
                             for name, t in scored.items()}}
    log.info("walkability summary: %d segments x %d scenarios, %d outputs, %.1f s", len(segments),
             len(scored), len(outputs), time.perf_counter() - start)
    return StageResult(outputs, counts)


# -- planning --------------------------------------------------------------------------------
def _done_keys(records: dict[str, dict], stage: str) -> list[str]:
    return [k for k, r in records.items() if r.get("stage") == stage and r.get("status") == "done"]


def walkability_tasks(definition, plan, manifest, records: dict[str, dict], output: Path) -> list:
    """One ``walkability`` task per tile; upstream: ingest (bldg, tran) of the tile and its
    neighbours, shadow of the same, surface of the tile, and the peopleflow task."""
    from pipeline.plan import hash_file
    from pipeline.runner import Task

    settings = definition.stages.walkability
    if not settings.enabled or not settings.streets:
        return []
    scenarios = definition.stages.shadow.scenarios()
    hashes = [hash_file(manifest, p) for p in settings.streets]
    tasks = []
    for tile in plan.tiles:
        meshes = {str(c) for c in meshcode.neighbours(int(tile), include_self=True)}
        ingest = [k for k in _done_keys(records, "ingest")
                  if records[k].get("feature_type") in ("bldg", "tran")
                  and (records[k].get("mesh_code") or "") in meshes]
        shadow = [k for k in _done_keys(records, "shadow") if records[k].get("tile") in meshes]
        surface = [k for k in _done_keys(records, "surface") if records[k].get("tile") == tile]
        tasks.append(Task(
            stage="walkability", tile=tile, func=walkability_tile,
            args=(tile, plan.crs, str(Path(output) / "walkability" / "tiles")),
            kwargs={"settings": settings, "scenarios": scenarios},
            params={"settings": settings.model_dump(mode="json"), "crs": plan.crs,
                    "scenarios": [s.name for s in scenarios]},
            input_hashes=hashes,
            upstream={"ingest": ingest, "shadow": shadow, "surface": surface,
                      "peopleflow": _done_keys(records, "peopleflow")}))
    return tasks


def walkability_summary_tasks(definition, plan, manifest, records: dict[str, dict], output: Path) -> list:
    """The single ``walkability_summary`` task (after every ``walkability`` tile)."""
    from pipeline.plan import hash_file
    from pipeline.runner import Task

    settings = definition.stages.walkability
    tiles = _done_keys(records, "walkability")
    if not settings.enabled or not tiles:
        return []
    scenarios = definition.stages.shadow.scenarios()
    ingest = [k for k in _done_keys(records, "ingest") if records[k].get("feature_type") == "bldg"]
    return [Task(stage="walkability_summary", tile="all", func=walkability_summary,
                 args=(str(Path(output) / "walkability"), plan.crs),
                 kwargs={"settings": settings, "scenarios": scenarios},
                 params={"settings": settings.model_dump(mode="json"), "crs": plan.crs,
                         "scenarios": [s.name for s in scenarios]},
                 input_hashes=[hash_file(manifest, settings.districts)] if settings.districts else [],
                 upstream={"walkability": tiles, "ingest": ingest, "shadow": _done_keys(records, "shadow"),
                           "peopleflow": _done_keys(records, "peopleflow")})]
