"""People flow per mesh cell as extruded prisms, one 3D Tiles tileset per scenario.

Each JIS X 0410 cell of ``peopleflow/flow_by_mesh.parquet`` becomes a box standing on
the ground at the cell's centre (ellipsoidal height), as tall as its population times
``metres_per_person``. A cell whose population the source does not give for a scenario
(an MLIT slot it does not cover, a suppressed value) is a flat slab with
``has_data = false`` and no ``population``: the viewer shows it as "no data", never as
zero. One tileset per scenario, so that the viewer's split compare can put scenario A
left and B right (CesiumJS splits tilesets, not entities).
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
#: A cell without data for the slot is a slab this tall (m): tall enough to stand clear of the
#: globe's terrain, which approximates the ground heights and would flicker through a thinner one.
NO_DATA_SLAB_M = 4.0
#: White: CesiumJS multiplies a style's colour by the material's, so only white shows the
#: legend's colours as they are (the Okabe-Ito blue it had tinted every class).
PRISM_COLOUR = (1.0, 1.0, 1.0, 1.0)


@dataclass(frozen=True)
class FlowPrisms:
    """Tilesets written: scenario -> tileset.json; the height scale and the largest value."""

    tilesets: dict[str, Path]
    metres_per_person: float
    max_population: float
    covered: dict[str, bool]  # scenario -> whether any cell has a value


def mesh_populations(
    flow_table: str | Path, scenarios: Sequence[str], day_type: str = "weekday"
) -> pd.DataFrame:
    """Population per (meshcode, level) and scenario (columns), NaN where not given.

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
    wide = chosen.pivot(index=["meshcode", "level"], columns="scenario", values="population")
    wide = wide.reindex(pd.MultiIndex.from_frame(cells)).reindex(columns=list(scenarios))
    return wide.astype(float)


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


def write_flow_prisms(
    flow_table: str | Path,
    out_dir: str | Path,
    scenarios: Sequence[str],
    *,
    ground_height: Any,
    day_type: str = "weekday",
    tallest_m: float = 150.0,
) -> FlowPrisms:
    """Write ``out_dir/<scenario>/tileset.json`` for every scenario.

    Parameters
    ----------
    flow_table : path
        ``flow_by_mesh.parquet`` of the people-flow stage.
    scenarios : sequence of str
        Scenario names, in the run's order.
    ground_height : callable
        ``(lon, lat) -> ellipsoidal ground height (m)`` at cell centres (degrees).
    tallest_m : float
        Height (m) of the most populated cell over all scenarios.

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
    metres_per_person = tallest_m / largest if largest > 0 else 0.0
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
            height = max(population * metres_per_person, NO_DATA_SLAB_M) if known else NO_DATA_SLAB_M
            vertices, triangles = prism(ring, ground, ground + height)
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
    return FlowPrisms(tilesets, metres_per_person, largest, covered)
