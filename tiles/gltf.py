"""A small glTF 2.0 binary (GLB) builder and reader.

Only what tile content needs: one buffer, typed accessors, triangle and point
primitives, embedded images, materials, and the EXT_mesh_features /
EXT_structural_metadata extensions. The layout follows the glTF 2.0 rules that
validators check: every buffer view starts on an 8-byte boundary, vertex attribute
elements are 4-byte aligned (``byteStride`` is set when an element is smaller), index
views carry ``ELEMENT_ARRAY_BUFFER`` and attribute views ``ARRAY_BUFFER``, and POSITION
accessors carry exact ``min``/``max``.
"""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np

ARRAY_BUFFER = 34962
ELEMENT_ARRAY_BUFFER = 34963

COMPONENT_TYPES = {
    np.dtype(np.int8): 5120,
    np.dtype(np.uint8): 5121,
    np.dtype(np.int16): 5122,
    np.dtype(np.uint16): 5123,
    np.dtype(np.uint32): 5125,
    np.dtype(np.float32): 5126,
}
DTYPES = {code: dtype for dtype, code in COMPONENT_TYPES.items()}
ACCESSOR_TYPES = {1: "SCALAR", 2: "VEC2", 3: "VEC3", 4: "VEC4", 16: "MAT4"}
TYPE_SIZES = {name: size for size, name in ACCESSOR_TYPES.items()}

MODE_POINTS = 0
MODE_TRIANGLES = 4

_GLB_MAGIC = 0x46546C67  # "glTF"
_CHUNK_JSON = 0x4E4F534A
_CHUNK_BIN = 0x004E4942


class GlbBuilder:
    """Accumulate glTF JSON and one binary buffer; :meth:`to_bytes` returns the GLB."""

    def __init__(self, generator: str = "machi.tiles") -> None:
        self.gltf: dict[str, Any] = {"asset": {"version": "2.0", "generator": generator}}
        self._chunks: list[bytes] = []
        self._length = 0

    def _append(self, key: str, item: dict[str, Any]) -> int:
        items = self.gltf.setdefault(key, [])
        items.append(item)
        return len(items) - 1

    def use_extension(self, name: str, required: bool = False) -> None:
        used = self.gltf.setdefault("extensionsUsed", [])
        if name not in used:
            used.append(name)
        if required:
            req = self.gltf.setdefault("extensionsRequired", [])
            if name not in req:
                req.append(name)

    def add_buffer_view(
        self, data: bytes, *, target: int | None = None, byte_stride: int | None = None
    ) -> int:
        """Append ``data`` on an 8-byte boundary and return its buffer view index."""
        pad = -self._length % 8
        if pad:
            self._chunks.append(b"\x00" * pad)
            self._length += pad
        view: dict[str, Any] = {"buffer": 0, "byteOffset": self._length, "byteLength": len(data)}
        if byte_stride is not None:
            view["byteStride"] = byte_stride
        if target is not None:
            view["target"] = target
        self._chunks.append(bytes(data))
        self._length += len(data)
        return self._append("bufferViews", view)

    def add_accessor(
        self,
        array: np.ndarray,
        *,
        target: int | None = ARRAY_BUFFER,
        normalized: bool = False,
        min_max: bool = False,
    ) -> int:
        """Store ``array`` ((N,) or (N, k)) as an accessor and return its index.

        Vertex attributes (``target=ARRAY_BUFFER``) whose element is not a multiple of
        4 bytes are padded to a 4-byte stride, as glTF requires.
        """
        array = np.ascontiguousarray(array)
        if array.dtype not in COMPONENT_TYPES:
            raise TypeError(f"glTF has no component type for {array.dtype}")
        count = array.shape[0]
        width = 1 if array.ndim == 1 else array.shape[1]
        element_size = width * array.dtype.itemsize
        byte_stride = None
        data = array.tobytes()
        if target == ARRAY_BUFFER and element_size % 4:
            byte_stride = element_size + (-element_size % 4)
            padded = np.zeros((count, byte_stride), dtype=np.uint8)
            padded[:, :element_size] = array.reshape(count, -1).view(np.uint8).reshape(count, element_size)
            data = padded.tobytes()
        view = self.add_buffer_view(data, target=target, byte_stride=byte_stride)
        accessor: dict[str, Any] = {
            "bufferView": view,
            "componentType": COMPONENT_TYPES[array.dtype],
            "count": int(count),
            "type": ACCESSOR_TYPES[width],
        }
        if normalized:
            accessor["normalized"] = True
        if min_max and count:
            flat = array.reshape(count, width)
            cast = float if array.dtype.kind == "f" else int
            accessor["min"] = [cast(v) for v in flat.min(axis=0)]
            accessor["max"] = [cast(v) for v in flat.max(axis=0)]
        return self._append("accessors", accessor)

    def add_indices(self, indices: np.ndarray) -> int:
        """Triangle or point indices as the smallest unsigned type that holds them."""
        indices = np.asarray(indices).reshape(-1)
        dtype = np.uint16 if indices.size == 0 or indices.max() < 65535 else np.uint32
        return self.add_accessor(indices.astype(dtype), target=ELEMENT_ARRAY_BUFFER)

    def add_image(self, data: bytes, mime_type: str) -> int:
        if mime_type not in ("image/png", "image/jpeg"):
            raise ValueError(f"glTF images must be image/png or image/jpeg, not {mime_type!r}")
        view = self.add_buffer_view(data)
        return self._append("images", {"bufferView": view, "mimeType": mime_type})

    def add_texture(self, image: int) -> int:
        if not self.gltf.get("samplers"):
            # 9729 LINEAR, 9987 LINEAR_MIPMAP_LINEAR, 10497 REPEAT
            self._append("samplers", {"magFilter": 9729, "minFilter": 9987, "wrapS": 10497, "wrapT": 10497})
        return self._append("textures", {"sampler": 0, "source": image})

    def add_material(
        self,
        *,
        base_color: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0),
        texture: int | None = None,
        unlit: bool = False,
        double_sided: bool = False,
        name: str | None = None,
    ) -> int:
        pbr: dict[str, Any] = {
            "baseColorFactor": [float(c) for c in base_color],
            "metallicFactor": 0.0,
            "roughnessFactor": 1.0,
        }
        if texture is not None:
            pbr["baseColorTexture"] = {"index": texture}
        material: dict[str, Any] = {"pbrMetallicRoughness": pbr}
        if name:
            material["name"] = name
        if double_sided:
            material["doubleSided"] = True
        if unlit:
            self.use_extension("KHR_materials_unlit")
            material["extensions"] = {"KHR_materials_unlit": {}}
        return self._append("materials", material)

    def add_mesh(self, primitives: list[dict[str, Any]], name: str | None = None) -> int:
        mesh: dict[str, Any] = {"primitives": primitives}
        if name:
            mesh["name"] = name
        return self._append("meshes", mesh)

    def add_root_node(self, mesh: int, translation: np.ndarray | None = None) -> int:
        node: dict[str, Any] = {"mesh": mesh}
        if translation is not None and np.any(translation):
            node["translation"] = [float(v) for v in translation]
        index = self._append("nodes", node)
        self.gltf["scene"] = 0
        scenes = self.gltf.setdefault("scenes", [{"nodes": []}])
        scenes[0]["nodes"].append(index)
        return index

    def to_bytes(self) -> bytes:
        """The complete GLB: 12-byte header, JSON chunk (space padded), BIN chunk (zero padded)."""
        binary = b"".join(self._chunks)
        binary += b"\x00" * (-len(binary) % 4)
        gltf = dict(self.gltf)
        if binary:
            gltf["buffers"] = [{"byteLength": len(binary)}]
        json_bytes = json.dumps(gltf, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        json_bytes += b" " * (-len(json_bytes) % 4)
        total = 12 + 8 + len(json_bytes) + (8 + len(binary) if binary else 0)
        parts = [
            struct.pack("<III", _GLB_MAGIC, 2, total),
            struct.pack("<II", len(json_bytes), _CHUNK_JSON),
            json_bytes,
        ]
        if binary:
            parts += [struct.pack("<II", len(binary), _CHUNK_BIN), binary]
        return b"".join(parts)


def read_glb(data: bytes) -> tuple[dict[str, Any], bytes]:
    """Split a GLB into its JSON (parsed) and its binary chunk."""
    magic, version, length = struct.unpack_from("<III", data, 0)
    if magic != _GLB_MAGIC or version != 2:
        raise ValueError("not a glTF 2.0 binary (bad magic or version)")
    if length != len(data):
        raise ValueError(f"GLB header says {length} bytes, got {len(data)}")
    json_length, chunk_type = struct.unpack_from("<II", data, 12)
    if chunk_type != _CHUNK_JSON:
        raise ValueError("GLB first chunk is not JSON")
    gltf = json.loads(data[20 : 20 + json_length])
    binary = b""
    offset = 20 + json_length
    if offset < length:
        bin_length, chunk_type = struct.unpack_from("<II", data, offset)
        if chunk_type != _CHUNK_BIN:
            raise ValueError("GLB second chunk is not BIN")
        binary = data[offset + 8 : offset + 8 + bin_length]
    return gltf, binary


def read_accessor(gltf: dict[str, Any], binary: bytes, index: int) -> np.ndarray:
    """An accessor's elements as an (N,) or (N, k) array, honouring byteStride."""
    accessor = gltf["accessors"][index]
    view = gltf["bufferViews"][accessor["bufferView"]]
    dtype = DTYPES[accessor["componentType"]]
    width = TYPE_SIZES[accessor["type"]]
    count = accessor["count"]
    start = view.get("byteOffset", 0) + accessor.get("byteOffset", 0)
    element_size = width * dtype.itemsize
    stride = view.get("byteStride", element_size)
    raw = np.frombuffer(
        binary, dtype=np.uint8, count=stride * (count - 1) + element_size if count else 0, offset=start
    )
    if stride != element_size:
        raw = np.lib.stride_tricks.as_strided(raw, shape=(count, element_size), strides=(stride, 1))
    values = np.ascontiguousarray(raw).view(dtype).reshape(count, width)
    return values[:, 0] if width == 1 else values
