"""Fixtures shared by the pipeline tests: one local Dask cluster per test module."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def cluster():
    """A client to a LocalCluster of two single-threaded worker processes, as a run uses."""
    from distributed import Client, LocalCluster

    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as local,
        Client(local) as client,
    ):
        yield client


def output_digest(out) -> dict:
    """A value digest of a run's outputs, to compare runs by content, not bytes.

    Per GeoParquet/Parquet table: rows, and per column the count of finite values and
    their mean (numbers) or a hash of the sorted values (anything else); per COG band:
    shape, count of finite cells and their mean; per 3D Tiles layer: feature count and,
    per class property, the same as a table column. Maps, reports and the manifest are
    left out (they hold pictures and timings).
    """
    import hashlib
    from pathlib import Path

    import numpy as np
    import pandas as pd
    import rasterio

    from tiles.validate import content_paths, count_features, property_tables

    def column(values) -> dict:
        series = pd.Series(values)
        numeric = pd.to_numeric(series, errors="coerce") if series.dtype.kind in "biufc" else None
        if numeric is not None:
            values = numeric.astype(float)
            finite = values[np.isfinite(values) & (values.abs() < 1e300)]  # beyond: a noData sentinel
            return {"finite": int(len(finite)), "mean": float(finite.mean()) if len(finite) else None}
        text = sorted(str(v) for v in series.tolist())
        return {"hash": hashlib.sha256("\n".join(text).encode()).hexdigest()[:16]}

    out = Path(out)
    digest: dict = {}
    for path in sorted(out.rglob("*.parquet")):
        table = pd.read_parquet(path)
        cols = {name: column(table[name]) for name in table.columns if name != "geometry"}
        if "geometry" in table:
            import geopandas as gpd

            areas = gpd.read_parquet(path).geometry
            cols["geometry"] = {
                "finite": int(areas.notna().sum()),
                "mean": float(np.nanmean(areas.length)) if len(areas) else None,
            }
        digest[str(path.relative_to(out))] = {"rows": len(table), "columns": cols}
    for path in sorted(out.rglob("*.tif")):
        with rasterio.open(path) as src:
            band = src.read(1, masked=True).astype(float).filled(np.nan)
        finite = band[np.isfinite(band)]
        digest[str(path.relative_to(out))] = {
            "shape": list(band.shape),
            "finite": int(finite.size),
            "mean": float(finite.mean()) if finite.size else None,
        }
    for tileset in sorted(out.glob("3dtiles/*/tileset.json")):
        entry: dict = {"features": count_features(tileset, leaves_only=False), "properties": {}}
        if tileset.parent.name != "lidar":
            merged: dict[str, list] = {}
            for glb in content_paths(tileset):
                for table in property_tables(glb):
                    for name, values in table.items():
                        merged.setdefault(name, []).extend(values)
            entry["properties"] = {name: column(values) for name, values in sorted(merged.items())}
        digest[str(tileset.relative_to(out))] = entry
    return digest


@pytest.fixture(scope="session")
def digest_outputs():
    """:func:`output_digest` as a fixture."""
    return output_digest
