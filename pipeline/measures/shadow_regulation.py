"""Shadow regulation (日影規制) of added buildings: equal-time shadow lines against the limits.

For an added building (an LOD1 prism: footprint polygon in the run's metric CRS, height
above the average ground level), the shade hours on the measurement plane over the regulated
day of the winter solstice are counted with :func:`pipeline.shade.diagram.equal_time_shadow_lines`
(the same machinery as the ``shadow_diagram`` stage), and compared with the limits of
建築基準法第56条の2 / 別表第四 (:class:`~pipeline.measures.hikage_limits.ShadowLimits`): no
point more than 5 m and at most 10 m from the site boundary may be in shadow longer than
``near_hours``, no point beyond 10 m longer than ``far_hours``.

What is simplified (state it wherever the result is shown):

- **Site boundary.** The lot polygon given (a ``lot`` of the measures file), else the
  building's footprint (then no deemed boundary either). Where a lot faces a road of the
  run's street network (``roads``) or water or railway land of the ingested PLATEAU
  ``luse``/``tran``/``wtr`` (``open_land``, :mod:`pipeline.measures.open_land`), its boundary
  there is the deemed one (みなし境界線, 施行令第135条の12第3項第1号,
  :mod:`pipeline.measures.site_boundary`): the strip's centreline up to 10 m wide, 5 m short
  of its far side beyond. Roads without a known width, river beds (河川敷) and parks are not
  counted.
- **Ground levels.** The measurement plane is horizontal, at its height above the site's
  average ground level (平均地盤面). Given the run's terrain (``ground``), a site 1 m or more
  below the land its shadow falls on is deemed higher by (difference - 1) / 2
  (施行令第135条の12第3項第2号, :mod:`pipeline.measures.ground_relief`) and the plane rises
  with it; the levels are means of the terrain (along the outline, over the shaded land
  outside the site, shaded before the relief), not surveyed ground. Without terrain the
  ground is flat.
- **One zone.** The limits of the district holding the site are applied everywhere; a shadow
  falling into a district with other limits (施行令第135条の13) and tall buildings outside a
  regulated area shading one (法第56条の2第4項) are not handled.
- **The building alone.** Only the added building's own shadow counts (the law judges each
  building; compound shadows with existing buildings, 複合日影, are not regulated by it).
  Buildings given the same site are one building (法第56条の2第2項).
- **LOD1 prism.** Flat roof at the given height; rooftop structures (令第2条第1項第六号ロ) and
  eaves are not modelled.
- **Sampling.** Cell centres of a ``resolution_m`` raster and ``step_minutes`` steps of true
  solar time on 21 December (:func:`~pipeline.shade.diagram.winter_solstice`): hours are
  exact to one step (2 min = 0.033 h by default) and areas to the cells along the lines; the
  plane reaches at most ``max_reach_m`` from the building.

A check by this module is a screening of a design case, not a building-confirmation
calculation (建築確認).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from pipeline.geo.raster import Grid
from pipeline.measures.ground_relief import (
    GroundHeights,
    deemed_rise_m,
    outline_level_m,
    shaded_land_level_m,
)
from pipeline.measures.hikage_limits import (
    UNREGULATED_ZONES,
    ShadowLimits,
    is_hokkaido,
    parse_shade_regulation,
)
from pipeline.shade.diagram import equal_time_shadow_lines
from pipeline.shade.sun import DEFAULT_TIMEZONE

#: Distances of the measuring lines from the site boundary, metres (法第56条の2第1項, 別表第四 (に)).
NEAR_LINE_M, FAR_LINE_M = 5.0, 10.0
#: Hours are sums of step weights; a cell is over a limit when its hours exceed it by more.
HOURS_TOLERANCE = 1e-6
USE_DISTRICT = "urf:UseDistrict"

#: Statuses of a result, with their Japanese and English labels (planner-visible).
STATUS_LABELS = {
    "pass": "適合 / within the limits",
    "fail": "不適合 / over the limits",
    "not_subject": "対象外 (規模) / not a regulated building",
    "no_regulation": "規制なし / no shadow regulation",
    "no_limits": "規制値不明 / limits unknown",
}


@dataclass(frozen=True)
class BandCheck:
    """One measuring band: beyond 5 m up to 10 m (``"5-10m"``) or beyond 10 m (``"10m+"``).

    Attributes
    ----------
    band : str
        ``"5-10m"`` or ``"10m+"``.
    limit_hours : float
        Most hours of shadow allowed in the band.
    max_hours : float
        Longest shadow of any plane cell in the band, hours.
    area_over_m2 : float
        Area of the band's cells in shadow longer than the limit, m².
    """

    band: str
    limit_hours: float
    max_hours: float
    area_over_m2: float

    @property
    def passes(self) -> bool:
        return self.area_over_m2 == 0.0


@dataclass(frozen=True, eq=False)
class ShadowRegulationResult:
    """The shadow-regulation check of one added building.

    Attributes
    ----------
    building_id : str
    status : str
        A key of :data:`STATUS_LABELS`: ``pass``, ``fail``, ``not_subject`` (the building is
        not a regulated size, hours still reported), ``no_regulation`` (商業・工業・工業専用
        地域, or the data says 規制なし) or ``no_limits`` (no data and no limits in the run).
    limits : ShadowLimits or None
    subject : bool
        A regulated building (対象建築物, :meth:`ShadowLimits.regulates`).
    height_m : float
        Height above the average ground level, metres.
    ground_elevation_m : float or None
        The site's average ground level given with the building (orthometric m), if any.
    site_id : str
        Buildings with the same ``site_id`` were checked as one building.
    zone_id, zone_label : str or None
        The use district the limits came from (``gml:id`` and label), if any.
    near, far : BandCheck or None
        The 5-10 m and beyond-10 m bands (None when no limits).
    equal_time_lines : geopandas.GeoDataFrame or None
        The equal-time shadow lines at the two limits: columns ``hours``, ``geometry``.
    measuring_lines : geopandas.GeoDataFrame or None
        The 5 m and 10 m lines from the site boundary: columns ``distance_m``, ``geometry``.
    note : str
        Why there are no limits, or where they came from.
    site_boundary : str
        What the lines are measured from: ``footprint``, ``lot``, or ``lot_deemed`` (the lot
        with the deemed boundary along the roads it faces).
    deemed_road_widths_m : tuple of float
        The widths of those roads (m).
    deemed_open_land : tuple of (str, float)
        The water (``water``) and railway land (``railway``) along which the boundary is
        deemed, with their widths measured across (m).
    site_ground_m, neighbour_ground_m : float
        The site's average ground level and that of the land its shadow falls on
        (orthometric m; NaN without terrain).
    ground_rise_m : float
        How much higher the site's ground is deemed (高低差緩和, m; the plane rises by it).
    """

    building_id: str
    status: str
    limits: ShadowLimits | None
    subject: bool
    height_m: float
    ground_elevation_m: float | None = None
    site_id: str = ""
    zone_id: str | None = None
    zone_label: str | None = None
    near: BandCheck | None = None
    far: BandCheck | None = None
    equal_time_lines: gpd.GeoDataFrame | None = None
    measuring_lines: gpd.GeoDataFrame | None = None
    note: str = ""
    site_boundary: str = "footprint"
    deemed_road_widths_m: tuple[float, ...] = ()
    deemed_open_land: tuple[tuple[str, float], ...] = ()
    site_ground_m: float = float("nan")
    neighbour_ground_m: float = float("nan")
    ground_rise_m: float = 0.0

    @property
    def ground_difference_m(self) -> float:
        """How far the neighbours' ground lies above the site's (m; NaN without terrain)."""
        return self.neighbour_ground_m - self.site_ground_m

    @property
    def passes(self) -> bool:
        """False only for a regulated building whose shadow exceeds a limit."""
        return self.status != "fail"


@dataclass(frozen=True)
class ShadowBands:
    """Shade hours on the measurement plane against the two measuring lines (no verdict)."""

    near: BandCheck
    far: BandCheck
    equal_time_lines: gpd.GeoDataFrame
    measuring_lines: gpd.GeoDataFrame
    shade_hours: np.ndarray
    grid: Grid


def shadow_bands(
    footprints: Sequence[BaseGeometry],
    heights_m: Sequence[float],
    limits: ShadowLimits,
    crs: str,
    *,
    year: int,
    site: BaseGeometry | None = None,
    ground_rise_m: float = 0.0,
    timezone: str = DEFAULT_TIMEZONE,
    resolution_m: float = 0.5,
    step_minutes: float = 2.0,
    max_reach_m: float = 300.0,
) -> ShadowBands:
    """Count the buildings' shade hours on the plane and measure them in the two bands.

    Parameters
    ----------
    footprints : sequence of shapely Polygon or MultiPolygon
        Footprints in ``crs`` (metres), one site's buildings (checked as one building).
    heights_m : sequence of float
        Heights above the average ground level, metres.
    limits : ShadowLimits
        Plane height, regulated window and the hours of the two bands.
    crs : str
        The metric CRS of the footprints (a JGD2011 plane rectangular zone); the sun is
        placed at the footprints' centroid (latitude and longitude from this CRS).
    year : int
        The winter solstice of this year (21 December).
    site : shapely Polygon, optional
        The lot; its boundary is the site boundary (敷地境界線). Default: the union of the
        footprints. Must cover the footprints.
    ground_rise_m : float
        How much higher the site's ground is deemed (高低差緩和, m): the plane stands this
        much higher above the buildings' base.
    resolution_m, step_minutes, max_reach_m : float
        Plane cell size (m), time step (min) and furthest shadow drawn (m).

    Returns
    -------
    ShadowBands
    """
    geoms = [shapely.make_valid(g) for g in footprints]
    boundary = shapely.union_all(geoms) if site is None else shapely.make_valid(site)
    if not boundary.covers(shapely.union_all(geoms).buffer(-1e-6)):
        raise ValueError("the site does not cover the building's footprint")
    lines, hours, grid = equal_time_shadow_lines(
        geoms,
        list(heights_m),
        crs,
        plane_height_m=limits.plane_height_m + ground_rise_m,
        year=year,
        levels=sorted({limits.near_hours, limits.far_hours}),
        step_minutes=step_minutes,
        resolution=resolution_m,
        max_reach_m=max_reach_m,
        timezone=timezone,
        solar_window=limits.solar_window,
    )
    lines = lines[lines["hours"].isin([limits.near_hours, limits.far_hours])].reset_index(drop=True)
    near_line = boundary.buffer(NEAR_LINE_M, quad_segs=32)
    far_line = boundary.buffer(FAR_LINE_M, quad_segs=32)
    x, y = grid.cell_centres()
    xx, yy = np.meshgrid(x, y)
    beyond_near = ~shapely.contains_xy(near_line, xx, yy)
    beyond_far = ~shapely.contains_xy(far_line, xx, yy)
    cell_m2 = grid.resolution**2
    near = _band("5-10m", hours, beyond_near & ~beyond_far, limits.near_hours, cell_m2)
    far = _band("10m+", hours, beyond_far, limits.far_hours, cell_m2)
    measuring = gpd.GeoDataFrame(
        {"distance_m": [NEAR_LINE_M, FAR_LINE_M]}, geometry=[near_line.boundary, far_line.boundary], crs=crs
    )
    return ShadowBands(near, far, lines, measuring, hours, grid)


def _ground_levels(
    footprints: Sequence[BaseGeometry],
    site: BaseGeometry | None,
    bands: ShadowBands,
    ground: GroundHeights,
    given_m: float | None,
) -> dict[str, float]:
    """The site's and the shaded neighbours' ground levels and the deemed rise (m)."""
    site_m = (
        float(given_m)
        if given_m is not None and math.isfinite(float(given_m))
        else outline_level_m(footprints, ground)
    )
    outline = shapely.union_all(footprints) if site is None else site
    neighbour_m = shaded_land_level_m(bands.shade_hours, bands.grid, outline, ground)
    return {
        "site_ground_m": site_m,
        "neighbour_ground_m": neighbour_m,
        "ground_rise_m": deemed_rise_m(site_m, neighbour_m),
    }


def _band(name: str, hours: np.ndarray, mask: np.ndarray, limit: float, cell_m2: float) -> BandCheck:
    inside = hours[mask].astype(np.float64)
    over = int(np.count_nonzero(inside > limit + HOURS_TOLERANCE))
    return BandCheck(name, float(limit), float(inside.max()) if inside.size else 0.0, over * cell_m2)


def check_shadow_regulation(
    footprint: BaseGeometry | Sequence[BaseGeometry],
    height_m: float | Sequence[float],
    limits: ShadowLimits | None,
    crs: str,
    *,
    year: int,
    building_id: str = "",
    site: BaseGeometry | None = None,
    storeys: int | None = None,
    ground_elevation_m: float | None = None,
    site_id: str = "",
    zone_id: str | None = None,
    zone_label: str | None = None,
    note: str = "",
    site_boundary: str | None = None,
    deemed_road_widths_m: Sequence[float] = (),
    deemed_open_land: Sequence[tuple[str, float]] = (),
    ground: GroundHeights | None = None,
    timezone: str = DEFAULT_TIMEZONE,
    resolution_m: float = 0.5,
    step_minutes: float = 2.0,
    max_reach_m: float = 300.0,
) -> ShadowRegulationResult:
    """Check one added building (or one site's buildings) against the shadow regulation.

    Parameters
    ----------
    footprint : shapely Polygon or sequence of them
        Footprint(s) in ``crs``, metres. Several: the buildings of one site, checked as one
        (法第56条の2第2項); ``height_m`` is then a sequence too.
    height_m : float or sequence of float
        Height above the average ground level (平均地盤面), metres.
    limits : ShadowLimits or None
        None gives status ``no_limits`` and no hours.
    crs : str
        Metric CRS of the geometries.
    year : int
        Winter solstice of that year.
    building_id, site_id, zone_id, zone_label, note, site_boundary : str
        Recorded in the result (``site_boundary`` default: ``lot`` with a ``site``, else
        ``footprint``).
    deemed_road_widths_m : sequence of float
        Recorded: the roads along which ``site`` carries the deemed boundary.
    deemed_open_land : sequence of (str, float)
        Recorded: the water and railway land along which it does (kind, width m).
    site : shapely Polygon, optional
        The lot whose boundary the 5 m and 10 m lines are measured from (default: the footprint).
    storeys : int, optional
        Storeys above ground (for the 1.5 m plane's 3-storey rule).
    ground_elevation_m : float, optional
        The site's average ground level (orthometric m) when known from the design; else,
        with ``ground``, the terrain's mean along the outline.
    ground : callable, optional
        Ground heights ``ground(x, y)`` (m, NaN where unknown; e.g.
        :meth:`pipeline.tiles3d.terrain_heights.TerrainHeights.sample`): the site's and its
        neighbours' levels and the relief for a site below them
        (:mod:`pipeline.measures.ground_relief`). None: flat ground.
    timezone, resolution_m, step_minutes, max_reach_m
        See :func:`shadow_bands`.

    Returns
    -------
    ShadowRegulationResult
    """
    footprints = [footprint] if isinstance(footprint, BaseGeometry) else list(footprint)
    heights = np.atleast_1d(np.asarray(height_m, dtype=np.float64))
    if len(footprints) != len(heights):
        raise ValueError(f"building {building_id}: {len(footprints)} footprints but {len(heights)} heights")
    for height in heights:
        if not math.isfinite(height) or height <= 0:
            raise ValueError(f"building {building_id}: height {height} m is not a positive number")
    tallest = float(heights.max())
    common = {
        "building_id": str(building_id),
        "height_m": tallest,
        "ground_elevation_m": ground_elevation_m,
        "site_id": str(site_id),
        "zone_id": zone_id,
        "zone_label": zone_label,
        "note": note,
        "site_boundary": site_boundary or ("footprint" if site is None else "lot"),
        "deemed_road_widths_m": tuple(deemed_road_widths_m),
        "deemed_open_land": tuple(deemed_open_land),
    }
    if limits is None:
        return ShadowRegulationResult(status="no_limits", limits=None, subject=False, **common)
    plane = dict(
        year=year,
        site=site,
        timezone=timezone,
        resolution_m=resolution_m,
        step_minutes=step_minutes,
        max_reach_m=max_reach_m,
    )
    try:
        bands = shadow_bands(footprints, heights, limits, crs, **plane)
        if ground is not None:
            levels = _ground_levels(footprints, site, bands, ground, ground_elevation_m)
            common.update(levels)
            if levels["ground_rise_m"] > 0:
                bands = shadow_bands(
                    footprints, heights, limits, crs, ground_rise_m=levels["ground_rise_m"], **plane
                )
    except ValueError as error:
        raise ValueError(f"building {building_id}: {error}") from None
    subject = limits.regulates(tallest, storeys)
    within = bands.near.passes and bands.far.passes
    status = "not_subject" if not subject else ("pass" if within else "fail")
    return ShadowRegulationResult(
        status=status,
        limits=limits,
        subject=subject,
        near=bands.near,
        far=bands.far,
        equal_time_lines=bands.equal_time_lines,
        measuring_lines=bands.measuring_lines,
        **common,
    )


def district_limits(
    site: BaseGeometry, use_districts: gpd.GeoDataFrame, *, default: ShadowLimits | None = None
) -> tuple[ShadowLimits | None, str, dict]:
    """The limits for a site from the use district (用途地域) holding most of it.

    Parameters
    ----------
    site : shapely geometry
        The lot or footprint, in the districts' CRS.
    use_districts : geopandas.GeoDataFrame
        Ingested ``urf`` rows (``feature_type`` other than ``urf:UseDistrict`` are ignored).
        Columns used: ``gml_id``, ``function`` (Common_districtsAndZonesType code),
        ``function_label``, ``shade_regulation`` (``urf:shadeRegulation`` text) and
        ``prefecture`` (Hokkaido's 9:00-15:00 window and pairs), where present.
    default : ShadowLimits, optional
        Limits from the run definition, used where the district has no text (or the site
        lies in no district).

    Returns
    -------
    limits : ShadowLimits or None
    status : str
        ``""`` (limits found), ``"no_regulation"`` or ``"no_limits"``.
    zone : dict
        ``zone_id``, ``zone_label`` and ``note``.

    Raises
    ------
    ValueError
        When the district's text cannot be read (the message names the ``gml:id`` and the text).
    """
    districts = use_districts
    if "feature_type" in districts.columns:
        districts = districts[districts["feature_type"] == USE_DISTRICT]
    districts = districts[districts.geometry.notna()]
    if len(districts):
        overlap = shapely.area(shapely.intersection(districts.geometry.to_numpy(), site))
        ids = (
            districts["gml_id"].astype(str).to_numpy()
            if "gml_id" in districts
            else np.arange(len(districts)).astype(str)
        )
        order = sorted(range(len(districts)), key=lambda i: (-overlap[i], ids[i]))
        best = order[0] if overlap[order[0]] > 0 else None
    else:
        best = None
    if best is None:
        return (
            default,
            ("" if default else "no_limits"),
            {
                "zone_id": None,
                "zone_label": None,
                "note": "outside every use district: limits of the run"
                if default
                else "outside every use district and the run gives no limits",
            },
        )
    row = districts.iloc[best]
    code = _text(row.get("function"))
    zone = {"zone_id": ids[best], "zone_label": _text(row.get("function_label")) or code, "note": ""}
    text = _text(row.get("shade_regulation"))
    if text:
        limits = parse_shade_regulation(
            text,
            zone_code=code,
            in_hokkaido=is_hokkaido(row.get("prefecture")),
            where=f"use district {ids[best]}",
        )
        if limits is None:
            return None, "no_regulation", {**zone, "note": f"urf:shadeRegulation 「{text}」"}
        return limits, "", {**zone, "note": f"urf:shadeRegulation 「{text}」"}
    if code in UNREGULATED_ZONES:
        return None, "no_regulation", {**zone, "note": "use district not in 別表第四"}
    if default is not None:
        return default, "", {**zone, "note": "no urf:shadeRegulation: limits of the run"}
    return None, "no_limits", {**zone, "note": "no urf:shadeRegulation and the run gives no limits"}


def _text(value) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def check_added_buildings(
    buildings: gpd.GeoDataFrame,
    zones_or_limits: gpd.GeoDataFrame | ShadowLimits | None,
    *,
    year: int,
    default_limits: ShadowLimits | None = None,
    id_column: str = "id",
    site_column: str = "site_id",
    lot_column: str = "lot",
    roads: gpd.GeoDataFrame | None = None,
    open_land: gpd.GeoDataFrame | None = None,
    ground: GroundHeights | None = None,
    timezone: str = DEFAULT_TIMEZONE,
    resolution_m: float = 0.5,
    step_minutes: float = 2.0,
    max_reach_m: float = 300.0,
) -> list[ShadowRegulationResult]:
    """Check every added building of a measures file against the shadow regulation.

    Parameters
    ----------
    buildings : geopandas.GeoDataFrame
        The ``building`` measures: footprint polygons in a metric CRS and ``height_m``
        (above ground, m). Optional columns: ``id_column`` (else the row index), ``storeys``,
        ``ground_elevation_m``, ``site_column`` (buildings with the same value are one
        building, 法第56条の2第2項) and ``lot_column`` (shapely polygons of the lot, in the
        same CRS; else the footprint is the site).
    roads : geopandas.GeoDataFrame, optional
        Road centrelines with ``width_m`` (the run's street network, any CRS): a lot facing
        one has its deemed boundary there (:func:`pipeline.measures.site_boundary.deemed_site`).
    open_land : geopandas.GeoDataFrame, optional
        Water and railway polygons with ``kind`` (:func:`pipeline.measures.open_land.open_land`,
        any CRS): a lot facing one has its deemed boundary there too.
    ground : callable, optional
        Ground heights ``ground(x, y)`` in the buildings' CRS (m, NaN where unknown): the
        relief for a site below its neighbours (:func:`check_shadow_regulation`).
    zones_or_limits : geopandas.GeoDataFrame or ShadowLimits or None
        Ingested ``urf`` use districts (any CRS; their ``urf:shadeRegulation`` is parsed,
        see :func:`district_limits`), or one set of limits for every building, or None
        (``default_limits`` everywhere).
    year : int
        Winter solstice of that year.
    default_limits : ShadowLimits, optional
        Limits of the run definition, for districts without a shadow-regulation text.
    timezone, resolution_m, step_minutes, max_reach_m
        See :func:`shadow_bands`.

    Returns
    -------
    list of ShadowRegulationResult
        One per building, in the order of ``buildings``; buildings of one site share the
        site's check.

    Raises
    ------
    ValueError
        A building without a CRS, a polygon or a positive height (named by its id), or a
        district text that cannot be read.
    """
    if buildings.crs is None or not buildings.crs.is_projected:
        raise ValueError(f"added buildings need a metric CRS, got {buildings.crs}")
    crs = buildings.crs.to_string()
    ids = (
        buildings[id_column].astype(str).to_list()
        if id_column in buildings.columns
        else [str(i) for i in buildings.index]
    )
    for building_id, geom, height in zip(ids, buildings.geometry, buildings["height_m"]):
        if geom is None or geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
            raise ValueError(f"building {building_id}: footprint is not a polygon")
        if height is None or not np.isfinite(float(height)) or float(height) <= 0:
            raise ValueError(f"building {building_id}: height_m {height} is not a positive number")
    sites = buildings[site_column].astype(str).to_list() if site_column in buildings.columns else ids
    members: dict[str, list[int]] = {}
    for i, site_id in enumerate(sites):
        members.setdefault(site_id, []).append(i)
    if isinstance(zones_or_limits, gpd.GeoDataFrame) and zones_or_limits.crs is not None:
        zones_or_limits = zones_or_limits.to_crs(buildings.crs)
    if roads is not None and roads.crs is not None:
        roads = roads.to_crs(buildings.crs)
    if open_land is not None and open_land.crs is not None:
        open_land = open_land.to_crs(buildings.crs)
    grounds = (
        buildings["ground_elevation_m"].astype(float).to_list()
        if "ground_elevation_m" in buildings.columns
        else [None] * len(ids)
    )
    checked: dict[str, ShadowRegulationResult] = {}
    out = []
    for i, (building_id, site_id) in enumerate(zip(ids, sites)):
        if site_id in checked:  # one building with the site's first (法第56条の2第2項)
            out.append(replace(checked[site_id], building_id=building_id, ground_elevation_m=grounds[i]))
            continue
        rows = buildings.iloc[members[site_id]]
        footprints = list(rows.geometry)
        heights = rows["height_m"].astype(float).to_list()
        lots = (
            [g for g in rows[lot_column] if g is not None and not g.is_empty]
            if lot_column in rows.columns
            else []
        )
        lot = shapely.union_all(lots) if lots else None
        limits, status, zone = _site_limits(
            lot if lot is not None else shapely.union_all(footprints), zones_or_limits, default_limits
        )
        site, boundary, widths, crossed = _site(lot, roads, open_land)
        if status == "no_regulation":
            result = ShadowRegulationResult(
                building_id,
                "no_regulation",
                None,
                False,
                max(heights),
                grounds[i],
                site_id,
                **zone,
                site_boundary=boundary,
                deemed_road_widths_m=widths,
                deemed_open_land=crossed,
            )
        else:
            result = check_shadow_regulation(
                footprints,
                heights,
                limits,
                crs,
                year=year,
                building_id=building_id,
                site=site,
                storeys=_max_storeys(rows),
                ground_elevation_m=grounds[i],
                site_id=site_id,
                site_boundary=boundary,
                deemed_road_widths_m=widths,
                deemed_open_land=crossed,
                ground=ground,
                timezone=timezone,
                resolution_m=resolution_m,
                step_minutes=step_minutes,
                max_reach_m=max_reach_m,
                **zone,
            )
        checked[site_id] = result
        out.append(result)
    return out


def _site(
    lot: BaseGeometry | None, roads: gpd.GeoDataFrame | None, open_land: gpd.GeoDataFrame | None = None
) -> tuple[BaseGeometry | None, str, tuple[float, ...], tuple[tuple[str, float], ...]]:
    """The site polygon the lines are measured from, its kind (``site_boundary``), the
    widths of the roads and the water and railway land along which it is deemed; no lot:
    None (the footprint)."""
    from pipeline.measures.site_boundary import TOUCH_M, deemed_site

    if lot is None:
        return None, "footprint", (), ()
    centrelines, widths, land = [], [], []
    if roads is not None and len(roads):
        near = roads.iloc[roads.sindex.query(lot, predicate="dwithin", distance=_widest(roads) + TOUCH_M)]
        centrelines, widths = list(near.geometry), near["width_m"].astype(float).to_list()
    if open_land is not None and len(open_land):
        near = open_land.iloc[sorted(open_land.sindex.query(lot, predicate="dwithin", distance=TOUCH_M))]
        land = list(zip(near["kind"], near.geometry))
    site = deemed_site(lot, centrelines, widths, open_land=land)
    deemed = bool(site.road_widths_m or site.open_land)
    return site.polygon, ("lot_deemed" if deemed else "lot"), site.road_widths_m, site.open_land


def _widest(roads: gpd.GeoDataFrame) -> float:
    widths = pd.to_numeric(roads["width_m"], errors="coerce")
    return float(widths.max()) / 2.0 if widths.notna().any() else 0.0


def _site_limits(
    outline: BaseGeometry,
    zones_or_limits: gpd.GeoDataFrame | ShadowLimits | None,
    default: ShadowLimits | None,
) -> tuple[ShadowLimits | None, str, dict]:
    """Limits, status and zone fields for one site (see :func:`district_limits`)."""
    if isinstance(zones_or_limits, gpd.GeoDataFrame):
        return district_limits(outline, zones_or_limits, default=default)
    limits = zones_or_limits if zones_or_limits is not None else default
    if limits is None:
        return None, "no_limits", {"zone_id": None, "zone_label": None, "note": "the run gives no limits"}
    return limits, "", {"zone_id": None, "zone_label": None, "note": limits.source}


def _max_storeys(rows: gpd.GeoDataFrame) -> int | None:
    if "storeys" not in rows.columns:
        return None
    values = pd.to_numeric(rows["storeys"], errors="coerce").dropna()
    return int(values.max()) if len(values) else None


#: Columns of :func:`to_frame`.
FRAME_COLUMNS = (
    "building_id",
    "site_id",
    "status",
    "status_label",
    "passes",
    "subject",
    "height_m",
    "ground_elevation_m",
    "zone_id",
    "zone_label",
    "site_boundary",
    "deemed_road_widths_m",
    "deemed_water_railway",
    "site_ground_m",
    "neighbour_ground_m",
    "ground_difference_m",
    "ground_rise_m",
    "regulation",
    "plane_height_m",
    "solar_window",
    "near_limit_h",
    "near_max_h",
    "near_area_over_m2",
    "near_passes",
    "far_limit_h",
    "far_max_h",
    "far_area_over_m2",
    "far_passes",
    "note",
)


def to_frame(results: Sequence[ShadowRegulationResult]) -> pd.DataFrame:
    """One row per building: the verdict, the limits and each band's hours and area over.

    Columns are :data:`FRAME_COLUMNS`; hours are true-solar-time hours on the winter
    solstice, areas m² of the measurement plane. ``status_label`` is Japanese / English.
    ``site_ground_m`` and ``neighbour_ground_m`` are orthometric metres (NaN without
    terrain), ``ground_difference_m`` the second less the first, ``ground_rise_m`` the
    deemed rise of the site's ground (高低差緩和); ``plane_height_m`` is above that ground.
    """
    rows = []
    for r in results:
        limits = r.limits
        row = {
            "building_id": r.building_id,
            "site_id": r.site_id,
            "status": r.status,
            "status_label": STATUS_LABELS[r.status],
            "passes": r.passes,
            "subject": r.subject,
            "height_m": r.height_m,
            "ground_elevation_m": r.ground_elevation_m,
            "zone_id": r.zone_id,
            "zone_label": r.zone_label,
            "site_boundary": r.site_boundary,
            "deemed_road_widths_m": ", ".join(f"{w:g}" for w in r.deemed_road_widths_m),
            "deemed_water_railway": ", ".join(f"{kind} {w:g}" for kind, w in r.deemed_open_land),
            "site_ground_m": r.site_ground_m,
            "neighbour_ground_m": r.neighbour_ground_m,
            "ground_difference_m": r.ground_difference_m,
            "ground_rise_m": r.ground_rise_m,
            "regulation": limits.label if limits else None,
            "plane_height_m": limits.plane_height_m if limits else np.nan,
            "solar_window": ("{:g}-{:g}".format(*limits.solar_window) if limits else None),
            "note": r.note,
        }
        for name, band in (("near", r.near), ("far", r.far)):
            row[f"{name}_limit_h"] = band.limit_hours if band else np.nan
            row[f"{name}_max_h"] = band.max_hours if band else np.nan
            row[f"{name}_area_over_m2"] = band.area_over_m2 if band else np.nan
            row[f"{name}_passes"] = band.passes if band else None
        rows.append(row)
    return pd.DataFrame(rows, columns=list(FRAME_COLUMNS))


def lines_frame(results: Sequence[ShadowRegulationResult], crs: str) -> gpd.GeoDataFrame:
    """The drawn lines of every checked building, for a map or the viewer.

    Columns ``building_id``, ``kind`` (``equal_time`` or ``measuring``), ``value`` (hours of
    an equal-time line, or metres of a measuring line) and ``geometry`` (in ``crs``).
    """
    ids, kinds, values, geoms = [], [], [], []
    for r in results:
        if r.equal_time_lines is not None:
            for hours, geom in zip(r.equal_time_lines["hours"], r.equal_time_lines.geometry):
                ids.append(r.building_id), kinds.append("equal_time"), values.append(float(hours))
                geoms.append(geom)
        if r.measuring_lines is not None:
            for distance, geom in zip(r.measuring_lines["distance_m"], r.measuring_lines.geometry):
                ids.append(r.building_id), kinds.append("measuring"), values.append(float(distance))
                geoms.append(geom)
    return gpd.GeoDataFrame({"building_id": ids, "kind": kinds, "value": values}, geometry=geoms, crs=crs)
