"""viewer.json and the viewer's layers, written from a small synthetic run with known values."""
from __future__ import annotations

import json
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from pipeline.tiles3d.flow_prisms import FRAME_HEIGHT_M, FRAME_WIDTH_M, mesh_populations
from pipeline.viewer.imagery import finest_zoom, write_imagery_tiles
from pipeline.tiles3d.streets import read_scored_segments
from pipeline.viewer.assets import ViewerInputs, ViewerOptions, write_viewer
from pipeline.geo.geoid import geoid_height
from pipeline.geo.meshcode import to_polygons
from pipeline.geo.raster import Grid, write_cog
from tiles.gltf import read_glb
from tiles.metadata import FLOAT_NODATA
from tiles.geodesy import ecef_to_lonlath
from tiles.validate import (check_glb_metadata, check_tileset, content_paths, glb_positions_ecef, iter_contents,
                            property_tables)

CRS = "EPSG:6677"
X0, Y0 = -12_000.0, -22_000.0   # near Omiya (zone IX)
GROUND_M = 12.0
SCENARIOS = [{"name": f"{season}_{slot}", "season": season, "slot": slot, "date": date, "start": start, "end": end,
              "weather_kind": "design_heat_day" if season == "summer_solstice" else "file",
              "radiation_kind": "clear_sky"}
             for season, date in (("summer_solstice", "2026-06-21"), ("winter_solstice", "2026-12-21"))
             for slot, start, end in (("morning", "08:00", "11:00"), ("midday", "11:00", "14:00"))]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    lines = [shapely.LineString([(X0 + 20, Y0 + 50 + 40 * i), (X0 + 180, Y0 + 50 + 40 * i)]) for i in range(3)]
    streets = {}
    for k, s in enumerate(SCENARIOS):
        table = gpd.GeoDataFrame({
            "segment_id": [f"t:{i}" for i in range(3)], "highway": "residential", "length_m": 160.0,
            "width_m": [6.0, np.nan, 3.0], "slope_max_pct": 1.0,
            "score": [10.0 + 20 * i + k for i in range(3)],
            "class": ["walkable_used", "walkable_underused", "flow_unknown" if s["slot"] == "morning" else "neither"],
            "c_access": [0.1 * i for i in range(3)], "c_shade": [0.5, 0.25, np.nan],
            "shade_share": [0.5, 0.25, 0.0], "people": [np.nan if s["slot"] == "morning" else 10.0 * (i + 1) for i in range(3)],
        }, geometry=lines, crs=CRS)
        table["people_per_100m"] = table["people"] / table["length_m"] * 100
        # the network measures (plain lengths: the same every scenario); a comfort-weighted one left out
        table["access_shop_800"], table["access_park_800"] = [4.0, 2.5, np.nan], [1.0, 0.5, np.nan]
        table["access_shop_400"], table["access_comfort_shop_800"] = [3.0, 2.0, np.nan], [9.0, 9.0, 9.0]
        table["mix_hill_q0_800"], table["mix_shannon_800"] = [3.0, 2.0, 1.0], [1.1, 0.69, 0.0]
        table["intersection_density"] = [119.4, 79.6, np.nan]
        streets[s["name"]] = folder / f"segments_{s['name']}.parquet"
        table.to_parquet(streets[s["name"]])
    grid = Grid(X0, Y0 + 200, 1.0, 200, 200, CRS)
    write_cog(folder / "terrain.tif", np.full(grid.shape, GROUND_M, np.float32), grid, nodata=np.nan)
    shade = {}
    for s in SCENARIOS:
        values = np.zeros(grid.shape, np.float32)
        values[:, :100] = 3.0  # the western half in shade all slot long
        shade[s["name"]] = [write_cog(folder / f"shade_{s['name']}.tif", values, grid, nodata=np.nan)]
    code = 53396489
    flow = pd.DataFrame({"meshcode": code, "level": 3, "scenario": [s["name"] for s in SCENARIOS], "day_type": "weekday",
                         "population": [np.nan if s["slot"] == "morning" else 1000.0 for s in SCENARIOS], "source": "mlit"})
    flow.to_parquet(folder / "flow_by_mesh.parquet")
    # where to act first: the midday streets, 2 h in strong heat stress
    from pipeline.walkability.priority import priority_table

    ranked = [priority_table(pd.read_parquet(streets[s["name"]]).assign(hours_utci_above_32=2.0), s["name"])
              for s in SCENARIOS]
    pd.concat(ranked, ignore_index=True).to_parquet(folder / "priority.parquet")
    (folder / "report.html").write_text("<!DOCTYPE html><html lang='ja'><body>報告</body></html>", encoding="utf-8")
    written = write_viewer(folder / "viewer", ViewerInputs(
        name="test-run", crs=CRS, scenarios=SCENARIOS, streets=streets, shade=shade, terrain=[folder / "terrain.tif"],
        flow=folder / "flow_by_mesh.parquet", weights={"access": 0.35, "shade": 0.15}, season_weather=SEASON_WEATHER,
        priority=folder / "priority.parquet", report=folder / "report.html",
        flow_sources=[{"source": "mlit_sample", "kind": "mlit"}]), ViewerOptions(copy_app_files=False))
    return folder, written, json.loads((folder / "viewer" / "viewer.json").read_text())


#: as pipeline.thermal.forcing.season_weather_table reads them from thermal/weather.csv
SEASON_WEATHER = [
    {"season": "summer_solstice", "weather_source": "設計猛暑日 / design heat day (max 35.0 °C)",
     "radiation_source": "clear sky (design case)", "day_max_air_temperature_c": 35.0},
    {"season": "winter_solstice", "weather_source": "JMA normals 1991-2020, station Kumagaya: normals of December",
     "radiation_source": "clear sky (design case)", "day_max_air_temperature_c": 10.3}]


def test_each_season_names_its_weather_and_a_design_day_says_it_is_one(run):
    _, _, manifest = run
    seasons = {s["name"]: s for s in manifest["seasons"]}
    assert seasons["summer_solstice"]["label"] == {"en": "design heat day (max 35.0 °C)",
                                                   "ja": "設計猛暑日(最高 35.0 °C)"}
    assert seasons["summer_solstice"]["weather"]["radiation"] == "clear sky (design case)"
    assert seasons["summer_solstice"]["weather"]["radiation_label"] == {"en": "clear sky (design case)",
                                                                       "ja": "快晴(設計条件)"}
    assert seasons["winter_solstice"]["label"]["ja"] == "冬至"
    assert seasons["winter_solstice"]["weather"] == {
        "kind": "file", "source": "JMA normals 1991-2020, station Kumagaya: normals of December",
        "label": {"en": "the weather file's day (normals or observed days, max 10.3 °C)",
                  "ja": "気象ファイルの代表日(平年値または観測日、最高 10.3 °C)"},
        "radiation": "clear sky (design case)",
        "radiation_label": {"en": "clear sky (design case)", "ja": "快晴(設計条件)"},
        "day_max_air_temperature_c": 10.3}


def test_viewer_json_lists_scenarios_layers_and_legends(run):
    folder, written, manifest = run
    assert manifest["name"] == "test-run" and manifest["crs"] == CRS
    first = manifest["scenarios"][1]
    assert first["name"] == "summer_solstice_midday"
    assert first["start_time"] == "2026-06-21T11:00:00+09:00" and first["mid_time"] == "2026-06-21T12:30:00+09:00"
    assert first["hours"] == 3.0
    assert [s["name"] for s in manifest["seasons"]] == ["summer_solstice", "winter_solstice"]
    assert set(manifest["layers"]) == {"streets", "terrain", "shade_hours", "flow"}
    assert manifest["unavailable"]["lidar"]["en"] == "this run has no LiDAR points"
    assert "buildings" in manifest["unavailable"]
    labels = {c["value"]: c["label"]["ja"] for c in manifest["legends"]["class"]["categories"]}
    assert labels["walkable_underused"] == "ポテンシャルを有するエリア"
    assert manifest["legends"]["shade_hours"]["max"] == 3.0 and manifest["legends"]["shade_hours"]["units"]["en"] == "h"
    assert {c["id"]: c["weight"] for c in manifest["components"]} == {"c_access": 0.35, "c_shade": 0.15}
    # every URL is relative and resolves inside the viewer folder
    viewer = folder / "viewer"
    assert (viewer / manifest["layers"]["streets"]["url"]).is_file()
    assert all((viewer / u).is_file() for u in manifest["layers"]["flow"]["urls"].values())
    assert (viewer / manifest["layers"]["terrain"]["url"]).stat().st_size == \
        4 * manifest["layers"]["terrain"]["width"] * manifest["layers"]["terrain"]["height"]


def test_street_ribbons_carry_each_scenarios_values_and_sit_on_the_ground(run):
    folder, written, manifest = run
    tileset = Path(written["streets"])
    assert check_tileset(tileset) == []
    paths = content_paths(tileset)
    assert all(check_glb_metadata(p) == [] for p in paths)
    gltf, binary = read_glb(paths[0].read_bytes())
    schema = gltf["extensions"]["EXT_structural_metadata"]["schema"]["classes"]["street_segment"]["properties"]
    assert {"score__summer_solstice_midday", "class__winter_solstice_morning", "c_access__winter_solstice_midday",
            "people_per_100m__summer_solstice_midday", "width_m"} <= set(schema)
    assert manifest["layers"]["streets"]["variables"][:5] == ["score", "class", "shade_share", "people", "people_per_100m"]
    # the measures behind access, mix and intersections, once per segment, their units named
    values = {}
    for glb in paths:
        for table in property_tables(glb):
            for i, sid in enumerate(table["feature_id"]):
                values[sid] = {k: v[i] for k, v in table.items()}
    assert values["t:0"]["access_destinations"] == pytest.approx(5.0)  # shop + park within 800 m
    assert values["t:1"]["mix_classes"] == 2.0 and values["t:1"]["mix_entropy"] == pytest.approx(0.69)
    assert values["t:0"]["intersection_density"] == pytest.approx(119.4)
    assert values["t:2"]["intersection_density"] == FLOAT_NODATA  # none: the declared no-data value, not 0
    raw = manifest["layers"]["streets"]["raw"]
    assert [m["property"] for m in raw["c_mix"]] == ["mix_classes", "mix_entropy"]
    assert raw["c_access"][0]["units"] == {"en": "destinations within 800 m (distance-decayed)",
                                           "ja": "件(800 m 以内の目的地・距離減衰で重み付け)"}
    assert raw["c_intersections"][0]["units"]["ja"] == "交差点/km²(400 m 以内)"
    # heights: ground 12 m + geoid + 0.3 m lift, everywhere
    path, tile, world = next(iter_contents(tileset))
    lonlath = ecef_to_lonlath(glb_positions_ecef(path, world))
    expected = GROUND_M + 0.3 + geoid_height(lonlath[:, 0], lonlath[:, 1])
    assert np.abs(lonlath[:, 2] - expected).max() < 0.01
    # width: the 6 m street is 6 m wide, the unknown one 4 m
    geometry, _ = read_scored_segments({"x": folder / "segments_summer_solstice_midday.parquet"})
    assert tile is not None and len(geometry) == 3


def test_shade_imagery_is_sharp_at_one_metre_and_coloured_by_value(run):
    from PIL import Image

    folder, written, manifest = run
    layer = manifest["layers"]["shade_hours"]
    assert layer["max_zoom"] == finest_zoom(1.0, 35.9) == 17
    pyramid = Path(written["shade_hours"]["winter_solstice_midday"])
    z = layer["max_zoom"]
    import mercantile

    tiles = list(mercantile.tiles(layer["west"], layer["south"], layer["east"], layer["north"], [z]))
    assert tiles and all((pyramid / str(z) / str(t.x) / f"{t.y}.png").is_file() for t in tiles)
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(X0 + 50, Y0 + 100)
    t = mercantile.tile(lon, lat, z)
    image = np.asarray(Image.open(pyramid / str(z) / str(t.x) / f"{t.y}.png"))
    w, s, e, n = mercantile.xy_bounds(t)
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True).transform(lon, lat)
    pixel = image[int((n - y) / (n - s) * 256), int((x - w) / (e - w) * 256)]
    from matplotlib import colormaps

    shaded = (np.array(colormaps["cividis_r"](1.0)[:3]) * 255).round()
    assert np.abs(pixel[:3].astype(int) - shaded).max() <= 1 and pixel[3] == round(0.6 * 255)


def test_imagery_parents_average_their_children(tmp_path):
    grid = Grid(X0, Y0 + 512, 1.0, 512, 512, CRS)
    write_cog(tmp_path / "v.tif", np.full(grid.shape, 2.0, np.float32), grid, nodata=np.nan)
    pyramid = write_imagery_tiles([tmp_path / "v.tif"], tmp_path / "out", cmap="viridis", vmin=0, vmax=4)
    assert pyramid.min_zoom < pyramid.max_zoom == 17
    from PIL import Image

    coarse = next((tmp_path / "out" / str(pyramid.min_zoom)).rglob("*.png"))
    rgba = np.asarray(Image.open(coarse))
    from matplotlib import colormaps

    middle = (np.array(colormaps["viridis"](0.5)[:3]) * 255).round()
    opaque = rgba[rgba[..., 3] > 0]
    assert len(opaque) and np.abs(opaque[:, :3].astype(int) - middle).max() <= 1
    assert (rgba[..., 3] == 0).any()  # outside the raster: transparent


def test_flow_cells_are_low_frames_on_the_ground_with_labels_and_no_data_marked(run):
    folder, written, manifest = run
    flow = manifest["layers"]["flow"]
    assert flow["covered"] == {"summer_solstice_morning": False, "summer_solstice_midday": True,
                               "winter_solstice_morning": False, "winter_solstice_midday": True}
    populations = mesh_populations(folder / "flow_by_mesh.parquet", [s["name"] for s in SCENARIOS])
    assert math.isnan(populations.iloc[0]["summer_solstice_morning"])
    assert populations.iloc[0]["summer_solstice_midday"] == 1000.0
    # every cell, covered or not, is a frame FRAME_HEIGHT_M tall (no volume over the district)
    # whose inside is open: no vertex lies more than FRAME_WIDTH_M inside the cells' edges
    cells = to_polygons(populations.index.get_level_values("meshcode").to_numpy(), CRS)
    edges = shapely.union_all(shapely.boundary(cells.to_numpy()))
    to_metric = Transformer.from_crs("EPSG:6668", CRS, always_xy=True)
    for name in ("summer_solstice_midday", "summer_solstice_morning"):
        tileset = Path(written["flow"][name])
        (path,) = content_paths(tileset)
        world = np.asarray(json.loads(tileset.read_text())["root"]["transform"]).reshape(4, 4).T
        lonlath = ecef_to_lonlath(glb_positions_ecef(path, world))
        assert lonlath[:, 2].max() - lonlath[:, 2].min() == pytest.approx(FRAME_HEIGHT_M, abs=0.05)
        x, y = to_metric.transform(lonlath[:, 0], lonlath[:, 1])
        inside = shapely.distance(shapely.points(x, y), edges)
        assert FRAME_WIDTH_M - 0.5 <= inside.max() <= FRAME_WIDTH_M + 0.5
    # the labels: people per scenario (None where not covered) and the source
    [cell] = [c for c in flow["cells"] if c["meshcode"] == str(int(populations.index[0][0]))]
    assert cell["population"]["summer_solstice_midday"] == 1000.0
    assert cell["population"]["summer_solstice_morning"] is None
    assert cell["source"]["summer_solstice_midday"] and cell["source"]["summer_solstice_morning"] is None
    centre = shapely.centroid(to_polygons([int(cell["meshcode"])], "EPSG:6668").to_numpy()[0])
    assert (cell["lon"], cell["lat"]) == (pytest.approx(centre.x, abs=1e-6), pytest.approx(centre.y, abs=1e-6))


def test_a_scenario_without_a_segment_table_is_refused(run, tmp_path):
    folder, _, _ = run
    with pytest.raises(ValueError, match="no scored segment table"):
        write_viewer(tmp_path, ViewerInputs(
            name="x", crs=CRS, scenarios=SCENARIOS,
            streets={"summer_solstice_midday": folder / "segments_summer_solstice_midday.parquet"}),
            ViewerOptions(copy_app_files=False))


def test_a_run_without_urf_lists_the_use_districts_as_unavailable(run):
    _, written, manifest = run
    assert "use_districts" not in manifest["layers"] and "use_districts" not in written
    assert manifest["unavailable"]["use_districts"]["en"] == "this run has no use districts (PLATEAU urf)"
    assert "use_districts" in manifest["layer_order"]
    # so are the trees found in LiDAR when the run has none (a toggle disabled with its reason)
    assert manifest["unavailable"]["veg_lidar"]["ja"] == "この実行では LiDAR から樹木を検出していません(stages.trees)"
    assert manifest["layer_order"][:3] == ["buildings", "trees", "veg_lidar"]


def test_use_districts_become_a_geojson_with_both_labels_rates_and_zoning_colours(tmp_path):
    from pipeline.viewer.zoning import USE_DISTRICT_CLASSES, write_use_districts

    square = lambda x, y: shapely.box(X0 + x, Y0 + y, X0 + x + 100, Y0 + y + 100)  # noqa: E731
    table = gpd.GeoDataFrame({
        "gml_id": ["urf_b", "urf_a", "urf_h"],
        "feature_type": ["urf:UseDistrict", "urf:UseDistrict", "urf:HeightControlDistrict"],
        "function": ["10", "1", "18"], "function_label": ["商業地域", "第1種低層住居専用地域", "高度地区"],
        "floor_area_rate": [8.0, np.nan, np.nan], "building_coverage_rate": [0.8, 0.5, np.nan],
        "custodian": ["さいたま市", None, None],
    }, geometry=[square(0, 0), square(100, 0), square(0, 100)], crs=CRS)
    table.to_parquet(tmp_path / "533964_urf.parquet")
    path, legend = write_use_districts(tmp_path / "zoning", [tmp_path / "533964_urf.parquet"])
    collection = json.loads(path.read_text(encoding="utf-8"))
    assert [f["properties"]["id"] for f in collection["features"]] == ["urf_a", "urf_b"]  # no height district
    b = collection["features"][1]["properties"]
    assert b == {"id": "urf_b", "code": "10", "label_ja": "商業地域", "label_en": "Commercial zone",
                 "floor_area_rate": 8.0, "building_coverage_rate": 0.8, "custodian": "さいたま市"}
    assert collection["features"][0]["properties"]["floor_area_rate"] is None  # unknown, not zero
    lon, lat = np.array(collection["features"][1]["geometry"]["coordinates"][0]).T
    assert 139.5 < lon.min() < lon.max() < 139.8 and 35.7 < lat.min() < lat.max() < 36.0  # EPSG:4326
    assert [c["value"] for c in legend["categories"]] == ["1", "10"]
    assert legend["categories"][0]["label"] == {"ja": "第1種低層住居専用地域",
                                                "en": "Category I exclusively low-rise residential zone"}
    # the zoning map convention: low-rise residential dark green, commercial red, industrial blues
    assert USE_DISTRICT_CLASSES["1"]["colour"] == legend["categories"][0]["colour"] == "#00A06B"
    assert legend["categories"][1]["colour"] == "#E8506E"
    assert len({c["colour"] for c in USE_DISTRICT_CLASSES.values()}) == 13
    assert write_use_districts(tmp_path / "none", [tmp_path / "533964_urf.parquet"]) is not None
    table.iloc[[2]].to_parquet(tmp_path / "533965_urf.parquet")
    assert write_use_districts(tmp_path / "none", [tmp_path / "533965_urf.parquet"]) is None


def test_score_legend_spans_each_scenarios_values_and_a_fixed_domain_all_of_them(run):
    _, _, manifest = run
    score = manifest["legends"]["score"]
    # scenario k scores 10 + k, 30 + k and 50 + k
    assert score["domains"] == {s["name"]: [10.0 + k, 50.0 + k] for k, s in enumerate(SCENARIOS)}
    assert (score["min"], score["max"]) == (10.0, 53.0)
    shade = manifest["legends"]["shade_share"]
    assert shade["display_scale"] == 100 and shade["units"]["en"] == "% of the slot"


def test_the_priority_list_ranks_each_scenarios_streets_with_their_place(run):
    folder, written, manifest = run
    data = json.loads(Path(written["priority"]).read_text(encoding="utf-8"))
    assert manifest["about"]["priority"] == "priority/priority.json"
    rows = [dict(zip(data["columns"], r)) for r in data["scenarios"]["summer_solstice_midday"]]
    # 30 people x 2 h x 1.0 sun, 20 x 2 x 0.75, 10 x 2 x 0.5; mornings have no flow, no rows
    assert [(r["rank"], r["segment_id"], r["priority"]) for r in rows] == [(1, "t:2", 60.0), (2, "t:1", 30.0),
                                                                         (3, "t:0", 10.0)]
    assert "summer_solstice_morning" not in data["scenarios"]
    mid = data["segments"]["t:2"]["mid"]
    lon, lat = Transformer.from_crs(CRS, "EPSG:6668", always_xy=True).transform(X0 + 100, Y0 + 130)
    assert mid == pytest.approx([lon, lat], abs=1e-6)
    assert len(data["segments"]["t:2"]["line"]) == 2


def test_the_report_sits_beside_the_app_and_about_names_the_flow(run):
    folder, written, manifest = run
    assert manifest["about"]["report"] == "report.html"
    assert (folder / "viewer" / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html><html lang='ja'>")
    flow = manifest["layers"]["flow"]
    assert flow["sources"] == [{"source": "mlit_sample", "kind": "mlit"}]
    assert "滞在人口" in flow["basis"]["ja"] and flow["day_type"] == "weekday"
