"""Everything the planners' viewer shows, written next to a run: ``viewer.json`` and its layers.

:func:`write_viewer` is the one entry point (the ``viewer`` stage calls it last in a run), given
what the run made (:class:`ViewerInputs`) and how to write (:class:`ViewerOptions`); it writes
a section at a time (streets, globe, colourings, imagery, flow, tilesets, areas, guide, manifest).
Under ``out_dir`` (normally ``<output>/viewer/``) it writes:

===============================  ==============================================================
``viewer.json``                  what exists: scenarios (season, slot, date, local times),
                                 layers with URLs relative to it, legends (domain, palette,
                                 units, words in Japanese and English), component weights,
                                 districts, the run's name and CRS; why a missing layer is
                                 missing. The app reads nothing else to learn what exists.
``streets/tileset.json``         scored street segments as ground-hugging ribbons
                                 (:mod:`pipeline.tiles3d.streets`)
``terrain/heights.f32``          the globe surface: ellipsoidal ground heights, float32
                                 little-endian, rows north to south (:mod:`.terrain_heights`)
``imagery/shade_hours/<s>/``     shade hours of each scenario as XYZ PNG tiles
``imagery/sun_hours/<season>/``  sun hours of each season (:mod:`pipeline.viewer.imagery`)
``flow/<s>/tileset.json``        people-flow frames per mesh cell (:mod:`.flow_prisms`)
``areas/areas.geojson``,         district and mesh outlines and their summary rows
``areas/summary.json``           (:mod:`pipeline.viewer.areas`)
``zoning/use_districts.geojson`` the use districts (用途地域) of the run's ``urf`` tables, with
                                 labels in both languages and rates (:mod:`.zoning`)
``priority/priority.json``       where to act first: each scenario's ranked segments with
                                 their midpoint and line (:func:`write_priority_list`)
``report.html``                  the run's printed report, copied beside the app
``index.html``, ``src/``, ...   the app, and CesiumJS under ``cesium/`` (:mod:`.app`)
===============================  ==============================================================

The other 3D Tiles layers (buildings, trees, terrain, roads, LiDAR points) are the run's
own tilesets, referenced by relative URL: everything must sit inside the run's output
folder, which ``machi view`` serves and a city can copy to any static web server.
"""
from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from pipeline.geo.scenarios import DESIGN_HEAT_DAY, OBSERVED_HOT_DAYS, OBSERVED_RADIATION
from tiles.atomic import write_bytes_atomic, write_text_atomic

from . import legends as legends

log = logging.getLogger(__name__)

FORMAT = "machi-viewer/1"
LAYER_ORDER = ("buildings", "trees", "veg_lidar", "terrain3d", "roads", "lidar", "streets", "shade_hours", "sun_hours",
               "flow", "districts", "use_districts", "measures")
#: Run tileset keys (PLATEAU modules) -> viewer layer ids; ``veg_lidar`` (the trees the
#: ``trees`` stage found in the LiDAR, written as PLATEAU vegetation) keeps its key.
TILESET_LAYERS = {"bldg": "buildings", "veg": "trees", "dem": "terrain3d", "tran": "roads", "lidar": "lidar"}
HIDDEN_BY_DEFAULT = {"veg_lidar", "terrain3d", "roads", "lidar", "sun_hours", "flow", "use_districts"}
UNAVAILABLE = {
    "flow": {"en": "this run has no people-flow data", "ja": "この実行には人流データがありません"},
    "lidar": {"en": "this run has no LiDAR points", "ja": "この実行には LiDAR 点群がありません"},
    "veg_lidar": {"en": "this run found no trees in LiDAR (stages.trees)",
                  "ja": "この実行では LiDAR から樹木を検出していません(stages.trees)"},
    "people_per_100m": {"en": "no people-flow data", "ja": "人流データなし"},
    "use_districts": {"en": "this run has no use districts (PLATEAU urf)",
                      "ja": "この実行には用途地域(PLATEAU urf)のデータがありません"},
    "default": {"en": "not in this run", "ja": "この実行には含まれていません"},
}


def _url(path: str | Path, base: Path) -> str:
    """``path`` relative to ``base``, with forward slashes (a URL path)."""
    return Path(os.path.relpath(os.path.abspath(path), os.path.abspath(base))).as_posix()


def _season_label(season: str, weather: Mapping[str, Any] | None) -> dict[str, str]:
    """The season's {en, ja} name; a design heat day says it is one, with its maximum."""
    if weather and weather.get("kind") == DESIGN_HEAT_DAY:
        return dict(weather["label"])
    return legends.words(season, legends.SEASON_LABELS)


def _weather_words(kind: str | None, radiation: str | None, top_c: float) -> tuple[dict, dict]:
    """{en, ja} of a season's weather (its kind in the run definition, :mod:`pipeline.geo.scenarios`)
    and of its radiation; a design case says it is one."""
    day = {DESIGN_HEAT_DAY: {"en": f"design heat day (max {top_c:.1f} °C)", "ja": f"設計猛暑日(最高 {top_c:.1f} °C)"},
           OBSERVED_HOT_DAYS: {"en": f"observed hot days, composite (max {top_c:.1f} °C)",
                               "ja": f"観測された猛暑日の合成(最高 {top_c:.1f} °C)"}}.get(
        kind, {"en": f"the weather file's day (normals or observed days, max {top_c:.1f} °C)",
               "ja": f"気象ファイルの代表日(平年値または観測日、最高 {top_c:.1f} °C)"})
    sky = ({"en": "observed global radiation (Erbs split)", "ja": "観測日射量(Erbs 分離)"}
           if radiation == OBSERVED_RADIATION else {"en": "clear sky (design case)", "ja": "快晴(設計条件)"})
    return day, sky


def scenario_entries(scenarios: Sequence[Mapping[str, Any]], timezone: str) -> list[dict[str, Any]]:
    """Scenarios with ISO 8601 local start, middle and end times and the slot length (h).

    Each input mapping has ``name``, ``season``, ``slot``, ``date`` (YYYY-MM-DD),
    ``start`` and ``end`` (HH:MM, local time in ``timezone``).
    """
    zone = ZoneInfo(timezone)
    out = []
    for s in scenarios:
        try:
            start = datetime.fromisoformat(f"{s['date']}T{s['start']}").replace(tzinfo=zone)
            end = datetime.fromisoformat(f"{s['date']}T{s['end']}").replace(tzinfo=zone)
        except (KeyError, ValueError) as error:
            raise ValueError(f"scenario {s.get('name', s)!r}: needs date YYYY-MM-DD, start and end HH:MM ({error})") from None
        if end <= start:
            raise ValueError(f"scenario {s['name']!r}: end {s['end']} is not after start {s['start']}")
        middle = start + (end - start) / 2
        out.append({"name": str(s["name"]), "season": str(s["season"]), "slot": str(s["slot"]), "date": str(s["date"]),
                    "start": str(s["start"]), "end": str(s["end"]), "start_time": start.isoformat(),
                    "mid_time": middle.isoformat(), "end_time": end.isoformat(),
                    "hours": (end - start) / timedelta(hours=1)})
    return out


def tileset_property_names(tileset: str | Path) -> set[str]:
    """Property names (original, as in the schema's ``name``) of a tileset's first content."""
    from tiles.gltf import read_glb
    from tiles.validate import content_paths

    names: set[str] = set()
    for path in content_paths(tileset)[:1]:
        gltf, _ = read_glb(path.read_bytes())
        classes = gltf.get("extensions", {}).get("EXT_structural_metadata", {}).get("schema", {}).get("classes", {})
        for cls in classes.values():
            names |= {p.get("name", pid) for pid, p in cls.get("properties", {}).items()}
    return names


#: What a flow cell's population is (the about panel, the legend and its label name it).
FLOW_BASIS = {
    "basis": {"en": "people present (滞在人口) in the 1 km mesh cell, mean of the slot's hours",
              "ja": "1 km メッシュ内の滞在人口(時間帯の各時刻の平均)"},
    "publisher": {"en": "MLIT nationwide people-flow open data", "ja": "国土交通省「全国の人流オープンデータ」"},
}
#: Columns of the app's priority list (priority.json ``columns``), from the run's priority table.
PRIORITY_COLUMNS = ("rank", "segment_id", "name", "highway", "length_m", "people_per_100m", "hours_utci_above_32",
                    "shade_share", "person_hours_heat", "priority")


def write_priority_list(path: Path, priority: str | Path, streets: Mapping[str, str | Path], crs: str) -> Path:
    """The app's list of where to act first: per scenario the rows of the run's priority
    table (:func:`pipeline.walkability.priority.priority_table`) with each segment's
    midpoint and line in lon/lat (EPSG:6668, degrees) to fly to and outline.

    JSON ``{"columns": [...], "scenarios": {name: [[...row...], ...]}, "segments": {id:
    {"mid": [lon, lat], "line": [[lon, lat], ...]}}}``; numbers rounded (1e-7° ≈ 1 cm, 0.01 of a value).
    """
    import geopandas as gpd

    table = pd.read_parquet(priority)
    ids = sorted(set(table["segment_id"].astype(str)))
    geometry = {}
    for source in streets.values():  # the geometry is the same in every scenario's table
        frame = gpd.read_parquet(source, columns=["segment_id", "geometry"])
        frame = frame[frame["segment_id"].astype(str).isin(ids)].to_crs("EPSG:6668")
        for sid, line in zip(frame["segment_id"].astype(str), frame.geometry):
            mid = line.interpolate(0.5, normalized=True)
            geometry[sid] = {"mid": [round(mid.x, 7), round(mid.y, 7)],
                             "line": [[round(x, 7), round(y, 7)] for x, y in line.coords]}
        break
    rows: dict[str, list] = {}
    for scenario, part in table.groupby("scenario", sort=False):
        rows[str(scenario)] = [[_json_value(row[c]) for c in PRIORITY_COLUMNS] for _, row in part.iterrows()]
    write_text_atomic(path, json.dumps({"columns": list(PRIORITY_COLUMNS), "scenarios": rows, "segments": geometry},
                                       ensure_ascii=False, separators=(",", ":")))
    return path


def _json_value(value: Any) -> Any:
    if isinstance(value, (float, np.floating)):
        return round(float(value), 2) if math.isfinite(value) else None
    if isinstance(value, (np.integer,)):
        return int(value)
    return value


def _raster_max(paths: Sequence[str | Path]) -> float:
    """The largest value of the rasters, read from their smallest overview."""
    import rasterio

    best = 0.0
    for path in paths:
        with rasterio.open(path) as src:
            factor = max(1, min(src.width, src.height) // 64)
            data = src.read(1, out_shape=(max(1, src.height // factor), max(1, src.width // factor)), masked=True)
            if data.count():
                best = max(best, float(data.max()))
    return best


def _usages(building_tables: Sequence[str | Path]) -> list[str]:
    import pandas as pd
    import pyarrow.parquet as pq

    counts: dict[str, int] = {}
    for path in building_tables:
        names = pq.read_schema(path).names
        column = "usage_label" if "usage_label" in names else "usage" if "usage" in names else None
        if column is None:
            continue
        values = pd.read_parquet(path, columns=[column])[column].dropna().astype(str)
        for value, n in values.value_counts().items():
            counts[value] = counts.get(value, 0) + int(n)
    return [u for u, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


@dataclass(frozen=True)
class ViewerInputs:
    """What a run made that the viewer shows (the parameters of :func:`write_viewer`).

    Attributes
    ----------
    name, crs : str
        The run's name and metric CRS (``EPSG:6677``).
    scenarios : sequence of mapping
        ``{name, season, slot, date: YYYY-MM-DD, start: HH:MM, end: HH:MM}`` in run order
        (``weather_kind``, ``radiation_kind``: the season's weather in the run definition).
    streets : mapping
        Scenario name -> ``walkability/segments_<scenario>.parquet``.
    shade, sun_hours : mapping
        Scenario name -> its ``shade_hours`` COGs (one per tile); season -> its ``sun_hours`` COGs.
    terrain : sequence of path
        The surface stage's ``terrain`` COGs (orthometric m); without them the ground is
        ``ViewerOptions.ground_elevation_m`` (+ geoid).
    flow : path, optional
        ``peopleflow/flow_by_mesh.parquet``; None when the run has no people flow.
    flow_sources : sequence of mapping
        The people-flow sources (``source``, ``kind``) the about panel names.
    day_type : str
        People-flow day type shown (``weekday``).
    districts, district_name : path, str
        District polygons and their name column (as in the walkability settings).
    district_summary, mesh_summary : path, optional
        ``walkability/summary_by_district.parquet`` and ``summary_by_mesh.parquet``.
    tilesets : mapping
        Layer -> ``tileset.json`` of the run's other 3D Tiles: PLATEAU module names
        (``bldg``, ``veg``, ``dem``, ``tran``) or ``lidar``.
    weights : mapping, optional
        Walkability weight per component (``access``, ``mix``, ...) in the score's weighted mean.
    thermal_rule : str, optional
        ``"gate"`` when ``c_thermal`` multiplies that mean (the app shows "×" for its
        weight), ``"weight"`` when it is one of the weighted components, None without UTCI.
    building_tables : sequence of path
        Ingest building tables, for the categories of "colour buildings by usage".
    use_districts : sequence of path
        Ingest tables of ``urf`` files; their ``urf:UseDistrict`` rows become the use
        district layer (none: the layer is listed as unavailable).
    season_weather : sequence of mapping, optional
        Per season (``season``, ``weather_source``, ``radiation_source``,
        ``day_max_air_temperature_c``: :func:`pipeline.thermal.forcing.season_weather_table`):
        the app names each season's weather (design heat day, normals, observed days).
    priority : path, optional
        ``walkability/priority.parquet`` (:mod:`pipeline.walkability.priority`): the app's
        list of where to act first (:func:`write_priority_list`).
    report : path, optional
        ``walkability/report.html``, copied beside the app, which links to it.
    timezone : str
        The scenarios' time zone.
    measures : MeasureSet, optional
        A run on a baseline: its measures (:mod:`pipeline.measures.records`), drawn on the
        3D model (``measures/measures.geojson``, :mod:`pipeline.viewer.measures`).
    effects_segments : path, optional
        ``effects/segments.parquet``: before, after and change per segment and scenario,
        for "colour by change" and before/after in the split view (``measures/changes.json``).
    """

    name: str
    crs: str
    scenarios: Sequence[Mapping[str, Any]]
    streets: Mapping[str, str | Path]
    shade: Mapping[str, Sequence[str | Path]] | None = None
    sun_hours: Mapping[str, Sequence[str | Path]] | None = None
    terrain: Sequence[str | Path] = ()
    flow: str | Path | None = None
    flow_sources: Sequence[Mapping[str, Any]] = ()
    day_type: str = "weekday"
    districts: str | Path | None = None
    district_name: str = "name"
    district_summary: str | Path | None = None
    mesh_summary: str | Path | None = None
    tilesets: Mapping[str, str | Path] | None = None
    weights: Mapping[str, float] | None = None
    thermal_rule: str | None = None
    building_tables: Sequence[str | Path] = ()
    use_districts: Sequence[str | Path] = ()
    season_weather: Sequence[Mapping[str, Any]] | None = None
    priority: str | Path | None = None
    report: str | Path | None = None
    timezone: str = "Asia/Tokyo"
    measures: Any = None
    effects_segments: str | Path | None = None


@dataclass(frozen=True)
class ViewerOptions:
    """How :func:`write_viewer` writes: the geoid of the ellipsoidal heights, the ground
    height without terrain (m), and whether to copy the app and CesiumJS (from where)
    beside ``viewer.json`` (:func:`.app.copy_app`)."""

    geoid_model: str = "gsigeo2011"
    ground_elevation_m: float = 0.0
    copy_app_files: bool = True
    app_dir: str | Path | None = None
    cesium_dir: str | Path | None = None


@dataclass
class _Site:
    """What the sections of :func:`write_viewer` write into: the folder, the paths written,
    the layers, legends and the layers missing with their reason."""

    out_dir: Path
    written: dict[str, Any] = field(default_factory=dict)
    layers: dict[str, dict[str, Any]] = field(default_factory=dict)
    legends: dict[str, dict[str, Any]] = field(default_factory=dict)
    unavailable: dict[str, dict[str, str]] = field(default_factory=dict)

    def url(self, path: str | Path) -> str:
        return _url(path, self.out_dir)


@dataclass
class _Ground:
    """The run's ground: terrain heights (metric CRS), the transforms and the extent."""

    heights: Any
    crs: str
    geoid_model: str

    def __post_init__(self):
        from pyproj import Transformer

        self.to_lonlat = Transformer.from_crs(self.crs, "EPSG:6668", always_xy=True)
        self.to_metric = Transformer.from_crs("EPSG:6668", self.crs, always_xy=True)

    def height(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Ellipsoidal ground height (m) at lon/lat (degrees)."""
        from pipeline.geo.geoid import geoid_height

        x, y = self.to_metric.transform(np.asarray(lon, float), np.asarray(lat, float))
        return self.heights(np.asarray(x), np.asarray(y)) + geoid_height(lon, lat, self.geoid_model)


def write_viewer(out_dir: str | Path, inputs: ViewerInputs, options: ViewerOptions = ViewerOptions()) -> dict[str, Any]:
    """Write ``viewer.json`` and every viewer layer of a run under ``out_dir`` (the viewer
    folder inside the run's output folder, ``<output>/viewer``), a section at a time.

    Returns
    -------
    dict
        ``viewer_json``, ``streets``, ``terrain``, ``shade_hours`` {scenario: folder},
        ``sun_hours`` {season: folder}, ``flow`` {scenario: tileset}, ``areas``,
        ``summary``, ``use_districts``, ``priority``, ``report``, ``index`` (paths as str;
        absent keys were not written).
    """
    from pipeline.tiles3d.terrain_heights import TerrainHeights

    site = _Site(Path(out_dir))
    site.out_dir.mkdir(parents=True, exist_ok=True)
    entries = scenario_entries(inputs.scenarios, inputs.timezone)
    names = [s["name"] for s in entries]
    missing = [s for s in names if s not in inputs.streets]
    if missing:
        raise ValueError(f"no scored segment table for scenario(s) {missing}")
    streets = {s: inputs.streets[s] for s in names}
    site.legends["class"] = legends.class_legend()

    # the ground: the terrain COGs (or a flat ground), made ellipsoidal with the geoid;
    # beyond the rasters (mesh cells reaching past the run's tiles) the ground is level
    terrain = TerrainHeights(inputs.terrain)
    mean = terrain.mean_height()
    terrain.default_m = mean if mean is not None else options.ground_elevation_m
    ground = _Ground(terrain, inputs.crs, options.geoid_model)

    street_tiles, extent_m = _street_layer(site, streets, ground)
    _globe(site, ground, extent_m)
    street_colouring = _street_colouring(site, streets, street_tiles.variables)
    street_colouring += _measures_layer(site, inputs)
    _imagery_layers(site, inputs, entries)
    _flow_layer(site, inputs, names, ground)
    building_properties = _run_tilesets(site, inputs.tilesets or {})
    building_colouring = _building_colouring(site, building_properties, inputs.building_tables, entries)
    _area_layers(site, inputs)
    about = _guide(site, inputs, streets)
    manifest = _manifest(site, inputs, options, entries, ground, extent_m, street_tiles.variables,
                         street_colouring, building_colouring, about)
    viewer_json = site.out_dir / "viewer.json"
    write_text_atomic(viewer_json, json.dumps(manifest, ensure_ascii=False, indent=1))
    site.written["viewer_json"] = str(viewer_json)
    if options.copy_app_files:
        from .app import PROJECT_VIEWER, copy_app

        site.written.update(copy_app(site.out_dir, app_dir=options.app_dir or PROJECT_VIEWER,
                                     cesium_dir=options.cesium_dir))
    log.info("viewer: %s (%d layers, %d scenarios)", viewer_json, len(site.layers), len(entries))
    return site.written


def raw_measure_words(raw: Sequence[str], distance_m: int | None) -> dict[str, list[dict]]:
    """The measures behind the network components in the street tiles
    (:func:`pipeline.tiles3d.streets.raw_measures`), per component, as the why-this-score
    panel shows them next to the scaled values: ``{component: [{"property", "digits",
    "units": {en, ja}}]}``; the units name the walking distance ``distance_m``."""
    d = f"{distance_m:,}" if distance_m else "?"
    words = {
        "access_destinations": ("c_access", 1, {"en": f"destinations within {d} m (distance-decayed)",
                                                "ja": f"件({d} m 以内の目的地・距離減衰で重み付け)"}),
        "mix_classes": ("c_mix", 1, {"en": f"land-use classes within {d} m (Hill q=0)",
                                     "ja": f"種類({d} m 以内の用途・Hill 数 q=0)"}),
        "mix_entropy": ("c_mix", 2, {"en": "Shannon entropy of the mix", "ja": "(用途構成のシャノンエントロピー)"}),
        "intersection_density": ("c_intersections", 0, {"en": "junctions per km² (within 400 m)",
                                                        "ja": "交差点/km²(400 m 以内)"}),
    }
    shown: dict[str, list[dict]] = {}
    for column in raw:
        component, digits, units = words[column]
        shown.setdefault(component, []).append({"property": column, "digits": digits, "units": units})
    return shown


def _street_layer(site: _Site, streets: Mapping[str, str | Path], ground: _Ground):
    """The street ribbons (:mod:`pipeline.tiles3d.streets`) and the run's extent: (metric bounds of the
    streets and terrain, lon/lat bounds)."""
    from pipeline.tiles3d.streets import write_street_tileset

    tiles = write_street_tileset(streets, site.out_dir / "streets", terrain=ground.heights,
                                 geoid_model=ground.geoid_model)
    site.written["streets"] = str(tiles.tileset)
    site.layers["streets"] = {"type": "3dtiles", "url": site.url(tiles.tileset), "id_property": "feature_id",
                              "separator": "__", "variables": tiles.variables, "visible": True,
                              "raw": raw_measure_words(tiles.raw, tiles.raw_distance_m)}
    x0, y0, x1, y1 = tiles.bounds
    bounds_m = ground.heights.bounds()
    if bounds_m is not None:
        x0, y0, x1, y1 = min(x0, bounds_m[0]), min(y0, bounds_m[1]), max(x1, bounds_m[2]), max(y1, bounds_m[3])
    lons, lats = ground.to_lonlat.transform([x0, x1, x0, x1], [y0, y0, y1, y1])
    return tiles, ((x0, y0, x1, y1), (min(lons), min(lats), max(lons), max(lats)))


def _globe(site: _Site, ground: _Ground, extent_m) -> None:
    """The globe's surface: the terrain as ellipsoidal heights on a lon/lat grid."""
    from pipeline.tiles3d.terrain_heights import ellipsoidal_height_grid

    _, lonlat = extent_m
    grid = ellipsoidal_height_grid(ground.heights, lonlat, crs=ground.crs, geoid_model=ground.geoid_model)
    path = site.out_dir / "terrain" / "heights.f32"
    write_bytes_atomic(path, grid.heights.astype("<f4").tobytes())
    site.written["terrain"] = str(path)
    site.layers["terrain"] = {"type": "heightmap", "url": site.url(path), "width": int(grid.heights.shape[1]),
                              "height": int(grid.heights.shape[0]), "west": grid.west, "south": grid.south,
                              "east": grid.east, "north": grid.north, "datum": "GRS80 ellipsoidal heights (m)",
                              "toggle": False, "visible": True}


def _street_colouring(site: _Site, streets: Mapping[str, str | Path], variables: Sequence[str]) -> list[dict]:
    """The street colouring options and their legends, ramps over each scenario's values
    (:func:`.legends.data_domain`) with the fixed domain across scenarios."""
    import pyarrow.parquet as pq

    def scenario_values(name: str) -> dict[str, np.ndarray]:
        return {k: pd.to_numeric(pq.read_table(p, columns=[name]).column(0).to_pandas(), errors="coerce")
                .to_numpy(np.float64) for k, p in streets.items() if name in pq.read_schema(p).names}

    def data_legend(name: str, step: float = 1.0, floor: float | None = None) -> dict[str, Any]:
        domains = {k: d for k, v in scenario_values(name).items() if (d := legends.data_domain(v, step=step))}
        if floor is not None:
            domains = {k: (floor, max(hi, floor + step)) for k, (lo, hi) in domains.items()}
        lo = min((d[0] for d in domains.values()), default=0.0)
        hi = max((d[1] for d in domains.values()), default=1.0)
        return legends.ramp_legend(name, lo, hi, domains=domains)

    legend = site.legends
    # the score's domain is each scenario's own values (a heat day spans 0-12, not 0-100)
    legend["score"] = data_legend("score", step=1.0)
    legend["shade_share"] = legends.ramp_legend("shade_share", 0, 1)
    people = scenario_values("people_per_100m")
    known = {k: v[np.isfinite(v)] for k, v in people.items() if np.isfinite(v).any()}
    every = np.concatenate(list(known.values())) if known else np.array([])
    legend["people_per_100m"] = legends.ramp_legend(
        "people_per_100m", 0, legends.nice_ceiling(float(np.percentile(every, 95))) if every.size else 1.0,
        domains={k: (0.0, legends.nice_ceiling(float(np.percentile(v, 95)))) for k, v in known.items()})
    colouring: list[dict[str, Any]] = [{"id": "class", "legend": "class"}, {"id": "score", "legend": "score"}]
    if "score_percentile" in variables:
        # the standing within the scenario: the best streets of an August noon exist
        legend["score_percentile"] = legends.ramp_legend("score_percentile", 0, 100)
        colouring.append({"id": "score_percentile", "legend": "score_percentile"})
    colouring.append({"id": "shade_share", "legend": "shade_share"})
    people_option: dict[str, Any] = {"id": "people_per_100m", "legend": "people_per_100m"}
    if not every.size:
        people_option.update(available=False, reason=UNAVAILABLE["people_per_100m"])
    colouring.append(people_option)
    if "utci_mean_c" in variables:
        legend["utci_mean_c"] = data_legend("utci_mean_c")
        colouring.append({"id": "utci_mean_c", "legend": "utci_mean_c"})
    if "utci_class" in variables:
        legend["utci_class"] = legends.stress_class_legend()
        colouring.append({"id": "utci_class", "legend": "utci_class"})
    if "hours_utci_above_32" in variables:
        legend["hours_utci_above_32"] = data_legend("hours_utci_above_32", step=0.5, floor=0.0)
        colouring.append({"id": "hours_utci_above_32", "legend": "hours_utci_above_32"})
    return colouring


def _measures_layer(site: _Site, inputs: ViewerInputs) -> list[dict]:
    """A run on a baseline: its measures to draw (``measures/measures.geojson``) and the
    change per segment (``measures/changes.json``) with a "colour by change" option and a
    diverging legend per variable (:mod:`pipeline.viewer.measures`); none otherwise."""
    from .measures import change_legend, change_values, measures_geojson

    colouring: list[dict] = []
    folder = site.out_dir / "measures"
    if inputs.measures is not None:
        removed = _removed_footprints(inputs.building_tables, sorted({r.gml_id for r in inputs.measures.removed}),
                                      inputs.measures.crs)
        path = folder / "measures.geojson"
        write_text_atomic(path, json.dumps(measures_geojson(inputs.measures, removed), ensure_ascii=False,
                                           separators=(",", ":")))
        site.layers["measures"] = {"type": "measures", "url": site.url(path), "visible": True,
                                   "removed": sorted({r.gml_id for r in inputs.measures.removed})}
        site.written["measures"] = str(path)
    if inputs.effects_segments is not None:
        table = pd.read_parquet(inputs.effects_segments)
        changes = change_values(table)
        path = folder / "changes.json"
        write_text_atomic(path, json.dumps(changes, ensure_ascii=False, separators=(",", ":")))
        site.written["changes"] = str(path)
        site.layers.setdefault("measures", {"type": "measures", "visible": True, "removed": []})
        site.layers["measures"]["changes"] = site.url(path)
        for variable in changes["variables"]:
            legend_id = f"{variable}_change"
            site.legends[legend_id] = change_legend(variable, table[legend_id].to_numpy(np.float64))
            colouring.append({"id": legend_id, "legend": legend_id, "change": variable})
    return colouring


def _removed_footprints(building_tables: Sequence[str | Path], gml_ids: Sequence[str], crs: str) -> dict[str, Any]:
    """gml_id -> footprint (``crs``) of the removed buildings found in the building tables."""
    if not gml_ids:
        return {}
    import geopandas as gpd

    found: dict[str, Any] = {}
    for path in building_tables:
        table = gpd.read_parquet(path, columns=["gml_id", "geometry"], filters=[("gml_id", "in", list(gml_ids))])
        table = table.to_crs(crs) if table.crs is not None else table
        found.update({str(g): geom for g, geom in zip(table["gml_id"], table.geometry) if geom is not None})
    return found


def _imagery_layers(site: _Site, inputs: ViewerInputs, entries: Sequence[Mapping[str, Any]]) -> None:
    """Shade hours per scenario (0 to the slot's length) and sun hours per season (0 to the
    data's own top, rounded up to half an hour) as web-mercator PNG tiles."""
    from .imagery import write_imagery_tiles

    def imagery(kind: str, sources: Mapping[str, Sequence[str | Path]], vmax: float) -> None:
        site.legends[kind] = legends.ramp_legend(kind, 0, vmax)
        urls, zooms, extent = {}, [], []
        for key, paths in sources.items():
            if not paths:
                continue
            pyramid = write_imagery_tiles(paths, site.out_dir / "imagery" / kind / key,
                                          cmap=site.legends[kind]["palette"], vmin=0, vmax=vmax)
            urls[key] = f"{site.url(pyramid.folder)}/{{z}}/{{x}}/{{y}}.png"
            zooms.append((pyramid.min_zoom, pyramid.max_zoom))
            extent.append(pyramid.bounds)
            site.written.setdefault(kind, {})[key] = str(pyramid.folder)
        if urls:
            e = np.array(extent)
            site.layers[kind] = {"type": "xyz", "by": "season" if kind == "sun_hours" else "scenario", "urls": urls,
                                 "min_zoom": max(z[0] for z in zooms), "max_zoom": min(z[1] for z in zooms),
                                 "west": float(e[:, 0].max()), "south": float(e[:, 1].max()),
                                 "east": float(e[:, 2].min()), "north": float(e[:, 3].min()),
                                 "legend": kind, "visible": kind not in HIDDEN_BY_DEFAULT}

    shade = inputs.shade or {}
    if shade:
        imagery("shade_hours", {s["name"]: shade.get(s["name"], ()) for s in entries},
                max(s["hours"] for s in entries))  # a slot holds at most its own length of shade
    if inputs.sun_hours:
        top = _raster_max([p for ps in inputs.sun_hours.values() for p in ps])
        imagery("sun_hours", dict(inputs.sun_hours), max(0.5, math.ceil(2 * top) / 2))


def _flow_layer(site: _Site, inputs: ViewerInputs, names: Sequence[str], ground: _Ground) -> None:
    """People flow as frames on the ground per mesh cell (:mod:`.flow_prisms`), with the
    cells' labels (``cells``), source and basis."""
    from pipeline.tiles3d.flow_prisms import write_flow_prisms

    if inputs.flow is None:
        site.unavailable["flow"] = UNAVAILABLE["flow"]
        return
    prisms = write_flow_prisms(inputs.flow, site.out_dir / "flow", names, ground_height=ground.height,
                               day_type=inputs.day_type)
    site.legends["population"] = legends.ramp_legend("population", 0, legends.nice_ceiling(prisms.max_population))
    site.layers["flow"] = {"type": "3dtiles", "by": "scenario",
                           "urls": {s: site.url(p) for s, p in prisms.tilesets.items()},
                           "covered": prisms.covered, "cells": prisms.cells,
                           "day_type": inputs.day_type, "legend": "population", "visible": False,
                           "sources": [dict(x) for x in inputs.flow_sources], **FLOW_BASIS}
    site.written["flow"] = {s: str(p) for s, p in prisms.tilesets.items()}


def _run_tilesets(site: _Site, tilesets: Mapping[str, str | Path]) -> set[str]:
    """The run's other 3D Tiles by relative URL; the buildings' property names."""
    building_properties: set[str] = set()
    for key, path in sorted(tilesets.items()):
        layer_id = TILESET_LAYERS.get(key, key)
        if layer_id not in LAYER_ORDER:
            log.warning("tileset %s (%s) is not a viewer layer; left out", key, path)
            continue
        if not Path(path).is_file():
            raise FileNotFoundError(f"tileset {path} for layer {key!r} does not exist")
        site.layers[layer_id] = {"type": "3dtiles", "url": site.url(path),
                                 "visible": layer_id not in HIDDEN_BY_DEFAULT}
        if layer_id == "buildings":
            building_properties = tileset_property_names(path)
    for layer_id in ("lidar", "veg_lidar"):
        if layer_id not in site.layers:
            site.unavailable[layer_id] = UNAVAILABLE[layer_id]
    for layer_id in LAYER_ORDER:
        if layer_id not in site.layers and layer_id not in site.unavailable \
                and layer_id not in ("districts", "use_districts", "measures"):
            site.unavailable[layer_id] = UNAVAILABLE["default"]
    return building_properties


def _building_colouring(site: _Site, properties: set[str], building_tables: Sequence[str | Path],
                        entries: Sequence[Mapping[str, Any]]) -> list[dict]:
    """Colour buildings by roof shade hours, the nearest street's walk score or usage."""
    colouring: list[dict[str, Any]] = [{"id": "none"}]
    slot_hours = max(s["hours"] for s in entries)
    names = [s["name"] for s in entries]
    for option, template, legend_id, vmax in (("roof_shade_hours", "roof_shade_hours_{scenario}",
                                               "roof_shade_hours", slot_hours),
                                              ("walk_score", "walk_score_{scenario}", "walk_score", 100.0)):
        site.legends[legend_id] = legends.ramp_legend(legend_id, 0, vmax)
        entry: dict[str, Any] = {"id": option, "property": template, "legend": legend_id}
        if not any(template.format(scenario=s) in properties for s in names):
            entry.update(available=False, reason=UNAVAILABLE["default"])
        colouring.append(entry)
    site.legends["usage"] = legends.usage_legend(_usages(building_tables))
    usage: dict[str, Any] = {"id": "usage", "property": "usage", "legend": "usage"}
    if "usage" not in properties:
        usage.update(available=False, reason=UNAVAILABLE["default"])
    colouring.append(usage)
    return colouring


def _area_layers(site: _Site, inputs: ViewerInputs) -> None:
    """District and mesh outlines with their summaries; the use districts (用途地域) of the
    run's urban planning (urf) tables."""
    from .areas import write_areas
    from .zoning import write_use_districts

    areas = write_areas(site.out_dir / "areas", districts_path=inputs.districts, district_name=inputs.district_name,
                        district_summary=inputs.district_summary, mesh_summary=inputs.mesh_summary, crs=inputs.crs)
    if areas:
        site.layers["districts"] = {"type": "geojson", "url": site.url(areas["areas"]),
                                    "summary": site.url(areas["summary"]), "visible": True}
        site.written.update(areas)
    else:
        site.unavailable["districts"] = UNAVAILABLE["default"]
    zoning = write_use_districts(site.out_dir / "zoning", inputs.use_districts) if inputs.use_districts else None
    if zoning:
        path, site.legends["use_district"] = zoning
        site.layers["use_districts"] = {"type": "geojson", "url": site.url(path), "legend": "use_district",
                                        "property": "code", "alpha": site.legends["use_district"]["alpha"],
                                        "visible": False}
        site.written["use_districts"] = str(path)
    else:
        site.unavailable["use_districts"] = UNAVAILABLE["use_districts"]


def _guide(site: _Site, inputs: ViewerInputs, streets: Mapping[str, str | Path]) -> dict[str, Any]:
    """Where to act first (``priority/priority.json``) and the printed report beside the
    app; viewer.json's ``about`` (their relative URLs)."""
    about: dict[str, Any] = {}
    if inputs.priority:
        path = write_priority_list(site.out_dir / "priority" / "priority.json", inputs.priority, streets, inputs.crs)
        about["priority"] = site.url(path)
        site.written["priority"] = str(path)
    if inputs.report and Path(inputs.report).is_file():
        import shutil

        shutil.copyfile(inputs.report, site.out_dir / "report.html")
        about["report"] = "report.html"
        site.written["report"] = str(site.out_dir / "report.html")
    return about


def _manifest(site: _Site, inputs: ViewerInputs, options: ViewerOptions, entries: Sequence[Mapping[str, Any]],
              ground: _Ground, extent_m, variables: Sequence[str], street_colouring: list[dict],
              building_colouring: list[dict], about: dict[str, Any]) -> dict[str, Any]:
    """viewer.json: the view, scenarios, seasons with their weather, slots, layers,
    colourings, components and weights, legends and the about panel's links."""
    (x0, y0, x1, y1), (west, south, east, north) = extent_m
    centre_lon, centre_lat = (west + east) / 2.0, (south + north) / 2.0
    centre_h = float(ground.height(np.array([centre_lon]), np.array([centre_lat]))[0])
    extent = max((x1 - x0), (y1 - y0))
    weight_map = {f"c_{k}": float(v) for k, v in (inputs.weights or {}).items()}
    components = [{"id": c, "weight": weight_map.get(c, 0.0), "label": legends.words(c, legends.COMPONENT_LABELS)}
                  for c in variables if c.startswith("c_") and not c.startswith("c_thermal_")]  # not per side
    for component in components:
        if component["id"] == "c_thermal" and inputs.thermal_rule == "gate":
            component.update(weight=None, multiplies=True)
    seasons = list(dict.fromkeys(s["season"] for s in entries))
    kinds = {s["season"]: (s.get("weather_kind"), s.get("radiation_kind")) for s in inputs.scenarios}
    weather_by_season = {}
    for w in inputs.season_weather or ():
        kind, radiation = kinds.get(str(w["season"]), (None, None))
        top = round(float(w["day_max_air_temperature_c"]), 2)
        label, radiation_label = _weather_words(kind, radiation, top)
        weather_by_season[str(w["season"])] = {
            "kind": kind, "label": label, "radiation_label": radiation_label, "source": str(w["weather_source"]),
            "radiation": str(w["radiation_source"]), "day_max_air_temperature_c": top}
    slots = {}
    for s in entries:
        slots.setdefault(s["slot"], {"name": s["slot"], "label": legends.words(s["slot"], legends.SLOT_LABELS),
                                     "start": s["start"], "end": s["end"]})
    layers = site.layers
    return {
        "format": FORMAT, "name": inputs.name, "crs": inputs.crs, "timezone": inputs.timezone,
        "geoid": options.geoid_model,
        "view": {"west": west, "south": south, "east": east, "north": north,
                 "centre": [centre_lon, centre_lat, centre_h],
                 "camera_offset_deg": 0.9 * extent / 111_132.0, "camera_height_m": 0.8 * extent},
        "scenarios": list(entries),
        "seasons": [{"name": s, "label": _season_label(s, weather_by_season.get(s)),
                     "date": next(e["date"] for e in entries if e["season"] == s),
                     **({"weather": weather_by_season[s]} if s in weather_by_season else {})} for s in seasons],
        "slots": list(slots.values()),
        "layer_order": list(LAYER_ORDER),
        "layers": {k: layers[k] for k in sorted(layers, key=lambda k: (LAYER_ORDER + (k,)).index(k))},
        "unavailable": site.unavailable,
        "street_colouring": street_colouring,
        "building_colouring": building_colouring,
        "components": components,
        "weights": {k: float(v) for k, v in (inputs.weights or {}).items()},
        "thermal_rule": inputs.thermal_rule,
        "legends": site.legends,
        "about": about,
    }
