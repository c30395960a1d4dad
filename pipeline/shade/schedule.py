"""Which sun positions a tile needs, and which results each one adds to.

A tile's results are shade hours per scenario (season x time slot) and sun hours per
season (sunrise to sunset). Both sample the same days at the same step: a slot's
10-minute steps start on the hour, the day's are aligned to midnight, so every slot
sample is also a day sample (same instant, same sun). A :class:`ShadeSchedule` holds
each distinct instant once, with the list of results it adds to and the weight (hours)
it adds, so the shade of a sun position is computed once whatever uses it: 310 sun
positions instead of 523 for the default scenarios at Omiya.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from pipeline.shade.sun import (
    DEFAULT_STEP_MINUTES,
    DEFAULT_TIMEZONE,
    Scenario,
    SunPositions,
    daylight_sun_positions,
    slot_sun_positions,
    true_to_grid_azimuth,
)


@dataclass(frozen=True)
class ShadeTarget:
    """One result of a tile: shade hours of a scenario's slot, or sun hours of a season's day."""

    name: str  # scenario name, or season name for sun hours
    kind: Literal["shade", "sun"]  # accumulate weight * (1 - light), or weight * light
    hours: float  # length of the sampled period, hours
    date: dt.date


@dataclass(frozen=True)
class ShadeSchedule:
    """Distinct sun positions and what each adds to (contributions grouped by position).

    Attributes
    ----------
    timestamps : pandas.DatetimeIndex
        Instant of each position (timezone-aware).
    sun_altitude_deg, sun_azimuth_deg : numpy.ndarray
        Apparent altitude and azimuth from *true* north, degrees.
    dates : numpy.ndarray of object
        The season date of each position (for the canopy's leaf state).
    targets : tuple of ShadeTarget
    start : numpy.ndarray of int64, shape (n_positions + 1,)
        Contributions of position ``p`` are ``start[p]:start[p + 1]`` of the arrays below.
    target : numpy.ndarray of int64
        Index into ``targets``.
    weight_hours : numpy.ndarray of float64
        Hours the position stands for in that target.
    """

    timestamps: pd.DatetimeIndex
    sun_altitude_deg: np.ndarray
    sun_azimuth_deg: np.ndarray
    dates: np.ndarray
    targets: tuple[ShadeTarget, ...]
    start: np.ndarray
    target: np.ndarray
    weight_hours: np.ndarray

    def __len__(self) -> int:
        return len(self.timestamps)

    def grid_azimuth_deg(self, convergence_deg: float) -> np.ndarray:
        """Azimuths clockwise from grid north (see :func:`pipeline.shade.sun.true_to_grid_azimuth`)."""
        return true_to_grid_azimuth(self.sun_azimuth_deg, convergence_deg)

    @property
    def is_sun(self) -> np.ndarray:
        """Per contribution: True when it adds light (sun hours), False when it adds shade."""
        kinds = np.array([t.kind == "sun" for t in self.targets], dtype=bool)
        return kinds[self.target]

    @property
    def samples(self) -> int:
        """Sun positions before merging (what computing every target separately costs)."""
        return int(self.target.size)


def tile_schedule(
    scenarios: list[Scenario],
    year: int,
    latitude: float,
    longitude: float,
    *,
    step_minutes: float = DEFAULT_STEP_MINUTES,
    timezone: str = DEFAULT_TIMEZONE,
    sun_hours: bool = True,
) -> ShadeSchedule:
    """The schedule of every scenario's slot and (with ``sun_hours``) every season's day.

    Sun positions come from :func:`pipeline.shade.sun.slot_sun_positions` and
    :func:`pipeline.shade.sun.daylight_sun_positions` (NREL SPA at ``latitude``,
    ``longitude``, degrees); samples at the same instant are merged.
    """
    targets: list[ShadeTarget] = []
    sampled: list[SunPositions] = []
    for scenario in scenarios:
        date = scenario.season.date(year)
        positions = slot_sun_positions(
            date, scenario.slot, latitude, longitude, step_minutes=step_minutes, timezone=timezone
        )
        targets.append(ShadeTarget(scenario.name, "shade", positions.total_hours, date))
        sampled.append(positions)
    if sun_hours:
        seasons = {s.season.name: s.season for s in scenarios}
        for name, season in seasons.items():
            date = season.date(year)
            positions = daylight_sun_positions(
                date, latitude, longitude, step_minutes=step_minutes, timezone=timezone
            )
            targets.append(ShadeTarget(name, "sun", positions.total_hours, date))
            sampled.append(positions)
    if not sampled:
        empty = np.empty(0)
        return ShadeSchedule(
            pd.DatetimeIndex([], tz=timezone),
            empty,
            empty,
            np.empty(0, object),
            (),
            np.zeros(1, np.int64),
            empty.astype(np.int64),
            empty,
        )
    instants = np.concatenate([p.timestamps.as_unit("ns").asi8 for p in sampled])
    altitude = np.concatenate([p.sun_altitude_deg for p in sampled])
    azimuth = np.concatenate([p.sun_azimuth_deg for p in sampled])
    weight = np.concatenate([p.weight_hours for p in sampled])
    target = np.concatenate([np.full(len(p), i, np.int64) for i, p in enumerate(sampled)])
    # instants are unique across seasons (different dates), so the instant is the key
    distinct, first, position = np.unique(instants, return_index=True, return_inverse=True)
    order = np.lexsort((target, position))
    counts = np.bincount(position, minlength=distinct.size)
    dates = np.array([targets[t].date for t in target[first]], dtype=object)
    return ShadeSchedule(
        timestamps=pd.DatetimeIndex(pd.to_datetime(distinct, utc=True)).tz_convert(timezone),
        sun_altitude_deg=altitude[first],
        sun_azimuth_deg=azimuth[first],
        dates=dates,
        targets=tuple(targets),
        start=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        target=target[order],
        weight_hours=weight[order],
    )
