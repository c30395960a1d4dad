"""Network accessibility, land-use mix and centrality with cityseer, with perceived lengths.

Destinations are assigned to the street front: cityseer puts each point on its nearest
street segment (within ``max_assign_m``) and reaches it through both ends of that
segment, with the distance along the segment. The assignment depends only on geometry,
so it is made once (:func:`assign_destinations`) and reused for every scenario.

Perceived ("comfort-weighted") lengths use cityseer's per-edge ``imp_factor``: a
segment of length L with factor f counts as f*L in every route, threshold and decay.
:func:`comfort_imp_factor` makes the factor from the segment's shade share and the
season's weights: ``f = shade_share * shade_weight + (1 - shade_share) * sun_weight``,
e.g. sun 1.5 / shade 1.0 on a summer afternoon (a metre in the sun feels 1.5 m) and
sun 0.9 / shade 1.1 on a winter morning. Plain lengths are ``f = 1``. (cityseer counts
the last stretch, from a node along the destination's own segment to its street front,
at plain length.)

Results are per node in cityseer; per segment they are the mean of the segment's two
end nodes (columns named ``access_<class>_<d>``, ``nearest_<class>_m``,
``mix_hill_q<q>_<d>``, ...).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from pipeline.walkability.cityseer_import import import_cityseer
from pipeline.walkability.network import StreetNetwork, network_structure

log = logging.getLogger(__name__)

#: Decay of a destination's weight with normalised distance p = d / threshold (cityseer
#: expression): exp(-4p) is 1 at the door and 0.02 at the threshold.
DEFAULT_DECAY = "exp(-4 * p)"


def _quiet_cityseer() -> None:
    import_cityseer()


def comfort_imp_factor(shade_share: np.ndarray, sun_weight: float, shade_weight: float = 1.0) -> np.ndarray:
    """Perceived length per metre of each segment (cityseer ``imp_factor``).

    Parameters
    ----------
    shade_share : array
        Share of each segment in shade, 0..1 (NaN = unknown, taken as plain length 1).
    sun_weight, shade_weight : float
        Cost of a metre in the sun / in shade for the scenario (> 0).
    """
    if sun_weight <= 0 or shade_weight <= 0:
        raise ValueError("sun and shade weights must be positive")
    share = np.clip(np.asarray(shade_share, float), 0.0, 1.0)
    factor = share * shade_weight + (1.0 - share) * sun_weight
    return np.where(np.isfinite(factor), factor, 1.0)


#: Perceived length of a metre walked along a busy street, relative to a quiet one: "busy
#: roads 14 % longer" in the pedestrian route-choice model of Broach, J. & Dill, J. (2015),
#: Pedestrian route choice model estimated from revealed preference GPS data, TRB 94th
#: Annual Meeting (as summarised by Lue, G. 2016, Estimating a Toronto pedestrian route
#: choice model using smartphone GPS data, Univ. of Toronto).
BUSY_STREET_FACTOR = 1.14
#: OSM ``highway`` classes taken as busy streets (arterials, which carry the high traffic
#: of Broach & Dill's variable; the model knows classes, not traffic counts).
BUSY_HIGHWAYS = frozenset(("trunk", "trunk_link", "primary", "primary_link", "secondary", "secondary_link"))


def traffic_factor(highway: Sequence[str], busy_factor: float = BUSY_STREET_FACTOR) -> np.ndarray:
    """Perceived length per metre from traffic: ``busy_factor`` on busy classes, else 1.

    Parameters
    ----------
    highway : sequence of str
        OSM ``highway`` class of each segment.
    busy_factor : float
        Perceived length of a metre on a busy street (>= 1), :data:`BUSY_STREET_FACTOR`.
    """
    if busy_factor < 1.0:
        raise ValueError(f"busy_factor must be at least 1, got {busy_factor}")
    busy = np.isin(np.asarray(highway, dtype=object).astype(str), sorted(BUSY_HIGHWAYS))
    return np.where(busy, float(busy_factor), 1.0)


def assign_destinations(
    network: StreetNetwork, destinations: gpd.GeoDataFrame, *, ns=None, max_assign_m: float = 100.0
):
    """cityseer ``DataMap`` of destinations assigned to their street fronts.

    ``destinations`` are points in the network's CRS with a unique index.
    """
    _quiet_cityseer()
    from cityseer.metrics import layers

    if destinations.crs != network.crs:
        destinations = destinations.to_crs(network.crs)
    data = destinations.copy()
    data.index = data.index.astype(str)
    return layers.build_data_map(data, ns if ns is not None else network_structure(network), max_assign_m)


def _per_segment(
    network: StreetNetwork, node_keys: Sequence[str], columns: Mapping[str, np.ndarray]
) -> pd.DataFrame:
    """Node values -> segment values (mean of the two end nodes)."""
    nodes = pd.DataFrame(dict(columns), index=pd.Index(list(node_keys)))
    u = nodes.reindex(network.segments["u"]).to_numpy()
    v = nodes.reindex(network.segments["v"]).to_numpy()
    with np.errstate(invalid="ignore"):
        values = np.where(np.isnan(u), v, np.where(np.isnan(v), u, (u + v) / 2.0))
    return pd.DataFrame(values, index=network.segments.index, columns=nodes.columns)


def accessibility(
    network: StreetNetwork,
    destinations: gpd.GeoDataFrame,
    class_column: str,
    *,
    classes: Sequence[str] | None = None,
    distances: Sequence[int] = (400, 800),
    imp_factor: np.ndarray | None = None,
    decay: str = DEFAULT_DECAY,
    data_map=None,
    max_assign_m: float = 100.0,
    per_node: bool = False,
) -> pd.DataFrame:
    """Decay-weighted count of reachable destinations per class, per segment.

    Parameters
    ----------
    network : StreetNetwork
    destinations : geopandas.GeoDataFrame
        Points with ``class_column`` (e.g. "shop", "school", "park", "clinic", "station").
    distances : sequence of int
        Thresholds in metres of (perceived) walking length.
    imp_factor : array, optional
        Perceived length per metre for each segment (see :func:`comfort_imp_factor`).
    data_map : optional
        From :func:`assign_destinations`, to reuse across scenarios.
    per_node : bool
        Return values per network node (index: node id) instead of per segment.

    Returns
    -------
    pandas.DataFrame
        Index: segment (or node). ``access_<class>_<d>`` (sum of exp(-4 d/threshold) over reachable
        destinations) and ``nearest_<class>_m`` (perceived metres to the nearest one
        within the largest threshold; NaN if none).
    """
    _quiet_cityseer()
    start = time.perf_counter()
    ns = network_structure(network, imp_factor)
    if data_map is None:
        data_map = assign_destinations(network, destinations, ns=ns, max_assign_m=max_assign_m)
    labels = destinations[class_column]
    classes = list(classes) if classes is not None else sorted(labels.dropna().unique().tolist())
    landuses = {str(k): str(v) for k, v in labels.items() if pd.notna(v)}
    result = data_map.accessibility_decays(
        ns, landuses, classes, [decay], distances=list(distances), pbar_disabled=True
    )[0]
    columns = {}
    for cls in classes:
        for d in distances:
            columns[f"access_{cls}_{d}"] = np.asarray(result.result[cls].count[d], float)
        columns[f"nearest_{cls}_m"] = np.asarray(result.result[cls].distance[max(distances)], float)
    out = (
        pd.DataFrame(columns, index=pd.Index(list(result.node_keys_py), name="node"))
        if per_node
        else _per_segment(network, result.node_keys_py, columns)
    )
    log.info(
        "accessibility: %d segments, %d destinations, %d classes, %.2f s",
        len(network),
        len(landuses),
        len(classes),
        time.perf_counter() - start,
    )
    return out


def land_use_mix(
    network: StreetNetwork,
    destinations: gpd.GeoDataFrame,
    class_column: str,
    *,
    distances: Sequence[int] = (400, 800),
    imp_factor: np.ndarray | None = None,
    decay: str = DEFAULT_DECAY,
    data_map=None,
    max_assign_m: float = 100.0,
) -> pd.DataFrame:
    """Land-use diversity per segment: Hill numbers q=0,1,2 (decay-weighted) and Shannon entropy.

    Columns ``mix_hill_q<q>_<d>`` (effective number of classes) and ``mix_shannon_<d>``.
    """
    _quiet_cityseer()
    ns = network_structure(network, imp_factor)
    if data_map is None:
        data_map = assign_destinations(network, destinations, ns=ns, max_assign_m=max_assign_m)
    landuses = {str(k): str(v) for k, v in destinations[class_column].items() if pd.notna(v)}
    result = data_map.mixed_uses_decays(
        ns,
        landuses,
        [decay],
        distances=list(distances),
        compute_hill=True,
        compute_shannon=True,
        pbar_disabled=True,
    )[0]
    columns = {}
    for d in distances:
        for q in (0, 1, 2):
            columns[f"mix_hill_q{q}_{d}"] = np.asarray(result.hill[q][d], float)
        columns[f"mix_shannon_{d}"] = np.asarray(result.shannon[d], float)
    return _per_segment(network, result.node_keys_py, columns)


def centrality(
    network: StreetNetwork, *, distances: Sequence[int] = (400, 800), imp_factor: np.ndarray | None = None
) -> pd.DataFrame:
    """Shortest-path closeness (harmonic) and betweenness per segment, from cityseer.

    Columns ``centrality_<metric>_<d>`` for whatever cityseer returns by default
    (harmonic closeness, betweenness, node density, ...).
    """
    _quiet_cityseer()
    from cityseer.metrics import networks

    ns = network_structure(network, imp_factor)
    nodes = gpd.GeoDataFrame(
        network.nodes.copy(),
        geometry=gpd.points_from_xy(network.nodes["x"], network.nodes["y"]),
        crs=network.crs,
    )
    nodes["live"] = True
    nodes = networks.centrality_shortest(ns, nodes, distances=list(distances))
    picked = {f"centrality_{c[3:]}": nodes[c].to_numpy(float) for c in nodes.columns if c.startswith("cc_")}
    return _per_segment(network, list(nodes.index), picked)
