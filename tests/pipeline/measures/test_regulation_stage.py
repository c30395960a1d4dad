"""The shadow regulation (日影規制) in the effects stage: added buildings of a measures file
checked with limits from the ingested use districts or from the run definition."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from pydantic import ValidationError
from shapely.geometry import box

from pipeline.measures.hikage_limits import ShadeRegulationTextError
from pipeline.stages.effects import EffectsSettings, shadow_regulation_run
from tests.pipeline.measures.conftest import feature, write_geojson

CRS = "EPSG:6677"
X0, Y0 = -10_000.0, -30_000.0  # central Tokyo, as in test_shadow_regulation.py
YEAR = 2025


def slab(dx: float) -> dict:
    """A 40 m x 12 m footprint ``dx`` metres east of (X0, Y0), as a GeoJSON polygon."""
    x, y = X0 + dx, Y0
    ring = [[x - 20, y - 12], [x + 20, y - 12], [x + 20, y], [x - 20, y], [x - 20, y - 12]]
    return {"type": "Polygon", "coordinates": [ring]}


@pytest.fixture
def measures(tmp_path):
    return write_geojson(
        tmp_path / "buildings.geojson",
        [
            feature("building", slab(0.0), id="tower", height_m=30.0),
            feature("building", slab(1000.0), id="low", height_m=10.0),
            feature("tree", {"type": "Point", "coordinates": [X0, Y0 + 500]}, height_m=8.0, evergreen=False),
        ],
        crs=CRS,
    )


def test_a_30_m_building_fails_and_a_10_m_one_passes_with_the_run_limits(measures, tmp_path):
    written = shadow_regulation_run(
        str(tmp_path / "effects"),
        CRS,
        measures=(str(measures),),
        limits="(一) 4時間-2.5時間／4m",
        year=YEAR,
        timezone="Asia/Tokyo",
    )
    table = pd.read_csv(written["csv"], encoding="utf-8-sig").set_index("building_id")
    assert list(table.index) == ["tower", "low"]  # the tree is not checked
    assert table.loc["tower", "status"] == "fail"
    assert table.loc["tower", "near_max_h"] > 4.0 and table.loc["tower", "far_max_h"] > 2.5
    assert table.loc["tower", "near_area_over_m2"] > 0 and table.loc["tower", "far_area_over_m2"] > 0
    # 10 m in a 4 m-plane zone is not a regulated building (別表第四: over 10 m): it passes,
    # though with no lot given (the footprint is the boundary) its shadow is still measured
    assert bool(table.loc["low", "passes"]) and table.loc["low", "status"] == "not_subject"
    assert 0 < table.loc["low", "far_max_h"] < table.loc["tower", "far_max_h"]
    lines = gpd.read_file(written["lines"])
    assert lines.crs.to_epsg() == 6677
    tower = lines[(lines["building_id"] == "tower") & (lines["kind"] == "equal_time")]
    assert len(tower) and tower.geometry.intersects(box(X0 - 200, Y0, X0 + 200, Y0 + 300)).any()
    # the same inputs write the same bytes
    again = shadow_regulation_run(
        str(tmp_path / "again"),
        CRS,
        measures=(str(measures),),
        limits="(一) 4時間-2.5時間／4m",
        year=YEAR,
        timezone="Asia/Tokyo",
    )
    for key in ("csv", "parquet", "lines"):
        assert open(written[key], "rb").read() == open(again[key], "rb").read()


def test_the_use_districts_text_comes_before_the_run_limits(measures, tmp_path):
    # 第二種中高層住居専用地域 (code 4) with (三) 5 h / 3 h on the 4 m plane over the 10 m one
    district = gpd.GeoDataFrame(
        {
            "gml_id": ["urf_1"],
            "feature_type": ["urf:UseDistrict"],
            "function": ["4"],
            "function_label": ["第二種中高層住居専用地域"],
            "shade_regulation": ["(三) 5時間-3時間／4m"],
        },
        geometry=[box(X0 + 900, Y0 - 100, X0 + 1100, Y0 + 100)],
        crs=CRS,
    )
    urf = tmp_path / "urf.parquet"
    district.to_parquet(urf)
    written = shadow_regulation_run(
        str(tmp_path / "effects"),
        CRS,
        measures=(str(measures),),
        use_districts=(str(urf),),
        limits="(一) 4時間-2.5時間／4m",
        year=YEAR,
        timezone="Asia/Tokyo",
    )
    table = pd.read_csv(written["csv"], encoding="utf-8-sig").set_index("building_id")
    assert table.loc["low", "zone_id"] == "urf_1"
    assert table.loc["low", "near_limit_h"] == 5.0 and table.loc["low", "far_limit_h"] == 3.0
    assert table.loc["tower", "near_limit_h"] == 4.0  # outside every district: the run's limits


def _tower_on_its_lot(tmp_path):
    """A measures file: a 10 m x 10 m tower of 15 m on the north line of its 20 m x 15 m lot L1."""

    def ring(x0, y0, x1, y1):
        return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}

    return write_geojson(
        tmp_path / "tower.geojson",
        [
            feature("lot", ring(X0 - 10, Y0 - 15, X0 + 10, Y0), id="L1"),
            feature("building", ring(X0 - 5, Y0 - 10, X0 + 5, Y0), id="tower", height_m=15.0, lot="L1"),
        ],
        crs=CRS,
    )


def test_a_lot_on_a_12_m_street_of_the_run_has_its_deemed_boundary(tmp_path):
    """A 10 m x 10 m tower of 15 m on the north line of its lot: over the limits measured from
    the lot alone, within them with the deemed boundary of the 12 m street the run's network
    has along that line (test_shadow_regulation.py checks the lines' places)."""
    from shapely.geometry import LineString

    measures = _tower_on_its_lot(tmp_path)
    streets = tmp_path / "scored.parquet"
    gpd.GeoDataFrame(
        {"segment_id": ["t:0", "t:0", "t:1"], "scenario": ["a", "b", "a"], "width_m": [12.0, 12.0, 6.0]},
        geometry=[
            LineString([(X0 - 200, Y0 + 6), (X0 + 200, Y0 + 6)]),
            LineString([(X0 - 200, Y0 + 6), (X0 + 200, Y0 + 6)]),  # one row per scenario
            LineString([(X0 + 500, Y0), (X0 + 500, Y0 + 100)]),  # far away
        ],
        crs=CRS,
    ).to_parquet(streets)
    common = dict(
        measures=(str(measures),), limits="(一) 4時間-2.5時間／4m", year=YEAR, timezone="Asia/Tokyo"
    )
    alone = pd.read_csv(
        shadow_regulation_run(str(tmp_path / "a"), CRS, **common)["csv"], encoding="utf-8-sig"
    )
    on_street = pd.read_csv(
        shadow_regulation_run(str(tmp_path / "b"), CRS, streets=(str(streets),), **common)["csv"],
        encoding="utf-8-sig",
        keep_default_na=False,
    )
    assert (alone.loc[0, "status"], alone.loc[0, "site_boundary"]) == ("fail", "lot")
    assert (on_street.loc[0, "status"], on_street.loc[0, "site_boundary"]) == ("pass", "lot_deemed")
    assert str(on_street.loc[0, "deemed_road_widths_m"]) == "12" and on_street.loc[0, "site_id"] == "lot L1"


def test_a_lot_on_a_river_of_the_ingested_land_use_has_its_deemed_boundary(tmp_path):
    """The tower of the test above with a 20 m river of an ingested luse table (class 204)
    north of its lot instead of the street: within the limits, the river named."""

    measures = _tower_on_its_lot(tmp_path)
    luse = tmp_path / "533945_luse.parquet"
    gpd.GeoDataFrame(
        {"gml_id": ["w", "h"], "feature_type": ["luse:LandUse"] * 2, "class": ["204", "211"]},
        geometry=[box(X0 - 200, Y0, X0 + 200, Y0 + 20), box(X0 - 10, Y0 - 15, X0 + 10, Y0)],
        crs=CRS,
    ).to_parquet(luse)
    written = shadow_regulation_run(
        str(tmp_path / "r"),
        CRS,
        measures=(str(measures),),
        open_land=(str(luse),),
        limits="(一) 4時間-2.5時間／4m",
        year=YEAR,
        timezone="Asia/Tokyo",
    )
    table = pd.read_csv(written["csv"], encoding="utf-8-sig", keep_default_na=False)
    assert (table.loc[0, "status"], table.loc[0, "site_boundary"]) == ("pass", "lot_deemed")
    assert table.loc[0, "deemed_water_railway"] == "water 20"


def test_a_lot_3_m_below_its_neighbours_on_the_run_terrain_gets_the_relief(tmp_path):
    """A 40 x 12 m slab of 16 m, 15 m inside the north line of its 50 x 30 m lot, the lot 3 m
    below the ground all around in a terrain COG like the surface stage's: over the limits on
    flat ground, within them with the lot deemed (3 - 1) / 2 = 1 m higher
    (test_shadow_regulation.py works the hours by hand)."""
    import numpy as np
    import shapely

    from pipeline.geo.raster import Grid, write_cog

    def ring(x0, y0, x1, y1):
        return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}

    measures = write_geojson(
        tmp_path / "slab.geojson",
        [
            feature("lot", ring(X0 - 25, Y0 - 15, X0 + 25, Y0 + 15), id="L1"),
            feature("building", ring(X0 - 20, Y0 - 12, X0 + 20, Y0), id="slab", height_m=16.0, lot="L1"),
        ],
        crs=CRS,
    )
    grid = Grid.from_bounds(X0 - 300, Y0 - 300, X0 + 300, Y0 + 300, 1.0, CRS)
    xs, ys = grid.cell_centres()
    xx, yy = np.meshgrid(xs, ys)
    lot = box(X0 - 25, Y0 - 15, X0 + 25, Y0 + 15)
    heights = np.where(shapely.contains_xy(lot, xx, yy), 12.0, 15.0).astype(np.float32)
    terrain = write_cog(tmp_path / "t_terrain.tif", heights, grid, nodata=np.nan)
    common = dict(
        measures=(str(measures),), limits="(一) 4時間-2.5時間／4m", year=YEAR, timezone="Asia/Tokyo"
    )
    flat = pd.read_csv(shadow_regulation_run(str(tmp_path / "a"), CRS, **common)["csv"], encoding="utf-8-sig")
    relieved = pd.read_csv(
        shadow_regulation_run(str(tmp_path / "b"), CRS, terrain=(terrain,), **common)["csv"],
        encoding="utf-8-sig",
    )
    assert flat.loc[0, "status"] == "fail" and flat.loc[0, "ground_rise_m"] == 0.0
    assert relieved.loc[0, "status"] == "pass"
    assert relieved.loc[0, "site_ground_m"] == 12.0 and relieved.loc[0, "neighbour_ground_m"] == 15.0
    assert relieved.loc[0, "ground_difference_m"] == 3.0 and relieved.loc[0, "ground_rise_m"] == 1.0


def test_without_limits_the_buildings_are_reported_with_limits_unknown(measures, tmp_path):
    written = shadow_regulation_run(
        str(tmp_path / "effects"), CRS, measures=(str(measures),), year=YEAR, timezone="Asia/Tokyo"
    )
    table = pd.read_csv(written["csv"], encoding="utf-8-sig")
    assert set(table["status"]) == {"no_limits"}


def test_no_added_building_writes_nothing(tmp_path):
    trees = write_geojson(
        tmp_path / "trees.geojson",
        [feature("tree", {"type": "Point", "coordinates": [X0, Y0]}, height_m=8.0, evergreen=False)],
        crs=CRS,
    )
    out = tmp_path / "effects"
    assert (
        shadow_regulation_run(str(out), CRS, measures=(str(trees),), year=YEAR, timezone="Asia/Tokyo") == {}
    )
    assert not out.exists()


def test_the_run_key_is_validated():
    assert EffectsSettings(shadow_regulation="(二) 5時間-3時間／4m").shadow_regulation
    with pytest.raises(ValidationError, match="stages.effects.shadow_regulation"):
        EffectsSettings(shadow_regulation="4 hours")
    assert issubclass(ShadeRegulationTextError, ValueError)
