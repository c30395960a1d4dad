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
"""
from __future__ import annotations

import datetime as dt
import math
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
DIRECTIONS = ("北", "北北東", "北東", "東北東", "東", "東南東", "南東", "南南東",
              "南", "南南西", "南西", "西南西", "西", "西北西", "北西", "北北西")


def rows():
    for year in (2023, 2024):
        start = dt.datetime(year, 7, 29, 1)
        for k in range(15 * 24):
            t = start + dt.timedelta(hours=k)
            offset = (t.date() - dt.date(year, 8, 5)).days
            hour = t.hour
            air = 27 + 0.2 * offset + 5 * math.cos(2 * math.pi * (hour - 14) / 24) + (1 if year == 2024 else 0)
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
            yield (f"{stamp},{air_text},{air_q},1,0,1,8,1,{wind:.1f},8,{direction},8,{wind_homog},"
                   f"{rh_text},{rh_q},1")


def main() -> None:
    text = "\r\n".join(HEADER + list(rows())) + "\r\n"
    path = Path(__file__).with_name("jma_hourly_kumagaya_synthetic.csv")
    path.write_bytes(text.encode("cp932"))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
