"""The GLB builder's layout rules and reading back what it wrote."""

from __future__ import annotations

import struct

import numpy as np

from tiles.gltf import ARRAY_BUFFER, GlbBuilder, read_accessor, read_glb


def _small_glb() -> bytes:
    gltf = GlbBuilder()
    positions = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], dtype=np.float32)
    classes = np.array([2, 6, 9], dtype=np.uint8)
    attributes = {
        "POSITION": gltf.add_accessor(positions, min_max=True),
        "_CLASS": gltf.add_accessor(classes, target=ARRAY_BUFFER),
    }
    gltf.add_root_node(
        gltf.add_mesh([{"attributes": attributes, "mode": 0}]), translation=np.array([1.0, 2, 3])
    )
    return gltf.to_bytes()


def test_glb_chunks_and_views_are_aligned():
    data = _small_glb()
    magic, version, length = struct.unpack_from("<III", data)
    assert (magic, version, length) == (0x46546C67, 2, len(data)) and len(data) % 4 == 0
    json_length = struct.unpack_from("<I", data, 12)[0]
    assert json_length % 4 == 0
    gltf, binary = read_glb(data)
    assert all(v["byteOffset"] % 8 == 0 for v in gltf["bufferViews"])
    assert gltf["buffers"][0]["byteLength"] == len(binary)


def test_small_vertex_attributes_get_a_four_byte_stride_and_read_back():
    gltf, binary = read_glb(_small_glb())
    position, klass = gltf["accessors"]
    assert position["min"] == [0, 0, 0] and position["max"] == [1, 1, 0]
    assert gltf["bufferViews"][klass["bufferView"]]["byteStride"] == 4
    assert "byteStride" not in gltf["bufferViews"][position["bufferView"]]
    assert list(read_accessor(gltf, binary, 1)) == [2, 6, 9]
    assert gltf["nodes"][0]["translation"] == [1.0, 2.0, 3.0]


def test_glb_passes_gltf_validator(tmp_path, gltf_validator):
    path = tmp_path / "small.glb"
    path.write_bytes(_small_glb())
    (report,) = gltf_validator([path])
    assert report["numErrors"] == 0, report["messages"]
