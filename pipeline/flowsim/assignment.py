"""Joint destination and route choice of walkers on the scenario's perceived cost, assigned exactly.

Perceived cost
    A segment of length ``l`` (m) costs ``C(e) = l * f(e)`` metres of perceived walk,
    ``f`` its perceived length per metre (> 0). The flow stage takes ``f`` from the
    walkability stage: the ``imp_factor`` of its per-scenario rows, which its
    comfort-weighted access walks on (:mod:`pipeline.walkability.metrics`: the comfort part
    :func:`~pipeline.walkability.accessibility.comfort_imp_factor` times the street's
    traffic part :func:`~pipeline.walkability.accessibility.traffic_factor`), so that routes
    and access feel a street the same way: a street made pedestrian-only changes both.
    With comfort
    ``c`` in 0..1 (``c_thermal``) the comfort part is

        f = c + (1 - c) * alpha                                                   (1)

    a comfortable metre costs 1, a fully uncomfortable one ``alpha``
    (``stages.walkability.discomfort_weight``, 1.6, in the walkability stage): the CoolWalks
    route-choice model of Wolf, Vierø & Szell (2024, "CoolWalks for active mobility in
    urban street networks", arXiv:2405.01225), equation (1) of
    :mod:`pipeline.walkability.coolwalk` (:func:`perceived_cost`). At heat-day midday the
    comfortable metres are the shaded ones; in winter the sunny ones.

Choice
    A walker leaving node ``o`` picks a destination node ``j`` (within ``reach_m`` of
    plain walking distance) and a path ``p`` to it with the multinomial logit

        P(j, p | o) = A_j exp(-theta C_p) / sum_k sum_q A_k exp(-theta C_q)       (2)

    (``A_j`` the attraction of ``j``: trip ends per hour; ``C_p`` the summed cost (1)).
    It is the joint (combined) destination and route logit of Sheffi (1985, *Urban
    Transportation Networks*, Prentice-Hall, part III, joint travel choices): one
    dispersion ``theta`` (1/m of perceived cost) rules both how far people walk and how
    they spread over routes. With ``destination_cost`` (e.g. plain lengths) the
    destinations are chosen on that cost and only the split over paths uses (1): where
    people go stays fixed and only their routes feel the scenario. ``theta`` is a behavioural parameter that must be given;
    :func:`pipeline.flowsim.validation.calibrate_theta` fits it on counters.

Paths
    The sum over paths in (2) runs over *efficient* paths: each step moves farther from
    the origin in plain shortest distance ``d`` (Dial 1971, "A probabilistic multipath
    traffic assignment model which obviates path enumeration", Transportation Research
    5(2):83-111, with his "reasonable path" criterion on distance). Which paths are
    efficient depends on the street geometry only, not on the scenario, so heat
    re-weights the same alternatives. Dial's algorithm evaluates (2) over all efficient
    paths without listing them: one Dijkstra per origin (``scipy.sparse.csgraph``,
    bounded at ``reach_m``), a forward pass summing link likelihoods
    ``L_ij = exp(-theta (C_ij - (d_j - d_i)))`` in order of ``d``, and a backward pass
    splitting each node's flow over its efficient incoming arcs. Each origin is
    independent; the passes are compiled with numba.

Conservation: every trip generated at an origin that reaches at least one destination is
assigned in full (rounding only); trips of origins with no destination within reach are
counted as ``unassigned``, never dropped silently.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numba
import numpy as np
from scipy.sparse.csgraph import dijkstra

from pipeline.flowsim.graph import FlowGraph

log = logging.getLogger(__name__)

#: Largest exponent ``theta x reach x alpha`` kept clear of float64 underflow (exp(-700)).
MAX_EXPONENT = 600.0


def perceived_cost(length_m: np.ndarray, comfort: np.ndarray, alpha: float) -> np.ndarray:
    """Perceived metres per segment from length (m) and comfort 0..1 by equation (1) (NaN -> 1 x):
    the comfort part of the cost alone, without the street's traffic."""
    if not alpha >= 1.0:
        raise ValueError(f"alpha must be at least 1, got {alpha}")
    c = np.clip(np.asarray(comfort, np.float64), 0.0, 1.0)
    factor = np.where(np.isfinite(c), c + (1.0 - c) * alpha, 1.0)
    return np.asarray(length_m, np.float64) * factor


@dataclass(frozen=True)
class Assignment:
    """Walkers per segment for one scenario.

    Attributes
    ----------
    flow : numpy.ndarray (n_segments,)
        Trips per hour along each segment, both directions summed (the trips' unit).
    generated : float
        Trips produced at origins snapped to the network.
    assigned : float
        Trips that reached a destination (sum of the demand delivered).
    unassigned : float
        Trips of origins with no destination within reach.
    origins : int
        Origins processed.
    """

    flow: np.ndarray
    generated: float
    assigned: float
    unassigned: float
    origins: int


@numba.njit(cache=True)
def _forward(order, o, d, indptr, head, segment, cost, theta, W):
    """Dial's forward pass: W_j = sum over efficient arcs i->j of W_i L_ij, in order of d."""
    for j in order:
        if j == o:
            W[j] = 1.0
            continue
        w = 0.0
        for a in range(indptr[j], indptr[j + 1]):
            i = head[a]  # arc j->i; the reverse arc i->j has the same cost
            if d[i] < d[j]:
                w += W[i] * np.exp(-theta * (cost[segment[a]] - (d[j] - d[i])))
        W[j] = w


@numba.njit(cache=True)
def _assign_chunk(
    dist,
    origins,
    production,
    attraction,
    indptr,
    head,
    segment,
    cost,
    dest_cost,
    separate,
    theta,
    flow,
    W,
    V,
    X,
):
    """Dial forward/backward passes for each origin of a chunk; returns (assigned, unassigned).

    Destinations are weighted with ``dest_cost`` (its own forward pass into ``V``) when
    ``separate``, else with ``cost``.
    """
    assigned = 0.0
    unassigned = 0.0
    n = dist.shape[1]
    for row in range(origins.shape[0]):
        o = origins[row]
        d = dist[row]
        count = 0
        for j in range(n):
            if np.isfinite(d[j]):
                count += 1
        reach = np.empty(count, np.int64)
        k = 0
        for j in range(n):
            if np.isfinite(d[j]):
                reach[k] = j
                k += 1
        order = reach[np.argsort(d[reach], kind="mergesort")]
        _forward(order, o, d, indptr, head, segment, cost, theta, W)
        if separate:
            _forward(order, o, d, indptr, head, segment, dest_cost, theta, V)
        else:
            for j in order:
                V[j] = W[j]
        total = 0.0
        for j in order:
            if j != o:
                total += attraction[j] * V[j] * np.exp(-theta * d[j])
        if total <= 0.0:
            unassigned += production[row]
            for j in order:
                W[j] = 0.0
                V[j] = 0.0
            continue
        # demand and backward pass
        for j in order:
            X[j] = 0.0 if j == o else production[row] * attraction[j] * V[j] * np.exp(-theta * d[j]) / total
            assigned += X[j]
        for m in range(order.shape[0] - 1, -1, -1):
            j = order[m]
            if j == o or X[j] == 0.0 or W[j] == 0.0:
                continue
            for a in range(indptr[j], indptr[j + 1]):
                i = head[a]
                if d[i] < d[j]:
                    share = W[i] * np.exp(-theta * (cost[segment[a]] - (d[j] - d[i]))) / W[j]
                    moved = X[j] * share
                    flow[segment[a]] += moved
                    X[i] += moved
        for j in order:
            W[j] = 0.0
            V[j] = 0.0
            X[j] = 0.0
    return assigned, unassigned


def assign(
    graph: FlowGraph,
    cost: np.ndarray,
    production: np.ndarray,
    attraction: np.ndarray,
    *,
    theta: float,
    reach_m: float = 2000.0,
    destination_cost: np.ndarray | None = None,
    chunk: int = 128,
) -> Assignment:
    """Assign trips with the joint logit (2) (module docstring).

    Parameters
    ----------
    graph : FlowGraph
    cost : numpy.ndarray (n_segments,)
        Perceived cost per segment, metres (> 0): its length times its perceived length
        per metre (module docstring). A factor below 1 (a metre in the winter sun felt
        shorter) is allowed: efficient paths are set by plain distance, not by cost.
    production, attraction : numpy.ndarray (n_nodes,)
        Trips per hour leaving each node; attraction weight of each node (trip ends per
        hour; only relative values matter).
    theta : float
        Logit dispersion, 1/m of perceived cost (> 0).
    reach_m : float
        Longest walk considered (plain shortest distance, metres).
    destination_cost : numpy.ndarray (n_segments,), optional
        Cost with which destinations are chosen, when it should differ from ``cost``:
        with plain lengths, where people go stays fixed and only how they get there
        feels the scenario (the sum over paths of (2) taken with this cost, the split over
        paths with ``cost``: a nested logit, destination above route). Default: ``cost``,
        the joint logit (2), where costlier metres also shorten the trips chosen.
    chunk : int
        Origins per Dijkstra call (memory ``chunk x n_nodes`` floats).
    """
    cost = np.asarray(cost, np.float64)
    production = np.asarray(production, np.float64)
    attraction = np.asarray(attraction, np.float64)
    if cost.shape != (graph.n_segments,):
        raise ValueError(f"cost needs one value per segment ({graph.n_segments}), got {cost.shape}")
    if production.shape != (graph.n_nodes,) or attraction.shape != (graph.n_nodes,):
        raise ValueError(f"production and attraction need one value per node ({graph.n_nodes})")
    if not np.all(np.isfinite(cost)) or np.any(cost <= 0):
        raise ValueError("perceived cost must be finite and positive on every segment")
    if np.any(production < 0) or np.any(attraction < 0):
        raise ValueError("productions and attractions must be non-negative")
    separate = destination_cost is not None
    dest_cost = cost if destination_cost is None else np.asarray(destination_cost, np.float64)
    if dest_cost.shape != cost.shape or not np.all(np.isfinite(dest_cost)) or np.any(dest_cost <= 0):
        raise ValueError("destination_cost needs one finite positive value per segment")
    if not theta > 0:
        raise ValueError(f"theta must be positive, got {theta}")
    # exponents stay within theta x reach x the largest factor (at least 1: a factor below 1
    # lets a likelihood exceed 1 by at most exp(theta x reach))
    worst = theta * reach_m * float(np.max(np.maximum(cost, dest_cost) / graph.length_m, initial=1.0))
    if worst > MAX_EXPONENT:
        raise ValueError(
            f"theta x reach x cost factor = {worst:.0f} > {MAX_EXPONENT:.0f}: "
            "likelihoods would underflow; lower theta or reach_m"
        )
    start = time.perf_counter()
    origins = np.flatnonzero(production > 0)
    flow = np.zeros(graph.n_segments)
    W = np.zeros(graph.n_nodes)
    V = np.zeros(graph.n_nodes)
    X = np.zeros(graph.n_nodes)
    assigned = unassigned = 0.0
    for s in range(0, len(origins), chunk):
        batch = origins[s : s + chunk]
        dist = dijkstra(graph.lengths, indices=batch, limit=reach_m)
        a, u = _assign_chunk(
            np.atleast_2d(dist),
            batch,
            production[batch],
            attraction,
            graph.indptr,
            graph.head,
            graph.segment,
            cost,
            dest_cost,
            separate,
            float(theta),
            flow,
            W,
            V,
            X,
        )
        assigned += a
        unassigned += u
    generated = float(production.sum())
    log.info(
        "assigned %.0f of %.0f trips from %d origins (%.0f unassigned) in %.2f s",
        assigned,
        generated,
        len(origins),
        unassigned,
        time.perf_counter() - start,
    )
    return Assignment(flow, generated, float(assigned), float(unassigned), len(origins))
