"""Write ``jma_hourly_kumagaya_synthetic.csv``: synthetic values in the exact layout of a JMA download.

The layout is that of the Japan Meteorological Agency's past-weather download (過去の気象
データ・ダウンロード) for a staffed observatory with four elements: Shift_JIS, CRLF, the
download-time line, a blank line, the station row, the element row, the sub-element row
(風向 under the wind-direction columns), the info row (品質情報 / 均質番号 / 現象なし情報), then one
row per hour with hour 24 written as 0:00 of the next day. The *values* are synthetic
(formulas below), so that tests know the answer:

    air temperature = 27 + 0.2 * (days from 5 August) + 5 * cos(2 pi (hour - 14) / 24) + (1 in 2024)

with one missing temperature (2023-08-05 14:00, quality 1), one doubtful humidity
(2024-08-01 10:00, value 5 %, quality 2) and the wind's homogeneity number changing from
1 to 2 on 2024-08-01 01:00. Run: ``python make_jma_fixture.py`` (deterministic).

:func:`jma_csv_bytes` writes the same layout for other formulas (tests generate files with
chosen hot days, and with the global radiation element 日射量(MJ/㎡) of an observatory).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from pathlib import Path

STATION = "熊谷"
HEADER = [
    "ダウンロードした時刻：2026/11/20 10:15:42",
    "",
    "," + ",".join([STATION] * 15),
    "年月日時,気温(℃),気温(℃),気温(℃),降水量(mm),降水量(mm),降水量(mm),降水量(mm),"
    "風速(m/s),風速(m/s),風速(m/s),風速(m/s),風速(m/s),相対湿度(％),相対湿度(％),相対湿度(％)",
    ",,,,,,,,,,風向,風向,,,,",
    ",,品質情報,均質番号,,現象なし情報,品質情報,均質番号,,品質情報,,品質情報,均質番号,,品質情報,均質番号",
]
DIRECTIONS = (
    "北",
    "北北東",
    "北東",
    "東北東",
    "東",
    "東南東",
    "南東",
    "南南東",
    "南",
    "南南西",
    "南西",
    "西南西",
    "西",
    "西北西",
    "北西",
    "北北西",
)


#: the radiation element's three columns (value, quality, homogeneity) appended to each row
RADIATION_ELEMENT = "日射量(MJ/㎡)"


def fixture_temperature(t: dt.datetime) -> float:
    """The fixture's air temperature at ``t`` (module docstring)."""
    offset = (t.date() - dt.date(t.year, 8, 5)).days
    return 27 + 0.2 * offset + 5 * math.cos(2 * math.pi * (t.hour - 14) / 24) + (1 if t.year == 2024 else 0)


def rows(
    temperature: Callable[[dt.datetime], float] = fixture_temperature,
    radiation: Callable[[dt.datetime], float | None] | None = None,
    years=(2023, 2024),
):
    """Data rows from 29 July 01:00 for 15 days of each year; ``radiation(t)``: MJ/m² of the
    hour ending at ``t`` (None: blank, as JMA leaves the night)."""
    for year in years:
        start = dt.datetime(year, 7, 29, 1)
        for k in range(15 * 24):
            t = start + dt.timedelta(hours=k)
            hour = t.hour
            air = temperature(t)
            rh = 70 - 15 * math.cos(2 * math.pi * (hour - 14) / 24)
            wind = 2.0 + 1.5 * max(0.0, math.cos(2 * math.pi * (hour - 14) / 24))
            air_text, air_q = f"{air:.1f}", "8"
            rh_text, rh_q = f"{rh:.0f}", "8"
            if t == dt.datetime(2023, 8, 5, 14):
                air_text, air_q = "", "1"
            if t == dt.datetime(2024, 8, 1, 10):
                rh_text, rh_q = "5", "2"
            wind_homog = "2" if t >= dt.datetime(2024, 8, 1, 1) else "1"
            direction = DIRECTIONS[(k * 5) % 16] if wind > 0.2 else "静穏"
            stamp = f"{t.year}/{t.month}/{t.day} {t.hour}:00:00"
            row = (
                f"{stamp},{air_text},{air_q},1,0,1,8,1,{wind:.1f},8,{direction},8,{wind_homog},"
                f"{rh_text},{rh_q},1"
            )
            if radiation is not None:
                value = radiation(t)
                row += f",{'' if value is None else f'{value:.2f}'},8,1"
            yield row


def header(with_radiation: bool = False) -> list[str]:
    """The six header lines (with the radiation element's columns when asked)."""
    if not with_radiation:
        return list(HEADER)
    lines = list(HEADER)
    lines[2] += "," + ",".join([STATION] * 3)
    lines[3] += "," + ",".join([RADIATION_ELEMENT] * 3)
    lines[4] += ",,,"
    lines[5] += ",,品質情報,均質番号"
    return lines


def jma_csv_bytes(
    temperature: Callable[[dt.datetime], float] = fixture_temperature,
    radiation: Callable[[dt.datetime], float | None] | None = None,
    years=(2023, 2024),
) -> bytes:
    """A whole JMA hourly download (Shift_JIS, CRLF) with these formulas."""
    lines = header(radiation is not None) + list(rows(temperature, radiation, years))
    return ("\r\n".join(lines) + "\r\n").encode("cp932")


def main() -> None:
    path = Path(__file__).with_name("jma_hourly_kumagaya_synthetic.csv")
    path.write_bytes(jma_csv_bytes())
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
