"""Street changes (``street`` measures): matching segments, and a pedestrian-only or widened
street's perceived cost and components, on a built grid of streets."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, box

from pipeline.geo.scenarios import Scenario, Season, TimeSlot
from pipeline.geo.tiling import tile_grid
from pipeline.measures.records import StreetChange
from pipeline.measures.streets import PEDESTRIAN, apply_street_changes, match_street_changes
from pipeline.walkability.accessibility import BUSY_STREET_FACTOR, traffic_factor
from pipeline.walkability.components import sidewalk_offsets
from pipeline.walkability.scores import components

pytest.importorskip("cityseer")

CRS = "EPSG:6677"
TILE = "53396489"  # an Omiya tile: the grid lies inside it
SPACING = 100.0


def grid_lines() -> gpd.GeoDataFrame:
    """A 4 x 4 junction grid, 100 m apart; the second east-west street is a primary road
    20 m wide, the others residential streets 8 m wide."""
    x0, y0, _, _ = tile_grid(TILE, CRS, 1.0).bounds
    x0, y0 = x0 + 300.0, y0 + 300.0
    lines, highway, width = [], [], []
    for j in range(4):
        for i in range(3):
            lines.append(
                LineString([(x0 + i * SPACING, y0 + j * SPACING), (x0 + (i + 1) * SPACING, y0 + j * SPACING)])
            )
            highway.append("primary" if j == 1 else "residential")
            width.append(20.0 if j == 1 else 8.0)
    for i in range(4):
        for j in range(3):
            lines.append(
                LineString([(x0 + i * SPACING, y0 + j * SPACING), (x0 + i * SPACING, y0 + (j + 1) * SPACING)])
            )
            highway.append("residential")
            width.append(8.0)
    return gpd.GeoDataFrame({"highway": highway, "width_m": width, "name": ""}, geometry=lines, crs=CRS)


def primary_street(lines: gpd.GeoDataFrame) -> LineString:
    """The primary road as one line, drawn 1 m off the network's centreline."""
    coords = shapely.get_coordinates(shapely.union_all(lines.geometry[lines["highway"] == "primary"]))
    return LineString(
        [(coords[:, 0].min(), coords[:, 1].min() + 1.0), (coords[:, 0].max(), coords[:, 1].min() + 1.0)]
    )


def test_traffic_factor_is_the_cited_busy_street_penalty():
    assert BUSY_STREET_FACTOR == 1.14  # Broach & Dill (2015): busy roads perceived 14 % longer
    got = traffic_factor(["primary", "secondary_link", "residential", PEDESTRIAN, "footway"])
    assert got.tolist() == [1.14, 1.14, 1.0, 1.0, 1.0]
    assert traffic_factor(["trunk"], 1.0).tolist() == [1.0]
    with pytest.raises(ValueError, match="at least 1"):
        traffic_factor(["primary"], 0.9)


def test_a_line_matches_the_segments_along_it_and_an_id_its_segment():
    from pipeline.walkability.network import from_lines

    lines = grid_lines()
    segments = from_lines(lines).segments
    change = StreetChange("p1", line=primary_street(lines), pedestrian_only=True)
    matched = match_street_changes(segments, [change], tile=TILE)
    on_primary = segments.index[segments["highway"] == "primary"]
    assert sorted(matched.index) == sorted(on_primary) and len(on_primary) == 3
    assert matched["pedestrian_only"].tolist() == [True] * 3 and matched["width_m"].isna().all()
    first = int(on_primary[0])
    by_id = match_street_changes(
        segments,
        [
            StreetChange("w", segment_id=f"{TILE}:{first}", width_m=12.0),
            StreetChange("x", segment_id=f"1:{first}", width_m=3.0),
        ],
        tile=TILE,
    )
    assert by_id.index.tolist() == [first] and by_id["width_m"].tolist() == [
        12.0
    ]  # another tile's id: not here
    applied = apply_street_changes(segments, matched)
    assert set(applied.loc[on_primary, "highway"]) == {PEDESTRIAN}
    assert (applied.drop(index=on_primary)["highway"] == segments.drop(index=on_primary)["highway"]).all()


def _metrics(segments_changed=None):
    from pipeline.walkability.metrics import MetricOptions, TileInputs, tile_metrics
    from pipeline.walkability.network import StreetNetwork, from_lines

    lines = grid_lines()
    network = from_lines(lines)
    if segments_changed is not None:
        network = StreetNetwork(
            network.nodes, apply_street_changes(network.segments, segments_changed(network.segments, lines))
        )
    x0, y0, _, _ = lines.total_bounds
    shops = gpd.GeoDataFrame(
        {"usage": ["402"] * 4, "height_m": [9.0] * 4, "gml_id": [f"b{i}" for i in range(4)]},
        geometry=[box(x0 + 20 + 60 * i, y0 + 115, x0 + 40 + 60 * i, y0 + 135) for i in range(4)],
        crs=CRS,
    )
    scenario = Scenario(Season("summer_solstice", 6, 21), TimeSlot("midday", "11:00", "14:00"))
    options = MetricOptions(
        distances=[400],
        floor_area_per_destination_m2=500.0,
        max_assign_m=100.0,
        busy_street_factor=BUSY_STREET_FACTOR,
    )
    empty = gpd.GeoDataFrame(geometry=[], crs=CRS)
    region = box(*tile_grid(TILE, CRS, 1.0).bounds).buffer(500)
    return tile_metrics(TILE, TileInputs(network, shops, empty, region), [scenario], options)


def test_a_pedestrian_only_street_is_perceived_shorter_and_eases_the_access_around():
    before = _metrics()
    after = _metrics(
        lambda segs, lines: match_street_changes(
            segs, [StreetChange("p", line=primary_street(lines), pedestrian_only=True)], tile=TILE
        )
    )
    was, now = before.scenarios.set_index("segment_id"), after.scenarios.set_index("segment_id")
    primary = before.segments.set_index("segment_id")["highway"] == "primary"
    assert (after.segments.set_index("segment_id").loc[primary[primary].index, "highway"] == PEDESTRIAN).all()
    # perceived cost per metre: 1.14 -> 1 on the pedestrianised street, unchanged elsewhere
    assert np.allclose(was.loc[primary, "imp_factor"], BUSY_STREET_FACTOR)
    assert np.allclose(now.loc[primary, "imp_factor"], 1.0)
    assert np.allclose(now.loc[~primary, "imp_factor"], was.loc[~primary, "imp_factor"])
    # comfort-weighted access rises somewhere (destinations across the street come nearer) and falls nowhere
    col = "access_comfort_commercial_400"
    assert (now[col] >= was[col] - 1e-9).all() and (now[col] > was[col] + 1e-9).any()
    # plain access (the score's access component) measures metres, not traffic: unchanged
    assert np.allclose(after.segments["access_commercial_400"], before.segments["access_commercial_400"])


def test_a_widened_street_changes_its_width_component_and_walking_lines():
    before = _metrics()
    after = _metrics(
        lambda segs, lines: match_street_changes(
            segs, [StreetChange("w", line=primary_street(lines), width_m=30.0)], tile=TILE
        )
    )
    a, b = after.segments.set_index("segment_id"), before.segments.set_index("segment_id")
    primary = b["highway"] == "primary"
    assert (a.loc[primary, "width_m"] == 30.0).all() and set(a.loc[primary, "width_source"]) == {"measure"}
    assert (a.loc[~primary, "width_m"] == b.loc[~primary, "width_m"]).all()
    assert sidewalk_offsets([30.0])[0] == 13.5 and sidewalk_offsets(b.loc[primary, "width_m"])[0] == 8.5
    narrow = _metrics(
        lambda segs, lines: match_street_changes(
            segs, [StreetChange("n", line=primary_street(lines), width_m=2.0)], tile=TILE
        )
    ).segments.set_index("segment_id")
    c_before = components(b, access_columns=[])["c_width"]
    c_narrow = components(narrow, access_columns=[])["c_width"]
    assert (c_before[primary] == 1.0).all() and np.allclose(c_narrow[primary], 0.5)
    assert (c_narrow[~primary] == c_before[~primary]).all()


def test_a_pedestrian_only_street_draws_more_simulated_walkers_and_trips_are_conserved():
    """The flow simulation walks on the walkability stage's perceived length per metre: trips
    across the grid from its west edge to its east edge shift onto the primary road once it
    is pedestrian-only (1.14 -> 1 per metre), and every trip is still assigned."""
    from pipeline.flowsim.generation import TripEnds
    from pipeline.flowsim.simulate import simulate_scenarios
    from pipeline.flowsim.tile import factor_table, graph_of_segments

    def walkers(metrics):
        segments = metrics.segments.set_index("segment_id", drop=False)
        graph, row_of = graph_of_segments(segments)
        name = metrics.scenarios["scenario"].iloc[0]
        factor = factor_table(metrics.scenarios, segments["segment_id"], [name])[name].to_numpy(float)
        x = graph.node_xy[:, 0]
        ends = TripEnds(np.where(x < x.min() + 1, 10.0, 0.0), np.where(x > x.max() - 1, 1.0, 0.0), 0.0)
        flows, summary = simulate_scenarios(graph, {name: ends}, {name: factor[row_of]}, theta=0.02)
        primary = (segments["highway"].to_numpy() == "primary")[row_of]
        return flows[name].to_numpy(), primary, summary.iloc[0]

    before, primary, was = walkers(_metrics())
    after, _, now = walkers(
        _metrics(
            lambda segs, lines: match_street_changes(
                segs, [StreetChange("p", line=primary_street(lines), pedestrian_only=True)], tile=TILE
            )
        )
    )
    assert primary.sum() == 3  # the primary road's three blocks
    # more walkers on the pedestrianised street, fewer on the others
    assert after[primary].sum() > 1.05 * before[primary].sum()
    assert after[~primary].sum() < before[~primary].sum()
    # conservation: the 40 trips per hour from the 4 western nodes all reach the east edge
    assert was["generated"] == now["generated"] == 40.0
    assert was["assigned"] == pytest.approx(40.0, rel=1e-12) and now["assigned"] == pytest.approx(
        40.0, rel=1e-12
    )
    assert was["unassigned"] == now["unassigned"] == 0.0
