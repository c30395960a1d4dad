"""People flow per mesh cell as low frames on the ground, one 3D Tiles tileset per scenario.

Each JIS X 0410 cell of ``peopleflow/flow_by_mesh.parquet`` becomes a frame along its
edges: a band :data:`FRAME_WIDTH_M` wide and :data:`FRAME_HEIGHT_M` tall standing on the
ground at the cell's centre (ellipsoidal height), coloured by the viewer on the legend of
its population. The cell's inside stays open, so the city under a 1 km cell stays in view
(a box as tall as its population hid the district: issue 26) and the streets, coloured by
their own people per 100 m, stay the main view of where people walk. The value is written
on the ground as a label by the viewer (:func:`flow_cells`: people, source, slot).

A cell whose population the source does not give for a scenario (an MLIT slot it does not
cover, a suppressed value) has ``has_data = false`` and no ``population``: the viewer shows
it as "no data", never as zero. One tileset per scenario, so that the viewer's split
compare can put scenario A left and B right (CesiumJS splits tilesets, not entities).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tiles import MeshFeature, write_mesh_tileset

log = logging.getLogger(__name__)

CLASS_NAME = "flow_cell"
#: Height of a cell's frame (m): tall enough to stand clear of the globe's terrain, which
#: approximates the ground heights and would flicker through a thinner one.
FRAME_HEIGHT_M = 4.0
#: Width of a cell's frame (m): about 10 px at a district view of 2 km across 1,000 px,
#: 3 % of a 1 km cell's side.
FRAME_WIDTH_M = 15.0
#: Metres per degree of latitude, and of longitude at the equator (WGS 84 / GRS80, to 0.1 %
#: at these latitudes: enough for a frame's width).
METRES_PER_DEGREE = 111_320.0
#: White: CesiumJS multiplies a style's colour by the material's, so only white shows the
#: legend's colours as they are (the Okabe-Ito blue it had tinted every class).
PRISM_COLOUR = (1.0, 1.0, 1.0, 1.0)


@dataclass(frozen=True)
class FlowPrisms:
    """Tilesets written: scenario -> tileset.json; the largest value; the cells' labels."""

    tilesets: dict[str, Path]
    max_population: float
    covered: dict[str, bool]  # scenario -> whether any cell has a value
    cells: list[dict]  # one per cell (:func:`flow_cells`)


def mesh_populations(
    flow_table: str | Path, scenarios: Sequence[str], day_type: str = "weekday", value: str = "population"
) -> pd.DataFrame:
    """Population per (meshcode, level) and scenario (columns), NaN where not given
    (``value="source"``: the source that gave it, NaN likewise).

    Where several sources give the same cell and scenario, the first source in the
    table's order wins (as the walkability stage reads it).

    Raises
    ------
    ValueError
        If the table lacks a needed column.
    """
    flow = pd.read_parquet(flow_table)
    needed = {"meshcode", "level", "scenario", "day_type", "population", "source"}
    if needed - set(flow.columns):
        raise ValueError(f"{flow_table}: missing column(s) {sorted(needed - set(flow.columns))}")
    cells = flow[["meshcode", "level"]].drop_duplicates().sort_values(["level", "meshcode"])
    chosen = flow[(flow["day_type"] == day_type) & flow["population"].notna()]
    order = {name: i for i, name in enumerate(dict.fromkeys(flow["source"]))}
    chosen = chosen.assign(_rank=chosen["source"].map(order)).sort_values("_rank", kind="stable")
    chosen = chosen.drop_duplicates(["meshcode", "level", "scenario"], keep="first")
    wide = chosen.pivot(index=["meshcode", "level"], columns="scenario", values=value)
    wide = wide.reindex(pd.MultiIndex.from_frame(cells)).reindex(columns=list(scenarios))
    return wide.astype(float) if value == "population" else wide


def prism(ring_lonlat: np.ndarray, base_h: float, top_h: float) -> tuple[np.ndarray, np.ndarray]:
    """A closed prism over a convex ring (lon, lat deg; counter-clockwise, not closed):
    vertices (lon, lat, ellipsoidal h) and outward-facing triangles."""
    n = len(ring_lonlat)
    bottom = np.column_stack([ring_lonlat, np.full(n, base_h)])
    top = np.column_stack([ring_lonlat, np.full(n, top_h)])
    vertices = np.vstack([bottom, top])
    triangles = [[0, i + 1, i] for i in range(1, n - 1)]  # floor, facing down
    triangles += [[n, n + i, n + i + 1] for i in range(1, n - 1)]  # roof, facing up
    for i in range(n):
        j = (i + 1) % n
        triangles += [[i, j, n + j], [i, n + j, n + i]]  # walls, facing out
    return vertices, np.asarray(triangles, dtype=np.int64)


def frame(
    ring_lonlat: np.ndarray, base_h: float, top_h: float, width_m: float = FRAME_WIDTH_M
) -> tuple[np.ndarray, np.ndarray]:
    """A frame along the edges of a lon/lat rectangle (a mesh cell; lon, lat deg,
    counter-clockwise, not closed): one :func:`prism` per side over the trapezoid between
    the edge and the same edge moved ``width_m`` inwards, from ``base_h`` to ``top_h``
    (ellipsoidal m). Returns vertices (lon, lat, h) and outward-facing triangles."""
    ring = np.asarray(ring_lonlat, dtype=np.float64)
    centre = ring.mean(axis=0)
    metres = np.array([METRES_PER_DEGREE * np.cos(np.radians(centre[1])), METRES_PER_DEGREE])
    half = np.abs(ring - centre).max(axis=0) * metres  # half the side (m), per axis
    inner = centre + (ring - centre) * np.clip(1.0 - width_m / half, 0.0, 1.0)
    parts, offset = [], 0
    vertices = []
    n = len(ring)
    for i in range(n):
        j = (i + 1) % n
        side, faces = prism(np.array([ring[i], ring[j], inner[j], inner[i]]), base_h, top_h)
        vertices.append(side)
        parts.append(faces + offset)
        offset += len(side)
    return np.vstack(vertices), np.vstack(parts)


def flow_cells(
    populations: pd.DataFrame,
    sources: pd.DataFrame,
    centres: np.ndarray,
    ground: np.ndarray,
    how: pd.DataFrame | None = None,
) -> list:
    """The viewer's label of every cell: ``meshcode``, ``lon``/``lat`` of its centre
    (degrees, EPSG:6668, 1e-6), ``h`` the ground there (ellipsoidal m), and per scenario
    its ``population`` (people, None where the source gives none), ``source`` (the file)
    and ``how`` (``people_source``: ``mlit`` as published, ``counters``/``hourly`` scaled
    by their hourly shares, ``profile``/``simulated`` modelled; None without)."""
    cells = []
    for k, (code, _) in enumerate(populations.index):
        people = populations.iloc[k]
        cells.append(
            {
                "meshcode": str(int(code)),
                "lon": round(float(centres[k, 0]), 6),
                "lat": round(float(centres[k, 1]), 6),
                "h": round(float(ground[k]), 2),
                "population": {
                    s: (round(float(v), 1) if np.isfinite(v) else None) for s, v in people.items()
                },
                "source": {s: (str(v) if isinstance(v, str) else None) for s, v in sources.iloc[k].items()},
                "how": {
                    s: (str(v) if isinstance(v, str) else None)
                    for s, v in (
                        how.iloc[k].items() if how is not None else ((s, None) for s in people.index)
                    )
                },
            }
        )
    return cells


def write_flow_prisms(
    flow_table: str | Path,
    out_dir: str | Path,
    scenarios: Sequence[str],
    *,
    ground_height: Any,
    day_type: str = "weekday",
) -> FlowPrisms:
    """Write ``out_dir/<scenario>/tileset.json`` for every scenario: each cell a
    :func:`frame` on the ground with its population as a property.

    Parameters
    ----------
    flow_table : path
        ``flow_by_mesh.parquet`` of the people-flow stage.
    scenarios : sequence of str
        Scenario names, in the run's order.
    ground_height : callable
        ``(lon, lat) -> ellipsoidal ground height (m)`` at cell centres (degrees).

    Returns
    -------
    FlowPrisms
    """
    import shapely

    from pipeline.geo.meshcode import to_polygons

    populations = mesh_populations(flow_table, scenarios, day_type)
    if populations.empty:
        raise ValueError(f"{flow_table}: no mesh cells")
    largest = float(np.nanmax(populations.to_numpy())) if np.isfinite(populations.to_numpy()).any() else 0.0
    sources = mesh_populations(flow_table, scenarios, day_type, value="source")
    import pyarrow.parquet as pq

    has_how = "people_source" in pq.read_schema(flow_table).names
    how = mesh_populations(flow_table, scenarios, day_type, value="people_source") if has_how else None
    codes = populations.index.get_level_values("meshcode").to_numpy()
    polygons = to_polygons(codes, "EPSG:6668")
    centres = shapely.get_coordinates(shapely.centroid(polygons.to_numpy()))  # cell centres, degrees
    base = np.asarray(ground_height(centres[:, 0], centres[:, 1]), dtype=np.float64)
    rings = [shapely.get_coordinates(shapely.orient_polygons(p).exterior)[:-1] for p in polygons.to_numpy()]
    out_dir = Path(out_dir)
    tilesets, covered = {}, {}
    for scenario in scenarios:
        values = populations[scenario].to_numpy(float)
        covered[scenario] = bool(np.isfinite(values).any())
        features = []
        for (code, level), ring, ground, population in zip(populations.index, rings, base, values):
            known = bool(np.isfinite(population))
            vertices, triangles = frame(ring, ground, ground + FRAME_HEIGHT_M)
            properties: dict[str, Any] = {
                "meshcode": str(int(code)),
                "level": int(level),
                "scenario": scenario,
                "day_type": day_type,
                "has_data": known,
                "population": float(population) if known else None,
            }
            features.append(
                MeshFeature.single(
                    f"{int(code)}",
                    CLASS_NAME,
                    vertices,
                    triangles,
                    properties=properties,
                    base_color=PRISM_COLOUR,
                )
            )
        summary = write_mesh_tileset(features, out_dir / scenario, max_features_per_tile=5000)
        tilesets[scenario] = Path(summary.tileset_path)
    log.info(
        "flow prisms: %d cells, %d scenarios (%d with data)",
        len(populations),
        len(scenarios),
        sum(covered.values()),
    )
    return FlowPrisms(tilesets, largest, covered, flow_cells(populations, sources, centres, base, how))
