"""Malicious and malformed CityGML, written here: each gets a clear, located error."""

from __future__ import annotations

import numpy as np
import pytest

from citygml import CityGMLError, FileReader, UnsafeInputError, open_dataset


def read(path):
    reader = FileReader(open_dataset(path)[0])
    return reader.read_all(), reader


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
]>
<core:CityModel xmlns:core="http://www.opengis.net/citygml/2.0" xmlns:gml="http://www.opengis.net/gml">
<gml:name>&lol9;</gml:name></core:CityModel>
"""

XXE = """<?xml version="1.0"?>
<!DOCTYPE CityModel [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<core:CityModel xmlns:core="http://www.opengis.net/citygml/2.0" xmlns:gml="http://www.opengis.net/gml"
 xmlns:bldg="http://www.opengis.net/citygml/building/2.0">
<core:cityObjectMember><bldg:Building gml:id="b1"><gml:name>&secret;</gml:name></bldg:Building></core:cityObjectMember>
</core:CityModel>
"""


@pytest.mark.parametrize("document", [BILLION_LAUGHS, XXE], ids=["billion-laughs", "xxe-etc-passwd"])
def test_entity_declarations_are_refused(write_gml, document):
    path = write_gml(document)
    with pytest.raises(UnsafeInputError) as caught:
        read(path)
    message = str(caught.value)
    assert path.name in message and "DTD or entities" in message and ":2:" in message
    assert "root:" not in message  # nothing of /etc/passwd leaked


def test_truncated_file_names_file_and_line(write_gml, gml):
    text = gml.city_model(gml.building("b1") + gml.building("b2"))
    path = write_gml(text[: len(text) // 2])
    with pytest.raises(CityGMLError) as caught:
        read(path)
    assert caught.value.line is not None and caught.value.line > 1
    assert path.name in str(caught.value) and "malformed XML" in str(caught.value)


def test_a_feature_in_an_undeclared_prefix_is_skipped_and_the_others_kept(write_gml, gml):
    member = '<core:cityObjectMember><frn:CityFurniture gml:id="f1"/></core:cityObjectMember>\n'
    path = write_gml(gml.city_model(gml.building("b1") + member + gml.building("b2")))
    objects, reader = read(path)
    assert [o.gml_id for o in objects] == ["b1", "b2"] and reader.summary.feature_count == 2
    assert [(p.line, p.message) for p in reader.problems] == [
        (
            5,
            "element frn:CityFurniture uses namespace prefix frn, which the file does not declare: "
            "skipped with its content (1 element(s), the first here)",
        )
    ]


ENERGY = "<energy:isHeated>true</energy:isHeated>"


def test_properties_in_an_undeclared_prefix_are_skipped_and_the_feature_read_as_without_them(write_gml, gml):
    """energy:isHeated as libplateau's 53392642_bldg_6697_op2.gml writes it (no xmlns:energy),
    plus the other places the reader looks elements up: an i-UR group member, a thematic
    surface, an attribute group wrapper, and an attribute (which only the parser sees)."""
    uro = 'xmlns:uro="https://www.geospatial.jp/iur/uro/3.1"'
    details = (
        "<uro:buildingDetailAttribute><uro:BuildingDetailAttribute>"
        "<uro:surveyYear>2020</uro:surveyYear>{inner}</uro:BuildingDetailAttribute>"
        "</uro:buildingDetailAttribute>"
    )
    surface = (
        '<bldg:boundedBy><ext:Balcony gml:id="x1"><bldg:lod2MultiSurface><gml:MultiSurface>'
        "<gml:surfaceMember><gml:Polygon><gml:exterior><gml:LinearRing><gml:posList>"
        f"{gml.square}</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon>"
        "</gml:surfaceMember></gml:MultiSurface></bldg:lod2MultiSurface></ext:Balcony>"
        "</bldg:boundedBy>"
    )
    group = "<bldg:extra><energy:Profile><energy:u>1</energy:u></energy:Profile></bldg:extra>"
    clean = [gml.building(f"b{i}", extra=details.format(inner="")) for i in range(3)]
    dirty = [
        gml.building("b0", extra=ENERGY + details.format(inner="<energy:floors>3</energy:floors>")),
        gml.building("b1", extra=details.format(inner="") + surface + ENERGY),
        gml.building("b2", extra=details.format(inner="") + group).replace(
            '<bldg:Building gml:id="b2">', '<bldg:Building gml:id="b2" energy:zone="z1">'
        ),
    ]
    expected, _ = read(write_gml(gml.city_model("".join(clean), uro), "clean/53396489_bldg_6697_op.gml"))
    objects, reader = read(write_gml(gml.city_model("".join(dirty), uro)))
    assert [o.gml_id for o in objects] == ["b0", "b1", "b2"]
    for got, want in zip(objects, expected):
        assert got.attributes == {**want.attributes, **({"extra": [{}]} if got.gml_id == "b2" else {})}
        assert np.array_equal(got.all_vertices(), want.all_vertices())
    assert objects[0].attributes["uro:buildingDetailAttribute"] == [
        {"type": "BuildingDetailAttribute", "surveyYear": 2020}
    ]
    assert [(p.line, p.message) for p in reader.problems] == [
        (
            4,
            "element energy:isHeated uses namespace prefix energy, which the file does not declare: "
            "skipped with its content (2 element(s), the first here)",
        ),
        (
            4,
            "element energy:floors uses namespace prefix energy, which the file does not declare: "
            "skipped with its content (1 element(s), the first here)",
        ),
        (
            5,
            "element ext:Balcony uses namespace prefix ext, which the file does not declare: "
            "skipped with its content (1 element(s), the first here)",
        ),
        (
            6,
            "element energy:Profile uses namespace prefix energy, which the file does not declare: "
            "skipped with its content (1 element(s), the first here)",
        ),
    ]


def test_an_undeclared_prefix_only_on_an_attribute_is_reported_from_the_parser(write_gml, gml):
    dirty = gml.building("b1").replace('gml:id="b1"', 'gml:id="b1" energy:zone="z1"')
    objects, reader = read(write_gml(gml.city_model(dirty)))
    assert [o.gml_id for o in objects] == ["b1"]
    assert [(p.line, p.message) for p in reader.problems] == [
        (
            4,
            "namespace prefix energy (for attribute zone on Building) is not declared: ignored, "
            "here and wherever else the file uses it",
        )
    ]


def test_counts_go_past_the_parsers_hundred_logged_errors(write_gml, gml):
    """libxml2 logs 100 errors a document; the reader counts every element it skips."""
    buildings = "".join(gml.building(f"b{i}", extra=ENERGY) for i in range(150))
    last = gml.building("b150", extra="<foo:note>late</foo:note>")
    objects, reader = read(write_gml(gml.city_model(buildings + last)))
    assert len(objects) == 151
    assert [(p.line, p.message.split(": ", 1)[1]) for p in reader.problems] == [
        (4, "skipped with its content (150 element(s), the first here)"),
        (154, "skipped with its content (1 element(s), the first here)"),
    ]


@pytest.mark.parametrize("where", ["early", "after the parser's hundred logged errors"])
def test_an_undeclared_prefix_does_not_hide_a_malformed_file(write_gml, gml, where):
    count = 1 if where == "early" else 150
    buildings = "".join(gml.building(f"b{i}", extra=ENERGY) for i in range(count))
    text = gml.city_model(buildings + gml.building("cut"))
    path = write_gml(text[: text.rindex("</gml:posList>")])
    with pytest.raises(CityGMLError) as caught:
        read(path)
    assert caught.value.line == count + 4
    assert str(caught.value).startswith(f"{path}:{count + 4}: malformed XML: ")
    assert "energy" not in str(caught.value)


def test_an_undeclared_prefix_outside_a_city_model_still_rejects_the_file(write_gml, gml):
    """Skipping is safe only when the parser is seen to reach the end of a core:CityModel."""
    document = gml.city_model(gml.building("b1", extra=ENERGY)).replace(
        "core:CityModel", "core:CityObjectGroup"
    )
    with pytest.raises(CityGMLError) as caught:
        read(write_gml(document))
    assert caught.value.line == 4 and caught.value.problem == (
        "namespace prefix energy (on isHeated) is not declared and no core:CityModel was read to "
        "its end; file rejected"
    )


def test_non_numeric_coordinate_rejects_the_file_with_line_and_id(write_gml, gml):
    bad = gml.square.replace("139.601 10", "139.6O1 10", 1)
    path = write_gml(gml.city_model(gml.building("ok") + gml.building("bad_one", bad)))
    with pytest.raises(CityGMLError) as caught:
        read(path)
    error = caught.value
    assert error.gml_id == "bad_one" and error.line == 5
    assert "non-numeric coordinate '139.6O1'" in str(error)


def test_feature_without_geometry_is_kept_with_a_warning(write_gml, gml):
    member = (
        '<core:cityObjectMember><bldg:Building gml:id="empty">'
        '<bldg:measuredHeight uom="m">3</bldg:measuredHeight></bldg:Building>'
        "</core:cityObjectMember>\n"
    )
    path = write_gml(gml.city_model(member + gml.building("b1")))
    objects, reader = read(path)
    assert [o.gml_id for o in objects] == ["empty", "b1"]
    assert objects[0].attributes["measuredHeight"] == 3
    [problem] = reader.problems
    assert problem.gml_id == "empty" and "no geometry" in problem.message and problem.line == 4


def test_unclosed_ring_is_closed_with_a_warning(write_gml, gml):
    unclosed = gml.square.rsplit(" 35.900 139.600 10", 1)[0]
    path = write_gml(gml.city_model(gml.building("b1", unclosed)))
    objects, reader = read(path)
    ring = objects[0].polygons(0)[0].exterior
    assert len(ring) == 5 and (ring[0] == ring[-1]).all()
    assert any("unclosed ring" in p.message and p.gml_id is None or p.line == 4 for p in reader.problems)


def test_degenerate_ring_drops_the_polygon_with_a_warning(write_gml, gml):
    degenerate = "35.9 139.6 10 35.9 139.601 10 35.9 139.6 10"
    path = write_gml(gml.city_model(gml.building("flat", degenerate)))
    objects, reader = read(path)
    assert objects[0].polygons(0) == []
    messages = [p.message for p in reader.problems]
    assert any("degenerate ring" in m for m in messages)
    assert any("no geometry" in m for m in messages)


def test_texture_path_escaping_the_dataset_is_refused(write_gml, gml, tmp_path):
    (tmp_path / "secret.jpg").write_bytes(b"\xff\xd8")
    appearance = gml.appearance(gml.texture("../../../../secret.jpg", {"r1": "0 0 1 0 1 1 0 1 0 0"}))
    doc = gml.city_model(gml.building("b1") + appearance, gml.app_namespace)
    objects, reader = read(write_gml(doc))
    [texture] = reader.appearance.textures
    assert texture.image_path is None
    assert any("escapes the dataset; refused" in p.message for p in reader.problems)


def test_bad_srs_dimension_on_a_pos_list_rejects_the_file_with_line_and_id(write_gml, gml):
    bad = gml.building("bad_dim").replace("<gml:posList>", '<gml:posList srsDimension="2.5">')
    with pytest.raises(CityGMLError) as caught:
        read(write_gml(gml.city_model(gml.building("ok") + bad)))
    error = caught.value
    assert error.gml_id == "bad_dim" and error.line == 5
    assert "srsDimension '2.5' is neither 2 nor 3" in str(error)


def test_bad_srs_dimension_on_the_envelope_is_a_warning(write_gml, gml):
    document = gml.city_model(gml.building("b1")).replace('srsDimension="3"', 'srsDimension="x"', 1)
    objects, reader = read(write_gml(document))
    assert [o.gml_id for o in objects] == ["b1"] and objects[0].polygons(0)[0].exterior.shape == (5, 3)
    assert [p.message for p in reader.problems] == [
        "unreadable gml:Envelope: srsDimension 'x' is neither 2 nor 3"
    ]


def test_unreadable_texture_coordinates_and_colours_are_warnings(write_gml, gml):
    appearance = gml.appearance(
        gml.texture(
            "a.jpg",
            {
                "r1": "0 0 1 0 1 x 0 1 0 0",  # not a number
                "r2": "0 0 1 0 1 1 0",  # an odd count
                "r3": "0 0 0.5 0 0.5 0.5 0 0",
            },
            gml_id="tex1",
        ),
        '<app:X3DMaterial gml:id="m1"><app:diffuseColor>0.5 zero 0.5</app:diffuseColor>'
        "<app:transparency>0.2</app:transparency><app:target>#p1</app:target></app:X3DMaterial>",
    )
    doc = gml.city_model(gml.building("b1") + appearance, gml.app_namespace)
    objects, reader = read(write_gml(doc))
    assert [o.gml_id for o in objects] == ["b1"]  # the file is read, not rejected
    [texture] = reader.appearance.textures
    assert list(texture.targets["p1"]) == ["r3"]
    assert texture.targets["p1"]["r3"].tolist() == [[0, 0], [0.5, 0], [0.5, 0.5], [0, 0]]
    [material] = reader.appearance.materials
    assert material.diffuse_color is None and material.transparency == 0.2
    messages = {(p.gml_id, p.message) for p in reader.problems}
    assert ("tex1", "unreadable texture coordinates for ring #r1; the ring keeps none") in messages
    assert ("tex1", "unreadable texture coordinates for ring #r2; the ring keeps none") in messages
    assert ("m1", "unreadable diffuseColor '0.5 zero 0.5'; ignored") in messages
    assert all(p.line == 5 for p in reader.problems if p.gml_id in ("tex1", "m1"))


@pytest.mark.parametrize(
    "uro",
    [
        "http://www.kantei.go.jp/jp/singi/tiiki/toshisaisei/itoshisaisei/iur/uro/1.4",
        "https://www.geospatial.jp/iur/uro/2.0",
        "https://www.geospatial.jp/iur/uro/3.1",
    ],
)
def test_uro_versions_flatten_to_the_same_columns(write_gml, gml, uro):
    from citygml.attributes import flatten_attributes

    extra = (
        "<uro:buildingIDAttribute><uro:BuildingIDAttribute><uro:buildingID>11103-bldg-1"
        "</uro:buildingID></uro:BuildingIDAttribute></uro:buildingIDAttribute>"
    )
    building = gml.building("b1").replace("</bldg:Building>", extra + "</bldg:Building>")
    objects, reader = read(write_gml(gml.city_model(building, f'xmlns:uro="{uro}"')))
    assert reader.summary.uro_version == uro.rsplit("/", 1)[1]
    assert flatten_attributes(objects[0].attributes)["building_id"] == "11103-bldg-1"


def test_rings_written_with_gml_pos_are_read(write_gml, gml):
    positions = "".join(f"<gml:pos>{' '.join(p)}</gml:pos>" for p in zip(*[iter(gml.square.split())] * 3))
    member = gml.building("pos").replace(f"<gml:posList>{gml.square}</gml:posList>", positions)
    objects, reader = read(write_gml(gml.city_model(member)))
    ring = objects[0].polygons(0)[0].exterior
    assert ring.shape == (5, 3) and ring[1, 0] == pytest.approx(139.601)
    assert reader.problems == []
