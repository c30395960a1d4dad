"""Checks of an exported layer tileset against the ingest tables it was made from.

Used by the tests on every shared PLATEAU dataset and reusable on any run's output
(``out/<run>/3dtiles/<layer>/tileset.json`` with the ingest records of that layer):

- :func:`check_layer_tileset`: the structural checks of :mod:`tiles.validate`, every
  GLB's metadata, the layer-wide property types (no STRING for a property that is
  numeric in the GeoParquet), and, given what a second client read back, the feature
  ids and every property value compared with the GeoParquet;
- :func:`read_back_with_loadersgl`: what loaders.gl's ``Tiles3DLoader`` (the loader
  behind deck.gl's ``Tile3DLayer``) reads from the tileset, through
  ``tests/js/read_tiles.mjs`` (needs Node.js and ``npm ci --prefix tests/js``).
"""

from __future__ import annotations

import json
import math
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from tiles.metadata import BOOL_NODATA, FLOAT_NODATA, INT64_NODATA, INT_NODATA
from tiles.validate import check_glb_metadata, check_property_types, check_tileset, content_paths

from .properties import KEY, numeric_properties, read_property_rows

_NODATA = {FLOAT_NODATA, INT_NODATA, INT64_NODATA}


def read_back_with_loadersgl(
    tileset_path: str | Path, script: str | Path, node: str = "node", timeout: float = 600
) -> dict[str, Any]:
    """Every content of a tileset as loaders.gl decodes it: ``{"tiles", "contents": [{uri,
    leaf, tables: [{class, name, count, properties: {id: [values]}}], featureIds}]}``.

    Raises
    ------
    RuntimeError
        When the Node script fails (its error output is in the message).
    """
    done = subprocess.run(
        [node, str(script), str(tileset_path)], capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0 or not done.stdout.strip():
        raise RuntimeError(f"loaders.gl could not read {tileset_path}: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout)


def _same(read: Any, expected: Any, name: str, schema: dict[str, Any]) -> bool:
    """Whether a value read from a property table is the GeoParquet value."""
    if isinstance(read, list):  # variable-length arrays are not written
        return False
    missing = expected is None or (isinstance(expected, float) and math.isnan(expected))
    kind = schema.get("componentType")
    if kind == "UINT8" and "boolean" in (schema.get("description") or ""):
        return (read == BOOL_NODATA) if missing else read == int(bool(expected))
    if schema.get("type") == "STRING":
        return read == (
            ""
            if missing
            else str(expected)
            if not isinstance(expected, (dict, list))
            else json.dumps(expected, ensure_ascii=False, default=str)
        )
    if missing:
        return float(read) in _NODATA or read == schema.get("noData")
    return math.isclose(
        float(read), float(expected), rel_tol=0, abs_tol=1e-9 * max(1.0, abs(float(expected)))
    )


def check_layer_tileset(
    tileset_path: str | Path,
    tables: Sequence[str | Path],
    meshes: Sequence[str | Path] = (),
    read_back: dict[str, Any] | None = None,
) -> list[str]:
    """Problems of one exported layer (empty when all is well).

    Parameters
    ----------
    tileset_path : path
        ``<layer>/tileset.json``.
    tables : sequence of path
        The layer's ingest GeoParquet tables (``outputs.table`` of its ingest records).
    meshes : sequence of path, optional
        The layer's ingest mesh files: the features with geometry, which the leaves must
        hold each exactly once.
    read_back : dict, optional
        :func:`read_back_with_loadersgl` of the tileset: feature ids and every property
        value of every leaf table are compared with the GeoParquet.
    """
    tileset_path = Path(tileset_path)
    problems = [f"tileset: {p}" for p in check_tileset(tileset_path)]
    for path in content_paths(tileset_path):
        problems += [f"{path.name}: {p}" for p in check_glb_metadata(path)]
    problems += check_property_types(tileset_path, numeric_properties(tables))
    if read_back is None:
        return problems
    rows = read_property_rows(tables)
    expected_ids = set(rows)
    if meshes:
        expected_ids = {
            str(i)
            for m in meshes
            for i in pq.read_table(m, columns=["feature_id"]).column("feature_id").to_pylist()
        }
    schemas = _schemas(tileset_path)
    found: dict[str, int] = {}
    checked = 0
    for content in read_back["contents"]:
        if not content["leaf"]:
            continue
        for table in content["tables"]:
            props = table["properties"]
            ids = props.get(KEY)
            if ids is None or len(ids) != table["count"]:
                problems.append(
                    f"{content['uri']}: class {table['name']} has no {KEY} column of "
                    f"{table['count']} value(s)"
                )
                continue
            for i, gml_id in enumerate(ids):
                found[gml_id] = found.get(gml_id, 0) + 1
                row = rows.get(gml_id)
                if row is None:
                    problems.append(f"{content['uri']}: feature {gml_id} is not in the GeoParquet")
                    continue
                for pid, values in props.items():
                    schema = schemas.get((table["class"], pid), {})
                    name = schema.get("name", pid)
                    if name in ("feature_id", KEY):
                        continue
                    checked += 1
                    if not _same(values[i], row.get(name), name, schema):
                        problems.append(
                            f"{content['uri']}: {gml_id} {name} read {values[i]!r}, "
                            f"GeoParquet has {row.get(name)!r}"
                        )
        for ids in content["featureIds"]:
            if ids["min"] < 0 or ids["max"] >= content["tables"][ids["table"]]["count"]:
                problems.append(
                    f"{content['uri']}: feature ids {ids['min']}..{ids['max']} outside table {ids['table']}"
                )
    missing = sorted(expected_ids - set(found))
    doubled = sorted(k for k, n in found.items() if n > 1 and not _patched(tileset_path))
    if missing:
        problems.append(f"{len(missing)} feature(s) with geometry not read back, e.g. {missing[:3]}")
    if doubled:
        problems.append(f"{len(doubled)} feature(s) in more than one leaf, e.g. {doubled[:3]}")
    if not checked:
        problems.append("no property value was read back")
    return problems


def _patched(tileset_path: Path) -> bool:
    """Whether the layer cuts features into patches (terrain): a gml_id then recurs."""
    return tileset_path.parent.name == "dem"


def _schemas(tileset_path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """(class id, property id) -> class property schema, from every content."""
    from tiles.gltf import read_glb

    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path in content_paths(tileset_path):
        gltf, _ = read_glb(path.read_bytes())
        classes = (
            gltf.get("extensions", {}).get("EXT_structural_metadata", {}).get("schema", {}).get("classes", {})
        )
        for class_id, cls in classes.items():
            for pid, prop in cls.get("properties", {}).items():
                found.setdefault((class_id, pid), prop)
    return found
