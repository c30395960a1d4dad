"""The coordinate reference system of a LAS/LAZ file and how its points reach the run's CRS.

Where the CRS comes from, in order:

1. ``source_crs`` named by the caller (the run definition) overrides the file; a
   warning is logged when the file names a different one.
2. The OGC WKT VLR (``LASF_Projection`` 2112, also in EVLRs), via laspy.
3. The GeoTIFF keys (``LASF_Projection`` 34735). The key directory is checked first
   (declared key count, key ids, ascending order, references into the double/ASCII
   records); a malformed directory is not trusted and gives :class:`LidarCRSError`.

Heights. Japanese LiDAR heights are orthometric (like PLATEAU's), and Machi keeps them
orthometric: only the horizontal coordinates are reprojected (pyproj, ``always_xy``);
``z`` is only scaled to metres, never shifted to the ellipsoid (export adds the geoid).
The vertical unit is, in order: the vertical CRS's axis unit when the CRS is compound,
the ``VerticalUnitsGeoKey``, else the horizontal linear unit of a projected CRS (US state
plane files in feet store heights in feet, e.g. PDAL's autzen), else metres.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass

import numpy as np
import pyproj
from pyproj import CRS, Transformer

from pipeline.lidar.errors import LidarCRSError
from pipeline.lidar.header import LasPublicHeader

log = logging.getLogger(__name__)

GEOKEY_DIRECTORY_RECORD = 34735
GEOKEY_DOUBLES_RECORD = 34736
GEOKEY_ASCII_RECORD = 34737
WKT_RECORD = 2112
VERTICAL_CS_TYPE_GEOKEY = 4096
VERTICAL_UNITS_GEOKEY = 4099
#: EPSG linear unit codes a VerticalUnitsGeoKey may hold, in metres.
LINEAR_UNITS_M = {9001: 1.0, 9002: 0.3048, 9003: 1200.0 / 3937.0, 9030: 1852.0, 9036: 1000.0}
UNKNOWN_VERTICAL_DATUM = "unknown/assumed orthometric"


@dataclass(frozen=True)
class GeoKey:
    key_id: int
    tiff_tag_location: int
    count: int
    value_offset: int


@dataclass(frozen=True)
class SourceCRS:
    """The CRS of a file's points and how to bring its heights to metres.

    Attributes
    ----------
    crs : pyproj.CRS
        As found (may be compound).
    horizontal : pyproj.CRS
        Its 2-D horizontal part, the source of the x/y reprojection.
    z_to_metres : float
        Factor turning stored heights into metres (0.3048 for international feet).
    vertical_datum : str
        Name of the vertical CRS when known, else ``"unknown/assumed orthometric"``.
    origin : str
        Where the CRS came from: ``"named by caller"``, ``"WKT VLR"`` or ``"GeoTIFF keys"``.
    """

    crs: CRS
    horizontal: CRS
    z_to_metres: float
    vertical_datum: str
    origin: str

    @property
    def name(self) -> str:
        epsg = self.crs.to_epsg(min_confidence=90)
        return f"EPSG:{epsg} ({self.crs.name})" if epsg else self.crs.name


def parse_geokey_directory(data: bytes) -> list[GeoKey]:
    """Parse and check a GeoTIFF key directory (``LASF_Projection`` 34735 payload).

    Raises
    ------
    ValueError
        Naming the first inconsistency: wrong version, a key count that does not fit
        the record, a zero or non-ascending key id.
    """
    if len(data) < 8:
        raise ValueError(f"GeoKey directory is {len(data)} bytes, shorter than its 8-byte header")
    version, _revision, _minor, n_keys = struct.unpack_from("<4H", data)
    if version != 1:
        raise ValueError(f"GeoKey directory version {version} (expected 1)")
    if 8 + 8 * n_keys > len(data):
        raise ValueError(f"GeoKey directory declares {n_keys} keys but holds {(len(data) - 8) // 8}")
    keys, previous = [], 0
    for i in range(n_keys):
        key = GeoKey(*struct.unpack_from("<4H", data, 8 + 8 * i))
        if key.key_id == 0 or key.key_id <= previous:
            raise ValueError(
                f"GeoKey entry {i + 1} of {n_keys} has key id {key.key_id} "
                f"(ids must be non-zero and ascending)"
            )
        if key.tiff_tag_location not in (0, GEOKEY_DOUBLES_RECORD, GEOKEY_ASCII_RECORD):
            raise ValueError(f"GeoKey {key.key_id} points to unknown tag {key.tiff_tag_location}")
        previous = key.key_id
        keys.append(key)
    return keys


def _vlr_payload(header: LasPublicHeader, user_id: str, record_id: int) -> bytes | None:
    vlr = next((v for v in header.vlrs if v.user_id == user_id and v.record_id == record_id), None)
    if vlr is None:
        return None
    with open(header.path, "rb") as fh:
        fh.seek(vlr.data_offset)
        return fh.read(vlr.data_length)


def _file_crs(header: LasPublicHeader, laspy_header) -> tuple[CRS | None, str, list[GeoKey], str]:
    """(crs, origin, geokeys, why-none) read from the file's VLRs."""
    geokeys: list[GeoKey] = []
    geokey_problem = ""
    raw = _vlr_payload(header, "LASF_Projection", GEOKEY_DIRECTORY_RECORD)
    if raw is not None:
        try:
            geokeys = parse_geokey_directory(raw)
        except ValueError as exc:
            geokey_problem = f"malformed GeoTIFF keys: {exc}"

    from laspy.vlrs.known import GeoKeyDirectoryVlr, WktCoordinateSystemVlr

    records = list(laspy_header.vlrs.get_by_id("LASF_Projection"))
    if laspy_header.evlrs is not None:
        records.extend(laspy_header.evlrs.get_by_id("LASF_Projection"))
    wkt_problem = ""
    for rec in records:
        if isinstance(rec, WktCoordinateSystemVlr):
            try:
                crs = rec.parse_crs()
            except pyproj.exceptions.CRSError as exc:
                wkt_problem = f"unreadable WKT VLR: {exc}"
                continue
            if crs is not None:
                if geokey_problem:
                    log.warning("%s: %s; using the WKT VLR", header.path, geokey_problem)
                return crs, "WKT VLR", geokeys, ""
    if geokey_problem:
        return None, "", [], geokey_problem
    for rec in records:
        if isinstance(rec, GeoKeyDirectoryVlr):
            try:
                crs = rec.parse_crs()
            except pyproj.exceptions.CRSError as exc:
                return None, "", geokeys, f"GeoTIFF keys name an unknown EPSG code: {exc}"
            if crs is not None:
                return crs, "GeoTIFF keys", geokeys, ""
            return (
                None,
                "",
                geokeys,
                ("GeoTIFF keys describe a user-defined CRS (no EPSG code) that cannot be read"),
            )
    return None, "", geokeys, wkt_problem or "the file carries no CRS (no WKT or GeoTIFF VLR)"


def _linear_unit_m(crs: CRS) -> float:
    axis = crs.axis_info[0] if crs.axis_info else None
    if axis is None or crs.is_geographic:
        return 1.0
    return float(axis.unit_conversion_factor)


def _vertical(crs: CRS, geokeys: list[GeoKey]) -> tuple[float, str]:
    """(z_to_metres, vertical datum name)."""
    if crs.is_compound:
        vertical = crs.sub_crs_list[-1]
        return float(vertical.axis_info[0].unit_conversion_factor), vertical.name
    by_id = {k.key_id: k for k in geokeys}
    datum = UNKNOWN_VERTICAL_DATUM
    vcs = by_id.get(VERTICAL_CS_TYPE_GEOKEY)
    if vcs is not None and 1024 <= vcs.value_offset <= 32766 and vcs.tiff_tag_location == 0:
        try:
            datum = CRS.from_epsg(vcs.value_offset).name
        except pyproj.exceptions.CRSError:
            log.warning("unknown VerticalCSTypeGeoKey EPSG:%d", vcs.value_offset)
    units = by_id.get(VERTICAL_UNITS_GEOKEY)
    if units is not None and units.value_offset in LINEAR_UNITS_M:
        return LINEAR_UNITS_M[units.value_offset], datum
    return _linear_unit_m(crs), datum


def resolve_source_crs(
    header: LasPublicHeader, laspy_header, source_crs: str | CRS | None = None
) -> SourceCRS:
    """The CRS of the points of one file.

    Parameters
    ----------
    header : LasPublicHeader
        From :func:`pipeline.lidar.header.read_checked_header`.
    laspy_header : laspy.LasHeader
        The same file's header as laspy read it (VLR payloads).
    source_crs : str or pyproj.CRS, optional
        The CRS the caller names; overrides the file's.

    Raises
    ------
    LidarCRSError
        When the file's CRS cannot be read and ``source_crs`` is None.
    """
    file_crs, origin, geokeys, problem = _file_crs(header, laspy_header)
    if source_crs is not None:
        try:
            named = CRS.from_user_input(source_crs)
        except pyproj.exceptions.CRSError as exc:
            raise LidarCRSError(header.path, f"named CRS {source_crs!r} is unknown: {exc}") from exc
        if file_crs is not None and not named.equals(file_crs, ignore_axis_order=True):
            log.warning(
                "%s: file CRS %r overridden by the named CRS %s", header.path, file_crs.name, named.name
            )
        crs, origin = named, "named by caller"
    elif file_crs is None:
        raise LidarCRSError(
            header.path, f"{problem}; name the CRS of this file (source_crs, e.g. 'EPSG:6677')"
        )
    else:
        crs = file_crs
    z_to_metres, datum = _vertical(crs, geokeys)
    return SourceCRS(
        crs=crs, horizontal=horizontal_crs(crs), z_to_metres=z_to_metres, vertical_datum=datum, origin=origin
    )


def horizontal_crs(crs: str | CRS) -> CRS:
    """The 2-D horizontal part of ``crs`` (itself when already 2-D)."""
    crs = CRS.from_user_input(crs)
    if crs.is_compound:
        return crs.sub_crs_list[0]
    return crs.to_2d() if len(crs.axis_info) > 2 else crs


def require_metric(crs: str | CRS) -> CRS:
    """``crs`` as a pyproj CRS, checked to be projected with metre axes (raster grids)."""
    crs_h = horizontal_crs(crs)
    if not crs_h.is_projected or _linear_unit_m(crs_h) != 1.0:
        raise ValueError(f"target CRS {crs_h.name!r} is not a projected CRS in metres")
    return crs_h


class PointTransform:
    """Bring stored coordinates of one file to a target CRS: x/y reprojected, z to metres.

    ``x, y`` come out in the target's units with longitude/easting first
    (``always_xy=True``, so EPSG:6697's latitude-first axis order never swaps them);
    ``z`` stays orthometric and is only multiplied by ``z_to_metres``.
    """

    def __init__(self, source: SourceCRS, target_crs: str | CRS):
        self.source = source
        self.target = horizontal_crs(target_crs)
        self.identity = source.horizontal.equals(self.target, ignore_axis_order=True)
        self._transformer = (
            None if self.identity else Transformer.from_crs(source.horizontal, self.target, always_xy=True)
        )

    def __call__(
        self, x: np.ndarray, y: np.ndarray, z: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._transformer is not None:
            x, y = self._transformer.transform(x, y)
        z = np.asarray(z, dtype=np.float64)
        if self.source.z_to_metres != 1.0:
            z = z * self.source.z_to_metres
        return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64), z

    def bounds(
        self, x_min: float, y_min: float, x_max: float, y_max: float
    ) -> tuple[float, float, float, float]:
        """The source box in the target CRS (edges densified, so curved edges are covered)."""
        if self._transformer is None:
            return (x_min, y_min, x_max, y_max)
        return tuple(self._transformer.transform_bounds(x_min, y_min, x_max, y_max, densify_pts=21))
