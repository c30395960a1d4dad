"""Mesh tilesets: a quadtree of features, one GLB per tile, tileset.json assembled last.

Layout on disk::

    out_dir/tileset.json
    out_dir/tiles/{level}/{x}/{y}.glb          fine content (each feature in one leaf)
    out_dir/tiles/{level}/{x}/{y}_coarse.glb   coarse stand-in (REPLACE), if given

The root tile carries the ENU->ECEF ``transform`` of a frame at the data's centre; all
bounding volumes are ``box`` es in that frame, computed from the content actually
written (union over each subtree, so children nest in their parents).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import write_bytes_atomic, write_text_atomic
from .bounds import box_volume
from .mesh_content import ContentResult, build_mesh_glb, feature_centroids_enu, frame_for
from .metadata import LayerSchema
from .records import MeshFeature, TilesetSummary
from .tasks import run_tile_tasks

log = logging.getLogger(__name__)


@dataclass
class TileNode:
    """A tile before serialisation: bounds in the root frame (ENU, metres)."""

    key: tuple[int, int, int]  # (level, x, y) or (level, x, y, z)
    children: list[TileNode] = field(default_factory=list)
    content: ContentResult | None = None
    refine: str = "ADD"
    geometric_error: float = 0.0
    enu_min: np.ndarray | None = None
    enu_max: np.ndarray | None = None

    def compute_bounds(self) -> None:
        """Bounds of this subtree's content (post-order)."""
        lows, highs = [], []
        for child in self.children:
            child.compute_bounds()
            if child.enu_min is not None:
                lows.append(child.enu_min)
                highs.append(child.enu_max)
        if self.content is not None:
            lows.append(self.content.enu_min)
            highs.append(self.content.enu_max)
        if lows:
            self.enu_min, self.enu_max = np.min(lows, axis=0), np.max(highs, axis=0)

    def to_json(self) -> dict[str, Any]:
        tile: dict[str, Any] = {
            "boundingVolume": {"box": box_volume(self.enu_min, self.enu_max)},
            "geometricError": round(float(self.geometric_error), 3),
            "refine": self.refine,
        }
        if self.content is not None:
            tile["content"] = {"uri": self.content.uri}
        children = [c for c in self.children if c.enu_min is not None]
        if children:
            tile["children"] = [c.to_json() for c in children]
        return tile

    def walk(self) -> Iterable[TileNode]:
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass
class QuadCell:
    """A quadtree cell over feature centroids; leaves hold feature indices."""

    level: int
    x: int
    y: int
    indices: np.ndarray | None = None
    children: list[QuadCell] = field(default_factory=list)


def build_quadtree(
    xy: np.ndarray, weights: np.ndarray, *, max_count: int, max_weight: float, max_depth: int = 20
) -> QuadCell:
    """Split the square around points ``xy`` (F, 2) until leaves hold at most ``max_count``
    points and ``max_weight`` total weight (or reach ``max_depth``).

    Each point ends up in exactly one leaf: the cell containing it, half-open on the high
    side except at the square's outer edge.
    """
    if len(xy) == 0:
        return QuadCell(0, 0, 0, indices=np.zeros(0, dtype=np.int64))
    lo = xy.min(axis=0)
    side = max(float((xy.max(axis=0) - lo).max()), 1e-6) * (1 + 1e-9)

    def split(cell: QuadCell, members: np.ndarray) -> QuadCell:
        if (
            (len(members) <= max_count and weights[members].sum() <= max_weight)
            or cell.level >= max_depth
            or len(members) <= 1
        ):
            cell.indices = members
            return cell
        size = side / 2 ** (cell.level + 1)
        col = np.floor((xy[members, 0] - lo[0]) / size).astype(np.int64) - 2 * cell.x
        row = np.floor((xy[members, 1] - lo[1]) / size).astype(np.int64) - 2 * cell.y
        col, row = np.clip(col, 0, 1), np.clip(row, 0, 1)
        for dx in (0, 1):
            for dy in (0, 1):
                sub = members[(col == dx) & (row == dy)]
                if len(sub):
                    cell.children.append(
                        split(QuadCell(cell.level + 1, 2 * cell.x + dx, 2 * cell.y + dy), sub)
                    )
        return cell

    return split(QuadCell(0, 0, 0), np.arange(len(xy)))


def _write_mesh_tile(
    features: list[MeshFeature],
    path: Path,
    uri: str,
    frame: np.ndarray,
    crs: str,
    schema: LayerSchema | None = None,
) -> ContentResult:
    started = time.perf_counter()
    glb, enu_min, enu_max = build_mesh_glb(features, frame, crs, schema)
    write_bytes_atomic(path, glb)
    log.debug(
        "wrote %s: %d features, %d bytes in %.2f s",
        path,
        len(features),
        len(glb),
        time.perf_counter() - started,
    )
    return ContentResult(uri, enu_min, enu_max, len(features), len(glb))


def parent_error(own: float, child_max: float) -> float:
    """A parent tile's geometric error: its own, kept strictly above its children's."""
    return own if own > child_max else max(child_max * 1.5, child_max + 1.0)


def assign_geometric_errors(node: TileNode, error_per_metre: float) -> float:
    """Geometric error, post-order: 0 at full-detail leaves, a given error at coarse tiles,
    otherwise ``error_per_metre`` times the tile's horizontal diagonal, kept strictly
    above every child's so that the error decreases monotonically down the tree."""
    child_max = max((assign_geometric_errors(c, error_per_metre) for c in node.children), default=0.0)
    if node.children and node.enu_min is not None:
        diagonal = float(np.linalg.norm((node.enu_max - node.enu_min)[:2]))
        # a tile with content of its own (a coarse stand-in) errs by its simplification
        own = node.geometric_error if node.content is not None else error_per_metre * diagonal
        node.geometric_error = parent_error(own, child_max)
    return node.geometric_error


def _coarse_error(fine: Sequence[MeshFeature], coarse: Sequence[MeshFeature]) -> float:
    """Largest difference between the vertical extents of fine and coarse versions (m).

    A cheap lower bound of the Hausdorff distance; for LOD1 boxes standing in for LOD2
    buildings it is about the roof height difference.
    """

    def extent(f: MeshFeature) -> tuple[float, float]:
        h = np.concatenate([p.vertices[:, 2] for p in f.parts])
        return float(h.min()), float(h.max())

    worst = 0.0
    for f, c in zip(fine, coarse):
        (flo, fhi), (clo, chi) = extent(f), extent(c)
        worst = max(worst, abs(flo - clo), abs(fhi - chi))
    return max(worst, 0.5)


def write_mesh_tileset(
    features: Sequence[MeshFeature],
    out_dir: str | Path,
    *,
    max_features_per_tile: int = 1000,
    max_bytes_per_tile: int = 8_000_000,
    coarse_features: Sequence[MeshFeature] | None = None,
    coarse_geometric_error: float | None = None,
    crs: str = "EPSG:4979",
    error_per_metre: float = 0.1,
    property_schema: LayerSchema | None = None,
    client: Any = None,
    scheduler: str | None = None,
) -> TilesetSummary:
    """Write features as a 3D Tiles 1.1 tileset with GLB content.

    Parameters
    ----------
    features : sequence of MeshFeature
        Vertices in ``crs``: "EPSG:4979" (lon, lat deg; ellipsoidal height m; add the
        geoid height to orthometric heights first) or "EPSG:4978" (ECEF m).
    out_dir : path
        Folder receiving ``tileset.json`` and ``tiles/``.
    max_features_per_tile, max_bytes_per_tile : int
        Leaf limits; a quadtree over feature centroids splits until both hold.
    coarse_features : sequence of MeshFeature, optional
        Simplified stand-ins, ``coarse_features[i]`` for ``features[i]`` (same id), e.g.
        LOD1 boxes for LOD2 buildings. Each leaf then gets a coarse parent tile refined
        by REPLACE; without them, tiles refine by ADD.
    coarse_geometric_error : float, optional
        Error (m) of the coarse stand-ins; estimated from height extents if omitted.
    error_per_metre : float
        Geometric error of an internal tile per metre of its horizontal diagonal.
    property_schema : LayerSchema, optional
        Property types and descriptions; by default decided from every feature given (the
        whole layer), so that no tile types a property from its own values.
    client : distributed.Client, optional
        Run tile tasks on this cluster; else ``scheduler`` (Dask's, "threads" default).

    Returns
    -------
    TilesetSummary
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    _check_features(features, coarse_features)
    frame = frame_for(features, crs)
    schema = property_schema or LayerSchema.from_features([*features, *(coarse_features or [])])
    centroids = feature_centroids_enu(features, frame, crs)
    weights = np.array([f.estimated_bytes for f in features], dtype=np.float64)
    quadtree = build_quadtree(
        centroids[:, :2], weights, max_count=max_features_per_tile, max_weight=max_bytes_per_tile
    )
    layout = _MeshTileLayout(features, coarse_features, coarse_geometric_error, out_dir, frame, crs, schema)
    root = layout.node(quadtree)
    log.info("writing %d features into %d tile contents under %s", len(features), len(layout.jobs), out_dir)
    results = run_tile_tasks(_write_mesh_tile, layout.jobs, client=client, scheduler=scheduler)
    for result in results:
        layout.nodes[result.uri].content = result
    root.compute_bounds()
    assign_geometric_errors(root, error_per_metre)
    tileset_path = write_tileset_json(root, out_dir, frame)
    seconds = time.perf_counter() - started
    log.info(
        "wrote %s: %d features, %d contents, %.1f MB in %.1f s",
        tileset_path,
        len(features),
        len(results),
        sum(r.byte_length for r in results) / 1e6,
        seconds,
    )
    return TilesetSummary(
        tileset_path,
        sum(1 for _ in root.walk()),
        len(results),
        len(features),
        sum(r.byte_length for r in results),
        max(n.key[0] for n in root.walk()),
        seconds,
    )


def _check_features(features: Sequence[MeshFeature], coarse: Sequence[MeshFeature] | None) -> None:
    if not features:
        raise ValueError("write_mesh_tileset: no features to write")
    if coarse is None:
        return
    if len(coarse) != len(features):
        raise ValueError(f"coarse_features has {len(coarse)} features for {len(features)} features")
    for f, c in zip(features, coarse):
        if f.id != c.id:
            raise ValueError(f"coarse feature {c.id!r} stands at the place of feature {f.id!r}")


class _MeshTileLayout:
    """Turns the quadtree into tile nodes and the content jobs that fill them.

    Without coarse stand-ins a leaf cell is one tile (ADD refinement); with them it is a
    coarse tile refined by REPLACE into the fine one.
    """

    def __init__(
        self,
        features,
        coarse,
        coarse_error,
        out_dir: Path,
        frame: np.ndarray,
        crs: str,
        schema: LayerSchema | None = None,
    ):
        self.features, self.coarse, self.coarse_error = features, coarse, coarse_error
        self.out_dir, self.frame, self.crs, self.schema = out_dir, frame, crs, schema
        self.jobs: list[tuple] = []
        self.nodes: dict[str, TileNode] = {}

    def node(self, cell: QuadCell) -> TileNode:
        node = TileNode((cell.level, cell.x, cell.y))
        if cell.indices is None:
            node.children = [self.node(c) for c in cell.children]
            return node
        stem = f"tiles/{cell.level}/{cell.x}/{cell.y}"
        members = [self.features[i] for i in cell.indices]
        if self.coarse is None:
            self._content(node, members, f"{stem}.glb")
            return node
        fine = TileNode(node.key + (1,))
        node.refine, node.children = "REPLACE", [fine]
        coarse_members = [self.coarse[i] for i in cell.indices]
        node.geometric_error = (
            self.coarse_error if self.coarse_error is not None else _coarse_error(members, coarse_members)
        )
        self._content(node, coarse_members, f"{stem}_coarse.glb")
        self._content(fine, members, f"{stem}.glb")
        return node

    def _content(self, node: TileNode, members: list[MeshFeature], uri: str) -> None:
        self.jobs.append((members, self.out_dir / uri, uri, self.frame, self.crs, self.schema))
        self.nodes[uri] = node


def write_tileset_json(
    root: TileNode, out_dir: Path, frame: np.ndarray, extras: dict[str, Any] | None = None
) -> Path:
    """Serialise the tree with ``frame`` as the root transform; written atomically, last."""
    root_json = root.to_json()
    root_json["transform"] = [float(v) for v in frame.T.reshape(-1)]  # column-major
    diagonal = float(np.linalg.norm(root.enu_max - root.enu_min))
    return write_tileset_document(root_json, out_dir, diagonal_m=diagonal, extras=extras)


def write_tileset_document(
    root_json: dict[str, Any], out_dir: Path, *, diagonal_m: float, extras: dict[str, Any] | None = None
) -> Path:
    """Write ``out_dir/tileset.json`` (3D Tiles 1.1) around a serialised root tile, atomically.

    The tileset's geometric error is at least twice the root's and the root's diagonal
    (``diagonal_m``, metres), so a client draws the root from afar.
    """
    tileset: dict[str, Any] = {
        "asset": {"version": "1.1", "generator": "machi.tiles"},
        "geometricError": round(max(2.0 * root_json["geometricError"], diagonal_m, 1.0), 3),
        "root": root_json,
    }
    if extras:
        tileset["asset"]["extras"] = extras
    path = Path(out_dir) / "tileset.json"
    write_text_atomic(path, json.dumps(tileset, separators=(",", ":")))
    return path
