"""JIS X 0410 grid square codes (地域メッシュコード), vectorised on numpy arrays.

Levels (the ``level`` argument everywhere), with the cell size in latitude x longitude
and the approximate size in Japan:

=====  ==================  ==================  ======  ======
level  name                cell (lat x lon)    ~size   digits
=====  ==================  ==================  ======  ======
1      1st (一次, 80 km)   40' x 1 deg         80 km   4
2      2nd (二次, 10 km)   5' x 7.5'           10 km   6
3      3rd (三次, 1 km)    30" x 45"           1 km    8
4      half (2分の1)       15" x 22.5"         500 m   9
5      quarter (4分の1)    7.5" x 11.25"       250 m   10
6      eighth (8分の1)     3.75" x 5.625"      125 m   11
=====  ==================  ==================  ======  ======

The names ``"1km"``, ``"500m"``, ... are accepted wherever a level is (see
:data:`LEVEL_NAMES`). Levels 4-6 split their parent into four with a digit 1 (south-west),
2 (south-east), 3 (north-west), 4 (north-east).

All arithmetic is done on integers in units of the eighth-level cell (3.75" of latitude,
5.625" of longitude: 960 and 640 units per degree), so cell boundaries are exact and a
point on a boundary belongs to the cell to its north and east (the cell whose south or
west edge it lies on), as in the standard. Coordinates are JGD2011 latitude and longitude
in degrees (EPSG:6668; the difference to WGS 84 is far below a cell). Codes are int64.

``jismesh`` computes the same codes for points but its decoding breaks on numpy >= 1.23
(``np.asscalar``) and it floors floats without a tolerance, so this module does its own
integer arithmetic; the tests check it against ``jismesh.to_meshcode``.
"""

from __future__ import annotations

import numpy as np

#: Units of the eighth-level cell per degree of latitude and of longitude.
_LAT_UNITS_PER_DEG = 960
_LON_UNITS_PER_DEG = 640
#: Cell size in eighth-level units (the same count in latitude and longitude).
_CELL_UNITS = {1: 640, 2: 80, 3: 8, 4: 4, 5: 2, 6: 1}
_CELL_UNITS_BY_LEVEL = np.array([0, 640, 80, 8, 4, 2, 1], dtype=np.int64)
_DIGITS = {1: 4, 2: 6, 3: 8, 4: 9, 5: 10, 6: 11}
_LEVEL_OF_DIGITS = {d: lv for lv, d in _DIGITS.items()}

#: Accepted names for levels.
LEVEL_NAMES = {
    "1st": 1,
    "80km": 1,
    "2nd": 2,
    "10km": 2,
    "3rd": 3,
    "1km": 3,
    "half": 4,
    "500m": 4,
    "quarter": 5,
    "250m": 5,
    "eighth": 6,
    "125m": 6,
}

#: Approximate cell edge in metres, per level (for buffers and documentation only).
NOMINAL_SIZE_M = {1: 80_000.0, 2: 10_000.0, 3: 1_000.0, 4: 500.0, 5: 250.0, 6: 125.0}

# A float within this many units of an integer boundary is snapped onto it, so that
# decimal inputs such as 35 + 1/3 degrees fall on the boundary and not 1e-12 south of it.
_SNAP = 1e-7


def as_level(level: int | str) -> int:
    """Normalise a level given as 1..6 or a name from :data:`LEVEL_NAMES`."""
    if isinstance(level, str):
        key = level.strip().lower()
        if key in LEVEL_NAMES:
            return LEVEL_NAMES[key]
        if key.isdigit():
            level = int(key)
        else:
            raise ValueError(f"unknown mesh level {level!r}; use 1..6 or one of {sorted(LEVEL_NAMES)}")
    level = int(level)
    if level not in _CELL_UNITS:
        raise ValueError(f"mesh level must be 1..6, got {level}")
    return level


def _snap_floor(units: np.ndarray) -> np.ndarray:
    nearest = np.round(units)
    units = np.where(np.abs(units - nearest) < _SNAP, nearest, units)
    return np.floor(units).astype(np.int64)


def _to_units(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eighth-level integer indices (row north, column east) of points in degrees."""
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    if np.any(~np.isfinite(lat)) or np.any(~np.isfinite(lon)):
        raise ValueError("latitude and longitude must be finite")
    if np.any((lat < 0) | (lat >= 66.66)) or np.any((lon < 100) | (lon >= 200)):
        raise ValueError("JIS X 0410 covers latitude 0..66.66 and longitude 100..200 degrees")
    return _snap_floor(lat * _LAT_UNITS_PER_DEG), _snap_floor((lon - 100.0) * _LON_UNITS_PER_DEG)


def _quadrant(row: np.ndarray, col: np.ndarray, size: int) -> np.ndarray:
    """Split digit 1..4 (SW, SE, NW, NE) of a cell of ``2*size`` units."""
    return 1 + 2 * ((row // size) % 2) + (col // size) % 2


def _code_from_units(row: np.ndarray, col: np.ndarray, level: int) -> np.ndarray:
    """Code of the level-``level`` cell holding eighth-level cell ``(row, col)``."""
    row = np.asarray(row, dtype=np.int64)
    col = np.asarray(col, dtype=np.int64)
    code = (row // 640) * 100 + col // 640
    if level >= 2:
        code = code * 100 + ((row % 640) // 80) * 10 + (col % 640) // 80
    if level >= 3:
        code = code * 100 + ((row % 80) // 8) * 10 + (col % 80) // 8
    for lv, size in ((4, 4), (5, 2), (6, 1)):
        if level >= lv:
            code = code * 10 + _quadrant(row, col, size)
    return code


def _units_from_code(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """South-west eighth-level indices and level of each code (all same shape)."""
    codes = np.asarray(codes, dtype=np.int64)
    levels = level_of(codes)
    row = np.zeros(codes.shape, dtype=np.int64)
    col = np.zeros(codes.shape, dtype=np.int64)
    for level in np.unique(levels):
        sel = levels == level
        c = codes[sel]
        split = []  # split digits, finest first
        for _ in range(max(0, int(level) - 3)):
            split.append(c % 10)
            c = c // 10
        r = np.zeros(c.shape, dtype=np.int64)
        k = np.zeros(c.shape, dtype=np.int64)
        if level >= 3:
            r += ((c // 10) % 10) * 8
            k += (c % 10) * 8
            c = c // 100
        if level >= 2:
            q, v = (c // 10) % 10, c % 10
            if np.any(q > 7) or np.any(v > 7):
                bad = codes[sel][(q > 7) | (v > 7)][0]
                raise ValueError(f"mesh code {bad}: 2nd-level digits must be 0..7")
            r += q * 80
            k += v * 80
            c = c // 100
        r += (c // 100) * 640
        k += (c % 100) * 640
        for digit, size in zip(reversed(split), (4, 2, 1)):
            if np.any((digit < 1) | (digit > 4)):
                bad = codes[sel][(digit < 1) | (digit > 4)][0]
                raise ValueError(f"mesh code {bad}: split digits must be 1..4")
            r += ((digit - 1) // 2) * size
            k += ((digit - 1) % 2) * size
        row[sel] = r
        col[sel] = k
    return row, col, levels


def encode(lat, lon, level: int | str = 3) -> np.ndarray:
    """Mesh codes of the cells holding points.

    Parameters
    ----------
    lat, lon : array_like
        Latitude and longitude in degrees (JGD2011). Broadcast together. To code a raster
        cell or a polygon pass its centre, never a corner: a corner lies on four cells.
    level : int or str
        1..6 or a name from :data:`LEVEL_NAMES`.

    Returns
    -------
    numpy.ndarray of int64, shape of the broadcast inputs.
    """
    level = as_level(level)
    row, col = _to_units(*np.broadcast_arrays(np.asarray(lat, float), np.asarray(lon, float)))
    return _code_from_units(row, col, level)


def level_of(codes) -> np.ndarray:
    """Level (1..6) of each code, from its number of digits.

    Raises ``ValueError`` for a code with 5, 7 or more than 11 digits.
    """
    codes = np.asarray(codes, dtype=np.int64)
    if np.any(codes <= 0):
        raise ValueError("mesh codes must be positive integers")
    digits = np.floor(np.log10(codes)).astype(np.int64) + 1
    levels = np.zeros(codes.shape, dtype=np.int64)
    for d, lv in _LEVEL_OF_DIGITS.items():
        levels[digits == d] = lv
    if np.any(levels == 0):
        bad = codes[levels == 0].ravel()[0]
        raise ValueError(f"{bad} is not a JIS X 0410 mesh code (4, 6, 8, 9, 10 or 11 digits)")
    return levels


def decode_bounds(codes) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cell bounds ``(lat_min, lon_min, lat_max, lon_max)`` in degrees, arrays shaped as ``codes``.

    Codes of different levels may be mixed.
    """
    row, col, levels = _units_from_code(codes)
    size = _CELL_UNITS_BY_LEVEL[levels]
    lat_min = row / _LAT_UNITS_PER_DEG
    lon_min = 100.0 + col / _LON_UNITS_PER_DEG
    return (lat_min, lon_min, (row + size) / _LAT_UNITS_PER_DEG, 100.0 + (col + size) / _LON_UNITS_PER_DEG)


def centre(codes) -> tuple[np.ndarray, np.ndarray]:
    """Cell centres ``(lat, lon)`` in degrees."""
    lat_min, lon_min, lat_max, lon_max = decode_bounds(codes)
    return (lat_min + lat_max) / 2.0, (lon_min + lon_max) / 2.0


def parent(codes, level: int | str) -> np.ndarray:
    """The enclosing code at a coarser (or equal) ``level``."""
    level = as_level(level)
    row, col, levels = _units_from_code(codes)
    if np.any(levels < level):
        raise ValueError(f"parent level {level} is finer than some of the codes")
    return _code_from_units(row, col, level)


def children(code: int, level: int | str) -> np.ndarray:
    """All codes of ``level`` inside ``code``, south-west first, rows south to north."""
    level = as_level(level)
    row, col, own = _units_from_code(np.array([code]))
    if level < own[0]:
        raise ValueError(f"children level {level} is coarser than code {code} (level {own[0]})")
    n = _CELL_UNITS[int(own[0])] // _CELL_UNITS[level]
    step = _CELL_UNITS[level]
    r, c = np.meshgrid(row[0] + step * np.arange(n), col[0] + step * np.arange(n), indexing="ij")
    return _code_from_units(r.ravel(), c.ravel(), level)


def covering(
    lat_min: float, lon_min: float, lat_max: float, lon_max: float, level: int | str = 3
) -> np.ndarray:
    """Codes of every ``level`` cell that intersects the box (degrees), rows south to north.

    A box edge lying exactly on a cell boundary does not pull in the cell beyond it.
    """
    level = as_level(level)
    if not (lat_min <= lat_max and lon_min <= lon_max):
        raise ValueError("covering needs lat_min <= lat_max and lon_min <= lon_max")
    step = _CELL_UNITS[level]
    (r0, r1), (c0, c1) = _to_units(np.array([lat_min, lat_max]), np.array([lon_min, lon_max]))
    r0, c0 = r0 // step, c0 // step
    # the far edge is exclusive when it sits on a boundary (unless the box is degenerate)
    r1 = (
        r1 - (1 if (r1 % step == 0 and lat_max > lat_min and _on_grid(lat_max, _LAT_UNITS_PER_DEG)) else 0)
    ) // step
    c1 = (
        c1
        - (
            1
            if (c1 % step == 0 and lon_max > lon_min and _on_grid(lon_max - 100.0, _LON_UNITS_PER_DEG))
            else 0
        )
    ) // step
    rows, cols = np.meshgrid(np.arange(r0, max(r0, r1) + 1), np.arange(c0, max(c0, c1) + 1), indexing="ij")
    return _code_from_units(rows.ravel() * step, cols.ravel() * step, level)


def _on_grid(value: float, units_per_deg: int) -> bool:
    units = value * units_per_deg
    return abs(units - round(units)) < _SNAP


def neighbours(code: int, include_self: bool = False) -> np.ndarray:
    """The eight cells of the same level around ``code`` (rows south to north).

    Crosses 1st- and 2nd-level boundaries correctly (neighbours of 53396599 include
    53397600 to the north-east).
    """
    row, col, level = _units_from_code(np.array([code]))
    step = _CELL_UNITS[int(level[0])]
    dr, dc = np.meshgrid([-1, 0, 1], [-1, 0, 1], indexing="ij")
    keep = np.ones(9, bool) if include_self else ((dr != 0) | (dc != 0)).ravel()
    return _code_from_units(row[0] + step * dr.ravel()[keep], col[0] + step * dc.ravel()[keep], int(level[0]))


def to_polygons(codes, crs: str | int = "EPSG:6668", densify_deg: float | None = None):
    """Cells as polygons in ``crs``, as a GeoSeries indexed by code.

    Parameters
    ----------
    codes : array_like of int
    crs : str or int
        Target CRS. Cells are built in JGD2011 geographic (EPSG:6668) and reprojected.
    densify_deg : float, optional
        Add vertices along each edge at most this many degrees apart before reprojecting,
        so that edges stay true to the graticule in a projected CRS (1st/2nd levels).
    """
    import geopandas as gpd
    import pandas as pd
    import shapely

    codes = np.asarray(codes, dtype=np.int64).ravel()
    lat_min, lon_min, lat_max, lon_max = decode_bounds(codes)
    boxes = shapely.box(lon_min, lat_min, lon_max, lat_max)
    if densify_deg:
        boxes = shapely.segmentize(boxes, densify_deg)
    series = gpd.GeoSeries(boxes, index=pd.Index(codes, name="meshcode"), crs="EPSG:6668")
    return series if _same_crs(crs, "EPSG:6668") else series.to_crs(crs)


def _same_crs(a, b) -> bool:
    from pyproj import CRS

    return CRS.from_user_input(a) == CRS.from_user_input(b)
