"""``machi info`` on PLATEAU themes: attributes of every urf type, code-list notes, and one
line for a file with an undeclared prefix, read or rejected (never both)."""
from __future__ import annotations

import shutil

from pipeline.info import citygml_info


def test_kawasaki_use_districts_list_all_their_urf_attributes(plateau_dir):
    info = citygml_info(plateau_dir / "kawasaki")
    assert info.counts["urf:UseDistrict"] == 4 and info.rejected == [] and info.problems == []
    assert sorted(info.attributes["urf:UseDistrict"] - {"attributes_json"}) == [
        "area_classification_type", "area_classification_type_label", "building_coverage_rate", "city",
        "city_label", "creation_date", "custodian", "floor_area_rate", "function", "function_label",
        "notification_number", "prefecture", "prefecture_label", "valid_from", "valid_from_type",
        "valid_from_type_label"]
    assert "i-UR namespaces: urf 2.0" in info.format()


def test_a_rejected_file_counts_no_feature_and_says_so_in_one_line(plateau_dir, tmp_path):
    text = (plateau_dir / "kawasaki/udx/urf/533915_urf_6668_yoto_op.gml").read_text(encoding="utf-8")
    # the last district uses a prefix the file never declares (and that is no i-UR prefix):
    # three districts are read before the parser meets it
    head, _, last = text.rpartition("<urf:UseDistrict ")
    text = head + "<urx:UseDistrict " + last.replace("</urf:UseDistrict>", "</urx:UseDistrict>")
    path = tmp_path / "533915_urf_6668_yoto_op.gml"
    path.write_text(text, encoding="utf-8")
    info = citygml_info(path)
    assert info.counts == {} and len(info.rejected) == 1
    assert info.rejected[0].startswith(f"{path}:94: namespace prefix urx (on UseDistrict) is not declared; "
                                       "file rejected")
    report = info.format()
    assert "rejected files (1), none of their features counted:" in report and "urf:UseDistrict" not in report


def test_a_single_file_reports_shipped_labels_as_notes(plateau_dir, tmp_path):
    shutil.copy(plateau_dir / "numazu/udx/luse/523836_luse_6668_op.gml", tmp_path)
    info = citygml_info(tmp_path / "523836_luse_6668_op.gml")
    assert info.counts["luse:LandUse"] == 225
    assert [n.split(": ", 1)[1] for n in info.notes] == [
        "code list Common_landUseType.xml is not in the dataset: labels of class from the list shipped "
        "with Machi (i-UR 3.1 (PLATEAU 2023-2024 editions))"]
    assert len(info.problems) == 1 and "Common_localPublicAuthorities.xml" in info.problems[0]
