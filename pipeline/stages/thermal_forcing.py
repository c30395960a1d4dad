"""``thermal_forcing``: every scenario's weather and irradiance, step by step (one task).

Configured by ``inputs.weather`` (the weather file), ``stages.thermal`` and ``scenarios.seasons`` (how each
season's weather is made, :mod:`pipeline.thermal.forcing`). Computed once for the run at
the centre of its area and written to ``<output>/thermal/weather.csv``: scenario, season,
slot, local time, air temperature, relative humidity, the station's 10 m wind, GHI, DNI,
DHI, the season's daily maximum and the sources (design heat day, normals or observed
days; clear sky or observed radiation). The ``thermal`` tile tasks read this file, so it
is exactly the forcing they used.

The steps recorded are the finest of the thermal stage's, the shadow stage's and 10
minutes (the shadow stage's default) whose instants hold every thermal step's: with the
defaults (shade every 10 minutes, thermal every 30) the file holds every 10-minute step and
the thermal tiles take every third (:class:`~pipeline.thermal.forcing.RecordedForcing`).
The forcing costs nothing next to a tile, and a day's peak is then seen at 10 minutes
whatever the thermal step: the design heat day's 35.0 °C maximum at 14:00 falls in the
14:00-14:10 step (35.00 °C at 14:05), where the 30-minute steps around it read 34.98 and
34.99 °C.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pipeline.core.stage import Stage
from pipeline.core.task import Outputs, PlanContext, Record, Result, Task
from pipeline.stages.thermal import INPUTS, ThermalSettings, weather_named

WEATHER_CSV = "weather.csv"


@dataclass(frozen=True)
class ForcingOutputs(Outputs):
    """``weather_csv``: every scenario's weather and irradiance, step by step."""

    weather_csv: str


def forcing_task(
    out_path: str,
    scenarios: list,
    *,
    weather_file: str,
    settings: ThermalSettings,
    year: int,
    timezone: str,
    latitude: float,
    longitude: float,
    shade_step_minutes: float | None = None,
) -> Result:
    """Compute every scenario's forcing at the run's centre and write ``weather.csv``, at
    the steps of :func:`recorded_steps` (``shade_step_minutes``: the shadow stage's step)."""
    from pipeline.shade.sun import DEFAULT_STEP_MINUTES, slot_sun_positions
    from pipeline.thermal.forcing import scenario_forcing, write_forcing_csv
    from pipeline.thermal.weather import read_weather

    weather = read_weather(
        weather_file, station=settings.station, timezone=timezone, window_days=settings.window_days
    )
    steps = {
        minutes: {
            scenario.name: slot_sun_positions(
                scenario.season.date(year),
                scenario.slot,
                latitude,
                longitude,
                step_minutes=minutes,
                timezone=timezone,
            )
            for scenario in scenarios
        }
        for minutes in {
            settings.step_minutes,
            shade_step_minutes or settings.step_minutes,
            DEFAULT_STEP_MINUTES,
        }
    }
    recorded = recorded_steps(steps, settings.step_minutes)
    forcings = []
    for scenario in scenarios:
        positions = steps[recorded][scenario.name]
        forcings.append(
            scenario_forcing(
                weather,
                scenario,
                year,
                positions,
                latitude=latitude,
                longitude=longitude,
                timezone=timezone,
                wind_scale=settings.wind_scale,
            )
        )
    path = write_forcing_csv(out_path, forcings, timezone)
    sources = sorted({f.weather.source for f in forcings} | {f.irradiance.source for f in forcings})
    return Result(
        outputs=ForcingOutputs(weather_csv=str(path)),
        counts={"scenarios": len(forcings), "steps": sum(len(f.weather) for f in forcings)},
        details={
            "sources": sources,
            "site": [round(latitude, 6), round(longitude, 6)],
            "step_minutes": recorded,
        },
    )


def recorded_steps(steps: dict[float, dict], thermal_step_minutes: float) -> float:
    """The step, minutes, whose sun samples ``weather.csv`` records: of the steps in ``steps``
    (minutes -> scenario name -> :class:`~pipeline.shade.sun.SunPositions`), the finest whose
    instants hold, in every scenario, all of the thermal step's."""

    def instants(minutes):
        return {name: set(p.timestamps.asi8.tolist()) for name, p in steps[minutes].items()}

    thermal = instants(thermal_step_minutes)
    for minutes in sorted(steps):
        found = instants(minutes)
        if all(thermal[name] <= found[name] for name in thermal):
            return minutes
    return thermal_step_minutes


def run_centre(tiles: list[str]) -> tuple[float, float]:
    """Latitude and longitude (degrees) of the centre of the tiles' bounding box."""
    import numpy as np

    from pipeline.geo import meshcode

    lat_min, lon_min, lat_max, lon_max = meshcode.decode_bounds(np.array([int(t) for t in tiles]))
    return (float(lat_min.min() + lat_max.max()) / 2.0, float(lon_min.min() + lon_max.max()) / 2.0)


def plan(ctx: PlanContext, records: Mapping[str, Record]) -> list[Task]:
    settings: ThermalSettings = ctx.settings("thermal")
    definition = ctx.definition
    if not ctx.tiles:
        return []
    latitude, longitude = run_centre(ctx.tiles)
    shadow = ctx.settings("shadow")
    shade_step = shadow.step_minutes if shadow.enabled else None
    return [
        Task(
            stage="thermal_forcing",
            tile="all",
            func=forcing_task,
            args=(str(ctx.out("thermal", WEATHER_CSV)), ctx.scenarios),
            kwargs={
                "weather_file": str(definition.inputs.weather),
                "settings": settings,
                "year": definition.scenarios.year,
                "timezone": definition.timezone,
                "latitude": latitude,
                "longitude": longitude,
                "shade_step_minutes": shade_step,
            },
            params={
                "settings": settings.model_dump(mode="json"),
                "scenarios": definition.scenarios.model_dump(mode="json"),
                "tz": definition.timezone,
                "site": [latitude, longitude],
                "shade_step_minutes": shade_step,
            },
            input_hashes=[ctx.hash_file(definition.inputs.weather)],
        )
    ]


STAGE = Stage(
    name="thermal_forcing",
    settings=ThermalSettings,
    plan=plan,
    section="thermal",
    wanted=weather_named,
    code=("pipeline.thermal", "pipeline.shade", "pipeline.geo"),
    needs=(),
    reach="run",
    outputs=ForcingOutputs,
    inputs=INPUTS,
)
