"""EXT_structural_metadata: identifiers, schema classes and binary property tables.

The 3D Metadata specification restricts class and property ids to
``^[a-zA-Z_][a-zA-Z0-9_]*$``; :class:`IdentifierMap` turns arbitrary names (``bldg:Building``,
``uro:建物ID``) into stable unique identifiers and keeps the original in ``name``.
A property's type is decided once for a whole layer (:class:`LayerSchema`: every value of
the property in every class and tile), never from the values one class holds in one tile:
bool -> UINT8 0/1 (``noData`` 255 when the layer has missing ones; loaders.gl reads no
BOOLEAN tables), int -> INT32 or
INT64, int and float -> FLOAT64, anything else -> STRING. A class declares the properties
its features have a value for somewhere in the layer; a property table leaves out a
property that none of its features has a value for (the class does not require it, so a
reader sees no value), so no empty column is ever written. The buffers follow the binary
table format (8-byte aligned views, UTF-8 strings with UINT32 offsets whose last offset
is exactly the ``values`` view's length, booleans as little-endian bitstreams).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

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


@dataclass(frozen=True)
class PropertyType:
    """How one property is stored in every class and tile of a layer.

    ``kind`` is ``"BOOLEAN"``, ``"STRING"``, ``"UINT8"`` (booleans with missing values),
    ``"INT32"``, ``"INT64"`` or ``"FLOAT64"``; ``no_data`` is declared when some feature
    of the layer has no value; ``description`` goes into the schema (units, meaning).
    """

    kind: str
    no_data: Any = None
    description: str | None = None

    def schema(self, name: str | None = None) -> dict[str, Any]:
        """The 3D Metadata class property entry."""
        entry: dict[str, Any] = {"required": False}
        if name is not None:
            entry["name"] = name
        if self.kind in ("BOOLEAN", "STRING"):
            entry["type"] = self.kind
        else:
            entry.update(type="SCALAR", componentType=self.kind)
        if self.no_data is not None:
            entry["noData"] = self.no_data
        if self.kind == "UINT8":
            entry["description"] = (
                "boolean: 1 true, 0 false, 255 missing"
                if self.no_data is not None
                else "boolean: 1 true, 0 false"
            )
        if self.description:
            entry["description"] = (
                f"{entry['description']}; {self.description}" if "description" in entry else self.description
            )
        return entry


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _is_bool(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_))


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not _is_bool(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not _is_bool(value)


@dataclass
class ValueStats:
    """What typing a property needs to know of its values, mergeable across parts.

    ``kinds`` holds ``"bool"``, ``"int"``, ``"float"`` and ``"other"`` for the kinds of
    value seen; ``missing`` whether a value was None/NaN; ``low``/``high`` the range of
    the integers (0 included, as the first decision did).
    """

    kinds: set[str] = field(default_factory=set)
    missing: bool = False
    low: int = 0
    high: int = 0

    def add(self, value: Any) -> None:
        """Count one value.

        Raises
        ------
        ValueError
            If a number is infinite (3D Metadata numbers are finite).
        """
        if _is_missing(value):
            self.missing = True
        elif _is_bool(value):
            self.kinds.add("bool")
        elif _is_int(value):
            self.kinds.add("int")
            self.low, self.high = min(self.low, int(value)), max(self.high, int(value))
        elif _is_number(value):
            if not math.isfinite(float(value)):
                raise ValueError("a property holds an infinite value; metadata needs finite numbers")
            self.kinds.add("float")
        else:
            self.kinds.add("other")

    def merge(self, other: ValueStats) -> ValueStats:
        """The stats of both parts' values together (a new object)."""
        return ValueStats(
            self.kinds | other.kinds,
            self.missing or other.missing,
            min(self.low, other.low),
            max(self.high, other.high),
        )

    def to_json(self) -> dict[str, Any]:
        return {"kinds": sorted(self.kinds), "missing": self.missing, "low": self.low, "high": self.high}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ValueStats:
        return cls(set(data["kinds"]), bool(data["missing"]), int(data["low"]), int(data["high"]))

    def property_type(self, description: str | None = None) -> PropertyType:
        """The type these values get (see :func:`infer_property_type`)."""
        found, missing = self.kinds, self.missing
        if found == {"bool"}:
            # UINT8 0/1 rather than BOOLEAN: loaders.gl (deck.gl's Tile3DLayer) cannot read
            # BOOLEAN property tables, and a missing boolean needs a noData value anyway.
            return PropertyType("UINT8", BOOL_NODATA if missing else None, description)
        if found == {"int"}:
            if INT_NODATA < self.low and self.high <= np.iinfo(np.int32).max:
                return PropertyType("INT32", int(INT_NODATA) if missing else None, description)
            if INT64_NODATA < self.low:
                return PropertyType("INT64", int(INT64_NODATA) if missing else None, description)
        elif found and found <= {"int", "float"}:
            return PropertyType("FLOAT64", float(FLOAT_NODATA) if missing else None, description)
        return PropertyType("STRING", "" if missing else None, description)


def infer_property_type(values: Iterable[Any], description: str | None = None) -> PropertyType:
    """The type of a property from all its values in a layer (``None``/NaN = missing).

    Raises
    ------
    ValueError
        If a number is infinite (3D Metadata numbers are finite).
    """
    stats = ValueStats()
    for value in values:
        stats.add(value)
    return stats.property_type(description)


@dataclass
class LayerSchema:
    """Property types and class properties decided once for a whole layer.

    ``types`` maps a property name to its :class:`PropertyType`; ``classes`` maps a class
    name to the property names (in first-seen order) that its features have a value for
    somewhere in the layer.
    """

    types: dict[str, PropertyType] = field(default_factory=dict)
    classes: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_rows(
        cls,
        rows_by_class: Mapping[str, Iterable[Mapping[str, Any]]],
        descriptions: Mapping[str, str] | None = None,
        types: Mapping[str, PropertyType] | None = None,
    ) -> LayerSchema:
        """Decide every property's type from all rows of all classes.

        Parameters
        ----------
        rows_by_class : mapping
            Class name -> its features' property rows (the whole layer).
        descriptions : mapping, optional
            Property name -> schema description (e.g. ``"unit: m"``).
        types : mapping, optional
            Types decided by the caller (from the source schema); they win.
        """
        descriptions = descriptions or {}
        values: dict[str, list[Any]] = {}
        classes: dict[str, list[str]] = {}
        for class_name, rows in rows_by_class.items():
            filled: dict[str, None] = classes.setdefault(class_name, {})  # type: ignore[assignment]
            for row in rows:
                for key, value in row.items():
                    values.setdefault(key, []).append(value)
                    if not _is_missing(value):
                        filled.setdefault(key, None)
        schema = cls({}, {name: list(keys) for name, keys in classes.items()})
        for key, found in values.items():
            given = (types or {}).get(key)
            schema.types[key] = (
                given if given is not None else infer_property_type(found, descriptions.get(key))
            )
        return schema

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable form (:meth:`from_json` reads it back)."""
        return {
            "types": {name: [t.kind, t.no_data, t.description] for name, t in self.types.items()},
            "classes": self.classes,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LayerSchema:
        return cls(
            {name: PropertyType(*entry) for name, entry in data["types"].items()},
            {name: list(keys) for name, keys in data["classes"].items()},
        )

    @classmethod
    def from_features(
        cls,
        features: Iterable[Any],
        descriptions: Mapping[str, str] | None = None,
        types: Mapping[str, PropertyType] | None = None,
    ) -> LayerSchema:
        """:meth:`from_rows` over features with ``class_name`` and ``properties``."""
        by_class: dict[str, list[Mapping[str, Any]]] = {}
        for feature in features:
            by_class.setdefault(feature.class_name, []).append(feature.properties)
        return cls.from_rows(by_class, descriptions, types)


@dataclass
class PropertyColumn:
    """One typed, encoded property: its schema entry and the buffers of its values."""

    schema: dict[str, Any]
    buffers: dict[str, bytes]  # "values" and, for strings, "stringOffsets"
    string_offset_type: str | None = None

    @property
    def empty(self) -> bool:
        """No bytes of values: a table must leave the property out (glTF forbids empty
        buffer views, and 3D Metadata wants ``values`` exactly as long as the strings)."""
        return not self.buffers["values"]


def encode_column(
    values: Sequence[Any], name: str | None = None, kind: PropertyType | None = None
) -> PropertyColumn:
    """Encode one column of per-feature values (``None``/NaN = missing) as ``kind``.

    Without ``kind`` the column is typed from ``values`` alone (:func:`infer_property_type`).
    Numbers of a STRING property are written as text, dicts and lists as JSON.
    """
    kind = kind or infer_property_type(values)
    schema = kind.schema(name)
    if kind.kind == "BOOLEAN":
        bits = np.packbits(np.array([bool(v) for v in values], dtype=bool), bitorder="little")
        return PropertyColumn(schema, {"values": bits.tobytes()})
    if kind.kind == "UINT8":
        arr = np.array([BOOL_NODATA if _is_missing(v) else int(bool(v)) for v in values], dtype=np.uint8)
        return PropertyColumn(schema, {"values": arr.tobytes()})
    if kind.kind in ("INT32", "INT64"):
        nodata = int(INT_NODATA if kind.kind == "INT32" else INT64_NODATA)
        arr = np.array(
            [nodata if _is_missing(v) else int(v) for v in values],
            dtype=np.int32 if kind.kind == "INT32" else np.int64,
        )
        return PropertyColumn(schema, {"values": arr.tobytes()})
    if kind.kind == "FLOAT64":
        arr = np.array([FLOAT_NODATA if _is_missing(v) else float(v) for v in values], dtype=np.float64)
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"property {name!r} holds an infinite value; metadata needs finite numbers")
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
    return PropertyColumn(
        schema,
        {"values": b"".join(encoded), "stringOffsets": offsets.tobytes()},
        string_offset_type=offset_type,
    )


@dataclass
class PropertyTable:
    """A class definition and its encoded property table, before buffer views are assigned.

    ``class_schema`` declares the properties of the class that this table has values for,
    and ``columns`` holds exactly those: the schema is a content's own (3D Metadata lets a
    table omit a non-required property, but the CesiumGS 3D Tiles validator fails with
    "The property table does not define property ..." on one that is declared and not
    written). Types come from the layer schema, so a property is typed alike everywhere.
    """

    class_id: str
    class_schema: dict[str, Any]
    count: int
    columns: dict[str, PropertyColumn]

    def to_json(self, add_buffer_view) -> dict[str, Any]:
        """Table JSON; ``add_buffer_view(bytes) -> index`` stores each buffer at an 8-byte offset."""
        properties = {}
        for pid, column in self.columns.items():
            entry: dict[str, Any] = {"values": add_buffer_view(column.buffers["values"])}
            if "stringOffsets" in column.buffers:
                entry["stringOffsets"] = add_buffer_view(column.buffers["stringOffsets"])
                entry["stringOffsetType"] = column.string_offset_type
            properties[pid] = entry
        return {"class": self.class_id, "count": self.count, "properties": properties}


def build_property_table(
    class_name: str,
    feature_ids: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    class_ids: IdentifierMap | None = None,
    id_property: str = "feature_id",
    schema: LayerSchema | None = None,
) -> PropertyTable:
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
    schema : LayerSchema, optional
        Types and class properties decided for the whole layer; without it they are
        decided from ``rows`` (one table: use only when the table is the whole layer).
    """
    class_ids = class_ids or IdentifierMap()
    class_id = class_ids(class_name)
    if schema is None or class_name not in schema.classes:
        schema = LayerSchema.from_rows({class_name: rows})
    # reserve the id column's identifier so that a user property of the same name gets another
    property_ids = IdentifierMap({"\x00" + id_property: id_property})
    columns = {id_property: encode_column(list(feature_ids), name=id_property, kind=PropertyType("STRING"))}
    columns[id_property].schema["description"] = "feature identifier in the source data"
    if columns[id_property].empty:
        raise ValueError(f"class {class_name!r}: every feature identifier is empty")
    properties = {id_property: columns[id_property].schema}
    for key in schema.classes[class_name]:
        pid = property_ids(key)
        if all(_is_missing(row.get(key)) for row in rows):
            continue  # neither declared nor written: no feature of this table has a value
        column = encode_column([row.get(key) for row in rows], name=key, kind=schema.types[key])
        if column.empty:
            continue  # only empty strings: glTF has no empty buffer views
        properties[pid] = column.schema
        columns[pid] = column
    class_schema: dict[str, Any] = {"name": class_name, "properties": properties}
    return PropertyTable(class_id, class_schema, len(feature_ids), columns)
