"""The report's 植栽の更新 / tree update part, from the ``trees_changes_table`` stage's
outputs on a built case (one tree removed, one added, one 3 m taller, one unchanged)."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from pipeline.core.task import Record
from pipeline.stages.trees import TreeChangesOutputs, changes_table_task
from pipeline.stages.walkability import _tree_update
from pipeline.trees.changes import detect_changes
from pipeline.walkability.report import ReportSources, tree_update_section

CRS = "EPSG:6677"


@pytest.fixture(scope="module")
def table_record(tmp_path_factory):
    folder = tmp_path_factory.mktemp("trees")
    x0, y0 = -12000.0, -20000.0
    existing = pd.DataFrame(
        {"tree_id": ["a", "b", "c"], "x": [x0, x0 + 20, x0 + 40], "y": [y0] * 3, "height_m": [8.0, 8.0, 8.0]}
    )
    detected = pd.DataFrame(
        {
            "tree_id": ["A", "B", "D"],
            "x": [x0 + 0.5, x0 + 20.3, x0 + 60],
            "y": [y0] * 3,
            "height_m": [8.4, 11.0, 6.0],  # a unchanged, b 3 m taller, c gone, D new
            "crown_diameter_m": [4.0, 5.0, 3.0],
        }
    )
    part = folder / "part.parquet"
    detect_changes(existing, detected, CRS).to_parquet(part, index=False)
    parts = [
        Record(outputs=TreeChangesOutputs(changes=str(part)), stage="trees_changes", tile=t, key=f"c-{t}")
        for t in ("53396489",)
    ]
    result = changes_table_task(str(folder / "out"), [str(part)], trees_changes=parts)
    return Record(
        outputs=result.outputs, stage="trees_changes_table", tile="all", key="t", details=result.details
    )


def test_the_section_lists_each_status_the_map_the_lidar_and_the_coverage(table_record):
    update = _tree_update([table_record], tiles=4)
    assert update.counts == {"matched": 1, "height_changed": 1, "new": 1, "gone": 1}
    assert (update.tiles_with_lidar, update.tiles) == (1, 4)
    sources = ReportSources(lidar=[("omiya_sample.laz", "2026-04-01")])
    ja = tree_update_section(update, sources, "ja")
    assert re.search(r"<h2[^>]*>植栽の更新", ja)
    for label in ("一致 / matched", "樹高が変化 / height changed", "新規 / new", "消失 / gone"):
        assert re.search(rf"{label}</td><td>1</td>", ja), label
    assert "data:image/png;base64," in ja  # the change map, embedded
    assert "omiya_sample.laz (2026-04-01)" in ja and "1 / 4 タイル" in ja
    en = tree_update_section(update, sources, "en")
    assert "Tree update" in en and "covers 1 of 4 tiles" in en and "matched / 一致" in en


def test_no_trees_outputs_no_section():
    assert _tree_update([], tiles=4) is None
    assert tree_update_section(None, ReportSources(), "ja") == ""
