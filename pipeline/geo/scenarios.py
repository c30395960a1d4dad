"""Scenarios: a season (a named date) crossed with a time slot (a named span of local time).

The run's ``scenarios:`` section (seasons, slots, year) gives every stage the same list;
a scenario is named ``<season>_<slot>``. Plain frozen dataclasses, cheap to import.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Season:
    """A named date (month, day) standing for a season; the year comes from the run."""

    name: str
    month: int
    day: int

    def date(self, year: int) -> dt.date:
        return dt.date(year, self.month, self.day)


@dataclass(frozen=True)
class TimeSlot:
    """A named span of local clock time, e.g. ``TimeSlot("morning", "08:00", "11:00")``."""

    name: str
    start: str
    end: str

    def bounds(self, date: dt.date, timezone: str) -> tuple[pd.Timestamp, pd.Timestamp]:
        import pandas as pd

        start = pd.Timestamp(f"{date.isoformat()} {self.start}", tz=timezone)
        end = pd.Timestamp(f"{date.isoformat()} {self.end}", tz=timezone)
        if end <= start:
            raise ValueError(f"time slot {self.name!r}: end {self.end} is not after start {self.start}")
        return start, end

    @property
    def hours(self) -> float:
        """Length of the slot in hours (clock time, e.g. 3.0 for 11:00-14:00)."""
        (h0, m0), (h1, m1) = (map(int, t.split(":")[:2]) for t in (self.start, self.end))
        return (h1 * 60 + m1 - h0 * 60 - m0) / 60.0


@dataclass(frozen=True)
class Scenario:
    """One season x one time slot."""

    season: Season
    slot: TimeSlot

    @property
    def name(self) -> str:
        return f"{self.season.name}_{self.slot.name}"


DEFAULT_SEASONS: tuple[Season, ...] = (
    Season("summer_solstice", 6, 21),
    Season("heat_day", 8, 5),
    Season("equinox", 3, 20),
    Season("winter_solstice", 12, 21),
)
DEFAULT_TIME_SLOTS: tuple[TimeSlot, ...] = (
    TimeSlot("morning", "08:00", "11:00"),
    TimeSlot("midday", "11:00", "14:00"),
    TimeSlot("afternoon", "14:00", "17:00"),
)
