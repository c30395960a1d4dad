"""Every PLATEAU theme read in full: urf planning decisions, luse land use, flood/tsunami/
storm-surge/inland-flood risk on water bodies, sediment-disaster areas; code lists from the
dataset, from the shipped Common_* lists, or kept as codes and reported once per list."""

from __future__ import annotations

import shutil
from pathlib import Path

from citygml import FileReader, open_dataset
from citygml.attributes import flatten_attributes
from citygml.codelists import CodeListResolver, shipped_codelists
from citygml.source import Dataset

KAWASAKI = {
    "prefecture": "14",
    "prefecture_label": "神奈川県",
    "city": "14130",
    "city_label": "神奈川県川崎市",
    "creation_date": "2023-03-22",
    "custodian": "川崎市",
}
SENDAI = {
    "prefecture": "04",
    "prefecture_label": "宮城県",
    "city": "04100",
    "city_label": "宮城県仙台市",
    "creation_date": "2023-03-22",
}
DECIDED = {"valid_from_type": "3", "valid_from_type_label": "変更"}

#: One feature of every file of kawasaki, sendai and numazu: its exact flattened attributes.
FEATURES = [
    (
        "kawasaki/udx/urf/533915_urf_6668_kodo_op.gml",
        "urf_f52b732e-1ccc-4004-8867-3e06bb6c73da",
        "urf:HeightControlDistrict",
        {
            **KAWASAKI,
            **DECIDED,
            "function": "18",
            "function_label": "高度地区",
            "valid_from": "2009-11-11",
            "notification_number": "川崎市告示第590号",
        },
    ),
    (
        "kawasaki/udx/urf/533915_urf_6668_kuiki_op.gml",
        "urf_75c27e6e-9536-4e1b-bf97-b6e14fc1456f",
        "urf:AreaClassification",
        {
            **KAWASAKI,
            **DECIDED,
            "custodian": "神奈川県",
            "function": "22",
            "function_label": "市街化区域",
            "valid_from": "2009-09-18",
            "notification_number": "神奈川県告示第436号",
        },
    ),
    (
        "kawasaki/udx/urf/533915_urf_6668_rinko_op.gml",
        "urf_e1de5272-f060-4ebb-a0dc-237185ca5d22",
        "urf:PortZone",
        {
            **KAWASAKI,
            **DECIDED,
            "name": "川崎港臨港地区",
            "function": "30",
            "function_label": "臨港地区",
            "valid_from": "2009-09-18",
            "notification_number": "川崎市告示第492号",
        },
    ),
    # the use district of the issue: urf:function 11 -> 準工業地域, with its two rates
    (
        "kawasaki/udx/urf/533915_urf_6668_yoto_op.gml",
        "urf_68f7d98f-f800-4c92-bcf1-9ae8a7fa9b85",
        "urf:UseDistrict",
        {
            **KAWASAKI,
            **DECIDED,
            "function": "11",
            "function_label": "準工業地域",
            "valid_from": "2009-11-11",
            "notification_number": "川崎市告示第589号",
            "area_classification_type": "22",
            "area_classification_type_label": "市街化区域",
            "floor_area_rate": 2.0,
            "building_coverage_rate": 0.6,
        },
    ),
    (
        "kawasaki/udx/urf/533916_urf_6668_boka_op.gml",
        "urf_82868225-324f-45e9-afaf-84787d0ea13b",
        "urf:FirePreventionDistrict",
        {
            **KAWASAKI,
            **DECIDED,
            "creation_date": "2022-03-22",
            "function": "25",
            "function_label": "準防火地域",
            "valid_from": "2009-09-18",
            "notification_number": "川崎市告示第489号",
        },
    ),
    (
        "kawasaki/udx/urf/533923_urf_6668_seisan_op.gml",
        "urf_d377d5c9-4349-4de9-a630-8dc514fca535",
        "urf:ProductiveGreenZone",
        {
            **KAWASAKI,
            **DECIDED,
            "name": "不明",
            "function": "38",
            "function_label": "生産緑地地区",
            "valid_from": "2010-12-21",
            "notification_number": "川崎市告示第665号",
            "nominal_area": 2440.0,
            "nominal_area_uom": "ha",
        },
    ),
    (
        "kawasaki/udx/urf/533923_urf_6668_tokuryoku_op.gml",
        "urf_77f4f76c-159c-4220-bf95-43f39eab4af2",
        "urf:SpecialGreenSpaceConservationDistrict",
        {
            **KAWASAKI,
            **DECIDED,
            "creation_date": "2022-03-22",
            "name": "岡上梨子ノ木特別緑地保全地区",
            "function": "35",
            "function_label": "特別緑地保存地区",
            "valid_from": "2022-04-07",
            "notification_number": "川崎市告示第228号",
            "nominal_area": 3.8,
            "nominal_area_uom": "ha",
            "location": "麻生区岡上地内",
        },
    ),
    (
        "kawasaki/udx/urf/533925_urf_6668_chusha_op.gml",
        "urf_26f9498f-37cc-493c-b94c-a8dfaebaead1",
        "urf:ParkingPlaceDevelopmentZone",
        {
            **KAWASAKI,
            "name": "中央駐車場整備地区",
            "function": "29",
            "function_label": "駐車場整備地区",
            "valid_from": "1969-03-13",
            "valid_from_type": "1",
            "valid_from_type_label": "決定",
            "custodian": "建設省",
            "notification_number": "建設省告示第2536号",
        },
    ),
    (
        "kawasaki/udx/urf/533925_urf_6668_tokuyoto_op.gml",
        "urf_8b53bc75-62ba-41e4-b149-5d41b74172a2",
        "urf:SpecialUseDistrict",
        {
            **KAWASAKI,
            **DECIDED,
            "name": "市ノ坪特別工業地区",
            "function": "14",
            "function_label": "特別用途地区",
            "usage": "1",
            "usage_label": "特別工業地区",
            "valid_from": "2005-10-07",
            "notification_number": "川崎市告示第435号",
            "location": "中原区市ノ坪、中丸子、下沼部、上丸子、上丸子山王町２丁目、"
            "新丸子東２丁目及び新丸子東３丁目地内",
        },
    ),
    (
        "sendai/udx/urf/574026_urf_6668_huchi_op.gml",
        "urf_6c50510a-00fb-4683-b40d-812ef258a141",
        "urf:ScenicDistrict",
        {**SENDAI, "name": "八木山風致地区", "function": "28", "function_label": "風致地区"},
    ),
    (
        "sendai/udx/urf/574027_urf_6668_kodoriyou_op.gml",
        "urf_edcda923-1182-4e58-a8e9-3e791ff15278",
        "urf:HighLevelUseDistrict",
        {
            **SENDAI,
            **DECIDED,
            "name": "河原町一丁目西地区",
            "function": "19",
            "function_label": "高度利用地区",
            "valid_from": "2013-03-08",
            "custodian": "仙台市",
            "notification_number": "仙台市告示第107号",
            "maximum_floor_area_rate": 4.0,
            "minimum_floor_area_rate": 2.0,
            "maximum_building_coverage_rate": 0.5,
            "minimum_building_area": 200.0,
            "minimum_building_area_uom": "m2",
        },
    ),
    (
        "sendai/udx/urf/574036_urf_6668_keikan_op.gml",
        "urf_cbfc98d8-04d0-4601-93c0-63809a50daa8",
        "urf:LandscapeZone",
        {
            **SENDAI,
            **DECIDED,
            "name": "定禅寺通",
            "function": "27",
            "function_label": "景観地区",
            "valid_from": "2011-12-16",
            "custodian": "仙台市",
            "notification_number": "仙台市告示第382号",
            "building_design_restriction": "制限あり",
        },
    ),
    (
        "sendai/udx/urf/574036_urf_6668_tosisai_op.gml",
        "urf_ac645479-546f-4b17-8868-a7e714af17aa",
        "urf:SpecialUrbanRenaissanceDistrict",
        {
            **SENDAI,
            **DECIDED,
            "name": "一番町三丁目南地区",
            "function": "21",
            "function_label": "都市再生特別地区",
            "valid_from": "2020-09-16",
            "custodian": "仙台市",
            "notification_number": "市告示第434号",
            "use_to_be_induced": "-",
            "maximum_floor_area_rate": 10.5,
            "minimum_floor_area_rate": 6.0,
            "maximum_building_coverage_rate": 0.7,
            "minimum_building_area": 1000.0,
            "minimum_building_area_uom": "m2",
            # xs:double in the schema, free text in the data: kept as the text
            "maximum_building_height": "高層部100ｍ、低層部30ｍ",
            "setback_size": "2ｍ、3ｍ、5.5ｍ",
        },
    ),
    (
        "numazu/udx/luse/523836_luse_6668_op.gml",
        "luse_8f2f2ae9-135c-4123-9400-a01e23e99571",
        "luse:LandUse",
        {
            "class": "215",
            "class_label": "道路用地（道路、駅前広場）",
            "land_use_detail_prefecture": "22",
            "land_use_detail_prefecture_label": "静岡県",
            "land_use_detail_city": "22203",
            "land_use_detail_city_label": "静岡県沼津市",
            "land_use_detail_survey_year": 2015,
        },
    ),
]


def _read(path: Path, resolver: CodeListResolver | None = None) -> FileReader:
    dataset, only = Dataset.for_path(path)
    reader = FileReader(dataset.sources(only=only)[0], codelists=resolver or CodeListResolver())
    reader.objects = reader.read_all()  # type: ignore[attr-defined]
    return reader


def test_one_feature_of_every_kawasaki_sendai_numazu_file(plateau_dir):
    files = sorted(
        str(Path(s.dataset.display(s.member)).relative_to(plateau_dir))
        for city in ("kawasaki", "sendai", "numazu")
        for s in open_dataset(plateau_dir / city)
    )
    assert files == sorted(f for f, *_ in FEATURES)
    for file, gml_id, feature_type, expected in FEATURES:
        reader = _read(plateau_dir / file)
        obj = next(o for o in reader.objects if o.gml_id == gml_id)
        flat = flatten_attributes(obj.attributes)
        flat.pop("attributes_json")
        assert (obj.feature_type, flat) == (feature_type, expected), file
        assert reader.problems == [] and reader.notes == [], file


def test_every_urf_feature_keeps_its_geometry_and_every_kawasaki_use_district_its_rates(plateau_dir):
    objects = [
        o for city in ("kawasaki", "sendai") for s in open_dataset(plateau_dir / city) for o in FileReader(s)
    ]
    assert len(objects) == 57 and all(o.lods == [1] for o in objects)
    districts = [o.attributes for o in objects if o.feature_type == "urf:UseDistrict"]
    assert sorted(
        (d["function_label"], d["floorAreaRate"], d["buildingCoverageRate"]) for d in districts
    ) == [
        ("工業専用地域", 2.0, 0.4),
        ("工業専用地域", 2.0, 0.4),
        ("工業専用地域", 2.0, 0.6),
        ("準工業地域", 2.0, 0.6),
    ]


# -- code lists: the dataset's, the shipped ones, none ------------------------------
def test_the_dataset_list_wins_over_the_shipped_one(plateau_dir):
    shipped = shipped_codelists()["lists"]["Common_districtsAndZonesType"]
    assert shipped["35"] == "特別緑地保全地区"  # Kawasaki's own list spells it 保存
    reader = _read(plateau_dir / "kawasaki/udx/urf/533923_urf_6668_tokuryoku_op.gml")
    assert {o.attributes["function_label"] for o in reader.objects} == {"特別緑地保存地区"}


def test_a_file_out_of_its_download_gets_labels_from_the_shipped_lists(plateau_dir, tmp_path):
    single = tmp_path / "533915_urf_6668_yoto_op.gml"
    shutil.copy(plateau_dir / "kawasaki/udx/urf/533915_urf_6668_yoto_op.gml", single)
    reader = _read(single)
    district = next(o for o in reader.objects if o.attributes["function"] == "11").attributes
    assert district["function_label"] == "準工業地域"
    assert district["validFromType_label"] == "変更"
    assert district["areaClassificationType_label"] == "市街化区域"
    assert "prefecture_label" not in district and district["prefecture"] == "14"
    version = shipped_codelists()["version"]
    assert [p.message for p in reader.problems] == [
        "code list Common_localPublicAuthorities.xml (../../codelists/Common_localPublicAuthorities.xml) "
        "is neither in the dataset nor shipped with Machi: 8 value(s) of city, prefecture kept as codes"
    ]
    assert [p.message for p in reader.notes] == [
        "code list Common_areaClassificationType.xml is not in the dataset: labels of "
        f"areaClassificationType from the list shipped with Machi ({version})",
        f"code list Common_districtsAndZonesType.xml is not in the dataset: labels of function from "
        f"the list shipped with Machi ({version})",
        f"code list Common_validType.xml is not in the dataset: labels of validFromType from the list "
        f"shipped with Machi ({version})",
    ]


def test_without_any_list_codes_stay_codes_and_each_list_is_reported_once(plateau_dir, tmp_path):
    single = tmp_path / "533915_urf_6668_yoto_op.gml"
    shutil.copy(plateau_dir / "kawasaki/udx/urf/533915_urf_6668_yoto_op.gml", single)
    reader = _read(single, CodeListResolver(shipped=False))
    assert not any(k.endswith("_label") for o in reader.objects for k in o.attributes)
    assert [p.message for p in reader.problems] == [
        f"code list {name}.xml (../../codelists/{name}.xml) is neither in the dataset nor shipped "
        f"with Machi: {n} value(s) of {attrs} kept as codes"
        for name, n, attrs in [
            ("Common_areaClassificationType", 4, "areaClassificationType"),
            ("Common_districtsAndZonesType", 4, "function"),
            ("Common_localPublicAuthorities", 8, "city, prefecture"),
            ("Common_validType", 4, "validFromType"),
        ]
    ]
    assert all(p.source == str(single) for p in reader.problems)


def test_sendai_resolves_its_three_lists_and_numazu_its_land_use_classes(plateau_dir):
    sendai = [
        _read(plateau_dir / "sendai" / f)
        for f in ("udx/urf/574026_urf_6668_huchi_op.gml", "udx/urf/574036_urf_6668_tosisai_op.gml")
    ]
    assert all(r.problems == [] and r.notes == [] for r in sendai)
    numazu = _read(plateau_dir / "numazu/udx/luse/523836_luse_6668_op.gml")
    labels = {o.attributes["class"]: o.attributes["class_label"] for o in numazu.objects}
    assert len(numazu.objects) == 225 and sorted(labels) == [
        "202",
        "203",
        "204",
        "205",
        "214",
        "215",
        "217",
        "219",
    ]
    assert labels["203"] == "山林（樹林地）" and labels["219"] == "農林漁業施設用地"


# -- uro 3.x and ADE attributes on other themes -------------------------------------
HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<core:CityModel xmlns:core="http://www.opengis.net/citygml/2.0" '
    'xmlns:gml="http://www.opengis.net/gml" xmlns:wtr="http://www.opengis.net/citygml/waterbody/2.0" '
    "{namespaces}>\n"
)
RING = (
    "35.3309006 139.88195394 5.85 35.33081045 139.88195389 5.85 "
    "35.3308555 139.88200892 5.85 35.3309006 139.88195394 5.85"
)
SURFACE = (
    f"<gml:MultiSurface><gml:surfaceMember><gml:Polygon><gml:exterior><gml:LinearRing>"
    f"<gml:posList>{RING}</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon>"
    "</gml:surfaceMember></gml:MultiSurface>"
)
URO_31 = 'xmlns:uro="https://www.geospatial.jp/iur/uro/3.1"'


def water_body(gml_id: str, risk: str) -> str:
    """A wtr:WaterBody as PLATEAU 2024 writes it in fld/tnm/htd/ifld files (i-UR 3.1)."""
    return (
        f'<core:cityObjectMember><wtr:WaterBody gml:id="{gml_id}"><gml:name>浸水想定区域</gml:name>'
        f'<wtr:class codeSpace="../../codelists/WaterBody_class.xml">1140</wtr:class>'
        f"<wtr:lod1MultiSurface>{SURFACE}</wtr:lod1MultiSurface>"
        f"<uro:floodingRiskAttribute>{risk}</uro:floodingRiskAttribute>"
        "</wtr:WaterBody></core:cityObjectMember>\n"
    )


def write_theme(root: Path, theme: str, members: str, namespaces: str = URO_31) -> Path:
    (root / "codelists").mkdir(parents=True, exist_ok=True)
    for name, entries in {
        "WaterBody_class": {"1140": "flooded land（浸水域）"},
        "RiverFloodingRiskAttribute_rank": {"2": "0.5m以上3m未満"},
        "HighTideRiskAttribute_rank": {"1": "0.5m未満"},
        "SedimentDisasterProneArea_areaType": {"2": "土砂災害特別警戒区域（指定済）"},
    }.items():
        definitions = "".join(
            f'<gml:dictionaryEntry><gml:Definition gml:id="{name}{c}"><gml:description>{d}'
            f"</gml:description><gml:name>{c}</gml:name></gml:Definition></gml:dictionaryEntry>"
            for c, d in entries.items()
        )
        (root / "codelists" / f"{name}.xml").write_text(
            f'<gml:Dictionary xmlns:gml="http://www.opengis.net/gml" gml:id="{name}">'
            f"<gml:name>{name}</gml:name>{definitions}</gml:Dictionary>",
            encoding="utf-8",
        )
    path = root / "udx" / theme / f"533925_{theme}_6697_op.gml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER.format(namespaces=namespaces) + members + "</core:CityModel>\n", encoding="utf-8")
    return path


def test_flood_risk_on_water_bodies_flattens_like_buildings(tmp_path):
    river = (
        "<uro:RiverFloodingRiskAttribute>"
        '<uro:description codeSpace="../../codelists/RiverFloodingRiskAttribute_description.xml">1</uro:description>'
        '<uro:rank codeSpace="../../codelists/RiverFloodingRiskAttribute_rank.xml">2</uro:rank>'
        '<uro:depth uom="m">1.8</uro:depth><uro:duration uom="hour">12</uro:duration>'
        "</uro:RiverFloodingRiskAttribute>"
    )
    tide = (
        '<uro:HighTideRiskAttribute><uro:rank codeSpace="../../codelists/HighTideRiskAttribute_rank.xml">1'
        '</uro:rank><uro:depth uom="m">0.4</uro:depth></uro:HighTideRiskAttribute>'
    )
    path = write_theme(tmp_path / "city", "fld", water_body("fld_1", river) + water_body("htd_1", tide))
    reader = _read(path)
    river_flat, tide_flat = (flatten_attributes(o.attributes) for o in reader.objects)
    assert {k: v for k, v in river_flat.items() if k != "attributes_json"} == {
        "name": "浸水想定区域",
        "class": "1140",
        "class_label": "flooded land（浸水域）",
        "river_flooding_risk_1_description": "1",
        "river_flooding_risk_1_rank": "2",
        "river_flooding_risk_1_rank_label": "0.5m以上3m未満",
        "river_flooding_risk_1_depth": 1.8,
        "river_flooding_risk_1_depth_uom": "m",
        "river_flooding_risk_1_duration": 12.0,
        "river_flooding_risk_1_duration_uom": "hour",
        "flood_depth_max_m": 1.8,
    }
    assert tide_flat["high_tide_risk_1_rank_label"] == "0.5m未満" and tide_flat["flood_depth_max_m"] == 0.4
    # the description list is missing from the dataset and not a Common_* list: one report
    assert [p.message for p in reader.problems] == [
        "code list RiverFloodingRiskAttribute_description.xml (../../codelists/"
        "RiverFloodingRiskAttribute_description.xml) is neither in the dataset nor shipped with "
        "Machi: 1 value(s) of description kept as codes"
    ]


def test_sediment_disaster_area_reads_its_urf_attributes(tmp_path):
    area = (
        '<core:cityObjectMember><urf:SedimentDisasterProneArea gml:id="lsld_1">'
        '<urf:function codeSpace="../../codelists/Common_districtsAndZonesType.xml">0</urf:function>'
        '<urf:areaType codeSpace="../../codelists/SedimentDisasterProneArea_areaType.xml">2</urf:areaType>'
        "<urf:zoneNumber>Ⅱ-12</urf:zoneNumber><urf:lod1MultiSurface>"
        + SURFACE
        + "</urf:lod1MultiSurface></urf:SedimentDisasterProneArea></core:cityObjectMember>\n"
    )
    path = write_theme(tmp_path / "city", "lsld", area, 'xmlns:urf="https://www.geospatial.jp/iur/urf/3.1"')
    (obj,) = _read(path).objects
    assert obj.feature_type == "urf:SedimentDisasterProneArea" and obj.lods == [1]
    assert {k: obj.attributes[k] for k in ("areaType", "areaType_label", "zoneNumber", "function_label")} == {
        "areaType": "2",
        "areaType_label": "土砂災害特別警戒区域（指定済）",
        "zoneNumber": "Ⅱ-12",
        "function_label": "用途地域の指定をしない区域",
    }


# -- an undeclared i-UR prefix: bound to its sibling's version, or skipped ---------------------------
def test_an_undeclared_uro_prefix_is_read_as_the_sibling_of_the_declared_urf(tmp_path):
    risk = '<uro:HighTideRiskAttribute><uro:depth uom="m">0.4</uro:depth></uro:HighTideRiskAttribute>'
    path = write_theme(
        tmp_path / "city",
        "htd",
        water_body("htd_1", risk),
        'xmlns:urf="https://www.geospatial.jp/iur/urf/2.0"',
    )
    reader = _read(path)
    assert reader.objects[0].attributes["uro:floodingRiskAttribute"][0]["depth"] == 0.4
    assert reader.summary.bound_prefixes == {"uro": "https://www.geospatial.jp/iur/uro/2.0"}
    assert [p.message for p in reader.problems] == [
        "namespace prefix uro is used but not declared; read as https://www.geospatial.jp/iur/uro/2.0 "
        "(the i-UR namespace of the same version as the one the file declares)"
    ]


def test_an_undeclared_uro_prefix_without_a_sibling_is_skipped_and_the_water_body_kept(tmp_path):
    """No declared i-UR namespace gives the version: the group is skipped, not guessed."""
    risk = '<uro:HighTideRiskAttribute><uro:depth uom="m">0.4</uro:depth></uro:HighTideRiskAttribute>'
    path = write_theme(tmp_path / "city", "htd", water_body("htd_1", risk), "")
    reader = _read(path)
    (obj,) = reader.objects
    assert obj.feature_type == "wtr:WaterBody" and obj.lods == [1]
    assert obj.attributes["class_label"] == "flooded land（浸水域）"
    assert not any(key.startswith("uro:") for key in obj.attributes)
    assert reader.summary.bound_prefixes == {}
    assert [(p.line, p.message) for p in reader.problems] == [
        (
            3,
            "element uro:floodingRiskAttribute uses namespace prefix uro, which the file does not "
            "declare: skipped with its content (1 element(s), the first here) (Machi binds an "
            "undeclared uro/urf prefix only when the file declares the other i-UR namespace, "
            "whose version it then takes)",
        )
    ]


def test_binding_leaves_a_file_that_declares_both_untouched(plateau_dir):
    reader = _read(plateau_dir / "numazu/udx/luse/523836_luse_6668_op.gml")
    assert reader.summary.bound_prefixes == {} and reader.summary.iur_versions == {"urf": "2.0", "uro": "2.0"}
