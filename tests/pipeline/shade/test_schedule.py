"""The tile's sun-position schedule: every sample once, weights that add up to the periods."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from pipeline.shade.schedule import tile_schedule
from pipeline.shade.sun import (
    DEFAULT_TIME_SLOTS,
    Scenario,
    Season,
    daylight_sun_positions,
    default_scenarios,
    slot_sun_positions,
)

OMIYA = (35.906, 139.624)


def test_slot_samples_are_day_samples_computed_once():
    schedule = tile_schedule(default_scenarios(), 2026, *OMIYA)
    assert schedule.samples == 523  # 12 slots x 18 steps + four whole days
    assert len(schedule) == 310  # each slot step is also a step of its day
    assert schedule.timestamps.is_unique and schedule.timestamps.is_monotonic_increasing
    assert np.array_equal(
        np.diff(schedule.start),
        np.bincount(np.repeat(np.arange(len(schedule)), np.diff(schedule.start)), minlength=len(schedule)),
    )
    # weights add up to each slot's 3 hours and each day's length
    totals = np.bincount(schedule.target, weights=schedule.weight_hours, minlength=len(schedule.targets))
    for spec, total in zip(schedule.targets, totals):
        assert total == pytest.approx(spec.hours)
        if spec.kind == "shade":
            assert spec.hours == pytest.approx(3.0)
    summer = next(t for t in schedule.targets if t.kind == "sun" and t.name == "summer_solstice")
    assert summer.hours == pytest.approx(14.5, abs=0.2)


def test_merged_samples_keep_their_sun():
    season = Season("equinox", 3, 20)
    schedule = tile_schedule([Scenario(season, DEFAULT_TIME_SLOTS[1])], 2026, *OMIYA, step_minutes=15)
    date = dt.date(2026, 3, 20)
    slot = slot_sun_positions(date, DEFAULT_TIME_SLOTS[1], *OMIYA, step_minutes=15)
    day = daylight_sun_positions(date, *OMIYA, step_minutes=15)
    assert len(schedule) == len(day)
    at = schedule.timestamps.get_indexer(slot.timestamps)
    assert (at >= 0).all()
    np.testing.assert_array_equal(schedule.sun_altitude_deg[at], slot.sun_altitude_deg)
    np.testing.assert_array_equal(schedule.sun_azimuth_deg[at], slot.sun_azimuth_deg)
    # a merged sample adds to the slot (shade) and to the day (sun)
    kinds = [
        {schedule.targets[t].kind for t in schedule.target[schedule.start[p] : schedule.start[p + 1]]}
        for p in at
    ]
    assert all(k == {"shade", "sun"} for k in kinds)
    assert set(schedule.dates) == {date}


def test_without_sun_hours_only_slots():
    schedule = tile_schedule(default_scenarios()[:2], 2026, *OMIYA, sun_hours=False)
    assert [t.kind for t in schedule.targets] == ["shade", "shade"]
    assert not schedule.is_sun.any()
