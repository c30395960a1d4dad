"""The before/after report of a run on a baseline (施策の効果): ``OUT/effects/report.html``.

The walkability report (``walkability/report.html``) is written by the walkability summary,
before the effects stage has the before and after; rather than write into another stage's
output, the effects stage writes this page of its own, in the walkability report's language
(``stages.walkability.report_lang``, Japanese by default) and style
(:mod:`pipeline.walkability.report`), self-contained (no network; the map thumbnails are embedded).

Parts: the district table (person-hours in strong heat stress or worse before and after,
the CoolWalkability before and after), the segments that changed most, and the shadow
regulation (日影規制) of added buildings with what is simplified, and the before/after/change
maps (``effects/maps/*.png``, :mod:`pipeline.measures.maps`) as thumbnails linking to the
full-size PNGs. The page links back to the walkability report.
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from pipeline.walkability.report import CSS, LANGUAGES, html_table, scenario_label
from tiles.atomic import write_text_atomic

#: Rows of the table of the segments that changed most.
TOP_SEGMENTS = 15

WORDS = {
    "ja": {
        "title": "施策の効果(施策前後の比較)",
        "subtitle": "ベースライン {baseline} に対する施策実施後の変化。猛暑日は設計猛暑日(快晴)の設計ケースです。",
        "districts": "地区別の効果",
        "districts_note": (
            "強い暑熱ストレス以上(UTCI 32 °C 超)の人・時間 = 区間の滞在人口 × 32 °C 超の時間(街路長で按分)。"
            "CoolWalkability は日陰(温熱)を選んで歩ける度合い(0〜1、Wolf ほか 2024)。変化 = 施策後 − 施策前。"
        ),
        "segments": "変化の大きい街路区間",
        "segments_note": "平均 UTCI の変化(施策後 − 施策前)の大きい順、上位 {n} 件。",
        "regulation": "追加建物の日影規制(建築基準法第56条の2)",
        "regulation_note": (
            "冬至日 8〜16 時(真太陽時)の等時間日影線による簡易判定です(建築確認の計算ではありません)。"
            "測定線は施策ファイルの敷地(lot)の境界から、敷地の指定がなければ建物の外形から測ります。"
            "敷地が道路・水面・線路敷に接する側は、みなし境界線(建築基準法施行令第135条の12第3項第1号:"
            "幅 10 m 以下は中心線、10 m を超えるものは反対側の境界線から敷地側に 5 m の線)を用います。"
            "水面・線路敷は PLATEAU の土地利用(luse の水面・交通施設用地)、鉄道(tran:Railway)、水部(wtr)"
            "から取り、幅は敷地境界の中点から垂直に測ります。河川敷・公園は含めません。"
            "敷地の平均地盤面が日影の生ずる隣地の地盤面より 1 m 以上低いときは、(高低差 − 1 m) / 2 だけ"
            "高い位置にあるものとみなし(同項第2号)、測定面もその分上げます。地盤面は地形データの平均"
            "(建物外周、日影の生ずる敷地外の土地)で、測量値ではありません。"
            "複数区域にまたがる日影、屋上突出物は考慮していません。"
        ),
        "site": "敷地境界",
        "ground": "高低差 → 緩和",
        "site_footprint": "建物の外形(敷地の指定なし)",
        "site_lot": "敷地",
        "site_lot_deemed": "敷地({w}の側はみなし境界線)",
        "deemed_road": "幅員 {w} m の道路",
        "deemed_water": "幅 {w} m の水面",
        "deemed_railway": "幅 {w} m の線路敷",
        "deemed_join": "・",
        "rasters": "セル別の変化(平均 UTCI、日陰時間)は effects/rasters/ の COG にあります。",
        "maps": "施策前後の地図",
        "maps_note": (
            "施策の届いたタイルの範囲。緑: 施策(植栽した樹木の樹冠、日よけ・追加建物の外形、変更した街路)、"
            "黒線: 地区の境界、灰色: 建物。変化 = 施策後 − 施策前(青: 涼しく/日陰が増えた側)。"
            "地図をクリックすると原寸の PNG(effects/maps/)を開きます。"
        ),
        "utci_mean": "平均 UTCI (°C)",
        "shade_hours": "日陰時間 (h)",
        "before": "施策前",
        "after": "施策後",
        "change": "変化",
        "walkability_link": "歩きやすさレポート(walkability/report.html)に戻る",
        "none": "該当なし",
        "district": "地区",
        "scenario": "シナリオ",
        "segment": "区間",
        "name": "街路名",
        "ph_before": "暑熱ストレス人・時間 施策前",
        "ph_after": "暑熱ストレス人・時間 施策後",
        "ph_change": "暑熱ストレス人・時間 変化",
        "cw_before": "CoolWalkability 施策前",
        "cw_after": "CoolWalkability 施策後",
        "cw_change": "CoolWalkability 変化",
        "utci_before": "平均 UTCI 施策前 (°C)",
        "utci_after": "平均 UTCI 施策後 (°C)",
        "utci_change": "平均 UTCI 変化 (°C)",
        "hours_before": "32 °C 超の時間 施策前 (h)",
        "hours_after": "32 °C 超の時間 施策後 (h)",
        "shade_change": "日陰率の変化 (%)",
        "score_change": "スコアの変化",
        "building": "建物",
        "height": "高さ (m)",
        "result": "判定",
        "limits": "規制値",
        "near": "5〜10 m 最大日影時間 (h)",
        "far": "10 m 超 最大日影時間 (h)",
        "over": "規制超過の面積 (m²)",
    },
    "en": {
        "title": "Effects of the measures (before and after)",
        "subtitle": "Changes against the baseline {baseline}. The heat day is the design heat day (clear sky), a design case.",
        "districts": "Effects per district",
        "districts_note": (
            "Person-hours in strong heat stress or worse (UTCI above 32 °C) = people on the segment x "
            "hours above 32 °C (shared by street length). CoolWalkability: how far walkers can route "
            "through shade (thermal comfort), 0..1 (Wolf et al. 2024). Change = after - before."
        ),
        "segments": "Segments that changed most",
        "segments_note": "By the change of mean UTCI (after - before), the top {n}.",
        "regulation": "Shadow regulation (日影規制) of the added buildings (Building Standards Act art. 56-2)",
        "regulation_note": (
            "A screening with the equal-time shadow lines of the winter solstice, 8:00-16:00 true solar "
            "time, not a building-confirmation calculation. The measuring lines are drawn from the "
            "boundary of the building's lot in the measures file, else from its footprint. Where the lot "
            "faces a road, water or railway land, the deemed boundary (みなし境界線, Building Standards "
            "Order art. 135-12 para. 3 item 1) is used: the centreline of a strip up to 10 m wide, the line "
            "5 m from the far side of a wider one. Water and railway land come from PLATEAU land use (luse "
            "water and transport-facility classes), railways (tran:Railway) and water bodies (wtr); their "
            "width is measured square to the lot edge from its midpoint. River beds and parks are not "
            "counted. Where the site's average ground level lies 1 m or more below the ground of the land "
            "its shadow falls on, it is deemed higher by (difference - 1 m) / 2 (item 2) and the plane rises "
            "with it; the levels are means of the terrain data (along the outline, over the shaded land "
            "outside the site), not surveyed. Not applied: shadows reaching other zones, rooftop structures."
        ),
        "site": "site boundary",
        "ground": "level difference → rise",
        "site_footprint": "building footprint (no lot given)",
        "site_lot": "lot",
        "site_lot_deemed": "lot (deemed boundary along {w})",
        "deemed_road": "the {w} m road",
        "deemed_water": "the {w} m water",
        "deemed_railway": "the {w} m railway land",
        "deemed_join": ", ",
        "rasters": "Per-cell changes (mean UTCI, shade hours) are the COGs under effects/rasters/.",
        "maps": "Maps before and after",
        "maps_note": (
            "Over the tiles the measures reached. Green: the measures (crowns of the trees planted, outlines "
            "of canopies and buildings added, streets changed); black: district boundaries; grey: buildings. "
            "Change = after - before (blue: the cooler or shadier side). Click a map for the full-size PNG "
            "(effects/maps/)."
        ),
        "utci_mean": "mean UTCI (°C)",
        "shade_hours": "shade hours (h)",
        "before": "before",
        "after": "after",
        "change": "change",
        "walkability_link": "Back to the walkability report (walkability/report.html)",
        "none": "none",
        "district": "district",
        "scenario": "scenario",
        "segment": "segment",
        "name": "street",
        "ph_before": "heat-stress person-hours before",
        "ph_after": "heat-stress person-hours after",
        "ph_change": "heat-stress person-hours change",
        "cw_before": "CoolWalkability before",
        "cw_after": "CoolWalkability after",
        "cw_change": "CoolWalkability change",
        "utci_before": "mean UTCI before (°C)",
        "utci_after": "mean UTCI after (°C)",
        "utci_change": "mean UTCI change (°C)",
        "hours_before": "hours above 32 °C before (h)",
        "hours_after": "hours above 32 °C after (h)",
        "shade_change": "shade share change (%)",
        "score_change": "score change",
        "building": "building",
        "height": "height (m)",
        "result": "result",
        "limits": "limits",
        "near": "5-10 m max hours in shadow (h)",
        "far": "beyond 10 m max hours (h)",
        "over": "area over the limits (m²)",
    },
}


def _labels(names, by_name: dict, lang: str) -> list[str]:
    return [scenario_label(by_name[s], lang) if s in by_name else str(s) for s in names]


def district_part(districts: pd.DataFrame | None, scenarios: list, lang: str) -> str:
    """Per district and scenario: person-hours before/after/change and the CoolWalkability
    (thermal where computed, else shade) before/after/change."""
    w = WORDS[lang]
    head = f"<section class='page'><h2 id='districts'>{w['districts']}</h2><p class='note'>{w['districts_note']}</p>"
    if districts is None or not len(districts):
        return head + f"<p>{w['none']}</p></section>"
    by_name = {s.name: s for s in scenarios}
    order = {s.name: i for i, s in enumerate(scenarios)}
    table = districts.assign(_o=districts["scenario"].map(order)).sort_values(
        ["district", "_o"], kind="stable"
    )
    shown = pd.DataFrame(
        {
            w["district"]: table["district"].to_numpy(),
            w["scenario"]: _labels(table["scenario"], by_name, lang),
            w["ph_before"]: table["person_hours_before"].to_numpy(float),
            w["ph_after"]: table["person_hours_after"].to_numpy(float),
            w["ph_change"]: table["person_hours_change"].to_numpy(float),
        }
    )
    digits = {c: 0 for c in shown.columns}
    kind = next(
        (
            k
            for k in ("thermal", "shade")
            if f"coolwalkability_{k}_change" in table and table[f"coolwalkability_{k}_change"].notna().any()
        ),
        None,
    )
    if kind:
        for key, suffix in (("cw_before", "before"), ("cw_after", "after"), ("cw_change", "change")):
            column = w[key]
            shown[column] = table[f"coolwalkability_{kind}_{suffix}"].to_numpy(float)
            digits[column] = 3
    return head + html_table(shown, lang, digits) + "</section>"


def segments_part(segments: pd.DataFrame, scenarios: list, lang: str, top: int = TOP_SEGMENTS) -> str:
    """The ``top`` segment-scenario rows with the largest change of mean UTCI."""
    w = WORDS[lang]
    head = f"<section class='page'><h2 id='segments'>{w['segments']}</h2><p class='note'>{w['segments_note'].format(n=top)}</p>"
    if "utci_mean_c_change" not in segments:
        return head + f"<p>{w['none']}</p></section>"
    rows = segments[segments["utci_mean_c_change"].fillna(0) != 0]
    if not len(rows):
        return head + f"<p>{w['none']}</p></section>"
    rows = (
        rows.assign(_size=rows["utci_mean_c_change"].abs())
        .sort_values(["_size", "segment_id", "scenario"], ascending=[False, True, True], kind="stable")
        .head(top)
    )
    by_name = {s.name: s for s in scenarios}
    shown = pd.DataFrame(
        {
            w["segment"]: rows["segment_id"].astype(str).to_numpy(),
            w["scenario"]: _labels(rows["scenario"], by_name, lang),
            w["utci_before"]: rows["utci_mean_c_before"].to_numpy(float),
            w["utci_after"]: rows["utci_mean_c_after"].to_numpy(float),
            w["utci_change"]: rows["utci_mean_c_change"].to_numpy(float),
            w["hours_before"]: rows["hours_utci_above_32_before"].to_numpy(float),
            w["hours_after"]: rows["hours_utci_above_32_after"].to_numpy(float),
            w["shade_change"]: 100 * rows["shade_share_change"].to_numpy(float),
            w["score_change"]: rows["score_change"].to_numpy(float),
        }
    )
    if "name" in rows:
        shown.insert(1, w["name"], rows["name"].fillna("").astype(str).to_numpy())
    return head + html_table(shown, lang, 1, text_columns=[w["segment"]]) + "</section>"


def regulation_part(regulation: pd.DataFrame | None, lang: str) -> str:
    """The shadow regulation of the added buildings (:func:`pipeline.measures.shadow_regulation.to_frame`)."""
    if regulation is None or not len(regulation):
        return ""
    w = WORDS[lang]
    label = regulation["status_label"].astype(str).str.split(" / ", n=1)
    # the area over the limits is a verdict's: none for a building the law does not regulate
    judged = regulation["status"].isin(("pass", "fail")) if "status" in regulation else True
    over = regulation["near_area_over_m2"].fillna(0) + regulation["far_area_over_m2"].fillna(0)
    shown = pd.DataFrame(
        {
            w["building"]: regulation["building_id"].astype(str).to_numpy(),
            w["height"]: regulation["height_m"].to_numpy(float),
            w["result"]: [parts[0] if lang == "ja" else parts[-1] for parts in label],
            w["limits"]: regulation["regulation"].fillna("–").astype(str).to_numpy(),
            w["site"]: _site_words(regulation, w),
            w["near"]: regulation["near_max_h"].to_numpy(float),
            w["far"]: regulation["far_max_h"].to_numpy(float),
            w["over"]: over.where(judged).to_numpy(float),
            w["ground"]: _ground_words(regulation),
        }
    )
    return (
        f"<section class='page'><h2 id='shadow-regulation'>{w['regulation']}</h2>"
        f"<p class='note'>{w['regulation_note']}</p>"
        f"{html_table(shown, lang, {w['height']: 1, w['near']: 2, w['far']: 2, w['over']: 0})}</section>"
    )


def maps_part(maps: dict | None, scenarios: list, folder: Path, lang: str) -> str:
    """The before/after/change maps (:func:`pipeline.measures.maps.write_effect_maps`): per
    quantity a row per scenario of three thumbnails, each linking to its PNG. ``maps`` is
    ``{scenario: {quantity: {panel: path}}}``; ``folder`` the report's, for the links."""
    from pipeline.measures.maps import PANELS, QUANTITIES
    from pipeline.walkability.report import _thumbnail_uri

    if not maps:
        return ""
    w = WORDS[lang]
    by_name = {s.name: s for s in scenarios}
    parts = [f"<section class='page'><h2 id='maps'>{w['maps']}</h2><p class='note'>{w['maps_note']}</p>"]
    for quantity in QUANTITIES:
        rows = [s for s in scenarios if quantity in maps.get(s.name, {})]
        if not rows:
            continue
        figures = []
        for scenario in rows:
            label = html.escape(scenario_label(by_name[scenario.name], lang))
            for panel in PANELS:
                path = Path(maps[scenario.name][quantity][panel])
                href = html.escape(
                    path.relative_to(folder).as_posix() if path.is_relative_to(folder) else path.name
                )
                figures.append(
                    f"<figure><a href='{href}'><img alt='{html.escape(path.stem)}' "
                    f"src='{_thumbnail_uri(str(path))}'></a><figcaption>{label} {w[panel]}</figcaption></figure>"
                )
        parts.append(
            f"<h3>{w[quantity]}</h3><div class='maps' style='grid-template-columns:repeat(3,1fr)'>"
            f"{''.join(figures)}</div>"
        )
    return "".join(parts) + "</section>"


def _ground_words(regulation: pd.DataFrame) -> list[str]:
    """Each building's ground-level difference to its shaded neighbours and the deemed rise
    (高低差緩和), e.g. "3.0 m → +1.0 m"; "–" without terrain."""
    if "ground_difference_m" not in regulation:
        return ["–"] * len(regulation)
    words = []
    for difference, rise in zip(regulation["ground_difference_m"], regulation["ground_rise_m"].fillna(0.0)):
        if pd.isna(difference):
            words.append("–")
        else:
            words.append(f"{difference:.1f} m → " + (f"+{rise:.1f} m" if rise > 0 else "0"))
    return words


def _site_words(regulation: pd.DataFrame, w: dict) -> list[str]:
    """What each building's measuring lines were drawn from, in words."""
    kinds = (
        regulation["site_boundary"]
        if "site_boundary" in regulation
        else pd.Series("footprint", regulation.index)
    )

    def column(name: str) -> pd.Series:
        return (
            regulation[name].fillna("").astype(str) if name in regulation else pd.Series("", regulation.index)
        )

    words = []
    for kind, roads, land in zip(kinds, column("deemed_road_widths_m"), column("deemed_water_railway")):
        along = [w["deemed_road"].format(w=width) for width in roads.split(", ") if width]
        for item in (x for x in land.split(", ") if x):
            what, width = item.split(" ", 1)
            along.append(w[f"deemed_{what}"].format(w=width))
        words.append(w.get(f"site_{kind}", str(kind)).format(w=w["deemed_join"].join(along)))
    return words


def build_effects_report(
    segments: pd.DataFrame,
    scenarios: list,
    *,
    baseline: str,
    districts: pd.DataFrame | None = None,
    regulation: pd.DataFrame | None = None,
    maps: dict | None = None,
    folder: str | Path = ".",
    lang: str = "ja",
) -> str:
    """The before/after page as an HTML string in ``lang`` (``ja`` or ``en``).

    Parameters
    ----------
    segments : DataFrame
        ``effects/segments`` (:func:`pipeline.measures.effects.segment_effects`).
    scenarios : list of Scenario
        The run's scenarios, in their order.
    baseline : str
        The baseline folder, named in the subtitle.
    districts : DataFrame, optional
        ``effects/districts`` (person-hours and CoolWalkability before and after).
    regulation : DataFrame, optional
        ``effects/shadow_regulation`` of the added buildings.
    maps : dict, optional
        ``{scenario: {quantity: {panel: PNG}}}``, the before/after/change maps
        (:func:`pipeline.measures.maps.write_effect_maps`), shown as linked thumbnails.
    folder : path
        The report's folder (the maps are linked relative to it).
    """
    if lang not in LANGUAGES:
        raise ValueError(f"report language must be one of {LANGUAGES}, got {lang!r}")
    w = WORDS[lang]
    return "\n".join(
        [
            f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'><title>{w['title']}</title>"
            "<link rel='stylesheet' href='../viewer/fonts/noto-sans-jp.css'>"
            f"<style>{CSS}</style></head><body>",
            f"<h1>{w['title']}</h1>",
            f"<p class='note'>{w['subtitle'].format(baseline=html.escape(Path(baseline).name))}</p>",
            f"<p class='note'><a href='../walkability/report.html'>{w['walkability_link']}</a></p>",
            district_part(districts, scenarios, lang),
            maps_part(maps, scenarios, Path(folder), lang),
            segments_part(segments, scenarios, lang),
            regulation_part(regulation, lang),
            f"<p class='note'>{w['rasters']}</p>",
            "</body></html>",
        ]
    )


def write_effects_report(path: str | Path, segments: pd.DataFrame, scenarios: list, **kwargs) -> str:
    """Build the page (:func:`build_effects_report`) and write it atomically."""
    kwargs.setdefault("folder", Path(path).parent)
    write_text_atomic(path, build_effects_report(segments, scenarios, **kwargs))
    return str(path)
