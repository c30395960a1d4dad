"""Measures on a tile's surface, cast with the shadow kernel on built cases with a known sun."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely

from pipeline.geo.raster import Grid
from pipeline.measures.records import Building, Canopy, MeasureSet, RemovedBuilding, Tree
from pipeline.measures.surface import TileSurface, apply_measures
from pipeline.shade.shadow import (
    CANOPY_SHADE,
    EVERGREEN_SHADE,
    SUNLIT,
    SURFACE_SHADE,
    light_fraction,
    make_caster,
)
from pipeline.surface.habit import DECIDUOUS, EVERGREEN

CRS = "EPSG:6677"
GROUND = 12.0  # flat terrain, orthometric metres
GRID = Grid(0.0, 200.0, 1.0, 200, 200, CRS)  # 200 m x 200 m, 1 m cells


def flat_surface(buildings: list[tuple[shapely.Polygon, float, str]] = ()) -> TileSurface:
    terrain = np.full(GRID.shape, GROUND, np.float32)
    dsm, index = terrain.copy(), np.full(GRID.shape, -1, np.int32)
    from pipeline.surface.rasterize import rasterize_polygons_height

    if buildings:
        heights, index = rasterize_polygons_height(
            [b[0] for b in buildings], np.array([GROUND + b[1] for b in buildings]), GRID
        )
        dsm = np.where(index >= 0, heights, dsm).astype(np.float32)
    return TileSurface(
        dsm=dsm,
        terrain=terrain,
        canopy=np.full(GRID.shape, np.nan, np.float32),
        habit=np.zeros(GRID.shape, np.uint8),
        building_id=index,
        gml_ids=[b[2] for b in buildings],
    )


def codes(surface: TileSurface, azimuth: float, altitude: float) -> np.ndarray:
    evergreen = np.where(surface.habit == EVERGREEN, surface.canopy, np.nan)
    caster = make_caster(
        surface.dsm,
        GRID.resolution,
        method="sweep",
        canopy_top=surface.canopy,
        evergreen_top=evergreen if np.isfinite(evergreen).any() else None,
    )
    return caster.codes(azimuth, altitude)


@pytest.mark.parametrize("altitude", [30.0, 45.0, 60.0])
def test_a_trees_shadow_has_the_length_and_direction_of_the_sun(altitude):
    # a 10 m deciduous tree of 1 m crown at (100.5, 100.5); sun due south (azimuth 180)
    tree = Tree("t", 100.5, 100.5, height_m=10.0, crown_diameter_m=1.0, crown_base_m=4.0, evergreen=False)
    applied = apply_measures(flat_surface(), MeasureSet(CRS, trees=[tree]), GRID)
    surface = applied.surface
    assert surface.canopy[99, 100] == pytest.approx(GROUND + 10.0) and surface.habit[99, 100] == DECIDUOUS
    shade = codes(surface, 180.0, altitude) == CANOPY_SHADE
    rows, cols = np.nonzero(shade)
    assert set(cols) == {100}  # straight north of the trunk
    length_m = (99 - rows.min()) * GRID.resolution  # rows grow southwards
    assert length_m == pytest.approx(10.0 / math.tan(math.radians(altitude)), abs=1.0)
    assert rows.max() == 99  # nothing south of the tree
    # an evergreen tree shades with the evergreen code
    evergreen = apply_measures(
        flat_surface(), MeasureSet(CRS, trees=[Tree("e", 100.5, 100.5, 10.0, 1.0, 4.0, True)]), GRID
    ).surface
    assert (codes(evergreen, 180.0, altitude) == EVERGREEN_SHADE).sum() == shade.sum()


def test_an_opaque_canopy_shades_like_a_roof_beyond_its_footprint():
    footprint = shapely.box(90, 90, 110, 110)
    canopy = Canopy("sail", footprint, height_m=4.0, transmissivity=0.0)
    covered = apply_measures(flat_surface(), MeasureSet(CRS, canopies=[canopy]), GRID).surface
    roofed = flat_surface([(footprint, 4.0, "roof")])
    for azimuth, altitude in ((180.0, 30.0), (135.0, 20.0), (250.0, 45.0)):
        cover_light = light_fraction(codes(covered, azimuth, altitude), 0.0, 0.0)
        roof_light = light_fraction(codes(roofed, azimuth, altitude), 0.0, 0.0)
        outside = roofed.building_id < 0
        assert (cover_light[outside] == 0).sum() > 50  # it casts a shadow
        np.testing.assert_array_equal(cover_light[outside], roof_light[outside])
        # under the cover a pedestrian is shaded; on the roof the roof is in the sun
        assert (cover_light[~outside] == 0).all() and (roof_light[~outside] == 1).all()


def test_a_removed_building_casts_no_shade():
    tower = (shapely.box(80, 80, 120, 120), 40.0, "bldg_tower")
    before = flat_surface([tower])
    assert (codes(before, 180.0, 30.0) == SURFACE_SHADE).sum() > 1000
    applied = apply_measures(before, MeasureSet(CRS, removed=[RemovedBuilding("#0", "bldg_tower")]), GRID)
    after = applied.surface
    assert (codes(after, 180.0, 30.0) == SUNLIT).all()
    assert (after.building_id == -1).all() and np.array_equal(after.dsm, after.terrain)
    assert applied.counts["removed_buildings"] == 1
    assert (before.building_id >= 0).any()  # the input is untouched


def test_a_new_building_is_an_lod1_prism_that_clears_trees():
    ground = flat_surface()
    ground.terrain[:, 100:] += 2.0  # a 2 m step under the lot
    trees = [Tree("t", 105.5, 105.5, 8.0, 4.0, 3.2, False)]
    lot = Building("b1", shapely.box(95, 95, 115, 115), height_m=30.0, storeys=9)
    applied = apply_measures(ground, MeasureSet(CRS, trees=trees, buildings=[lot]), GRID)
    after = applied.surface
    inside = after.building_id >= 0
    assert inside.sum() == 400  # 20 m x 20 m of 1 m cells
    assert np.unique(after.dsm[inside]).tolist() == [pytest.approx(GROUND + 30.0)]  # lowest ground + height
    assert after.gml_ids == ["measure:b1"] and np.isnan(after.canopy[inside]).all()
    shade = codes(after, 180.0, 45.0) == SURFACE_SHADE
    assert shade[:95, 95:115].any() and not shade[116:, :].any()


def test_a_shade_sail_passes_its_own_transmissivity_in_summer_and_winter(project_root):
    """Covers carry their own share of the beam (habit codes of covers): a shade sail (0.23)
    passes 0.23 at heat-day and winter midday alike (not the crowns' leaf-on 0.03 or
    leaf-off 0.5); a summer-only sail is not up in winter; an opaque cover (0) lets nothing
    through. Tmrt and UTCI under the sail lie between open ground and the opaque cover."""
    from pipeline.geo.scenarios import DEFAULT_SEASONS, DEFAULT_TIME_SLOTS, Scenario
    from pipeline.shade.shadow import Covers
    from pipeline.surface.habit import cover_transmissivity, evergreen_canopy_top
    from pipeline.thermal.tile import ThermalOptions, shade_and_thermal
    from pipeline.thermal.tile import TileSurface as ThermalSurface
    from pipeline.thermal.weather import read_weather

    sail = Canopy("sail", shapely.box(60, 100, 80, 120), height_m=4.0, transmissivity=0.23)
    summer = Canopy("summer", shapely.box(90, 60, 110, 80), 4.0, 0.23, season="summer")
    opaque = Canopy("opaque", shapely.box(120, 100, 140, 120), 4.0, 0.0)
    surface = apply_measures(flat_surface(), MeasureSet(CRS, canopies=[sail, summer, opaque]), GRID).surface
    tau, summer_only = cover_transmissivity(surface.habit)
    assert tau[GRID.rowcol(np.array([70.0]), np.array([110.0]))] == pytest.approx(0.23)
    inner = Grid(50.0, 150.0, 1.0, 100, 100, CRS)  # the tile; GRID is it plus a 50 m halo
    tile = ThermalSurface(
        surface.dsm.astype(np.float64),
        GRID,
        inner,
        surface.canopy.astype(np.float64),
        evergreen_canopy_top(surface.canopy, surface.habit),
        Covers(tau, summer_only),
    )
    midday = DEFAULT_TIME_SLOTS[1]
    heat = Scenario(next(s for s in DEFAULT_SEASONS if s.name == "heat_day"), midday)
    winter = Scenario(next(s for s in DEFAULT_SEASONS if s.name == "winter_solstice"), midday)
    weather = read_weather(project_root / "sample_data" / "weather" / "kumagaya_normals_1991_2020.csv")
    result = shade_and_thermal(
        tile,
        [heat, winter],
        2026,
        weather,
        ThermalOptions(step_minutes=30, max_distance_m=50.0),
        sun_hours=False,
    )
    thermal = dict(result.thermal)

    def cell(x, y):  # row, column on the tile of a point
        return 150 - int(y) - 1, int(x) - 50

    under_sail, under_summer, under_opaque, open_ground = (
        cell(70, 105),
        cell(100, 65),
        cell(130, 105),
        cell(100, 140),
    )
    for scenario in (heat, winter):
        shade = result.shade.scenarios[scenario.name].shade_fraction
        assert shade[under_sail] == pytest.approx(1 - 0.23, abs=1e-6)
        assert shade[under_opaque] == pytest.approx(1.0, abs=1e-6) and shade[open_ground] == 0.0
    assert result.shade.scenarios[heat.name].shade_fraction[under_summer] == pytest.approx(0.77, abs=1e-6)
    assert result.shade.scenarios[winter.name].shade_fraction[under_summer] == 0.0  # not up in December
    # the exact sweep gives the covers' cells the same light
    from pipeline.shade.shadow import tile_shade

    exact = tile_shade(
        tile.dsm,
        GRID,
        inner,
        [heat, winter],
        2026,
        canopy_top=tile.canopy_top,
        evergreen_top=tile.evergreen_top,
        covers=tile.covers,
        step_minutes=30,
        max_distance_m=50.0,
        sun_hours=False,
        method="sweep",
    )
    for scenario in (heat, winter):
        for where in (under_sail, under_summer, under_opaque):
            assert exact.scenarios[scenario.name].shade_fraction[where] == pytest.approx(
                result.shade.scenarios[scenario.name].shade_fraction[where], abs=1e-6
            )
    hot = thermal[heat.name]
    for field in ("tmrt_mean_c", "utci_mean_c"):
        values = getattr(hot, field)
        assert values[under_opaque] < values[under_sail] < values[open_ground], field
    # the summer-only sail in December: as open ground in the sun, but for the sky it hides
    cold = thermal[winter.name]
    assert cold.tmrt_mean_c[under_summer] > cold.tmrt_mean_c[under_sail]
