"""Diurnal profiles: from hourly counts, from a published table with its citation; none invented."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.peopleflow.profiles import default_profile, profile_from_hourly, read_profile_table, slot_factor
from pipeline.peopleflow.readers import PeopleFlowError

#: A table in the published-profile format; the numbers are the test's own, not a survey's.
TRIPS = [5, 2, 1, 1, 2, 8, 30, 90, 120, 60, 50, 55, 70, 60, 50, 55, 70, 95, 80, 45, 30, 20, 12, 8]


def write_table(path, meta=True):
    head = "# title: test profile\n# table: T1\n# year: 2018\n# url: https://example.org/t1\n" if meta else ""
    rows = "".join(f"weekday,{h},{t}\n" for h, t in enumerate(TRIPS))
    rows += "".join(f"holiday,{h},{t * 2}\n" for h, t in enumerate(TRIPS))
    path.write_text(head + "day_type,hour,trips\n" + rows, encoding="utf-8")
    return path


def test_profile_reproduces_its_source_table(tmp_path):
    profile = read_profile_table(write_table(tmp_path / "p.csv"))
    midday = np.mean(TRIPS[11:14])
    np.testing.assert_allclose(profile.shares["weekday"].to_numpy() * midday, TRIPS, rtol=1e-12)
    np.testing.assert_allclose(profile.shares["holiday"], profile.shares["weekday"], rtol=1e-12)
    assert profile.source == "profile"
    assert profile.citation == {
        "title": "test profile",
        "table": "T1",
        "year": "2018",
        "url": "https://example.org/t1",
    }
    # a slot 07:00-09:00 is the mean of hours 7 and 8; 11-14 h is 1 by definition
    assert profile.slot_factor("07:00", "09:00", "weekday") == pytest.approx((90 + 120) / 2 / midday)
    assert profile.slot_factor("11:00", "14:00", "weekday") == pytest.approx(1.0)


def test_a_profile_without_its_citation_is_refused(tmp_path):
    with pytest.raises(PeopleFlowError, match=r"metadata \['title', 'table', 'year', 'url'\] missing"):
        read_profile_table(write_table(tmp_path / "p.csv", meta=False))


def test_no_default_profile_is_invented():
    with pytest.raises(PeopleFlowError, match="no default diurnal profile is shipped"):
        default_profile()


def test_profile_from_counter_hours():
    rows = []
    for counter, scale in (("a", 1.0), ("b", 3.0)):
        for day in range(2):
            for hour in range(24):
                rows.append((counter, "weekday", hour, scale * TRIPS[hour] * (1 + day)))
    table = pd.DataFrame(rows, columns=["counter_id", "day_type", "hour", "count"])
    profile = profile_from_hourly(table, key="counter_id", value="count", source="counters")
    np.testing.assert_allclose(profile.shares["weekday"] * np.mean(TRIPS[11:14]), TRIPS, rtol=1e-12)
    assert profile.shares["holiday"].isna().all()  # no holiday counts: nothing made up
    assert np.isnan(slot_factor(profile.shares["holiday"].to_numpy(), "07:00", "09:00"))


def test_mlit_with_profile_fills_morning_from_midday(project_root, tmp_path):
    from types import SimpleNamespace as NS

    from pipeline.peopleflow.profiles import mlit_with_profile
    from pipeline.peopleflow.readers import read_mlit_csv

    records = read_mlit_csv(project_root / "sample_data/omiya/peopleflow/mlit_peopleflow_omiya.csv")
    profile = read_profile_table(write_table(tmp_path / "p.csv"))
    season = NS(name="equinox", month=3)
    scenarios = [
        NS(name="equinox_morning", season=season, slot=NS(start="07:00", end="09:00")),
        NS(name="equinox_midday", season=season, slot=NS(start="11:00", end="14:00")),
    ]
    flow = mlit_with_profile(records, scenarios, profile, day_types=("weekday",))
    wide = flow.values.pivot(index="meshcode", columns="scenario", values="population")
    factor = (90 + 120) / 2 / np.mean(TRIPS[11:14])
    np.testing.assert_allclose(wide["equinox_morning"], wide["equinox_midday"] * factor, rtol=1e-12)
    sources = flow.values.groupby("scenario")["people_source"].unique()
    assert list(sources["equinox_morning"]) == ["profile"]
    assert list(sources["equinox_midday"]) == ["mlit"]
    assert flow.coverage.set_index("scenario").loc["equinox_morning", "people_source"] == "profile"
    assert flow.coverage["covered"].all()
