"""What changed between an existing ``veg`` layer and the trees found in new LiDAR.

Trees are matched one to one, nearest first, within ``max_distance_m`` (2 m)
horizontally (:func:`pipeline.trees.matching.match_pairs`):

- ``matched``: found again, moved less than 2 m; ``height_change_m`` new minus old;
- ``height_changed``: matched, and the height differs by at least
  ``height_change_threshold_m`` (2 m: the height tolerance of a detection match, twice
  the detection's height RMSE target of 1 m, so smaller differences are within error);
- ``new``: found in the LiDAR, not in the existing layer (planted, or missing from it);
- ``gone``: in the existing layer, not found (felled, or below the detection's reach).

The table is GeoParquet (points at the new position, else the old), one row per tree.
"""

from __future__ import annotations

import os

import geopandas as gpd
import numpy as np
import pandas as pd

from pipeline.trees.matching import match_pairs
from tiles.atomic import atomic_path

CHANGE_COLUMNS = [
    "status",
    "existing_id",
    "detected_id",
    "x",
    "y",
    "old_height_m",
    "new_height_m",
    "height_change_m",
    "moved_m",
    "new_crown_diameter_m",
]


def detect_changes(
    existing: pd.DataFrame,
    detected: pd.DataFrame,
    crs: str,
    *,
    max_distance_m: float = 2.0,
    height_change_threshold_m: float = 2.0,
) -> gpd.GeoDataFrame:
    """Matched, changed, new and gone trees (module docstring).

    Parameters
    ----------
    existing : pandas.DataFrame
        :func:`pipeline.trees.existing.read_existing_trees` (``tree_id, x, y, height_m``).
    detected : pandas.DataFrame
        :func:`pipeline.trees.detect.detect_trees` rows.
    crs : str
        Metric CRS of both tables' ``x, y``.
    """
    ex_x, ex_y = existing.x.to_numpy(float), existing.y.to_numpy(float)
    de_x, de_y = detected.x.to_numpy(float), detected.y.to_numpy(float)
    i, j = match_pairs(ex_x, ex_y, de_x, de_y, max_distance_m=max_distance_m)
    old_h = existing.height_m.to_numpy(float)
    new_h = detected.height_m.to_numpy(float)
    crown = detected.crown_diameter_m.to_numpy(float)
    change = new_h[j] - old_h[i]
    matched = pd.DataFrame(
        {
            "status": np.where(np.abs(change) >= height_change_threshold_m, "height_changed", "matched"),
            "existing_id": existing.tree_id.to_numpy(object)[i],
            "detected_id": detected.tree_id.to_numpy(object)[j],
            "x": de_x[j],
            "y": de_y[j],
            "old_height_m": old_h[i],
            "new_height_m": new_h[j],
            "height_change_m": change,
            "moved_m": np.hypot(de_x[j] - ex_x[i], de_y[j] - ex_y[i]),
            "new_crown_diameter_m": crown[j],
        }
    )
    new = np.setdiff1d(np.arange(len(detected)), j)
    gone = np.setdiff1d(np.arange(len(existing)), i)
    added = pd.DataFrame(
        {
            "status": "new",
            "existing_id": None,
            "detected_id": detected.tree_id.to_numpy(object)[new],
            "x": de_x[new],
            "y": de_y[new],
            "old_height_m": np.nan,
            "new_height_m": new_h[new],
            "height_change_m": np.nan,
            "moved_m": np.nan,
            "new_crown_diameter_m": crown[new],
        }
    )
    removed = pd.DataFrame(
        {
            "status": "gone",
            "existing_id": existing.tree_id.to_numpy(object)[gone],
            "detected_id": None,
            "x": ex_x[gone],
            "y": ex_y[gone],
            "old_height_m": old_h[gone],
            "new_height_m": np.nan,
            "height_change_m": np.nan,
            "moved_m": np.nan,
            "new_crown_diameter_m": np.nan,
        }
    )
    parts = [p for p in (matched, added, removed) if len(p)]
    table = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame({c: pd.Series(dtype=object) for c in CHANGE_COLUMNS})
    )
    table = table[CHANGE_COLUMNS].sort_values(["status", "x", "y"], kind="stable")
    table = table.reset_index(drop=True)
    return gpd.GeoDataFrame(
        table, geometry=gpd.points_from_xy(table.x.astype(float), table.y.astype(float)), crs=crs
    )


def mesh_changes(
    existing: pd.DataFrame, detected: pd.DataFrame, crs: str, mesh: str, **options
) -> gpd.GeoDataFrame:
    """The rows of :func:`detect_changes` that third-level mesh ``mesh`` owns: the rows
    whose position (the detected tree's, else the existing one's) falls in it.

    Called per tile with the trees of the tile and its eight neighbours, the tiles' rows
    together are the rows of :func:`detect_changes` over the whole city, each once: a
    pair is taken nearest first among candidate pairs closer than ``max_distance_m``, so
    whether two trees are matched depends only on the trees linked to them by a chain of
    such pairs, and within a neighbourhood reaching 1 km beyond the tile every chain
    reaching the tile's own trees is whole unless it runs on, tree to tree at less than
    2 m, for a kilometre.

    Parameters
    ----------
    existing, detected : pandas.DataFrame
        As for :func:`detect_changes`: the trees of the tile and its neighbours.
    mesh : str
        The tile's third-level mesh code.
    **options
        ``max_distance_m``, ``height_change_threshold_m`` of :func:`detect_changes`.
    """
    from pipeline.trees.gml import tree_meshes

    changes = detect_changes(existing, detected, crs, **options)
    if len(changes):
        changes = changes[tree_meshes(changes, crs) == str(mesh)].reset_index(drop=True)
    return changes


def change_counts(changes: pd.DataFrame) -> dict[str, int]:
    """Trees per status (every status listed, 0 when none)."""
    counts = changes.status.value_counts()
    return {s: int(counts.get(s, 0)) for s in ("matched", "height_changed", "new", "gone")}


def write_changes(changes: gpd.GeoDataFrame, path: str | os.PathLike) -> str:
    """Write the change table as GeoParquet, atomically."""
    with atomic_path(path) as tmp:
        changes.to_parquet(tmp, index=False)
    return str(path)


CHANGE_COLOURS = {"matched": "#1b9e77", "height_changed": "#7570b3", "new": "#d95f02", "gone": "#e7298a"}

#: The statuses in Japanese and English: the counts CSV and the report's HTML legend use
#: both, the PNG map the report's language (``stages.walkability.report_lang``).
STATUS_WORDS = {
    "matched": {"ja": "一致", "en": "matched"},
    "height_changed": {"ja": "樹高が変化", "en": "height changed"},
    "new": {"ja": "新規", "en": "new"},
    "gone": {"ja": "消失", "en": "gone"},
}
#: The change map's title and legend units per language.
MAP_WORDS = {
    "ja": {"title": "樹木の変化(既存の植栽 veg との比較)", "units": "樹冠高 (m)"},
    "en": {"title": "Trees: changes against the existing veg layer", "units": "canopy height (m)"},
}

#: Cells a side of the canopy drawn under the run's change map at most.
MAP_MAX_PIXELS = 2000


def write_change_counts(changes: pd.DataFrame, path: str | os.PathLike) -> str:
    """CSV of the trees per status (:func:`change_counts`), one row per status with its
    Japanese and English label: ``status, label_ja, label_en, trees`` (atomic)."""
    counts = change_counts(changes)
    table = pd.DataFrame(
        {
            "status": list(counts),
            "label_ja": [STATUS_WORDS[s]["ja"] for s in counts],
            "label_en": [STATUS_WORDS[s]["en"] for s in counts],
            "trees": list(counts.values()),
        }
    )
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False, encoding="utf-8", lineterminator="\n")
    return str(path)


def write_change_map(
    path: str | os.PathLike,
    changes: gpd.GeoDataFrame,
    canopy: np.ndarray,
    grid,
    *,
    lang: str = "ja",
    title: str | None = None,
) -> str:
    """PNG map: canopy height (m) under the trees coloured by status
    (:func:`pipeline.geo.maps.write_raster_map`); title and legend in ``lang``
    (:data:`MAP_WORDS`, :data:`STATUS_WORDS`) unless ``title`` is given."""
    from pipeline.geo.maps import Overlay, write_raster_map

    overlays = [
        Overlay(
            changes[changes.status == status].geometry.buffer(2.0),
            color=colour,
            facecolor=colour,
            linewidth=0.5,
            label=f"{STATUS_WORDS[status][lang]} ({int((changes.status == status).sum())})",
        )
        for status, colour in CHANGE_COLOURS.items()
        if (changes.status == status).any()
    ]
    shown = np.where(canopy > 0, canopy, np.nan)  # NaN (no canopy) stays NaN
    return write_raster_map(
        path,
        shown,
        grid,
        title=title or MAP_WORDS[lang]["title"],
        units=MAP_WORDS[lang]["units"],
        cmap="Greens",
        overlays=overlays,
    )


def write_run_change_map(
    path: str | os.PathLike,
    changes: gpd.GeoDataFrame,
    chm_paths,
    *,
    margin_m: float = 20.0,
    lang: str = "ja",
) -> str | None:
    """The run's change map (:func:`write_change_map`) over the canopy height model
    rasters ``chm_paths`` (the LiDAR stage's, m above ground), on the trees' extent grown
    by ``margin_m`` (the LiDAR's whole extent when there is no tree), mosaicked at most
    :data:`MAP_MAX_PIXELS` a side so a city's map stays bounded; without rasters, the
    trees alone on a blank grid of 2 m cells around them. None when there is neither.
    """
    from pipeline.geo.raster import Grid, mosaic

    bounds = None
    if len(changes):
        x0, y0, x1, y1 = changes.total_bounds
        bounds = (x0 - margin_m, y0 - margin_m, x1 + margin_m, y1 + margin_m)
    chm = mosaic(chm_paths, bounds=bounds, max_pixels=MAP_MAX_PIXELS) if chm_paths else None
    if chm is None:
        if bounds is None:
            return None
        grid = Grid.from_bounds(*bounds, 2.0, str(changes.crs))
        chm = (np.full(grid.shape, np.nan, np.float32), grid)
    canopy, grid = chm
    return write_change_map(path, changes, canopy, grid, lang=lang)
