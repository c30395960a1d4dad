"""Header summary of a LAS/LAZ file, as printed by ``machi info PATH.las``."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field

import laspy
import numpy as np
from pyproj import CRS

from pipeline.lidar.errors import LidarCRSError, LidarError
from pipeline.lidar.header import read_checked_header
from pipeline.lidar.reader import DEFAULT_CHUNK_SIZE, open_checked

log = logging.getLogger(__name__)

ASPRS_CLASS_NAMES = {
    0: "never classified",
    1: "unclassified",
    2: "ground",
    3: "low vegetation",
    4: "medium vegetation",
    5: "high vegetation",
    6: "building",
    7: "low point (noise)",
    8: "model key-point",
    9: "water",
    10: "rail",
    11: "road surface",
    12: "overlap",
    13: "wire guard",
    14: "wire conductor",
    15: "transmission tower",
    16: "wire connector",
    17: "bridge deck",
    18: "high noise",
}


@dataclass
class LidarSummary:
    """What ``machi info`` reports about one LAS/LAZ file.

    Bounds are in the file's own CRS units (header values); heights are as stored.
    """

    path: str
    version: str
    point_format: int
    compressed: bool
    point_count: int
    mins: tuple[float, float, float]
    maxs: tuple[float, float, float]
    crs: str
    crs_origin: str
    z_to_metres: float
    vertical_datum: str
    class_counts: dict[int, int] = field(default_factory=dict)
    generating_software: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def height_datum_note(self) -> str:
        unit = "metres" if self.z_to_metres == 1.0 else f"{self.z_to_metres:g} m per unit"
        return (
            f"kept orthometric ({self.vertical_datum}); stored unit: {unit}; "
            "3D Tiles export adds the geoid height"
        )

    def format(self) -> str:
        kind = "LAZ" if self.compressed else "LAS"
        lines = [
            f"{self.path}",
            f"  format        {kind} {self.version}, point format {self.point_format}"
            + (f", written by {self.generating_software}" if self.generating_software else ""),
            f"  points        {self.point_count:,}",
            f"  bounds min    {self.mins[0]:.3f} {self.mins[1]:.3f} {self.mins[2]:.3f}",
            f"  bounds max    {self.maxs[0]:.3f} {self.maxs[1]:.3f} {self.maxs[2]:.3f}",
            f"  CRS           {self.crs} [{self.crs_origin}]",
            f"  heights       {self.height_datum_note}",
            "  classes",
        ]
        total = max(sum(self.class_counts.values()), 1)
        for code, count in sorted(self.class_counts.items()):
            name = ASPRS_CLASS_NAMES.get(code, "user defined" if code >= 64 else "reserved")
            lines.append(f"    {code:3d} {name:<22} {count:>12,} ({100 * count / total:5.1f} %)")
        if not self.class_counts:
            lines.append("    (no points)")
        lines.extend(f"  warning       {w}" for w in self.warnings)
        return "\n".join(lines)

    __str__ = format


def summarize_lidar_file(
    path: str | os.PathLike, *, source_crs: str | CRS | None = None, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> LidarSummary:
    """Header summary and class counts of a LAS/LAZ file (one chunked pass over the points).

    A file whose CRS cannot be read is still summarised (CRS reported as unknown, with a
    warning) unless its header is corrupt; ``source_crs`` names the CRS when it has none.

    Raises
    ------
    LidarHeaderError
        The header contradicts the file size (checked before any point is read).
    LidarError
        The point data cannot be decoded.
    """
    started = time.perf_counter()
    header = read_checked_header(path)
    warnings: list[str] = []
    try:
        las = open_checked(path, source_crs)
        crs, origin = las.crs.name, las.crs.origin
        z_to_metres, datum = las.crs.z_to_metres, las.crs.vertical_datum
    except LidarCRSError as exc:
        crs, origin, z_to_metres, datum = "unknown", "none", 1.0, "unknown/assumed orthometric"
        warnings.append(exc.problem)
    if header.point_count == 0:
        warnings.append("the file holds no points")
    counts = np.zeros(256, dtype=np.int64)
    n_read = 0
    try:
        with laspy.open(os.fspath(path)) as reader:
            for points in reader.chunk_iterator(chunk_size):
                classes = np.asarray(points.classification, dtype=np.uint8)
                counts += np.bincount(classes, minlength=256)
                n_read += classes.size
    except (laspy.errors.LaspyException, ValueError, EOFError, OSError) as exc:
        raise LidarError(path, f"point data unreadable after {n_read:,} points: {exc}") from exc
    if n_read != header.point_count:
        warnings.append(f"header declares {header.point_count:,} points, {n_read:,} read")
    log.info("summarised %s: %d points in %.2f s", path, n_read, time.perf_counter() - started)
    return LidarSummary(
        path=str(path),
        version=header.version,
        point_format=header.point_format,
        compressed=header.compressed,
        point_count=header.point_count,
        mins=header.mins,
        maxs=header.maxs,
        crs=crs,
        crs_origin=origin,
        z_to_metres=z_to_metres,
        vertical_datum=datum,
        class_counts={int(c): int(counts[c]) for c in np.flatnonzero(counts)},
        generating_software=header.generating_software,
        warnings=warnings,
    )
