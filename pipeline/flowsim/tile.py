"""One tile's share of the simulated walkers: the trips that start in it.

Every street node belongs to exactly one third-level mesh cell (JIS X 0410's rule: a
point on a boundary belongs to the cell to its north and east), so the trips of a run are
split among its tiles by where they start. A walk is at most ``reach_m`` long, so the
trips starting in a tile use only streets within ``reach_m`` of it: :func:`simulate_tile`
takes the walkability segments of the tiles within ``reach_m`` (each keeps its
``segment_id`` and its scenario's perceived length per metre, ``imp_factor``), produces trips at the tile's own nodes
only, attracts them anywhere in that network and returns the flows on every segment
reached. Summed over tiles by ``segment_id``, each trip is counted once on every segment
it uses: the same flows as one simulation of the whole run (the assignment is linear in
the productions; tested), with each task's memory bounded by the reach. Units: metres,
the run's projected CRS; flows in trips per hour, both directions.
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

    ``theta``: logit dispersion (1/m); ``reach_m``: longest walk (m); ``day_type``: the trip rates' day
    type; ``destinations_on_length``: choose destinations on plain length; ``max_snap_m``:
    farthest building or stop from the street network (m).
    """

    theta: float
    reach_m: float = 2000.0
    day_type: str = "weekday"
    destinations_on_length: bool = False
    max_snap_m: float = 100.0


def graph_of_segments(segments: gpd.GeoDataFrame) -> tuple[FlowGraph, np.ndarray]:
    """The graph of walkability segments (nodes where their ends meet, to 1 cm) and, per
    graph segment, the row of ``segments`` it comes from."""
    from pipeline.walkability.network import from_lines

    lines = gpd.GeoDataFrame(
        {"row": np.arange(len(segments))}, geometry=segments.geometry.to_numpy(), crs=segments.crs
    )
    network = from_lines(lines)
    return FlowGraph.from_network(network), network.segments["row"].to_numpy(np.int64)


def _to_rows(values: np.ndarray, row_of: np.ndarray, length_m: np.ndarray, n_rows: int) -> np.ndarray:
    """Length-weighted mean over the graph pieces of each input segment."""
    weight = np.bincount(row_of, weights=length_m, minlength=n_rows)
    total = np.bincount(row_of, weights=values * length_m, minlength=n_rows)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(weight > 0, total / weight, 0.0)


def simulate_tile(
    segments: gpd.GeoDataFrame,
    factors: pd.DataFrame,
    tile: str,
    buildings: gpd.GeoDataFrame,
    stops: gpd.GeoDataFrame | None,
    rates: TripRates,
    scenarios: Sequence,
    params: FlowParameters,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Trips per hour, of the trips starting in ``tile``, on every segment in every scenario.

    Parameters
    ----------
    segments : geopandas.GeoDataFrame
        Walkability segments within ``reach_m`` of the tile (``segment_id``, geometry, in a
        projected CRS).
    factors : pandas.DataFrame
        Perceived length per metre (the walkability stage's ``imp_factor``, > 0; NaN
        unknown: plain length) per row of ``segments`` (rows) and scenario name (columns),
        :func:`factor_table`.
    tile : str
        Third-level mesh code: trips are produced at the nodes inside it (``"*"``: every node).
    buildings, stops
        Footprints with ``usage`` and storeys or height; points with ``kind`` and ``weight``.
    rates : TripRates

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        ``segment_id`` and one column of trips per hour per scenario, for every row of
        ``segments``; and :data:`pipeline.flowsim.simulate.SUMMARY_COLUMNS` per scenario.
    """
    graph, row_of = graph_of_segments(segments)
    origin = np.ones(graph.n_nodes, bool) if tile == "*" else node_cells(graph, segments.crs) == int(tile)
    ends, per_metre = {}, {}
    for scenario in scenarios:
        slot_rates = rates.for_slot(scenario.slot.start, scenario.slot.end, params.day_type)
        made = trip_ends(graph, buildings, stops, slot_rates, max_snap_m=params.max_snap_m)
        ends[scenario.name] = TripEnds(
            np.where(origin, made.production, 0.0), made.attraction, made.unsnapped_production
        )
        values = (
            factors[scenario.name].to_numpy(float)
            if scenario.name in factors
            else np.full(len(segments), np.nan)
        )
        per_metre[scenario.name] = values[row_of]
    flows, summary = simulate_scenarios(
        graph,
        ends,
        per_metre,
        theta=params.theta,
        reach_m=params.reach_m,
        destinations_on_length=params.destinations_on_length,
    )
    out = pd.DataFrame({"segment_id": segments["segment_id"].to_numpy()})
    for name in flows.columns:
        out[name] = _to_rows(flows[name].to_numpy(), row_of, graph.length_m, len(segments))
    return out, summary


def node_cells(graph: FlowGraph, crs) -> np.ndarray:
    """The third-level mesh code of each node (JIS X 0410, from the nodes in ``crs``)."""
    from pyproj import Transformer

    from pipeline.geo import meshcode

    lon, lat = Transformer.from_crs(crs, "EPSG:6668", always_xy=True).transform(
        graph.node_xy[:, 0], graph.node_xy[:, 1]
    )
    return meshcode.encode(np.asarray(lat), np.asarray(lon), 3)


def add_up(tile_flows: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The tiles' flows summed per ``segment_id`` (in the given order, then by segment id)."""
    total = pd.concat(list(tile_flows), ignore_index=True)
    return total.groupby("segment_id", sort=True).sum().reset_index()


def factor_table(
    rows: pd.DataFrame, segment_ids: Sequence[str], scenario_names: Sequence[str]
) -> pd.DataFrame:
    """The perceived length per metre, ``imp_factor``, per segment (rows, in ``segment_ids``
    order) and scenario (columns) from the walkability stage's per-scenario rows (NaN
    where a row has none: plain length)."""
    if "imp_factor" not in rows:
        return pd.DataFrame(np.nan, index=pd.Index(segment_ids), columns=list(scenario_names))
    wide = rows.pivot(index="segment_id", columns="scenario", values="imp_factor")
    return wide.reindex(index=list(segment_ids), columns=list(scenario_names))


def in_reach(bounds: Mapping[str, tuple], tile: str, distance_m: float) -> list[str]:
    """The tiles (of ``bounds``: tile -> (x_min, y_min, x_max, y_max)) within ``distance_m`` of ``tile``."""
    box = shapely.box(*bounds[tile])
    return sorted(t for t, b in bounds.items() if shapely.distance(box, shapely.box(*b)) <= distance_m)
