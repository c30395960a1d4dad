"""``machi info`` on PLATEAU themes: attributes of every urf type, code-list notes, a file
with an undeclared prefix counted with its elements reported, and a rejected file in one
line (counted whole or not at all)."""

from __future__ import annotations

import re
import shutil

from click.testing import CliRunner

from pipeline.commands.cli import main
from pipeline.commands.info import citygml_info


def test_kawasaki_use_districts_list_all_their_urf_attributes(plateau_dir):
    info = citygml_info(plateau_dir / "kawasaki")
    assert info.counts["urf:UseDistrict"] == 4 and info.rejected == [] and info.problems == []
    assert sorted(info.attributes["urf:UseDistrict"] - {"attributes_json"}) == [
        "area_classification_type",
        "area_classification_type_label",
        "building_coverage_rate",
        "city",
        "city_label",
        "creation_date",
        "custodian",
        "floor_area_rate",
        "function",
        "function_label",
        "notification_number",
        "prefecture",
        "prefecture_label",
        "valid_from",
        "valid_from_type",
        "valid_from_type_label",
    ]
    assert "i-UR namespaces: urf 2.0" in info.format()


def _yoto_with_a_last_district_in(prefix: str, plateau_dir, tmp_path):
    text = (plateau_dir / "kawasaki/udx/urf/533915_urf_6668_yoto_op.gml").read_text(encoding="utf-8")
    head, _, last = text.rpartition("<urf:UseDistrict ")
    text = head + f"<{prefix}:UseDistrict " + last.replace("</urf:UseDistrict>", f"</{prefix}:UseDistrict>")
    path = tmp_path / "533915_urf_6668_yoto_op.gml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_feature_in_an_undeclared_prefix_is_reported_and_the_others_counted(plateau_dir, tmp_path):
    # the last of the four districts uses a prefix the file never declares (and no i-UR one)
    path = _yoto_with_a_last_district_in("urx", plateau_dir, tmp_path)
    info = citygml_info(path)
    assert info.counts == {"urf:UseDistrict": 3} and info.rejected == []
    undeclared, codes = info.problems  # the second: the copy left its dataset's code lists behind
    assert undeclared == (
        f"{path}:94: element urx:UseDistrict uses namespace prefix urx, which the file "
        "does not declare: skipped with its content (1 element(s), the first here)"
    )
    assert "Common_localPublicAuthorities.xml" in codes


def test_machi_info_counts_the_buildings_of_a_file_with_an_undeclared_energy_prefix(plateau_dir, tmp_path):
    """The acceptance case of the issue: libplateau's 53392642_bldg_6697_op2.gml uses
    energy:isHeated without xmlns:energy; here every building of a real PLATEAU file does."""
    text = (plateau_dir / "yokosuka/udx/bldg/52397519_bldg_6697_op.gml").read_text(encoding="utf-8-sig")
    path = tmp_path / "52397519_bldg_6697_op.gml"
    path.write_text(
        text.replace("</bldg:Building>", "<energy:isHeated>true</energy:isHeated></bldg:Building>"),
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["info", str(path)])
    assert result.exit_code == 0, result.output
    assert re.search(r"^  bldg:Building +13 ", result.output, re.M)
    assert (
        f"{path}:469: element energy:isHeated uses namespace prefix energy, which the file does "
        "not declare: skipped with its content (13 element(s), the first here)"
    ) in result.output
    assert "rejected files" not in result.output


def test_a_rejected_file_counts_no_feature_and_says_so_in_one_line(plateau_dir, tmp_path):
    text = (plateau_dir / "kawasaki/udx/urf/533915_urf_6668_yoto_op.gml").read_text(encoding="utf-8")
    # the last district's member is never closed: three districts are read before the parser stops
    text = text.replace("\t</core:cityObjectMember>\n</core:CityModel>", "</core:CityModel>")
    path = tmp_path / "533915_urf_6668_yoto_op.gml"
    path.write_text(text, encoding="utf-8")
    info = citygml_info(path)
    assert info.counts == {} and len(info.rejected) == 1
    line = text.rstrip("\n").count("\n") + 1  # the root's end tag, on the last line
    assert info.rejected[0].startswith(
        f"{path}:{line}: malformed XML: Opening and ending tag mismatch: cityObjectMember"
    )
    report = info.format()
    assert "rejected files (1), none of their features counted:" in report and "urf:UseDistrict" not in report


def test_a_single_file_reports_shipped_labels_as_notes(plateau_dir, tmp_path):
    shutil.copy(plateau_dir / "numazu/udx/luse/523836_luse_6668_op.gml", tmp_path)
    info = citygml_info(tmp_path / "523836_luse_6668_op.gml")
    assert info.counts["luse:LandUse"] == 225
    assert [n.split(": ", 1)[1] for n in info.notes] == [
        "code list Common_landUseType.xml is not in the dataset: labels of class from the list shipped "
        "with Machi (i-UR 3.1 (PLATEAU 2023-2024 editions))"
    ]
    assert len(info.problems) == 1 and "Common_localPublicAuthorities.xml" in info.problems[0]
