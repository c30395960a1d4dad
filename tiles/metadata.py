"""EXT_structural_metadata: identifiers, schema classes and binary property tables.

The 3D Metadata specification restricts class and property ids to
``^[a-zA-Z_][a-zA-Z0-9_]*$``; :class:`IdentifierMap` turns arbitrary names (``bldg:Building``,
``uro:建物ID``) into stable unique identifiers and keeps the original in ``name``.
Property columns are typed from their values (bool, int, float, str) and missing values
are written as ``noData``; the buffers follow the binary table format (8-byte aligned
views, UTF-8 strings with UINT32 offsets, booleans as little-endian bitstreams).
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

IDENTIFIER_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")

INT_NODATA = np.iinfo(np.int32).min
INT64_NODATA = np.iinfo(np.int64).min
FLOAT_NODATA = -np.finfo(np.float64).max
BOOL_NODATA = 255  # booleans with missing values become UINT8 0/1, 255 = missing


def sanitize_identifier(name: str) -> str:
    """Map ``name`` to an identifier matching ``^[a-zA-Z_][a-zA-Z0-9_]*$``.

    Valid names pass unchanged. Other ASCII characters become ``_`` (``bldg:Building`` ->
    ``bldg_Building``). A name with non-ASCII characters keeps its ASCII part and gains
    an 8-hex-digit hash of the full name, so distinct Japanese names stay distinct and
    the mapping is the same in every run (``uro:建物ID`` -> ``uro_ID_1b2c...``).
    """
    if IDENTIFIER_RE.match(name):
        return name
    ascii_part = re.sub(r"[^A-Za-z0-9_]+", "_", name.encode("ascii", "ignore").decode()).strip("_")
    if not name.isascii() or not ascii_part:
        digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:8]
        ascii_part = f"{ascii_part}_{digest}" if ascii_part else f"p_{digest}"
    if ascii_part[0].isdigit():
        ascii_part = "_" + ascii_part
    return ascii_part


@dataclass
class IdentifierMap:
    """Original names -> unique sanitised identifiers, stable for a given input order."""

    ids: dict[str, str] = field(default_factory=dict)

    def __call__(self, name: str) -> str:
        if name in self.ids:
            return self.ids[name]
        ident = sanitize_identifier(name)
        taken = set(self.ids.values())
        if ident in taken:
            base = f"{ident}_{hashlib.sha1(name.encode('utf-8')).hexdigest()[:8]}"
            ident, n = base, 1
            while ident in taken:
                ident, n = f"{base}_{n}", n + 1
        self.ids[name] = ident
        return ident


def _view_bytes(data: bytes) -> bytes:
    """A property buffer as stored: unpadded (readers count values from ``byteLength``;
    the GLB builder aligns offsets), and never empty (glTF forbids zero-length views:
    a string column of empty strings keeps one unused byte)."""
    return data if data else b"\x00"


@dataclass
class PropertyColumn:
    """One typed, encoded property: its schema entry and the buffers of its values."""

    schema: dict[str, Any]
    buffers: dict[str, bytes]  # "values" and, for strings, "stringOffsets"
    string_offset_type: str | None = None


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def encode_column(values: Sequence[Any], name: str | None = None) -> PropertyColumn:
    """Type and encode one column of per-feature values (``None``/NaN = missing).

    All-bool -> BOOLEAN (UINT8 with ``noData`` 255 if any is missing); all-int -> INT32 or
    INT64 with ``noData`` at the type's minimum; int/float -> FLOAT64 with ``noData`` =
    -max float64; anything else -> STRING (dicts and lists as JSON, missing as ``""``).
    """
    present = [v for v in values if not _is_missing(v)]
    schema: dict[str, Any] = {"required": False}
    if name is not None:
        schema["name"] = name
    numpy_ints = all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in present)
    if present and all(isinstance(v, (bool, np.bool_)) for v in present):
        if len(present) == len(values):
            bits = np.packbits(np.array(values, dtype=bool), bitorder="little").tobytes()
            schema.update(type="BOOLEAN")
            return PropertyColumn(schema, {"values": bits})
        arr = np.array([BOOL_NODATA if _is_missing(v) else int(bool(v)) for v in values], dtype=np.uint8)
        schema.update(type="SCALAR", componentType="UINT8", noData=BOOL_NODATA,
                      description="boolean: 1 true, 0 false, 255 missing")
        return PropertyColumn(schema, {"values": arr.tobytes()})
    if present and numpy_ints:
        ints = [int(v) for v in present]
        if INT_NODATA < min(ints) and max(ints) <= np.iinfo(np.int32).max:
            dtype, ctype, nodata = np.int32, "INT32", int(INT_NODATA)
        elif INT64_NODATA < min(ints) and max(ints) <= np.iinfo(np.int64).max:
            dtype, ctype, nodata = np.int64, "INT64", int(INT64_NODATA)
        else:
            return _string_column(values, schema)
        arr = np.array([nodata if _is_missing(v) else int(v) for v in values], dtype=dtype)
        schema.update(type="SCALAR", componentType=ctype)
        if len(present) < len(values):
            schema["noData"] = nodata
        return PropertyColumn(schema, {"values": arr.tobytes()})
    if present and all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
                       for v in present):
        arr = np.array([FLOAT_NODATA if _is_missing(v) else float(v) for v in values], dtype=np.float64)
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"property {name!r} holds an infinite value; metadata needs finite numbers")
        schema.update(type="SCALAR", componentType="FLOAT64")
        if len(present) < len(values):
            schema["noData"] = float(FLOAT_NODATA)
        return PropertyColumn(schema, {"values": arr.tobytes()})
    return _string_column(values, schema)


def _as_text(value: Any) -> str:
    if _is_missing(value):
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _string_column(values: Sequence[Any], schema: dict[str, Any]) -> PropertyColumn:
    encoded = [_as_text(v).encode("utf-8") for v in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.uint64)
    offsets[1:] = np.cumsum([len(e) for e in encoded])
    offset_type = "UINT32" if offsets[-1] <= np.iinfo(np.uint32).max else "UINT64"
    offsets = offsets.astype(np.uint32 if offset_type == "UINT32" else np.uint64)
    schema.update(type="STRING")
    if any(_is_missing(v) for v in values):
        schema["noData"] = ""
    return PropertyColumn(schema, {"values": b"".join(encoded), "stringOffsets": offsets.tobytes()},
                          string_offset_type=offset_type)


@dataclass
class PropertyTable:
    """A class definition and its encoded property table, before buffer views are assigned."""

    class_id: str
    class_schema: dict[str, Any]
    count: int
    columns: dict[str, PropertyColumn]

    def to_json(self, add_buffer_view) -> dict[str, Any]:
        """Table JSON; ``add_buffer_view(bytes) -> index`` stores each buffer at an 8-byte offset."""
        properties = {}
        for pid, column in self.columns.items():
            entry: dict[str, Any] = {"values": add_buffer_view(_view_bytes(column.buffers["values"]))}
            if "stringOffsets" in column.buffers:
                entry["stringOffsets"] = add_buffer_view(_view_bytes(column.buffers["stringOffsets"]))
                entry["stringOffsetType"] = column.string_offset_type
            properties[pid] = entry
        return {"class": self.class_id, "count": self.count, "properties": properties}


def build_property_table(class_name: str, feature_ids: Sequence[str],
                         rows: Sequence[Mapping[str, Any]], class_ids: IdentifierMap | None = None,
                         id_property: str = "feature_id") -> PropertyTable:
    """Build the class and property table for features of one kind.

    Parameters
    ----------
    class_name : str
        Feature kind as named by the caller (``bldg:Building``); sanitised for the id.
    feature_ids : sequence of str
        Each feature's identifier (e.g. ``gml:id``), stored as the string property
        ``id_property``.
    rows : sequence of mapping
        Per-feature properties; keys missing from a row are missing values.
    """
    class_ids = class_ids or IdentifierMap()
    class_id = class_ids(class_name)
    # reserve the id column's identifier so that a user property of the same name gets another
    property_ids = IdentifierMap({"\x00" + id_property: id_property})
    names = list(dict.fromkeys(key for row in rows for key in row))
    columns = {id_property: encode_column(list(feature_ids), name=id_property)}
    columns[id_property].schema["description"] = "feature identifier in the source data"
    for key in names:
        pid = property_ids(key)
        columns[pid] = encode_column([row.get(key) for row in rows], name=key)
    class_schema: dict[str, Any] = {"name": class_name, "properties": {pid: c.schema for pid, c in columns.items()}}
    return PropertyTable(class_id, class_schema, len(feature_ids), columns)
