"""Solitary trees of an existing PLATEAU ``veg`` layer, read with Machi's CityGML reader."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from pyproj import Transformer

EXISTING_COLUMNS = ["tree_id", "x", "y", "height_m", "crown_diameter_m", "class_code", "source"]


def veg_files(folder_or_files: str | os.PathLike | list) -> list[Path]:
    """The ``*.gml`` files of a veg folder (searched recursively), or the files given."""
    if isinstance(folder_or_files, (list, tuple)):
        return [Path(p) for p in folder_or_files]
    path = Path(folder_or_files)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such veg folder or file")
    return sorted(path.rglob("*.gml"))


def read_existing_trees(folder_or_files, crs: str) -> pd.DataFrame:
    """``veg:SolitaryVegetationObject`` features as a table in the metric ``crs``.

    Position is the mean of the lowest LOD geometry's vertices (the crown's centre for
    PLATEAU's symmetric crowns and stems); height is ``veg:height`` when given, else the
    geometry's vertical extent; crown diameter is ``veg:crownDiameter`` (NaN when absent).

    Returns
    -------
    pandas.DataFrame
        :data:`EXISTING_COLUMNS`; x, y metres in ``crs``; ``source`` the file.
    """
    from citygml import read_features

    rows = []
    for path in veg_files(folder_or_files):
        for feature in read_features(str(path)):
            if not feature.feature_type.endswith("SolitaryVegetationObject"):
                continue
            lods = sorted({g.lod for g in feature.geometries if g.polygons})
            vertices = (
                np.concatenate([g.vertices() for g in feature.geometries_at(lods[0])])
                if lods
                else np.empty((0, 3))
            )
            attributes = feature.attributes
            height = attributes.get("height")
            if not isinstance(height, (int, float)):
                height = float(np.ptp(vertices[:, 2])) if len(vertices) else np.nan
            crown = attributes.get("crownDiameter")
            rows.append(
                {
                    "tree_id": feature.gml_id,
                    "lon": float(vertices[:, 0].mean()) if len(vertices) else np.nan,
                    "lat": float(vertices[:, 1].mean()) if len(vertices) else np.nan,
                    "height_m": float(height),
                    "crown_diameter_m": float(crown) if isinstance(crown, (int, float)) else np.nan,
                    "class_code": attributes.get("class"),
                    "source": str(path),
                }
            )
    frame = pd.DataFrame(
        rows, columns=["tree_id", "lon", "lat", "height_m", "crown_diameter_m", "class_code", "source"]
    )
    to_metric = Transformer.from_crs("EPSG:6668", crs, always_xy=True)
    x, y = to_metric.transform(frame.lon.to_numpy(float), frame.lat.to_numpy(float))
    frame["x"], frame["y"] = x, y
    return frame[EXISTING_COLUMNS].dropna(subset=["x", "y"]).reset_index(drop=True)


def existing_trees_from_tables(tables: list[str | os.PathLike], crs: str) -> pd.DataFrame:
    """``veg:SolitaryVegetationObject`` rows of ingested ``veg`` tables (GeoParquet in the
    metric ``crs``, :mod:`pipeline.ingest`) as the table :func:`read_existing_trees` gives.

    Position is the centre of the tree's footprint geometry (as the surface model places a
    PLATEAU crown, :func:`pipeline.surface.model.build_canopy`); height is ``height_m``
    (``veg:height``, else the geometry's extent, as the ingest decided); crown diameter
    ``crown_diameter`` (NaN when absent). A tree listed in two tables (a file and its
    neighbour's halo) is kept once, by ``gml_id``.

    Returns
    -------
    pandas.DataFrame
        :data:`EXISTING_COLUMNS`, sorted by ``tree_id``; ``source`` the table.
    """
    import geopandas as gpd

    frames = []
    for path in sorted(str(t) for t in tables):
        table = gpd.read_parquet(path)
        solitary = table[(table["feature_type"] == "veg:SolitaryVegetationObject") & table.geometry.notna()]
        if not len(solitary):
            continue
        solitary = solitary.to_crs(crs) if solitary.crs is not None else solitary
        centre = solitary.geometry.centroid
        crown = (
            pd.to_numeric(solitary["crown_diameter"], errors="coerce")
            if "crown_diameter" in solitary
            else pd.Series(np.nan, index=solitary.index)
        )
        classes = solitary["class"] if "class" in solitary else pd.Series(None, index=solitary.index)
        frames.append(
            pd.DataFrame(
                {
                    "tree_id": solitary["gml_id"].to_numpy(object),
                    "x": centre.x.to_numpy(float),
                    "y": centre.y.to_numpy(float),
                    "height_m": solitary["height_m"].to_numpy(float),
                    "crown_diameter_m": crown.to_numpy(float),
                    "class_code": classes.to_numpy(object),
                    "source": path,
                }
            )
        )
    if not frames:
        return pd.DataFrame(
            {
                c: pd.Series(dtype=float if c in ("x", "y", "height_m", "crown_diameter_m") else object)
                for c in EXISTING_COLUMNS
            }
        )
    frame = pd.concat(frames, ignore_index=True)
    frame = frame.dropna(subset=["x", "y"]).sort_values("tree_id", kind="stable")
    return frame.drop_duplicates("tree_id").reset_index(drop=True)[EXISTING_COLUMNS]
