"""The pedestrian street network: loading (OSM XML, line layers), a grid generator, cityseer structures.

A :class:`StreetNetwork` is two tables in a metric CRS: ``nodes`` (index: node id as str;
``x``, ``y`` metres) and ``segments`` (GeoDataFrame, index: segment id 0..n-1; ``u``,
``v`` node ids, ``length_m``, ``highway``, LineString from ``u`` to ``v``). Every metric
of the walkability stage is a column on ``segments``.

OSM XML is read with osmnx, which applies no filter to a file, so osmnx's own "walk"
filter (the Overpass filter osmnx uses to download walkable ways) is applied to the
edge tags after loading: motorways, private ways, cycleways and anything without a
``highway`` tag (building outlines) are dropped.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString

from tiles.atomic import write_text_atomic

log = logging.getLogger(__name__)

_CLAUSE = re.compile(r'\["([^"]+)"(?:(!?~)"([^"]*)")?\]')


@dataclass
class StreetNetwork:
    """Street segments between junctions, in a metric CRS."""

    nodes: pd.DataFrame
    segments: gpd.GeoDataFrame

    @property
    def crs(self):
        return self.segments.crs

    def __len__(self) -> int:
        return len(self.segments)


def walk_filter_clauses() -> list[tuple[str, str | None, str | None]]:
    """osmnx's 'walk' Overpass filter as ``(key, operator, regex)`` clauses.

    ``operator`` None means the key must be present; ``"!~"`` that its value must not
    match the regex (an absent key passes); ``"~"`` that it must match.
    """
    from osmnx import _overpass

    text = _overpass._get_network_filter("walk")
    return [(k, op or None, rx or None) for k, op, rx in _CLAUSE.findall(text)]


def passes_walk_filter(tags: dict, clauses=None) -> bool:
    """Whether an OSM way with ``tags`` is walkable by osmnx's 'walk' filter."""
    for key, op, regex in clauses or walk_filter_clauses():
        value = tags.get(key)
        values = (
            []
            if value is None or (isinstance(value, float) and np.isnan(value))
            else ([str(v) for v in value] if isinstance(value, list) else [str(value)])
        )
        if op is None:
            if not values:
                return False
        elif op == "!~":
            if any(re.search(regex, v) for v in values):
                return False
        elif not any(re.search(regex, v) for v in values):
            return False
    return True


def from_osm_xml(path: str | os.PathLike, crs: str | int) -> StreetNetwork:
    """Walkable street network from an OSM XML file, projected to ``crs`` (metric).

    Topology is simplified by osmnx (segments run junction to junction).
    """
    import osmnx as ox

    start = time.perf_counter()
    useful = set(ox.settings.useful_tags_way) | {
        "foot",
        "sidewalk",
        "sidewalk:both",
        "sidewalk:left",
        "sidewalk:right",
        "service",
        "area",
        "access",
    }
    ox.settings.useful_tags_way = sorted(useful)
    try:
        graph = ox.graph_from_xml(path, simplify=True, retain_all=True)
    except Exception as exc:  # osmnx raises several types for unreadable files
        raise ValueError(f"{path}: not a readable OSM XML street file: {exc}") from exc
    clauses = walk_filter_clauses()
    drop = [
        (u, v, k)
        for u, v, k, tags in graph.edges(keys=True, data=True)
        if not passes_walk_filter(tags, clauses)
    ]
    graph.remove_edges_from(drop)
    graph.remove_nodes_from([n for n in list(graph.nodes) if graph.degree(n) == 0])
    graph = ox.project_graph(graph, to_crs=crs)
    nodes, edges = ox.graph_to_gdfs(ox.convert.to_undirected(graph))
    edges = edges.reset_index()
    highway = edges["highway"].map(lambda h: h[0] if isinstance(h, list) else h)

    def first(v):
        return v[0] if isinstance(v, list) else v

    name = (
        edges["name"].map(first).fillna("").astype(str)
        if "name" in edges
        else pd.Series("", index=edges.index)
    )
    network = from_lines(
        gpd.GeoDataFrame(
            {"highway": highway.to_numpy(), "name": name.to_numpy()},
            geometry=edges.geometry.to_numpy(),
            crs=edges.crs,
        )
    )
    log.info(
        "read %s: %d walkable segments (%d ways dropped by the walk filter), %.2f s",
        path,
        len(network),
        len(drop),
        time.perf_counter() - start,
    )
    return network


def from_lines(
    lines: gpd.GeoDataFrame, crs: str | int | None = None, *, snap_m: float = 0.01
) -> StreetNetwork:
    """Street network from a line layer (GeoPackage/GeoParquet read with geopandas).

    Lines are split where they share vertices; nodes are line ends (coordinates rounded
    to ``snap_m``). Lines must already meet at junction vertices (as OSM ways do).
    Other columns (e.g. ``highway``, ``width_m``) are kept on the segments.
    """
    if crs is not None:
        lines = lines.to_crs(crs)
    if lines.crs is None or not lines.crs.is_projected:
        raise ValueError("street lines must be in (or be projected to) a metric CRS")
    lines = lines.explode(index_parts=False).reset_index(drop=True)
    lines = lines[~lines.geometry.is_empty & (lines.geometry.geom_type == "LineString")]
    # split each line at vertices that are shared with another line (junctions)
    coords = shapely.get_coordinates(lines.geometry.to_numpy())
    counts = shapely.get_num_coordinates(lines.geometry.to_numpy())
    key = np.round(coords / snap_m).astype(np.int64)
    _, inverse, uses = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    pieces, attrs, us, vs = [], [], [], []
    ends = np.cumsum(counts)
    starts = ends - counts
    for row, (s, e) in enumerate(zip(starts, ends)):
        cut = [s] + [i for i in range(s + 1, e - 1) if uses[inverse[i]] > 1] + [e - 1]
        for a, b in zip(cut[:-1], cut[1:]):
            if inverse[a] == inverse[b] and b - a < 2:
                continue
            pieces.append(LineString(coords[a : b + 1]))
            us.append(inverse[a])
            vs.append(inverse[b])
            attrs.append(row)
    node_xy = np.zeros((len(uses), 2))
    node_xy[inverse] = coords
    segments = lines.drop(columns=lines.geometry.name).iloc[attrs].reset_index(drop=True)
    segments = gpd.GeoDataFrame(segments, geometry=pieces, crs=lines.crs)
    segments.insert(0, "u", [f"n{i}" for i in us])
    segments.insert(1, "v", [f"n{i}" for i in vs])
    segments["length_m"] = segments.geometry.length
    if "highway" not in segments:
        segments["highway"] = "unclassified"
    used = np.unique(np.concatenate([us, vs])) if pieces else np.array([], dtype=np.int64)
    nodes = pd.DataFrame(
        {"x": node_xy[used, 0], "y": node_xy[used, 1]}, index=pd.Index([f"n{i}" for i in used], name="node")
    )
    segments.index.name = "segment"
    return StreetNetwork(nodes=nodes, segments=segments)


def network_structure(network: StreetNetwork, imp_factor: np.ndarray | None = None):
    """A cityseer ``NetworkStructure`` of the network, with a per-segment impedance factor.

    ``imp_factor`` (one per segment, > 0, default 1) multiplies each segment's length in
    every shortest path, threshold and decay: a perceived length.
    """
    from pipeline.walkability.cityseer_import import import_cityseer

    import_cityseer()
    from cityseer import rustalgos

    factors = np.ones(len(network)) if imp_factor is None else np.asarray(imp_factor, float)
    if factors.shape != (len(network),) or np.any(~np.isfinite(factors)) or np.any(factors <= 0):
        raise ValueError("imp_factor must be one positive finite value per segment")
    ns = rustalgos.graph.NetworkStructure()
    index = {}
    for key, x, y in zip(network.nodes.index, network.nodes["x"].to_numpy(), network.nodes["y"].to_numpy()):
        index[key] = ns.add_street_node(key, float(x), float(y), True, 1.0)
    seg = network.segments
    for i, (u, v, geom, f) in enumerate(zip(seg["u"], seg["v"], seg.geometry, factors)):
        wkt = geom.wkt
        reverse = geom.reverse().wkt
        # edge_idx distinguishes parallel segments between the same two nodes
        ns.add_street_edge(index[u], index[v], i, u, v, wkt, float(f))
        ns.add_street_edge(index[v], index[u], i, v, u, reverse, float(f))
    ns.validate()
    ns.build_edge_rtree()
    return ns


def write_osm_xml(
    path: str | os.PathLike, streets: Iterable[tuple[LineString, dict]], *, node_crossings: bool = True
) -> str:
    """Write street LineStrings (lon, lat degrees) with their tags as an OSM XML file.

    Vertices shared by several streets (to 1e-7 degrees) become one OSM node, so streets
    meeting at a vertex form a junction; with ``node_crossings`` streets that cross
    between vertices get a shared vertex there first. Written atomically.

    Parameters
    ----------
    streets : iterable of (LineString, dict)
        Geometry in lon/lat (EPSG:4326/6668) and OSM tags, e.g. ``{"highway": "residential"}``.
    """
    streets = list(streets)
    if node_crossings:
        streets = _with_shared_crossings(streets)
    node_ids: dict[tuple[int, int], int] = {}
    node_lines, way_lines = [], []
    for way_id, (line, tags) in enumerate(streets, start=1):
        refs = []
        for lon, lat in np.asarray(line.coords)[:, :2]:
            k = (round(lon * 1e7), round(lat * 1e7))
            if k not in node_ids:
                node_ids[k] = len(node_ids) + 1
                node_lines.append(f'  <node id="{node_ids[k]}" version="1" lat="{lat:.7f}" lon="{lon:.7f}"/>')
            refs.append(node_ids[k])
        body = "".join(f'\n    <nd ref="{r}"/>' for r in refs)
        body += "".join(f"\n    <tag k={quoteattr(str(k))} v={quoteattr(str(v))}/>" for k, v in tags.items())
        way_lines.append(f'  <way id="{way_id}" version="1">{body}\n  </way>')
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="machi">\n'
        + "\n".join(node_lines + way_lines)
        + "\n</osm>\n"
    )
    write_text_atomic(path, text)
    log.info("wrote %s: %d ways, %d nodes", path, len(way_lines), len(node_lines))
    return str(path)


def grid_streets(
    origin_lat: float,
    origin_lon: float,
    *,
    nx: int = 6,
    ny: int = 6,
    spacing_m: float = 100.0,
    highway: str = "residential",
    crs: str | int = "EPSG:6677",
) -> list[tuple[LineString, dict]]:
    """Streets of a regular grid (lon/lat), block by block so every crossing is a shared vertex.

    The grid is laid out in ``crs`` (metres) from the origin at its south-west corner.
    """
    from pyproj import Transformer

    to_m = Transformer.from_crs("EPSG:6668", crs, always_xy=True)
    to_deg = Transformer.from_crs(crs, "EPSG:6668", always_xy=True)
    x0, y0 = to_m.transform(origin_lon, origin_lat)
    xs = x0 + spacing_m * np.arange(nx + 1)
    ys = y0 + spacing_m * np.arange(ny + 1)
    streets = []
    for y in ys:
        lon, lat = to_deg.transform(xs, np.full_like(xs, y))
        streets.append((LineString(np.column_stack([lon, lat])), {"highway": highway}))
    for x in xs:
        lon, lat = to_deg.transform(np.full_like(ys, x), ys)
        streets.append((LineString(np.column_stack([lon, lat])), {"highway": highway}))
    return streets


def write_grid_osm(path: str | os.PathLike, origin_lat: float, origin_lon: float, **grid) -> str:
    """Write a street grid (see :func:`grid_streets`) as OSM XML."""
    return write_osm_xml(path, grid_streets(origin_lat, origin_lon, **grid))


def _with_shared_crossings(streets: Sequence[tuple[LineString, dict]]) -> list[tuple[LineString, dict]]:
    """Insert the crossing points of the streets as vertices of each (noded lines)."""
    lines = [s for s, _ in streets]
    out = []
    for line, tags in streets:
        others = shapely.union_all([o for o in lines if o is not line])
        crossing = line.intersection(others)
        pts = shapely.get_coordinates(crossing)
        coords = np.vstack([np.asarray(line.coords)[:, :2], pts])
        along = shapely.line_locate_point(line, shapely.points(coords))
        order = np.argsort(along, kind="stable")
        coords, along = coords[order], along[order]
        keep = np.concatenate([[True], np.diff(along) > 1e-9])
        out.append((LineString(coords[keep]), tags))
    return out
