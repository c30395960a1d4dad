"""``machi export-tiles``: 3D Tiles from any PLATEAU folder, zip or single ``.gml`` file.

Without a run definition: the files are ingested into a temporary folder inside the
output folder (removed at the end), then each layer is exported as by the run's stage.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from pipeline.tiles3d.layer import ExportResult

log = logging.getLogger(__name__)


def _ingest_all(sources: list, folder: Path, crs: str, client: Any) -> list:
    """Ingest records of every source; a file that fails is logged and skipped."""
    from pipeline.core.runner import execute_task
    from pipeline.stages.ingest import ingest_task

    arguments = [("ingest", s.file_name, ingest_task, (s, str(folder), crs), {}) for s in sources]
    if client is not None:
        futures = [client.submit(execute_task, *a, pure=False) for a in arguments]
        records = client.gather(futures)
    else:
        records = [execute_task(*a) for a in arguments]
    for source, record in zip(sources, records):
        if not record.done:
            log.error("ingest of %s failed: %s", source.name, record.error)
    return records


def export_dataset(
    path: str | Path,
    out_dir: str | Path,
    *,
    layers: Sequence[str] | None = None,
    crs: str = "auto",
    geoid_model: str = "gsigeo2011",
    textures: bool = True,
    max_features_per_tile: int = 500,
    extra_tables: Sequence[str | Path] = (),
    client: Any = None,
) -> list[ExportResult]:
    """Export the layers of a PLATEAU dataset as 3D Tiles, one tileset per layer.

    Parameters
    ----------
    path : path
        A PLATEAU folder (with ``udx/``), a city ``.zip`` or one ``.gml`` file.
    out_dir : path
        Receives ``<layer>/tileset.json`` and its tiles.
    layers : sequence of str, optional
        PLATEAU modules to export; those absent from the data are skipped. By default
        every module of the data that has a layer spec (``bldg``, ``dem``, ``veg``,
        ``tran``, ``frn`` and the 2-D ``urf``, ``luse``).
    crs : str
        Metric CRS used between ingest and export, "auto" for the JGD2011 plane zone of
        the data (any metric CRS gives the same tiles).
    geoid_model : {"gsigeo2011", "jpgeo2024"}
        GSI geoid model added to the orthometric heights.
    client : distributed.Client, optional
        Ingest and tile writes on this cluster; else in this process (tiles on threads).

    Returns
    -------
    list of ExportResult
        One per layer found in the data.
    """
    from citygml import Dataset
    from pipeline.geo.crs import detect_crs
    from pipeline.tiles3d.features import LAYER_SPECS
    from pipeline.tiles3d.layer import export_layer

    started = time.perf_counter()
    out_dir = Path(out_dir)
    dataset, only = Dataset.for_path(path)
    if layers is None:
        layers = sorted(
            {s.feature_type for s in dataset.sources(only=only)} & set(LAYER_SPECS),
            key=list(LAYER_SPECS).index,
        )
        if not layers:
            raise ValueError(
                f"{path}: no CityGML files of an exported layer type "
                f"({', '.join(LAYER_SPECS)}) found; name others with --layers"
            )
    sources = dataset.sources(types=layers, only=only)
    if not sources:
        raise ValueError(f"{path}: no CityGML files of layer(s) {', '.join(layers)} found")
    if crs == "auto":
        crs = detect_crs(sources)
    log.info("%s: %d CityGML file(s), working CRS %s", path, len(sources), crs)
    out_dir.mkdir(parents=True, exist_ok=True)
    results = []
    with tempfile.TemporaryDirectory(prefix=".ingest-", dir=out_dir) as scratch:
        records = _ingest_all(sources, Path(scratch), crs, client)
        by_layer: dict[str, list] = defaultdict(list)
        for record in records:
            if record.done and record.outputs.meshes:
                by_layer[record.feature_type].append(record)
        for layer in layers:
            if not by_layer.get(layer):
                continue
            done = by_layer[layer]
            result = export_layer(
                layer,
                [r.outputs.table for r in done],
                [r.outputs.meshes for r in done],
                out_dir,
                dataset_path=dataset.path,
                crs=crs,
                geoid_model=geoid_model,
                textures=textures,
                extra_tables=extra_tables,
                max_features_per_tile=max_features_per_tile,
                client=client,
            )
            result.problems = [p for r in done for p in r.problems] + result.problems
            results.append(result)
    failed = [r for r in records if not r.done]
    if failed:
        results_problems = [f"ingest failed: {r.tile}: {r.error}" for r in failed]
        for result in results:
            result.problems += results_problems
    log.info("exported %d layer(s) of %s in %.1f s", len(results), path, time.perf_counter() - started)
    return results


def _split_layers(values: tuple[str, ...]) -> list[str] | None:
    return [v.strip() for value in values for v in value.split(",") if v.strip()] or None


@click.command("export-tiles")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder: one <layer>/tileset.json per layer.",
)
@click.option(
    "--layers",
    multiple=True,
    metavar="LAYER[,LAYER...]",
    help="PLATEAU modules to export (default: those of bldg,dem,veg,tran,frn,urf,luse in the data).",
)
@click.option(
    "--crs",
    default="auto",
    show_default=True,
    help="Working metric CRS, e.g. EPSG:6677; 'auto' picks the plane zone of the data.",
)
@click.option(
    "--geoid",
    "geoid_model",
    type=click.Choice(["gsigeo2011", "jpgeo2024"]),
    default="gsigeo2011",
    show_default=True,
    help="GSI geoid model for ellipsoidal heights.",
)
@click.option("--max-features-per-tile", type=int, default=500, show_default=True)
@click.option("--no-textures", is_flag=True, help="Material colours only, no texture images.")
@click.option(
    "--extra-table",
    "extra_tables",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="(Geo)Parquet table with gml_id whose columns join the properties (repeatable).",
)
@click.option("--scheduler", metavar="tcp://HOST:PORT", help="Run on an existing Dask cluster.")
@click.option("-v", "--verbose", count=True, help="-v for INFO logs, -vv for DEBUG.")
def export_tiles_command(
    path: Path,
    out_dir: Path,
    layers: tuple[str, ...],
    crs: str,
    geoid_model: str,
    max_features_per_tile: int,
    no_textures: bool,
    extra_tables: tuple[str, ...],
    scheduler: str | None,
    verbose: int,
) -> None:
    """Export a PLATEAU folder, zip or .gml file as 3D Tiles 1.1 (one tileset per layer)."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    client = None
    if scheduler:
        from distributed import Client

        client = Client(scheduler)
    try:
        results = export_dataset(
            path,
            out_dir,
            layers=_split_layers(layers),
            crs=crs,
            geoid_model=geoid_model,
            textures=not no_textures,
            max_features_per_tile=max_features_per_tile,
            extra_tables=extra_tables,
            client=client,
        )
    except (ValueError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        if client is not None:
            client.close()
    for result in results:
        where = result.tileset or "(nothing written)"
        click.echo(
            f"{result.layer:<5} {result.features:7d} feature(s) {result.contents:5d} tile file(s) "
            f"{result.bytes_written / 1e6:8.1f} MB  {where}"
        )
        for problem in result.problems[:20]:
            click.echo(f"  {problem}", err=True)
        if len(result.problems) > 20:
            click.echo(f"  ... and {len(result.problems) - 20} more problem(s)", err=True)
    if not any(r.tileset for r in results):
        sys.exit(1)
