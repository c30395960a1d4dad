"""Parse and check a LAS/LAZ public header against the file size before any point is read.

A corrupt header can declare billions of VLRs or points; a reader that trusts it
allocates for them (``laspy.read`` of PDAL's ``garbage_nVariableLength.las`` tries to
allocate about 18 GB). :func:`read_checked_header` reads at most the public header
(375 bytes), the VLR headers (54 bytes each, and only as many as fit before the point
data) and the LAZ chunk-table header, and raises :class:`LidarHeaderError` when any
declared size does not fit in the file. Only then is the file handed to laspy.

Layout follows ASPRS LAS 1.0-1.4 (R15) and the LASzip specification.
"""

from __future__ import annotations

import math
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.lidar.errors import LidarHeaderError

#: Public header size by minor version: 1.0-1.2 end after min z, 1.3 adds the waveform
#: offset, 1.4 adds EVLRs and 64-bit point counts.
MIN_HEADER_SIZE = {0: 227, 1: 227, 2: 227, 3: 235, 4: 375}
#: Point data formats each version allows.
MAX_POINT_FORMAT = {0: 1, 1: 1, 2: 3, 3: 5, 4: 10}
#: Minimal point record length in bytes for each point data format (extra bytes allowed).
POINT_RECORD_MIN_LENGTH = {0: 20, 1: 28, 2: 26, 3: 34, 4: 57, 5: 63, 6: 30, 7: 36, 8: 38, 9: 59, 10: 67}
VLR_HEADER_SIZE = 54
EVLR_HEADER_SIZE = 60
LASZIP_USER_ID = "laszip encoded"
LASZIP_RECORD_ID = 22204
#: LASzip chunk size meaning "variable-sized chunks" (the chunk table then stores counts).
LASZIP_VARIABLE_CHUNK = 0xFFFFFFFF

_PUBLIC_1_0 = struct.Struct("<4sHH16sBB32s32sHHHIIBHI5I3d3d6d")
_VLR_HEADER = struct.Struct("<H16sHH32s")
_LASZIP_VLR_START = struct.Struct("<HHBBHIIqqH")


@dataclass(frozen=True)
class VlrHeader:
    """One variable-length record's header and where its payload lies in the file."""

    user_id: str
    record_id: int
    description: str
    data_offset: int
    data_length: int


@dataclass(frozen=True)
class LasPublicHeader:
    """The fields of the LAS public header that Machi checks or reports.

    Coordinates are in the file's CRS units; ``mins``/``maxs`` are the header bounds,
    ``scales``/``offsets`` turn the stored integers into coordinates.
    """

    path: str
    file_size: int
    version: str
    point_format: int
    compressed: bool
    point_record_length: int
    point_count: int
    header_size: int
    offset_to_point_data: int
    vlr_count: int
    evlr_count: int
    global_encoding: int
    system_identifier: str
    generating_software: str
    creation_year: int
    creation_day: int
    scales: tuple[float, float, float]
    offsets: tuple[float, float, float]
    mins: tuple[float, float, float]
    maxs: tuple[float, float, float]
    points_by_return: tuple[int, ...]
    vlrs: tuple[VlrHeader, ...] = field(default=(), repr=False)

    @property
    def wkt_flag(self) -> bool:
        """Global-encoding bit 4: the CRS is stored as OGC WKT (LAS 1.4)."""
        return bool(self.global_encoding & 0x10)


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("ascii", errors="replace").strip()


def read_checked_header(path: str | os.PathLike) -> LasPublicHeader:
    """Read the public header and VLR headers of ``path`` and check them against its size.

    Parameters
    ----------
    path : path-like
        A ``.las`` or ``.laz`` file.

    Returns
    -------
    LasPublicHeader

    Raises
    ------
    LidarHeaderError
        When the signature, version or point format is invalid, or a declared size
        (header, VLRs, point records, EVLRs, LAZ chunk table) does not fit in the file.
    """
    path = Path(path)
    try:
        file_size = path.stat().st_size
        with open(path, "rb") as fh:
            return _check(fh, str(path), file_size)
    except OSError as exc:
        raise LidarHeaderError(path, f"cannot read file: {exc.strerror or exc}") from exc


def _check(fh, name: str, file_size: int) -> LasPublicHeader:
    def fail(problem: str) -> LidarHeaderError:
        return LidarHeaderError(name, problem)

    head = fh.read(375)
    if len(head) < 4 or head[:4] != b"LASF":
        raise fail("not a LAS/LAZ file (signature is not 'LASF')")
    if len(head) < _PUBLIC_1_0.size:
        raise fail(f"file is {file_size} bytes, shorter than the smallest LAS header (227 bytes)")
    f = _PUBLIC_1_0.unpack_from(head)
    (
        _,
        _source_id,
        global_encoding,
        _guid,
        v_major,
        v_minor,
        system_id,
        software,
        day,
        year,
        header_size,
        offset_to_points,
        vlr_count,
        format_byte,
        record_length,
        legacy_count,
    ) = f[:16]
    by_return = tuple(f[16:21])
    scales, offsets = tuple(f[21:24]), tuple(f[24:27])
    max_x, min_x, max_y, min_y, max_z, min_z = f[27:33]

    if v_major != 1 or v_minor not in MIN_HEADER_SIZE:
        raise fail(f"unsupported LAS version {v_major}.{v_minor} (Machi reads 1.0 to 1.4)")
    if header_size < MIN_HEADER_SIZE[v_minor]:
        raise fail(
            f"header size {header_size} is smaller than the {MIN_HEADER_SIZE[v_minor]} "
            f"bytes LAS 1.{v_minor} requires"
        )
    if header_size > file_size or offset_to_points > file_size:
        raise fail(
            f"header size {header_size} / offset to point data {offset_to_points} "
            f"beyond the end of the {file_size}-byte file"
        )
    if offset_to_points < header_size:
        raise fail(f"offset to point data {offset_to_points} lies inside the {header_size}-byte header")

    compressed = bool(format_byte & 0xC0)
    point_format = format_byte & 0x3F
    if point_format > MAX_POINT_FORMAT[v_minor]:
        raise fail(f"point data format {point_format} is not allowed in LAS 1.{v_minor}")
    if record_length < POINT_RECORD_MIN_LENGTH[point_format]:
        raise fail(
            f"point record length {record_length} is shorter than the "
            f"{POINT_RECORD_MIN_LENGTH[point_format]} bytes of point format {point_format}"
        )
    if not all(math.isfinite(s) and s != 0.0 for s in scales):
        raise fail(f"invalid scale factors {scales}")
    if not all(math.isfinite(v) for v in (*offsets, max_x, min_x, max_y, min_y, max_z, min_z)):
        raise fail("header offsets or bounds are not finite numbers")

    vlr_space = offset_to_points - header_size
    if vlr_count * VLR_HEADER_SIZE > vlr_space:
        raise fail(
            f"header declares {vlr_count} VLRs (at least {vlr_count * VLR_HEADER_SIZE} "
            f"bytes) but only {vlr_space} bytes lie between header and point data"
        )

    point_count, evlr_start, evlr_count = legacy_count, 0, 0
    if v_minor >= 4:
        evlr_start, evlr_count, point_count = struct.unpack_from("<QIQ", head, 235)
        by_return = struct.unpack_from("<15Q", head, 255)
        if legacy_count not in (0, point_count):
            raise fail(f"legacy point count {legacy_count} contradicts the 64-bit count {point_count}")

    vlrs = _read_vlr_headers(fh, name, header_size, offset_to_points, vlr_count)

    if compressed:
        _check_laz(fh, name, vlrs, offset_to_points, point_count, file_size)
    else:
        needed = offset_to_points + point_count * record_length
        if needed > file_size:
            raise fail(
                f"header declares {point_count:,} points of {record_length} bytes "
                f"({needed:,} bytes with the header) but the file has {file_size:,} bytes"
            )

    if evlr_count:
        if evlr_start < offset_to_points or evlr_start + evlr_count * EVLR_HEADER_SIZE > file_size:
            raise fail(
                f"{evlr_count} EVLRs starting at byte {evlr_start} do not fit in the {file_size}-byte file"
            )

    if point_count and (min_x > max_x or min_y > max_y or min_z > max_z):
        raise fail(
            f"header bounds are inverted: min ({min_x}, {min_y}, {min_z}) > max ({max_x}, {max_y}, {max_z})"
        )

    return LasPublicHeader(
        path=name,
        file_size=file_size,
        version=f"{v_major}.{v_minor}",
        point_format=point_format,
        compressed=compressed,
        point_record_length=record_length,
        point_count=int(point_count),
        header_size=header_size,
        offset_to_point_data=offset_to_points,
        vlr_count=vlr_count,
        evlr_count=evlr_count,
        global_encoding=global_encoding,
        system_identifier=_text(system_id),
        generating_software=_text(software),
        creation_year=year,
        creation_day=day,
        scales=scales,
        offsets=offsets,
        mins=(min_x, min_y, min_z),
        maxs=(max_x, max_y, max_z),
        points_by_return=tuple(int(n) for n in by_return),
        vlrs=tuple(vlrs),
    )


def _read_vlr_headers(
    fh, name: str, header_size: int, offset_to_points: int, vlr_count: int
) -> list[VlrHeader]:
    """Walk the VLR headers; each payload must end before the point data starts."""
    vlrs, pos = [], header_size
    for i in range(vlr_count):
        fh.seek(pos)
        raw = fh.read(VLR_HEADER_SIZE)
        if pos + VLR_HEADER_SIZE > offset_to_points or len(raw) < VLR_HEADER_SIZE:
            raise LidarHeaderError(
                name,
                f"VLR {i + 1} of {vlr_count} starts at byte {pos}, past the point data at {offset_to_points}",
            )
        _reserved, user_id, record_id, length, description = _VLR_HEADER.unpack(raw)
        data_offset = pos + VLR_HEADER_SIZE
        if data_offset + length > offset_to_points:
            raise LidarHeaderError(
                name,
                f"VLR {i + 1} ({_text(user_id)!r} {record_id}) declares "
                f"{length} bytes, running past the point data at "
                f"byte {offset_to_points}",
            )
        vlrs.append(VlrHeader(_text(user_id), record_id, _text(description), data_offset, length))
        pos = data_offset + length
    return vlrs


def _check_laz(
    fh, name: str, vlrs: list[VlrHeader], offset_to_points: int, point_count: int, file_size: int
) -> None:
    """A LAZ file needs the LASzip VLR and, for a non-empty file, a chunk table in the file."""
    laszip = next((v for v in vlrs if v.user_id == LASZIP_USER_ID and v.record_id == LASZIP_RECORD_ID), None)
    if laszip is None:
        raise LidarHeaderError(name, "point format is flagged compressed (LAZ) but the LASzip VLR is missing")
    if laszip.data_length < _LASZIP_VLR_START.size:
        raise LidarHeaderError(name, f"LASzip VLR is {laszip.data_length} bytes, too short")
    fh.seek(laszip.data_offset)
    (_compressor, _coder, _vmaj, _vmin, _rev, _options, chunk_size, _n_special, _off_special, _n_items) = (
        _LASZIP_VLR_START.unpack(fh.read(_LASZIP_VLR_START.size))
    )
    if point_count == 0:
        return
    fh.seek(offset_to_points)
    raw = fh.read(8)
    if len(raw) < 8:
        raise LidarHeaderError(name, "LAZ file ends before its chunk-table offset")
    (table_offset,) = struct.unpack("<q", raw)
    if table_offset == -1:
        # Written by a streaming encoder: the table offset sits in the last 8 bytes.
        fh.seek(file_size - 8)
        (table_offset,) = struct.unpack("<q", fh.read(8))
    if not offset_to_points + 8 <= table_offset <= file_size - 8:
        raise LidarHeaderError(
            name,
            f"LAZ chunk table offset {table_offset} lies outside the "
            f"compressed data (bytes {offset_to_points + 8} to "
            f"{file_size - 8})",
        )
    fh.seek(table_offset)
    _table_version, chunk_count = struct.unpack("<II", fh.read(8))
    if chunk_size != LASZIP_VARIABLE_CHUNK and chunk_size > 0:
        expected = math.ceil(point_count / chunk_size)
        if chunk_count != expected:
            raise LidarHeaderError(
                name,
                f"LAZ chunk table lists {chunk_count} chunks but "
                f"{point_count:,} points in chunks of {chunk_size:,} "
                f"need {expected}",
            )
    elif chunk_count == 0 or chunk_count > point_count:
        raise LidarHeaderError(name, f"LAZ chunk table lists {chunk_count} chunks for {point_count:,} points")
