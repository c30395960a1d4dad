"""Scenarios: a season (a named date) crossed with a time slot (a named span of local time).

The run's ``scenarios:`` section (seasons, slots, year) gives every stage the same list;
a scenario is named ``<season>_<slot>``. A season also says how its weather is made
(:class:`SeasonWeather`): the weather file's day for the date (normals or the composite of
observed days), a *design heat day* (設計猛暑日: the month's diurnal shape shifted to a daily
maximum of 35.0 °C, the JMA threshold of a 猛暑日) or the composite of the *observed hot
days* (daily maximum at or above a threshold). Plain frozen dataclasses, cheap to import.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


#: How a season's weather is made (:class:`SeasonWeather` ``kind``)
WEATHER_FILE = "file"  # the weather file's day: normals curve or composite of observed days
DESIGN_HEAT_DAY = "design_heat_day"  # that day's shape shifted to a given daily maximum
OBSERVED_HOT_DAYS = "observed_hot_days"  # composite of the observed days at or above a daily maximum
WEATHER_KINDS = (WEATHER_FILE, DESIGN_HEAT_DAY, OBSERVED_HOT_DAYS)
#: Where a season's irradiance comes from (:class:`SeasonWeather` ``radiation``)
CLEAR_SKY, OBSERVED_RADIATION = "clear_sky", "observed"
RADIATION_KINDS = (CLEAR_SKY, OBSERVED_RADIATION)
#: 猛暑日: a day whose maximum temperature is 35 °C or more (JMA 予報用語, 気温)
MOSHOBI_C = 35.0
#: the season whose weather is the design heat day unless the run says otherwise
HEAT_DAY_SEASON = "heat_day"


@dataclass(frozen=True)
class SeasonWeather:
    """How a season's weather is made (see the module docstring).

    Attributes
    ----------
    kind : str
        One of :data:`WEATHER_KINDS`.
    max_temperature_c : float
        ``design_heat_day``: the day's maximum air temperature, °C (default 35.0, a 猛暑日).
    threshold_c : float
        ``observed_hot_days``: a day enters the composite when its maximum hourly air
        temperature is at or above this, °C (default 35.0).
    window_days : int or None
        ``observed_hot_days``: days either side of the season's date searched in every
        year of the record (None: the thermal stage's ``window_days``).
    radiation : str
        ``clear_sky`` (the design case, Ineichen) or ``observed`` (the weather file's global
        radiation split by Erbs), one of :data:`RADIATION_KINDS`.
    """

    kind: str = WEATHER_FILE
    max_temperature_c: float = MOSHOBI_C
    threshold_c: float = MOSHOBI_C
    window_days: int | None = None
    radiation: str = CLEAR_SKY

    def __post_init__(self) -> None:
        if self.kind not in WEATHER_KINDS:
            raise ValueError(f"weather {self.kind!r} is not one of {WEATHER_KINDS}")
        if self.radiation not in RADIATION_KINDS:
            raise ValueError(f"radiation {self.radiation!r} is not one of {RADIATION_KINDS}")

    @classmethod
    def default_for(cls, season: str) -> SeasonWeather:
        """The weather of a season the run gives only a date: the design heat day for
        :data:`HEAT_DAY_SEASON`, the weather file's day otherwise."""
        return cls(DESIGN_HEAT_DAY) if season == HEAT_DAY_SEASON else cls()


@dataclass(frozen=True)
class Season:
    """A named date (month, day) standing for a season, and how its weather is made.

    The year comes from the run.
    """

    name: str
    month: int
    day: int
    weather: SeasonWeather = SeasonWeather()

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
    Season(HEAT_DAY_SEASON, 8, 5, SeasonWeather(DESIGN_HEAT_DAY)),
    Season("equinox", 3, 20),
    Season("winter_solstice", 12, 21),
)
DEFAULT_TIME_SLOTS: tuple[TimeSlot, ...] = (
    TimeSlot("morning", "08:00", "11:00"),
    TimeSlot("midday", "11:00", "14:00"),
    TimeSlot("afternoon", "14:00", "17:00"),
)
