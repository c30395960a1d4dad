"""Measures on a baseline: what the registry tells the engine (:class:`RunChanges`).

``inputs.measures`` (declared by the surface stage, which applies them) enter the
``surface`` stage (trees, canopies, buildings, removed buildings) and the
``walkability`` stage (street changes); every stage needing those is recomputed on the
tiles the measures reach (:func:`touched_tiles`), the rest is the baseline's
(:mod:`pipeline.core.baseline`). The walkability scale is the baseline's, so scores
before and after are on one scale.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from pipeline.core.stage import RunChanges
from pipeline.core.task import PlanContext

log = logging.getLogger(__name__)


def touched_tiles(definition: Any, ctx: PlanContext) -> set[str]:
    """The tiles of the run the measures files of ``definition`` can reach
    (:func:`pipeline.measures.reach.touched_tiles`); measures outside the run's area are
    reported in ``ctx.problems`` and the log."""
    import shapely

    from pipeline.geo.tiling import tile_grid
    from pipeline.measures.reach import lowest_sun_altitude_deg
    from pipeline.measures.reach import touched_tiles as reach_tiles
    from pipeline.measures.reader import read_measure_files

    paths = list(getattr(definition.inputs, "measures", []) or [])
    if not paths:
        return set()
    boxes = [shapely.box(*tile_grid(t, ctx.crs, definition.grid.resolution_m).bounds) for t in ctx.tiles]
    area = shapely.union_all(boxes) if boxes else None
    surface = definition.stages.surface
    measures = read_measure_files(
        paths, ctx.crs, area=area, default_crown_diameter_m=surface.default_crown_diameter_m
    )
    for message in measures.skipped:
        log.warning("%s", message)
        ctx.problems.append(message)
    shadow = getattr(definition.stages, "shadow", None)
    diagram = getattr(definition.stages, "shadow_diagram", None)
    whole_day = bool(shadow is not None and shadow.enabled and shadow.sun_hours) or bool(
        diagram is not None and diagram.enabled
    )
    if whole_day or not boxes:
        lowest = 0.0  # sunrise and sunset: the reach is the halo
    else:
        from pyproj import Transformer

        centre = area.centroid
        lon, lat = Transformer.from_crs(ctx.crs, "EPSG:4326", always_xy=True).transform(centre.x, centre.y)
        lowest = lowest_sun_altitude_deg(
            definition.scenarios.scenarios(),
            definition.scenarios.year,
            lat,
            lon,
            timezone=definition.timezone,
        )
    walk = getattr(definition.stages, "walkability", None)
    network_reach = float(max(walk.distances)) if walk is not None and walk.enabled else 0.0
    if walk is not None and walk.enabled:
        message = unweighed_pedestrian_streets(measures.streets, walk.busy_street_factor)
        if message:
            log.warning("%s", message)
            ctx.problems.append(message)
    return reach_tiles(
        measures,
        ctx.tiles,
        ctx.crs,
        halo_m=definition.grid.halo_m,
        lowest_sun_deg=lowest,
        removed_footprints=_removed_footprints(definition, measures),
        street_lines=[s.line for s in measures.streets],
        network_reach_m=network_reach,
    )


def unweighed_pedestrian_streets(streets, busy_street_factor: float) -> str | None:
    """What to tell the user when ``pedestrian_only`` street changes cannot change the
    perceived cost: with ``busy_street_factor`` 1 (the default) traffic is not weighed, so
    taking a street's traffic away changes only its class, not its cost, access or routes."""
    count = sum(1 for street in streets if street.pedestrian_only)
    if not count or busy_street_factor > 1.0:
        return None
    return (
        f"{count} street measure(s) make streets pedestrian-only, but "
        "stages.walkability.busy_street_factor is 1 (traffic not weighed): their perceived cost, "
        "access and simulated routes stay as they were, only their class changes. Set it to 1.14 "
        "(busy roads perceived 14 % longer, Broach & Dill 2015) in the baseline and in this run."
    )


def _removed_footprints(definition: Any, measures) -> list:
    """Footprint and height of each removed building, from the baseline's ingested
    building tables (``<baseline>/ingest/bldg/*_bldg.parquet``)."""
    wanted = sorted({r.gml_id for r in measures.removed})
    baseline = getattr(definition.inputs, "baseline", None)
    if not wanted or baseline is None:
        return []
    import geopandas as gpd
    import pandas as pd

    found = []
    for path in sorted(Path(baseline).glob("ingest/bldg/*_bldg.parquet")):
        table = gpd.read_parquet(
            path, columns=["gml_id", "height_m", "geometry"], filters=[("gml_id", "in", wanted)]
        )
        found += [
            (geometry, float(height) if pd.notna(height) else definition.grid.halo_m)
            for geometry, height in zip(table.geometry, table["height_m"])
        ]
    return found


CHANGES = RunChanges(
    input="measures", enters=("surface", "walkability"), touched=touched_tiles, fixed=("walkability_scale",)
)
