"""The site boundary of the shadow regulation (日影規制) with the deemed boundary (みなし境界線).

The 5 m and 10 m measuring lines of 建築基準法第56条の2 are drawn from the site boundary
(敷地境界線). Where the site faces a road, water surface or railway land ("道路、水面、線路敷
その他これらに類するもの"), 建築基準法施行令第135条の12第3項第1号 (the relaxation under
法第56条の2第3項) deems that boundary to lie farther out:

- a strip of width ``W`` up to 10 m: the boundary facing it is deemed ``W / 2`` outside,
  i.e. on the strip's centreline;
- a strip wider than 10 m: the line 5 m from its far side, towards the site, is deemed
  the boundary, i.e. ``W - 5`` m outside.

Roads come from the street network of the walkability stage (centrelines with a width);
water and railway land are polygons (:mod:`pipeline.measures.open_land`), whose width at a
lot edge is the length of the perpendicular from the edge's midpoint across the polygon
(:func:`crossing_width_m`). The paragraph number (第3項, not 第1項) and the list "道路、
水面、線路敷" are as quoted in public building-code checkers' source (found with the
``find_string`` tool; the official e-Gov text could not be reached). Secondary
sources stating the rule as used here: the Q&A "道路内は日影規制の検討範囲外?" (oshiete.goo.ne.jp
qa/3753396: "道路が10m以下の場合敷地境界は道路幅の1/2だけ外側とみなし、10mを超える場合は反対側の
境界線から敷地側に5m寄った線を敷地境界線とみなす"), and the parallel wording of 令第135条の4
第1項第一号 for the north-side setback (best.life.coocan.jp k-rei rei_13504).

A lot edge *faces* a road when its midpoint lies within :data:`TOUCH_M` of the road's
street space (centreline ± width / 2); the edge is then swept outward, square to itself,
by the deemed distance, and the sweep kept within the street space (grown by
:data:`TOUCH_M`, to close the gap between two sources' lines). The lot grown by those
sweeps is the site the lines are measured from. Coordinates are metres of a projected CRS.

A lot edge faces water or railway land when its midpoint lies within :data:`TOUCH_M` of
the polygon; the sweep is kept within the polygon grown by :data:`TOUCH_M`.

Not applied (stated wherever the result is shown): roads whose width the network does not
know; a strip behind a strip (a river beyond a road) counts only its first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

#: Widest road whose boundary is deemed on its centreline (令第135条の12), metres.
CENTRELINE_MAX_WIDTH_M = 10.0
#: Beyond that width, the deemed boundary lies this far from the road's far side (m).
FAR_SIDE_SETBACK_M = 5.0
#: A road faces a lot when its street space comes this close to it (m): the lot line and
#: the network's centreline ± width / 2 are drawn from different sources.
TOUCH_M = 1.0
#: Longest perpendicular measured across water or railway land (m): beyond it the strip
#: is as wide as this (the shadow plane reaches at most 300 m from the building).
MAX_CROSSING_M = 500.0


def deemed_offset_m(width_m: float | np.ndarray) -> float | np.ndarray:
    """How far outside the lot line facing a road of ``width_m`` the deemed boundary lies (m):
    half the width up to 10 m, else the width less 5 m (令第135条の12)."""
    width = np.asarray(width_m, dtype=np.float64)
    offset = np.where(width <= CENTRELINE_MAX_WIDTH_M, width / 2.0, width - FAR_SIDE_SETBACK_M)
    return float(offset) if offset.ndim == 0 else offset


@dataclass(frozen=True)
class SiteBoundary:
    """The site the measuring lines are drawn from.

    Attributes
    ----------
    polygon : shapely Polygon or MultiPolygon
        The lot, grown by the deemed strips along the roads it faces.
    road_widths_m : tuple of float
        The widths of the roads the lot faces (sorted, distinct), empty when none.
    open_land : tuple of (str, float)
        The water (``water``) and railway land (``railway``) the lot faces, with the width
        measured across at each lot edge (m, to 0.1 m; sorted, distinct).
    """

    polygon: BaseGeometry
    road_widths_m: tuple[float, ...] = ()
    open_land: tuple[tuple[str, float], ...] = ()


def crossing_width_m(
    polygon: BaseGeometry,
    origin: tuple[float, float],
    normal: tuple[float, float],
    *,
    touch_m: float = TOUCH_M,
) -> float:
    """Width of ``polygon`` measured along ``normal`` from ``origin`` (a lot edge's midpoint).

    The ray from ``origin`` along the unit vector ``normal`` (pointing out of the lot) is cut
    by the polygon; the first piece starting within ``touch_m`` of ``origin`` is the width
    (m). 0 when the ray does not enter the polygon that close; :data:`MAX_CROSSING_M` at
    most.
    """
    x, y = origin
    nx, ny = normal
    ray = shapely.LineString([(x, y), (x + nx * MAX_CROSSING_M, y + ny * MAX_CROSSING_M)])
    cut = shapely.intersection(ray, polygon)
    pieces = [g for g in getattr(cut, "geoms", [cut]) if g.geom_type == "LineString" and not g.is_empty]
    start = shapely.Point(x, y)
    near = [g for g in pieces if shapely.distance(start, g) <= touch_m]
    if not near:
        return 0.0
    return float(min(near, key=lambda g: shapely.distance(start, g)).length)


def deemed_site(
    lot: BaseGeometry,
    centrelines: Sequence[BaseGeometry] = (),
    widths_m: Sequence[float] = (),
    *,
    open_land: Sequence[tuple[str, BaseGeometry]] = (),
    touch_m: float = TOUCH_M,
) -> SiteBoundary:
    """The lot with its deemed boundary along the roads, water and railway land it faces.

    Parameters
    ----------
    lot : shapely Polygon
        The lot (敷地), metres.
    centrelines : sequence of shapely LineString
        Road centrelines near the lot (the street network's segments), same CRS.
    widths_m : sequence of float
        Each centreline's road width (m); a segment of unknown (NaN) or non-positive width
        is left out.
    open_land : sequence of (str, shapely Polygon)
        Water and railway land near the lot: ``(kind, polygon)``, kind ``water`` or
        ``railway``. Polygons of one kind are merged first (a river cut into pieces).
    touch_m : float
        A lot edge faces a road when its midpoint is within this of the street space (m).

    Returns
    -------
    SiteBoundary
    """
    if len(centrelines) != len(widths_m):
        raise ValueError(f"{len(centrelines)} centrelines but {len(widths_m)} widths")
    edges = _outer_edges(lot)
    strips, widths = [], set()
    for line, width in zip(centrelines, widths_m):
        width = float(width)
        if line is None or line.is_empty or not np.isfinite(width) or width <= 0:
            continue
        street = shapely.buffer(line, width / 2.0, cap_style="flat")
        if shapely.distance(street, lot) > touch_m:
            continue
        offset = deemed_offset_m(width)
        space = shapely.buffer(street, touch_m, cap_style="flat")
        for (x0, y0), (x1, y1), (nx, ny) in edges:
            if shapely.distance(street, shapely.Point((x0 + x1) / 2, (y0 + y1) / 2)) > touch_m:
                continue
            strip = _edge_strip((x0, y0), (x1, y1), (nx, ny), offset, space)
            if strip.area > 0:
                strips.append(strip)
                widths.add(round(width, 2))
    crossed = set()
    for kind in sorted({k for k, _ in open_land}):
        land = shapely.union_all([g for k, g in open_land if k == kind and g is not None])
        if land.is_empty or shapely.distance(land, lot) > touch_m:
            continue
        space = shapely.buffer(land, touch_m)
        for (x0, y0), (x1, y1), (nx, ny) in edges:
            mid = ((x0 + x1) / 2, (y0 + y1) / 2)
            if shapely.distance(land, shapely.Point(mid)) > touch_m:
                continue
            width = crossing_width_m(land, mid, (nx, ny), touch_m=touch_m)
            if width <= 0:
                continue
            offset = deemed_offset_m(width)
            strip = _edge_strip((x0, y0), (x1, y1), (nx, ny), offset, space)
            if strip.area > 0:
                strips.append(strip)
                crossed.add((kind, round(width, 1)))
    if not strips:
        return SiteBoundary(lot)
    return SiteBoundary(shapely.union_all([lot, *strips]), tuple(sorted(widths)), tuple(sorted(crossed)))


def _edge_strip(
    start: tuple[float, float],
    end: tuple[float, float],
    normal: tuple[float, float],
    offset_m: float,
    space: BaseGeometry,
) -> BaseGeometry:
    """The lot edge ``start``-``end`` moved ``offset_m`` out along its outward unit
    ``normal``, swept, and kept within ``space`` (the road or open land beside it)."""
    (x0, y0), (x1, y1), (nx, ny) = start, end, normal
    sweep = shapely.Polygon(
        [
            (x0, y0),
            (x1, y1),
            (x1 + nx * offset_m, y1 + ny * offset_m),
            (x0 + nx * offset_m, y0 + ny * offset_m),
        ]
    )
    return shapely.intersection(sweep, space)


def _outer_edges(lot: BaseGeometry) -> list[tuple[tuple, tuple, tuple]]:
    """The edges of the lot's outer rings with their outward unit normals."""
    polygons = list(lot.geoms) if lot.geom_type == "MultiPolygon" else [lot]
    edges = []
    for polygon in polygons:
        ring = shapely.geometry.polygon.orient(polygon, sign=1.0).exterior  # counter-clockwise
        coords = np.asarray(ring.coords)
        for (x0, y0), (x1, y1) in zip(coords[:-1], coords[1:]):
            length = float(np.hypot(x1 - x0, y1 - y0))
            if length > 0:
                # the outside of a counter-clockwise ring is on the right of each edge
                edges.append(((x0, y0), (x1, y1), ((y1 - y0) / length, -(x1 - x0) / length)))
    return edges
