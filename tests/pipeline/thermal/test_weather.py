"""Weather readers: the JMA hourly CSV layout, plain CSVs, the bundled normals and the diurnal curve."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.thermal.weather import (DiurnalProfile, HourlyObservations, MonthlyNormals, MonthlyProfiles,
                                      WeatherError, constant_vapour_pressure_rh, diurnal_temperature,
                                      read_jma_hourly, read_normals, read_weather, saturation_vapour_pressure_hpa,
                                      scenario_weather, sunrise_hour)

DATA = Path(__file__).with_name("data")
JMA = DATA / "jma_hourly_kumagaya_synthetic.csv"
OMIYA = dict(latitude=35.9063, longitude=139.6237)


def _jst(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="Asia/Tokyo")


@pytest.fixture(scope="module")
def normals_path(project_root) -> Path:
    return project_root / "sample_data" / "weather" / "kumagaya_normals_1991_2020.csv"


def test_jma_csv_layout_read_with_quality_and_homogeneity():
    obs = read_weather(JMA)
    assert isinstance(obs, HourlyObservations)
    table = obs.table
    assert len(table) == 2 * 15 * 24
    assert str(table.index.tz) == "Asia/Tokyo"
    assert table.index.is_monotonic_increasing and table.index.is_unique
    # hour 24 of 29 July is written "2023/7/30 0:00:00": it is midnight JST of the 30th
    assert pd.Timestamp("2023-07-30 00:00", tz="Asia/Tokyo") in table.index
    assert table.at[_jst("2023-07-29 14:00"), "air_temperature_c"] == pytest.approx(27 - 1.4 + 5)
    # a missing value (quality 1) and a doubtful one (quality 2, below the default 5) are gone
    assert np.isnan(table.at[_jst("2023-08-05 14:00"), "air_temperature_c"])
    assert np.isnan(table.at[_jst("2024-08-01 10:00"), "relative_humidity_pct"])
    assert table["relative_humidity_pct"].min() > 50
    assert any("1 values below quality 5 dropped" in n for n in obs.notes)
    assert any(n.startswith("wind_speed_ms: homogeneity number changes") and "2024-08-01 01:00" in n
               for n in obs.notes)
    assert "熊谷" in obs.source


def test_jma_quality_threshold_can_keep_doubtful_values():
    obs = read_jma_hourly(JMA, min_quality=2)
    assert obs.table.at[_jst("2024-08-01 10:00"), "relative_humidity_pct"] == 5.0


def test_composite_day_averages_matching_days_of_every_year():
    """Synthetic temperature 27 + 0.2 d + 5 cos(2 pi (h - 14)/24) + (1 in 2024), d days from 5 August."""
    obs = read_weather(JMA)
    profile = obs.profile(dt.date(2026, 8, 5))
    # 2 h: 15 days each year, offsets -7..7 average out, the 2024 degree halves
    assert profile.air_temperature_c[2] == pytest.approx(27 - 5 + 0.5, abs=0.05)
    # 14 h: the missing 2023-08-05 value leaves 14 values of 2023 and 15 of 2024
    assert profile.air_temperature_c[14] == pytest.approx(27 + 5 + 15 / 29, abs=0.05)
    assert "composite of 30 days within ±7 days of 08-05, years 2023-2024" in profile.source


def test_exact_day_of_one_year():
    obs = read_jma_hourly(JMA, window_days=0, years=(2024,))
    profile = obs.profile(dt.date(2026, 8, 5))
    assert profile.air_temperature_c[14] == pytest.approx(27 + 5 + 1, abs=0.05)
    assert "composite of 1 days" in profile.source
    with pytest.raises(ValueError, match="no observations within 0 days of 12-21"):
        obs.profile(dt.date(2026, 12, 21))


def test_composite_window_wraps_the_new_year(tmp_path):
    rows = ["date,hour,air_temperature_c,relative_humidity_pct,wind_speed_ms"]
    for day, value in (("2023-12-30", 1.0), ("2024-01-02", 3.0), ("2024-01-20", 50.0)):
        rows += [f"{day},{h},{value},60,2" for h in range(24)]
    path = tmp_path / "winter.csv"
    path.write_text("\n".join(rows) + "\n")
    obs = read_weather(path, window_days=3)
    profile = obs.profile(dt.date(2026, 1, 1))
    np.testing.assert_allclose(profile.air_temperature_c, 2.0)   # 30 Dec and 2 Jan, not 20 Jan


def test_jma_errors_name_the_file_and_line(tmp_path):
    text = JMA.read_bytes().decode("cp932").replace("2023/7/29 5:00:00,22.1", "2023/7/29 5:00:00,2x.1")
    bad = tmp_path / "bad.csv"
    bad.write_bytes(text.encode("cp932"))
    with pytest.raises(WeatherError, match=r"bad.csv, line 11: 気温\(℃\) '2x.1' is not a number"):
        read_jma_hourly(bad)
    no_humidity = tmp_path / "no_rh.csv"
    lines = JMA.read_bytes().decode("cp932").split("\r\n")
    no_humidity.write_bytes("\r\n".join(",".join(line.split(",")[:13]) for line in lines).encode("cp932"))
    with pytest.raises(WeatherError, match="no 相対湿度 column for station 熊谷"):
        read_jma_hourly(no_humidity)
    two = tmp_path / "two.csv"
    lines[2] = "," + ",".join(["熊谷"] * 12 + ["さいたま"] * 3)
    two.write_bytes("\r\n".join(lines).encode("cp932"))
    with pytest.raises(WeatherError, match=r"holds stations \['さいたま', '熊谷'\]; name one"):
        read_jma_hourly(two)
    daily = tmp_path / "daily.csv"
    daily.write_bytes("ダウンロードした時刻：x\r\n\r\n,熊谷\r\n年月日,平均気温(℃)\r\n2024/8/1,28.0\r\n".encode("cp932"))
    with pytest.raises(WeatherError, match="no '年月日時' header row"):
        read_jma_hourly(daily)


def test_plain_csv_by_month_and_its_errors(tmp_path):
    rows = ["month,hour,air_temperature_c,relative_humidity_pct,wind_speed_ms"]
    rows += [f"8,{h},{25 + h / 4},70,2.5" for h in range(24)]
    path = tmp_path / "monthly.csv"
    path.write_text("\n".join(rows) + "\n")
    source = read_weather(path)
    assert isinstance(source, MonthlyProfiles)
    profile = source.profile(dt.date(2026, 8, 5))
    assert profile.air_temperature_c[12] == 28.0
    with pytest.raises(ValueError, match="no hours for month 12"):
        source.profile(dt.date(2026, 12, 21))
    path.write_text("\n".join(rows[:-3]) + "\n")
    with pytest.raises(WeatherError, match=r"month 8 lacks hour\(s\) \[21, 22, 23\]"):
        read_weather(path)
    path.write_text(rows[0] + "\n8,7,25,170,2\n")
    with pytest.raises(WeatherError, match=r"monthly.csv, line 2: relative_humidity_pct 170 is outside \[0, 100\]"):
        read_weather(path)
    path.write_text(rows[0] + "\n8,7.5,25,70,2\n")
    with pytest.raises(WeatherError, match="line 2: hour '7.5' is not a whole hour"):
        read_weather(path)


def test_bundled_normals_name_source_station_period_and_status(normals_path):
    normals = read_weather(normals_path)
    assert isinstance(normals, MonthlyNormals)
    assert list(normals.table.index) == list(range(1, 13))
    for key in ("source", "station", "period", "url"):
        assert normals.metadata[key]
    assert "47626" in normals.metadata["station"] and normals.metadata["period"] == "1991-2020"
    # every column says how far its figures are sourced
    for column in ("tmax_mean_c", "tmin_mean_c", "rh_mean_pct", "wind_mean_ms"):
        status = normals.metadata[f"status.{column}"]
        assert status.startswith(("SOURCED", "UNVERIFIED"))
    assert (normals.table["tmax_mean_c"] > normals.table["tmin_mean_c"]).all()
    assert normals.table.loc[8, "tmax_mean_c"] > normals.table.loc[1, "tmax_mean_c"] + 15


def test_normals_need_source_station_and_period(tmp_path, normals_path):
    text = normals_path.read_text(encoding="utf-8").replace("# period: 1991-2020\n", "")
    path = tmp_path / "normals.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(WeatherError, match="must say '# period: ...'"):
        read_normals(path)


def test_diurnal_curve_min_at_sunrise_max_at_14():
    hours = np.array([4.5, 9.0, 14.0, 20.0, 23.0, 2.0])
    t = diurnal_temperature(hours, 20.0, 30.0, sunrise=4.5, max_hour=14.0)
    assert t[0] == pytest.approx(20.0) and t[2] == pytest.approx(30.0)
    assert 20 < t[1] < 30 and 20 < t[3] < 30
    assert t[3] > t[4] > t[5] > 20.0          # falls through the night toward the next sunrise
    fine = diurnal_temperature(np.linspace(0, 23.99, 2400), 20.0, 30.0, sunrise=4.5)
    assert fine.min() == pytest.approx(20.0, abs=1e-3) and fine.max() == pytest.approx(30.0, abs=1e-3)


def test_constant_vapour_pressure_reproduces_the_mean_humidity():
    air = diurnal_temperature(np.arange(24.0), 23.0, 32.0, sunrise=4.9)
    rh = constant_vapour_pressure_rh(air, 75.0)
    assert rh.mean() == pytest.approx(75.0, abs=1e-6)
    vapour = rh / 100 * saturation_vapour_pressure_hpa(air)
    np.testing.assert_allclose(vapour[rh < 100], vapour[rh < 100][0], rtol=1e-9)
    assert rh[np.argmax(air)] == rh.min()


def test_scenario_weather_from_normals_interpolates_between_hours(normals_path):
    normals = read_weather(normals_path)
    profile = normals.profile(dt.date(2026, 8, 5), **OMIYA)
    assert profile.air_temperature_c.max() == pytest.approx(32.0, abs=0.05)   # August normal Tmax
    assert profile.relative_humidity_pct.mean() == pytest.approx(75.0)
    assert sunrise_hour(dt.date(2026, 8, 5), **OMIYA) == pytest.approx(4.88, abs=0.05)
    times = pd.DatetimeIndex(["2026-08-05 10:30", "2026-08-05 23:30"]).tz_localize("Asia/Tokyo")
    steps = scenario_weather(normals, dt.date(2026, 8, 5), times, **OMIYA)
    a = profile.air_temperature_c
    assert steps.air_temperature_c[0] == pytest.approx((a[10] + a[11]) / 2)
    assert steps.air_temperature_c[1] == pytest.approx((a[23] + a[0]) / 2)
    assert "normals of August" in steps.source and "熊谷" in steps.source
    assert normals.unverified == ["rh_mean_pct", "wind_mean_ms"]
    assert steps.source.endswith("UNVERIFIED figures: rh_mean_pct, wind_mean_ms")
    with pytest.raises(ValueError, match="timezone-aware"):
        profile.at(pd.DatetimeIndex(["2026-08-05 10:30"]))


def test_profile_needs_every_hour():
    with pytest.raises(ValueError, match=r"no wind_speed_ms for local hour\(s\) \[3\]"):
        wind = np.full(24, 2.0)
        wind[3] = np.nan
        DiurnalProfile(np.full(24, 20.0), np.full(24, 60.0), wind, source="test")
