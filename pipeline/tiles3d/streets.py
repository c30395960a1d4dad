"""Scored street segments as a 3D Tiles 1.1 tileset of ground-hugging ribbons.

Each segment of the walkability tables (``walkability/segments_<scenario>.parquet``)
becomes one feature: a ribbon as wide as the street (``width_m``, or a default), draped
on the terrain COGs and lifted a little above them, with heights made ellipsoidal by the
same GSI geoid as the buildings. Its property table row holds what does not change
between scenarios once (``length_m``, ``width_m``, ``slope_max_pct``, ``highway``) and
what does once per scenario, named ``<variable>__<scenario>`` (``score__heat_day_midday``,
``class__...``, ``c_shade__...``, ``shade_share__...``, ``people_per_100m__...``, and the
thermal-comfort values when the tables have them). The measures behind the network
components (access, mix, intersections: the same in every scenario, as they use plain
lengths) are kept once too (:func:`raw_measures`), so the viewer shows them next to their
scaled values. The viewer colours and explains streets from these properties alone;
GeoJSON in the browser would not carry a city.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from tiles import MeshFeature, MeshPart, write_mesh_tileset
from tiles.metadata import LayerSchema
from tiles.ribbons import ribbon_mesh

from .features import EllipsoidalProjector
from .terrain_heights import TerrainHeights

log = logging.getLogger(__name__)

ID_COLUMN = "segment_id"
CLASS_NAME = "street_segment"
SEPARATOR = "__"
#: Per-segment columns that do not depend on the scenario (kept once when present).
STATIC_COLUMNS = (
    "highway",
    "length_m",
    "width_m",
    "width_source",
    "slope_mean_pct",
    "slope_max_pct",
    "meshcode",
    "name",
)
#: Per-scenario columns (besides every ``c_*`` component and the thermal columns).
SCENARIO_COLUMNS = ("score", "score_percentile", "class", "shade_share", "people", "people_per_100m")
#: Thermal-comfort columns written per scenario when a table has them.
THERMAL_COLUMNS = (
    "utci_mean_c",
    "utci_class",
    "side",
    "hours_utci_above_32",
    "hours_utci_above_38",
    "hours_utci_below_0",
)
RIBBON_COLOUR = (0.85, 0.85, 0.85, 1.0)
#: The measures behind the network components, kept once per segment (:func:`raw_measures`).
RAW_COLUMNS = ("access_destinations", "mix_classes", "mix_entropy", "intersection_density")


@dataclass
class StreetTiles:
    """What :func:`write_street_tileset` wrote.

    ``variables`` are the per-scenario variables in the property tables (``score``,
    ``class``, ``c_access``, ...); ``segments`` the features written; ``bounds`` those
    of their centre lines.
    """

    tileset: Path
    segments: int
    variables: list[str]
    bytes_written: int
    bounds: tuple[float, float, float, float]  # of the segments, in their metric CRS (m)
    #: the raw measures written (:data:`RAW_COLUMNS` the tables allow) and the walking
    #: distance (m) of the access and mix ones (None without them)
    raw: list[str] = field(default_factory=list)
    raw_distance_m: int | None = None


def read_scored_segments(
    tables: Mapping[str, str | Path], row_group: int | None = None
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """The segment geometry (GeoDataFrame, first scenario's) and each scenario's columns.

    Parameters
    ----------
    tables : mapping
        Scenario name -> GeoParquet of scored segments (``segment_id``, ``geometry``,
        ``score``, ``class``, ``c_*``, ...), all in one metric CRS.
    row_group : int, optional
        Read only this row group of every table (the run's tables hold one per tile, in
        the same order); else whole tables.

    Raises
    ------
    ValueError
        If a table lacks ``segment_id`` or ``geometry``, holds duplicate ids, or the
        tables do not hold the same segments.
    """
    import geopandas as gpd
    import pyarrow.parquet as pq

    if not tables:
        raise ValueError("no scored segment tables given")
    geometry = None
    columns: dict[str, pd.DataFrame] = {}
    for scenario, path in tables.items():
        if row_group is None:
            frame = gpd.read_parquet(path)
        else:
            with pq.ParquetFile(path) as parquet:
                frame = gpd.GeoDataFrame.from_arrow(parquet.read_row_group(row_group))
        if ID_COLUMN not in frame.columns:
            raise ValueError(f"{path}: no {ID_COLUMN!r} column (columns: {list(frame.columns)[:12]})")
        ids = frame[ID_COLUMN].astype(str)
        if ids.duplicated().any():
            raise ValueError(f"{path}: duplicate {ID_COLUMN} {ids[ids.duplicated()].iloc[0]!r}")
        frame = frame.set_index(ids.rename(ID_COLUMN)).drop(columns=[ID_COLUMN])
        if geometry is None:
            if frame.crs is None or not frame.crs.is_projected:
                raise ValueError(f"{path}: segments need a projected CRS, found {frame.crs}")
            geometry = frame[["geometry"]].sort_index()
        elif not frame.index.sort_values().equals(geometry.index):
            extra = frame.index.symmetric_difference(geometry.index)
            raise ValueError(
                f"{path}: holds other segments than {next(iter(tables.values()))} (e.g. {extra[0]!r})"
            )
        columns[scenario] = pd.DataFrame(frame.drop(columns="geometry")).reindex(geometry.index)
    return geometry, columns


def raw_distance(columns: Sequence[str]) -> int | None:
    """The largest walking distance (m) of the tables' plain access and mix columns
    (``access_<class>_<d>``, ``mix_hill_q0_<d>``): the one :func:`raw_measures` reports and
    the walkability stage scales ``c_mix`` at. None without such columns."""
    from pipeline.walkability.scale import plain_access_columns

    found = [
        c.rsplit("_", 1)[-1] for c in plain_access_columns(columns) if not c.startswith("access_destinations")
    ]
    found += [c.rsplit("_", 1)[-1] for c in columns if c.startswith("mix_hill_q0_")]
    distances = [int(d) for d in found if d.isdigit()]
    return max(distances) if distances else None


def raw_measures(frame: pd.DataFrame, distance_m: int | None) -> pd.DataFrame:
    """The measures behind the network components of each segment, at ``distance_m``
    (:func:`raw_distance`), as the walkability stage computed them
    (:mod:`pipeline.walkability.accessibility`, :func:`pipeline.walkability.components.intersection_density`):

    ``access_destinations``
        Destinations reachable within ``distance_m`` m along the network (plain lengths),
        each weighted exp(-4 d / ``distance_m``) (cityseer's decayed count), summed over the
        destination classes: what ``c_access`` scales class by class (dimensionless count).
    ``mix_classes``
        Land-use classes within ``distance_m`` m, Hill number q = 0 (``mix_hill_q0_<d>``),
        what ``c_mix`` divides by the run's number of classes.
    ``mix_entropy``
        Shannon entropy of the land-use mix within ``distance_m`` m (``mix_shannon_<d>``).
    ``intersection_density``
        Junctions (3 or more segments) per km² within 400 m of the segment's midpoint,
        what ``c_intersections`` divides by 100.

    Columns the tables lack are left out. Index: the frame's.
    """
    from pipeline.walkability.scale import plain_access_columns

    out = pd.DataFrame(index=frame.index)
    if distance_m is not None:
        access = [c for c in plain_access_columns(frame.columns) if c.endswith(f"_{distance_m}")]
        if access:
            out["access_destinations"] = frame[access].astype(float).sum(axis=1, min_count=1)
        for name, column in (
            ("mix_classes", f"mix_hill_q0_{distance_m}"),
            ("mix_entropy", f"mix_shannon_{distance_m}"),
        ):
            if column in frame:
                out[name] = frame[column].astype(float)
    if "intersection_density" in frame:
        out["intersection_density"] = frame["intersection_density"].astype(float)
    return out


def street_schema(
    tables: Mapping[str, str | Path], variables: Sequence[str], raw: Sequence[str] = ()
) -> LayerSchema:
    """The street property schema, decided from the tables' column types (not values), so
    that every part of a city's street tiles types a property the same way.

    Numbers are FLOAT64 (integers of 32 bits or less INT32), booleans UINT8 0/1, other
    columns STRING; every property declares a no-data value, as a tile may lack one. A
    content none of whose segments has a value of a property (``people__<scenario>`` of a
    slot without people-flow data) neither declares nor writes it
    (:func:`tiles.metadata.build_property_table`): the CesiumGS 3D Tiles validator fails
    on a declared property without a column. The ``raw`` measures (:func:`raw_measures`)
    are FLOAT64, once per segment.
    """
    import pyarrow.parquet as pq
    import pyarrow.types as pat

    from tiles.metadata import BOOL_NODATA, FLOAT_NODATA, INT_NODATA, PropertyType

    def kind(field) -> PropertyType:
        if pat.is_boolean(field.type):
            return PropertyType("UINT8", BOOL_NODATA)
        if pat.is_integer(field.type) and field.type.bit_width <= 32:
            return PropertyType("INT32", int(INT_NODATA))
        if pat.is_integer(field.type) or pat.is_floating(field.type):
            return PropertyType("FLOAT64", float(FLOAT_NODATA))
        return PropertyType("STRING", "")

    fields = {scenario: {f.name: f for f in pq.read_schema(path)} for scenario, path in tables.items()}
    first = next(iter(fields.values()))
    schema = LayerSchema()
    for column in STATIC_COLUMNS:
        if column in first:
            schema.types[column] = kind(first[column])
    for column in raw:
        schema.types[column] = PropertyType("FLOAT64", float(FLOAT_NODATA))
    for scenario, found in fields.items():
        for variable in variables:
            schema.types[f"{variable}{SEPARATOR}{scenario}"] = kind(found[variable])
    schema.classes[CLASS_NAME] = list(schema.types)
    return schema


def scenario_variables(columns: Mapping[str, Sequence[str]]) -> list[str]:
    """Per-scenario variables present in every table (scenario -> its column names), in a
    stable order."""
    common = set.intersection(*(set(c) for c in columns.values()))
    first = list(next(iter(columns.values())))
    components = [c for c in first if c.startswith("c_") and c in common]
    thermal = [c for c in THERMAL_COLUMNS if c in common]
    return [c for c in SCENARIO_COLUMNS if c in common] + components + thermal


def segment_properties(
    columns: Mapping[str, pd.DataFrame], variables: Sequence[str], raw_distance_m: int | None = None
) -> list[dict[str, Any]]:
    """One property row per segment (in the tables' row order): static columns and the raw
    measures (:func:`raw_measures` at ``raw_distance_m``) once, each variable once per
    scenario as ``<variable>__<scenario>``."""
    first = next(iter(columns.values()))
    static = first[[c for c in STATIC_COLUMNS if c in first.columns]]
    parts = [static, raw_measures(first, raw_distance_m)]
    for scenario, frame in columns.items():
        parts.append(frame[list(variables)].rename(columns=lambda c, s=scenario: f"{c}{SEPARATOR}{s}"))
    table = pd.concat(parts, axis=1)
    table = table.astype(object).where(table.notna(), None)
    rows = table.to_dict(orient="records")
    for row in rows:
        for key, value in row.items():
            if isinstance(value, np.generic):
                row[key] = value.item()
    return rows


def street_ribbons(
    geometry,
    widths_m: np.ndarray,
    terrain: TerrainHeights,
    projector: EllipsoidalProjector,
    *,
    lift_m: float = 0.3,
    max_step_m: float = 5.0,
) -> list[list[MeshPart]]:
    """Ribbon parts of each segment (lon, lat, ellipsoidal h), draped on the terrain.

    Parameters
    ----------
    geometry : GeoSeries or array of (Multi)LineString
        Centre lines in the terrain's metric CRS.
    widths_m : (N,) float
        Ribbon width per segment (m).
    lift_m : float
        Height above the ground (m) so that the ribbon is not hidden in the terrain.
    """
    parts: list[list[MeshPart]] = []
    for _i, (line, width) in enumerate(zip(np.asarray(geometry), widths_m)):
        pieces = []
        for single in shapely.get_parts(line):
            coords = shapely.get_coordinates(single)
            if len(coords) < 2 or shapely.length(single) <= 0:
                continue
            ribbon = ribbon_mesh(coords, float(width), max_step_m=max_step_m)
            z = terrain(ribbon.xy[:, 0], ribbon.xy[:, 1]) + lift_m
            lonlath = projector(np.column_stack([ribbon.xy, z]))
            # shared vertices with an up normal: a third of the bytes of flat-shaded corners
            up = np.tile([0.0, 0.0, 1.0], (len(lonlath), 1))
            pieces.append(MeshPart(lonlath, ribbon.triangles, normals=up, base_color=RIBBON_COLOUR))
        parts.append(pieces)
    return parts


def write_street_tileset(
    tables: Mapping[str, str | Path],
    out_dir: str | Path,
    *,
    terrain: TerrainHeights,
    geoid_model: str = "gsigeo2011",
    default_width_m: float = 4.0,
    lift_m: float = 0.3,
    max_features_per_tile: int = 2000,
    client: Any = None,
) -> StreetTiles:
    """Write the scored segments of every scenario as one ribbon tileset.

    The tables are read one row group at a time (the run's hold one per tile), each
    written as a part (``out_dir/part<i>/``, an external tileset) under one root
    (:mod:`tiles.collection`), so memory stays that of a tile whatever the city.

    Parameters
    ----------
    tables : mapping
        Scenario name -> scored segment GeoParquet (see :func:`read_scored_segments`).
    out_dir : path
        Receives ``tileset.json`` and the parts.
    terrain : TerrainHeights
        Ground heights (orthometric m) in the segments' CRS.
    default_width_m : float
        Ribbon width where ``width_m`` is missing (m).

    Returns
    -------
    StreetTiles
    """
    import pyarrow.parquet as pq

    from tiles.collection import remove_stale_parts, write_tileset_of_parts

    out_dir = Path(out_dir)
    groups = {s: pq.ParquetFile(p).num_row_groups for s, p in tables.items()}
    if len(set(groups.values())) != 1:
        raise ValueError(f"scored segment tables of different row groups {groups}: not one run's tables")
    names = {s: pq.read_schema(p).names for s, p in tables.items()}
    variables = scenario_variables(names)
    first_names = next(iter(names.values()))
    distance = raw_distance(first_names)
    raw = list(raw_measures(pd.DataFrame(columns=first_names), distance).columns)
    schema = street_schema(tables, variables, raw)
    parts, segments, written, bounds = [], 0, 0, []
    for group in range(next(iter(groups.values()))):
        geometry, columns = read_scored_segments(tables, row_group=group)
        if not len(geometry):
            continue
        bounds.append(geometry.total_bounds)
        crs = geometry.crs.to_string()
        if terrain.crs is not None and terrain.crs != crs:
            raise ValueError(f"segments are in {crs} but the terrain rasters in {terrain.crs}")
        rows = segment_properties(columns, variables, distance)
        first = next(iter(columns.values()))
        widths = pd.to_numeric(
            first.get("width_m", pd.Series(np.nan, index=first.index)), errors="coerce"
        ).to_numpy(float)
        widths = np.where(np.isfinite(widths) & (widths > 0), widths, default_width_m)
        ribbons = street_ribbons(
            geometry.geometry.to_numpy(),
            widths,
            terrain,
            EllipsoidalProjector(crs, geoid_model),
            lift_m=lift_m,
        )
        features = [
            MeshFeature(str(sid), CLASS_NAME, pieces, row)
            for sid, pieces, row in zip(geometry.index, ribbons, rows)
            if pieces
        ]
        if len(features) < len(rows):
            log.warning("%d segment(s) without length skipped", len(rows) - len(features))
        if not features:
            continue
        summary = write_mesh_tileset(
            features,
            out_dir / f"part{group:05d}",
            property_schema=schema,
            max_features_per_tile=max_features_per_tile,
            client=client,
        )
        parts.append(summary.tileset_path)
        segments += len(features)
        written += summary.bytes_written
    if not parts:
        raise ValueError(f"no street segment with a length in {sorted(map(str, tables.values()))}")
    tileset = write_tileset_of_parts(parts, out_dir)
    remove_stale_parts(out_dir, parts)
    log.info(
        "street ribbons: %d segments in %d part(s), %d variables per scenario, %.2f MB",
        segments,
        len(parts),
        len(variables),
        written / 1e6,
    )
    b = np.array(bounds)
    return StreetTiles(
        tileset,
        segments,
        variables,
        written,
        (float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max())),
        raw,
        distance if raw else None,
    )
