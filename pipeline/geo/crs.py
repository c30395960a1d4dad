"""Choosing the metric CRS of a run: the JGD2011 plane rectangular zone of the data.

Japan's 19 plane rectangular coordinate systems (平面直角座標系, EPSG:6669-6687 on
JGD2011) are assigned by prefecture, with Hokkaido, Tokyo's islands, Okinawa and
Kagoshima split further. :func:`plane_zone_epsg` picks the zone from the prefecture
code that PLATEAU writes on every building (``uro:prefecture``/``uro:city``) and the
location; :func:`zone_for_lonlat` uses the nearest zone origin when no prefecture is
known. Runs may always name their own CRS instead.
"""

from __future__ import annotations

import numpy as np

# Prefecture code -> plane rectangular zone number (Geospatial Information Authority of
# Japan, 告示 平成14年国土交通省告示第9号). Split prefectures are refined below.
_PREFECTURE_ZONE = {
    1: 12,
    2: 10,
    3: 10,
    4: 10,
    5: 10,
    6: 10,
    7: 9,
    8: 9,
    9: 9,
    10: 9,
    11: 9,
    12: 9,
    13: 9,
    14: 9,
    15: 8,
    16: 7,
    17: 7,
    18: 6,
    19: 8,
    20: 8,
    21: 7,
    22: 8,
    23: 7,
    24: 6,
    25: 6,
    26: 6,
    27: 6,
    28: 5,
    29: 6,
    30: 6,
    31: 5,
    32: 3,
    33: 5,
    34: 3,
    35: 3,
    36: 4,
    37: 4,
    38: 4,
    39: 4,
    40: 2,
    41: 2,
    42: 1,
    43: 2,
    44: 2,
    45: 2,
    46: 2,
    47: 15,
}
# Zone origins (latitude, longitude), for the nearest-origin fallback.
_ZONE_ORIGIN = {
    1: (33.0, 129.5),
    2: (33.0, 131.0),
    3: (36.0, 132.1667),
    4: (33.0, 133.5),
    5: (36.0, 134.3333),
    6: (36.0, 136.0),
    7: (36.0, 137.1667),
    8: (36.0, 138.5),
    9: (36.0, 139.8333),
    10: (40.0, 140.8333),
    11: (44.0, 140.25),
    12: (44.0, 142.25),
    13: (44.0, 144.25),
    14: (26.0, 142.0),
    15: (26.0, 127.5),
    16: (26.0, 124.0),
    17: (26.0, 131.0),
    18: (20.0, 136.0),
    19: (26.0, 154.0),
}


def zone_epsg(zone: int) -> int:
    """EPSG code of JGD2011 plane rectangular zone ``zone`` (1..19)."""
    if not 1 <= zone <= 19:
        raise ValueError(f"plane rectangular zone must be 1..19, got {zone}")
    return 6668 + zone


def plane_zone_epsg(prefecture: int | str | None, lon: float, lat: float) -> int:
    """EPSG code of the plane rectangular zone for a prefecture code at a location.

    Parameters
    ----------
    prefecture : int or str or None
        JIS X 0401 prefecture code (``11`` Saitama), or a 5-digit city code whose first
        two digits are the prefecture. None falls back to :func:`zone_for_lonlat`.
    lon, lat : float
        Degrees (JGD2011), used to split Hokkaido, Tokyo, Kagoshima and Okinawa.
    """
    if prefecture is None or str(prefecture).strip() == "":
        return zone_for_lonlat(lon, lat)
    code = int(str(prefecture).strip()[:2]) if len(str(prefecture).strip()) >= 4 else int(prefecture)
    if code not in _PREFECTURE_ZONE:
        return zone_for_lonlat(lon, lat)
    zone = _PREFECTURE_ZONE[code]
    if code == 1:  # Hokkaido: west (XI), central (XII), east (XIII), split by subprefecture.
        zone = 11 if lon < 141.0 else (13 if lon > 142.9 else 12)
    elif code == 13 and lat < 32.0:  # Ogasawara and the far islands
        zone = 19 if lon > 150.0 else 18
    elif code == 13 and lat < 34.9:  # Izu islands
        zone = 14
    elif code == 46 and lat < 30.0:  # Kagoshima's southern islands
        zone = 1
    elif code == 47:
        zone = 16 if lon < 125.5 else (17 if lon > 130.0 else 15)
    return zone_epsg(zone)


def zone_for_lonlat(lon: float, lat: float) -> int:
    """EPSG code of the zone whose origin is nearest (a fallback without prefecture)."""
    zones = np.array(list(_ZONE_ORIGIN))
    origins = np.array(list(_ZONE_ORIGIN.values()))
    scale = np.cos(np.radians(lat))
    distance = np.hypot((origins[:, 1] - lon) * scale, (origins[:, 0] - lat) * 0.5)
    return zone_epsg(int(zones[np.argmin(distance)]))


def detect_crs(sources) -> str:
    """``EPSG:<code>`` of the plane rectangular zone of CityGML ``sources``
    (:class:`citygml.Source`): from the prefecture PLATEAU writes on the first building
    with coordinates and its location (:func:`citygml.location.first_location`).

    Raises
    ------
    ValueError
        When no file has a feature with coordinates.
    """
    from citygml.location import first_location

    location = first_location(sources)
    if location is None:
        raise ValueError("crs: auto found no feature with coordinates; name the CRS in the run")
    return f"EPSG:{plane_zone_epsg(location.prefecture, location.lon, location.lat)}"
