"""One district's simulation over its scenarios: flows, the fitted ratios, the validation table.

The pieces of :mod:`pipeline.flowsim` put together for a stage to call (arrays and frames in,
frames out, no I/O): :func:`simulate_scenarios` assigns each scenario's trips on its
perceived cost; :func:`fit_and_validate` fits the one ratio to MLIT stay population and the
one ratio to counters, and tabulates GEH per counter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.flowsim.assignment import assign
from pipeline.flowsim.generation import TripEnds
from pipeline.flowsim.graph import FlowGraph
from pipeline.flowsim.scaling import cell_totals, mlit_ratio, people_on_segments, people_per_100m
from pipeline.flowsim.validation import fit_ratio, validation_table

SUMMARY_COLUMNS = ["scenario", "origins", "generated", "assigned", "unassigned", "unsnapped"]


def simulate_scenarios(
    graph: FlowGraph,
    ends: Mapping[str, TripEnds],
    factor: Mapping[str, np.ndarray],
    *,
    theta: float,
    reach_m: float = 2000.0,
    destinations_on_length: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Trips per hour on every segment for every scenario.

    Parameters
    ----------
    ends : mapping scenario -> TripEnds
        Trip ends of the scenario's slot and day type (:func:`~pipeline.flowsim.generation.trip_ends`).
    factor : mapping scenario -> numpy.ndarray (n_segments,)
        Perceived length per metre of each segment (> 0; NaN unknown: plain length), the
        walkability stage's ``imp_factor`` (:mod:`pipeline.flowsim.assignment`).
    theta, reach_m
        See :mod:`pipeline.flowsim.assignment`.
    destinations_on_length : bool
        Choose destinations on plain length (only routes feel the scenario).

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        Flows (one row per segment, one column per scenario, trips per hour) and a summary
        per scenario (:data:`SUMMARY_COLUMNS`): trips generated, assigned, unassigned and
        not snapped to the network.
    """
    flows, rows = {}, []
    for name, trip in ends.items():
        if name not in factor:
            raise ValueError(f"scenario {name!r} has trip ends but no perceived length per segment")
        per_metre = np.asarray(factor[name], np.float64)
        cost = graph.length_m * np.where(np.isfinite(per_metre), per_metre, 1.0)
        result = assign(
            graph,
            cost,
            trip.production,
            trip.attraction,
            theta=theta,
            reach_m=reach_m,
            destination_cost=graph.length_m.copy() if destinations_on_length else None,
        )
        flows[name] = result.flow
        rows.append(
            (
                name,
                result.origins,
                result.generated,
                result.assigned,
                result.unassigned,
                trip.unsnapped_production,
            )
        )
    return pd.DataFrame(flows), pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


@dataclass(frozen=True)
class FittedFlow:
    """Simulated people per segment scaled to MLIT, the ratios, and the validation against counters.

    Attributes
    ----------
    people_per_100m : pandas.DataFrame
        Per segment and scenario, in MLIT stay-population units (``mlit_ratio`` applied);
        trips-per-hour units when no MLIT value could be compared (ratio NaN: not applied).
    mlit_ratio : float
        Stay population per simulated person on the streets (equation (2) of
        :mod:`pipeline.flowsim.validation`), over ``mlit_pairs`` cell x scenario pairs.
    counter_ratio : float
        Counted per simulated walker per hour, over the counters' rows.
    validation : pandas.DataFrame
        GEH per counter and scenario after ``counter_ratio``.
    share_geh_below_5 : float
    """

    people_per_100m: pd.DataFrame
    mlit_ratio: float
    mlit_pairs: int
    counter_ratio: float
    validation: pd.DataFrame
    share_geh_below_5: float


def fit_and_validate(
    flows: pd.DataFrame,
    length_m: np.ndarray,
    segment_cells: np.ndarray,
    mlit_by_cell: pd.DataFrame | None = None,
    counted: pd.DataFrame | None = None,
    on_segment: pd.Series | None = None,
) -> FittedFlow:
    """The two fitted ratios and the validation table (module docstring).

    Parameters
    ----------
    flows : pandas.DataFrame
        From :func:`simulate_scenarios` (or tiles' flows put together).
    length_m : numpy.ndarray (n_segments,)
        Each row's segment length, metres.
    segment_cells : numpy.ndarray (n_segments,)
        Mesh code of each segment's midpoint.
    mlit_by_cell : pandas.DataFrame, optional
        MLIT stay population, index mesh code, one column per scenario (NaN not covered).
    counted, on_segment : optional
        Counter rows (``flow_by_counter``) and the segment of each counter
        (:func:`~pipeline.flowsim.validation.counter_segments`).
    """
    people = pd.DataFrame(
        people_on_segments(flows.to_numpy(), np.asarray(length_m, np.float64)[:, None]), columns=flows.columns
    )
    ratio, pairs = (
        mlit_ratio(cell_totals(people, segment_cells), mlit_by_cell)
        if mlit_by_cell is not None
        else (float("nan"), 0)
    )
    per_100m = pd.DataFrame(people_per_100m(flows.to_numpy()), columns=flows.columns)
    if np.isfinite(ratio):
        per_100m = per_100m * ratio
    table = pd.DataFrame(
        columns=["counter_id", "scenario", "day_type", "segment", "counted", "modelled", "geh"]
    )
    counter_ratio = share = float("nan")
    if counted is not None and on_segment is not None and len(on_segment):
        probe, _ = validation_table(counted, flows, on_segment)
        counter_ratio = fit_ratio(probe["modelled"].to_numpy(), probe["counted"].to_numpy())
        table, share = validation_table(counted, flows, on_segment, ratio=counter_ratio)
    return FittedFlow(per_100m, ratio, pairs, counter_ratio, table, share)
