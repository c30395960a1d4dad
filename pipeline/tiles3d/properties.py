"""Per-feature property rows for 3D Tiles property tables.

Every column of the ingest table goes in except ``attributes_json`` (the same values
again) and the geometry. Coded attributes are shown as what they mean: where the ingest
resolved a codelist (``usage`` = ``411``, ``usage_label`` = ``住宅``) the property
``usage`` holds the label and ``usage_code`` the raw code. A measure whose unit is the
same for every feature of the layer (``measured_height_uom`` = ``m``) loses its
per-feature ``_uom`` column: the unit goes into the property's schema description
(:func:`fold_constant_units`). Machi's own per-feature results (roof shade hours per
scenario, walkability of the nearest street, ...) join on ``gml_id`` from any number of
extra (Geo)Parquet tables.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

log = logging.getLogger(__name__)

SKIPPED_COLUMNS = frozenset({"attributes_json", "geometry"})
LABEL_SUFFIX = "_label"
CODE_SUFFIX = "_code"
UOM_SUFFIX = "_uom"
KEY = "gml_id"


def _plain(value: Any) -> Any:
    """A Python scalar (None for missing) the tiles metadata encoder can type."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def labelled_columns(columns: Iterable[str]) -> dict[str, str]:
    """Code column -> its label column, for every ``<name>`` that has ``<name>_label``."""
    names = set(columns)
    return {
        name[: -len(LABEL_SUFFIX)]: name
        for name in names
        if name.endswith(LABEL_SUFFIX) and name[: -len(LABEL_SUFFIX)] in names
    }


def table_columns(path: str | Path) -> list[str]:
    """Column names of a (Geo)Parquet table, without its geometry columns and
    ``attributes_json``; reads the footer only."""
    schema = pq.read_schema(path)
    geo = (schema.metadata or {}).get(b"geo")
    skip = set(SKIPPED_COLUMNS)
    if geo:
        import json

        skip |= set(json.loads(geo).get("columns", {}))
    return [name for name in schema.names if name not in skip]


def read_table_columns(path: str | Path, ids: Sequence[str] | None = None) -> pd.DataFrame:
    """A (Geo)Parquet table without its geometry columns, as a plain DataFrame; only the
    rows whose ``gml_id`` is in ``ids`` when given."""
    filters = [(KEY, "in", sorted(set(ids)))] if ids is not None else None
    # integer_object_nulls: an integer column with gaps stays integers (and None)
    return pq.read_table(path, columns=table_columns(path), filters=filters).to_pandas(
        integer_object_nulls=True
    )


def property_rows(table: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """gml_id -> properties of every row of an ingest table (labels instead of codes).

    Parameters
    ----------
    table : pandas.DataFrame
        An ingest table (``<mesh>_<module>.parquet``) or part of it, with ``gml_id``.
    """
    if KEY not in table.columns:
        raise ValueError(f"property table has no {KEY!r} column (columns: {list(table.columns)[:10]})")
    labels = labelled_columns(table.columns)
    label_columns = set(labels.values())
    columns = [c for c in table.columns if c not in SKIPPED_COLUMNS and c not in label_columns]
    rows: dict[str, dict[str, Any]] = {}
    records = table.to_dict(orient="records")
    for record in records:
        row: dict[str, Any] = {}
        for column in columns:
            value = _plain(record[column])
            if column in labels:
                label = _plain(record[labels[column]])
                row[column] = label if label is not None else value
                row[column + CODE_SUFFIX] = value
            else:
                row[column] = value
        rows[str(record[KEY])] = row
    return rows


def read_property_rows(paths: Sequence[str | Path]) -> dict[str, dict[str, Any]]:
    """gml_id -> properties from the ingest tables at ``paths`` (later files win a duplicate id)."""
    rows: dict[str, dict[str, Any]] = {}
    for path in paths:
        rows.update(property_rows(read_table_columns(path)))
    return rows


def fold_constant_units(rows: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Drop, in place, every ``<name>_uom`` property whose unit is the same for all
    features that have one; returns ``{name: "unit: <uom>"}`` for the schema descriptions.

    A unit that differs between features stays a per-feature ``<name>_uom`` property.
    """
    units: dict[str, set[str]] = {}
    for row in rows.values():
        for key, value in row.items():
            if key.endswith(UOM_SUFFIX) and value is not None:
                units.setdefault(key, set()).add(str(value))
    names = {key for row in rows.values() for key in row}
    folded = {
        key: next(iter(found))
        for key, found in units.items()
        if len(found) == 1 and key[: -len(UOM_SUFFIX)] in names
    }
    for row in rows.values():
        for key in folded:
            row.pop(key, None)
    return {key[: -len(UOM_SUFFIX)]: f"unit: {unit}" for key, unit in sorted(folded.items())}


def numeric_properties(paths: Sequence[str | Path]) -> set[str]:
    """Property names (as :func:`property_rows` names them) whose ingest column holds numbers
    (int, float or bool Parquet types) in any of the tables at ``paths``: a 3D Tiles schema
    must not type them STRING."""
    import pyarrow.types as pat

    found: set[str] = set()
    for path in paths:
        schema = pq.read_schema(path)
        labels = labelled_columns(schema.names)
        for field in schema:
            if field.name in SKIPPED_COLUMNS or field.name.endswith(LABEL_SUFFIX):
                continue
            if pat.is_integer(field.type) or pat.is_floating(field.type) or pat.is_boolean(field.type):
                found.add(field.name + CODE_SUFFIX if field.name in labels else field.name)
    return found
