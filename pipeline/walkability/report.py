"""The printed report comparing the walkability scenarios: Japanese by default, English on request.

Self-contained (no network): maps are thumbnails of the PNG maps embedded as base64
``data:`` URIs; charts are HTML bars (so Japanese words render with the page's fonts);
tables are plain HTML. Print-ready: ``@page`` landscape (A4 or A3, chosen in the print
dialog), each part starting on a new page, tables and figures kept whole.

Parts, in order:

1. **Where to act first** (まず対策すべき街路): the street segments ranked by the priority
   index of :mod:`pipeline.walkability.priority` (unshaded person-hours in strong heat
   stress) in the scenario where it adds up highest, and its total per scenario.
2. **Method and data sources** (方法とデータ出典): the score's formula and weights, the
   classes' rules, the weather of each season (``thermal/weather.csv``: station, period,
   design day or observed), the people flow (MLIT 滞在人口 per 1 km mesh, day type, the
   slots observed and those without data), the 3D city model (PLATEAU) and the LiDAR file.
3. **Scenarios**: the scenario table and the class shares as bars.
4. **Maps**: score, class and UTCI maps with seasons as columns and slots as rows; the 3D views.
5. **Districts**: per district and scenario, the score and each class's share of street
   length; the CoolWalkability; the 1 km mesh table; the people-flow coverage.
"""

from __future__ import annotations

import base64
import html
import io
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.walkability.classes import CLASS_COLOURS, CLASS_WORDS
from pipeline.walkability.words import SEASON_WORDS, scenario_label, word
from tiles.atomic import write_text_atomic

log = logging.getLogger(__name__)

LANGUAGES = ("ja", "en")
#: Rows of the first page's ranking.
TOP_ROWS = 15

CSS = """
body{font-family:"Noto Sans JP","Hiragino Sans","Yu Gothic",system-ui,sans-serif;margin:24px;color:#222;max-width:1400px}
h1{font-size:1.5em;margin-bottom:0}h2{font-size:1.15em;border-bottom:1px solid #ccc;margin-top:1.4em}
h3{font-size:1em;margin:1em 0 .3em}
table{border-collapse:collapse;font-size:0.85em;margin:8px 0}th,td{border:1px solid #ddd;padding:3px 7px;text-align:right}
th{background:#f3f3f3}td.text,th.text{text-align:left}
.maps{display:grid;gap:6px}.maps figure{margin:0}.maps img{width:100%}.maps figcaption{font-size:0.8em;text-align:center}
.note{color:#555;font-size:0.85em}.formula{font-family:ui-monospace,monospace;background:#f6f6f6;padding:4px 8px}
.bars td.bar{width:60%;text-align:left}.stack{display:flex;height:14px;width:100%}.stack span{display:block;height:100%}
.swatch{display:inline-block;width:11px;height:11px;margin-right:4px;vertical-align:-1px;border:1px solid #777}
.legend span.item{margin-right:14px;font-size:0.85em;white-space:nowrap}
.score-bar{display:inline-block;height:11px;background:#3b528b}
@page{size:landscape;margin:12mm}
@media print{body{margin:0;max-width:none;font-size:10pt}.page{break-before:page}.page:first-of-type{break-before:auto}
table,figure,.maps figure,.stack{break-inside:avoid}thead{display:table-header-group}h2,h3{break-after:avoid}}
"""

#: The report's words. Column names of tables come from :data:`COLUMNS`.
WORDS = {
    "ja": {
        "title": "季節・時間帯別の歩きやすさと人流",
        "subtitle": "{n} 街路区間、人流は{day}、{allocation}で街路に配分",
        "act_first": "まず対策すべき街路",
        "act_first_note": (
            "優先度 = 日陰のない強い暑熱ストレス下の人・時間。区間の滞在人口(人)× 強い暑熱ストレス"
            "(UTCI 32 °C 超)の時間(h)×(1 − 日陰率)。多くの人が日陰なしで長く暑熱にさらされる街路ほど上位です。"
            "人流データのない区間と暑熱ストレスのない区間は順位に入りません(0 とはしません)。"
        ),
        "act_first_scenario": "最も優先度の合計が大きいシナリオ: {scenario}",
        "act_first_totals": "シナリオ別の優先度の合計",
        "no_priority": "優先度を計算できません: 人流データと温熱(UTCI)の両方が必要です。",
        "method": "方法とデータ出典",
        "score_formula": "スコアの式",
        "gate_formula": "スコア = 100 × c_thermal × Σ(重み × 構成要素) / Σ 重み",
        "weight_formula": "スコア = 100 × Σ(重み × 構成要素) / Σ 重み",
        "gate_note": (
            "温熱快適性 c_thermal(UTCI {low:g}〜{high:g} °C で 1、{cold:g} °C と {heat:g} °C で 0)が他の構成要素の"
            "加重平均に掛かります。暑さ・寒さはアクセスの良さでは補えません。"
        ),
        "weight_note": "温熱快適性 c_thermal は日陰の重みで加重平均に入ります(UTCI {low:g}〜{high:g} °C で 1)。",
        "no_thermal": "温熱段階なし: スコアは日陰率を重み付けします。",
        "sides": "街路は快適な側の歩道(中心線から 幅員/2 − 1.5 m)で評価します。暑い時は日陰側、寒い時は日なた側です。",
        "classes_rule": (
            "分類: シナリオ内のスコア順位が {p:g} パーセンタイル以上で「歩きやすい」、人流が中央値以上で「利用が多い」。"
            "強い暑熱ストレス(UTCI 32 °C 超)または中程度以上の寒冷ストレス(0 °C 以下)が {h:g} 時間以上で、"
            "人流が上位 25 % の街路は「利用は多いが快適性に課題」。"
        ),
        "weights": "重み",
        "weather": "気象(季節ごと)",
        "weather_note": (
            "各時間ステップの気象は thermal/weather.csv にあります。設計猛暑日と快晴は設計条件であり、"
            "観測値ではありません。"
        ),
        "peopleflow": "人流",
        "peopleflow_note": (
            "国土交通省「全国の人流オープンデータ」の滞在人口(1 km メッシュ、時間帯別)。日種別: {day}。"
            "時間帯が合わないシナリオには人流値を付けず(「人流データなし」)、補間はしません。"
        ),
        "observed": "観測値",
        "not_covered": "データなし",
        "city_model": "3D 都市モデルと点群",
        "plateau": "3D 都市モデル(PLATEAU CityGML): {source}、データ年度: {year}",
        "year_unknown": "ファイルに記載なし",
        "lidar": "LiDAR 点群: {name}(LAS ヘッダーの作成日 {date})",
        "no_lidar": "LiDAR 点群: この実行では使用していません",
        "scenarios": "シナリオ一覧",
        "class_shares": "分類ごとの街路延長の割合",
        "score_by": "季節・時間帯別のスコア(延長加重平均、0〜100)",
        "score_maps": "スコア地図(列: 季節、行: 時間帯)",
        "class_maps": "分類地図(列: 季節、行: 時間帯)",
        "utci_maps": "体感温度(UTCI)と熱ストレス(列: 季節、行: 時間帯)",
        "views_3d": "地区の 3D 表示",
        "views_3d_note": "3D 都市モデルの建物、歩きやすさスコアで色分けした街路、時間帯の日陰時間を地表に表示。",
        "districts": "地区別の表",
        "districts_note": "地区ごと・シナリオごとのスコアと、分類ごとの街路延長の割合(%)。",
        "coolwalk": "地区別の CoolWalkability",
        "coolwalk_note": (
            "日陰(温熱: 快適性、UTCI)を選んで歩くことで実現できる改善の割合。回避係数 {alpha:g}"
            "(Wolf, Vierø & Szell 2024)。"
        ),
        "mesh": "1 km メッシュ別のスコア",
        "coverage": "人流データの対応状況",
        "people_source_note": (
            "people_source(人流の出所): 観測 = mlit(国土交通省の滞在人口)、counters(歩行者カウンタ)、"
            "hourly(時間帯別の表)。MLIT が公表しない時間帯は、セルの 11〜14 時の値に周辺の"
            "カウンタ(または時間帯別の表)の時間帯比を掛けた値。モデル = profile、simulated。"
            "どの出所もない時間帯の街路は「人流データなし」。"
        ),
        "access_note": (
            "快適アクセス比: 日陰(快適性)で重み付けした距離で到達できる目的地数 ÷ 通常の距離での数。"
            "1 未満は日差しで歩行が長く感じられることを示します。"
        ),
        "design_case": "(設計条件)",
        "yes": "あり",
        "no_data": "データなし",
        "day_weekday": "平日",
        "day_holiday": "休日",
        "day_all": "全日",
        "alloc_floor_area": "沿道建物の延床面積",
        "alloc_length": "街路延長",
    },
    "en": {
        "title": "Walkability and people flow by season and time of day",
        "subtitle": "{n} street segments; people flow on {day} days, allocated to streets by {allocation}",
        "act_first": "Where to act first",
        "act_first_note": (
            "Priority = unshaded person-hours in strong heat stress: the people present on the segment "
            "x hours in strong heat stress (UTCI above 32 °C) x (1 - shade share). Streets where many "
            "people spend long hours in heat without shade rank first. Segments without people-flow "
            "data or without heat stress are left out (not ranked as zero)."
        ),
        "act_first_scenario": "Scenario with the largest total priority: {scenario}",
        "act_first_totals": "Total priority per scenario",
        "no_priority": "No priority index: it needs both people flow and thermal comfort (UTCI).",
        "method": "Method and data sources",
        "score_formula": "The score",
        "gate_formula": "score = 100 x c_thermal x sum(weight x component) / sum(weights)",
        "weight_formula": "score = 100 x sum(weight x component) / sum(weights)",
        "gate_note": (
            "Thermal comfort c_thermal (1 at UTCI {low:g}-{high:g} °C, 0 at {cold:g} °C and {heat:g} °C) "
            "multiplies the weighted mean of the other components: no access makes up for heat or cold."
        ),
        "weight_note": "Thermal comfort c_thermal takes the weight of shade (1 at UTCI {low:g}-{high:g} °C).",
        "no_thermal": "No thermal stage: the score weighs shade share.",
        "sides": (
            "Streets are read on their better sidewalk (width/2 - 1.5 m from the centreline), the shaded one "
            "in the heat and the sunny one in the cold."
        ),
        "classes_rule": (
            "Classes: walkable from a standing of {p:g} (the score's percentile in the scenario); used "
            "from the median people flow; used but uncomfortable when among the busiest 25 % and at "
            "least {h:g} h in strong heat stress (UTCI above 32 °C) or moderate cold stress (0 °C or below)."
        ),
        "weights": "Weights",
        "weather": "Weather of each season",
        "weather_note": (
            "The forcing of every time step is in thermal/weather.csv. A design heat day (設計猛暑日) and a "
            "clear sky are design cases, not observations."
        ),
        "peopleflow": "People flow",
        "peopleflow_note": (
            "MLIT nationwide people-flow open data, population present (滞在人口) per 1 km mesh and "
            "time of day. Day type: {day}. Scenarios whose slot the data do not cover get no "
            "people-flow values ('no people-flow data'); nothing is interpolated."
        ),
        "observed": "observed",
        "not_covered": "no data",
        "city_model": "3D city model and point cloud",
        "plateau": "3D city model (PLATEAU CityGML): {source}, data year: {year}",
        "year_unknown": "not stated in the files",
        "lidar": "LiDAR points: {name} (LAS header creation date {date})",
        "no_lidar": "LiDAR points: not used in this run",
        "scenarios": "Scenarios",
        "class_shares": "Share of street length in each class",
        "score_by": "Score by season and time of day (length-weighted mean, 0-100)",
        "score_maps": "Score maps (columns: seasons, rows: time slots)",
        "class_maps": "Class maps (columns: seasons, rows: time slots)",
        "utci_maps": "Felt temperature (UTCI) and thermal stress of the streets (columns: seasons, rows: time slots)",
        "views_3d": "The district in 3D",
        "views_3d_note": (
            "Buildings from the 3D city model, streets coloured by walkability score, the slot's shade "
            "hours draped on the ground."
        ),
        "districts": "Districts",
        "districts_note": "Per district and scenario: the score and each class's share of street length (%).",
        "coolwalk": "CoolWalkability per district",
        "coolwalk_note": (
            "Share of the possible gain from shade (thermal: from comfort, UTCI) that routing through it "
            "realises, for an avoidance factor of {alpha:g} (Wolf, Vierø & Szell 2024)."
        ),
        "mesh": "Score per 1 km mesh",
        "coverage": "People-flow coverage",
        "people_source_note": (
            "people_source: observed = mlit (MLIT stay population), counters, hourly "
            "(slots MLIT does not publish: the cell's 11-14 h value times the hourly "
            "share of the counters or hourly tables around it); modelled = profile, "
            "simulated. Streets of a slot no source covers are 'no people-flow data'."
        ),
        "access_note": (
            "Comfort access ratio: reachable destinations with perceived (comfort-weighted) lengths over "
            "those with plain lengths; below 1 the sun makes walks feel longer."
        ),
        "design_case": " (design case)",
        "yes": "yes",
        "no_data": "no data",
        "day_weekday": "weekday",
        "day_holiday": "holiday",
        "day_all": "all",
        "alloc_floor_area": "the floor area of the buildings along them",
        "alloc_length": "street length",
    },
}
#: Table column -> {ja, en} heading.
COLUMNS = {
    "rank": {"ja": "順位", "en": "rank"},
    "street": {"ja": "街路", "en": "street"},
    "scenario": {"ja": "シナリオ", "en": "scenario"},
    "season": {"ja": "季節", "en": "season"},
    "slot": {"ja": "時間帯", "en": "time slot"},
    "district": {"ja": "地区", "en": "district"},
    "meshcode": {"ja": "メッシュコード", "en": "mesh code"},
    "people_per_100m": {"ja": "人流(人/100 m)", "en": "people / 100 m"},
    "hours_utci_above_32": {"ja": "強い暑熱ストレス(時間)", "en": "hours in strong heat stress"},
    "shade_share": {"ja": "日陰率(%)", "en": "shade share (%)"},
    "person_hours_heat": {"ja": "暑熱下の人・時間", "en": "person-hours in heat stress"},
    "priority": {"ja": "優先度(日陰なしの人・時間)", "en": "priority (unshaded person-hours)"},
    "segments": {"ja": "区間数", "en": "segments"},
    "mean_score": {"ja": "平均スコア", "en": "mean score"},
    "score": {"ja": "スコア", "en": "score"},
    "mean_shade_share": {"ja": "日陰率(%)", "en": "shade share (%)"},
    "mean_utci_c": {"ja": "平均 UTCI(°C)", "en": "mean UTCI (°C)"},
    "share_strong_heat_stress": {"ja": "強い暑熱ストレスの延長(%)", "en": "length in strong heat stress (%)"},
    "share_strong_cold_stress": {"ja": "寒冷ストレスの延長(%)", "en": "length in cold stress (%)"},
    "mean_hours_utci_above_32": {"ja": "暑熱ストレス時間(平均、h)", "en": "hours above 32 °C (mean)"},
    "mean_hours_utci_below_0": {"ja": "寒冷ストレス時間(平均、h)", "en": "hours at or below 0 °C (mean)"},
    "comfort_access_ratio": {"ja": "快適アクセス比", "en": "comfort access ratio"},
    "people_flow": {"ja": "人流データ", "en": "people flow"},
    "street_length_m": {"ja": "街路延長(m)", "en": "street length (m)"},
    "weather_source": {"ja": "気象(気温・湿度・風)", "en": "weather (air temperature, humidity, wind)"},
    "radiation_source": {"ja": "日射", "en": "radiation"},
    "day_max_air_temperature_c": {"ja": "日最高気温(°C)", "en": "daily maximum (°C)"},
    "source": {"ja": "データ", "en": "source"},
    "covered": {"ja": "対応", "en": "covered"},
    "how": {"ja": "対応の内容", "en": "how"},
    "day_type": {"ja": "日種別", "en": "day type"},
    "coolwalkability_shade": {"ja": "日陰", "en": "shade"},
    "coolwalkability_thermal": {"ja": "温熱", "en": "thermal"},
    "component": {"ja": "構成要素", "en": "component"},
    "weight": {"ja": "重み", "en": "weight"},
}
#: Score components -> {ja, en}.
COMPONENT_WORDS = {
    "access": {"ja": "目的地へのアクセス", "en": "access to destinations"},
    "mix": {"ja": "土地利用の多様性", "en": "land-use mix"},
    "intersections": {"ja": "交差点密度", "en": "intersection density"},
    "shade": {"ja": "日陰", "en": "shade"},
    "thermal": {"ja": "温熱快適性(UTCI)", "en": "thermal comfort (UTCI)"},
    "slope": {"ja": "勾配の緩やかさ", "en": "gentle slope"},
    "width": {"ja": "幅員", "en": "width"},
}


@dataclass(frozen=True)
class ReportSources:
    """The data the report names as its sources, besides the weather and people-flow tables.

    ``citygml``: the PLATEAU folder or file the run read; ``plateau_year``: its data year
    (from a PLATEAU folder name such as ``11100_saitama-shi_city_2023_citygml``), None when
    not stated; ``lidar``: (file name, LAS header creation date ISO or None) per file.
    """

    citygml: str | None = None
    plateau_year: int | None = None
    lidar: list[tuple[str, str | None]] = field(default_factory=list)


def plateau_year(path: str | Path | None) -> int | None:
    """The data year in a PLATEAU dataset's folder name (``<code>_<city>_..._<year>_citygml``), else None."""
    if path is None:
        return None
    for part in reversed(Path(path).parts):
        found = re.search(r"_(20\d\d)_citygml", part)
        if found:
            return int(found.group(1))
    return None


def las_creation_date(year: int, day_of_year: int) -> str | None:
    """ISO date of a LAS header's creation year and day of year (1-based); None when unset (0)."""
    if not year or not day_of_year:
        return None
    return (date(year, 1, 1) + timedelta(days=day_of_year - 1)).isoformat()


def read_report_sources(citygml: str | Path | None, lidar: Sequence[str | Path] = ()) -> ReportSources:
    """The :class:`ReportSources` of a run's inputs (reads the LAS headers)."""
    from pipeline.lidar.header import read_checked_header

    files = []
    for path in lidar:
        header = read_checked_header(path)
        files.append((Path(path).name, las_creation_date(header.creation_year, header.creation_day)))
    return ReportSources(
        citygml=Path(citygml).name if citygml else None, plateau_year=plateau_year(citygml), lidar=files
    )


# -- building blocks ---------------------------------------------------------------------
def _png_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _thumbnail_uri(path: str, width: int = 480) -> str:
    """A PNG map scaled down to ``width`` pixels and 256 colours, as a data URI."""
    from PIL import Image

    with Image.open(path) as image:
        ratio = width / image.width
        small = image.convert("RGB").resize((width, max(1, round(image.height * ratio))), Image.LANCZOS)
        buffer = io.BytesIO()
        small.quantize(256).save(buffer, format="PNG", optimize=True)
    return _png_uri(buffer.getvalue())


def scenario_table(run_sums: pd.DataFrame, scenarios: list) -> pd.DataFrame:
    """One row per scenario from the run's sums (``level == "run"``,
    :mod:`pipeline.walkability.partials`): length-weighted score, shade share and (with the
    thermal stage) UTCI and share of street length in strong heat or cold stress, comfort
    access ratio, people flow, class shares."""
    from pipeline.walkability.partials import scenario_summary

    rows = []
    for scenario in scenarios:
        sums = run_sums[run_sums["scenario"] == scenario.name]
        if not len(sums):
            continue
        rows.append(
            {
                "scenario": scenario.name,
                "season": scenario.season.name,
                "slot": scenario.slot.name,
                **scenario_summary(sums),
            }
        )
    return pd.DataFrame(rows)


def _cell(value, digits: int) -> str:
    if isinstance(value, (bool, np.bool_)):
        return html.escape(str(value))
    if isinstance(value, (float, np.floating, int, np.integer)) and not isinstance(value, bool):
        value = float(value)
        return "–" if not np.isfinite(value) else f"{value:,.{digits}f}"
    return html.escape(str(value))


def html_table(
    frame: pd.DataFrame, lang: str, digits: int | dict[str, int] = 2, text_columns: Sequence[str] = ()
) -> str:
    """``frame`` as an HTML table with headings in ``lang`` (:data:`COLUMNS`; else the column
    name); numbers rounded to ``digits`` (one for all or per column), "–" for no value."""

    def digits_of(column):
        return digits.get(column, 2) if isinstance(digits, dict) else digits

    texts = set(text_columns) | {c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])}
    head = "".join(
        f"<th class='{'text' if c in texts else ''}'>{html.escape(COLUMNS.get(c, {}).get(lang, str(c)))}</th>"
        for c in frame.columns
    )
    body = []
    for _, row in frame.iterrows():
        cells = "".join(
            f"<td class='{'text' if c in texts else ''}'>{_cell(row[c], digits_of(c))}</td>"
            for c in frame.columns
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _class_legend(lang: str) -> str:
    items = "".join(
        f"<span class='item'><span class='swatch' style='background:{colour}'></span>"
        f"{html.escape(CLASS_WORDS[cls][lang])}</span>"
        for cls, colour in CLASS_COLOURS.items()
    )
    return f"<p class='legend'>{items}</p>"


def class_share_bars(table: pd.DataFrame, scenarios: list, lang: str) -> str:
    """Per scenario a stacked bar of the share of street length in each class (HTML, in %)."""
    by_name = {s.name: s for s in scenarios}
    rows = []
    for _, row in table.iterrows():
        spans = "".join(
            f"<span style='width:{100 * float(row[f'share_{cls}']):.2f}%;background:{colour}' "
            f"title='{html.escape(CLASS_WORDS[cls][lang])} {100 * float(row[f'share_{cls}']):.0f} %'></span>"
            for cls, colour in CLASS_COLOURS.items()
            if np.isfinite(row[f"share_{cls}"])
        )
        rows.append(
            f"<tr><td class='text'>{html.escape(scenario_label(by_name[row['scenario']], lang))}</td>"
            f"<td class='bar'><div class='stack'>{spans}</div></td></tr>"
        )
    return f"{_class_legend(lang)}<table class='bars'>{''.join(rows)}</table>"


def score_bars(table: pd.DataFrame, scenarios: list, lang: str) -> str:
    """The length-weighted mean score of every scenario as a bar (HTML), seasons as groups."""
    by_name = {s.name: s for s in scenarios}
    rows = "".join(
        f"<tr><td class='text'>{html.escape(scenario_label(by_name[r['scenario']], lang))}</td>"
        f"<td>{_cell(r['mean_score'], 1)}</td><td class='bar'><span class='score-bar' "
        f"style='width:{max(0.0, float(r['mean_score'])):.1f}%'></span></td></tr>"
        for _, r in table.iterrows()
        if np.isfinite(r["mean_score"])
    )
    return f"<table class='bars'>{rows}</table>"


def _map_grid(maps: dict[str, str], scenarios: list, title: str, lang: str) -> str:
    seasons = list(dict.fromkeys(s.season.name for s in scenarios if s.name in maps))
    slots = list(dict.fromkeys(s.slot.name for s in scenarios if s.name in maps))
    if not seasons:
        return ""
    figures = []
    for slot in slots:
        for season in seasons:
            match = [
                s for s in scenarios if s.season.name == season and s.slot.name == slot and s.name in maps
            ]
            if match:
                caption = html.escape(scenario_label(match[0], lang))
                figures.append(
                    f'<figure><img alt="{html.escape(match[0].name)}" '
                    f'src="{_thumbnail_uri(maps[match[0].name])}"><figcaption>{caption}</figcaption></figure>'
                )
            else:
                figures.append("<figure></figure>")
    return (
        f"<section class='page'><h2>{html.escape(title)}</h2><div class='maps' style='grid-template-columns:"
        f"repeat({len(seasons)},1fr)'>{''.join(figures)}</div></section>"
    )


def _views_3d(views: dict[str, str], w: dict[str, str]) -> str:
    """The 3D perspectives of the district, one figure per caption."""
    if not views:
        return ""
    figures = "".join(
        f'<figure><img alt="{html.escape(caption)}" src="{_thumbnail_uri(path, 720)}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        for caption, path in views.items()
    )
    return (
        f"<section class='page'><h2>{w['views_3d']}</h2><p class='note'>{w['views_3d_note']}</p>"
        f"<div class='maps' style='grid-template-columns:repeat({min(len(views), 2)},1fr)'>{figures}</div></section>"
    )


# -- the parts ---------------------------------------------------------------------------
def act_first_section(priority: pd.DataFrame | None, scenarios: list, lang: str, top: int = TOP_ROWS) -> str:
    """The first page: the top of the priority ranking (:func:`pipeline.walkability.priority.priority_table`)
    in the scenario where the priority adds up highest, and the total per scenario."""
    w = WORDS[lang]
    parts = [f"<h2 id='act-first'>{w['act_first']}</h2>", f"<p class='note'>{w['act_first_note']}</p>"]
    if priority is None or not len(priority):
        return "".join(parts + [f"<p>{w['no_priority']}</p>"])
    by_name = {s.name: s for s in scenarios}
    totals = priority.groupby("scenario", sort=False).agg(
        segments=("priority", "size"),
        priority=("priority", "sum"),
        person_hours_heat=("person_hours_heat", "sum"),
    )
    totals = totals.sort_values("priority", ascending=False, kind="stable")
    focus = totals.index[0]
    ranked = priority[priority["scenario"] == focus].sort_values("rank").head(top)
    shown = pd.DataFrame(
        {
            "rank": ranked["rank"].to_numpy(),
            "street": [
                f"{n} ({h})" if n else f"{h} {sid}"
                for n, h, sid in zip(ranked["name"], ranked["highway"], ranked["segment_id"])
            ],
            "people_per_100m": ranked["people_per_100m"].to_numpy(),
            "hours_utci_above_32": ranked["hours_utci_above_32"],
            "shade_share": 100 * ranked["shade_share"].to_numpy(),
            "person_hours_heat": ranked["person_hours_heat"],
            "priority": ranked["priority"].to_numpy(),
        }
    )
    scenario_words = (
        html.escape(scenario_label(by_name[focus], lang)) if focus in by_name else html.escape(focus)
    )
    totals_shown = totals.reset_index()
    totals_shown["scenario"] = [
        scenario_label(by_name[s], lang) if s in by_name else s for s in totals_shown["scenario"]
    ]
    parts += [
        f"<h3>{w['act_first_scenario'].format(scenario=scenario_words)}</h3>",
        html_table(
            shown,
            lang,
            {
                "rank": 0,
                "people_per_100m": 1,
                "hours_utci_above_32": 1,
                "shade_share": 0,
                "person_hours_heat": 0,
                "priority": 0,
            },
            text_columns=["street"],
        ),
        f"<h3>{w['act_first_totals']}</h3>",
        html_table(
            totals_shown[["scenario", "segments", "person_hours_heat", "priority"]],
            lang,
            {"segments": 0, "person_hours_heat": 0, "priority": 0},
        ),
    ]
    return "".join(parts)


def method_section(
    settings,
    *,
    lang: str,
    thermal: bool,
    weights: dict[str, float],
    weather_by_season: pd.DataFrame | None,
    coverage: pd.DataFrame | None,
    sources: ReportSources | None,
) -> str:
    """Method and data sources: the score's formula and weights, the class rules, weather,
    people flow, the 3D city model and LiDAR."""
    w = WORDS[lang]
    curve = settings.comfort_curve
    band = dict(
        low=curve.comfort_low_c, high=curve.comfort_high_c, cold=curve.cold_zero_c, heat=curve.heat_zero_c
    )
    gate = thermal and settings.thermal_rule == "gate"
    formula = w["gate_formula"] if gate else w["weight_formula"]
    note = (w["gate_note"] if gate else w["weight_note"]).format(**band) if thermal else w["no_thermal"]
    weight_rows = pd.DataFrame(
        {
            "component": [COMPONENT_WORDS.get(k, {}).get(lang, k) for k in weights],
            "weight": list(weights.values()),
        }
    )
    parts = [
        f"<section class='page'><h2 id='method'>{w['method']}</h2>",
        f"<h3>{w['score_formula']}</h3><p class='formula'>{html.escape(formula)}</p>",
        f"<p class='note'>{html.escape(note)} {w['sides'] if thermal else ''}</p>",
        html_table(weight_rows, lang, 2, text_columns=["component"]),
        f"<p class='note'>{w['classes_rule'].format(p=settings.walkable_percentile, h=settings.uncomfortable_hours)}</p>",
    ]
    if weather_by_season is not None and len(weather_by_season):
        shown = weather_by_season.copy()
        shown.insert(0, "season", [word(s, SEASON_WORDS, lang) for s in shown.pop("season")])
        parts += [
            f"<h3 id='weather'>{w['weather']}</h3>",
            f"<p class='note'>{w['weather_note']}</p>",
            html_table(shown, lang, {"day_max_air_temperature_c": 1}),
        ]
    day = w.get(f"day_{settings.day_type}", settings.day_type)
    parts += [
        f"<h3 id='peopleflow'>{w['peopleflow']}</h3>",
        f"<p class='note'>{w['peopleflow_note'].format(day=day)}</p>",
    ]
    if coverage is not None and len(coverage):
        rows = coverage[coverage["day_type"] == settings.day_type]
        table = {
            "source": rows["source"].to_numpy(),
            "scenario": rows["scenario"].to_numpy(),
            "covered": [w["observed"] if c else w["not_covered"] for c in rows["covered"]],
        }
        if "people_source" in rows:
            table["people_source"] = rows["people_source"].fillna("none").to_numpy()
        table["how"] = rows["how"].to_numpy()
        parts += [f"<p class='note'>{w['people_source_note']}</p>", html_table(pd.DataFrame(table), lang)]
    if sources is not None:
        year = sources.plateau_year if sources.plateau_year else w["year_unknown"]
        items = [w["plateau"].format(source=html.escape(sources.citygml or "–"), year=year)]
        items += [
            w["lidar"].format(name=html.escape(name), date=when or w["year_unknown"])
            for name, when in sources.lidar
        ]
        if not sources.lidar:
            items.append(w["no_lidar"])
        parts += [
            f"<h3 id='city-model'>{w['city_model']}</h3><ul>",
            *(f"<li>{i}</li>" for i in items),
            "</ul>",
        ]
    parts.append("</section>")
    return "".join(parts)


def district_section(district_summary: pd.DataFrame, scenarios: list, lang: str) -> str:
    """Per district and scenario: score, people per 100 m, street length and each class's
    share of street length (%)."""
    w = WORDS[lang]
    by_name = {s.name: s for s in scenarios}
    order = {s.name: i for i, s in enumerate(scenarios)}
    table = district_summary.assign(_o=district_summary["scenario"].map(order)).sort_values(
        ["district", "_o"], kind="stable"
    )
    shown = pd.DataFrame(
        {
            "district": table["district"].to_numpy(),
            "scenario": [scenario_label(by_name[s], lang) if s in by_name else s for s in table["scenario"]],
            "score": table["score"].to_numpy(),
            "people_per_100m": table["people_per_100m"].to_numpy(),
            "street_length_m": table["street_length_m"].to_numpy(),
        }
    )
    for cls in CLASS_COLOURS:
        shown[CLASS_WORDS[cls][lang] + " (%)"] = 100 * table[f"share_{cls}"].to_numpy(float)
    digits = {"score": 1, "people_per_100m": 1, "street_length_m": 0, **{c: 0 for c in shown.columns[5:]}}
    return (
        f"<section class='page'><h2 id='districts'>{w['districts']}</h2><p class='note'>{w['districts_note']}</p>"
        f"{_class_legend(lang)}{html_table(shown, lang, digits)}</section>"
    )


#: The link to the before/after page of a run on a baseline (pipeline.measures.report).
EFFECTS_LINK = {
    "ja": "施策の効果(施策前後の比較・地図): {link}",
    "en": "Effects of the measures (before and after, with maps): {link}",
}


def effects_link(href: str | None, lang: str) -> str:
    """The paragraph linking to the before/after page at ``href`` ("" without one)."""
    if not href:
        return ""
    link = f"<a href='{html.escape(href)}'>{html.escape(href)}</a>"
    return f"<p class='note' id='effects'>{EFFECTS_LINK[lang].format(link=link)}</p>"


def build_report(
    run_sums: pd.DataFrame,
    scenarios: list,
    *,
    n_segments: int,
    settings,
    mesh_summary: pd.DataFrame,
    district_summary: pd.DataFrame | None,
    maps: dict[str, str],
    class_maps: dict[str, str],
    coverage: pd.DataFrame | None = None,
    weather: list[str] | None = None,
    coolwalk: pd.DataFrame | None = None,
    views_3d: dict[str, str] | None = None,
    utci_maps: dict[str, str] | None = None,
    weather_by_season: pd.DataFrame | None = None,
    priority: pd.DataFrame | None = None,
    sources: ReportSources | None = None,
    weights: dict[str, float] | None = None,
    lang: str = "ja",
    tree_update: TreeUpdate | None = None,
    effects_report: str | None = None,
) -> str:
    """The report as an HTML string in ``lang`` (``ja`` or ``en``).

    ``effects_report``: the relative link to the before/after page of a run on a baseline.

    ``run_sums``: the run's sums per scenario; ``priority``: the ranking of
    :func:`pipeline.walkability.priority.priority_table` over the scenarios; ``weights``: the
    score's weights as applied (:func:`pipeline.walkability.scenario_scores.effective_weights`,
    default the settings'); ``views_3d``: caption -> PNG of a 3D view of the district.
    """
    if lang not in LANGUAGES:
        raise ValueError(f"report language must be one of {LANGUAGES}, got {lang!r}")
    w = WORDS[lang]
    table = scenario_table(run_sums, scenarios)
    thermal = bool(weather) or ("mean_utci_c" in table and table["mean_utci_c"].notna().any())
    shown = table.drop(
        columns=[c for c in table.columns if c.startswith("share_") and c[6:] in CLASS_COLOURS]
    )
    by_name = {s.name: s for s in scenarios}
    shown["scenario"] = [scenario_label(by_name[s], lang) for s in shown["scenario"]]
    shown = shown.drop(columns=["season", "slot"])
    for col in ("mean_shade_share", "share_strong_heat_stress", "share_strong_cold_stress"):
        if col in shown:
            shown[col] = 100 * shown[col]
    shown["people_flow"] = [w["yes"] if v == "yes" else w["no_data"] for v in shown["people_flow"]]
    day = w.get(f"day_{settings.day_type}", settings.day_type)
    allocation = w.get(f"alloc_{settings.allocation}", settings.allocation)
    parts = [
        f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'>"
        f"<title>{w['title']}</title>"
        # the viewer ships Noto Sans JP beside the report's folder; absent, the system fonts serve
        "<link rel='stylesheet' href='../viewer/fonts/noto-sans-jp.css'>"
        f"<style>{CSS}</style></head><body>",
        "<section class='page'>",
        f"<h1>{w['title']}</h1>",
        f"<p class='note'>{w['subtitle'].format(n=n_segments, day=day, allocation=allocation)}</p>",
        effects_link(effects_report, lang),
        act_first_section(priority, scenarios, lang),
        "</section>",
        method_section(
            settings,
            lang=lang,
            thermal=thermal,
            weights=weights or dict(settings.weights),
            weather_by_season=weather_by_season,
            coverage=coverage,
            sources=sources,
        ),
        f"<section class='page'><h2 id='scenarios'>{w['scenarios']}</h2>",
        html_table(shown, lang, 1),
        f"<p class='note'>{w['access_note']}</p>",
        f"<h3>{w['score_by']}</h3>",
        score_bars(table, scenarios, lang),
        f"<h3>{w['class_shares']}</h3>",
        class_share_bars(table, scenarios, lang),
        "</section>",
        _map_grid(maps, scenarios, w["score_maps"], lang),
        _map_grid(class_maps, scenarios, w["class_maps"], lang),
        _map_grid(utci_maps or {}, scenarios, w["utci_maps"], lang),
        _views_3d(views_3d or {}, w),
    ]
    if district_summary is not None and len(district_summary):
        parts.append(district_section(district_summary, scenarios, lang))
    if coolwalk is not None and len(coolwalk):
        cool = coolwalk[["district", "scenario", "coolwalkability_shade", "coolwalkability_thermal"]].copy()
        cool["scenario"] = [scenario_label(by_name[s], lang) if s in by_name else s for s in cool["scenario"]]
        parts += [
            f"<section class='page'><h2>{w['coolwalk']}</h2>",
            f"<p class='note'>{w['coolwalk_note'].format(alpha=float(coolwalk['alpha'].iloc[0]))}</p>",
            html_table(cool, lang, 3),
            "</section>",
        ]
    pivot = mesh_summary.pivot(index="meshcode", columns="scenario", values="score").reset_index()
    pivot = pivot[["meshcode"] + [s.name for s in scenarios if s.name in pivot]]
    pivot["meshcode"] = pivot["meshcode"].astype(str)
    pivot = pivot.rename(columns={s.name: scenario_label(s, lang) for s in scenarios})
    parts += [f"<section class='page'><h2>{w['mesh']}</h2>", html_table(pivot, lang, 1), "</section>"]
    parts.append(tree_update_section(tree_update, sources, lang))
    parts.append("</body></html>")
    return "\n".join(parts)


# -- the tree update (植栽の更新) ----------------------------------------------------------
@dataclass(frozen=True)
class TreeUpdate:
    """What the ``trees`` stages found against the model's ``veg``: ``counts`` (status ->
    trees, :func:`pipeline.trees.changes.change_counts`), the change ``map`` (PNG or None),
    and ``tiles_with_lidar`` of the run's ``tiles`` (the LiDAR's coverage)."""

    counts: dict[str, int]
    map: str | None
    tiles_with_lidar: int
    tiles: int


def read_tree_update(
    counts_csv: str | Path, map_png: str | None, tiles_with_lidar: int, tiles: int
) -> TreeUpdate:
    """The :class:`TreeUpdate` of the ``trees_changes_table`` stage's ``changes_counts.csv``."""
    table = pd.read_csv(counts_csv)
    return TreeUpdate(
        dict(zip(table["status"], table["trees"].astype(int))), map_png, tiles_with_lidar, tiles
    )


TREE_WORDS = {
    "ja": {
        "title": "植栽の更新(LiDAR による 3D 都市モデルの樹木の更新)",
        "note": (
            "LiDAR 点群から個々の樹木を検出し、3D 都市モデルの既存の植栽(veg)と照合しました。"
            "2 m 以内の最も近い樹木どうしを 1 対 1 で対応付け、樹高差 2 m 以上を「樹高が変化」とします。"
            "検出した樹木は PLATEAU の植栽(trees/udx/veg/)として書き出しています。"
        ),
        "status": "状態",
        "trees": "本数",
        "source": "LiDAR 点群: {files}",
        "coverage": (
            "注意: LiDAR が覆うのは {covered} / {tiles} タイルです。LiDAR のないタイルの既存樹木は比較していません。"
            "一部だけ覆われたタイルでは、点群の外の既存樹木も「消失」に数えられます。「消失」は伐採のほか、"
            "検出できなかった樹木(高さ 2 m 未満、高い樹冠の下)でもあり得ます。「新規」には既存モデルに"
            "なかっただけの樹木も含まれます。"
        ),
        "map": "変化の地図(背景: 樹冠高 m)",
    },
    "en": {
        "title": "Tree update (the 3D city model's trees updated from LiDAR)",
        "note": (
            "Individual trees were found in the LiDAR point cloud and compared with the 3D city model's "
            "vegetation (veg): nearest trees within 2 m paired one to one; a height difference of 2 m or "
            "more is 'height changed'. The trees found are written as PLATEAU vegetation (trees/udx/veg/)."
        ),
        "status": "status",
        "trees": "trees",
        "source": "LiDAR point cloud: {files}",
        "coverage": (
            "Caveat: the LiDAR covers {covered} of {tiles} tiles. Existing trees of tiles without LiDAR are "
            "not compared; in tiles covered only partly, existing trees outside the points count as 'gone'. "
            "'Gone' may be felled, or a tree the detection cannot find (under 2 m, under a taller crown); "
            "'new' includes trees the existing model simply lacked."
        ),
        "map": "Map of the changes (under them: canopy height, m)",
    },
}


def tree_update_section(update: TreeUpdate | None, sources: ReportSources | None, lang: str) -> str:
    """The 植栽の更新 / tree update part: trees per status with a bilingual legend, the
    change map, the LiDAR files and dates, and the caveat on the LiDAR's coverage ("" without
    trees outputs)."""
    from pipeline.trees.changes import CHANGE_COLOURS, STATUS_WORDS

    if update is None:
        return ""
    w = TREE_WORDS[lang]
    other = "en" if lang == "ja" else "ja"
    rows = "".join(
        f"<tr><td class='text'><span class='swatch' style='background:{CHANGE_COLOURS[s]}'></span>"
        f"{STATUS_WORDS[s][lang]} / {STATUS_WORDS[s][other]}</td><td>{update.counts.get(s, 0):,}</td></tr>"
        for s in CHANGE_COLOURS
    )
    files = ", ".join(
        f"{html.escape(name)} ({day or WORDS[lang]['year_unknown']})"
        for name, day in (sources.lidar if sources else [])
    )
    figure = (
        f"<figure><img src='{_thumbnail_uri(update.map, 720)}' style='max-width:720px;width:100%'>"
        f"<figcaption>{w['map']}</figcaption></figure>"
        if update.map
        else ""
    )
    return (
        f"<section class='page'><h2 id='tree-update'>{w['title']}</h2><p class='note'>{w['note']}</p>"
        f"<table><thead><tr><th class='text'>{w['status']}</th><th>{w['trees']}</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>{figure}"
        f"<p class='note'>{w['source'].format(files=files or '-')}</p>"
        f"<p class='note'>{w['coverage'].format(covered=update.tiles_with_lidar, tiles=update.tiles)}</p></section>"
    )


def write_report(path: str | Path, run_sums: pd.DataFrame, scenarios: list, **kwargs) -> str:
    """Build the report (see :func:`build_report`) and write it atomically."""
    text = build_report(run_sums, scenarios, **kwargs)
    write_text_atomic(path, text)
    log.info("walkability report: wrote %s (%d kB)", path, len(text) // 1024)
    return str(path)
