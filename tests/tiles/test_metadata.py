"""Identifier sanitising and property-table encoding (EXT_structural_metadata)."""

from __future__ import annotations

import numpy as np
import pytest

from tiles.metadata import (
    BOOL_NODATA,
    FLOAT_NODATA,
    IDENTIFIER_RE,
    INT_NODATA,
    IdentifierMap,
    LayerSchema,
    PropertyType,
    build_property_table,
    encode_column,
    infer_property_type,
    sanitize_identifier,
)


def test_sanitize_identifier_ascii_names():
    assert sanitize_identifier("bldg:Building") == "bldg_Building"
    assert sanitize_identifier("measuredHeight") == "measuredHeight"
    assert sanitize_identifier("3dm:height-m") == "_3dm_height_m"


def test_sanitize_identifier_japanese_names_are_valid_stable_and_distinct():
    a, b = sanitize_identifier("uro:建物ID"), sanitize_identifier("uro:建物名称")
    assert IDENTIFIER_RE.match(a) and IDENTIFIER_RE.match(b)
    assert a.startswith("uro_") and a != b
    assert a == sanitize_identifier("uro:建物ID")
    assert IDENTIFIER_RE.match(sanitize_identifier("高さ"))


def test_identifier_map_keeps_colliding_names_apart():
    ids = IdentifierMap()
    first, second = ids("a:b"), ids("a_b")
    assert first == "a_b" and second != first and IDENTIFIER_RE.match(second)
    assert ids("a:b") == first


def test_encode_column_types_and_nodata():
    booleans = encode_column([True, False, True])
    assert booleans.schema == {
        "required": False,
        "type": "SCALAR",
        "componentType": "UINT8",
        "description": "boolean: 1 true, 0 false",
    }
    assert list(np.frombuffer(booleans.buffers["values"], np.uint8)) == [1, 0, 1]
    assert encode_column([True, False], kind=PropertyType("BOOLEAN")).buffers["values"] == bytes([0b01])

    with_missing = encode_column([True, None])
    assert with_missing.schema["componentType"] == "UINT8" and with_missing.schema["noData"] == BOOL_NODATA
    assert list(np.frombuffer(with_missing.buffers["values"], np.uint8)) == [1, BOOL_NODATA]

    ints = encode_column([1, None, 3])
    assert ints.schema["componentType"] == "INT32" and ints.schema["noData"] == INT_NODATA
    assert list(np.frombuffer(ints.buffers["values"], np.int32)) == [1, INT_NODATA, 3]
    assert encode_column([2**40]).schema["componentType"] == "INT64"

    floats = encode_column([1, 2.5, float("nan")])
    assert floats.schema["componentType"] == "FLOAT64" and floats.schema["noData"] == FLOAT_NODATA
    assert np.frombuffer(floats.buffers["values"], np.float64)[1] == 2.5

    strings = encode_column(["東京", None, "ab"])
    assert strings.schema == {"required": False, "type": "STRING", "noData": ""}
    offsets = np.frombuffer(strings.buffers["stringOffsets"], np.uint32)
    values = strings.buffers["values"]
    assert [values[a:b].decode() for a, b in zip(offsets[:-1], offsets[1:])] == ["東京", "", "ab"]
    assert offsets[-1] == len(values)  # the view is exactly as long as the strings, no padding


def test_layer_schema_types_a_property_from_every_class_not_from_one_table():
    """Trees have heights, plant covers none: the plant cover's table must neither type
    ``height`` as STRING nor carry an empty column for it."""
    trees = [{"height": 7.5, "usage": "街路樹"}, {"height": 12, "usage": None}]
    covers = [{"average_height": 1.2}, {"average_height": None}]
    schema = LayerSchema.from_rows(
        {"veg:SolitaryVegetationObject": trees, "veg:PlantCover": covers}, descriptions={"height": "unit: m"}
    )
    assert schema.types["height"] == PropertyType("FLOAT64", None, "unit: m")
    assert schema.classes == {
        "veg:SolitaryVegetationObject": ["height", "usage"],
        "veg:PlantCover": ["average_height"],
    }
    cover = build_property_table("veg:PlantCover", ["p1", "p2"], covers, schema=schema)
    assert set(cover.class_schema["properties"]) == {"feature_id", "average_height"}
    one_tree = build_property_table("veg:SolitaryVegetationObject", ["t2"], trees[1:], schema=schema)
    props = one_tree.class_schema["properties"]
    # this table's tree has no usage: the content's class neither declares nor writes it
    assert "usage" not in props and set(props) == set(one_tree.columns) == {"feature_id", "height"}
    assert props["height"]["componentType"] == "FLOAT64"  # 12 alone would have typed INT32


def test_a_column_of_empty_strings_is_left_out_and_nothing_is_padded():
    table = build_property_table("c", ["a", "b"], [{"note": ""}, {"note": ""}])
    assert "note" not in table.class_schema["properties"] and "note" not in table.columns
    views: list[bytes] = []
    table.to_json(lambda data: views.append(data) or len(views) - 1)
    assert all(views) and views[0] == b"ab"


def test_infinite_numbers_are_refused():
    with pytest.raises(ValueError, match="infinite"):
        infer_property_type([1.0, float("inf")])


def test_property_table_keeps_original_names_and_reserves_the_id_column():
    table = build_property_table(
        "bldg:Building", ["b1", "b2"], [{"uro:建物ID": "x", "feature_id": 5}, {"measuredHeight": 12.5}]
    )
    assert table.class_id == "bldg_Building" and table.class_schema["name"] == "bldg:Building"
    props = table.class_schema["properties"]
    assert set(props) >= {"feature_id", "measuredHeight"} and len(props) == 4
    assert all(IDENTIFIER_RE.match(p) for p in props)
    assert {p["name"] for p in props.values()} == {"feature_id", "uro:建物ID", "measuredHeight"}
    assert props["feature_id"]["type"] == "STRING"  # the identifier column, not the user's int


def test_a_tile_without_values_of_a_layer_property_neither_declares_nor_writes_it(tmp_path):
    """The street tiles' failure in the CesiumGS 3D Tiles validator ("The property table
    does not define property people__summer_solstice_morning"): a part whose segments had
    no people values declared the column and left it out."""
    from tiles.mesh_content import build_mesh_glb, frame_for
    from tiles.records import MeshFeature, MeshPart
    from tiles.validate import check_glb_metadata, read_glb

    def square(x0):
        lonlath = np.array(
            [
                [139.0 + x0, 35.0, 10.0],
                [139.0001 + x0, 35.0, 10.0],
                [139.0001 + x0, 35.0001, 10.0],
                [139.0 + x0, 35.0001, 10.0],
            ]
        )
        return [MeshPart(lonlath, np.array([[0, 1, 2], [0, 2, 3]]))]

    with_people = [MeshFeature("a", "street", square(0.0), {"score": 5.0, "people": 12.5, "name": "x"})]
    without = [
        MeshFeature("b", "street", square(0.001), {"score": 3.0, "people": None, "name": ""}),
        MeshFeature("c", "street", square(0.002), {"score": None, "people": None, "name": None}),
    ]
    schema = LayerSchema.from_rows({"street": [f.properties for f in with_people + without]})
    assert schema.types["people"] == PropertyType("FLOAT64", float(FLOAT_NODATA))
    glb, *_ = build_mesh_glb(without, frame_for(without, "EPSG:4979"), schema=schema)
    path = tmp_path / "tile.glb"
    path.write_bytes(glb)
    assert check_glb_metadata(path) == []
    metadata = read_glb(glb)[0]["extensions"]["EXT_structural_metadata"]
    table = metadata["propertyTables"][0]
    declared = metadata["schema"]["classes"][table["class"]]["properties"]
    assert set(declared) == set(table["properties"]) == {"feature_id", "score"}  # the missing score: noData
    assert declared["score"]["noData"] == FLOAT_NODATA

    # the validator's rule, as check_glb_metadata checks it: a declared property without a column
    gltf, binary = read_glb(glb)
    gltf["extensions"]["EXT_structural_metadata"]["schema"]["classes"][table["class"]]["properties"][
        "people"
    ] = {"type": "SCALAR", "componentType": "FLOAT64", "noData": FLOAT_NODATA}
    broken = tmp_path / "broken.glb"
    broken.write_bytes(_glb_bytes(gltf, binary))
    assert any("'people' has no column" in p for p in check_glb_metadata(broken))


def _glb_bytes(gltf: dict, binary: bytes) -> bytes:
    """A GLB of a JSON chunk and a BIN chunk (both padded to 4 bytes)."""
    import json
    import struct

    text = json.dumps(gltf).encode()
    text += b" " * (-len(text) % 4)
    binary += b"\0" * (-len(binary) % 4)
    body = (
        struct.pack("<I4s", len(text), b"JSON") + text + struct.pack("<I4s", len(binary), b"BIN\0") + binary
    )
    return struct.pack("<4sII", b"glTF", 2, 12 + len(body)) + body
