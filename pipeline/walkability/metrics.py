"""Raw walkability metrics of the street segments of one tile.

For the tile's own segments (midpoint in the tile) :func:`tile_metrics` computes, on the
street network of the tile's region (the tile and its eight neighbours, so every 800 m
walk from a tile street stays inside, and every mesh cell a tile street touches is whole
for the people-flow allocation):

- *static* metrics that do not change with the scenario: plain access per destination
  class and distance, nearest destination, land-use mix, intersection density, slope
  (from the terrain), width (PLATEAU road polygons, else the street layer);
- *per scenario*: shade share (from the shadow stage's shade fraction) on the centreline
  and both sidewalks, with the thermal stage UTCI, ``c_thermal`` and hours in stress on
  them and the side walked (:mod:`pipeline.walkability.comfort`), the perceived length
  factor, comfort-weighted access, and the people on the segment. ``shade_share`` is that
  of the side walked (the centreline's without the thermal stage).

Comfort weighting: with the thermal stage's mean UTCI, a segment's perceived length factor
is ``c_thermal * 1 + (1 - c_thermal) * discomfort_weight``: a metre in thermal stress feels
longer, in heat or in cold, because of the physics of that scenario, not a per-season
constant. Without UTCI it falls back to ``shade_share * shade_weight + (1 - shade_share) *
sun_weight`` with the season's weights.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from pipeline.geo.raster import mosaic, read_raster
from pipeline.walkability.inputs import (
    DESTINATION_CLASSES,
    building_destinations,
    midpoint_meshcodes,
    road_widths,
    segment_flow,
)

log = logging.getLogger(__name__)


@dataclass
class TileMetrics:
    """The metrics of one tile's segments (index ``segment_id`` = ``<tile>:<n>``).

    ``segments``: GeoDataFrame of the static metrics with geometry; ``scenarios``: one
    row per segment and scenario (``segment_id``, ``scenario``, ``shade_share``,
    ``imp_factor``, ``access_comfort_*``, ``nearest_comfort_*``, ``people``).
    """

    segments: gpd.GeoDataFrame
    scenarios: pd.DataFrame
    counts: dict = field(default_factory=dict)


@dataclass(frozen=True)
class MetricOptions:
    """How a tile's metrics are computed (the walkability stage's settings).

    Attributes
    ----------
    distances : sequence of int
        Walking thresholds, metres.
    floor_area_per_destination_m2 : float
        Floor area that counts as one destination (:func:`building_destinations`).
    max_assign_m : float
        Farthest a destination is assigned to a street, metres.
    allocation : {"floor_area", "length"}
        How a mesh population is spread on its streets.
    sun_weight, shade_weight : mapping
        Season -> perceived length of a metre in the sun / in shade (default 1); used
        without UTCI only.
    comfort_curve : pipeline.walkability.comfort.ComfortCurve, optional
        UTCI to ``c_thermal``.
    discomfort_weight : float
        Perceived length of a metre at ``c_thermal`` 0 (1 at ``c_thermal`` 1).
    busy_street_factor : float
        Perceived length of a metre on a busy street (OSM trunk, primary, secondary),
        multiplying the comfort factor (:func:`~pipeline.walkability.accessibility.traffic_factor`).
    """

    distances: Sequence[int]
    floor_area_per_destination_m2: float
    max_assign_m: float
    allocation: str = "floor_area"
    sun_weight: Mapping[str, float] = field(default_factory=dict)
    shade_weight: Mapping[str, float] = field(default_factory=dict)
    comfort_curve: object = None
    discomfort_weight: float = 1.6
    busy_street_factor: float = 1.0


@dataclass(frozen=True)
class TileInputs:
    """What a tile's metrics are computed from, in the network's metric CRS.

    Attributes
    ----------
    network : StreetNetwork
        The street network of the tile's region (:mod:`pipeline.walkability.network`).
    buildings, roads : GeoDataFrame
        Ingested PLATEAU buildings (destinations, floor area) and roads (widths) of the
        region.
    region : shapely geometry
        The region polygon: mesh populations of cells inside it are spread.
    terrain : path, optional
        The tile's terrain COG (orthometric metres) for the slope.
    flow : DataFrame, optional
        Mesh populations (:func:`pipeline.peopleflow.tables.read_flow`).
    shade_fraction : mapping
        Scenario -> shade-fraction COGs of the tiles of the region.
    utci_mean : mapping
        Scenario -> mean-UTCI COGs (°C) of the thermal stage for the tiles of the region;
        adds ``utci_mean_c``, ``c_thermal`` and the stress-class length shares, and
        makes the perceived lengths thermal. UTCI and shade are sampled on the centreline
        and both walking lines (:func:`pipeline.walkability.components.sidewalk_offsets`
        of ``width_m``); the segment takes its better side
        (:func:`pipeline.walkability.comfort.segment_thermal`).
    stress_hours : mapping
        Scenario -> hours-per-stress-class COGs of the thermal stage (adds the hours in
        heat and cold stress of the better side).
    """

    network: object
    buildings: gpd.GeoDataFrame
    roads: gpd.GeoDataFrame
    region: shapely.Geometry
    terrain: str | None = None
    flow: pd.DataFrame | None = None
    shade_fraction: Mapping[str, Sequence[str]] = field(default_factory=dict)
    utci_mean: Mapping[str, Sequence[str]] = field(default_factory=dict)
    stress_hours: Mapping[str, Sequence[str]] = field(default_factory=dict)


def tile_metrics(
    tile: str, inputs: TileInputs, scenarios: Sequence, options: MetricOptions
) -> TileMetrics | None:
    """Raw metrics of the segments of ``tile`` (None when the tile has none).

    Parameters
    ----------
    tile : str
        Third-level mesh code.
    inputs : TileInputs
        The region's network, buildings, roads, terrain, people flow and the shadow and
        thermal stages' rasters.
    scenarios : sequence of Scenario
        Seasons x time slots.
    options : MetricOptions
        Thresholds and weights.
    """
    segments = inputs.network.segments
    segments["meshcode"] = midpoint_meshcodes(segments)
    in_tile = segments["meshcode"].to_numpy() == int(tile)
    if not in_tile.any():
        return None
    static, destinations = _static_metrics(inputs, options)
    people = segment_flow(
        segments, inputs.flow, inputs.buildings, method=options.allocation, region=inputs.region
    )
    rows = [
        _scenario_metrics(scenario, inputs, options, static, destinations, in_tile).assign(
            people=people[scenario.name] if scenario.name in people else np.nan
        )[in_tile]
        for scenario in scenarios
    ]

    ids = pd.Index([f"{tile}:{i}" for i in segments.index[in_tile]], name="segment_id")
    kept = (
        ["u", "v", "highway"]
        + (["name"] if "name" in segments else [])
        + ["length_m", "meshcode", "geometry"]
    )
    base = segments.loc[in_tile, kept]  # the OSM name where the streets have one (the priority list)
    table = gpd.GeoDataFrame(
        base.join(static.loc[in_tile]).set_axis(ids), geometry="geometry", crs=segments.crs
    )
    table.insert(0, "tile", tile)
    per_scenario = pd.concat([r.set_axis(ids) for r in rows]).reset_index()
    counts = {
        "segments": int(in_tile.sum()),
        "network_segments": len(segments),
        "destinations": len(destinations.frame),
        "scenarios": len(scenarios),
        "shade_rasters": int(sum(len(v) for v in inputs.shade_fraction.values())),
    }
    return TileMetrics(table.reset_index(), per_scenario, counts)


@dataclass
class _Destinations:
    """The region's destinations, their classes and their assignment to the network."""

    frame: gpd.GeoDataFrame
    classes: list[str]
    data_map: object = None


def _static_metrics(inputs: TileInputs, options: MetricOptions) -> tuple[pd.DataFrame, _Destinations]:
    """Metrics that do not change with the scenario, for every segment of the region:
    plain access and nearest destination per class and distance, land-use mix,
    intersection density, width (PLATEAU road polygons, else the street layer), slope."""
    from pipeline.walkability.accessibility import accessibility, assign_destinations, land_use_mix
    from pipeline.walkability.components import intersection_density, slope_percent

    network, segments = inputs.network, inputs.network.segments
    destinations = building_destinations(
        inputs.buildings, floor_area_per_destination_m2=options.floor_area_per_destination_m2
    )
    found = _Destinations(destinations, [c for c in DESTINATION_CLASSES if c in set(destinations["class"])])
    static = pd.DataFrame(index=segments.index)
    if found.classes:
        found.data_map = assign_destinations(network, destinations, max_assign_m=options.max_assign_m)
        static = static.join(
            accessibility(
                network,
                destinations,
                "class",
                classes=found.classes,
                distances=options.distances,
                data_map=found.data_map,
            )
        )
        static = static.join(
            land_use_mix(network, destinations, "class", distances=options.distances, data_map=found.data_map)
        )
    static["intersection_density"] = intersection_density(network, radius_m=400.0)
    width = road_widths(segments, inputs.roads)
    static["width_m"] = np.where(np.isfinite(width), width, segments["width_m"].to_numpy(float))
    static["width_source"] = np.where(
        np.isfinite(width), "plateau_tran", np.where(segments["width_m"].notna(), "streets", "unknown")
    )
    if "width_measure_m" in segments:  # a street measure's new width comes first
        changed = segments["width_measure_m"].notna().to_numpy()
        static.loc[changed, "width_m"] = segments.loc[changed, "width_measure_m"].to_numpy(float)
        static.loc[changed, "width_source"] = "measure"
    if inputs.terrain:
        heights, grid, nodata = read_raster(inputs.terrain)
        static = static.join(slope_percent(network, heights, grid, nodata=nodata))
    else:
        static["slope_mean_pct"] = static["slope_max_pct"] = np.nan
    return static, found


def _scenario_metrics(
    scenario,
    inputs: TileInputs,
    options: MetricOptions,
    static: pd.DataFrame,
    destinations: _Destinations,
    in_tile: np.ndarray,
) -> pd.DataFrame:
    """One scenario's metrics of every segment of the region: shade share of the side
    walked, UTCI and hours in stress of the better side, the perceived length factor and
    comfort-weighted access."""
    from pipeline.walkability.accessibility import accessibility, comfort_imp_factor, traffic_factor
    from pipeline.walkability.comfort import SIDE_NAMES
    from pipeline.walkability.components import sidewalk_offsets

    network, segments = inputs.network, inputs.network.segments
    offsets = sidewalk_offsets(static["width_m"].to_numpy(float))
    # hours in stress are kept for the tile's own segments only: read them around those
    x0, y0, x1, y1 = segments.loc[in_tile].total_bounds
    margin = float(offsets.max(initial=0.0)) + 10.0
    own_bounds = (x0 - margin, y0 - margin, x1 + margin, y1 + margin)
    thermal = _segment_thermal(
        network,
        inputs.utci_mean.get(scenario.name, ()),
        inputs.stress_hours.get(scenario.name, ()),
        offsets,
        options.comfort_curve,
        own_bounds,
    )
    shade = _segment_shade(network, inputs.shade_fraction.get(scenario.name, ()), offsets)
    # the shade of the side walked (the centreline's without UTCI to choose a side by)
    side = (
        thermal["side"].map(SIDE_NAMES.index).to_numpy(np.int64)
        if thermal is not None
        else np.zeros(len(segments), np.int64)
    )
    share = shade.to_numpy(float)[np.arange(len(segments)), side]
    if thermal is not None:
        factor = comfort_imp_factor(thermal["c_thermal"].to_numpy(), options.discomfort_weight, 1.0)
    else:
        factor = comfort_imp_factor(
            share,
            options.sun_weight.get(scenario.season.name, 1.0),
            options.shade_weight.get(scenario.season.name, 1.0),
        )
    factor = factor * traffic_factor(segments["highway"].to_numpy(), options.busy_street_factor)
    row = pd.DataFrame(
        {"scenario": scenario.name, "shade_share": share, "imp_factor": factor}, index=segments.index
    ).join(shade)
    if thermal is not None:
        row = row.join(thermal)
    if destinations.classes:
        plain = np.allclose(factor, 1.0)
        comfort = (
            static[[c for c in static if c.startswith(("access_", "nearest_"))]]
            if plain
            else accessibility(
                network,
                destinations.frame,
                "class",
                classes=destinations.classes,
                distances=options.distances,
                imp_factor=factor,
                data_map=destinations.data_map,
            )
        )
        row = row.join(
            comfort.rename(
                columns=lambda c: c.replace("access_", "access_comfort_", 1).replace(
                    "nearest_", "nearest_comfort_", 1
                )
            )
        )
    return row


def _mosaic_bands(paths: Sequence[str], bounds) -> tuple[np.ndarray, object] | None:
    """Every band of several rasters on one grid within ``bounds`` (x_min, y_min, x_max,
    y_max; snapped outwards to their cells), (bands, rows, cols) float32 with NaN for no
    data (first path in sorted order wins where they overlap), or None without paths."""
    import rasterio
    from rasterio.merge import merge

    from pipeline.geo.raster import Grid

    paths = sorted(str(p) for p in paths)
    if not paths:
        return None
    with rasterio.open(paths[0]) as src:
        crs, res = src.crs.to_string(), src.res[0]
        ox, oy = src.transform.c, src.transform.f
    x0 = ox + np.floor((bounds[0] - ox) / res) * res
    y1 = oy - np.floor((oy - bounds[3]) / res) * res
    x1 = ox + np.ceil((bounds[2] - ox) / res) * res
    y0 = oy - np.ceil((oy - bounds[1]) / res) * res
    data, transform = merge(paths, bounds=(x0, y0, x1, y1), res=res, nodata=np.nan, dtype="float32")
    return data, Grid(transform.c, transform.f, transform.a, data.shape[2], data.shape[1], crs)


def _segment_shade(network, paths: Sequence[str], offsets: np.ndarray) -> pd.DataFrame:
    """Shade share of each segment's centre and walking lines (NaN without rasters)."""
    from pipeline.walkability.comfort import SIDE_NAMES
    from pipeline.walkability.components import sample_sides, segment_means

    n = len(network)
    raster = mosaic(paths)
    if raster is None:
        return pd.DataFrame(
            {f"shade_share_{s}": np.full(n, np.nan) for s in SIDE_NAMES}, index=network.segments.index
        )
    owner, values = sample_sides(network, [raster[0]], raster[1], offsets, nodata=np.nan)
    return pd.DataFrame(
        {f"shade_share_{s}": np.clip(segment_means(owner, values[s][0], n), 0.0, 1.0) for s in SIDE_NAMES},
        index=network.segments.index,
    )


def _segment_thermal(
    network, utci_paths: Sequence[str], hours_paths: Sequence[str], offsets: np.ndarray, curve, hours_bounds
) -> pd.DataFrame | None:
    """UTCI, ``c_thermal``, stress shares and hours on each segment's better side from the
    thermal stage's COGs (None without); hours only within ``hours_bounds`` (NaN beyond)."""
    utci = mosaic(utci_paths)
    if utci is None:
        return None
    from pipeline.walkability.comfort import ComfortCurve, segment_thermal

    hours = _mosaic_bands(hours_paths, hours_bounds)
    return segment_thermal(
        network,
        utci[0],
        utci[1],
        offsets_m=offsets,
        stress_hours=hours[0] if hours is not None else None,
        stress_grid=hours[1] if hours is not None else None,
        curve=curve or ComfortCurve(),
        nodata=np.nan,
    )
