"""3D Tiles 1.1 of one PLATEAU layer from its ingested tables and meshes.

Each layer (PLATEAU module) becomes its own tileset, ``<out>/<layer>/tileset.json``, with
one feature per city object and its attributes (codes shown as labels) in the property
tables, plus any per-feature tables (Machi's shade and walkability results, user tables)
joined on ``gml_id``.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from tiles import check_tileset, write_mesh_tileset

from . import LAYERS  # noqa: F401 - re-exported for callers of this module
from .tile_features import layer_features
from .tile_properties import drop_empty_columns, merge_extra_tables, read_property_rows
from .tile_textures import TextureStore

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


def export_layer(layer: str, tables: Sequence[str | Path], meshes: Sequence[str | Path],
                 out_dir: str | Path, *, dataset_path: str | Path | Sequence[str | Path] = (),
                 crs: str | None = None, geoid_model: str = "gsigeo2011",
                 extra_tables: Sequence[str | Path] = (), max_features_per_tile: int = 500,
                 max_bytes_per_tile: int = 8_000_000, textures: bool = True,
                 client: Any = None) -> ExportResult:
    """Write the 3D Tiles 1.1 tileset of one layer from its ingest outputs.

    Parameters
    ----------
    layer : str
        PLATEAU module: ``bldg``, ``dem``, ``veg``, ``tran``, ``frn``, ...
    tables, meshes : sequence of path
        The layer's ingested tables and mesh tables (``pipeline.ingest``).
    out_dir : path
        The ``3dtiles`` folder; the tileset goes to ``out_dir/<layer>/tileset.json``.
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
        Leaf limits of the quadtree.
    textures : bool
        Embed texture images; False exports material colours only.
    client : distributed.Client, optional
        Cluster for the per-tile writes; else local threads.
    """
    started = time.perf_counter()
    tables, meshes = sorted(map(str, tables)), sorted(map(str, meshes))
    properties = read_property_rows(tables)
    extra = [str(p) for p in extra_tables]
    added = merge_extra_tables(properties, extra) if extra else []
    empty = drop_empty_columns(properties)
    if empty:
        log.info("%s: properties without any value left out: %s", layer, ", ".join(empty))
    datasets = [dataset_path] if isinstance(dataset_path, (str, Path)) else list(dataset_path)
    store = TextureStore(datasets) if textures and datasets else None
    built = layer_features(layer, meshes, properties, geoid_model=geoid_model, crs=crs, textures=store)
    folder = Path(out_dir) / layer
    result = ExportResult(layer=layer, tileset=None, extra_columns=added, problems=built.problems)
    if not built.features:
        log.warning("%s: no features with geometry in %d ingest file(s); no tileset written",
                    layer, len(meshes))
        result.seconds = time.perf_counter() - started
        return result
    summary = write_mesh_tileset(built.features, folder, max_features_per_tile=max_features_per_tile,
                                 max_bytes_per_tile=max_bytes_per_tile,
                                 coarse_features=built.coarse,
                                 property_schema=built.property_schema, client=client)
    remove_stale_content(summary.tileset_path)
    result.problems += [f"{summary.tileset_path}: {p}" for p in check_tileset(summary.tileset_path)]
    result.tileset = str(summary.tileset_path)
    result.features, result.tiles = summary.feature_count, summary.tile_count
    result.contents, result.bytes_written = summary.content_count, summary.bytes_written
    result.seconds = time.perf_counter() - started
    log.info("export %s: %d feature(s), %d tile(s), %.1f MB -> %s (%.1f s)", layer, result.features,
             result.tiles, result.bytes_written / 1e6, result.tileset, result.seconds)
    return result


def remove_stale_content(tileset_path: Path) -> None:
    """Delete GLBs a previous run left under ``tiles/`` that the new tileset.json does
    not reference (tileset.json is written last, so they are never in use)."""
    from tiles.validate import content_paths

    referenced = {p.resolve() for p in content_paths(tileset_path)}
    for path in (tileset_path.parent / "tiles").rglob("*.glb"):
        if path.resolve() not in referenced:
            path.unlink()
