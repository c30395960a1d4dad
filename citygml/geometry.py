"""GML geometry: coordinate lists, rings, and triangulation of polygons into meshes.

Parsing functions take lxml elements and return float64 arrays ``(n, 3)`` in
``(x, y, z)`` order; the caller says whether the source axis order is latitude first
(EPSG:6697/6668 as PLATEAU writes it). Triangulation uses mapbox-earcut.
"""

from __future__ import annotations

import mapbox_earcut
import numpy as np

from citygml.namespaces import GML, q

POS_LIST = q(GML, "posList")
POS = q(GML, "pos")
COORDINATES = q(GML, "coordinates")
LINEAR_RING = q(GML, "LinearRing")
EXTERIOR = q(GML, "exterior")
INTERIOR = q(GML, "interior")
GML_ID = q(GML, "id")


class CoordinateError(ValueError):
    """A coordinate list that cannot be read; carries the line of the element."""

    def __init__(self, message: str, line: int | None):
        super().__init__(message)
        self.line = line


def parse_coordinates(
    text: str | None,
    dimension: int,
    *,
    lat_first: bool,
    line: int | None = None,
    tokens: list[str] | None = None,
) -> np.ndarray:
    """Parse a whitespace-separated coordinate list into an ``(n, 3)`` array.

    Parameters
    ----------
    text : str
        ``gml:posList`` content.
    dimension : int
        ``srsDimension``: 2 or 3. Two-dimensional lists get ``z = 0``.
    lat_first : bool
        True for EPSG:6697/6668 (latitude, longitude[, height]): the first two axes are
        swapped so the result is ``(longitude, latitude, height)``.
    tokens : list of str, optional
        ``text.split()`` when the caller has it already.
    """
    if not text:
        raise CoordinateError("empty coordinate list", line)
    if tokens is None:
        tokens = text.split()
    try:
        values = np.array(tokens, dtype=np.float64)
    except ValueError:
        bad = next((tok for tok in tokens if not _is_number(tok)), "?")
        raise CoordinateError(f"non-numeric coordinate {bad!r}", line) from None
    if dimension not in (2, 3):
        raise CoordinateError(f"unsupported srsDimension {dimension}", line)
    if values.size % dimension:
        raise CoordinateError(f"{values.size} numbers is not a multiple of srsDimension {dimension}", line)
    # "nan"/"inf" are the only float spellings with an n: test the text, not the array.
    if ("n" in text or "N" in text) and not np.isfinite(values).all():
        raise CoordinateError("non-finite coordinate (nan or inf)", line)
    points = values.reshape(-1, dimension)
    if dimension == 2:
        points = np.column_stack([points, np.zeros(len(points))])
    if lat_first:
        points = points[:, _LAT_LON_SWAP]
    return points


_LAT_LON_SWAP = np.array([1, 0, 2])


def srs_dimension(element, default: int) -> int:
    """The ``srsDimension`` an element declares (2 or 3), else ``default``."""
    text = element.get("srsDimension")
    if text is None:
        return default
    if text.strip() in ("2", "3"):
        return int(text)
    raise CoordinateError(f"srsDimension {text!r} is neither 2 nor 3", element.sourceline)


def parse_ring(
    text: str | None, dimension: int, *, lat_first: bool, line: int | None = None
) -> tuple[np.ndarray, str | None]:
    """Parse a ring's coordinate list and judge it, as :func:`check_ring` does."""
    return check_ring(parse_coordinates(text, dimension, lat_first=lat_first, line=line))


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def ring_coordinates(ring, dimension: int, lat_first: bool) -> tuple[np.ndarray, str | None]:
    """Coordinates of a ``gml:LinearRing`` (``posList``, ``pos`` or ``coordinates``),
    closed, with the :func:`check_ring` verdict."""
    pos_list = ring.find(POS_LIST)
    if pos_list is not None:
        dim = srs_dimension(pos_list, dimension)
        return parse_ring(pos_list.text, dim, lat_first=lat_first, line=pos_list.sourceline)
    positions = ring.findall(POS)
    if positions:
        dim = srs_dimension(positions[0], dimension)
        text = " ".join(p.text or "" for p in positions)
        return check_ring(parse_coordinates(text, dim, lat_first=lat_first, line=ring.sourceline))
    coordinates = ring.find(COORDINATES)
    if coordinates is not None and coordinates.text:
        # GML 2 style "x,y,z x,y,z": commas separate axes.
        text = coordinates.text.replace(",", " ")
        dim = len(coordinates.text.split()[0].split(","))
        return check_ring(parse_coordinates(text, dim, lat_first=lat_first, line=coordinates.sourceline))
    raise CoordinateError("LinearRing without posList or pos", ring.sourceline)


def check_ring(points: np.ndarray) -> tuple[np.ndarray, str | None]:
    """Close a ring if needed and judge whether it is usable.

    Returns ``(closed_ring, problem)`` where ``problem`` is None for a good ring,
    ``"unclosed"`` when the ring had to be closed (recoverable), or ``"degenerate"``
    when the ring has fewer than three distinct vertices (the polygon is dropped).
    """
    problem = None
    if len(points) and not (points[0] == points[-1]).all():
        points = np.vstack([points, points[:1]])
        problem = "unclosed"
    if len(points) < 4:
        return points, "degenerate"
    a, b, c = points[0], points[1], points[2]
    if (a != b).any() and (b != c).any() and (a != c).any():
        return points, problem  # three distinct vertices: the common case, decided cheaply
    if len({tuple(p) for p in points[:-1].tolist()}) < 3:
        return points, "degenerate"
    return points, problem


def newell_normal(ring: np.ndarray) -> np.ndarray:
    """Unnormalised plane normal of a (closed) ring by Newell's method; length = 2·area."""
    p = ring[:-1] - ring[:-1].mean(axis=0)
    n = np.roll(p, -1, axis=0)
    return np.array(
        [
            np.sum((p[:, 1] - n[:, 1]) * (p[:, 2] + n[:, 2])),
            np.sum((p[:, 2] - n[:, 2]) * (p[:, 0] + n[:, 0])),
            np.sum((p[:, 0] - n[:, 0]) * (p[:, 1] + n[:, 1])),
        ]
    )


def triangulate_polygon(rings: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Triangulate a planar 3-D polygon with holes (mapbox-earcut).

    Parameters
    ----------
    rings : list of (n, 3) arrays
        Closed exterior ring then interior rings, in a CRS whose three axes share one
        unit (a projected metric CRS with heights in metres), so the plane normal is
        meaningful.

    Returns
    -------
    vertices : (m, 3) float64
        Ring vertices without the closing duplicates.
    triangles : (k, 3) uint32
        Indices into ``vertices``, wound like the exterior ring.
    """
    open_rings = [r[:-1] if len(r) > 1 and np.array_equal(r[0], r[-1]) else r for r in rings]
    vertices = np.concatenate(open_rings)
    normal = newell_normal(np.vstack([open_rings[0], open_rings[0][:1]]))
    if not np.any(normal):
        return vertices, np.empty((0, 3), dtype=np.uint32)
    # Drop the axis the plane faces most: the 2-D projection is then least distorted.
    drop = int(np.argmax(np.abs(normal)))
    keep = [a for a in range(3) if a != drop]
    flat = vertices[:, keep]
    flat = flat - flat.mean(axis=0)
    ends = np.cumsum([len(r) for r in open_rings]).astype(np.uint32)
    indices = mapbox_earcut.triangulate_float64(flat, ends)
    triangles = indices.reshape(-1, 3).astype(np.uint32)
    if len(triangles):
        # earcut winds triangles its own way; keep the ring's orientation so normals face out.
        a, b, c = (vertices[triangles[:, i]] for i in range(3))
        tri_normals = np.cross(b - a, c - a)
        flip = tri_normals @ normal < 0
        triangles[flip] = triangles[flip][:, [0, 2, 1]]
    return vertices, triangles


def triangulate_polygons(polygons: list[list[np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Triangulate many polygons into one mesh.

    Returns ``(vertices, triangles, polygon_index)`` where ``polygon_index[i]`` is the
    input polygon triangle ``i`` came from.
    """
    all_vertices, all_triangles, owners = [], [], []
    offset = 0
    for index, rings in enumerate(polygons):
        vertices, triangles = triangulate_polygon(rings)
        all_vertices.append(vertices)
        all_triangles.append(triangles.astype(np.int64) + offset)
        owners.append(np.full(len(triangles), index, dtype=np.int64))
        offset += len(vertices)
    if not all_vertices:
        return np.empty((0, 3)), np.empty((0, 3), dtype=np.int64), np.empty(0, dtype=np.int64)
    return np.concatenate(all_vertices), np.concatenate(all_triangles), np.concatenate(owners)
