"""Walkability network core: OSM loading with the walk filter, accessibility vs brute force, shade."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, Point

pytest.importorskip("cityseer")

from pipeline.walkability.accessibility import (
    accessibility,
    assign_destinations,
    comfort_imp_factor,
    land_use_mix,
)
from pipeline.walkability.network import (
    from_lines,
    from_osm_xml,
    grid_streets,
    passes_walk_filter,
    walk_filter_clauses,
    write_grid_osm,
    write_osm_xml,
)

CRS = "EPSG:6677"
OMIYA = (35.9063, 139.6237)


def test_walk_filter_matches_osmnx_rules():
    clauses = walk_filter_clauses()
    assert passes_walk_filter({"highway": "residential"}, clauses)
    assert passes_walk_filter({"highway": "footway"}, clauses)
    assert not passes_walk_filter({"highway": "motorway"}, clauses)
    assert not passes_walk_filter({"highway": "cycleway"}, clauses)
    assert not passes_walk_filter({"highway": "residential", "access": "private"}, clauses)
    assert not passes_walk_filter({"building": "yes"}, clauses)
    assert not passes_walk_filter({"highway": "primary", "foot": "no"}, clauses)


def test_osm_xml_round_trip_drops_motorway_and_buildings(tmp_path):
    pytest.importorskip("osmnx")
    streets = grid_streets(*OMIYA, nx=3, ny=2, spacing_m=100.0)
    lon0, lat0 = streets[0][0].coords[0]
    extra = [
        (LineString([(lon0 - 0.002, lat0 - 0.001), (lon0 + 0.006, lat0 - 0.001)]), {"highway": "motorway"}),
        (
            shapely.Polygon(
                [
                    (lon0 + 0.0002, lat0 + 0.0002),
                    (lon0 + 0.0004, lat0 + 0.0002),
                    (lon0 + 0.0004, lat0 + 0.0004),
                    (lon0 + 0.0002, lat0 + 0.0002),
                ]
            ).exterior,
            {"building": "yes"},
        ),
    ]
    path = write_osm_xml(tmp_path / "streets.osm", streets + extra)
    network = from_osm_xml(path, CRS)
    assert set(network.segments["highway"]) == {"residential"}
    # a 3 x 2 block grid: 3 rows of 3 blocks and 4 columns of 2 blocks = 17 blocks of 100 m;
    # osmnx joins the two sides at each of the 4 corners (degree-2 nodes): 13 segments
    assert len(network) == 13
    assert network.segments["length_m"].sum() == pytest.approx(1700.0, abs=1.0)
    assert sorted(np.round(network.segments["length_m"]).astype(int).unique()) == [100, 200]
    grid_path = write_grid_osm(tmp_path / "grid.osm", *OMIYA, nx=2, ny=2)
    assert len(from_osm_xml(grid_path, CRS)) == 12 - 4


def _jittered_grid(n=5, spacing=100.0, jitter=15.0, seed=3):
    rng = np.random.default_rng(seed)
    xy = {
        (i, j): (i * spacing + rng.uniform(-jitter, jitter), j * spacing + rng.uniform(-jitter, jitter))
        for i in range(n)
        for j in range(n)
    }
    lines = []
    for (i, j), p in xy.items():
        if i + 1 < n:
            lines.append(LineString([p, xy[(i + 1, j)]]))
        if j + 1 < n:
            lines.append(LineString([p, xy[(i, j + 1)]]))
    return from_lines(gpd.GeoDataFrame(geometry=lines, crs=CRS))


def _destinations_on(network, n, seed=5, offset=3.0):
    """Points beside random segments: (GeoDataFrame, segment, fraction along)."""
    rng = np.random.default_rng(seed)
    seg_ids = rng.integers(0, len(network), n)
    frac = rng.uniform(0.1, 0.9, n)
    pts, classes = [], []
    for k, (s, t) in enumerate(zip(seg_ids, frac)):
        line = network.segments.geometry.iloc[s]
        a, b = np.asarray(line.coords[0]), np.asarray(line.coords[-1])
        d = (b - a) / np.linalg.norm(b - a)
        p = a + t * (b - a) + offset * np.array([-d[1], d[0]])
        pts.append(Point(p))
        classes.append("shop" if k % 2 == 0 else "school")
    gdf = gpd.GeoDataFrame(
        {"class": classes}, geometry=pts, crs=CRS, index=pd.Index([f"d{k}" for k in range(n)])
    )
    return gdf, seg_ids, frac


def test_accessibility_equals_brute_force_dijkstra():
    network = _jittered_grid()
    dest, seg_ids, frac = _destinations_on(network, 30)
    got = accessibility(network, dest, "class", distances=(200, 400), decay="1", per_node=True)
    graph = nx.Graph()
    for s in network.segments.itertuples():
        graph.add_edge(s.u, s.v, weight=s.length_m)
    dist = dict(nx.all_pairs_dijkstra_path_length(graph, weight="weight"))
    seg = network.segments
    for threshold in (200, 400):
        for cls in ("shop", "school"):
            for node in network.nodes.index:
                count = 0
                for k in np.flatnonzero(dest["class"].to_numpy() == cls):
                    s = seg.iloc[seg_ids[k]]
                    along = frac[k] * s.length_m
                    d = min(dist[node][s.u] + along, dist[node][s.v] + s.length_m - along) + 3.0
                    count += d <= threshold
                assert got.loc[node, f"access_{cls}_{threshold}"] == count, (node, cls, threshold)


def _two_routes(shaded="north"):
    """O -> D by a north and a south route of equal length (632.5 m), a stub to a shop."""
    o, n, s, d, e = (0, 0), (300, 100), (300, -100), (600, 0), (700, 0)
    lines = [
        LineString([o, n]),
        LineString([n, d]),
        LineString([o, s]),
        LineString([s, d]),
        LineString([d, e]),
    ]
    network = from_lines(gpd.GeoDataFrame(geometry=lines, crs=CRS))
    north = network.segments.geometry.centroid.y.to_numpy() > 1
    south = network.segments.geometry.centroid.y.to_numpy() < -1
    shade = np.where(north if shaded == "north" else south, 1.0, 0.0)
    shop = gpd.GeoDataFrame({"class": ["shop"]}, geometry=[Point(640, 0)], crs=CRS, index=["shop"])
    origin = network.nodes.index[(network.nodes["x"].abs() < 1e-6) & (network.nodes["y"].abs() < 1e-6)][0]
    return network, shop, shade, origin


@pytest.mark.parametrize("shaded", ["north", "south"])
def test_summer_prefers_shaded_route_winter_does_not(shaded):
    network, shop, shade, origin = _two_routes(shaded)
    route = 2 * np.hypot(300, 100)
    plain = accessibility(network, shop, "class", distances=(700,), decay="1", per_node=True)
    data_map = assign_destinations(network, shop)
    summer = accessibility(
        network,
        shop,
        "class",
        distances=(700,),
        decay="1",
        per_node=True,
        imp_factor=comfort_imp_factor(shade, sun_weight=1.5, shade_weight=1.0),
        data_map=data_map,
    )
    winter = accessibility(
        network,
        shop,
        "class",
        distances=(700,),
        decay="1",
        per_node=True,
        imp_factor=comfort_imp_factor(shade, sun_weight=0.9, shade_weight=1.1),
        data_map=data_map,
    )
    assert plain.loc[origin, "nearest_shop_m"] == pytest.approx(route + 40, abs=0.5)
    # summer: through the shaded route at face value, the sunny one would cost 1.5x
    assert summer.loc[origin, "nearest_shop_m"] == pytest.approx(route * 1.0 + 40, abs=0.5)
    assert summer.loc[origin, "access_shop_700"] == 1
    # winter: sun is pleasant, the sunny route is the shorter perceived walk
    # (cityseer counts the last stretch along the shop's own segment at plain length)
    assert winter.loc[origin, "nearest_shop_m"] == pytest.approx(route * 0.9 + 40, abs=0.5)
    # with no shade at all a summer walk of 1.5 x 672 m is out of reach
    hot = accessibility(
        network,
        shop,
        "class",
        distances=(700,),
        decay="1",
        per_node=True,
        imp_factor=comfort_imp_factor(np.zeros(len(network)), 1.5),
        data_map=data_map,
    )
    assert hot.loc[origin, "access_shop_700"] == 0


def test_land_use_mix_counts_classes():
    network = _jittered_grid(n=3)
    dest, _, _ = _destinations_on(network, 10)
    mix = land_use_mix(network, dest, "class", distances=(2000,), decay="1")
    # everything is within 2 km: two classes everywhere
    np.testing.assert_allclose(mix["mix_hill_q0_2000"], 2.0)
