"""The walkability stages on the sample Omiya district, with synthetic shade and terrain.

The stage task functions run directly on records made here, as the runner would pass them.

Shade: in the summer-midday scenario the west half of the district (west of the four
tiles' corner) is fully shaded and the east half in full sun; in winter everything is in
sun. Terrain rises 2 % to the east. People flow: the sample MLIT CSV (midday only).
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio

pytest.importorskip("cityseer")
pytest.importorskip("osmnx")

from citygml import open_dataset  # noqa: E402
from pipeline.core.manifest import Manifest  # noqa: E402
from pipeline.core.task import PlanContext, Record, Result  # noqa: E402
from pipeline.geo.raster import write_cog  # noqa: E402
from pipeline.geo.scenarios import Scenario, Season, TimeSlot  # noqa: E402
from pipeline.geo.tiling import tile_grid  # noqa: E402
from pipeline.stages import load_run_definition  # noqa: E402
from pipeline.stages.ingest import ingest_task  # noqa: E402
from pipeline.stages.peopleflow import (  # noqa: E402
    PeopleFlowSettings,
    PeopleFlowSource,  # noqa: E402
    peopleflow_task,
)
from pipeline.stages.shadow import ShadowOutputs  # noqa: E402
from pipeline.stages.surface import SurfaceOutputs  # noqa: E402
from pipeline.stages.walkability import (  # noqa: E402
    SCALE,
    SCORE,
    STAGE,
    SUMMARY,
    WalkabilitySettings,
    walkability_scale,
    walkability_score_tile,
    walkability_summary,
    walkability_tile,
)
from pipeline.walkability.inputs import USAGE_CLASSES, building_destinations  # noqa: E402
from pipeline.walkability.network import from_osm_xml  # noqa: E402

CRS = "EPSG:6677"
TILES = ["53396489", "53396499", "53396580", "53396590"]
SUMMER, WINTER = Season("summer_solstice", 6, 21), Season("winter_solstice", 12, 21)
MIDDAY, MORNING = TimeSlot("midday", "11:00", "14:00"), TimeSlot("morning", "08:00", "11:00")
SCENARIOS = [Scenario(SUMMER, MIDDAY), Scenario(SUMMER, MORNING), Scenario(WINTER, MIDDAY)]
CLASSES = {"walkable_used", "walkable_underused", "used_uncomfortable", "neither", "flow_unknown"}


def record(result: Result, stage: str, tile: str) -> Record:
    made = Record.from_result(result, stage=stage, tile=tile, seconds=0.0)
    made.key = f"{stage}-{tile}"
    return made


def _corner_x() -> float:
    from pyproj import Transformer

    return Transformer.from_crs("EPSG:6668", CRS, always_xy=True).transform(139.625, 35.908333333)[0]


@pytest.fixture(scope="module")
def sample(project_root):
    return project_root / "sample_data" / "omiya"


@pytest.fixture(scope="module")
def run(sample, tmp_path_factory):
    """Every stage input made small and synthetic, then the two walkability stages."""
    out = tmp_path_factory.mktemp("walk")
    ingest = []
    for source in open_dataset(sample, types=["bldg", "tran"], meshes=TILES):
        ingest.append(record(ingest_task(source, str(out / "ingest"), CRS), "ingest", source.file_name))
    corner = _corner_x()
    shadow, surface = [], []
    for tile in TILES:
        grid = tile_grid(tile, CRS, 2.0)
        x, _ = grid.cell_centres()
        west = np.broadcast_to(x < corner, grid.shape).astype(np.float32)
        fractions = {
            "summer_solstice_midday": west,
            "summer_solstice_morning": west,
            "winter_solstice_midday": np.zeros(grid.shape, np.float32),
        }
        paths = {
            name: write_cog(out / "shadow" / tile / f"{name}_shade_fraction.tif", data, grid, nodata=np.nan)
            for name, data in fractions.items()
        }
        shadow.append(record(Result(outputs=ShadowOutputs(shade_fraction=paths)), "shadow", tile))
        outer = grid.buffered(200.0)
        ox, _ = outer.cell_centres()
        terrain = np.broadcast_to(10.0 + 0.02 * (ox - corner), outer.shape).astype(np.float32)
        terrain_path = write_cog(out / "surface" / f"{tile}_terrain.tif", terrain, outer, nodata=np.nan)
        surface.append(
            record(
                Result(
                    outputs=SurfaceOutputs(
                        dsm="", canopy="", building_id="", buildings="", terrain=terrain_path
                    )
                ),
                "surface",
                tile,
            )
        )
    flow = record(
        peopleflow_task(
            str(out / "peopleflow"),
            [PeopleFlowSource(kind="mlit", path=sample / "peopleflow" / "mlit_peopleflow_omiya.csv")],
            SCENARIOS,
            settings=PeopleFlowSettings(),
            timezone="Asia/Tokyo",
        ),
        "peopleflow",
        "all",
    )
    settings = WalkabilitySettings()
    streets, districts = [str(sample / "streets.osm")], str(sample / "districts.geojson")
    tiles = []
    for tile in TILES:
        tiles.append(
            record(
                walkability_tile(
                    tile,
                    CRS,
                    str(out / "walkability" / "tiles"),
                    streets=streets,
                    settings=settings,
                    scenarios=SCENARIOS,
                    shadow=shadow,
                    ingest=ingest,
                    peopleflow=[flow],
                    surface=[r for r in surface if r.tile == tile],
                ),
                "walkability",
                tile,
            )
        )
    scale = record(
        walkability_scale(
            str(out / "walkability"), settings=settings, scenarios=SCENARIOS, walkability=tiles
        ),
        "walkability_scale",
        "all",
    )
    scored = [
        record(
            walkability_score_tile(
                t.tile,
                str(out / "walkability" / "tiles"),
                CRS,
                districts=districts,
                settings=settings,
                scenarios=SCENARIOS,
                walkability=[t],
                scale=[scale],
            ),
            "walkability_score",
            t.tile,
        )
        for t in tiles
    ]
    summary = walkability_summary(
        str(out / "walkability"),
        CRS,
        districts=districts,
        settings=settings,
        scenarios=SCENARIOS,
        walkability_score=scored,
        scale=[scale],
        peopleflow=[flow],
        shadow=shadow,
        ingest=[r for r in ingest if r.feature_type == "bldg"],
    )
    return SimpleNamespace(
        out=out,
        ingest=ingest,
        flow=flow,
        tiles=tiles,
        scale=scale,
        scored=scored,
        summary=summary,
        settings=settings,
        streets=streets,
        corner=corner,
    )


def _segments(run, name):
    return gpd.read_parquet(run.summary.outputs.segments[name])


def test_walk_filter_drops_motorway_and_building_ways(sample):
    text = (sample / "streets.osm").read_text(encoding="utf-8")
    assert 'v="motorway"' in text and 'k="building"' in text  # the file really holds both
    network = from_osm_xml(sample / "streets.osm", CRS)
    assert set(network.segments["highway"]) == {"residential", "secondary"}
    # 13 x 13 street grid of 70 m blocks: 2 x 13 x 12 blocks, the 4 corner bends merged
    assert len(network) == 2 * 13 * 12 - 4
    assert network.segments["length_m"].sum() == pytest.approx(2 * 13 * 840.0, rel=1e-3)


def test_usage_codes_map_to_classes_weighted_by_floor_area():
    import shapely

    buildings = gpd.GeoDataFrame(
        {
            "gml_id": ["shop", "flat", "mixed", "unknown"],
            "usage": ["402", "412", "413", "461"],
            "storeys_above_ground": [10, 1, 2, 3],
            "height_m": [30.0, 3.0, 6.0, 9.0],
        },
        geometry=[shapely.box(0, 0, 20, 20)] * 4,
        crs=CRS,
    )
    dest = building_destinations(buildings, floor_area_per_destination_m2=500.0)
    counts = dest.groupby(["gml_id", "class"]).size().to_dict()
    # 400 m2 x 10 storeys = 4000 m2 -> 8 points; 400 m2 -> 1; mixed 800 m2 split 400/400 -> 1 + 1
    assert counts == {
        ("shop", "commercial"): 8,
        ("flat", "residential"): 1,
        ("mixed", "commercial"): 1,
        ("mixed", "residential"): 1,
    }
    assert set(USAGE_CLASSES) >= {"401", "402", "411", "421", "422", "431", "441"}


def test_coverage_marks_morning_not_covered_by_mlit(run):
    coverage = pd.read_parquet(run.flow.outputs.coverage)
    morning = coverage[coverage["scenario"] == "summer_solstice_morning"]
    assert len(morning) == 2 and not morning["covered"].any()
    assert morning["how"].str.contains("MLIT has no values for 08:00-11:00").all()
    assert (morning["cells_with_values"] == 0).all()
    midday = coverage[coverage["scenario"] == "summer_solstice_midday"]
    assert midday["covered"].all() and (midday["cells_with_values"] == 4).all()
    flow = pd.read_parquet(run.flow.outputs.flow_by_mesh)
    assert flow[flow["scenario"] == "summer_solstice_morning"]["population"].isna().all()
    weekday = flow[(flow["scenario"] == "summer_solstice_midday") & (flow["day_type"] == "weekday")]
    # June weekday midday of the busiest (east) tile: 8600 x 0.95
    assert weekday.set_index("meshcode").loc[53396580, "population"] == pytest.approx(8170.0)


def test_every_named_output_exists_and_no_layer_is_empty(run):
    outputs = run.summary.outputs
    for kind in ("segments", "score_raster", "score_map", "class_map"):
        assert set(getattr(outputs, kind)) == {s.name for s in SCENARIOS}, kind
    for key in ("summary_by_mesh", "summary_by_district", "buildings_nearest_street", "report"):
        assert getattr(outputs, key)
    paths = [Path(p) for p in outputs.paths + [p for t in run.tiles for p in t.outputs.paths]]
    for path in paths:
        assert path.is_file() and path.stat().st_size > 0, path
        if path.suffix == ".parquet":
            assert len(pd.read_parquet(path)) > 0, path
        elif path.suffix == ".csv":
            assert len(pd.read_csv(path)) > 0, path
        elif path.suffix == ".tif":
            with rasterio.open(path) as src:
                assert src.crs.to_epsg() == 6677 and src.overviews(1) is not None
                assert np.isfinite(src.read(1)).sum() > 1000, path
        elif path.suffix == ".png":
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sum(t.counts["segments"] for t in run.tiles) == 308  # every segment in one tile


def test_scores_classes_and_components(run):
    for scenario in SCENARIOS:
        segments = _segments(run, scenario.name)
        assert len(segments) == 308 and segments.crs.to_epsg() == 6677
        assert segments["score"].between(0, 100).all()
        assert set(segments["class"]) <= CLASSES
    morning = _segments(run, "summer_solstice_morning")
    assert (morning["class"] == "flow_unknown").all()  # MLIT has no morning: use unknown
    assert (morning["people_source"] == "none").all()  # and no counters here to shape it
    summer = _segments(run, "summer_solstice_midday")
    assert summer["people"].notna().all() and summer["people"].sum() > 0
    assert (summer["people_source"] == "mlit").all()
    uncomfortable = summer[summer["class"] == "used_uncomfortable"]
    assert len(uncomfortable) and (uncomfortable["shade_share"] < 0.3).all()
    winter = _segments(run, "winter_solstice_midday")
    assert "used_uncomfortable" not in set(winter["class"])  # not a hot season
    # slope from the 2 % terrain: east-west streets rise 2 %, north-south ones are flat
    bounds = summer.geometry.bounds
    east_west = (bounds["maxy"] - bounds["miny"]) < 1
    assert summer.loc[east_west, "slope_mean_pct"].median() == pytest.approx(2.0, abs=0.05)
    assert summer.loc[~east_west, "slope_mean_pct"].median() == pytest.approx(0.0, abs=0.05)
    # widths come from the PLATEAU road polygons (12 m main streets, 8 m others)
    assert set(summer["width_m"].dropna().round()) == {8.0, 12.0}
    assert (summer["width_source"] == "plateau_tran").mean() > 0.9


def test_summer_comfort_access_follows_the_shade(run):
    summer = _segments(run, "summer_solstice_midday")
    winter = _segments(run, "winter_solstice_midday")
    plain = summer["access_commercial_800"]
    ratio = summer["access_comfort_commercial_800"] / plain
    assert (summer["access_comfort_commercial_800"] <= plain + 1e-9).all()  # factors >= 1
    mid_x = summer.geometry.interpolate(0.5, normalized=True).x
    shaded, sunny = mid_x < run.corner - 150, mid_x > run.corner + 150
    assert summer.loc[shaded, "shade_share"].min() == pytest.approx(1.0)
    assert summer.loc[sunny, "shade_share"].max() == pytest.approx(0.0)
    # a metre in the sun costs 1.4: sunny streets lose access, shaded ones keep most of it
    assert ratio[sunny].mean() < 0.75 < ratio[shaded].mean()
    np.testing.assert_allclose(summer.loc[shaded, "imp_factor"], 1.0)
    np.testing.assert_allclose(summer.loc[sunny, "imp_factor"], 1.4)
    # winter sun costs 0.8: every street reaches more than on plain lengths
    assert (winter["access_comfort_commercial_800"] >= winter["access_commercial_800"] - 1e-9).all()
    # heat counts once: comfort-weighted access is a column, the score takes plain access, so
    # a street as sunny in summer as in winter scores the same (no UTCI here: shade share)
    np.testing.assert_allclose(summer.loc[sunny, "score"], winter.loc[sunny, "score"])
    assert summer.loc[shaded, "score"].mean() > summer.loc[sunny, "score"].mean()


def test_summaries_per_mesh_and_district(run):
    outputs = run.summary.outputs
    mesh = pd.read_parquet(outputs.summary_by_mesh["parquet"])
    assert sorted(mesh["meshcode"].unique().tolist()) == [int(t) for t in TILES]
    assert len(mesh) == 4 * len(SCENARIOS) and mesh["score"].between(0, 100).all()
    shares = mesh[[c for c in mesh if c.startswith("share_")]].sum(axis=1)
    np.testing.assert_allclose(shares, 1.0)
    district = pd.read_csv(outputs.summary_by_district["csv"], encoding="utf-8-sig")
    assert set(district["district"]) == {"大宮駅西口", "大宮駅東口", "大宮駅北"}
    summer = district[district["scenario"] == "summer_solstice_midday"].set_index("district")
    assert summer.loc["大宮駅西口", "shade_share"] > 0.9 > 0.1 > summer.loc["大宮駅東口", "shade_share"]


def test_buildings_nearest_street(run):
    table = pd.read_parquet(run.summary.outputs.buildings_nearest_street)
    buildings = pd.concat(
        [pd.read_parquet(r.outputs.table, columns=["gml_id"]) for r in run.ingest if r.feature_type == "bldg"]
    )
    assert set(table["gml_id"]) == set(buildings["gml_id"])
    assert table["distance_m"].max() < 40  # every building fronts a street in the grid
    for scenario in SCENARIOS:
        assert table[f"walk_score_{scenario.name}"].between(0, 100).all()


def test_report_compares_the_scenarios(run):
    text = Path(run.summary.outputs.report).read_text(encoding="utf-8")
    for scenario in SCENARIOS:
        assert scenario.name in text
    assert text.count("data:image/png;base64,") >= 2 + 2 * len(SCENARIOS)
    assert "大宮駅東口" in text and "MLIT has no values" in text
    assert not re.search(r"(src|href)=['\"]https?:", text)  # self-contained


def test_report_is_japanese_with_where_to_act_first_method_and_district_shares(run):
    text = Path(run.summary.outputs.report).read_text(encoding="utf-8")
    assert "<html lang='ja'>" in text
    headings = re.findall(r"<h2[^>]*>([^<]+)</h2>", text)
    assert headings[:3] == ["まず対策すべき街路", "方法とデータ出典", "シナリオ一覧"]
    assert "地区別の表" in headings and "Where to act first" not in text
    # no thermal stage in this run: the index cannot be computed, and the report says why
    assert "優先度を計算できません" in text and run.summary.outputs.priority is None
    # people flow: MLIT 滞在人口 per 1 km mesh, the day type, the slots observed and those without data
    assert "滞在人口(1 km メッシュ" in text and "日種別: 平日" in text
    assert text.count("<td class='text'>観測値</td>") == 2  # the two midday slots
    assert "LAS ヘッダー" not in text and "この実行では使用していません" in text  # no LiDAR given
    # district table: each class's share of street length, in %, adding up to 100 per row
    table = re.search(r"id='districts'.*?<tbody>(.*?)</tbody>", text, re.S).group(1)
    for row in re.findall(r"<tr>(.*?)</tr>", table):
        cells = re.findall(r"<td[^>]*>([^<]*)</td>", row)
        assert sum(float(c.replace(",", "")) for c in cells[-5:]) == pytest.approx(100, abs=2.5)
    assert "ポテンシャルを有するエリア (%)" in text


def test_report_in_english_on_request(run):
    from pipeline.walkability.partials import add_up
    from pipeline.walkability.report import build_report

    sums = add_up([pd.read_parquet(r.outputs.partials) for r in run.scored])
    common = dict(
        n_segments=1,
        settings=run.settings,
        mesh_summary=pd.read_parquet(run.summary.outputs.summary_by_mesh["parquet"]),
        district_summary=pd.read_parquet(run.summary.outputs.summary_by_district["parquet"]),
        maps={},
        class_maps={},
    )
    english = build_report(sums[sums["level"] == "run"], SCENARIOS, lang="en", **common)
    assert "<html lang='en'>" in english
    assert re.findall(r"<h2[^>]*>([^<]+)</h2>", english)[:2] == [
        "Where to act first",
        "Method and data sources",
    ]
    assert "まず対策" not in english
    with pytest.raises(ValueError, match="'fr'"):
        build_report(sums[sums["level"] == "run"], SCENARIOS, lang="fr", **common)


def test_planners_wire_tiles_to_their_neighbours(run, tmp_path, project_root):
    records = {r.key: r for r in run.ingest}
    for t in TILES + ["53396478"]:
        made = record(Result(), "shadow", t)
        records[made.key] = made
    records[run.flow.key] = run.flow
    definition = load_run_definition(project_root / "dags/sample.yaml", {"inputs.streets": run.streets})
    ctx = PlanContext(
        definition=definition,
        crs=CRS,
        tiles=TILES,
        sources=[],
        manifest=Manifest.open(tmp_path),
        output=tmp_path,
    )
    tasks = STAGE.plan(ctx, records)
    assert [t.tile for t in tasks] == TILES
    first = tasks[0]  # 53396489: its neighbours include 53396478 (south-west), not 53396590
    assert "shadow-53396478" in first.upstream["shadow"] and "shadow-53396590" in first.upstream["shadow"]
    assert first.upstream["peopleflow"] == ["peopleflow-all"]
    assert len(first.upstream["ingest"]) == 8
    assert first.kwargs["settings"] is definition.stages.walkability
    assert first.kwargs["streets"] == run.streets and first.meshes == ("53396489",)
    assert len(tasks[3].upstream["shadow"]) == 4  # 53396590: the four sample tiles only
    records.update({t.key: t for t in run.tiles})
    [scale] = SCALE.plan(ctx, records)
    assert scale.tile == "all" and scale.upstream["walkability"] == sorted(t.key for t in run.tiles)
    assert SCORE.plan(ctx, records) == []  # not before the run's scale is known
    records[run.scale.key] = run.scale
    scores = SCORE.plan(ctx, records)
    assert [t.tile for t in scores] == TILES
    assert scores[0].upstream == {"walkability": ["walkability-53396489"], "scale": ["walkability_scale-all"]}
    records.update({t.key: t for t in run.scored})
    [summary] = SUMMARY.plan(ctx, records)
    assert len(summary.upstream["walkability_score"]) == 4 and summary.tile == "all"
    assert summary.upstream["walkability_score"] == sorted(summary.upstream["walkability_score"])


def test_tiles_scored_apart_equal_the_run_scored_whole(run):
    """Scoring tile by tile with the run's scale is scoring the run at once: with the exact
    percentiles the scores are identical, and the sketched ones move them by under a point."""
    from dataclasses import replace

    from scipy.stats import percentileofscore

    from pipeline.walkability.scale import RunScale
    from pipeline.walkability.scenario_scores import read_tile_tables, score_scenario

    tables = [read_tile_tables(t.outputs.segments, t.outputs.scenarios) for t in run.tiles]
    segments = gpd.GeoDataFrame(pd.concat([s for s, _ in tables]), geometry="geometry", crs=CRS).sort_index()
    rows = pd.concat([r for _, r in tables], ignore_index=True)
    sketched = RunScale.from_json(Path(run.scale.outputs.scale).read_text(encoding="utf-8"))
    plain = [c for c in segments if c.startswith("access_") and not c.startswith("access_comfort_")]
    exact = replace(sketched, access_reference={c: float(np.nanpercentile(segments[c], 95)) for c in plain})
    for column in plain:  # within half a bin of the order statistic numpy interpolates from
        lower = float(np.nanpercentile(segments[column], 95, method="lower"))
        assert sketched.access_reference[column] == pytest.approx(lower, rel=0.006)
    for scenario in SCENARIOS:
        mine = _segments(run, scenario.name).set_index("segment_id")
        rows_of = rows[rows["scenario"] == scenario.name]
        whole = score_scenario(segments, rows_of, scenario, run.settings, sketched)
        pd.testing.assert_series_equal(mine["score"], whole["score"].reindex(mine.index), check_names=False)
        assert (mine["class"] == whole["class"].reindex(mine.index)).all()
        with_exact = score_scenario(segments, rows_of, scenario, run.settings, exact)
        assert (mine["score"] - with_exact["score"].reindex(mine.index)).abs().max() < 1.0
        # the standing from the merged sketches of the tiles' scores is the rank over the run
        everyone = whole["score"].to_numpy(float)
        exact_rank = np.array([percentileofscore(everyone, v, kind="mean") for v in mine["score"]])
        assert np.abs(mine["score_percentile"].to_numpy() - exact_rank).max() < 1.0
        assert mine["score_percentile"].between(0, 100).all()
        walkable = mine["class"].isin(["walkable_used", "walkable_underused"])
        assert (mine.loc[walkable, "score_percentile"] >= run.settings.walkable_percentile).all()


def test_summaries_are_the_sums_of_the_tiles(run):
    """The per-mesh summary added up from the tiles' partial sums equals the length-weighted
    means of the written segments."""
    mesh = pd.read_parquet(run.summary.outputs.summary_by_mesh["parquet"])
    for scenario in SCENARIOS:
        segments = _segments(run, scenario.name)
        for code, part in segments.groupby("meshcode"):
            row = mesh[(mesh["meshcode"] == code) & (mesh["scenario"] == scenario.name)].iloc[0]
            w = part["length_m"]
            assert row["street_length_m"] == pytest.approx(w.sum())
            assert row["score"] == pytest.approx((part["score"] * w).sum() / w[part["score"].notna()].sum())
            for cls in CLASSES:
                assert row[f"share_{cls}"] == pytest.approx(w[part["class"] == cls].sum() / w.sum())


def test_people_sources_say_which_slots_are_observed(run):
    table = pd.read_parquet(run.summary.outputs.people_sources["parquet"]).set_index("scenario")
    assert table.loc["summer_solstice_midday", "flow"] == "observed"
    assert table.loc["summer_solstice_midday", "people_source"] == "mlit"
    assert table.loc["summer_solstice_midday", "share_mlit"] == pytest.approx(1.0)
    assert table.loc["summer_solstice_morning", "flow"] == "none"  # MLIT only, no counters here
    assert table.loc["summer_solstice_morning", "share_with_people"] == pytest.approx(0.0)
    assert run.summary.details["people_flow"] == {
        "summer_solstice_midday": "observed",
        "summer_solstice_morning": "none",
        "winter_solstice_midday": "observed",
    }


def test_maps_speak_the_report_language_and_name_the_districts(run):
    """Map titles and legends in Japanese (the default report_lang), set in the shipped font."""
    from PIL import Image

    name = SCENARIOS[0].name
    for kind, head in (("score_map", "歩きやすさスコア: "), ("class_map", "街路の分類: ")):
        with Image.open(getattr(run.summary.outputs, kind)[name]) as image:
            assert image.text["Title"].startswith(head), image.text["Title"]
            assert image.text["Description"] in (
                "legend: スコア (0–100)",
                "legend: 時間帯のうち日陰の割合 (0–1)",
            )
