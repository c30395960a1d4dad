"""One tile's simulated walkers, on the street network within reach of it.

A tile's streets carry the walks of every origin within ``reach_m`` of the tile (a walk
is at most ``reach_m`` long, so no other origin reaches it); those walks stay within
``2 reach_m`` of the tile. :func:`simulate_tile` therefore takes the segments within
``2 reach_m`` (the walkability tables of the tiles there, so every segment keeps its
``segment_id`` and its scenario's ``c_thermal``), produces trips only at nodes within
``reach_m`` of the tile (straight-line distance, a lower bound of the walk), attracts them
anywhere, and keeps the flows of the tile's own segments. Summed over tiles, every trip
is counted on every segment it uses exactly once. Units: metres, the run's projected CRS;
flows in trips per hour, both directions.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from pipeline.flowsim.generation import TripEnds, TripRates, trip_ends
from pipeline.flowsim.graph import FlowGraph
from pipeline.flowsim.simulate import simulate_scenarios


@dataclass(frozen=True)
class FlowParameters:
    """The simulation's behavioural and spatial parameters (:mod:`pipeline.flowsim.assignment`).

    ``alpha``: CoolWalks perceived length of an uncomfortable metre; ``theta``: logit
    dispersion (1/m); ``reach_m``: longest walk (m); ``day_type``: the trip rates' day
    type; ``destinations_on_length``: choose destinations on plain length; ``max_snap_m``:
    farthest building or stop from the street network (m).
    """

    alpha: float
    theta: float
    reach_m: float = 2000.0
    day_type: str = "weekday"
    destinations_on_length: bool = False
    max_snap_m: float = 100.0


def graph_of_segments(segments: gpd.GeoDataFrame) -> tuple[FlowGraph, np.ndarray]:
    """The graph of walkability segments (nodes where their ends meet, to 1 cm) and, per
    graph segment, the row of ``segments`` it comes from."""
    from pipeline.walkability.network import from_lines

    lines = gpd.GeoDataFrame({"row": np.arange(len(segments))}, geometry=segments.geometry.to_numpy(),
                             crs=segments.crs)
    network = from_lines(lines)
    return FlowGraph.from_network(network), network.segments["row"].to_numpy(np.int64)


def _to_rows(values: np.ndarray, row_of: np.ndarray, length_m: np.ndarray, n_rows: int) -> np.ndarray:
    """Length-weighted mean over the graph pieces of each input segment."""
    weight = np.bincount(row_of, weights=length_m, minlength=n_rows)
    total = np.bincount(row_of, weights=values * length_m, minlength=n_rows)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(weight > 0, total / weight, 0.0)


def simulate_tile(segments: gpd.GeoDataFrame, comfort: pd.DataFrame, own: np.ndarray, tile_bounds,
                  buildings: gpd.GeoDataFrame, stops: gpd.GeoDataFrame | None, rates: TripRates,
                  scenarios: Sequence, params: FlowParameters) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Trips per hour on the tile's own segments in every scenario.

    Parameters
    ----------
    segments : geopandas.GeoDataFrame
        Walkability segments within ``2 reach_m`` of the tile (``segment_id``, geometry).
    comfort : pandas.DataFrame
        ``c_thermal`` (0..1, NaN unknown: plain length) per row of ``segments`` (rows) and
        scenario name (columns).
    own : numpy.ndarray of bool
        Which rows are the tile's own segments.
    tile_bounds : tuple
        The tile's (x_min, y_min, x_max, y_max), metres.
    buildings, stops
        Footprints with ``usage`` and storeys or height; points with ``kind`` and ``weight``.
    rates : TripRates

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        ``segment_id`` and one column of trips per hour per scenario, for the own rows;
        and :data:`pipeline.flowsim.simulate.SUMMARY_COLUMNS` per scenario.
    """
    graph, row_of = graph_of_segments(segments)
    box = shapely.box(*tile_bounds)
    near = shapely.distance(box, shapely.points(graph.node_xy)) <= params.reach_m
    ends, comforts = {}, {}
    for scenario in scenarios:
        slot_rates = rates.for_slot(scenario.slot.start, scenario.slot.end, params.day_type)
        made = trip_ends(graph, buildings, stops, slot_rates, max_snap_m=params.max_snap_m)
        ends[scenario.name] = TripEnds(np.where(near, made.production, 0.0), made.attraction,
                                       made.unsnapped_production)
        values = comfort[scenario.name].to_numpy(float) if scenario.name in comfort else np.full(len(segments), np.nan)
        comforts[scenario.name] = values[row_of]
    flows, summary = simulate_scenarios(graph, ends, comforts, alpha=params.alpha, theta=params.theta,
                                        reach_m=params.reach_m,
                                        destinations_on_length=params.destinations_on_length)
    out = pd.DataFrame({"segment_id": segments["segment_id"].to_numpy()[own]})
    for name in flows.columns:
        out[name] = _to_rows(flows[name].to_numpy(), row_of, graph.length_m, len(segments))[own]
    return out, summary


def comfort_table(rows: pd.DataFrame, segment_ids: Sequence[str], scenario_names: Sequence[str]) -> pd.DataFrame:
    """``c_thermal`` per segment (rows, in ``segment_ids`` order) and scenario (columns)
    from walkability per-scenario rows (NaN without the thermal stage)."""
    if "c_thermal" not in rows:
        return pd.DataFrame(np.nan, index=pd.Index(segment_ids), columns=list(scenario_names))
    wide = rows.pivot(index="segment_id", columns="scenario", values="c_thermal")
    return wide.reindex(index=list(segment_ids), columns=list(scenario_names))


def in_reach(bounds: Mapping[str, tuple], tile: str, distance_m: float) -> list[str]:
    """The tiles (of ``bounds``: tile -> (x_min, y_min, x_max, y_max)) within ``distance_m`` of ``tile``."""
    box = shapely.box(*bounds[tile])
    return sorted(t for t, b in bounds.items() if shapely.distance(box, shapely.box(*b)) <= distance_m)
