"""The 3D Tiles export stage: one task per layer, ingest outputs in, a tileset out.

Each layer (PLATEAU module) becomes its own tileset, ``<out>/3dtiles/<layer>/tileset.json``,
with one feature per city object and its attributes (codes shown as labels) in the
property tables, plus Machi's own per-feature results joined on ``gml_id``.

Machi's other stages hand their per-feature tables in through their records: a record
whose ``outputs`` holds ``feature_table`` (a Parquet path with a ``gml_id`` column) and
whose ``feature_type`` names the layer (``"bldg"``) is joined to that layer, e.g.::

    {"outputs": {"feature_table": "out/shadow/roof_shade_hours.parquet"}, "feature_type": "bldg"}
"""
from __future__ import annotations

import contextlib
import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Literal, Sequence

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tiles import check_tileset, write_mesh_tileset

from .tile_features import layer_features
from .tile_properties import drop_empty_columns, merge_extra_tables, read_property_rows
from .tile_textures import TextureStore

log = logging.getLogger(__name__)

LAYERS = ("bldg", "dem", "veg", "tran", "frn")
STAGE = "export_tiles"


class ExportTilesStage(BaseModel):
    """``stages.export_tiles`` of a run definition."""

    model_config = ConfigDict(extra="forbid", validate_default=True)

    enabled: bool = False
    layers: list[str] = Field(default_factory=lambda: list(LAYERS),
                              description="PLATEAU modules exported, one tileset each")
    geoid_model: Literal["gsigeo2011", "jpgeo2024"] = Field(
        "gsigeo2011", description="GSI geoid added to orthometric heights (gsigeo2011 for "
        "JGD2011 heights, which PLATEAU uses; jpgeo2024 for JGD2024 heights)")
    max_features_per_tile: int = Field(500, ge=1, description="features per tile content at most")
    textures: bool = Field(True, description="embed texture images (else material colours only)")
    extra_tables: list[Path] = Field(default_factory=list, description=(
        "(Geo)Parquet tables with a gml_id column whose columns join the property tables"))

    @field_validator("layers")
    @classmethod
    def _modules(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not re.fullmatch(r"[a-z]+", v)]
        if bad or not value:
            raise ValueError(f"layers must be PLATEAU module names like 'bldg', got {bad or value}")
        return list(dict.fromkeys(value))


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

    def to_record(self) -> dict:
        """The manifest record: the tileset path, counts and problems."""
        return {"outputs": {"tileset": self.tileset}, "feature_type": self.layer,
                "features": self.features,
                "counts": {"tiles": self.tiles, "contents": self.contents, "bytes": self.bytes_written},
                "extra_columns": self.extra_columns, "problems": self.problems}


@contextlib.contextmanager
def cluster_client() -> Iterator[Any]:
    """A client to the cluster when running inside a Dask worker (per-tile writes become
    tasks there), else None (the tiles writer uses threads)."""
    try:
        from distributed import get_worker, worker_client
        get_worker()
    except (ImportError, ValueError):
        yield None
        return
    with worker_client() as client:
        yield client


def feature_tables(records: Sequence[dict], layer: str) -> list[str]:
    """Paths of the per-feature tables that upstream records hand to ``layer``."""
    return [r["outputs"]["feature_table"] for r in records
            if r.get("status", "done") == "done" and (r.get("outputs") or {}).get("feature_table")
            and r.get("feature_type", "bldg") == layer]


def export_layer(layer: str, ingest_records: Sequence[dict], out_dir: str | Path, *,
                 dataset_path: str | Path | Sequence[str | Path] = (), crs: str | None = None,
                 geoid_model: str = "gsigeo2011", extra_tables: Sequence[str | Path] = (),
                 extra_records: Sequence[dict] = (), max_features_per_tile: int = 500,
                 max_bytes_per_tile: int = 8_000_000, textures: bool = True,
                 client: Any = None) -> ExportResult:
    """Write the 3D Tiles 1.1 tileset of one layer from its ingest outputs.

    Parameters
    ----------
    layer : str
        PLATEAU module: ``bldg``, ``dem``, ``veg``, ``tran``, ``frn``, ...
    ingest_records : list of dict
        Ingest records (``outputs.table``, ``outputs.meshes``, ``feature_type``); records
        of other layers or that failed are ignored.
    out_dir : path
        The ``3dtiles`` folder; the tileset goes to ``out_dir/<layer>/tileset.json``.
    dataset_path : path or list of path
        The PLATEAU folder(s)/zip(s) the ingest read: texture images are read from there.
    crs : str, optional
        Metric CRS of the meshes when their files do not record it.
    geoid_model : {"gsigeo2011", "jpgeo2024"}
        GSI geoid model added to the orthometric heights.
    extra_tables : list of path
        (Geo)Parquet tables with ``gml_id`` whose columns join the property tables.
    extra_records : list of dict
        Upstream stage records; their ``outputs.feature_table`` join as ``extra_tables``.
    max_features_per_tile, max_bytes_per_tile : int
        Leaf limits of the quadtree.
    textures : bool
        Embed texture images; False exports material colours only.
    client : distributed.Client, optional
        Cluster for the per-tile writes; by default the current worker's cluster when
        run as a Dask task, else local threads.
    """
    started = time.perf_counter()
    records = [r for r in ingest_records if r.get("feature_type") == layer
               and r.get("status", "done") == "done" and (r.get("outputs") or {}).get("meshes")]
    tables = [r["outputs"]["table"] for r in records if r["outputs"].get("table")]
    meshes = [r["outputs"]["meshes"] for r in records]
    properties = read_property_rows(tables)
    extra = [*map(str, extra_tables), *feature_tables(extra_records, layer)]
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
    with contextlib.ExitStack() as stack:
        if client is None:
            client = stack.enter_context(cluster_client())
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


def plan_export_tiles(definition: Any, plan: Any, manifest: Any,
                      output: Path) -> Callable[[dict[str, dict]], list[Any]]:
    """The planner of the export stage: one task per layer that the ingest produced.

    Returns a function of the records so far (as :func:`pipeline.plan.plan_run` stages
    take); each task's upstream is the layer's ingest tasks and every record that hands
    a ``feature_table`` to the layer.
    """
    from pipeline.plan import hash_file
    from pipeline.runner import Task

    settings: ExportTilesStage = definition.stages.export_tiles
    datasets = [str(p) for p in definition.inputs.citygml]

    def planner(records: dict[str, dict]) -> list[Task]:
        tasks = []
        for layer in settings.layers:
            ingest = sorted(k for k, r in records.items() if r.get("stage") == "ingest"
                            and r.get("feature_type") == layer and r.get("status") == "done")
            if not ingest:
                continue
            handing = sorted(k for k, r in records.items()
                             if r.get("stage") not in ("ingest", STAGE) and feature_tables([r], layer))
            tasks.append(Task(
                stage=STAGE, tile=layer, func=export_layer, args=(layer,),
                kwargs={"out_dir": str(Path(output) / "3dtiles"), "dataset_path": datasets,
                        "crs": plan.crs, "geoid_model": settings.geoid_model,
                        "extra_tables": [str(p) for p in settings.extra_tables],
                        "max_features_per_tile": settings.max_features_per_tile,
                        "textures": settings.textures},
                params={"crs": plan.crs, "settings": settings.model_dump(mode="json")},
                input_hashes=[hash_file(manifest, Path(p)) for p in settings.extra_tables],
                upstream={"ingest_records": ingest, "extra_records": handing}))
        return tasks

    return planner
