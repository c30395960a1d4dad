"""One tile's thermal comfort: per-scenario means and stress hours, bounded memory, determinism."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from pipeline.geo.raster import Grid
from pipeline.shade.shadow import CanopyTransmissivity
from pipeline.shade.sun import Scenario, Season, TimeSlot
from pipeline.thermal.tile import ThermalOptions, TileSurface, thermal_scenarios, thermal_tile, tile_sky_view
from pipeline.thermal.utci import STRESS_KEYS
from pipeline.thermal.weather import read_weather

CRS = "EPSG:6677"
HEAT_DAY_MIDDAY = Scenario(Season("heat_day", 8, 5), TimeSlot("midday", "11:00", "14:00"))
WINTER_MORNING = Scenario(Season("winter_solstice", 12, 21), TimeSlot("morning", "08:00", "11:00"))


def _tile():
    """A 160 m x 120 m tile near Omiya with a 30 m block and a row of trees, 60 m halo."""
    inner = Grid(-20000.0, -10000.0, 1.0, 160, 120, CRS)
    outer = inner.buffered(60.0)
    dsm = np.full(outer.shape, 10.0)
    dsm[100:130, 90:150] = 40.0  # block: rows 40-70, cols 30-90 of the tile
    canopy = np.full(outer.shape, np.nan)
    canopy[150:156, 80:200] = 18.0  # trees 8 m tall south of the block
    return inner, outer, dsm, canopy


@pytest.fixture(scope="module")
def weather(project_root):
    return read_weather(project_root / "sample_data" / "weather" / "kumagaya_normals_1991_2020.csv")


@pytest.fixture(scope="module")
def result(weather):
    inner, outer, dsm, canopy = _tile()
    return thermal_tile(
        TileSurface(dsm, outer, inner, canopy),
        [HEAT_DAY_MIDDAY, WINTER_MORNING],
        2026,
        weather,
        ThermalOptions(step_minutes=20),
    )


def test_outputs_on_the_tile_grid(result):
    inner, *_ = _tile()
    assert result.grid == inner and list(result.scenarios) == ["heat_day_midday", "winter_solstice_morning"]
    assert result.svf.shape == inner.shape and result.svf.dtype == np.float32
    for scenario in result.scenarios.values():
        for array in (scenario.utci_mean_c, scenario.tmrt_mean_c, *scenario.stress_hours.values()):
            assert array.shape == inner.shape and array.dtype == np.float32 and np.isfinite(array).all()
        assert set(scenario.stress_hours) <= set(STRESS_KEYS)
        assert scenario.slot_hours == pytest.approx(3.0)
        total = sum(scenario.stress_hours.values())
        np.testing.assert_allclose(total, 3.0, atol=1e-5)  # every cell's hours fill the slot
        assert len(scenario.weather) == 9 and "熊谷" in scenario.weather.source


def test_shade_north_of_the_block_is_cooler_at_midday(result):
    summer = result.scenarios["heat_day_midday"]
    north_of_block, open_ground = (35, 60), (100, 140)  # tile (row, col)
    assert summer.utci_mean_c[north_of_block] < summer.utci_mean_c[open_ground] - 3
    assert summer.tmrt_mean_c[north_of_block] < summer.tmrt_mean_c[open_ground] - 15
    assert summer.hours_in("very_strong_heat")[open_ground] > 2.5
    assert summer.hours_in("extreme_cold").sum() == 0
    winter = result.scenarios["winter_solstice_morning"]
    assert winter.utci_mean_c[north_of_block] < winter.utci_mean_c[open_ground]


def test_trees_shade_by_their_transmissivity(result, weather):
    inner, outer, dsm, canopy = _tile()
    under_trees, beside = (92, 60), (110, 60)  # tile (row, col)
    summer = result.scenarios["heat_day_midday"]
    assert summer.tmrt_mean_c[under_trees] < summer.tmrt_mean_c[beside] - 10
    bare = thermal_tile(
        TileSurface(dsm, outer, inner, canopy),
        [HEAT_DAY_MIDDAY],
        2026,
        weather,
        ThermalOptions(step_minutes=20, transmissivity=CanopyTransmissivity(leaf_on=1.0, leaf_off=1.0)),
    )
    assert bare.scenarios["heat_day_midday"].tmrt_mean_c[under_trees] == pytest.approx(
        summer.tmrt_mean_c[beside], abs=3.0
    )


def test_deterministic_and_sky_view_reusable(result, weather):
    inner, outer, dsm, canopy = _tile()
    # the sweep's sky view; the pass took its horizons from the shade sectors (nothing here
    # lies beyond their 200 m), summed in fixed point: the same within float32's last bit
    sky = tile_sky_view(TileSurface(dsm, outer, inner, canopy))
    np.testing.assert_allclose(sky.surface, result.svf, rtol=0, atol=1e-7)
    np.testing.assert_allclose(sky.opaque_trees, result.sky_view.opaque_trees, rtol=0, atol=1e-7)
    again = dict(
        thermal_scenarios(
            TileSurface(dsm, outer, inner, canopy),
            [WINTER_MORNING],
            2026,
            weather,
            ThermalOptions(step_minutes=20),
            sky_view=sky,
        )
    )
    first = result.scenarios["winter_solstice_morning"]
    assert again["winter_solstice_morning"].utci_mean_c.tobytes() == first.utci_mean_c.tobytes()
    assert again["winter_solstice_morning"].tmrt_mean_c.tobytes() == first.tmrt_mean_c.tobytes()


def test_memory_does_not_grow_with_the_number_of_time_steps(weather):
    """Steps are accumulated, never stacked: 18 steps peak no higher than 3 steps (+20 %).

    The peak is about 5 MB here; keeping the 18 steps' UTCI and Tmrt would add 2.8 MB.
    """
    inner, outer, dsm, canopy = _tile()
    sky = tile_sky_view(TileSurface(dsm, outer, inner, canopy))
    peaks = {}
    for minutes in (60, 10):
        tracemalloc.start()
        thermal_tile(
            TileSurface(dsm, outer, inner, canopy),
            [HEAT_DAY_MIDDAY],
            2026,
            weather,
            ThermalOptions(step_minutes=minutes),
            sky_view=sky,
        )
        peaks[minutes] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peaks[10] < 1.2 * peaks[60]


def test_horizon_shade_agrees_with_the_exact_sweep(result, weather):
    """The default shade method (horizons per 2-degree sector) against the exact sweep.

    The two disagree on at most 0.5 % of the cells at a step (``test_horizon.py``), a
    different cell at each step, so a cell's mean Tmrt moves by at most the sun-to-shade
    span for one step out of nine: the tile mean of |dTmrt| stays within 0.5 % of the
    span (measured 0.05 K of 28 K on the heat day, 0.08 K of 41 K in winter), and the
    tile's mean UTCI within 0.05 K (measured 0.002 and 0.006 K)."""
    inner, outer, dsm, canopy = _tile()
    exact = thermal_tile(
        TileSurface(dsm, outer, inner, canopy),
        [HEAT_DAY_MIDDAY, WINTER_MORNING],
        2026,
        weather,
        ThermalOptions(step_minutes=20, method="sweep"),
        sky_view=result.sky_view,
    )
    for name, scenario in result.scenarios.items():
        reference = exact.scenarios[name]
        span = float(reference.tmrt_mean_c.max() - reference.tmrt_mean_c.min())
        assert np.abs(scenario.tmrt_mean_c - reference.tmrt_mean_c).mean() <= 0.005 * span, name
        assert (scenario.tmrt_mean_c != reference.tmrt_mean_c).any()  # the methods did differ
        assert abs(scenario.utci_mean_c.mean() - reference.utci_mean_c.mean()) < 0.05
    with pytest.raises(ValueError, match="unknown shade method"):
        next(
            thermal_scenarios(
                TileSurface(dsm, outer, inner, canopy),
                [WINTER_MORNING],
                2026,
                weather,
                ThermalOptions(method="raytrace"),
                sky_view=result.sky_view,
            )
        )


def _per_step_reference(dsm, outer, inner, scenarios, weather, canopy, evergreen, sky_view, step_minutes):
    """The plain loop the one-pass replaces: each scenario in turn, each step in time order,
    numpy Tmrt (pipeline.thermal.tmrt), numpy sums, the per-cell wind and the crowns by leaf
    habit (as the thermal stage computed it on main until the merge of 2026-12-06)."""
    from pipeline.shade.shadow import inner_window, light_fraction, make_caster
    from pipeline.shade.sun import grid_centre_lonlat, meridian_convergence_deg, slot_sun_positions
    from pipeline.thermal.forcing import forcing_source
    from pipeline.thermal.tmrt import DayHeating, SkyGeometry, mean_radiant_temperature
    from pipeline.thermal.utci import stress_class_index, utci_uniform_air
    from pipeline.thermal.wind import utci_wind_factor

    lon, lat = grid_centre_lonlat(inner)
    caster = make_caster(
        dsm,
        outer.resolution,
        canopy_top=canopy,
        max_distance_m=60.0,
        window=inner_window(outer, inner),
        evergreen_top=evergreen,
    )
    wind_factor = utci_wind_factor(sky_view.surface)
    out = {}
    for scenario in scenarios:
        date = scenario.season.date(2026)
        positions = slot_sun_positions(date, scenario.slot, lat, lon, step_minutes=step_minutes)
        forcing = forcing_source(weather).forcing(scenario, 2026, positions, latitude=lat, longitude=lon)
        irradiance, steps = forcing.irradiance, forcing.weather
        taus = CanopyTransmissivity().by_habit(date)
        sky = SkyGeometry.from_svf(sky_view.with_trees(*taus), sky_view.surface)
        day = DayHeating.for_date(date, lat, lon)
        azimuths = positions.grid_azimuth_deg(meridian_convergence_deg(outer.crs, lon, lat))
        utci_sum, tmrt_sum, hours = np.zeros(inner.shape), np.zeros(inner.shape), {}
        for k, moment in enumerate(positions.timestamps.tz_convert("Asia/Tokyo")):
            altitude = float(positions.sun_altitude_deg[k])
            share = (
                light_fraction(caster.codes(azimuths[k], altitude), *taus)
                if altitude > 0
                else np.zeros(inner.shape, np.float32)
            )
            ground_k, wall_k = day.ground_and_wall(moment, altitude)
            tmrt = mean_radiant_temperature(
                svf=sky,
                sun_share=share,
                sun_altitude_deg=altitude,
                dni_wm2=float(irradiance.dni_wm2[k]),
                dhi_wm2=float(irradiance.dhi_wm2[k]),
                air_temperature_c=float(steps.air_temperature_c[k]),
                relative_humidity_pct=float(steps.relative_humidity_pct[k]),
                ground_heating_k=ground_k,
                wall_heating_k=wall_k,
            )
            utci = utci_uniform_air(
                float(steps.air_temperature_c[k]),
                tmrt,
                float(steps.wind_speed_ms[k]) * wind_factor,
                float(steps.relative_humidity_pct[k]),
            )
            weight = float(positions.weight_hours[k])
            utci_sum += weight * utci
            tmrt_sum += weight * tmrt
            classes = stress_class_index(utci)
            for index in np.unique(classes[classes >= 0]):
                hours.setdefault(STRESS_KEYS[index], np.zeros(inner.shape, np.float32))[classes == index] += (
                    np.float32(weight)
                )
        out[scenario.name] = (
            (utci_sum / positions.total_hours).astype(np.float32),
            (tmrt_sum / positions.total_hours).astype(np.float32),
            hours,
        )
    return out


def test_one_pass_equals_the_per_step_loop(weather):
    """Every scenario's steps in one pass by azimuth, compiled Tmrt and sums, against the
    plain per-scenario numpy loop: the same stress hours to the bit, UTCI and Tmrt means
    within a float32 rounding of the compiled Tmrt (measured at most 1 ulp, 7.6e-6 K, on
    0.2 % of the cells of a sample tile). A winter afternoon runs past sunset; the east half
    of the row of trees is evergreen (the fourth shade code, both transmissivities and the
    crowns' long-wave), and the wind is each cell's."""
    inner, outer, dsm, canopy = _tile()
    evergreen = np.full(outer.shape, np.nan)
    evergreen[150:156, 140:200] = canopy[150:156, 140:200]
    scenarios = [
        HEAT_DAY_MIDDAY,
        WINTER_MORNING,
        Scenario(Season("winter_solstice", 12, 21), TimeSlot("afternoon", "14:00", "17:00")),
        Scenario(Season("equinox", 3, 20), TimeSlot("morning", "05:00", "08:00")),
    ]
    sky = tile_sky_view(TileSurface(dsm, outer, inner, canopy, evergreen))
    one_pass = thermal_tile(
        TileSurface(dsm, outer, inner, canopy, evergreen),
        scenarios,
        2026,
        weather,
        ThermalOptions(step_minutes=20, max_distance_m=60.0),
        sky_view=sky,
    )
    reference = _per_step_reference(dsm, outer, inner, scenarios, weather, canopy, evergreen, sky, 20)
    assert list(one_pass.scenarios) == [s.name for s in scenarios]
    for name, (utci, tmrt, hours) in reference.items():
        result = one_pass.scenarios[name]
        np.testing.assert_allclose(result.utci_mean_c, utci, rtol=0, atol=1e-4)
        np.testing.assert_allclose(result.tmrt_mean_c, tmrt, rtol=0, atol=1e-4)
        assert (result.tmrt_mean_c == tmrt).mean() > 0.99
        assert sorted(result.stress_hours) == sorted(hours)
        for key, value in hours.items():
            np.testing.assert_array_equal(result.stress_hours[key], value)
    assert len(reference["winter_solstice_afternoon"][2]) >= 2  # classes change over the slot


def test_the_pass_keeps_each_scenarios_time_order_and_groups_azimuths(weather):
    """Every scenario of the default set at the sample's tile centre: the pass visits each
    scenario's steps in time order, and all steps by rising azimuth (so a horizon sector,
    once left, is never needed again)."""
    from pipeline.shade.sun import default_scenarios, grid_centre_lonlat, meridian_convergence_deg
    from pipeline.thermal.tile import scenario_steps, step_order

    inner, outer, dsm, canopy = _tile()
    sky = tile_sky_view(TileSurface(dsm, outer, inner, canopy))
    lon, lat = grid_centre_lonlat(inner)
    forcings = [
        scenario_steps(
            s,
            2026,
            lat,
            lon,
            meridian_convergence_deg(CRS, lon, lat),
            weather,
            transmissivity=CanopyTransmissivity(),
            sky_view=sky,
            step_minutes=10,
            timezone="Asia/Tokyo",
            altitude_m=0.0,
        )
        for s in default_scenarios()
    ]
    order = step_order(forcings)
    assert sorted(order) == [(i, k) for i, f in enumerate(forcings) for k in range(len(f.positions))]
    for i, f in enumerate(forcings):
        steps = [k for j, k in order if j == i]
        assert steps == sorted(steps), f.scenario.name
    azimuths = [forcings[i].grid_azimuth_deg[k] for i, k in order]
    assert np.all(np.diff(azimuths) >= 0)
    # the seasons' slots interleave: the pass does not take the scenarios one after another
    assert len({i for i, _ in order[:60]}) > 3


def test_a_bare_deciduous_crown_warms_more_than_an_evergreen_one_in_winter(weather):
    """The row of trees of :func:`_tile`, its east half evergreen: in December the bare
    deciduous crowns (transmissivity 0.5) let a person beneath them warm in the sun, the
    evergreen ones (0.03) do not; in August both are in leaf and alike."""
    inner, outer, dsm, canopy = _tile()
    evergreen = np.full(outer.shape, np.nan)
    evergreen[150:156, 140:200] = canopy[150:156, 140:200]
    winter_noon = Scenario(Season("winter_solstice", 12, 21), TimeSlot("noon", "11:30", "12:30"))
    summer_noon = Scenario(Season("heat_day", 8, 5), TimeSlot("noon", "11:30", "12:30"))
    result = thermal_tile(
        TileSurface(dsm, outer, inner, canopy, evergreen),
        [winter_noon, summer_noon],
        2026,
        weather,
        ThermalOptions(step_minutes=20),
    )
    under_deciduous, under_evergreen = (92, 55), (92, 115)  # tile (row, col), under the crowns
    winter = result.scenarios[winter_noon.name].tmrt_mean_c
    summer = result.scenarios[summer_noon.name].tmrt_mean_c
    assert winter[under_deciduous] > winter[under_evergreen] + 5.0
    assert abs(summer[under_deciduous] - summer[under_evergreen]) < 0.5


def test_packed_codes_give_back_each_positions_codes_and_light():
    """Four positions to a byte: every position's codes come back, and its light share is
    light_fraction's, for both leaf habits' transmissivities."""
    from pipeline.shade.shadow import light_fraction
    from pipeline.thermal.tile import PackedCodes

    rng = np.random.default_rng(2)
    codes = [rng.integers(0, 4, (70, 90)).astype(np.uint8) for _ in range(7)]
    packed = PackedCodes(len(codes), (70, 90))
    for index, value in enumerate(codes):
        packed.put(index, value)
    assert packed.nbytes == 2 * 70 * 90
    for index, value in enumerate(codes):
        np.testing.assert_array_equal(packed.get(index), value)
        assert packed.light(index, 0.5, 0.03).tobytes() == light_fraction(value, 0.5, 0.03).tobytes()


def test_a_thermal_step_coarser_than_the_shade_takes_its_codes_from_the_pass(weather):
    """Shade every 10 minutes, thermal every 30 (an odd multiple: each thermal step's mid-point
    is a shade step's) or 20 (mid-points between the shade's, cast when taken): the shade is
    the 10-minute pass's, the thermal sums are byte for byte those of a pass at the thermal
    step, and at 30 minutes only a third of the 10-minute steps' codes are kept."""
    from pipeline.thermal.tile import shade_and_thermal

    inner, outer, dsm, canopy = _tile()
    surface = TileSurface(dsm, outer, inner, canopy)
    scenarios = [HEAT_DAY_MIDDAY, WINTER_MORNING]
    fine = shade_and_thermal(surface, scenarios, 2026, weather, ThermalOptions(step_minutes=10))
    fine_thermal = dict(fine.thermal)
    for thermal_step in (30.0, 20.0):
        mixed = shade_and_thermal(
            surface,
            scenarios,
            2026,
            weather,
            ThermalOptions(step_minutes=10, thermal_step_minutes=thermal_step),
        )
        alone = shade_and_thermal(
            surface, scenarios, 2026, weather, ThermalOptions(step_minutes=thermal_step)
        )
        for name, result in fine.shade.scenarios.items():
            assert mixed.shade.scenarios[name].shade_hours.tobytes() == result.shade_hours.tobytes()
        got, want = dict(mixed.thermal), dict(alone.thermal)
        for s in scenarios:
            a, b = got[s.name], want[s.name]
            assert a.utci_mean_c.tobytes() == b.utci_mean_c.tobytes()
            assert a.tmrt_mean_c.tobytes() == b.tmrt_mean_c.tobytes()
            assert sorted(a.stress_hours) == sorted(b.stress_hours)
            for key in a.stress_hours:
                assert a.stress_hours[key].tobytes() == b.stress_hours[key].tobytes()
            # a coarser sampling of the same slot: the mean UTCI of a cell moves by 0.02-0.08 K
            # on average (measured), most at shadow edges, which a 30-minute step leaves in sun
            # or shade for 20 minutes more or less (up to 2.3 K there)
            d = np.abs(a.utci_mean_c - fine_thermal[s.name].utci_mean_c)
            assert d.mean() < 0.15 and d.max() < 3.0
            assert a.slot_hours == pytest.approx(fine_thermal[s.name].slot_hours, abs=1e-9)


def test_thermal_steps_take_their_sun_from_the_shade_schedule():
    """Thermal every 30 minutes, shade every 10: each thermal step's sun is the schedule's at
    the same instant (no second SPA call), as slot_sun_positions computes it; at 20 minutes
    (mid-points not among the shade's) it is computed."""
    from pipeline.shade.schedule import tile_schedule
    from pipeline.shade.sun import default_scenarios, slot_sun_positions
    from pipeline.thermal.tile import thermal_sun_positions

    lat, lon = 35.9063, 139.6237
    scenarios = default_scenarios()
    schedule = tile_schedule(scenarios, 2026, lat, lon, step_minutes=10)
    for minutes in (30.0, 20.0):
        got = thermal_sun_positions(
            scenarios, 2026, lat, lon, ThermalOptions(step_minutes=10, thermal_step_minutes=minutes), schedule
        )
        for s in scenarios:
            want = slot_sun_positions(s.season.date(2026), s.slot, lat, lon, step_minutes=minutes)
            assert list(got[s.name].timestamps) == list(want.timestamps)
            np.testing.assert_array_equal(got[s.name].weight_hours, want.weight_hours)
            np.testing.assert_allclose(got[s.name].sun_altitude_deg, want.sun_altitude_deg, rtol=0, atol=1e-9)
            np.testing.assert_allclose(got[s.name].sun_azimuth_deg, want.sun_azimuth_deg, rtol=0, atol=1e-9)
    assert len(got[scenarios[0].name]) == 9  # 20 minutes: a 3-hour slot in nine steps
