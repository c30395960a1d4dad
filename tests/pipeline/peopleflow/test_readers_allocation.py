"""People flow: MLIT CSV parsing, scenario alignment and coverage, allocation to streets."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, box

from pipeline.geo import meshcode
from pipeline.peopleflow import (
    PeopleFlowError,
    align_hourly,
    align_mlit,
    allocate,
    allocation_weights,
    counters_to_hourly,
    read_counters,
    read_hourly_mesh,
    read_mlit_csv,
)
from pipeline.shade.sun import Scenario, Season, TimeSlot

OMIYA_CELL = 53396489
SUMMER = Season("summer_solstice", 6, 21)
WINTER = Season("winter_solstice", 12, 21)
MIDDAY = TimeSlot("midday", "11:00", "14:00")
MORNING = TimeSlot("morning", "08:00", "11:00")

HEADER = "mesh1kmid,prefcode,citycode,year,month,dayflag,timezone,population\n"


def _mlit_file(tmp_path, rows):
    path = tmp_path / "monthly_mdp_mesh1km.csv"
    path.write_text(HEADER + "".join(",".join(map(str, r)) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def mlit_path(tmp_path):
    rows = []
    for month in ("06", "07"):
        for dayflag in (0, 1, 2):
            for tz in (0, 1, 2):
                rows.append((OMIYA_CELL, 11, 11103, 2021, month, dayflag, tz, 1000 * (dayflag + 1) + tz))
    rows.append((53396570, 11, 11103, 2021, "06", 1, 0, ""))  # empty: suppressed
    rows.append((53396570, 11, 11103, 2021, "06", 0, 0, 7))  # under 10: suppressed
    rows.append((53396571, 11, 11103, 2021, "06", 1, 0, 25))
    return _mlit_file(tmp_path, rows)


def test_read_mlit_flags_and_suppression(mlit_path):
    df = read_mlit_csv(mlit_path)
    assert len(df) == 18 + 3
    assert df["meshcode"].dtype == np.int64
    row = df[(df.meshcode == OMIYA_CELL) & (df.month == 6) & (df.day_type == "weekday") & (df.timezone == 0)]
    assert row["population"].tolist() == [2000.0]
    assert set(df["day_type"]) == {"holiday", "weekday", "all"}
    suppressed = df[df.meshcode == 53396570]["population"]
    assert suppressed.isna().all() and len(suppressed) == 2
    assert df[df.meshcode == 53396571]["population"].tolist() == [25.0]


@pytest.mark.parametrize(
    "bad_row, message",
    [
        ((53396489, 11, 11103, 2021, 6, 3, 0, 100), "line 2: column 'dayflag'"),
        ((53396489, 11, 11103, 2021, 6, 1, 5, 100), "line 2: column 'timezone'"),
        ((5339648, 11, 11103, 2021, 6, 1, 0, 100), "line 2: mesh1kmid"),
        ((53396489, 11, 11103, 2021, 13, 1, 0, 100), "line 2: column 'month'"),
        ((53396489, 11, 11103, 2021, 6, 1, 0, "many"), "line 2: column 'population'"),
    ],
)
def test_read_mlit_bad_values_name_file_and_line(tmp_path, bad_row, message):
    path = _mlit_file(tmp_path, [bad_row])
    with pytest.raises(PeopleFlowError, match=message) as info:
        read_mlit_csv(path)
    assert str(path) in str(info.value)


def test_read_mlit_missing_column(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("mesh1kmid,population\n53396489,10\n")
    with pytest.raises(PeopleFlowError, match="missing column"):
        read_mlit_csv(path)


def test_align_mlit_midday_covered_morning_not(mlit_path):
    records = read_mlit_csv(mlit_path)
    scenarios = [Scenario(SUMMER, MIDDAY), Scenario(SUMMER, MORNING), Scenario(WINTER, MIDDAY)]
    aligned = align_mlit(records, scenarios)
    cov = aligned.coverage.set_index(["scenario", "day_type"])
    assert cov.loc[("summer_solstice_midday", "weekday"), "covered"]
    assert "exactly" in cov.loc[("summer_solstice_midday", "weekday"), "how"]
    assert not cov.loc[("summer_solstice_morning", "weekday"), "covered"]
    assert not cov.loc[("winter_solstice_midday", "holiday"), "covered"]  # no month 11/12/1
    weekday = aligned.wide("weekday")
    assert weekday.loc[OMIYA_CELL, "summer_solstice_midday"] == 2000.0  # dayflag 1, timezone 0
    assert aligned.wide("holiday").loc[OMIYA_CELL, "summer_solstice_midday"] == 1000.0
    assert np.isnan(weekday.loc[OMIYA_CELL, "summer_solstice_morning"])
    assert np.isnan(weekday.loc[53396570, "summer_solstice_midday"])  # suppressed, not zero
    assert weekday.loc[53396571, "summer_solstice_midday"] == 25.0


def test_align_mlit_nearest_month(mlit_path):
    records = read_mlit_csv(mlit_path)
    records = records[records.month == 7]
    aligned = align_mlit(records, [Scenario(SUMMER, MIDDAY)], month_tolerance=1)
    assert aligned.coverage["covered"].all()
    assert "nearest month 7 for 6" in aligned.coverage["how"].iloc[0]
    none = align_mlit(records, [Scenario(SUMMER, MIDDAY)], month_tolerance=0)
    assert not none.coverage["covered"].any()
    assert none.values["population"].isna().all()


def test_hourly_mesh_with_mapping_and_alignment(tmp_path):
    dates = pd.date_range("2023-06-01", "2023-06-30", freq="D")
    rows = [
        (OMIYA_CELL, d.strftime("%Y/%m/%d"), h, 100 + h + (50 if d.day_of_week >= 5 else 0))
        for d in dates
        for h in range(7, 15)
    ]
    path = tmp_path / "hourly.csv"
    pd.DataFrame(rows, columns=["mesh", "day", "hr", "people"]).to_csv(path, index=False)
    table = read_hourly_mesh(path, {"meshcode": "mesh", "date": "day", "hour": "hr", "population": "people"})
    aligned = align_hourly(
        table,
        [
            Scenario(SUMMER, MORNING),
            Scenario(SUMMER, MIDDAY),
            Scenario(SUMMER, TimeSlot("afternoon", "14:00", "17:00")),
        ],
    )
    wide = aligned.wide("weekday")
    assert wide.loc[OMIYA_CELL, "summer_solstice_morning"] == pytest.approx(100 + 9)  # hours 8, 9, 10
    assert aligned.wide("holiday").loc[OMIYA_CELL, "summer_solstice_midday"] == pytest.approx(150 + 12)
    cov = aligned.coverage.set_index(["scenario", "day_type"])
    assert not cov.loc[("summer_solstice_afternoon", "weekday"), "covered"]
    assert "missing" in cov.loc[("summer_solstice_afternoon", "weekday"), "how"]


def test_counters_hourly_sums(tmp_path):
    stamps = pd.date_range("2023-06-05 08:00", "2023-06-05 10:45", freq="15min")  # a Monday
    df = pd.DataFrame(
        {
            "id": "c1",
            "lat": 35.9063,
            "lon": 139.6237,
            "timestamp": stamps.strftime("%Y-%m-%dT%H:%M:%S"),
            "count": 10,
        }
    )
    records = read_counters(df, {"counter_id": "id"})
    assert str(records["timestamp"].dt.tz) == "Asia/Tokyo"
    hourly = counters_to_hourly(records)
    assert hourly["count"].tolist() == [40.0, 40.0, 40.0]
    aligned = align_hourly(
        hourly,
        [Scenario(SUMMER, MORNING)],
        key="counter_id",
        value="count",
        day_types=("weekday",),
        source="counters",
    )
    assert aligned.wide("weekday").loc["c1", "summer_solstice_morning"] == 40.0


def _street_case():
    """Two streets inside the Omiya cell, in EPSG:6677; a big building beside the first."""
    crs = "EPSG:6677"
    cell = meshcode.to_polygons([OMIYA_CELL], crs=crs).iloc[0]
    x0, y0, x1, y1 = cell.bounds
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    streets = gpd.GeoDataFrame(
        geometry=[
            LineString([(cx - 200, cy), (cx + 200, cy)]),
            LineString([(cx - 200, cy + 300), (cx + 200, cy + 300)]),
        ],
        crs=crs,
        index=pd.Index(["a", "b"]),
    )
    buildings = gpd.GeoDataFrame(
        {"storeys_above_ground": [10, np.nan], "height_m": [np.nan, 6.0]},
        geometry=[box(cx - 20, cy + 10, cx + 20, cy + 30), box(cx - 10, cy + 285, cx + 10, cy + 295)],
        crs=crs,
    )
    return streets, buildings


def test_allocation_by_floor_area_and_length():
    streets, buildings = _street_case()
    weights = allocation_weights(streets, [OMIYA_CELL], buildings=buildings)
    w = weights.set_index("segment")["weight"]
    # floor areas: 40*20*10 = 8000 m2 and 20*10*2 = 400 m2
    assert w["a"] == pytest.approx(8000 / 8400)
    assert w["b"] == pytest.approx(400 / 8400)
    values = pd.DataFrame(
        {"summer_solstice_midday": [8400.0], "summer_solstice_morning": [np.nan]},
        index=pd.Index([OMIYA_CELL]),
    )
    flow = allocate(values, weights, segments=streets.index)
    assert flow.loc["a", "summer_solstice_midday"] == pytest.approx(8000.0)
    assert np.isnan(flow.loc["a", "summer_solstice_morning"])  # not covered stays NaN
    by_length = allocation_weights(streets, [OMIYA_CELL], method="length")
    assert by_length.set_index("segment")["weight"].to_dict() == pytest.approx({"a": 0.5, "b": 0.5})
