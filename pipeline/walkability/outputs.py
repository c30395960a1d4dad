"""Writing the walkability outputs planners use, per scenario, under ``<output>/walkability/``.

===================================  ========================================================
file                                 holds
===================================  ========================================================
``segments_<scenario>.parquet``      GeoParquet: every segment with its raw metrics, scaled
                                     components ``c_*``, ``score`` (0-100) and ``class``
``score_<scenario>.tif``             COG, float32: the score burned onto a
                                     ``raster_resolution_m`` grid (street cells; NaN elsewhere;
                                     where segments meet the higher score wins)
``summary_by_mesh.parquet/.csv``     per 3rd-level mesh cell and scenario: length-weighted
                                     score and shade share, people per 100 m, class, street
                                     length and the share of it in each class
``summary_by_district.parquet/.csv`` the same per district polygon (when districts are given)
``buildings_nearest_street.parquet`` ``gml_id``, ``nearest_segment_id``, ``distance_m`` and
                                     ``walk_score_<scenario>`` of the nearest street (for the
                                     3D Tiles property tables)
``maps/score_<scenario>.png``        score map; ``maps/class_<scenario>.png`` class map
                                     (legend, scale bar, north arrow, title); with the thermal
                                     stage ``maps/utci_<scenario>.png``: streets by UTCI stress
                                     class over the mean-UTCI raster
``report.html``                      one page comparing the scenarios side by side
``maps/district_3d_<season>.png``    3D perspective of the district per season at one slot
                                     (when the stage passes a ``render_3d`` callback)
===================================  ========================================================
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Callable, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd

from pipeline.geo.atomic import atomic_path
from pipeline.geo.raster import Grid, mosaic, write_cog
from pipeline.walkability.classes import CLASS_COLOURS, CLASS_LABELS
from pipeline.walkability.coolwalk import district_coolwalkability
from pipeline.walkability.report import write_report
from pipeline.walkability.scores import classify_cells

log = logging.getLogger(__name__)

def read_districts(path: Path, name_column: str, crs: str) -> gpd.GeoDataFrame:
    """District polygons with a ``district`` name column, in ``crs``."""
    districts = gpd.read_file(path)
    if name_column not in districts:
        raise ValueError(f"{path}: no column {name_column!r} for the district names; found "
                         f"{[c for c in districts.columns if c != 'geometry']}")
    if districts.crs is None:
        raise ValueError(f"{path}: the district layer has no CRS")
    kinds = set(districts.geometry.geom_type.dropna())
    if kinds - {"Polygon", "MultiPolygon"}:
        raise ValueError(f"{path}: districts must be polygons, found {sorted(kinds)}")
    return gpd.GeoDataFrame({"district": districts[name_column].astype(str)},
                            geometry=districts.geometry.to_numpy(), crs=districts.crs).to_crs(crs)


def write_geoparquet(frame: gpd.GeoDataFrame, path: Path) -> str:
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)
    return str(path)


def write_table(frame: pd.DataFrame, stem: Path) -> dict[str, str]:
    """The same table as Parquet and as CSV (UTF-8 with BOM so Excel reads Japanese names)."""
    parquet, csv = stem.with_suffix(".parquet"), stem.with_suffix(".csv")
    with atomic_path(parquet) as tmp:
        frame.to_parquet(tmp, index=False)
    with atomic_path(csv) as tmp:
        frame.to_csv(tmp, index=False, encoding="utf-8-sig")
    return {"parquet": str(parquet), "csv": str(csv)}


def burn_scores(segments: gpd.GeoDataFrame, grid: Grid, column: str = "score", *,
                half_width_m: float | np.ndarray = 0.0) -> np.ndarray:
    """``column`` of the segments rasterised onto ``grid`` (every touched cell; NaN elsewhere).

    With ``half_width_m`` (one value, or one per segment) the street space around the
    centre line is burned. Segments are burned lowest value first, so where several share
    a cell the highest wins.
    """
    from rasterio.features import rasterize

    half = np.broadcast_to(np.asarray(half_width_m, float), (len(segments),))
    order = np.argsort(segments[column].to_numpy(float), kind="stable")
    known = segments[column].notna().to_numpy()[order]
    order = order[known]
    if not len(order):
        return np.full(grid.shape, np.nan, np.float32)
    geoms = segments.geometry.to_numpy()[order]
    geoms = np.where(half[order] > 0, [g.buffer(h, cap_style="flat") if h > 0 else g
                                       for g, h in zip(geoms, half[order])], geoms)
    values = segments[column].to_numpy(float)[order]
    return rasterize(zip(geoms, values), out_shape=grid.shape, transform=grid.transform, fill=np.nan,
                     all_touched=True, dtype="float32")


def street_half_width(segments: gpd.GeoDataFrame, minimum_m: float = 3.0) -> np.ndarray:
    """Half the street width (m) of each segment, at least ``minimum_m`` (unknown widths too)."""
    width = pd.to_numeric(segments.get("width_m", pd.Series(np.nan, index=segments.index)),
                          errors="coerce").to_numpy(float)
    return np.maximum(np.nan_to_num(width / 2.0, nan=minimum_m), minimum_m)


def summarise(segments: gpd.GeoDataFrame, key: str, *, hot_season: bool, walkable_score: float,
              unshaded_below: float) -> pd.DataFrame:
    """Per ``key`` value: score, shade share, people per 100 m, class, length and class shares."""
    frame = pd.DataFrame({"meshcode": segments[key].to_numpy(), "length_m": segments["length_m"],
                          "score": segments["score"], "shade_share": segments["shade_share"],
                          "flow": segments["people"]})
    utci = "utci_mean_c" if "utci_mean_c" in segments and segments["utci_mean_c"].notna().any() else None
    if utci:
        frame[utci] = segments[utci].to_numpy()
    cells = classify_cells(frame, hot_season=hot_season, walkable_score=walkable_score,
                           unshaded_below=unshaded_below, utci_column=utci)
    flow_known = frame.groupby("meshcode")["flow"].apply(lambda s: s.notna().any())
    cells.loc[~flow_known.reindex(cells.index).fillna(False).to_numpy(bool), "class"] = "flow_unknown"
    cells = cells.rename(columns={"flow_per_100m": "people_per_100m"})
    cells["street_length_m"] = frame.groupby("meshcode")["length_m"].sum()
    shares = (segments.assign(_k=segments[key].to_numpy()).groupby(["_k", "class"])["length_m"].sum()
              .unstack("class", fill_value=0.0))
    for cls in CLASS_COLOURS:
        cells[f"share_{cls}"] = (shares[cls] if cls in shares else 0.0) / cells["street_length_m"]
    cells.index.name = key
    return cells.reset_index()


def buildings_nearest_street(buildings: gpd.GeoDataFrame, scored: dict[str, gpd.GeoDataFrame],
                             max_distance_m: float = 100.0) -> pd.DataFrame:
    """Per building: its nearest segment (footprint to line) and that segment's score per scenario."""
    first = next(iter(scored.values()))
    lines = gpd.GeoDataFrame({"nearest_segment_id": first.index.to_numpy()},
                             geometry=first.geometry.to_numpy(), crs=first.crs)
    footprints = gpd.GeoDataFrame({"gml_id": buildings["gml_id"].astype(str).to_numpy()},
                                  geometry=buildings.geometry.to_numpy(), crs=buildings.crs)
    near = gpd.sjoin_nearest(footprints, lines, how="left", max_distance=max_distance_m,
                             distance_col="distance_m")
    near = near[~near.index.duplicated()]  # equidistant streets: keep the first
    table = pd.DataFrame(near[["gml_id", "nearest_segment_id", "distance_m"]])
    for name, segments in scored.items():
        table[f"walk_score_{name}"] = segments["score"].reindex(table["nearest_segment_id"]).to_numpy(float)
        table[f"walk_class_{name}"] = segments["class"].reindex(table["nearest_segment_id"]).to_numpy(object)
    return table.reset_index(drop=True)


def _map_grid(segments: gpd.GeoDataFrame, resolution: float, margin_m: float = 30.0) -> Grid:
    x0, y0, x1, y1 = segments.total_bounds
    return Grid.from_bounds(x0 - margin_m, y0 - margin_m, x1 + margin_m, y1 + margin_m, resolution,
                            str(segments.crs.to_string()) if hasattr(segments.crs, "to_string") else segments.crs)


def write_maps(folder: Path, name: str, title: str, segments: gpd.GeoDataFrame, grid: Grid,
               buildings: gpd.GeoDataFrame | None, shade: tuple[np.ndarray, Grid] | None = None
               ) -> dict[str, str]:
    """Score map and class map (segments coloured by class over the scenario's shade) of one scenario."""
    from matplotlib.colors import LinearSegmentedColormap

    from pipeline.geo.maps import Overlay, write_raster_map

    # white (sun) to mid grey (shade), so class colours stay readable on shaded ground
    SHADE_CMAP = LinearSegmentedColormap.from_list("shade", ["#ffffff", "#8c8c8c"])
    has_buildings = buildings is not None and len(buildings)
    footprints = ([Overlay(buildings.geometry, color="#bdbdbd", linewidth=0.2, label="buildings")]
                  if has_buildings else [])
    # streets drawn 20 m wide so that they read at the scale of a district map
    score = burn_scores(segments, grid, half_width_m=10.0)
    written = {"score_map": write_raster_map(
        folder / f"score_{name}.png", score, grid, title=f"Walkability score, {title}",
        units="score (0-100)", cmap="RdYlGn", vmin=0, vmax=100, overlays=footprints)}
    overlays = ([Overlay(buildings.geometry, color="#6d6d6d", linewidth=0.3, facecolor="#00000000",
                         label="buildings")] if has_buildings else [])
    for cls, colour in CLASS_COLOURS.items():
        chosen = segments[segments["class"] == cls]
        if len(chosen):
            overlays.append(Overlay(chosen.geometry, color=colour, linewidth=2.0,
                                    label=f"{CLASS_LABELS[cls]} ({chosen['length_m'].sum() / 1000:.1f} km)"))
    # the background is the scenario's shade, so the classes read against where shade falls
    if shade is None:
        shade = (burn_scores(segments, grid, "shade_share", half_width_m=10.0), grid)
    written["class_map"] = write_raster_map(
        folder / f"class_{name}.png", shade[0], shade[1], title=f"Walkability classes, {title}",
        units="share of the time slot in shade", cmap=SHADE_CMAP, vmin=0, vmax=1, overlays=overlays)
    return written


def write_thermal_map(folder: Path, name: str, title: str, segments: gpd.GeoDataFrame,
                      utci: tuple[np.ndarray, Grid], buildings: gpd.GeoDataFrame | None) -> str:
    """Streets coloured by the UTCI stress class of their mean UTCI, over the scenario's
    mean-UTCI raster (°C): the thermal side of the score, for one scenario."""
    from pipeline.geo.maps import Overlay, write_raster_map
    from pipeline.thermal.utci import STRESS_CLASSES
    from pipeline.walkability.classes import stress_class_colours

    colours = stress_class_colours()
    overlays = ([Overlay(buildings.geometry, color="#6d6d6d", linewidth=0.3, facecolor="#00000000",
                         label="buildings")] if buildings is not None and len(buildings) else [])
    for stress in STRESS_CLASSES:
        chosen = segments[segments["utci_class"] == stress.key]
        if len(chosen):
            overlays.append(Overlay(chosen.geometry, color=colours[stress.key],
                                    linewidth=2.0, label=f"{stress.label_en} ({chosen['length_m'].sum() / 1000:.1f} km)"))
    values, grid = utci
    finite = values[np.isfinite(values)]
    low, high = (np.floor(finite.min()), np.ceil(finite.max())) if finite.size else (0.0, 1.0)
    return write_raster_map(folder / f"utci_{name}.png", values, grid,
                            title=f"Felt temperature (UTCI), {title}", units="mean UTCI over the slot (°C)",
                            cmap="RdYlBu_r", vmin=float(low), vmax=float(max(high, low + 1)), overlays=overlays)


def write_outputs(folder: Path, scored: dict[str, gpd.GeoDataFrame], scenarios: list, *, settings, crs: str,
                  districts: gpd.GeoDataFrame | None, buildings: gpd.GeoDataFrame,
                  coverage: pd.DataFrame | None = None,
                  shade_fraction: dict[str, list[str]] | None = None,
                  weather: list[str] | None = None,
                  utci_mean: dict[str, list[str]] | None = None,
                  render_3d: Callable[[Path, Mapping[str, str]], Mapping[str, str]] | None = None) -> dict:
    """Write every output of the module table; returns ``{kind: path or {scenario: path}}``.

    ``shade_fraction`` maps a scenario to the shadow stage's shade-fraction COGs (drawn
    under the streets of the maps); ``coverage`` is the people-flow coverage table
    (shown in the report); ``utci_mean`` maps a scenario to the thermal stage's mean-UTCI
    COGs (the background of the UTCI maps). ``render_3d(maps_folder, segments)``, given the written
    ``{scenario: segments GeoParquet}``, returns ``{caption: PNG}`` of 3D views that the
    report shows (the caller knows the buildings, shade and terrain to draw).
    """
    shade_fraction = shade_fraction or {}
    start = time.perf_counter()
    folder = Path(folder)
    outputs: dict = {"segments": {}, "score_raster": {}, "score_map": {}, "class_map": {}, "utci_map": {}}
    utci_mean = utci_mean or {}
    by_scenario = {s.name: s for s in scenarios}
    first = next(iter(scored.values()))
    grid = _map_grid(first, settings.raster_resolution_m)
    mesh_rows, district_rows = [], []
    for name, segments in scored.items():
        scenario = by_scenario[name]
        outputs["segments"][name] = write_geoparquet(segments.reset_index(), folder / f"segments_{name}.parquet")
        score = burn_scores(segments, grid, half_width_m=street_half_width(segments))
        outputs["score_raster"][name] = write_cog(
            folder / f"score_{name}.tif", score, grid, nodata=np.nan,
            tags={"scenario": name, "units": "walkability score 0-100", "day_type": settings.day_type})
        hot = scenario.season.name in settings.hot_seasons
        common = dict(hot_season=hot, walkable_score=settings.walkable_score,
                      unshaded_below=settings.unshaded_below)
        cells = summarise(segments, "meshcode", **common)
        cells.insert(1, "scenario", name)
        mesh_rows.append(cells)
        if districts is not None:
            mid = gpd.GeoDataFrame(segments.drop(columns="geometry"), geometry=segments.geometry.interpolate(
                0.5, normalized=True), crs=segments.crs)
            joined = gpd.sjoin(mid, districts, how="inner", predicate="within")
            joined = joined[~joined.index.duplicated()]
            if len(joined):
                rows = summarise(joined, "district", **common)
                rows.insert(1, "scenario", name)
                district_rows.append(rows)
        if settings.maps:
            title = f"{scenario.season.name.replace('_', ' ')}, {scenario.slot.name} ({scenario.slot.start}-{scenario.slot.end})"
            maps = write_maps(folder / "maps", name, title, segments, grid, buildings,
                              mosaic(shade_fraction.get(name, ()), crs=grid.crs, bounds=grid.bounds,
                                     resolution=grid.resolution))
            outputs["score_map"][name] = maps["score_map"]
            outputs["class_map"][name] = maps["class_map"]
            if utci_mean.get(name) and "utci_class" in segments:
                outputs["utci_map"][name] = write_thermal_map(
                    folder / "maps", name, title, segments,
                    mosaic(utci_mean[name], crs=grid.crs, bounds=grid.bounds, resolution=grid.resolution),
                    buildings)
    mesh_table = pd.concat(mesh_rows, ignore_index=True)
    outputs["summary_by_mesh"] = write_table(mesh_table, folder / "summary_by_mesh")
    district_table = pd.concat(district_rows, ignore_index=True) if district_rows else None
    coolwalk = None
    if district_table is not None:
        outputs["summary_by_district"] = write_table(district_table, folder / "summary_by_district")
        coolwalk = district_coolwalkability(scored, districts, alpha=settings.coolwalk_alpha)
        outputs["coolwalkability_by_district"] = write_table(coolwalk, folder / "coolwalkability_by_district")
    if len(buildings) and "gml_id" in buildings:
        table = buildings_nearest_street(buildings, scored)
        path = folder / "buildings_nearest_street.parquet"
        with atomic_path(path) as tmp:
            table.to_parquet(tmp, index=False)
        outputs["buildings_nearest_street"] = outputs["feature_table"] = str(path)
    if settings.maps:
        views = dict(render_3d(folder / "maps", outputs["segments"])) if render_3d else {}
        if views:
            outputs["district_3d"] = views
        outputs["report"] = write_report(folder / "report.html", scored, scenarios, settings=settings,
                                         mesh_summary=mesh_table, district_summary=district_table,
                                         maps=outputs["score_map"], class_maps=outputs["class_map"],
                                         coverage=coverage, weather=weather, coolwalk=coolwalk,
                                         views_3d=views, utci_maps=outputs["utci_map"])
    if not outputs["utci_map"]:
        del outputs["utci_map"]
    log.info("walkability outputs: %d scenarios written to %s in %.1f s", len(scored), folder,
             time.perf_counter() - start)
    return outputs
