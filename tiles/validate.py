"""Checks of written tilesets and GLB content, reusable by tests and by the pipeline's run report.

Each ``check_*`` returns a list of problems (empty when all is well) rather than
raising, so a caller can report every problem of a city at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .bounds import box_corners, points_in_box, region_contains
from .collection import tile_transform
from .geodesy import Y_UP_TO_Z_UP
from .gltf import read_accessor, read_glb
from .metadata import IDENTIFIER_RE


def iter_tiles(
    tileset: dict[str, Any], world: np.ndarray | None = None
) -> Iterator[tuple[dict[str, Any], dict[str, Any] | None, np.ndarray]]:
    """(tile, parent, world transform) for every tile, parents first; ``world`` is the
    transform the tileset is placed under (a referencing tile's, for an external one)."""
    base = np.eye(4) if world is None else world
    stack = [(tileset["root"], None, base @ tile_transform(tileset["root"]))]
    while stack:
        tile, parent, world = stack.pop()
        yield tile, parent, world
        for child in tile.get("children", []):
            stack.append((child, tile, world @ tile_transform(child)))


def _contained(child: dict, child_world: np.ndarray, parent: dict, parent_world: np.ndarray) -> bool | None:
    cv, pv = child["boundingVolume"], parent["boundingVolume"]
    if "region" in cv and "region" in pv:
        return region_contains(pv["region"], cv["region"])
    if "box" in cv and "box" in pv:
        corners = box_corners(cv["box"])
        world = corners @ child_world[:3, :3].T + child_world[:3, 3]
        local = (world - parent_world[:3, 3]) @ np.linalg.inv(parent_world[:3, :3]).T
        return bool(points_in_box(local, pv["box"], tolerance=1e-3).all())
    return None  # mixed kinds: not checked


def check_tileset(tileset_path: str | Path) -> list[str]:
    """Structural checks of a tileset.json and its content files.

    - asset.version is "1.1";
    - every child's bounding volume lies inside its parent's (boxes and regions);
    - geometric error never increases from a parent to a child, and the tileset's is
      at least the root's;
    - every content URI resolves to a file.
    """
    tileset_path = Path(tileset_path)
    tileset = json.loads(tileset_path.read_text(encoding="utf-8"))
    problems: list[str] = []
    if tileset.get("asset", {}).get("version") != "1.1":
        problems.append(f"asset.version is {tileset.get('asset', {}).get('version')!r}, not '1.1'")
    if tileset.get("geometricError", -1) < tileset["root"].get("geometricError", 0):
        problems.append("tileset geometricError is below the root's")
    worlds: dict[int, np.ndarray] = {}
    for tile, parent, world in iter_tiles(tileset):
        worlds[id(tile)] = world
        name = tile.get("content", {}).get("uri", "(no content)")
        if tile.get("geometricError", -1) < 0:
            problems.append(f"tile {name}: missing or negative geometricError")
        if "content" in tile:
            uri = tile["content"]["uri"]
            if not (tileset_path.parent / uri).is_file():
                problems.append(f"tile content {uri} does not exist")
            elif uri.endswith(".json"):
                problems += _check_external(tileset_path.parent / uri, uri, tile, world)
        if parent is None:
            continue
        if tile["geometricError"] > parent["geometricError"]:
            problems.append(
                f"tile {name}: geometricError {tile['geometricError']} exceeds its parent's "
                f"{parent['geometricError']}"
            )
        inside = _contained(tile, world, parent, worlds[id(parent)])
        if inside is False:
            problems.append(f"tile {name}: bounding volume not inside its parent's")
    return problems


def _check_external(path: Path, uri: str, tile: dict[str, Any], world: np.ndarray) -> list[str]:
    """Problems of an external tileset referenced by ``tile``: its own, and its root's
    bounding volume lying outside the referencing tile's."""
    external = json.loads(path.read_text(encoding="utf-8"))
    problems = [f"{uri}: {p}" for p in check_tileset(path)]
    root = external["root"]
    if _contained(root, world @ tile_transform(root), tile, world) is False:
        problems.append(f"{uri}: root bounding volume not inside the referencing tile's")
    return problems


def iter_contents(
    tileset_path: str | Path, world: np.ndarray | None = None
) -> Iterator[tuple[Path, dict[str, Any], np.ndarray]]:
    """(content file, tile, world transform) of every GLB content, parents first, following
    external tilesets (a content ``.json``) with their transforms composed as a client does."""
    tileset_path = Path(tileset_path)
    tileset = json.loads(tileset_path.read_text(encoding="utf-8"))
    for tile, _, tile_world in iter_tiles(tileset, world):
        if "content" not in tile:
            continue
        path = tileset_path.parent / tile["content"]["uri"]
        if path.suffix == ".json":
            yield from iter_contents(path, tile_world)
        else:
            yield path, tile, tile_world


def content_paths(tileset_path: str | Path, leaves_only: bool = False) -> list[Path]:
    """Paths of the content files (GLB), optionally only those of leaf tiles; external
    tilesets are followed (:func:`iter_contents`), not listed."""
    return [
        path for path, tile, _ in iter_contents(tileset_path) if not (leaves_only and tile.get("children"))
    ]


def count_features(tileset_path: str | Path, leaves_only: bool = True) -> int:
    """Features in the content: property-table rows, or points when there is no table."""
    total = 0
    for path in content_paths(tileset_path, leaves_only):
        gltf, _ = read_glb(path.read_bytes())
        tables = gltf.get("extensions", {}).get("EXT_structural_metadata", {}).get("propertyTables")
        if tables:
            total += sum(t["count"] for t in tables)
        else:
            total += sum(
                gltf["accessors"][p["attributes"]["POSITION"]]["count"]
                for m in gltf["meshes"]
                for p in m["primitives"]
            )
    return total


def glb_positions_ecef(path: str | Path, world: np.ndarray) -> np.ndarray:
    """All vertex positions of a GLB in ECEF: node translation, y-up to z-up, then ``world``
    (the tile's accumulated transform), as a 3D Tiles client places them."""
    gltf, binary = read_glb(Path(path).read_bytes())
    out = []
    for node in gltf["nodes"]:
        if "mesh" not in node:
            continue
        local = np.eye(4)
        if "matrix" in node:
            local = np.asarray(node["matrix"]).reshape(4, 4).T
        elif "translation" in node:
            local[:3, 3] = node["translation"]
        matrix = world @ Y_UP_TO_Z_UP @ local
        for primitive in gltf["meshes"][node["mesh"]]["primitives"]:
            positions = read_accessor(gltf, binary, primitive["attributes"]["POSITION"]).astype(np.float64)
            out.append(positions @ matrix[:3, :3].T + matrix[:3, 3])
    return np.concatenate(out) if out else np.zeros((0, 3))


def check_glb_metadata(path: str | Path) -> list[str]:
    """Checks of EXT_mesh_features / EXT_structural_metadata, which glTF-Validator skips.

    Identifiers match the 3D Metadata rule, property-table buffer views are 8-byte
    aligned and in range, a string property's ``values`` view is exactly as long as its
    last string offset, table properties are declared by their class and every class property
    has a column, feature ids index their property table, and featureCount counts the
    distinct ids.
    """
    gltf, binary = read_glb(Path(path).read_bytes())
    problems: list[str] = []
    metadata = gltf.get("extensions", {}).get("EXT_structural_metadata")
    if metadata is None:
        return [f"{path}: no EXT_structural_metadata"]
    classes = metadata["schema"].get("classes", {})
    for class_id, cls in classes.items():
        if not IDENTIFIER_RE.match(class_id):
            problems.append(f"class id {class_id!r} is not an identifier")
        for pid in cls.get("properties", {}):
            if not IDENTIFIER_RE.match(pid):
                problems.append(f"property id {class_id}.{pid!r} is not an identifier")
    views = gltf.get("bufferViews", [])
    tables = metadata.get("propertyTables", [])
    for t, table in enumerate(tables):
        if table["class"] not in classes:
            problems.append(f"property table {t}: unknown class {table['class']!r}")
            continue
        for pid, prop in table["properties"].items():
            for key in ("values", "stringOffsets"):
                if key not in prop:
                    continue
                view = views[prop[key]]
                if view.get("byteOffset", 0) % 8 or view.get("byteOffset", 0) + view["byteLength"] > len(
                    binary
                ):
                    problems.append(f"table {t} property {pid}: {key} buffer view misaligned or out of range")
            if "stringOffsets" in prop:
                view = views[prop["stringOffsets"]]
                dtype = np.uint32 if prop.get("stringOffsetType", "UINT32") == "UINT32" else np.uint64
                offsets = np.frombuffer(
                    binary, dtype=dtype, count=table["count"] + 1, offset=view.get("byteOffset", 0)
                )
                values_length = views[prop["values"]]["byteLength"]
                if np.any(np.diff(offsets.astype(np.int64)) < 0):
                    problems.append(f"table {t} property {pid}: string offsets not increasing")
                if int(offsets[-1]) != values_length:
                    problems.append(
                        f"table {t} property {pid}: values buffer view is {values_length} "
                        f"byte(s), the last string offset {int(offsets[-1])}"
                    )
        class_properties = classes[table["class"]].get("properties", {})
        for pid in table["properties"]:
            if pid not in class_properties:
                problems.append(f"table {t}: property {pid!r} is not in class {table['class']!r}")
        for pid, prop in class_properties.items():
            if pid not in table["properties"]:  # the CesiumGS 3D Tiles validator fails on it
                problems.append(f"table {t}: class property {pid!r} has no column in the table")
            if prop.get("type") == "BOOLEAN" and "noData" in prop:
                problems.append(f"class {table['class']}: BOOLEAN property {pid!r} declares noData")
    for mesh in gltf.get("meshes", []):
        for primitive in mesh["primitives"]:
            for feature_ids in (
                primitive.get("extensions", {}).get("EXT_mesh_features", {}).get("featureIds", [])
            ):
                ids = read_accessor(
                    gltf, binary, primitive["attributes"][f"_FEATURE_ID_{feature_ids['attribute']}"]
                )
                count = tables[feature_ids["propertyTable"]]["count"]
                if ids.min() < 0 or ids.max() >= count or np.any(ids != np.round(ids)):
                    problems.append(
                        f"feature ids outside 0..{count - 1} of property table {feature_ids['propertyTable']}"
                    )
                if feature_ids["featureCount"] != len(np.unique(ids)):
                    problems.append("featureCount differs from the number of distinct feature ids")
    return problems


def check_property_types(tileset_path: str | Path, numeric: Iterable[str] = ()) -> list[str]:
    """Layer-wide checks of the property schema of every content of a tileset.

    - a property has one type (``type``/``componentType``) in every class and content;
    - a property named in ``numeric`` (the attribute holds numbers in the source data) is
      never STRING;
    - no property table column is empty (an empty string column or a zero-length view).

    Parameters
    ----------
    numeric : iterable of str
        Property names (the schema's ``name``) that are numeric in the layer's source data.
    """
    numeric = set(numeric)
    seen: dict[str, tuple[str | None, str | None, str]] = {}
    problems: list[str] = []
    for path in content_paths(tileset_path):
        gltf, _ = read_glb(Path(path).read_bytes())
        metadata = gltf.get("extensions", {}).get("EXT_structural_metadata")
        if metadata is None:
            continue
        views = gltf.get("bufferViews", [])
        classes = metadata["schema"].get("classes", {})
        for class_id, cls in classes.items():
            for pid, prop in cls.get("properties", {}).items():
                name = prop.get("name", pid)
                kind = (prop.get("type"), prop.get("componentType"))
                where = f"{Path(path).name} class {cls.get('name', class_id)}"
                first = seen.setdefault(name, (*kind, where))
                if kind != first[:2]:
                    problems.append(f"property {name!r} is {kind} in {where} but {first[:2]} in {first[2]}")
                if name in numeric and kind[0] == "STRING":
                    problems.append(f"property {name!r} is numeric in the source data but STRING in {where}")
        for table in metadata.get("propertyTables", []):
            for pid, prop in table["properties"].items():
                if views[prop["values"]]["byteLength"] == 0:
                    problems.append(f"{Path(path).name}: table {table['class']} property {pid!r} is empty")
    return problems


def property_tables(path: str | Path) -> list[dict[str, list]]:
    """Decode every property table of a GLB: property id -> list of values (STRING and
    SCALAR properties; a reader for tests and checks, not for every 3D Tiles type)."""
    gltf, binary = read_glb(Path(path).read_bytes())
    metadata = gltf["extensions"]["EXT_structural_metadata"]
    views = gltf["bufferViews"]

    def view_bytes(index: int) -> bytes:
        view = views[index]
        return binary[view.get("byteOffset", 0) : view.get("byteOffset", 0) + view["byteLength"]]

    tables = []
    for table in metadata["propertyTables"]:
        schema = metadata["schema"]["classes"][table["class"]]["properties"]
        decoded: dict[str, list] = {}
        for pid, prop in table["properties"].items():
            kind = schema[pid]
            if kind["type"] == "STRING":
                dtype = np.uint32 if prop.get("stringOffsetType", "UINT32") == "UINT32" else np.uint64
                offsets = np.frombuffer(view_bytes(prop["stringOffsets"]), dtype=dtype)[: table["count"] + 1]
                raw = view_bytes(prop["values"])
                decoded[pid] = [raw[a:b].decode("utf-8") for a, b in zip(offsets[:-1], offsets[1:])]
            elif kind["type"] == "SCALAR":
                dtype = {"INT32": np.int32, "INT64": np.int64, "FLOAT64": np.float64, "UINT8": np.uint8}[
                    kind["componentType"]
                ]
                decoded[pid] = np.frombuffer(view_bytes(prop["values"]), dtype=dtype)[
                    : table["count"]
                ].tolist()
        tables.append(decoded)
    return tables
