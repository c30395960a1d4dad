"""CoolWalkability of a street network (Wolf, Vierø & Szell 2024, arXiv:2405.01225), with shade or UTCI.

The route choice model of the paper: a walker with sun-avoidance factor ``alpha >= 1``
experiences an edge of length ``l`` with ``l_sun`` metres in the sun and ``l_shade`` in
shade as

    lambda_alpha(e) = alpha * l_sun + l_shade                                  (1)

and takes the path minimising the summed experienced length,
``Lambda*_alpha(i -> j; S)``, given the network's shade ``S``. CoolWalkability is the share
of the largest possible reduction of experienced length that the real shade realises,
over all origin-destination pairs:

    C_alpha = sum_ij [Lambda*_alpha(i->j; no shade) - Lambda*_alpha(i->j; S)]
            / sum_ij [Lambda*_alpha(i->j; no shade) - Lambda*_alpha(i->j; all shade)]     (2)

With no shade every path costs ``alpha`` times its length and with shade everywhere
exactly its length, so the denominator is ``(alpha - 1) sum_ij d_ij`` (``d_ij``: the
shortest distance). As ``alpha -> 1`` the chosen paths become the shortest paths (ties
broken toward shade) and ``C_1`` is the shaded share of their length. The paper shows that
on a regular grid with equal building heights ``C_alpha = C_1`` for every ``alpha``: seeking
shade gains nothing over the shortest path. The *benefit* ``C_alpha - C_1`` is therefore
what routing through shade adds; it is reported with ``C_alpha``.

Pairs: every ordered pair of distinct nodes whose shortest distance is at most
``max_distance_m`` (the paper's destinations within reach of each source).

With UTCI (this project's extension): each metre has a comfort ``c`` in 0..1 instead of a
binary shade (``c_thermal`` of :mod:`pipeline.walkability.comfort` along the edge), and

    lambda_alpha(e) = l * (c + (1 - c) * alpha)                                (1')

(:func:`pipeline.walkability.accessibility.comfort_imp_factor` with ``sun_weight=alpha``):
a comfortable metre costs 1, a fully uncomfortable one ``alpha``. With ``c`` = shade share
this is exactly (1), so :func:`coolwalkability` computes both; the bounds of (2) become
"nowhere comfortable" and "everywhere comfortable". In winter the comfortable metres are
the sunny ones, so thermal CoolWalkability rewards routing through the sun.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from pipeline.walkability.accessibility import comfort_imp_factor
from pipeline.walkability.network import StreetNetwork

#: weight of discomfort that breaks ties between equally short paths (metres per metre)
TIE_BREAK = 1e-9


@dataclass(frozen=True)
class CoolWalkability:
    """CoolWalkability of a network for one ``alpha`` (equation 2 of the module docstring).

    Attributes
    ----------
    alpha : float
        Sun (discomfort) avoidance factor.
    value : float
        ``C_alpha``, 0..1.
    shortest_path_value : float
        ``C_1``: comfortable (shaded) share of the length of the shortest paths.
    benefit : float
        ``C_alpha - C_1``: what seeking comfort adds over taking the shortest path.
    n_pairs : int
        Origin-destination pairs counted.
    """

    alpha: float
    value: float
    shortest_path_value: float
    benefit: float
    n_pairs: int


def _graph(a: np.ndarray, b: np.ndarray, cost: np.ndarray, n: int, *extra: np.ndarray):
    """Undirected CSR graph keeping the cheapest of parallel edges, and ``extra`` per CSR entry."""
    rows = np.concatenate([a, b])
    cols = np.concatenate([b, a])
    cost = np.concatenate([cost, cost])
    extra = [np.concatenate([e, e]) for e in extra]
    order = np.lexsort((cost, cols, rows))
    rows, cols, cost = rows[order], cols[order], cost[order]
    first = np.ones(len(rows), bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    keep = order[first]
    graph = csr_matrix((cost[first], (rows[first], cols[first])), shape=(n, n))
    graph.sort_indices()
    # csr_matrix built from sorted, unique (row, col) keeps that order: extras align
    return graph, [e[keep] for e in extra]


@numba.njit(cache=True)
def _along_tree(order, pred, indptr, indices, length, discomfort, len_to, disc_to):
    """Length and discomfort from the source to each node along a predecessor tree."""
    for j in order:
        p = pred[j]
        if p < 0:
            len_to[j] = 0.0
            disc_to[j] = 0.0
            continue
        lo, hi = indptr[p], indptr[p + 1]
        while lo < hi:  # binary search of column j in row p
            mid = (lo + hi) // 2
            if indices[mid] < j:
                lo = mid + 1
            else:
                hi = mid
        len_to[j] = len_to[p] + length[lo]
        disc_to[j] = disc_to[p] + discomfort[lo]


def coolwalkability(
    network: StreetNetwork,
    comfort_share: np.ndarray,
    alpha: float,
    *,
    max_distance_m: float = 1000.0,
    chunk: int = 256,
) -> CoolWalkability:
    """CoolWalkability ``C_alpha``, ``C_1`` and their difference (module docstring).

    Parameters
    ----------
    network : StreetNetwork
        Segments with ``u``, ``v`` and ``length_m`` (metres).
    comfort_share : numpy.ndarray
        Per segment, 0..1: the shaded share of its length (the paper's CoolWalkability) or
        its ``c_thermal`` (thermal CoolWalkability). NaN counts as 0 (no shade known).
    alpha : float
        Avoidance factor, > 1 (2: an uncomfortable metre counts double).
    max_distance_m : float
        Pairs farther apart than this (shortest distance) are not counted.
    chunk : int
        Sources per Dijkstra call (bounds memory at ``chunk x nodes`` floats).
    """
    if not alpha > 1.0:
        raise ValueError(f"alpha must be greater than 1, got {alpha}")
    comfort = np.clip(np.nan_to_num(np.asarray(comfort_share, dtype=np.float64), nan=0.0), 0.0, 1.0)
    if comfort.shape != (len(network),):
        raise ValueError(f"comfort_share needs one value per segment ({len(network)}), got {comfort.shape}")
    node_index = pd.Index(network.nodes.index)
    a = node_index.get_indexer(network.segments["u"])
    b = node_index.get_indexer(network.segments["v"])
    if (a < 0).any() or (b < 0).any():
        raise ValueError("segments refer to nodes missing from network.nodes")
    length = np.maximum(network.segments["length_m"].to_numpy(dtype=np.float64), 1e-6)
    loop = a == b
    a, b, length, comfort = a[~loop], b[~loop], length[~loop], comfort[~loop]
    n = len(node_index)
    discomfort = length * (1.0 - comfort)
    plain, _ = _graph(a, b, length, n)
    experienced, _ = _graph(a, b, length * comfort_imp_factor(comfort, sun_weight=alpha), n)
    tie_broken, (tree_length, tree_discomfort) = _graph(
        a, b, length + TIE_BREAK * discomfort, n, length, discomfort
    )
    sum_d = sum_best = sum_len_sp = sum_disc_sp = 0.0
    pairs = 0
    len_to = np.empty(n)
    disc_to = np.empty(n)
    for start in range(0, n, chunk):
        sources = np.arange(start, min(n, start + chunk))
        d = dijkstra(plain, indices=sources, limit=max_distance_m * (1 + 1e-9))
        best = dijkstra(experienced, indices=sources, limit=alpha * max_distance_m * (1 + 1e-9))
        w, pred = dijkstra(
            tie_broken, indices=sources, return_predecessors=True, limit=max_distance_m * (1 + 1e-6)
        )
        for row, source in enumerate(sources):
            counted = np.isfinite(d[row]) & (d[row] > 0) & (d[row] <= max_distance_m)
            counted[source] = False
            if not counted.any():
                continue
            reach = np.flatnonzero(np.isfinite(w[row]))
            order = reach[np.argsort(w[row][reach], kind="stable")]
            _along_tree(
                order,
                pred[row].astype(np.int64),
                tie_broken.indptr,
                tie_broken.indices,
                tree_length,
                tree_discomfort,
                len_to,
                disc_to,
            )
            sum_d += d[row][counted].sum()
            sum_best += best[row][counted].sum()
            sum_len_sp += len_to[counted].sum()
            sum_disc_sp += disc_to[counted].sum()
            pairs += int(counted.sum())
    if pairs == 0:
        raise ValueError(f"no pair of nodes within {max_distance_m} m: nothing to measure")
    value = (alpha * sum_d - sum_best) / ((alpha - 1.0) * sum_d)
    shortest = 1.0 - sum_disc_sp / sum_len_sp
    return CoolWalkability(float(alpha), float(value), float(shortest), float(value - shortest), pairs)


def district_coolwalkability(
    scored: dict[str, pd.DataFrame], districts, *, alpha: float, max_distance_m: float = 1000.0
) -> pd.DataFrame:
    """CoolWalkability per district and scenario, with shade and with thermal comfort.

    Parameters
    ----------
    scored : dict of scenario name -> GeoDataFrame
        Scored segments of each scenario (``shade_share``, ``c_thermal`` when the thermal
        stage ran; junction-to-junction lines in a metric CRS).
    districts : GeoDataFrame
        Polygons with a ``district`` name, in the segments' CRS; a segment belongs to the
        district its midpoint lies in. Each district's network is its own segments.
    alpha : float
        Sun (discomfort) avoidance factor, > 1.

    Returns
    -------
    pandas.DataFrame
        ``district, scenario, alpha, segments, pairs, coolwalkability_shade,
        shade_benefit, coolwalkability_thermal, thermal_benefit`` (thermal columns NaN
        without ``c_thermal``).
    """
    import geopandas as gpd

    from pipeline.walkability.inputs import midpoint_districts
    from pipeline.walkability.network import from_lines

    rows = []
    for name, segments in scored.items():
        columns = [c for c in ("shade_share", "c_thermal") if c in segments]
        keys = pd.Series(midpoint_districts(segments, districts))
        for district, members in keys.dropna().groupby(keys.dropna(), sort=True):
            chosen = members.index.to_numpy()
            lines = gpd.GeoDataFrame(
                segments.iloc[chosen][columns].reset_index(drop=True),
                geometry=segments.geometry.to_numpy()[chosen],
                crs=segments.crs,
            )
            network = from_lines(lines)
            row = {"district": district, "scenario": name, "alpha": alpha, "segments": len(network)}
            for kind, column in (("shade", "shade_share"), ("thermal", "c_thermal")):
                if column not in network.segments or not network.segments[column].notna().any():
                    row[f"coolwalkability_{kind}"] = row[f"{kind}_benefit"] = np.nan
                    continue
                result = coolwalkability(
                    network, network.segments[column].to_numpy(float), alpha, max_distance_m=max_distance_m
                )
                row["pairs"] = result.n_pairs
                row[f"coolwalkability_{kind}"] = result.value
                row[f"{kind}_benefit"] = result.benefit
            rows.append(row)
    columns = [
        "district",
        "scenario",
        "alpha",
        "segments",
        "pairs",
        "coolwalkability_shade",
        "shade_benefit",
        "coolwalkability_thermal",
        "thermal_benefit",
    ]
    return pd.DataFrame(rows, columns=columns)
