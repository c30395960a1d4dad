"""Concatenating (Geo)Parquet files into one, a file at a time.

A run-wide table (every street segment of a city in one scenario) is the concatenation
of per-tile files. :func:`concat_parquet` streams them into one file, a row group per
input, so memory stays that of the largest input. The schemas are unified (a column
missing from a tile is null there) and, for GeoParquet, the ``geo`` metadata is merged:
the bounding box and geometry types cover every input.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from tiles.atomic import atomic_path


def _geo(schema: pa.Schema) -> dict | None:
    raw = (schema.metadata or {}).get(b"geo")
    return None if raw is None else json.loads(raw)


def merged_geo_metadata(metadata: Sequence[dict]) -> dict:
    """The ``geo`` metadata of the concatenation: per geometry column, the union of the
    bounding boxes and of the geometry types (everything else from the first)."""
    merged = json.loads(json.dumps(metadata[0]))
    for name, column in merged["columns"].items():
        boxes = [m["columns"][name]["bbox"] for m in metadata if m["columns"].get(name, {}).get("bbox")]
        if boxes:
            column["bbox"] = [
                min(b[0] for b in boxes),
                min(b[1] for b in boxes),
                max(b[2] for b in boxes),
                max(b[3] for b in boxes),
            ]
        types = sorted({t for m in metadata for t in m["columns"].get(name, {}).get("geometry_types", [])})
        column["geometry_types"] = types
    return merged


def concat_parquet(sources: Sequence[str | os.PathLike], target: str | os.PathLike, *, filters=None) -> int:
    """Write the rows of ``sources`` (Parquet, in the order given) into ``target``.

    Parameters
    ----------
    sources : sequence of path
        Parquet files; GeoParquet files all (with the same geometry column(s) and CRS)
        or none.
    target : path
        Written atomically.
    filters : optional
        A :func:`pyarrow.parquet.read_table` filter applied to every source (e.g. the rows
        of one scenario).

    Returns the number of rows written. The pandas metadata of the inputs is dropped
    (columns may differ between them); readers get the columns and the geometry.
    """
    if not sources:
        raise ValueError(f"{target}: no Parquet files to concatenate")
    schemas = [pq.read_schema(s) for s in sources]
    geo = [_geo(s) for s in schemas]
    if any(g is None for g in geo) and not all(g is None for g in geo):
        raise ValueError(f"{target}: some inputs are GeoParquet and some are not")
    unified = pa.unify_schemas([s.remove_metadata() for s in schemas], promote_options="permissive")
    if geo[0] is not None:
        unified = unified.with_metadata({b"geo": json.dumps(merged_geo_metadata(geo)).encode()})
    rows = 0
    with atomic_path(target) as tmp:
        with pq.ParquetWriter(tmp, unified) as writer:
            for source in sources:
                table = pq.read_table(source, filters=filters)
                if not table.num_rows:
                    continue
                columns = [
                    table.column(f.name).cast(f.type)
                    if f.name in table.column_names
                    else pa.nulls(table.num_rows, f.type)
                    for f in unified
                ]
                writer.write_table(pa.Table.from_arrays(columns, schema=unified))
                rows += table.num_rows
    return rows
