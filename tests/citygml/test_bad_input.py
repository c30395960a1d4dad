"""Malicious and malformed CityGML, written here: each gets a clear, located error."""
from __future__ import annotations

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


def test_undeclared_namespace_prefix(write_gml, gml):
    member = '<core:cityObjectMember><frn:CityFurniture gml:id="f1"/></core:cityObjectMember>\n'
    path = write_gml(gml.city_model(gml.building("b1") + member))
    with pytest.raises(CityGMLError) as caught:
        read(path)
    assert "prefix frn" in str(caught.value) and caught.value.line == 5


def test_non_numeric_coordinate_rejects_the_file_with_line_and_id(write_gml, gml):
    bad = gml.square.replace("139.601 10", "139.6O1 10", 1)
    path = write_gml(gml.city_model(gml.building("ok") + gml.building("bad_one", bad)))
    with pytest.raises(CityGMLError) as caught:
        read(path)
    error = caught.value
    assert error.gml_id == "bad_one" and error.line == 5
    assert "non-numeric coordinate '139.6O1'" in str(error)


def test_feature_without_geometry_is_kept_with_a_warning(write_gml, gml):
    member = ('<core:cityObjectMember><bldg:Building gml:id="empty">'
              '<bldg:measuredHeight uom="m">3</bldg:measuredHeight></bldg:Building>'
              '</core:cityObjectMember>\n')
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
    assert any("unclosed ring" in p.message and p.gml_id is None or p.line == 4
               for p in reader.problems)


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
        "unreadable gml:Envelope: srsDimension 'x' is neither 2 nor 3"]


def test_unreadable_texture_coordinates_and_colours_are_warnings(write_gml, gml):
    appearance = gml.appearance(
        gml.texture("a.jpg", {"r1": "0 0 1 0 1 x 0 1 0 0",  # not a number
                              "r2": "0 0 1 0 1 1 0",  # an odd count
                              "r3": "0 0 0.5 0 0.5 0.5 0 0"}, gml_id="tex1"),
        '<app:X3DMaterial gml:id="m1"><app:diffuseColor>0.5 zero 0.5</app:diffuseColor>'
        '<app:transparency>0.2</app:transparency><app:target>#p1</app:target></app:X3DMaterial>')
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


@pytest.mark.parametrize("uro", [
    "http://www.kantei.go.jp/jp/singi/tiiki/toshisaisei/itoshisaisei/iur/uro/1.4",
    "https://www.geospatial.jp/iur/uro/2.0",
    "https://www.geospatial.jp/iur/uro/3.1",
])
def test_uro_versions_flatten_to_the_same_columns(write_gml, gml, uro):
    from citygml.attributes import flatten_attributes

    extra = ('<uro:buildingIDAttribute><uro:BuildingIDAttribute><uro:buildingID>11103-bldg-1'
             '</uro:buildingID></uro:BuildingIDAttribute></uro:buildingIDAttribute>')
    building = gml.building("b1").replace("</bldg:Building>", extra + "</bldg:Building>")
    objects, reader = read(write_gml(gml.city_model(building, f'xmlns:uro="{uro}"')))
    assert reader.summary.uro_version == uro.rsplit("/", 1)[1]
    assert flatten_attributes(objects[0].attributes)["building_id"] == "11103-bldg-1"


def test_rings_written_with_gml_pos_are_read(write_gml, gml):
    positions = "".join(f"<gml:pos>{' '.join(p)}</gml:pos>"
                        for p in zip(*[iter(gml.square.split())] * 3))
    member = gml.building("pos").replace(
        f"<gml:posList>{gml.square}</gml:posList>", positions)
    objects, reader = read(write_gml(gml.city_model(member)))
    ring = objects[0].polygons(0)[0].exterior
    assert ring.shape == (5, 3) and ring[1, 0] == pytest.approx(139.601)
    assert reader.problems == []
