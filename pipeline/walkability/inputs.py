"""What the walkability metrics read: streets, destinations, road widths, people on streets.

Pure readers and builders on paths and frames, in the run's metric CRS. Destinations are
PLATEAU buildings classed by ``uro:usage`` (:data:`USAGE_CLASSES`), one destination point
per started ``floor_area_per_destination_m2`` of floor area (footprint x storeys), so a
department store counts more than a kiosk. cityseer counts destinations, it cannot weight
them; repeated points at the building's centroid do that.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from pipeline.geo import meshcode

log = logging.getLogger(__name__)

#: PLATEAU ``Building_usage`` code -> destination classes. Mixed-use buildings (shop +
#: housing) count for both classes, their floor area split evenly; 454 (other) and 461
#: (unknown) are no destination.
USAGE_CLASSES: dict[str, tuple[str, ...]] = {
    "401": ("office",),  # 業務施設
    "402": ("commercial",),  # 商業施設
    "403": ("commercial",),  # 宿泊施設 (hotels: shops, restaurants, visitors)
    "404": ("commercial",),  # 商業系複合施設
    "411": ("residential",),  # 住宅
    "412": ("residential",),  # 共同住宅
    "413": ("commercial", "residential"),  # 店舗等併用住宅
    "414": ("commercial", "residential"),  # 店舗等併用共同住宅
    "415": ("residential", "industrial"),  # 作業所併用住宅
    "421": ("public",),  # 官公庁施設
    "422": ("education_medical",),  # 文教厚生施設 (schools, hospitals, welfare)
    "431": ("transport",),  # 運輸倉庫施設
    "441": ("industrial",),  # 工場
    "451": ("industrial",),  # 農林漁業用施設
    "452": ("industrial",),  # 供給処理施設
    "453": ("public",),  # 防衛施設
}
DESTINATION_CLASSES = (
    "commercial",
    "office",
    "public",
    "education_medical",
    "residential",
    "transport",
    "industrial",
)


def tile_region(tile: str, crs: str, reach_m: float) -> tuple[shapely.Geometry, shapely.Geometry]:
    """(tile polygon, region polygon) in ``crs``: the region is the tile and its eight
    neighbours, grown so that it reaches at least ``reach_m`` beyond the tile."""
    codes = meshcode.neighbours(int(tile), include_self=True)
    cells = meshcode.to_polygons(codes, crs=crs, densify_deg=1 / 3600)
    tile_polygon = cells.loc[int(tile)] if int(tile) in cells.index else cells.iloc[0]
    region = shapely.union_all(cells.to_numpy())
    x0, y0, x1, y1 = tile_polygon.bounds
    spare = min(region.bounds[2] - x1, x0 - region.bounds[0], region.bounds[3] - y1, y0 - region.bounds[1])
    if spare < reach_m:
        region = region.buffer(reach_m - spare, join_style="mitre")
    return tile_polygon, region


def read_street_lines(
    paths: list[Path], crs: str, region: shapely.Geometry | None = None
) -> gpd.GeoDataFrame:
    """Street lines of every source in ``crs``, with ``highway``, ``width_m`` (NaN if unknown)
    and ``name`` (OSM ``name``, "" if none).

    OSM XML goes through :func:`~pipeline.walkability.network.from_osm_xml` (walk filter,
    junction-to-junction segments); line layers are read as they are. Only lines meeting
    ``region`` are kept (whole, not clipped).
    """
    from pipeline.walkability.network import from_osm_xml

    frames = []
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: street file not found")
        if path.suffix.lower() in (".osm", ".xml"):
            lines = from_osm_xml(path, crs).segments
        elif path.suffix.lower() in (".parquet", ".geoparquet"):
            lines = gpd.read_parquet(path)
        else:
            mask = gpd.GeoSeries([region], crs=crs) if region is not None else None
            lines = gpd.read_file(path, bbox=mask)
        if lines.crs is None:
            raise ValueError(f"{path}: the street layer has no CRS")
        lines = lines.to_crs(crs)
        kinds = set(lines.geometry.geom_type.dropna())
        if kinds - {"LineString", "MultiLineString"}:
            raise ValueError(f"{path}: street layer must hold lines, found {sorted(kinds)}")
        width = (pd.to_numeric(lines[c], errors="coerce") for c in ("width_m", "width") if c in lines)
        frame = gpd.GeoDataFrame(
            {
                "highway": lines["highway"].astype(str) if "highway" in lines else "unclassified",
                "width_m": next(width, np.nan),
                # the street's name (OSM ``name``) where the source has one: the priority list names streets
                "name": lines["name"].fillna("").astype(str) if "name" in lines else "",
            },
            geometry=lines.geometry.to_numpy(),
            crs=crs,
        )
        if region is not None:
            frame = frame[frame.intersects(region)]
        frames.append(frame)
        log.info("streets %s: %d lines in the region", path, len(frame))
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=crs)


def read_tables(paths: Sequence[str | Path], crs: str) -> gpd.GeoDataFrame:
    """Concatenated ingest tables (GeoParquet) in ``crs``, in path order (empty frame when none)."""
    frames = [gpd.read_parquet(path) for path in sorted(map(str, paths))]
    frames = [f for f in frames if len(f)]
    if not frames:
        return gpd.GeoDataFrame(geometry=[], crs=crs)
    table = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry")
    return table.to_crs(crs) if table.crs is not None else table.set_crs(crs)


def building_destinations(
    buildings: gpd.GeoDataFrame, *, floor_area_per_destination_m2: float = 500.0
) -> gpd.GeoDataFrame:
    """Destination points from PLATEAU buildings: one per started unit of floor area per class.

    Returns points at footprint centroids with ``class`` and ``gml_id``; index unique.
    """
    from pipeline.peopleflow.allocation import floor_area_m2

    if not len(buildings) or "usage" not in buildings:
        return gpd.GeoDataFrame({"class": [], "gml_id": []}, geometry=[], crs=buildings.crs)
    area = floor_area_m2(buildings)
    usage = buildings["usage"].astype(str).str.strip().to_numpy()
    centroids = buildings.geometry.centroid.to_numpy()
    ids = (
        buildings["gml_id"].astype(str).to_numpy()
        if "gml_id" in buildings
        else np.arange(len(buildings)).astype(str)
    )
    rows_class, rows_geom, rows_id = [], [], []
    for i in range(len(buildings)):
        classes = USAGE_CLASSES.get(usage[i], ())
        for cls in classes:
            n = int(max(1, np.ceil(area[i] / len(classes) / floor_area_per_destination_m2)))
            rows_class += [cls] * n
            rows_geom += [centroids[i]] * n
            rows_id += [ids[i]] * n
    index = pd.Index([f"d{k}" for k in range(len(rows_class))])
    return gpd.GeoDataFrame(
        {"class": rows_class, "gml_id": rows_id}, geometry=rows_geom, crs=buildings.crs, index=index
    )


def road_widths(segments: gpd.GeoDataFrame, roads: gpd.GeoDataFrame) -> np.ndarray:
    """Width (m) of the PLATEAU road polygon under each segment's midpoint (NaN where none)."""
    if not len(roads) or "road_structure_width" not in roads:
        return np.full(len(segments), np.nan)
    mid = gpd.GeoDataFrame(
        geometry=shapely.line_interpolate_point(segments.geometry.to_numpy(), 0.5, normalized=True),
        crs=segments.crs,
        index=pd.RangeIndex(len(segments)),
    )
    polys = roads[["road_structure_width", "geometry"]].copy()
    polys["road_structure_width"] = pd.to_numeric(polys["road_structure_width"], errors="coerce")
    polys = polys[polys["road_structure_width"].notna()]
    hits = gpd.sjoin(mid, polys, how="left", predicate="within")
    return hits.groupby(level=0)["road_structure_width"].max().reindex(range(len(segments))).to_numpy(float)


def midpoint_meshcodes(segments: gpd.GeoDataFrame, level: int = 3) -> np.ndarray:
    mid = gpd.GeoSeries(
        shapely.line_interpolate_point(segments.geometry.to_numpy(), 0.5, normalized=True), crs=segments.crs
    ).to_crs("EPSG:6668")
    return meshcode.encode(mid.y.to_numpy(), mid.x.to_numpy(), level)


def midpoint_districts(segments: gpd.GeoDataFrame, districts: gpd.GeoDataFrame) -> np.ndarray:
    """The ``district`` each segment's midpoint lies in (None outside every district; the
    first district where they overlap), in the segments' order."""
    middle = gpd.GeoDataFrame(
        geometry=shapely.line_interpolate_point(segments.geometry.to_numpy(), 0.5, normalized=True),
        crs=segments.crs,
    )
    joined = gpd.sjoin(middle, districts[["district", "geometry"]], how="inner", predicate="within")
    joined = joined[~joined.index.duplicated()]
    keys = np.full(len(segments), None, dtype=object)
    keys[joined.index.to_numpy()] = joined["district"].to_numpy()
    return keys


def segment_flow(
    segments: gpd.GeoDataFrame,
    flow: pd.DataFrame,
    buildings: gpd.GeoDataFrame,
    *,
    method: str,
    region: shapely.Geometry,
) -> pd.DataFrame:
    """People on each segment per scenario (columns), from mesh populations (NaN: unknown)."""
    from pipeline.peopleflow.allocation import allocate, allocation_weights

    out = pd.DataFrame(index=segments.index)
    if flow is None or flow.empty:
        return out
    parts = []
    lonlat = gpd.GeoSeries([region], crs=segments.crs).to_crs("EPSG:6668").iloc[0]
    for level, values in flow.groupby(level="level"):
        values = values.droplevel("level")
        centres = meshcode.centre(values.index.to_numpy())
        inside = shapely.contains_xy(lonlat, centres[1], centres[0])
        values = values[inside]
        if values.empty:
            continue
        weights = allocation_weights(
            segments,
            values.index.to_numpy(),
            level=int(level),
            buildings=buildings if len(buildings) else None,
            method=method if len(buildings) else "length",
        )
        people = allocate(values, weights, segments.index)
        # a street in a cell with a known population that got none of it has nobody on
        # it (no building sends people there); NaN stays for streets of unknown cells
        mid_cells = midpoint_meshcodes(segments, int(level))
        for name in people.columns:
            known = values[name].dropna().index.to_numpy()
            people.loc[np.isin(mid_cells, known) & people[name].isna().to_numpy(), name] = 0.0
        parts.append(people)
    if not parts:
        return out
    total = parts[0]
    for part in parts[1:]:  # different levels cover different scenarios (see read_flow)
        total = total.combine_first(part)
    return total.reindex(segments.index)


def segment_flow_sources(segments: gpd.GeoDataFrame, sources: pd.DataFrame) -> pd.DataFrame:
    """What the people on each segment are, per scenario (columns): the ``people_source``
    of the mesh cell under the segment's midpoint (the coarsest level with a value first,
    as :func:`segment_flow` combines them); ``"none"`` where no cell has one.

    ``sources``: :func:`pipeline.peopleflow.tables.read_flow_sources`.
    """
    out = pd.DataFrame(index=segments.index)
    if sources is None or sources.empty:
        return out
    for level, labels in sources.groupby(level="level"):
        labels = labels.droplevel("level")
        cells = midpoint_meshcodes(segments, int(level))
        part = pd.DataFrame(
            {name: labels[name].reindex(cells).to_numpy(object) for name in labels.columns},
            index=segments.index,
        )
        out = out.combine_first(part) if len(out.columns) else part
    return out.fillna("none")
