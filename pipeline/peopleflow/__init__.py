"""People flow: read mesh and counter statistics, align them to scenarios, spread them on streets.

- :mod:`pipeline.peopleflow.readers`: MLIT 全国の人流オープンデータ CSV, a generic hourly
  mesh table, pedestrian counter points.
- :mod:`pipeline.peopleflow.alignment`: values per scenario (season x time slot) and day
  type, with a coverage report that says what the sources cover and how.
- :mod:`pipeline.peopleflow.allocation`: mesh populations onto street segments.
- :mod:`pipeline.peopleflow.profiles`: diurnal profiles (each hour relative to 11-14 h)
  from counters, hourly tables or a cited published table.
- :mod:`pipeline.peopleflow.tables`: every source aligned and written as tables; read back.
"""

from pipeline.peopleflow.alignment import DAY_TYPES, MLIT_TIMEZONES, AlignedFlow, align_hourly, align_mlit
from pipeline.peopleflow.allocation import allocate, allocation_weights
from pipeline.peopleflow.readers import (
    MLIT_COLUMNS,
    PeopleFlowError,
    counters_to_hourly,
    read_counters,
    read_hourly_mesh,
    read_mlit_csv,
)

__all__ = [
    "DAY_TYPES",
    "MLIT_TIMEZONES",
    "AlignedFlow",
    "align_hourly",
    "align_mlit",
    "allocate",
    "allocation_weights",
    "MLIT_COLUMNS",
    "PeopleFlowError",
    "counters_to_hourly",
    "read_counters",
    "read_hourly_mesh",
    "read_mlit_csv",
]
