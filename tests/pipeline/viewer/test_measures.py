"""The viewer's measures and change values, from a generated effects table and measures."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from pipeline.measures.records import Building, Canopy, MeasureSet, RemovedBuilding, Tree
from pipeline.viewer.assets import ViewerInputs, ViewerOptions, write_viewer
from pipeline.viewer.measures import NO_CHANGE, change_legend, change_values

CRS = "EPSG:6677"
X0, Y0 = -12_000.0, -22_000.0  # near Omiya (zone IX)
SCENARIOS = [
    {
        "name": "heat_midday",
        "season": "heat",
        "slot": "midday",
        "date": "2026-08-05",
        "start": "11:00",
        "end": "14:00",
    }
]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("measure_run")
    lines = [
        shapely.LineString([(X0 + 20, Y0 + 50 + 40 * i), (X0 + 180, Y0 + 50 + 40 * i)]) for i in range(3)
    ]
    ids = [f"t:{i}" for i in range(3)]
    gpd.GeoDataFrame(
        {
            "segment_id": ids,
            "length_m": 160.0,
            "score": [10.0, 30.0, 50.0],
            "class": "neither",
            "shade_share": 0.5,
        },
        geometry=lines,
        crs=CRS,
    ).to_parquet(folder / "segments.parquet")
    # the effects: segment t:0 cooled by 2.46 °C under the new trees, t:1 warmed by 0.3 °C, t:2 unchanged
    before = np.array([41.0, 40.0, 39.0])
    change = np.array([-2.46, 0.3, 0.0])
    effects = pd.DataFrame(
        {
            "segment_id": ids,
            "scenario": "heat_midday",
            "utci_mean_c_before": before,
            "utci_mean_c_after": before + change,
            "utci_mean_c_change": change,
            "score_before": [10.0, 30.0, 50.0],
            "score_after": [14.0, 30.0, 50.0],
            "score_change": [4.0, 0.0, 0.0],
        }
    )
    effects.to_parquet(folder / "effects.parquet")
    buildings = gpd.GeoDataFrame(
        {"gml_id": ["bldg_a", "bldg_b"], "height_m": [20.0, 9.0]},
        geometry=[shapely.box(X0 + 100, Y0 + 100, X0 + 120, Y0 + 130), shapely.box(X0, Y0, X0 + 5, Y0 + 5)],
        crs=CRS,
    )
    buildings.to_parquet(folder / "bldg.parquet")
    measures = MeasureSet(
        crs=CRS,
        trees=[Tree("#0", X0 + 50, Y0 + 55, 8.0, 5.0, 3.2, False)],
        canopies=[Canopy("#1", shapely.box(X0 + 60, Y0 + 60, X0 + 70, Y0 + 66), 3.0, 0.23, "summer")],
        buildings=[Building("#2", shapely.box(X0 + 150, Y0 + 150, X0 + 170, Y0 + 160), 40.0, 12)],
        removed=[RemovedBuilding("#3", "bldg_a"), RemovedBuilding("#4", "not_there")],
    )
    write_viewer(
        folder / "viewer",
        ViewerInputs(
            name="trees",
            crs=CRS,
            scenarios=SCENARIOS,
            streets={"heat_midday": folder / "segments.parquet"},
            building_tables=[folder / "bldg.parquet"],
            measures=measures,
            effects_segments=folder / "effects.parquet",
        ),
        ViewerOptions(copy_app_files=False),
    )
    return folder, json.loads((folder / "viewer" / "viewer.json").read_text())


def test_the_measures_are_written_in_lon_lat_with_their_heights(run):
    folder, manifest = run
    layer = manifest["layers"]["measures"]
    assert layer["removed"] == ["bldg_a", "not_there"]
    features = json.loads((folder / "viewer" / layer["url"]).read_text())["features"]
    kinds = [f["properties"]["kind"] for f in features]
    assert kinds == ["tree", "canopy", "building", "remove_building", "remove_building"]
    to_lonlat = Transformer.from_crs(CRS, "EPSG:6668", always_xy=True)
    tree = features[0]
    assert tree["geometry"]["coordinates"] == pytest.approx(to_lonlat.transform(X0 + 50, Y0 + 55), abs=1e-7)
    assert tree["properties"] | {} == {
        "kind": "tree",
        "source": "#0",
        "height_m": 8.0,
        "crown_diameter_m": 5.0,
        "crown_base_m": 3.2,
        "evergreen": False,
    }
    assert features[1]["properties"]["height_m"] == 3.0 and features[1]["properties"]["season"] == "summer"
    assert features[2]["properties"]["height_m"] == 40.0
    # the removed building's footprint comes from the building table; an unknown id has none
    ring = np.array(features[3]["geometry"]["coordinates"][0])
    x, y = Transformer.from_crs("EPSG:6668", CRS, always_xy=True).transform(ring[:, 0], ring[:, 1])
    assert (min(x), max(x), min(y), max(y)) == pytest.approx(
        (X0 + 100, X0 + 120, Y0 + 100, Y0 + 130), abs=0.02
    )
    assert features[4]["geometry"] is None


def test_change_values_and_a_diverging_legend_per_variable(run):
    folder, manifest = run
    changes = json.loads((folder / "viewer" / manifest["layers"]["measures"]["changes"]).read_text())
    assert changes["variables"] == ["utci_mean_c", "score"]  # no hours columns in this table
    assert changes["scenarios"]["heat_midday"]["utci_mean_c"]["t:0"] == [41.0, 38.54, -2.46]
    options = {o["id"]: o for o in manifest["street_colouring"]}
    assert options["utci_mean_c_change"]["change"] == "utci_mean_c"
    legend = manifest["legends"]["utci_mean_c_change"]
    assert (legend["min"], legend["max"]) == (-2.5, 2.5)  # the largest |change| 2.46, rounded up
    assert legend["stops"][4] == NO_CHANGE and len(legend["stops"]) == 9
    assert manifest["legends"]["score_change"]["max"] == 5.0


def test_blue_is_better_for_a_walker_in_every_change_legend():
    def blueish(hex_colour):
        r, b = int(hex_colour[1:3], 16), int(hex_colour[5:7], 16)
        return b > r

    cooler = change_legend("utci_mean_c", np.array([-1.0, 1.0]))["stops"]
    higher = change_legend("score", np.array([-1.0, 1.0]))["stops"]
    assert blueish(cooler[0]) and not blueish(cooler[-1])  # a fall of UTCI is better
    assert blueish(higher[-1]) and not blueish(higher[0])  # a rise of the score is better
    assert change_legend("score", np.array([np.nan, 0.0]))["max"] == 1.0  # nothing changed


def test_change_values_keep_a_missing_before_as_null():
    table = pd.DataFrame(
        {
            "segment_id": ["b", "a"],
            "scenario": "s",
            "score_before": [np.nan, 1.0],
            "score_after": [2.0, 1.0],
            "score_change": [np.nan, 0.0],
        }
    )
    values = change_values(table)
    assert values["scenarios"]["s"]["score"] == {"a": [1.0, 1.0, 0.0], "b": [None, 2.0, None]}
    assert list(values["scenarios"]["s"]["score"]) == ["a", "b"]  # sorted: deterministic bytes
