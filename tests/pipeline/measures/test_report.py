"""The before/after page (施策の効果) of a run on a baseline, on built tables."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from pipeline.geo.scenarios import Scenario, Season, TimeSlot
from pipeline.measures.report import build_effects_report, write_effects_report

HEAT = Scenario(Season("heat_day", 8, 1), TimeSlot("midday", "11:00", "14:00"))
WINTER = Scenario(Season("winter_solstice", 12, 21), TimeSlot("midday", "11:00", "14:00"))


def segments() -> pd.DataFrame:
    rows = []
    for i, change in enumerate([-2.5, -0.4, 0.0, -1.1]):
        rows.append(
            {
                "segment_id": f"53396489:{i}",
                "scenario": HEAT.name,
                "utci_mean_c_before": 41.0,
                "utci_mean_c_after": 41.0 + change,
                "utci_mean_c_change": change,
                "hours_utci_above_32_before": 3.0,
                "hours_utci_above_32_after": 3.0,
                "shade_share_change": 0.3 if change else 0.0,
                "score_change": 1.0,
            }
        )
    return pd.DataFrame(rows)


def districts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "district": ["大宮駅東口", "大宮駅東口"],
            "scenario": [WINTER.name, HEAT.name],
            "person_hours_before": [0.0, 27064.0],
            "person_hours_after": [0.0, 25234.0],
            "person_hours_change": [0.0, -1830.0],
            "coolwalkability_thermal_before": [0.9, 0.249],
            "coolwalkability_thermal_after": [0.9, 0.256],
            "coolwalkability_thermal_change": [0.0, 0.007],
        }
    )


def regulation() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "building_id": ["tower", "low"],
            "status": ["fail", "not_subject"],
            "status_label": ["不適合 / over the limits", "対象外 (規模) / not a regulated building"],
            "height_m": [30.0, 10.0],
            "regulation": ["(一) 4時間-2.5時間／4m", "(一) 4時間-2.5時間／4m"],
            "near_max_h": [6.2, 5.0],
            "far_max_h": [4.0, 3.0],
            "near_area_over_m2": [120.0, 10.0],
            "far_area_over_m2": [300.0, 20.0],
        }
    )


def cells(page: str) -> list[str]:
    return [re.sub("<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", page)]


def test_the_page_is_japanese_with_the_district_table_top_segments_and_regulation(tmp_path):
    path = write_effects_report(
        tmp_path / "report.html",
        segments(),
        [HEAT, WINTER],
        baseline="/runs/sample",
        districts=districts(),
        regulation=regulation(),
    )
    page = open(path, encoding="utf-8").read()
    assert "<html lang='ja'>" in page and "施策の効果" in page and "設計猛暑日" in page
    assert "sample" in page and "/runs" not in page  # the baseline named by its folder
    got = cells(page)
    # districts in scenario order: the heat day before the winter solstice
    heat = got.index("猛暑日 昼 (11:00-14:00)")
    assert got.index("冬至 昼 (11:00-14:00)") > heat
    assert got[heat + 1 : heat + 7] == ["27,064", "25,234", "-1,830", "0.249", "0.256", "0.007"]
    # the segments by the size of their UTCI change; the unchanged one left out
    ids = [c for c in got if c.startswith("53396489:")]
    assert ids == ["53396489:0", "53396489:3", "53396489:1"]
    # the shadow regulation: the verdict in Japanese, the simplifications stated
    assert "不適合" in got and "対象外 (規模)" in got and "over the limits" not in got
    assert "420" in got and "みなし境界線" in page
    low = got.index("low")
    assert got[low + 7] == "–"  # no area over the limits for a building the law does not regulate
    assert got[low + 4] == "建物の外形(敷地の指定なし)"  # a table without site boundaries: footprints


def test_the_site_boundary_is_named_with_the_deemed_roads():
    table = regulation().assign(site_boundary=["lot_deemed", "lot"], deemed_road_widths_m=["12", ""])
    got = cells(build_effects_report(segments(), [HEAT], baseline="b", regulation=table))
    assert "敷地(幅員 12 m の道路の側はみなし境界線)" in got and "敷地" in got
    english = cells(build_effects_report(segments(), [HEAT], baseline="b", regulation=table, lang="en"))
    assert "lot (deemed boundary along the 12 m road)" in english


def test_english_on_request_and_parts_without_data():
    page = build_effects_report(segments().iloc[2:3], [HEAT], baseline="b", lang="en")
    assert "<html lang='en'>" in page and "Effects per district" in page and page.count("<p>none</p>") == 2
    assert "日影規制" not in page  # no added building: no regulation part
    with pytest.raises(ValueError, match="report language"):
        build_effects_report(segments(), [HEAT], baseline="b", lang="fr")


def test_the_maps_are_linked_thumbnails_with_japanese_captions_and_the_page_links_back(tmp_path):
    from PIL import Image

    maps = {}
    for quantity in ("utci_mean", "shade_hours"):
        for panel in ("before", "after", "change"):
            path = tmp_path / "maps" / f"{quantity}_{panel}_{HEAT.name}.png"
            path.parent.mkdir(exist_ok=True)
            Image.new("RGB", (60, 40), "white").save(path)
            maps.setdefault(HEAT.name, {}).setdefault(quantity, {})[panel] = str(path)
    path = write_effects_report(tmp_path / "report.html", segments(), [HEAT, WINTER], baseline="b", maps=maps)
    page = open(path, encoding="utf-8").read()
    assert "施策前後の地図" in page and "平均 UTCI (°C)" in page and "日陰時間 (h)" in page
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", page)
    assert captions[:3] == [f"猛暑日 昼 (11:00-14:00) {w}" for w in ("施策前", "施策後", "変化")]
    assert len(captions) == 6  # the winter solstice has no maps: no figures
    links = re.findall(r"<a href='(maps/[^']+)'><img", page)
    assert links[2] == "maps/utci_mean_change_heat_day_midday.png" and len(links) == 6
    assert "data:image/png;base64," in page  # embedded thumbnails: the page stands alone
    assert "<a href='../walkability/report.html'>" in page
    assert "施策前後の地図" not in build_effects_report(segments(), [HEAT], baseline="b")


def test_the_walkability_report_links_to_the_effects_only_when_given():
    from pipeline.walkability.report import effects_link

    assert effects_link("../effects/report.html", "ja") == (
        "<p class='note' id='effects'>施策の効果(施策前後の比較・地図): "
        "<a href='../effects/report.html'>../effects/report.html</a></p>"
    )
    assert effects_link(None, "en") == ""


def test_the_maps_are_drawn_at_midday_of_every_season():
    from pipeline.stages.effects import map_scenarios

    morning = Scenario(Season("heat_day", 8, 1), TimeSlot("morning", "08:00", "11:00"))
    assert map_scenarios([morning, HEAT, WINTER]) == [HEAT, WINTER]
    assert map_scenarios([morning]) == [morning]  # no midday slot: the first slot
    assert map_scenarios([]) == []


def test_the_site_boundary_is_named_with_the_deemed_water_and_railway():
    table = regulation().assign(
        site_boundary=["lot_deemed", "lot"],
        deemed_road_widths_m=["6", ""],
        deemed_water_railway=["water 20", ""],
    )
    got = cells(build_effects_report(segments(), [HEAT], baseline="b", regulation=table))
    assert "敷地(幅員 6 m の道路・幅 20 m の水面の側はみなし境界線)" in got
    english = cells(build_effects_report(segments(), [HEAT], baseline="b", regulation=table, lang="en"))
    assert "lot (deemed boundary along the 6 m road, the 20 m water)" in english


def test_the_ground_level_difference_and_the_relief_are_shown():
    table = regulation().assign(ground_difference_m=[3.0, float("nan")], ground_rise_m=[1.0, 0.0])
    got = cells(build_effects_report(segments(), [HEAT], baseline="b", regulation=table))
    page = build_effects_report(segments(), [HEAT], baseline="b", regulation=table)
    assert "3.0 m → +1.0 m" in got and "高低差 → 緩和" in page and "(高低差 − 1 m) / 2" in page
    level = regulation().assign(ground_difference_m=[0.4, 0.4], ground_rise_m=[0.0, 0.0])
    assert "0.4 m → 0" in cells(build_effects_report(segments(), [HEAT], baseline="b", regulation=level))
