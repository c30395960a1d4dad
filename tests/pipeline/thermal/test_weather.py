"""Weather readers: the JMA hourly CSV layout, plain CSVs, the bundled normals and the diurnal curve."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pvlib
import pytest

from pipeline.thermal.weather import (
    DiurnalProfile,
    HourlyObservations,
    MonthlyNormals,
    MonthlyProfiles,
    WeatherError,
    constant_vapour_pressure_rh,
    design_heat_day,
    diurnal_temperature,
    read_jma_hourly,
    read_normals,
    read_weather,
    saturation_vapour_pressure_hpa,
    scenario_weather,
    sunrise_hour,
)

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
    assert any(
        n.startswith("wind_speed_ms: homogeneity number changes") and "2024-08-01 01:00" in n
        for n in obs.notes
    )
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
    np.testing.assert_allclose(profile.air_temperature_c, 2.0)  # 30 Dec and 2 Jan, not 20 Jan


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
    daily.write_bytes(
        "ダウンロードした時刻：x\r\n\r\n,熊谷\r\n年月日,平均気温(℃)\r\n2024/8/1,28.0\r\n".encode("cp932")
    )
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
    with pytest.raises(
        WeatherError, match=r"monthly.csv, line 2: relative_humidity_pct 170 is outside \[0, 100\]"
    ):
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
    assert t[3] > t[4] > t[5] > 20.0  # falls through the night toward the next sunrise
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
    assert profile.air_temperature_c.max() == pytest.approx(32.0, abs=0.05)  # August normal Tmax
    assert profile.relative_humidity_pct.mean() == pytest.approx(75.0)
    assert sunrise_hour(dt.date(2026, 8, 5), **OMIYA) == pytest.approx(4.88, abs=0.05)
    times = pd.DatetimeIndex(["2026-08-05 10:30", "2026-08-05 23:30"]).tz_localize("Asia/Tokyo")
    steps = scenario_weather(normals, dt.date(2026, 8, 5), times, **OMIYA)
    # the curve itself at the steps (sampled each minute), not a chord between hours
    curve = diurnal_temperature(
        np.array([10.5, 23.5]), 23.0, 32.0, sunrise_hour(dt.date(2026, 8, 5), **OMIYA)
    )
    np.testing.assert_allclose(steps.air_temperature_c, curve, atol=0.05)  # the normals are whole degrees
    np.testing.assert_allclose(
        steps.air_temperature_c,
        diurnal_temperature(
            np.array([10.5, 23.5]),
            normals.table.loc[8, "tmin_mean_c"],
            normals.table.loc[8, "tmax_mean_c"],
            sunrise_hour(dt.date(2026, 8, 5), **OMIYA),
        ),
        rtol=1e-12,
    )
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


# -- design heat day, observed hot days, observed radiation ----------------------------------
def _fixture_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_jma_fixture", DATA / "make_jma_fixture.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_jma = _fixture_module()


def test_design_heat_day_peaks_at_exactly_the_asked_maximum(normals_path):
    august = read_weather(normals_path).profile(dt.date(2026, 8, 5), **OMIYA)
    assert august.air_temperature_c.max() == pytest.approx(32.0, abs=0.05)  # the normal, not a 猛暑日
    for asked in (35.0, 37.3):
        day = design_heat_day(august, asked)
        assert day.air_temperature_c.max() == asked
        assert np.argmax(day.air_temperature_c) == np.argmax(august.air_temperature_c)
        # the month's shape: every hour raised by the same amount
        np.testing.assert_allclose(
            day.air_temperature_c - august.air_temperature_c,
            asked - august.air_temperature_c.max(),
            rtol=1e-12,
        )

        # the vapour pressure of every hour kept, RH recomputed at the new temperature
        def vapour(profile):
            return (
                profile.relative_humidity_pct
                / 100
                * saturation_vapour_pressure_hpa(profile.air_temperature_c)
            )

        np.testing.assert_allclose(vapour(day), vapour(august), rtol=1e-9)
        assert (day.relative_humidity_pct < august.relative_humidity_pct).all()
        np.testing.assert_array_equal(day.wind_speed_ms, august.wind_speed_ms)
        assert day.source.startswith(
            f"設計猛暑日 / design heat day (max {asked:.1f} °C), shape and vapour "
            "pressure of JMA climate normals"
        )


def test_design_heat_day_caps_humidity_at_saturation():
    cool_wet = DiurnalProfile(np.linspace(20, 30, 24), np.full(24, 99.0), np.full(24, 2.0), source="wet")
    day = design_heat_day(cool_wet, 25.0)  # cooled by 5 K: the kept vapour would supersaturate
    assert day.air_temperature_c.max() == 25.0
    assert (day.relative_humidity_pct == 100.0).all()


def _hot_days_csv(tmp_path, hot: dict[dt.date, float]) -> Path:
    """A JMA CSV whose days peak at 33 °C at 14:00, except ``hot``: {date: its maximum}."""

    def temperature(t):
        peak = hot.get(t.date(), 33.0)
        return peak - 5 + 5 * np.cos(2 * np.pi * (t.hour - 14) / 24)

    path = tmp_path / "jma_hot.csv"
    path.write_bytes(make_jma.jma_csv_bytes(temperature))
    return path


def test_observed_hot_days_composite_takes_only_the_days_at_or_above_35(tmp_path):
    hot = {
        dt.date(2023, 8, 3): 36.0,
        dt.date(2023, 8, 7): 35.0,
        dt.date(2024, 8, 5): 37.0,
        dt.date(2024, 8, 6): 34.9,
    }  # 34.9 °C is no 猛暑日
    obs = read_weather(_hot_days_csv(tmp_path, hot))
    profile = obs.profile(dt.date(2026, 8, 5), threshold_c=35.0)
    # the mean of the three hot days at each hour (the 2023-08-05 14:00 value is still missing
    # in the fixture's layout, a day not taken anyway)
    expected_peak = (36.0 + 35.0 + 37.0) / 3
    assert profile.air_temperature_c[14] == pytest.approx(expected_peak, abs=0.05)
    assert profile.air_temperature_c[2] == pytest.approx(
        expected_peak - 5 + 5 * np.cos(2 * np.pi * -12 / 24), abs=0.05
    )
    assert (
        "composite of 3 days with a maximum at or above 35 °C, days within ±7 days of 08-05" in profile.source
    )
    typical = obs.profile(dt.date(2026, 8, 5))  # every day: much cooler
    assert typical.air_temperature_c[14] < 34.0
    # a window that misses 3 and 7 August of 2023 keeps the 2024 day only
    narrow = obs.profile(dt.date(2026, 8, 5), threshold_c=35.0, window_days=1)
    assert narrow.air_temperature_c[14] == pytest.approx(37.0, abs=0.05)


def test_no_hot_day_is_a_clear_error_naming_file_window_and_threshold(tmp_path):
    obs = read_weather(_hot_days_csv(tmp_path, {}))
    with pytest.raises(
        WeatherError,
        match=r"jma_hot.csv.*no day with a maximum hourly temperature at or above "
        r"35 °C within ±10 days of 08-05",
    ):
        obs.profile(dt.date(2026, 8, 5), threshold_c=35.0, window_days=10)


def _radiation_mj(t: dt.datetime):
    """MJ/m² of the hour ending at ``t``: a daytime bell, blank at night, cloudier on even days."""
    mid = t.hour - 0.5 if t.hour else 23.5
    if not 5 <= mid <= 19:
        return None
    return (3.0 if t.day % 2 else 1.5) * np.sin(np.pi * (mid - 5) / 14) ** 2


def test_jma_global_radiation_read_in_wm2_and_split_as_pvlib_erbs(tmp_path):
    path = tmp_path / "jma_radiation.csv"
    path.write_bytes(make_jma.jma_csv_bytes(radiation=_radiation_mj))
    obs = read_jma_hourly(path, window_days=2)
    assert obs.has_radiation
    noon = _jst("2024-08-05 12:00")
    assert obs.table.at[noon, "ghi_wm2"] == pytest.approx(
        round(_radiation_mj(noon.to_pydatetime()), 2) / 0.0036
    )
    assert np.isnan(obs.table.at[_jst("2024-08-05 02:00"), "ghi_wm2"])  # JMA leaves the night blank
    profile = obs.profile(dt.date(2026, 8, 5), **OMIYA)
    # independently: every observed hour of the 10 days, Erbs at the middle of the hour, mean per hour
    days = obs.table[
        (obs.table.index >= _jst("2023-08-03 01:00")) & (obs.table.index <= _jst("2023-08-08 00:00"))
        | (obs.table.index >= _jst("2024-08-03 01:00")) & (obs.table.index <= _jst("2024-08-08 00:00"))
    ]
    middle = days.index - pd.Timedelta(minutes=30)
    zenith = pvlib.solarposition.get_solarposition(middle, OMIYA["latitude"], OMIYA["longitude"])["zenith"]
    ghi = days["ghi_wm2"].fillna(0.0).to_numpy()
    split = pvlib.irradiance.erbs(ghi, zenith.to_numpy(), middle)
    reference = (
        pd.DataFrame({"ghi": ghi, "dni": np.asarray(split["dni"]), "dhi": np.asarray(split["dhi"])})
        .groupby(middle.hour.to_numpy())
        .mean()
    )
    np.testing.assert_allclose(profile.ghi_wm2, reference["ghi"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(profile.dni_wm2, reference["dni"].to_numpy(), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(profile.dhi_wm2, reference["dhi"].to_numpy(), rtol=1e-12, atol=1e-9)
    assert profile.dni_wm2[11] > 0 and profile.ghi_wm2[2] == 0.0
    assert "split by Erbs et al. (1982)" in profile.source
    # steps interpolate between the hours' middles
    steps = profile.at(pd.DatetimeIndex([_jst("2026-08-05 11:30"), _jst("2026-08-05 12:00")]))
    assert steps.ghi_wm2[0] == pytest.approx(profile.ghi_wm2[11])
    assert steps.ghi_wm2[1] == pytest.approx((profile.ghi_wm2[11] + profile.ghi_wm2[12]) / 2)
