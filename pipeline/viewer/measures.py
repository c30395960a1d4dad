"""The measures of a run on a baseline and their effects, for the viewer (docs/viewer.md).

Two files under ``<viewer>/measures/``:

- ``measures.geojson``: every measure as a feature in lon/lat (EPSG:6668, degrees, rounded
  to 1e-7° ≈ 1 cm) with its heights in metres above the ground under it
  (:func:`measures_geojson`): trees (Point; ``height_m``, ``crown_diameter_m``,
  ``crown_base_m``, ``evergreen``), canopies (Polygon; ``height_m`` of the underside,
  ``transmissivity``, ``season``), new buildings (Polygon; ``height_m``), removed buildings
  (``gml_id``, and the footprint from the baseline's building tables when found, else no
  geometry). The app draws them on the 3D model.
- ``changes.json``: per scenario, variable and segment id, ``[before, after, change]`` of
  the effects table (:func:`change_values`), which the app joins to the street ribbons by
  their ``feature_id`` (the segment id). A separate file keeps the street tiles' metadata
  schema as it is (no property that only some runs have).

The change legends (:func:`change_legend`) are diverging, symmetric about zero, over the
data's largest change; blue is better for a walker (cooler, fewer hours in heat stress,
a higher score), red worse.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import shapely

from pipeline.measures.records import MeasureSet

from . import legends

#: Effects columns (``<name>_before/_after/_change``) the app colours by change, and
#: whether a rise is better for a walker (the score) or worse (UTCI, hours in heat stress).
CHANGE_VARIABLES: dict[str, bool] = {"utci_mean_c": False, "score": True, "hours_utci_above_32": False}
#: Words of the change legends, {en, ja} title and units.
CHANGE_WORDS = {
    "utci_mean_c": (
        {
            "en": "Change of felt temperature (ΔUTCI), after - before",
            "ja": "体感温度の変化(ΔUTCI、施策後 − 施策前)",
        },
        {"en": "°C", "ja": "°C"},
    ),
    "score": (
        {
            "en": "Change of walkability score, after - before",
            "ja": "歩きやすさスコアの変化(施策後 − 施策前)",
        },
        {"en": "points", "ja": "点"},
    ),
    "hours_utci_above_32": (
        {
            "en": "Change of hours in strong heat stress or worse (UTCI ≥ 32 °C), after - before",
            "ja": "強い暑熱ストレス以上の時間の変化(UTCI 32 °C 以上、施策後 − 施策前)",
        },
        {"en": "h", "ja": "時間"},
    ),
}
#: Odd, so that zero has a bin of its own in the middle, drawn in :data:`NO_CHANGE`.
CHANGE_STEPS = 9
#: Colour of the middle bin (about no change): a grey, told apart from the white of no data.
NO_CHANGE = "#BDBDBD"


def _lonlat(transform, coords) -> list[list[float]]:
    xs, ys = transform.transform(*np.asarray(coords, dtype=np.float64).T[:2])
    return [[round(float(x), 7), round(float(y), 7)] for x, y in zip(np.atleast_1d(xs), np.atleast_1d(ys))]


def _polygon(transform, polygon: shapely.Geometry) -> dict[str, Any]:
    polygon = shapely.geometry.polygon.orient(polygon, 1.0) if polygon.geom_type == "Polygon" else polygon
    if polygon.geom_type == "MultiPolygon":
        return {
            "type": "MultiPolygon",
            "coordinates": [_polygon(transform, p)["coordinates"] for p in polygon.geoms],
        }
    rings = [polygon.exterior, *polygon.interiors]
    return {"type": "Polygon", "coordinates": [_lonlat(transform, r.coords) for r in rings]}


def measures_geojson(
    measures: MeasureSet, removed_footprints: Mapping[str, shapely.Geometry] | None = None
) -> dict[str, Any]:
    """The measures as a GeoJSON FeatureCollection in lon/lat (EPSG:6668).

    Parameters
    ----------
    measures : MeasureSet
        The run's measures in its metric CRS (``measures.crs``), as the reader made them.
    removed_footprints : mapping, optional
        gml_id -> footprint (``measures.crs``) of the removed buildings, from the
        baseline's building tables; a removed building without one has ``geometry`` null.

    Returns
    -------
    dict
        Features with ``kind`` (``tree``, ``canopy``, ``building``, ``remove_building``),
        ``source`` (the file's feature) and the heights (m above the ground under them).
        Street changes are not drawn (the street ribbons show their effect).
    """
    from pyproj import Transformer

    transform = Transformer.from_crs(measures.crs, "EPSG:6668", always_xy=True)
    footprints = removed_footprints or {}
    features: list[dict[str, Any]] = []
    for t in measures.trees:
        (point,) = _lonlat(transform, [(t.x, t.y)])
        properties = {
            "kind": "tree",
            "source": t.source,
            "height_m": t.height_m,
            "crown_diameter_m": t.crown_diameter_m,
            "crown_base_m": t.crown_base_m,
            "evergreen": t.evergreen,
        }
        features.append(
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": point}, "properties": properties}
        )
    for c in measures.canopies:
        properties = {
            "kind": "canopy",
            "source": c.source,
            "height_m": c.height_m,
            "transmissivity": c.transmissivity,
            "season": c.season,
        }
        features.append(
            {"type": "Feature", "geometry": _polygon(transform, c.polygon), "properties": properties}
        )
    for b in measures.buildings:
        properties = {"kind": "building", "source": b.source, "height_m": b.height_m, "storeys": b.storeys}
        features.append(
            {"type": "Feature", "geometry": _polygon(transform, b.polygon), "properties": properties}
        )
    for r in measures.removed:
        footprint = footprints.get(r.gml_id)
        features.append(
            {
                "type": "Feature",
                "geometry": _polygon(transform, footprint) if footprint is not None else None,
                "properties": {"kind": "remove_building", "source": r.source, "gml_id": r.gml_id},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _rounded(value: float) -> float | None:
    return round(float(value), 2) if math.isfinite(value) else None


def change_values(
    effects: pd.DataFrame, variables: Sequence[str] = tuple(CHANGE_VARIABLES)
) -> dict[str, Any]:
    """Before, after and change per scenario, variable and segment, from the effects table.

    Parameters
    ----------
    effects : DataFrame
        ``effects/segments.parquet`` (:func:`pipeline.measures.effects.segment_effects`):
        ``segment_id``, ``scenario``, ``<name>_before``, ``<name>_after``, ``<name>_change``.
    variables : sequence of str
        The compared names to keep; a name without its three columns is left out.

    Returns
    -------
    dict
        ``{"variables": [...], "scenarios": {scenario: {variable: {segment_id: [before,
        after, change]}}}}``, values rounded to 0.01 in their units, NaN as null; scenarios,
        variables and segment ids sorted (deterministic bytes).
    """
    present = [
        v for v in variables if all(f"{v}_{s}" in effects.columns for s in ("before", "after", "change"))
    ]
    out: dict[str, dict[str, dict[str, list]]] = {}
    frame = effects.sort_values(["scenario", "segment_id"], kind="stable")
    for scenario, part in frame.groupby("scenario", sort=True):
        ids = part["segment_id"].astype(str).to_numpy()
        out[str(scenario)] = {
            v: {
                sid: [_rounded(b), _rounded(a), _rounded(c)]
                for sid, b, a, c in zip(
                    ids,
                    part[f"{v}_before"].to_numpy(np.float64),
                    part[f"{v}_after"].to_numpy(np.float64),
                    part[f"{v}_change"].to_numpy(np.float64),
                )
            }
            for v in present
        }
    return {"variables": present, "scenarios": out}


def change_legend(variable: str, changes: np.ndarray) -> dict[str, Any]:
    """A diverging ramp legend of ``variable``'s change, symmetric about zero.

    The domain is ``[-m, m]`` with ``m`` the :func:`.legends.nice_ceiling` of the largest finite
    ``|change|`` (1 in its units when nothing changed); :data:`CHANGE_STEPS` bins of the
    ``RdBu`` colour map, reversed where a rise is worse, so blue is better for a walker;
    the middle bin (about zero) is :data:`NO_CHANGE`.
    """
    values = np.asarray(changes, dtype=np.float64)
    finite = np.abs(values[np.isfinite(values)])
    top = legends.nice_ceiling(float(finite.max())) if finite.size else 1.0
    cmap = "RdBu" if CHANGE_VARIABLES.get(variable, False) else "RdBu_r"
    stops = legends.ramp_stops(cmap, CHANGE_STEPS)
    stops[CHANGE_STEPS // 2] = NO_CHANGE
    title, units = CHANGE_WORDS[variable]
    return {
        "kind": "ramp",
        "title": dict(title),
        "units": dict(units),
        "min": -top,
        "max": top,
        "palette": cmap,
        "stops": stops,
        "diverging": True,
        "better": "higher" if CHANGE_VARIABLES.get(variable, False) else "lower",
    }
