"""``thermal``: per tile, sky view factor, then mean UTCI, mean Tmrt and hours per UTCI
stress class for every scenario (:mod:`pipeline.thermal`).

Computed in the ``shadow`` stage's task of the tile, in its pass over the sector horizons
(:func:`pipeline.thermal.tile.shade_and_thermal`), whenever the two stages sample and cast
shade alike (:func:`shares_pass`: the default); this stage's task then only hands those
outputs on (:func:`adopt_thermal`). Otherwise (other settings, shadow disabled) its own
task computes them (:func:`thermal_tile_task`).

Reads the tile's surface rasters (DSM and canopy, tile plus halo) and the weather named
in ``inputs.weather`` (a JMA AMeDAS hourly CSV, a plain CSV, or monthly normals
such as the sample's bundled Kumagaya 1991-2020 table) as the ``thermal_forcing`` stage
recorded it for every scenario in ``<output>/thermal/weather.csv``, and writes under
``<output>/thermal/<tile>/``: ``svf.tif`` and per scenario ``<scenario>_utci_mean.tif``,
``<scenario>_tmrt_mean.tif`` (°C, float32) and ``<scenario>_stress_hours.tif`` (one band
per UTCI stress class, hours). Runs when a weather file is named.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field

from pipeline.core.settings import InputPath, StageSettings
from pipeline.core.stage import Stage
from pipeline.core.task import Outputs, PlanContext, Record, Result, Task, done, keys
from pipeline.stages.common import (
    SectorSetting,
    ShadeMethodSetting,
    Transmissivity,
    numba_threads,
    numba_threads_for_task,
    read_evergreen_top,
    surface_scenario_tasks,
)

log = logging.getLogger(__name__)


#: The weather file of the thermal stages (``inputs.weather``).
INPUTS: dict[str, Any] = {
    "weather": (
        InputPath | None,
        Field(
            None,
            description=(
                "Weather: a JMA past-weather hourly CSV of an AMeDAS station (Shift_JIS, as "
                "downloaded), a plain CSV (`date` or `month`, `hour`, `air_temperature_c`, "
                "`relative_humidity_pct`, `wind_speed_ms`), or monthly normals (the sample names "
                "`sample_data/weather/kumagaya_normals_1991_2020.csv`). None: the thermal stages do not "
                "run and walkability falls back to shade share."
            ),
        ),
    ),
}
#: Where the thermal stages' input keys were before every input moved under ``inputs:``.
MOVED = {"stages.thermal.weather": "inputs.weather"}


class ThermalSettings(StageSettings):
    """Thermal comfort per tile and scenario: sky view factor, Tmrt, UTCI (runs when `inputs.weather` is named)."""

    station: str | None = Field(None, description="JMA CSV with several stations: the one to use.")
    window_days: int = Field(
        7,
        ge=0,
        le=45,
        description=(
            "From observations, a season's weather is the hour-by-hour mean of the days within this "
            "many days of its date, over every year in the file (0: that day only); also the "
            "window of `observed_hot_days` seasons that name none."
        ),
    )
    step_minutes: float = Field(
        30.0,
        gt=0,
        le=60,
        description=(
            "Time step of Tmrt and UTCI inside a slot, minutes. 30 with the shadow stage's 10 "
            "computes every third shade step, its shade codes taken from the same pass: shadow "
            "plus thermal 1.39x the shadow stage per tile (10: 1.92x); against 10 minutes, mean "
            "UTCI moves by 0.01-0.06 K and stress hours by at most 0.13 h in a tile's mean "
            "(docs/thermal.md). `thermal/weather.csv` records the forcing every 10 minutes."
        ),
    )
    sky_azimuths: int = Field(
        36, ge=8, le=360, description="Azimuth directions of the sky view factor's horizon search."
    )
    transmissivity: Transmissivity = Field(default_factory=Transmissivity, description="Tree crowns.")
    method: ShadeMethodSetting = "horizon"
    sector_deg: SectorSetting = 2.0
    ground_albedo: float = Field(
        0.15,
        ge=0,
        le=1,
        description=(
            "Albedo of the ground a pedestrian stands on (SOLWEIG's effective ground albedo, its "
            "default without land cover; Lindberg et al. 2008). Asphalt is about 0.1, light paving 0.3."
        ),
    )
    wind_scale: float = Field(
        1.0,
        gt=0,
        le=5,
        description=(
            "Factor on the station wind, for sensitivity studies (`benchmarks/sensitivity.py`); "
            "a value other than 1 is named in `thermal/weather.csv`'s source."
        ),
    )


@dataclass(frozen=True)
class ThermalOutputs(Outputs):
    """One tile's thermal COGs (tile grid, halo removed): ``svf`` (sky view factor 0-1) and,
    by scenario name, ``utci_mean`` and ``tmrt_mean`` (°C, mean over the slot) and
    ``stress_hours`` (one band per UTCI stress class, hours)."""

    svf: str | None = None
    utci_mean: dict[str, str] = field(default_factory=dict)
    tmrt_mean: dict[str, str] = field(default_factory=dict)
    stress_hours: dict[str, str] = field(default_factory=dict)


def weather_named(definition) -> bool:
    """Whether the run names a weather file (the thermal stages run only then)."""
    return definition.inputs.weather is not None


def shares_pass(shadow, thermal: ThermalSettings) -> bool:
    """Whether the shadow stage's pass can compute the thermal steps too (one task per tile,
    :func:`pipeline.thermal.tile.shade_and_thermal`): both stages cast shade the same way
    (method, sectors, crowns' transmissivity). The thermal steps need not be the shade's:
    a thermal step whose mid-point is one of the pass's positions (a step an odd multiple
    of the shade step) takes its codes from the pass, any other has them cast when taken,
    the same codes."""
    return (
        shadow.method == thermal.method
        and shadow.sector_deg == thermal.sector_deg
        and shadow.transmissivity == thermal.transmissivity
    )


def thermal_options(
    settings: ThermalSettings, halo_m: float, timezone: str, shade_step_minutes: float | None = None
):
    """The :class:`~pipeline.thermal.tile.ThermalOptions` of the stage's settings; the shade
    pass steps by ``shade_step_minutes`` (the shadow stage's, in its task) or else by the
    thermal step."""
    from pipeline.shade.shadow import CanopyTransmissivity
    from pipeline.thermal.tile import ThermalOptions
    from pipeline.thermal.tmrt import TmrtParameters

    tau = settings.transmissivity
    return ThermalOptions(
        transmissivity=CanopyTransmissivity(
            leaf_on=tau.leaf_on, leaf_off=tau.leaf_off, leaf_off_months=tuple(tau.leaf_off_months)
        ),
        step_minutes=settings.step_minutes if shade_step_minutes is None else shade_step_minutes,
        thermal_step_minutes=settings.step_minutes,
        timezone=timezone,
        max_distance_m=halo_m,
        parameters=TmrtParameters(ground_albedo=settings.ground_albedo),
        n_azimuths=settings.sky_azimuths,
        method=settings.method,
        sector_deg=settings.sector_deg,
    )


def read_tile_surface(tile: str, inner, surface: list[Record], unknown_habit: str):
    """The :class:`~pipeline.thermal.tile.TileSurface` of a tile's surface record (DSM, canopy,
    the evergreen crowns and the overhead covers of measures, with the halo)."""
    import numpy as np

    from pipeline.geo.raster import read_raster
    from pipeline.shade.shadow import Covers
    from pipeline.surface.habit import cover_transmissivity
    from pipeline.thermal.tile import TileSurface

    if not surface:
        raise ValueError(f"tile {tile}: its surface task did not finish")
    outputs = surface[0].outputs
    dsm, outer, _ = read_raster(outputs.dsm)
    canopy, _, _ = read_raster(outputs.canopy)
    covers = cover_transmissivity(read_raster(outputs.canopy_habit)[0] if outputs.canopy_habit else None)
    return TileSurface(
        dsm,
        outer,
        inner,
        canopy if np.isfinite(canopy).any() else None,
        read_evergreen_top(outputs, canopy, unknown_habit),
        None if covers is None else Covers(*covers),
    )


def read_tile_weather(
    settings: ThermalSettings, timezone: str, forcing: list[Record] = (), weather_file: str | None = None
):
    """The ``thermal_forcing`` record's ``weather.csv`` (every scenario's recorded forcing), or
    without one the weather file (the forcing then computed at the tile centre)."""
    if forcing:
        from pipeline.thermal.forcing import read_forcing_csv

        return read_forcing_csv(forcing[0].outputs.weather_csv, timezone)
    from pipeline.thermal.weather import read_weather

    return read_weather(
        weather_file, station=settings.station, timezone=timezone, window_days=settings.window_days
    )


def thermal_tile_task(
    tile: str,
    inner,
    out_dir: str,
    *,
    settings: ThermalSettings,
    scenarios: list,
    year: int,
    halo_m: float,
    timezone: str,
    surface: list[Record],
    forcing: list[Record] = (),
    weather_file: str | None = None,
) -> Result:
    """Sky view, Tmrt and UTCI of one tile for every scenario (runs on a worker), when the
    shadow stage's task did not compute them (its settings differ, or it is disabled).

    ``forcing``: the ``thermal_forcing`` record whose ``weather.csv`` gives every
    scenario's weather and irradiance (without it, they are computed at the tile centre
    from ``weather_file``).
    """
    from pipeline.thermal.tile import shade_and_thermal

    start = time.perf_counter()
    tile_surface = read_tile_surface(tile, inner, surface, settings.transmissivity.unknown_habit)
    weather = read_tile_weather(settings, timezone, forcing, weather_file)
    options = thermal_options(settings, halo_m, timezone)
    with numba_threads(numba_threads_for_task()):
        tile_pass = shade_and_thermal(tile_surface, scenarios, year, weather, options, sun_hours=False)
        outputs, sources = write_thermal(
            Path(out_dir) / tile, inner, tile_pass.sky_view, tile_pass.thermal, scenarios
        )
    log.info("thermal %s: %d scenarios (%.1f s)", tile, len(outputs.utci_mean), time.perf_counter() - start)
    return Result(
        outputs=outputs, counts={"scenarios": len(outputs.utci_mean)}, details={"weather": sorted(sources)}
    )


def adopt_thermal(tile: str, *, shadow: list[Record]) -> Result:
    """The thermal outputs the tile's shadow task wrote in its pass (nothing computed here)."""
    if not shadow or shadow[0].outputs.thermal is None:
        raise ValueError(f"tile {tile}: its shadow task did not compute the thermal outputs")
    outputs = ThermalOutputs.from_json(shadow[0].outputs.thermal, stage="thermal")
    return Result(
        outputs=outputs, counts={"scenarios": len(outputs.utci_mean)}, details={"computed_by": "shadow"}
    )


def write_thermal(folder: Path, inner, sky_view, thermal, scenarios) -> tuple[ThermalOutputs, set]:
    """Write the sky view, then each scenario's COGs as ``thermal`` (``(name, ScenarioThermal)``,
    :func:`pipeline.thermal.tile.shade_and_thermal`) yields it; (outputs, weather sources)."""
    import numpy as np

    from pipeline.geo.raster import write_cog
    from pipeline.thermal.utci import STRESS_KEYS

    outputs: dict = {
        "svf": write_cog(
            folder / "svf.tif",
            sky_view.surface.astype(np.float32),
            inner,
            nodata=np.nan,
            tags={"units": "sky view factor 0-1"},
        ),
        "utci_mean": {},
        "tmrt_mean": {},
        "stress_hours": {},
    }
    sources = set()
    for name, result in thermal:
        tags = {"scenario": name}
        outputs["utci_mean"][name] = write_cog(
            folder / f"{name}_utci_mean.tif",
            result.utci_mean_c,
            inner,
            nodata=np.nan,
            tags={**tags, "units": "UTCI, °C (mean over the slot)"},
        )
        outputs["tmrt_mean"][name] = write_cog(
            folder / f"{name}_tmrt_mean.tif",
            result.tmrt_mean_c,
            inner,
            nodata=np.nan,
            tags={**tags, "units": "Tmrt, °C (mean over the slot)"},
        )
        outputs["stress_hours"][name] = write_cog(
            folder / f"{name}_stress_hours.tif",
            np.stack([result.hours_in(k) for k in STRESS_KEYS]),
            inner,
            nodata=np.nan,
            band_names=list(STRESS_KEYS),
            tags={**tags, "units": "hours in each UTCI stress class"},
        )
        sources.add(result.weather.source)
    # scenarios finish in the order of the pass (by sun azimuth): list them in the run's order
    for kind in ("utci_mean", "tmrt_mean", "stress_hours"):
        outputs[kind] = {s.name: outputs[kind][s.name] for s in scenarios}
    return ThermalOutputs(**outputs), sources


def plan(ctx: PlanContext, records: Mapping[str, Record]) -> list[Task]:
    settings: ThermalSettings = ctx.settings("thermal")
    tasks = []
    for tile in ctx.tiles:
        shadow = done(records, "shadow", tile=tile)
        if shadow and shadow[0].outputs.thermal is not None:  # computed in the shadow task's pass
            tasks.append(
                Task(
                    stage="thermal",
                    tile=tile,
                    func=adopt_thermal,
                    args=(tile,),
                    upstream={"shadow": keys(shadow)},
                    meshes=(tile,),
                )
            )
    adopted = {t.tile for t in tasks}
    computed = surface_scenario_tasks(
        ctx, records, stage="thermal", func=thermal_tile_task, settings=settings
    )
    computed = [t for t in computed if t.tile not in adopted]
    for task in computed:
        add_weather(ctx, records, task)
    return tasks + computed


def add_weather(ctx: PlanContext, records: Mapping[str, Record], task: Task) -> None:
    """Hand a tile task the run's weather: the file (hashed into the task key) and the
    ``thermal_forcing`` record when there is one."""
    weather_file = ctx.definition.inputs.weather
    task.input_hashes.append(ctx.hash_file(weather_file))
    task.kwargs["weather_file"] = str(weather_file)
    forcing = keys(done(records, "thermal_forcing"))
    if forcing:
        task.upstream["forcing"] = forcing


STAGE = Stage(
    name="thermal",
    settings=ThermalSettings,
    plan=plan,
    wanted=weather_named,
    code=("pipeline.thermal", "pipeline.shade", "pipeline.geo", "pipeline.surface.habit"),
    needs=("surface", "thermal_forcing", "shadow"),
    reach="tile",
    outputs=ThermalOutputs,
    inputs=INPUTS,
    moved=MOVED,
    reads={
        "surface": ("dsm", "canopy", "canopy_habit"),
        "thermal_forcing": ("weather_csv",),
        "shadow": ("thermal",),
    },
)
