"""The unit of parallel work: a JIS X 0410 third-level mesh tile (about 1 km).

PLATEAU splits its building files the same way, so a tile's data is one file per
feature type (terrain and roads come per second-level mesh and are shared).
:func:`tile_grid` gives a tile's raster grid in the run's metric CRS: the bounding box
of the mesh cell, aligned to the resolution, so neighbouring tiles share cell edges.
"""

from __future__ import annotations

from pipeline.geo import meshcode
from pipeline.geo.raster import Grid


def tile_codes(area_meshes: list[str], source_meshes: list[str | None]) -> list[str]:
    """Third-level tiles of a run: the area's codes (2nd-level ones expanded to the
    3rd-level tiles that hold data), else every 3rd-level code the inputs carry."""
    data_tiles = sorted({m for m in source_meshes if m and len(m) == 8})
    if not area_meshes:
        return data_tiles
    tiles: set[str] = set()
    for code in area_meshes:
        if len(code) == 8:
            tiles.add(code)
        elif len(code) < 8:
            tiles.update(t for t in data_tiles if t.startswith(code))
        else:
            tiles.add(code[:8])
    return sorted(tiles)


def tile_grid(code: str | int, crs: str, resolution: float) -> Grid:
    """The raster grid of third-level tile ``code`` in ``crs`` (metres)."""
    polygon = meshcode.to_polygons([int(code)], crs=crs, densify_deg=1 / 480).iloc[0]
    x_min, y_min, x_max, y_max = polygon.bounds
    return Grid.from_bounds(x_min, y_min, x_max, y_max, resolution, crs)


def tile_lonlat_bounds(code: str | int) -> tuple[float, float, float, float]:
    """(lon_min, lat_min, lon_max, lat_max) of a tile, degrees JGD2011."""
    lat_min, lon_min, lat_max, lon_max = (float(v[0]) for v in meshcode.decode_bounds([int(code)]))
    return lon_min, lat_min, lon_max, lat_max
