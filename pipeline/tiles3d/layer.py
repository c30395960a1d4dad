"""3D Tiles 1.1 of one PLATEAU layer from its ingested tables and meshes.

Each layer (PLATEAU module) becomes its own tileset, ``<out>/<layer>/tileset.json``, with
one feature per city object and its attributes (codes shown as labels) in the property
tables, plus any per-feature tables (Machi's shade and walkability results, user tables)
joined on ``gml_id``.

A layer is written one ingest file at a time, each file a part (an external tileset,
``<out>/<layer>/<part>/tileset.json``) under one root, so that nothing holds more than
one file's features: :func:`file_partial` per file, :func:`.layer_schema.merge_partials`
once, :func:`export_layer_part` per file, :func:`export_layer_root` once. The run does
these as four stages; :func:`export_layer` does them in turn.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tiles import check_tileset, write_mesh_tileset

from . import LAYERS  # noqa: F401 - re-exported for callers of this module
from .features import feature_classes, layer_features
from .layer_schema import (
    LayerPlan,
    SchemaPartial,
    extra_rows,
    file_rows,
    merge_partials,
    schema_partial,
    source_rows,
)
from .textures import TextureStore

log = logging.getLogger(__name__)


@dataclass
class ExportResult:
    """What exporting one layer produced."""

    layer: str
    tileset: str | None
    features: int = 0
    tiles: int = 0
    contents: int = 0
    bytes_written: int = 0
    extra_columns: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


def part_name(mesh: str | Path, layer: str) -> str:
    """The part folder of a mesh file: ``53396489_bldg_mesh.parquet`` -> ``53396489``."""
    stem = Path(mesh).name.removesuffix(".parquet").removesuffix("_mesh")
    return stem.removesuffix(f"_{layer}") or stem


def pair_files(tables: Sequence[str | Path], meshes: Sequence[str | Path]) -> list[tuple[str | None, str]]:
    """(ingest table or None, mesh file) per file of a layer, sorted by mesh file: the
    table ``<x>.parquet`` goes with the mesh ``<x>_mesh.parquet``."""
    by_stem = {Path(t).name.removesuffix(".parquet"): str(t) for t in tables}
    return [
        (by_stem.get(Path(m).name.removesuffix(".parquet").removesuffix("_mesh")), str(m))
        for m in sorted(map(str, meshes))
    ]


def file_partial(
    layer: str, table: str | Path | None, mesh: str | Path, extra_tables: Sequence[str | Path] = ()
) -> SchemaPartial:
    """What one file of ``layer`` tells the layer's schema (:mod:`.layer_schema`); reads
    the ingest table, the mesh file's ids and the extra tables' rows for them."""
    rows = source_rows(table)
    extra = [(str(p), *extra_rows(p, rows)) for p in extra_tables]
    return schema_partial(rows, feature_classes(layer, mesh), extra)


def export_layer_part(
    layer: str,
    table: str | Path | None,
    mesh: str | Path,
    out_dir: str | Path,
    plan: LayerPlan,
    *,
    dataset_path: str | Path | Sequence[str | Path] = (),
    crs: str | None = None,
    geoid_model: str = "gsigeo2011",
    extra_tables: Sequence[str | Path] = (),
    max_features_per_tile: int = 500,
    max_bytes_per_tile: int = 8_000_000,
    textures: bool = True,
    client: Any = None,
    scheduler: str | None = None,
) -> ExportResult:
    """Write one file's part of a layer: ``out_dir/<layer>/<part>/tileset.json``.

    ``plan`` is the layer's merged schema (:func:`.layer_schema.merge_partials`);
    ``scheduler`` the Dask scheduler of the tile writes without a ``client``
    (``"synchronous"`` inside a task); the other parameters are those of
    :func:`export_layer`. A file without features with geometry writes nothing
    (``tileset`` None).
    """
    started = time.perf_counter()
    rows = file_rows(table, [str(p) for p in extra_tables], plan)
    datasets = [dataset_path] if isinstance(dataset_path, (str, Path)) else list(dataset_path)
    store = TextureStore(datasets) if textures and datasets else None
    built = layer_features(
        layer, [mesh], rows, geoid_model=geoid_model, crs=crs, textures=store, schema=plan.schema
    )
    folder = Path(out_dir) / layer / part_name(mesh, layer)
    result = ExportResult(
        layer=layer, tileset=None, extra_columns=plan.extra_columns, problems=built.problems
    )
    if not built.features:
        log.info("%s: no features with geometry; no part written", mesh)
        result.seconds = time.perf_counter() - started
        return result
    summary = write_mesh_tileset(
        built.features,
        folder,
        max_features_per_tile=max_features_per_tile,
        max_bytes_per_tile=max_bytes_per_tile,
        coarse_features=built.coarse,
        property_schema=built.property_schema,
        client=client,
        scheduler=scheduler,
    )
    remove_stale_content(summary.tileset_path)
    result.problems += [f"{summary.tileset_path}: {p}" for p in check_tileset(summary.tileset_path)]
    result.tileset = str(summary.tileset_path)
    result.features, result.tiles = summary.feature_count, summary.tile_count
    result.contents, result.bytes_written = summary.content_count, summary.bytes_written
    result.seconds = time.perf_counter() - started
    log.info(
        "export %s: %d feature(s), %d tile(s), %.1f MB -> %s (%.1f s)",
        mesh,
        result.features,
        result.tiles,
        result.bytes_written / 1e6,
        result.tileset,
        result.seconds,
    )
    return result


def export_layer_root(layer: str, parts: Sequence[str | Path], out_dir: str | Path) -> Path:
    """Write ``out_dir/<layer>/tileset.json`` over the layer's parts (external tilesets) and
    delete what a previous run left: parts of files that are gone, and the content of the
    single-tileset layout."""
    import shutil

    from tiles.collection import remove_stale_parts, write_tileset_of_parts

    folder = Path(out_dir) / layer
    tileset = write_tileset_of_parts(parts, folder)
    remove_stale_parts(folder, parts)
    shutil.rmtree(folder / "tiles", ignore_errors=True)
    return tileset


def export_layer(
    layer: str,
    tables: Sequence[str | Path],
    meshes: Sequence[str | Path],
    out_dir: str | Path,
    *,
    dataset_path: str | Path | Sequence[str | Path] = (),
    crs: str | None = None,
    geoid_model: str = "gsigeo2011",
    extra_tables: Sequence[str | Path] = (),
    max_features_per_tile: int = 500,
    max_bytes_per_tile: int = 8_000_000,
    textures: bool = True,
    client: Any = None,
) -> ExportResult:
    """Write the 3D Tiles 1.1 tileset of one layer from its ingested tables and meshes.

    The same three steps as the run's ``export_tiles`` stages, here one after another:
    each file's schema partial, the merged plan, each file's part, then the root
    ``out_dir/<layer>/tileset.json`` over the parts.

    Parameters
    ----------
    layer : str
        PLATEAU module: ``bldg``, ``dem``, ``veg``, ``tran``, ``frn``, ...
    tables, meshes : sequence of path
        The layer's ingested tables and mesh tables (``pipeline.ingest``).
    out_dir : path
        The ``3dtiles`` folder.
    dataset_path : path or list of path
        The PLATEAU folder(s)/zip(s) the ingest read: texture images are read from there.
    crs : str, optional
        Metric CRS of the meshes when their files do not record it.
    geoid_model : {"gsigeo2011", "jpgeo2024"}
        GSI geoid model added to the orthometric heights.
    extra_tables : list of path
        (Geo)Parquet tables with ``gml_id`` whose columns join the property tables (a
        run's per-building shade and walkability tables, user tables).
    max_features_per_tile, max_bytes_per_tile : int
        Leaf limits of each part's quadtree.
    textures : bool
        Embed texture images; False exports material colours only.
    client : distributed.Client, optional
        Cluster for the per-tile writes; else local threads.
    """
    started = time.perf_counter()
    files = pair_files(tables, meshes)
    extra = [str(p) for p in extra_tables]
    plan = merge_partials([file_partial(layer, table, mesh, extra) for table, mesh in files])
    result = ExportResult(layer=layer, tileset=None, extra_columns=plan.extra_columns)
    parts = []
    for table, mesh in files:
        part = export_layer_part(
            layer,
            table,
            mesh,
            out_dir,
            plan,
            dataset_path=dataset_path,
            crs=crs,
            geoid_model=geoid_model,
            extra_tables=extra,
            max_features_per_tile=max_features_per_tile,
            max_bytes_per_tile=max_bytes_per_tile,
            textures=textures,
            client=client,
        )
        result.problems += part.problems
        if part.tileset:
            parts.append(part.tileset)
            result.features += part.features
            result.tiles += part.tiles
            result.contents += part.contents
            result.bytes_written += part.bytes_written
    if not parts:
        log.warning(
            "%s: no features with geometry in %d ingest file(s); no tileset written", layer, len(files)
        )
    else:
        tileset = export_layer_root(layer, parts, out_dir)
        result.problems += [f"{tileset}: {p}" for p in check_tileset(tileset)]
        result.tileset = str(tileset)
    result.seconds = time.perf_counter() - started
    return result


def remove_stale_content(tileset_path: Path) -> None:
    """Delete GLBs a previous run left under ``tiles/`` that the new tileset.json does
    not reference (tileset.json is written last, so they are never in use)."""
    from tiles.validate import content_paths

    referenced = {p.resolve() for p in content_paths(tileset_path)}
    for path in (tileset_path.parent / "tiles").rglob("*.glb"):
        if path.resolve() not in referenced:
            path.unlink()
