"""The flow stages on the sample district: tiles with bounded reach add up to the whole,
trips are conserved, ratios and GEH are reported, and simulated people fill only the gaps.

Runs on the walkability tables of :mod:`tests.pipeline.stages.test_walkability` (MLIT only:
the morning has no observed flow). Trip rates are the test's own numbers, not a survey's.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

pytest.importorskip("cityseer")

from pipeline.flowsim.generation import read_trip_rates
from pipeline.flowsim.tile import FlowParameters, add_up, factor_table, simulate_tile
from pipeline.stages.flow import FlowSettings, flow_fit, flow_tile
from pipeline.stages.peopleflow import (
    PeopleFlowSettings,
    PeopleFlowSource,
    peopleflow_task,
)
from pipeline.stages.walkability import walkability_score_tile
from pipeline.walkability.inputs import read_tables
from tests.pipeline.stages.test_walkability import (  # noqa: F401
    CRS,
    SCENARIOS,
    TILES,
    record,
    run,
    sample,
)

THETA = 0.01


def write_rates(path):
    rows = [
        "# source: test rates (the test's own numbers, not a published table)",
        "class,day_type,hour,produced,attracted",
    ]
    rate = {
        "residential": 0.5,
        "commercial": 2.0,
        "office": 1.0,
        "public": 1.0,
        "station": 200.0,
        "bus_stop": 20.0,
    }
    for cls, r in rate.items():
        for hour in range(24):
            scale = 1.5 if 8 <= hour < 11 else 1.0  # a busier morning
            rows.append(f"{cls},weekday,{hour},{r * scale},{r}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def flow(run, sample, tmp_path_factory):
    out = tmp_path_factory.mktemp("flow")
    rates = str(write_rates(out / "rates.csv"))
    settings = FlowSettings(enabled=True, theta=THETA, reach_m=600.0)
    bldg = [r for r in run.ingest if r.feature_type == "bldg"]
    tiles = [
        record(
            flow_tile(
                t.tile,
                CRS,
                str(out / "tiles"),
                settings=settings,
                day_type="weekday",
                scenarios=SCENARIOS,
                trip_rates=rates,
                stops=str(sample / "stops.geojson"),
                walkability=run.tiles,
                ingest=bldg,
            ),
            "flow",
            t.tile,
        )
        for t in run.tiles
    ]
    people = record(
        peopleflow_task(
            str(out / "peopleflow"),
            [
                PeopleFlowSource(kind="mlit", path=sample / "peopleflow" / "mlit_peopleflow_omiya.csv"),
                PeopleFlowSource(kind="counters", path=sample / "peopleflow" / "counters_omiya.csv"),
            ],
            SCENARIOS,
            settings=PeopleFlowSettings(),
            timezone="Asia/Tokyo",
        ),
        "peopleflow",
        "all",
    )
    fit = record(
        flow_fit(
            str(out),
            CRS,
            settings=settings,
            day_type="weekday",
            scenarios=SCENARIOS,
            flow=tiles,
            walkability=run.tiles,
            peopleflow=[people],
        ),
        "flow_fit",
        "all",
    )
    return dict(out=out, rates=rates, settings=settings, tiles=tiles, fit=fit, bldg=bldg)


def whole_district(run, sample, flow) -> pd.DataFrame:
    """The same simulation on every segment at once (every origin, no tile)."""
    segments = pd.concat(
        [gpd.read_parquet(t.outputs.segments, columns=["segment_id", "geometry"]) for t in run.tiles],
        ignore_index=True,
    )
    segments = gpd.GeoDataFrame(segments, geometry="geometry", crs=CRS)
    rows = pd.concat([pd.read_parquet(t.outputs.scenarios) for t in run.tiles], ignore_index=True)
    factors = factor_table(rows, segments["segment_id"], [s.name for s in SCENARIOS])
    factors.index = pd.RangeIndex(len(segments))
    buildings = read_tables([r.outputs.table for r in flow["bldg"]], CRS)
    stops = gpd.read_file(sample / "stops.geojson").to_crs(CRS)
    flows, summary = simulate_tile(
        segments,
        factors,
        "*",
        buildings,
        stops,
        read_trip_rates(flow["rates"]),
        SCENARIOS,
        FlowParameters(theta=THETA, reach_m=600.0),
    )
    return flows.set_index("segment_id"), summary


def test_tiles_with_bounded_reach_add_up_to_the_whole_district(run, sample, flow):
    """Each tile assigns the trips starting in it on the network within reach (600 m, less
    than the 1 km district): summed over tiles, the flows of one simulation of everything."""
    tiles = add_up([pd.read_parquet(r.outputs.flows) for r in flow["tiles"]]).set_index("segment_id")
    whole, summary = whole_district(run, sample, flow)
    assert len(tiles) == len(whole) == 308
    names = [s.name for s in SCENARIOS]
    np.testing.assert_allclose(tiles.loc[whole.index, names], whole[names], rtol=1e-9, atol=1e-9)
    # conservation: every trip generated is assigned (the sample's network is connected)
    np.testing.assert_allclose(summary["assigned"], summary["generated"], rtol=1e-12)
    assert (summary["unassigned"] == 0).all() and (summary["generated"] > 0).all()
    for r in flow["tiles"]:
        assert r.counts["assigned"] + r.counts["unassigned"] == pytest.approx(r.counts["generated"], abs=1e-2)
    # every trip starts in exactly one tile
    assert sum(r.counts["generated"] for r in flow["tiles"]) == pytest.approx(
        summary["generated"].sum(), abs=0.01
    )
    # the busier morning of the rates and the summer shade move walkers: scenarios differ
    assert not np.allclose(whole["summer_solstice_morning"], whole["summer_solstice_midday"])


def test_a_tile_is_written_byte_identically_twice(run, sample, flow, tmp_path):
    again = flow_tile(
        "53396489",
        CRS,
        str(tmp_path),
        settings=flow["settings"],
        day_type="weekday",
        scenarios=SCENARIOS,
        trip_rates=flow["rates"],
        stops=str(sample / "stops.geojson"),
        walkability=run.tiles,
        ingest=flow["bldg"],
    )
    first = next(r for r in flow["tiles"] if r.tile == "53396489")
    with open(again.outputs.flows, "rb") as a, open(first.outputs.flows, "rb") as b:
        assert a.read() == b.read()


def test_fit_reports_ratios_and_geh_per_counter(flow):
    ratios = json.loads(Path(flow["fit"].outputs.ratios).read_text(encoding="utf-8"))
    assert ratios["mlit_ratio"] > 0 and ratios["mlit_pairs"] == 4 * 2  # 4 cells x 2 midday scenarios
    assert ratios["counter_ratio"] > 0 and ratios["counters_validated"] == 4
    table = pd.read_parquet(flow["fit"].outputs.validation)
    assert set(table["counter_id"]) == {"C1", "C2", "C3", "C4"}
    expected = np.sqrt(
        2 * (table["modelled"] - table["counted"]) ** 2 / (table["modelled"] + table["counted"])
    )
    np.testing.assert_allclose(table["geh"], expected)
    assert ratios["share_geh_below_5"] == pytest.approx((table["geh"] < 5).mean())
    simulated = pd.read_parquet(flow["fit"].outputs.simulated)
    assert len(simulated) == 308 * len(SCENARIOS) and simulated["people_per_100m"].notna().all()


def test_simulated_people_fill_only_where_nothing_was_observed(run, flow, tmp_path):
    tile = run.tiles[0]
    scored = walkability_score_tile(
        tile.tile,
        str(tmp_path),
        CRS,
        settings=run.settings,
        scenarios=SCENARIOS,
        walkability=[tile],
        scale=[run.scale],
        flow_fit=[flow["fit"]],
    )
    table = gpd.read_parquet(scored.outputs.scored).set_index(["scenario", "segment_id"])
    before = gpd.read_parquet(run.scored[0].outputs.scored).set_index(["scenario", "segment_id"])
    morning, midday = table.loc["summer_solstice_morning"], table.loc["summer_solstice_midday"]
    assert (morning["people_source"] == "simulated").all() and morning["people_per_100m"].notna().all()
    assert "flow_unknown" not in set(morning["class"])
    assert (midday["people_source"] == "mlit").all()
    np.testing.assert_array_equal(
        midday["people_per_100m"], before.loc["summer_solstice_midday", "people_per_100m"]
    )
    simulated = pd.read_parquet(flow["fit"].outputs.simulated).set_index(["scenario", "segment_id"])
    np.testing.assert_allclose(
        morning["people_per_100m"],
        simulated.loc["summer_solstice_morning"].loc[morning.index, "people_per_100m"],
    )


def test_a_tile_reads_only_the_tiles_within_reach():
    from pipeline.flowsim.tile import in_reach

    bounds = {
        "a": (0, 0, 1000, 1000),
        "b": (1000, 0, 2000, 1000),
        "c": (2500, 0, 3500, 1000),
        "d": (0, 1700, 1000, 2700),
    }
    assert in_reach(bounds, "a", 600.0) == ["a", "b"]  # c is 1.5 km away, d 700 m
    assert in_reach(bounds, "a", 700.0) == ["a", "b", "d"]
