"""``machi trees LAS... --out DIR [--veg FOLDER]``: trees from LiDAR, without a run definition.

Writes, under ``--out``:

- ``udx/veg/<mesh>_veg_6697_op.gml``: the trees as PLATEAU vegetation (:mod:`pipeline.trees.gml`),
  and ``codelists/SolitaryVegetationObject_class.xml``;
- ``trees.parquet``: one row per tree, crown polygons (GeoParquet, metric CRS);
- with ``--veg``: ``changes.parquet`` and ``changes.png`` against the existing veg layer
  (:mod:`pipeline.trees.changes`).
"""

from __future__ import annotations

import logging
from pathlib import Path

import click

log = logging.getLogger(__name__)


def _metric_crs(paths: list[Path], source_crs: str | None) -> str:
    """The files' own CRS when it is projected in metres, else the JGD2011 plane
    rectangular zone of their centre."""
    from pipeline.geo.crs import zone_for_lonlat
    from pipeline.lidar.reader import file_bounds, open_checked

    las = open_checked(paths[0], source_crs)
    horizontal = las.crs.horizontal
    if horizontal.is_projected and horizontal.axis_info[0].unit_name in ("metre", "meter"):
        epsg = horizontal.to_epsg()
        return f"EPSG:{epsg}" if epsg else horizontal.to_wkt()
    lon0, lat0, lon1, lat1 = file_bounds(paths[0], "EPSG:6668", source_crs=source_crs)
    return f"EPSG:{zone_for_lonlat((lon0 + lon1) / 2, (lat0 + lat1) / 2)}"


def _meshes(paths: list[Path], source_crs: str | None) -> dict[str, list[Path]]:
    """Third-level meshes touched by each file's header bounds -> the files touching them."""
    from pipeline.geo import meshcode
    from pipeline.lidar.reader import file_bounds

    touching: dict[str, list[Path]] = {}
    for path in paths:
        bounds = file_bounds(path, "EPSG:6668", source_crs=source_crs)
        if bounds is None:
            continue
        lon0, lat0, lon1, lat1 = bounds
        for code in meshcode.covering(lat0, lon0, lat1, lon1, 3):
            touching.setdefault(str(int(code)), []).append(path)
    return dict(sorted(touching.items()))


def run_trees(
    paths: list[Path],
    out: Path,
    *,
    veg: Path | None = None,
    source_crs: str | None = None,
    bldg: Path | None = None,
    params=None,
) -> dict:
    """Detect trees in ``paths`` tile by tile and write the outputs (module docstring).

    Only each tile's trees are kept between tiles; its canopy goes, max-pooled to
    :data:`MAP_RESOLUTION_M`, into a raster on disk for the change map, so memory is one
    tile's whatever the number of tiles.
    """
    import contextlib

    import geopandas as gpd
    import pandas as pd

    from pipeline.geo.raster import Grid, MaxCanvas
    from pipeline.trees.changes import change_counts, detect_changes, write_change_map, write_changes
    from pipeline.trees.detect import empty_trees
    from pipeline.trees.parameters import TreeParameters
    from pipeline.trees.tile import mesh_grid, write_mesh_trees
    from tiles.atomic import atomic_path

    params = params or TreeParameters()
    crs = _metric_crs(paths, source_crs)
    footprints = _footprints(bldg, crs) if bldg else None
    meshes = _meshes(paths, source_crs)
    grids = {mesh: mesh_grid(mesh, crs, params) for mesh in meshes}
    out.mkdir(parents=True, exist_ok=True)
    found, written = [], []
    with contextlib.ExitStack() as stack:
        canvas = None
        if veg is not None and grids:
            bounds = [g.bounds for g in grids.values()]
            area = Grid.from_bounds(
                min(b[0] for b in bounds),
                min(b[1] for b in bounds),
                max(b[2] for b in bounds),
                max(b[3] for b in bounds),
                MAP_RESOLUTION_M,
                crs,
            )
            canvas = stack.enter_context(MaxCanvas(area, out / "canopy_map.tif"))
        for mesh, files in meshes.items():
            result = write_mesh_trees(
                files, mesh, crs, out, params=params, source_crs=source_crs, footprints=footprints
            )
            if len(result.trees):
                found.append(result.trees)
                written.append(result.gml)
            if canvas is not None:
                _paint_canopy(canvas, result.surface.canopy, result.surface.grid)
        trees = gpd.GeoDataFrame(pd.concat(found, ignore_index=True), crs=crs) if found else empty_trees(crs)
        with atomic_path(out / "trees.parquet") as tmp:
            trees.to_parquet(tmp, index=False)
        summary = {
            "crs": crs,
            "tiles": len(meshes),
            "trees": len(trees),
            "gml": written,
            "classes": {str(k): int(v) for k, v in trees.class_code.value_counts().sort_index().items()},
        }
        if veg is not None:
            from pipeline.trees.existing import read_existing_trees

            existing = read_existing_trees(veg, crs)
            changes = detect_changes(existing, trees, crs)
            write_changes(changes, out / "changes.parquet")
            if canvas is not None:
                canopy, grid = canvas.read(max_pixels=2000)
                write_change_map(out / "changes.png", changes, canopy, grid)
            summary["existing"] = len(existing)
            summary["changes"] = change_counts(changes)
    return summary


#: Cell size (m) of the canopy drawn under the change map.
MAP_RESOLUTION_M = 2.0


def _paint_canopy(canvas, canopy, grid) -> None:
    """Max-pool a tile's canopy cells (> 0) into the canvas's coarser cells."""
    import numpy as np

    from pipeline.lidar.rasters import max_per_cell

    piece = canvas.window(grid.bounds)
    rows, cols = np.nonzero(canopy > 0)
    if piece is None or rows.size == 0:
        return
    x = grid.x_min + (cols + 0.5) * grid.resolution
    y = grid.y_max - (rows + 0.5) * grid.resolution
    r, c = piece.rowcol(x, y)
    inside = (r >= 0) & (r < piece.height) & (c >= 0) & (c < piece.width)
    pooled = max_per_cell(
        (r * piece.width + c)[inside], canopy[rows, cols][inside], piece.width * piece.height
    )
    canvas.paint(pooled.reshape(piece.shape), piece)


def _footprints(bldg: Path, crs: str) -> list:
    """2-D footprints of PLATEAU buildings (their lowest LOD's polygons) in ``crs``."""
    import shapely
    from pyproj import Transformer

    from citygml import read_features

    to_metric = Transformer.from_crs("EPSG:6668", crs, always_xy=True)
    polygons = []
    files = [bldg] if bldg.is_file() else sorted(bldg.rglob("*.gml"))
    for path in files:
        for feature in read_features(str(path)):
            lods = feature.lods
            for polygon in feature.polygons(lods[0]) if lods else []:
                x, y = to_metric.transform(polygon.exterior[:, 0], polygon.exterior[:, 1])
                ring = shapely.Polygon(list(zip(x, y)))
                if ring.is_valid and ring.area > 0:
                    polygons.append(ring)
    return polygons


@click.command("trees")
@click.argument(
    "lidar", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (udx/veg/*.gml, trees.parquet, changes.*).",
)
@click.option(
    "--veg",
    type=click.Path(exists=True, path_type=Path),
    help="Existing PLATEAU veg folder (or file) to detect changes against.",
)
@click.option(
    "--bldg",
    type=click.Path(exists=True, path_type=Path),
    help="PLATEAU bldg folder whose footprints are masked (besides class 6 returns).",
)
@click.option("--crs", "source_crs", help="CRS of LAS/LAZ files whose header names none.")
@click.option("-v", "--verbose", count=True, help="-v for INFO logs.")
def trees_command(
    lidar: tuple[Path, ...],
    out: Path,
    veg: Path | None,
    bldg: Path | None,
    source_crs: str | None,
    verbose: int,
) -> None:
    """Find individual trees in LiDAR and write them as PLATEAU vegetation (veg)."""
    from pipeline.commands.cli import _setup_logging
    from pipeline.lidar.errors import LidarError

    _setup_logging(verbose)
    try:
        summary = run_trees(list(lidar), out, veg=veg, source_crs=source_crs, bldg=bldg)
    except LidarError as exc:
        raise click.ClickException(str(exc)) from None
    classes = ", ".join(f"class {k}: {v}" for k, v in summary["classes"].items()) or "none"
    click.echo(f"{summary['trees']} trees in {summary['tiles']} tile(s) ({summary['crs']}); {classes}")
    for path in summary["gml"]:
        click.echo(f"  {path}")
    if "changes" in summary:
        c = summary["changes"]
        click.echo(
            f"against {summary['existing']} existing trees: {c['matched']} matched, "
            f"{c['height_changed']} height changed, {c['new']} new, {c['gone']} gone "
            f"({out / 'changes.parquet'})"
        )
