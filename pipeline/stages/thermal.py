"""``thermal``: per tile, sky view factor, then mean UTCI, mean Tmrt and hours per UTCI
stress class for every scenario (:mod:`pipeline.thermal`).

Reads the tile's surface rasters (DSM and canopy, tile plus halo) and the weather named
in ``stages.thermal.weather`` (a JMA AMeDAS hourly CSV, a plain CSV, or monthly normals
such as the sample's bundled Kumagaya 1991-2020 table) as the ``thermal_forcing`` stage
recorded it for every scenario in ``<output>/thermal/weather.csv``, and writes under
``<output>/thermal/<tile>/``: ``svf.tif`` and per scenario ``<scenario>_utci_mean.tif``,
``<scenario>_tmrt_mean.tif`` (°C, float32) and ``<scenario>_stress_hours.tif`` (one band
per UTCI stress class, hours). Runs when a weather file is named.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Mapping

from pydantic import Field

from pipeline.core.settings import InputPath, StageSettings
from pipeline.core.stage import Stage
from pipeline.core.task import PlanContext, Record, Result, Task, done, keys
from pipeline.stages.common import numba_threads, numba_threads_for_task, surface_scenario_tasks
from pipeline.stages.shadow import SectorSetting, ShadeMethodSetting, Transmissivity

log = logging.getLogger(__name__)


class ThermalSettings(StageSettings):
    """Thermal comfort per tile and scenario: sky view factor, Tmrt, UTCI (runs when `weather` is named)."""

    weather: InputPath | None = Field(None, description=(
        "Weather: a JMA past-weather hourly CSV of an AMeDAS station (Shift_JIS, as "
        "downloaded), a plain CSV (`date` or `month`, `hour`, `air_temperature_c`, "
        "`relative_humidity_pct`, `wind_speed_ms`), or monthly normals (the sample names "
        "`sample_data/weather/kumagaya_normals_1991_2020.csv`). None: the stage does not run "
        "and walkability falls back to shade share."))
    station: str | None = Field(None, description="JMA CSV with several stations: the one to use.")
    window_days: int = Field(7, ge=0, le=45, description=(
        "From observations, a season's weather is the hour-by-hour mean of the days within this "
        "many days of its date, over every year in the file (0: that day only); also the "
        "window of `observed_hot_days` seasons that name none."))
    step_minutes: float = Field(10.0, gt=0, le=60, description="Time step inside a slot (as the "
                                "shadow stage's).")
    sky_azimuths: int = Field(36, ge=8, le=360, description="Azimuth directions of the sky view "
                              "factor's horizon search.")
    transmissivity: Transmissivity = Field(default_factory=Transmissivity,
                                           description="Tree crowns.")
    method: ShadeMethodSetting = "horizon"
    sector_deg: SectorSetting = 2.0
    ground_albedo: float = Field(0.15, ge=0, le=1, description=(
        "Albedo of the ground a pedestrian stands on (SOLWEIG's effective ground albedo, its "
        "default without land cover; Lindberg et al. 2008). Asphalt is about 0.1, light paving 0.3."))
    wind_scale: float = Field(1.0, gt=0, le=5, description=(
        "Factor on the station wind, for sensitivity studies (`benchmarks/sensitivity.py`); "
        "a value other than 1 is named in `thermal/weather.csv`'s source."))


def weather_named(definition) -> bool:
    """Whether the run names a weather file (the thermal stages run only then)."""
    return definition.stages.thermal.weather is not None


def thermal_tile_task(tile: str, inner, out_dir: str, *, settings: ThermalSettings, scenarios: list,
                      year: int, halo_m: float, timezone: str, surface: list[Record],
                      forcing: list[Record] = ()) -> Result:
    """Sky view, Tmrt and UTCI of one tile for every scenario (runs on a worker).

    ``forcing``: the ``thermal_forcing`` record whose ``weather.csv`` gives every
    scenario's weather and irradiance (without it, they are computed at the tile centre).
    """
    import numpy as np

    from pipeline.geo.raster import read_raster
    from pipeline.shade.shadow import CanopyTransmissivity
    from pipeline.stages.shadow import read_evergreen_top
    from pipeline.thermal.weather import read_weather

    start = time.perf_counter()
    if not surface:
        raise ValueError(f"tile {tile}: its surface task did not finish")
    dsm, outer, _ = read_raster(surface[0].outputs["dsm"])
    canopy, _, _ = read_raster(surface[0].outputs["canopy"])
    canopy_top = canopy if np.isfinite(canopy).any() else None
    evergreen_top = read_evergreen_top(surface[0].outputs, canopy, settings.transmissivity.unknown_habit)
    if forcing:
        from pipeline.thermal.forcing import read_forcing_csv
        weather = read_forcing_csv(forcing[0].outputs["weather_csv"], timezone)
    else:
        weather = read_weather(settings.weather, station=settings.station, timezone=timezone,
                               window_days=settings.window_days)
    transmissivity = CanopyTransmissivity(
        leaf_on=settings.transmissivity.leaf_on, leaf_off=settings.transmissivity.leaf_off,
        leaf_off_months=tuple(settings.transmissivity.leaf_off_months))
    with numba_threads(numba_threads_for_task()):
        outputs, sources = _write_thermal(tile, inner, out_dir, dsm, outer, canopy_top, weather,
                                          transmissivity, settings, scenarios, year, halo_m, timezone,
                                          evergreen_top)
    log.info("thermal %s: %d scenarios (%.1f s)", tile, len(outputs["utci_mean"]), time.perf_counter() - start)
    return Result(outputs=outputs, counts={"scenarios": len(outputs["utci_mean"])},
                  details={"weather": sorted(sources)})


def _write_thermal(tile, inner, out_dir, dsm, outer, canopy_top, weather, transmissivity,
                   settings: ThermalSettings, scenarios, year, halo_m, timezone,
                   evergreen_top=None) -> tuple[dict, set]:
    """Sky view once, then each scenario's COGs as it is computed; (outputs, weather sources)."""
    import numpy as np

    from pipeline.geo.raster import write_cog
    from pipeline.thermal.tile import thermal_scenarios, tile_sky_view
    from pipeline.thermal.tmrt import TmrtParameters
    from pipeline.thermal.utci import STRESS_KEYS

    sky_view = tile_sky_view(dsm, outer, inner, canopy_top=canopy_top, n_azimuths=settings.sky_azimuths,
                             evergreen_top=evergreen_top)
    folder = Path(out_dir) / tile
    outputs: dict = {"svf": write_cog(folder / "svf.tif", sky_view.surface.astype(np.float32), inner,
                                      nodata=np.nan, tags={"units": "sky view factor 0-1"}),
                     "utci_mean": {}, "tmrt_mean": {}, "stress_hours": {}}
    sources = set()
    for name, result in thermal_scenarios(dsm, outer, inner, scenarios, year, weather,
                                          canopy_top=canopy_top, transmissivity=transmissivity,
                                          sky_view=sky_view, step_minutes=settings.step_minutes,
                                          timezone=timezone, max_distance_m=halo_m,
                                          n_azimuths=settings.sky_azimuths, method=settings.method,
                                          sector_deg=settings.sector_deg, evergreen_top=evergreen_top,
                                          parameters=TmrtParameters(ground_albedo=settings.ground_albedo)):
        tags = {"scenario": name}
        outputs["utci_mean"][name] = write_cog(folder / f"{name}_utci_mean.tif", result.utci_mean_c, inner,
                                               nodata=np.nan, tags={**tags, "units": "UTCI, °C (mean over the slot)"})
        outputs["tmrt_mean"][name] = write_cog(folder / f"{name}_tmrt_mean.tif", result.tmrt_mean_c, inner,
                                               nodata=np.nan, tags={**tags, "units": "Tmrt, °C (mean over the slot)"})
        outputs["stress_hours"][name] = write_cog(
            folder / f"{name}_stress_hours.tif", np.stack([result.hours_in(k) for k in STRESS_KEYS]),
            inner, nodata=np.nan, band_names=list(STRESS_KEYS),
            tags={**tags, "units": "hours in each UTCI stress class"})
        sources.add(result.weather.source)
    # scenarios finish in the order of the pass (by sun azimuth): list them in the run's order
    for kind in ("utci_mean", "tmrt_mean", "stress_hours"):
        outputs[kind] = {s.name: outputs[kind][s.name] for s in scenarios}
    return outputs, sources


def plan(ctx: PlanContext, records: Mapping[str, Record]) -> list[Task]:
    settings: ThermalSettings = ctx.settings("thermal")
    tasks = surface_scenario_tasks(ctx, records, stage="thermal", func=thermal_tile_task, settings=settings)
    weather = ctx.hash_file(settings.weather)
    forcing = keys(done(records, "thermal_forcing"))
    for task in tasks:
        task.input_hashes.append(weather)
        if forcing:
            task.upstream["forcing"] = forcing
    return tasks


STAGE = Stage(name="thermal", settings=ThermalSettings, plan=plan, wanted=weather_named,
              code=("pipeline.thermal", "pipeline.shade", "pipeline.geo", "pipeline.surface.habit"),
              needs=("surface", "thermal_forcing"),
              reach="tile")
