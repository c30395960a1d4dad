"""A layer's property schema, decided from per-file partials.

3D Tiles property types are decided once for a whole layer (:class:`tiles.metadata.LayerSchema`),
yet a city's layer is exported one PLATEAU file at a time. So each file first reports
what typing needs of its properties (:class:`SchemaPartial`: per property the kinds of
value, whether one is missing and the integer range; per class the properties it fills;
the units of ``*_uom`` columns; which properties have any value), a small reduce merges
the partials (:func:`merge_partials`), and every file's tiles are then written with the
merged :class:`LayerPlan`. The result is the schema that typing every feature of the
layer at once would give.

Per-feature tables of the run (roof shade hours per tile, the nearest street) join on
``gml_id``: a table column joins unless a source property has its name; several tables
may hold the same column (one per tile), and for an id in several the last table in
order wins.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tiles.metadata import LayerSchema, ValueStats

from .properties import KEY, UOM_SUFFIX, _plain, property_rows, read_table_columns, table_columns

log = logging.getLogger(__name__)


@dataclass
class SchemaPartial:
    """What one file of a layer tells the layer's schema (JSON-serialisable, mergeable).

    ``source_keys``: the ingest table's properties, first-seen order; ``extra_keys``: the
    columns each extra table brings, in the order the tables were given (no paths: a
    partial is the same wherever the run is written); ``stats``/``extra_stats``: value stats
    over the file's exported features (source and extra properties apart, as a source
    property takes precedence over a joined column of the same name); ``classes``/
    ``extra_classes``: per class, the properties its features fill, first-seen order;
    ``filled``: properties with a value in any row; ``units``: the units of each
    ``*_uom`` column.
    """

    source_keys: list[str] = field(default_factory=list)
    extra_keys: list[list[str]] = field(default_factory=list)
    stats: dict[str, ValueStats] = field(default_factory=dict)
    extra_stats: dict[str, ValueStats] = field(default_factory=dict)
    classes: dict[str, list[str]] = field(default_factory=dict)
    extra_classes: dict[str, list[str]] = field(default_factory=dict)
    filled: set[str] = field(default_factory=set)
    units: dict[str, set[str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "source_keys": self.source_keys,
            "extra_keys": self.extra_keys,
            "stats": {k: v.to_json() for k, v in self.stats.items()},
            "extra_stats": {k: v.to_json() for k, v in self.extra_stats.items()},
            "classes": self.classes,
            "extra_classes": self.extra_classes,
            "filled": sorted(self.filled),
            "units": {k: sorted(v) for k, v in self.units.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SchemaPartial:
        return cls(
            list(data["source_keys"]),
            [list(v) for v in data["extra_keys"]],
            {k: ValueStats.from_json(v) for k, v in data["stats"].items()},
            {k: ValueStats.from_json(v) for k, v in data["extra_stats"].items()},
            {k: list(v) for k, v in data["classes"].items()},
            {k: list(v) for k, v in data["extra_classes"].items()},
            set(data["filled"]),
            {k: set(v) for k, v in data["units"].items()},
        )


@dataclass
class LayerPlan:
    """The merged decision for a layer: its schema, the extra columns that join, and the
    properties left out (never filled, or a unit folded into the schema)."""

    schema: LayerSchema
    extra_columns: list[str]
    left_out: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": self.schema.to_json(),
            "extra_columns": self.extra_columns,
            "left_out": self.left_out,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LayerPlan:
        return cls(LayerSchema.from_json(data["schema"]), list(data["extra_columns"]), list(data["left_out"]))

    def write(self, path: str | Path) -> Path:
        from tiles.atomic import write_text_atomic

        return write_text_atomic(path, json.dumps(self.to_json(), ensure_ascii=False, sort_keys=True))

    @classmethod
    def read(cls, path: str | Path) -> LayerPlan:
        return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))


def source_rows(table: str | Path | None) -> dict[str, dict[str, Any]]:
    """gml_id -> properties of one ingest table (labels for codes); {} without a table."""
    return property_rows(read_table_columns(table)) if table else {}


def extra_rows(path: str | Path, ids: Iterable[str]) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """The columns of an extra (Geo)Parquet table and its rows for ``ids`` (by gml_id).

    Raises
    ------
    ValueError
        If the table has no ``gml_id`` column.
    """
    names = table_columns(path)
    if KEY not in names:
        raise ValueError(f"{path}: an extra property table needs a {KEY!r} column (has {names[:10]})")
    columns = [c for c in names if c != KEY]
    wanted = list(ids)
    if not wanted:
        return columns, {}
    found = read_table_columns(path, wanted)
    return columns, {
        str(record[KEY]): {c: _plain(record[c]) for c in columns}
        for record in found.to_dict(orient="records")
    }


def _add_filled(
    order: dict[str, list[str]], seen: dict[str, set[str]], class_name: str, row: dict[str, Any]
) -> None:
    keys, known = order.setdefault(class_name, []), seen.setdefault(class_name, set())
    for key, value in row.items():
        if key not in known and not (value is None or (isinstance(value, float) and value != value)):
            keys.append(key)
            known.add(key)


def schema_partial(
    rows: dict[str, dict[str, Any]],
    features: Sequence[tuple[str, str]],
    extra: Sequence[tuple[str, list[str], dict[str, dict[str, Any]]]],
) -> SchemaPartial:
    """The partial of one file.

    Parameters
    ----------
    rows : dict
        gml_id -> source properties of every row of the file's ingest table.
    features : sequence of (gml_id, class name)
        The file's exported features in mesh order (a feature without a row exports its
        ``gml_id`` only).
    extra : sequence of (table path, columns, rows)
        Each extra table's columns and its rows for this file's ids (:func:`extra_rows`).
    """
    partial = SchemaPartial()
    seen: set[str] = set()
    for row in rows.values():
        for key, value in row.items():
            if key not in seen:
                seen.add(key)
                partial.source_keys.append(key)
            if value is not None:
                partial.filled.add(key)
                if key.endswith(UOM_SUFFIX):
                    partial.units.setdefault(key, set()).add(str(value))
    seen_classes: dict[str, set[str]] = {}
    for feature_id, class_name in features:
        row = rows.get(feature_id) or {KEY: feature_id}
        for key, value in row.items():
            partial.stats.setdefault(key, ValueStats()).add(value)
        _add_filled(partial.classes, seen_classes, class_name, row)
    seen_extra: dict[str, set[str]] = {}
    for _path, columns, found in extra:
        partial.extra_keys.append(list(columns))
        for row in found.values():
            partial.filled.update(k for k, v in row.items() if v is not None)
        for feature_id, class_name in features:
            row = found.get(feature_id)
            if row is None or feature_id not in rows:  # a table joins rows of the source only
                continue
            for key, value in row.items():
                partial.extra_stats.setdefault(key, ValueStats()).add(value)
            _add_filled(partial.extra_classes, seen_extra, class_name, row)
    return partial


def merge_partials(partials: Sequence[SchemaPartial]) -> LayerPlan:
    """The layer's plan from its files' partials, in file order.

    Every partial lists the same extra tables in the same order (user tables first, then
    the run's per-feature tables); their columns join unless a source property has the
    name.
    """
    source_keys: dict[str, None] = {}
    stats: dict[str, ValueStats] = {}
    extra_stats: dict[str, ValueStats] = {}
    classes: dict[str, dict[str, None]] = defaultdict(dict)
    extra_classes: dict[str, dict[str, None]] = defaultdict(dict)
    filled: set[str] = set()
    units: dict[str, set[str]] = defaultdict(set)
    extra_keys: list[dict[str, None]] = []
    for partial in partials:
        source_keys.update(dict.fromkeys(partial.source_keys))
        for target, part in ((stats, partial.stats), (extra_stats, partial.extra_stats)):
            for key, value in part.items():
                target[key] = target[key].merge(value) if key in target else value
        for target, part in ((classes, partial.classes), (extra_classes, partial.extra_classes)):
            for name, keys in part.items():
                target[name].update(dict.fromkeys(keys))
        filled |= partial.filled
        for key, found in partial.units.items():
            units[key] |= found
        if extra_keys and len(partial.extra_keys) != len(extra_keys):
            raise ValueError(
                f"partials of one layer list {len(extra_keys)} and {len(partial.extra_keys)} extra tables"
            )
        for i, columns in enumerate(partial.extra_keys):
            if i == len(extra_keys):
                extra_keys.append({})
            extra_keys[i].update(dict.fromkeys(columns))
    joined: dict[str, None] = {}
    for i, columns in enumerate(extra_keys):
        clashes = [c for c in columns if c in source_keys]
        if clashes:
            log.warning(
                "extra table %d: column(s) %s already are feature properties; skipped", i + 1, clashes
            )
        for column in columns:
            if column not in source_keys:
                joined.setdefault(column)
    names = set(source_keys) | set(joined)
    folded = {
        key: next(iter(found))
        for key, found in units.items()
        if len(found) == 1 and key[: -len(UOM_SUFFIX)] in names
    }
    empty = {key for key in names if key not in filled}
    left_out = empty | set(folded)
    descriptions = {key[: -len(UOM_SUFFIX)]: f"unit: {unit}" for key, unit in sorted(folded.items())}
    schema = LayerSchema()
    for key in [*source_keys, *joined]:
        value = stats.get(key) if key in source_keys else extra_stats.get(key)
        if key in left_out or value is None:
            continue
        schema.types[key] = value.property_type(descriptions.get(key))
    for name in sorted(set(classes) | set(extra_classes)):
        keys = [k for k in classes.get(name, {}) if k not in left_out]
        keys += [k for k in extra_classes.get(name, {}) if k in joined and k not in left_out]
        schema.classes[name] = keys
    return LayerPlan(schema, list(joined), sorted(left_out))


def file_rows(
    table: str | Path | None, extra_tables: Sequence[str], plan: LayerPlan
) -> dict[str, dict[str, Any]]:
    """gml_id -> the properties one file's features export, as ``plan`` decided them."""
    rows = source_rows(table)
    joined = set(plan.extra_columns)
    for path in extra_tables:
        columns, found = extra_rows(path, rows)
        columns = [c for c in columns if c in joined]
        for feature_id, values in found.items():
            rows[feature_id].update({c: values[c] for c in columns})
    left_out = set(plan.left_out)
    for row in rows.values():
        for key in left_out & row.keys():
            del row[key]
    return rows
