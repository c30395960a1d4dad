"""The shadow stage's glue: its method settings, one numba thread in a Dask worker, and
one task writing what :func:`pipeline.shade.shadow.tile_shade` computes by that method."""

from __future__ import annotations

import geopandas as gpd
import numba
import numpy as np
import pytest
from shapely.geometry import box

from pipeline.core.config import RunDefinitionError
from pipeline.core.task import Record
from pipeline.geo.raster import Grid, read_raster, write_cog
from pipeline.shade.shadow import tile_shade
from pipeline.shade.sun import Scenario, Season, TimeSlot
from pipeline.stages import load_run_definition
from pipeline.stages.common import numba_threads, numba_threads_for_task
from pipeline.stages.shadow import ShadowSettings, shadow_tile
from pipeline.stages.surface import SurfaceOutputs

CRS = "EPSG:6677"
SCENARIOS = [
    Scenario(Season("winter_solstice", 12, 21), TimeSlot("midday", "11:00", "14:00")),
    Scenario(Season("heat_day", 8, 5), TimeSlot("morning", "08:00", "11:00")),
]


@pytest.mark.parametrize(
    ("overrides", "method", "sector"),
    [
        ({}, "horizon", 2.0),
        ({"stages.shadow.method": "sweep"}, "sweep", 2.0),
        ({"stages.shadow.sector_deg": 2.5, "stages.thermal.method": "sweep"}, "horizon", 2.5),
    ],
)
def test_method_settings(project_root, tmp_path, overrides, method, sector):
    definition = load_run_definition(
        project_root / "dags/sample.yaml", {"output": str(tmp_path), **overrides}
    )
    assert definition.stages.shadow.method == method and definition.stages.shadow.sector_deg == sector
    assert definition.stages.thermal.method == overrides.get("stages.thermal.method", "horizon")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("stages.shadow.method", "raytrace", "stages.shadow.method"),
        ("stages.shadow.sector_deg", 7.0, "must divide 360"),
        ("stages.thermal.sector_deg", 0.0, "stages.thermal.sector_deg"),
    ],
)
def test_bad_method_settings_fail_with_their_key(project_root, tmp_path, key, value, message):
    with pytest.raises(RunDefinitionError, match=message):
        load_run_definition(project_root / "dags/sample.yaml", {"output": str(tmp_path), key: value})


def test_one_numba_thread_inside_a_dask_worker_only():
    from distributed import Client, LocalCluster

    assert numba_threads_for_task() is None
    with (
        LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        assert client.submit(numba_threads_for_task).result() == 1


def test_numba_threads_are_set_for_the_block_and_restored():
    before = numba.get_num_threads()
    with numba_threads(1):
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == before
    with numba_threads(None):
        assert numba.get_num_threads() == before


def _surface(folder) -> tuple[Grid, list[Record]]:
    """A 120 m x 100 m tile at 2 m (40 m halo): a 30 m tower, a lower block, a row of trees."""
    inner = Grid(-20000.0, -10000.0, 2.0, 60, 50, CRS)
    outer = inner.buffered(40.0)
    dsm = np.full(outer.shape, 10.0, dtype=np.float32)
    index = np.full(outer.shape, -1, dtype=np.int32)
    for k, (r0, r1, c0, c1, height) in enumerate([(40, 50, 40, 52, 30.0), (55, 62, 70, 85, 9.0)]):
        dsm[r0:r1, c0:c1] += height
        index[r0:r1, c0:c1] = k
    canopy = np.full(outer.shape, np.nan, dtype=np.float32)
    canopy[66:68, 30:90] = 18.0
    outputs = {
        name: write_cog(folder / f"{name}.tif", array, outer, nodata=np.nan if name != "building_id" else -1)
        for name, array in (("dsm", dsm), ("canopy", canopy), ("building_id", index))
    }
    x0, y1 = outer.x_min, outer.y_max
    footprints = [
        box(x0 + c0 * 2, y1 - r1 * 2, x0 + c1 * 2, y1 - r0 * 2)
        for r0, r1, c0, c1, _ in [(40, 50, 40, 52, 0), (55, 62, 70, 85, 0)]
    ]
    gpd.GeoDataFrame(
        {"building_index": [0, 1], "gml_id": ["bldg_a", "bldg_b"]}, geometry=footprints, crs=CRS
    ).to_parquet(folder / "buildings.parquet")
    outputs["buildings"] = str(folder / "buildings.parquet")
    return inner, [
        Record(
            stage="surface",
            tile="t",
            status="done",
            outputs=SurfaceOutputs(terrain=outputs["dsm"], **outputs),
        )
    ]


@pytest.mark.parametrize("method", ["horizon", "sweep"])
def test_the_task_writes_what_tile_shade_computes_by_its_method(tmp_path, method):
    inner, surface = _surface(tmp_path)
    settings = ShadowSettings(method=method, step_minutes=30.0)
    result = shadow_tile(
        "t",
        inner,
        str(tmp_path / "shadow"),
        settings=settings,
        scenarios=SCENARIOS,
        year=2026,
        halo_m=40.0,
        timezone="Asia/Tokyo",
        surface=surface,
    )
    assert result.details["method"] == method and result.counts == {"scenarios": 2, "buildings": 2}
    dsm, outer, _ = read_raster(surface[0].outputs.dsm)
    canopy, _, _ = read_raster(surface[0].outputs.canopy)
    expected = tile_shade(
        dsm,
        outer,
        inner,
        SCENARIOS,
        2026,
        canopy_top=canopy,
        step_minutes=30.0,
        max_distance_m=40.0,
        method=method,
    )
    for name, shade in expected.scenarios.items():
        written, grid, _ = read_raster(result.outputs.shade_hours[name])
        assert grid == inner
        np.testing.assert_array_equal(written, shade.shade_hours)
    for season, hours in expected.sun_hours.items():
        written, _, _ = read_raster(result.outputs.sun_hours[season])
        np.testing.assert_array_equal(written, hours)
    table = gpd.read_parquet(result.outputs.buildings)
    assert list(table["gml_id"]) == ["bldg_a", "bldg_b"]


def test_with_weather_the_shadow_task_computes_the_thermal_outputs_in_its_pass(tmp_path, project_root):
    """The shadow task with the thermal settings (the run names weather) writes the shade
    exactly as alone and the thermal COGs exactly as the thermal stage's own task: the
    thermal task then only hands them on (one pass per tile, issue 21 part 6)."""
    from pipeline.stages.thermal import (
        ThermalOutputs,
        ThermalSettings,
        adopt_thermal,
        shares_pass,
        thermal_tile_task,
    )

    inner, surface = _surface(tmp_path)
    # shade every 10 minutes, thermal every 30: the pass keeps every third step's codes
    settings, thermal = ShadowSettings(step_minutes=10.0), ThermalSettings(step_minutes=30.0)
    assert shares_pass(settings, thermal) and shares_pass(settings, ThermalSettings(step_minutes=20.0))
    assert not shares_pass(settings, ThermalSettings(method="sweep"))
    weather = str(project_root / "sample_data" / "weather" / "kumagaya_normals_1991_2020.csv")
    common = dict(scenarios=SCENARIOS, year=2026, halo_m=40.0, timezone="Asia/Tokyo", surface=surface)
    alone = shadow_tile("t", inner, str(tmp_path / "alone"), settings=settings, **common)
    both = shadow_tile(
        "t",
        inner,
        str(tmp_path / "shadow"),
        settings=settings,
        thermal=thermal,
        weather_file=weather,
        thermal_dir=str(tmp_path / "thermal"),
        **common,
    )
    assert alone.outputs.thermal is None and both.details["thermal"]
    for name in alone.outputs.shade_hours:
        assert (
            read_raster(both.outputs.shade_hours[name])[0].tobytes()
            == read_raster(alone.outputs.shade_hours[name])[0].tobytes()
        )
    own = thermal_tile_task(
        "t", inner, str(tmp_path / "own"), settings=thermal, weather_file=weather, **common
    )
    handed = adopt_thermal(
        "t", shadow=[Record(stage="shadow", tile="t", status="done", outputs=both.outputs)]
    )
    assert isinstance(handed.outputs, ThermalOutputs) and handed.outputs.to_json() == both.outputs.thermal
    pairs = [(handed.outputs.svf, own.outputs.svf)] + [
        (getattr(handed.outputs, kind)[s.name], getattr(own.outputs, kind)[s.name])
        for kind in ("utci_mean", "tmrt_mean", "stress_hours")
        for s in SCENARIOS
    ]
    for in_pass, by_itself in pairs:
        assert read_raster(in_pass)[0].tobytes() == read_raster(by_itself)[0].tobytes(), in_pass


def test_a_cover_in_the_canopy_habit_raster_passes_its_own_transmissivity(tmp_path):
    """A measure's shade sail (cover code of 0.23 in the canopy-habit raster, as the surface
    stage writes it) reaches the shadow task: its cells get 0.23 of the beam in winter and
    in summer, not the crowns' leaf-off 0.5 or leaf-on 0.03."""
    from dataclasses import replace

    from pipeline.stages.thermal import read_tile_surface
    from pipeline.surface.habit import NO_TREE, UNKNOWN_HABIT, cover_code

    inner, surface = _surface(tmp_path)
    canopy, outer, _ = read_raster(surface[0].outputs.canopy)
    habit = np.where(np.isfinite(canopy), UNKNOWN_HABIT, NO_TREE).astype(np.uint8)
    canopy[22:28, 22:28], habit[22:28, 22:28] = 14.0, cover_code(0.23)  # 12 m x 12 m, 4 m up, in the open
    outputs = replace(
        surface[0].outputs,
        canopy=write_cog(tmp_path / "canopy_sail.tif", canopy, outer, nodata=np.nan),
        canopy_habit=write_cog(tmp_path / "habit_sail.tif", habit, outer, nodata=None),
    )
    surface = [replace(surface[0], outputs=outputs)]
    tile = read_tile_surface("t", inner, surface, "deciduous")
    assert tile.covers is not None and np.nanmax(tile.covers.transmissivity) == pytest.approx(0.23)
    result = shadow_tile(
        "t",
        inner,
        str(tmp_path / "shadow"),
        settings=ShadowSettings(step_minutes=30.0),
        scenarios=SCENARIOS,
        year=2026,
        halo_m=40.0,
        timezone="Asia/Tokyo",
        surface=surface,
    )
    for name in (s.name for s in SCENARIOS):  # winter midday, heat-day morning
        fraction, _, _ = read_raster(result.outputs.shade_fraction[name])
        np.testing.assert_allclose(fraction[3:7, 3:7], 1 - 0.23, atol=1e-6)


def test_shadow_maps_are_titled_in_japanese_and_english(tmp_path, monkeypatch):
    """The run-wide shade and sun maps belong to no report: their titles and units carry both
    languages, with the scenario in the planners' words (season, slot and its hours)."""
    from types import SimpleNamespace

    import pipeline.geo.maps
    from pipeline.geo.scenarios import DEFAULT_SEASONS
    from pipeline.stages.shadow import map_labels, shadow_maps

    grid = Grid(-20000.0, -10000.0, 2.0, 20, 10, CRS)
    shade = write_cog(tmp_path / "shade.tif", np.full((10, 20), 2.5, dtype="float32"), grid)
    sun = write_cog(tmp_path / "sun.tif", np.full((10, 20), 9.0, dtype="float32"), grid)
    outputs = SimpleNamespace(shade_hours={"heat_day_midday": shade}, sun_hours={"heat_day": sun})
    drawn = {}
    monkeypatch.setattr(
        pipeline.geo.maps,
        "write_raster_map",
        lambda path, *a, title, units, **k: drawn.update({path.name: (title, units)}),
    )
    scenarios = [Scenario(season, TimeSlot("midday", "11:00", "14:00")) for season in DEFAULT_SEASONS]
    shadow_maps(
        str(tmp_path / "maps"),
        None,
        CRS,
        shadow=[SimpleNamespace(outputs=outputs)],
        labels=map_labels(scenarios),
    )
    assert drawn["shade_hours_heat_day_midday.png"] == (
        "日陰時間 猛暑日 昼 (11:00-14:00) / Shade hours, hot day midday (11:00-14:00)",
        "日陰の時間 / hours in shade (h)",
    )
    assert drawn["sun_hours_heat_day.png"][0] == "日照時間 猛暑日 / Sun hours, hot day"
