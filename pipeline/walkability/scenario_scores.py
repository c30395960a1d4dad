"""Scores, standings and classes of street segments per scenario, one tile at a time.

Components are scaled by the run's references (:class:`pipeline.walkability.scale.RunScale`,
a reduction of per-tile sketches), so a score means the same in every tile and a tile is
scored without the others; the composite 0-100 score and the class of each segment follow
(:mod:`pipeline.walkability.scores`).

**Heat counts once.** The access component is the *plain* access (destinations within the
walking distances); thermal comfort enters the score through ``c_thermal`` alone, by the
gate (``score = 100 * c_thermal * weighted mean of the other components``). The
comfort-weighted access (``access_comfort_*``, distances lengthened by discomfort) stays a
column, for the CoolWalkability and the report's comfort access ratio.

**Two readings.** ``score`` is absolute: the same street scores lower on a heat-day noon
than on an equinox noon, because its ``c_thermal`` is lower (with ``utci_mean_c``,
``c_thermal`` and the ``hours_utci_*`` columns, comparable across scenarios).
``score_percentile`` (0-100) is the segment's standing among the run's segments in the
same scenario (:meth:`pipeline.walkability.scale.RunScale.score_percentile`), so the best
streets of an August noon exist even when every street is hot.

**Classes** (keys as before, meanings that hold in every season): *walkable* = standing at
or above ``walkable_percentile`` in the scenario; *uncomfortable* (with the thermal stage)
= at least ``uncomfortable_hours`` of the slot in strong heat stress or worse (UTCI above
32 °C) or in moderate cold stress or worse (at or below 0 °C) on the better side; without
it, the hot-season shade rule. *used*/*crowded* from the run's flows
(:func:`pipeline.walkability.scores.classify`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from pipeline.thermal.utci import STRESS_KEYS, in_strong_stress, stress_class_index
from pipeline.walkability.scale import RunScale, people_per_100m
from pipeline.walkability.scores import classify, components, composite
from pipeline.walkability.sketch import ScoreSketch

#: Thermal comfort replaces shade share in the score when the thermal stage ran.
THERMAL_REPLACES = "shade"
#: How ``c_thermal`` enters the score (``stages.walkability.thermal_rule``).
THERMAL_RULES = ("gate", "weight")


def effective_weights(weights: dict[str, float], thermal: bool, rule: str = "gate") -> dict[str, float]:
    """The weights of the score's weighted mean in a scenario.

    Without UTCI, ``thermal`` has no data and its weight is dropped. With UTCI, ``thermal``
    replaces ``shade``: under ``rule="weight"`` it takes the weight the settings give
    ``shade`` (unless they weigh ``thermal`` themselves); under ``rule="gate"`` neither is in
    the weighted mean, because ``c_thermal`` multiplies it (:func:`thermal_score`).
    """
    if rule not in THERMAL_RULES:
        raise ValueError(f"thermal rule must be one of {THERMAL_RULES}, got {rule!r}")
    if not thermal:
        return {k: v for k, v in weights.items() if k != "thermal"}
    if rule == "gate":
        return {k: v for k, v in weights.items() if k not in ("thermal", THERMAL_REPLACES)}
    if "thermal" in weights:
        return dict(weights)
    return {("thermal" if k == THERMAL_REPLACES else k): v for k, v in weights.items()}


def thermal_score(
    comps: pd.DataFrame, weights: dict[str, float], thermal: bool, rule: str = "gate"
) -> pd.Series:
    """The 0-100 score of every segment from its components (columns ``c_<name>``, 0..1).

    ``rule="gate"`` (with UTCI known): ``100 * c_thermal * weighted mean of the other
    components``. A street in extreme heat or cold stress (``c_thermal`` 0) scores 0 whatever
    its shops and crossings: comfort is a condition of walking there, not one more amenity
    that a good access could make up for. A segment whose ``c_thermal`` is unknown (no UTCI
    sample on it) keeps the weighted mean. ``rule="weight"``, or no UTCI: the weighted mean
    of :func:`effective_weights`.
    """
    score = composite(comps, effective_weights(weights, thermal, rule))
    if thermal and rule == "gate":
        score = score * comps["c_thermal"].fillna(1.0)
    return score.clip(0, 100)


def _scored_table(
    segments: gpd.GeoDataFrame, rows: pd.DataFrame, settings, scale: RunScale
) -> tuple[pd.DataFrame, bool]:
    """The segments joined with one scenario's rows, their components and ``score``;
    and whether UTCI is known in the scenario."""
    table = segments.join(rows.set_index("segment_id").drop(columns="scenario"), how="left")
    mix = f"mix_hill_q0_{max(settings.distances)}"
    thermal = "c_thermal" in table and table["c_thermal"].notna().any()
    comps = components(
        table,
        access_columns=[],
        mix_column=mix if mix in table else None,
        n_classes=scale.n_classes,
        shade_column="shade_share",
        thermal_column="c_thermal" if thermal else None,
    )
    scaled = []
    for cls in settings.access_classes:
        for d in settings.distances:
            plain = f"access_{cls}_{d}"
            if plain not in table:
                continue
            ref = scale.access_reference.get(plain, np.nan)
            # plain access: heat enters the score through c_thermal only, once
            scaled.append(np.clip(table[plain] / ref, 0, 1) if ref > 0 else table[plain] * 0.0)
    comps["c_access"] = pd.concat(scaled, axis=1).mean(axis=1) if scaled else np.nan
    table = table.drop(columns=[c for c in comps if c in table]).join(comps)
    table["score"] = thermal_score(comps, settings.weights, thermal, settings.thermal_rule)
    return table, thermal


def uncomfortable_mask(table: pd.DataFrame, hours: float) -> np.ndarray:
    """True where the better side spends at least ``hours`` of the slot in strong heat
    stress or worse (``hours_utci_above_32``) or moderate cold stress or worse
    (``hours_utci_below_0``); from the mean UTCI (:func:`in_strong_stress`) where the
    hours are not known."""
    if "hours_utci_above_32" not in table:
        return in_strong_stress(table["utci_mean_c"].to_numpy(float))
    heat = table["hours_utci_above_32"].to_numpy(float)
    cold = table["hours_utci_below_0"].to_numpy(float)
    with np.errstate(invalid="ignore"):
        return (heat >= hours) | (cold >= hours)


def score_sketches(
    segments: gpd.GeoDataFrame, rows: pd.DataFrame, scenarios: Sequence, settings, scale: RunScale
) -> dict[str, dict[str, int]]:
    """The sketch of one tile's segment scores per scenario (JSON-able), which merged over
    the run's tiles rank every segment in its scenario (:attr:`RunScale.score`)."""
    out = {}
    for scenario in scenarios:
        table, _ = _scored_table(segments, rows[rows["scenario"] == scenario.name], settings, scale)
        out[scenario.name] = ScoreSketch.of(table["score"].to_numpy(float)).to_json()
    return out


def score_scenario(
    segments: gpd.GeoDataFrame, rows: pd.DataFrame, scenario, settings, scale: RunScale
) -> gpd.GeoDataFrame:
    """Components, composite score, standing and class of segments for one scenario.

    ``segments`` are static metrics (index ``segment_id``), one tile's or more; ``rows``
    the scenario's rows of the per-scenario tables; ``settings`` the walkability settings
    (``distances``, ``access_classes``, ``weights``, ``thermal_rule``, ``walkable_percentile``,
    ``uncomfortable_hours``, ``hot_seasons``, ``unshaded_below``); ``scale`` the run's
    references, so a segment scores and ranks the same whichever tile it is scored with.
    """
    table, thermal = _scored_table(segments, rows, settings, scale)
    table["score_percentile"] = scale.score_percentile(scenario.name, table["score"].to_numpy(float))
    table["people_per_100m"] = people_per_100m(table["people"], table["length_m"])
    hot = scenario.season.name in settings.hot_seasons
    uncomfortable = uncomfortable_mask(table, settings.uncomfortable_hours) if thermal else None
    if thermal:
        # the stress class of the segment's mean UTCI, for maps, tiles and the viewer
        index = stress_class_index(table["utci_mean_c"].to_numpy(float))
        table["utci_class"] = pd.array([STRESS_KEYS[i] if i >= 0 else None for i in index], dtype="string")
    table["class"] = classify(
        table["score_percentile"],
        table["people_per_100m"],
        table["shade_share"],
        hot_season=hot,
        walkable_from=settings.walkable_percentile,
        unshaded_below=settings.unshaded_below,
        uncomfortable=uncomfortable,
        used_at=scale.used_at.get(scenario.name, np.inf),
        crowded_at=scale.crowded_at.get(scenario.name, np.inf),
    )
    # no flow for this scenario (e.g. MLIT has no morning values): use is unknown, not low
    table.loc[table["people"].isna(), "class"] = "flow_unknown"
    table["scenario"] = scenario.name
    table["season"] = scenario.season.name
    table["slot"] = scenario.slot.name
    return gpd.GeoDataFrame(table, geometry="geometry", crs=segments.crs)


def read_tile_tables(
    segment_table: str | Path, scenario_table: str | Path
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """One tile's static segments (index ``segment_id``) and per-scenario rows, sorted by
    ``segment_id`` (tables of :func:`pipeline.walkability.metrics.tile_metrics`)."""
    segments = (
        gpd.read_parquet(segment_table).sort_values("segment_id", kind="stable").set_index("segment_id")
    )
    rows = pd.read_parquet(scenario_table).sort_values(["scenario", "segment_id"], kind="stable")
    return segments, rows


def score_tile(
    segments: gpd.GeoDataFrame, rows: pd.DataFrame, scenarios: Sequence, settings, scale: RunScale
) -> dict[str, gpd.GeoDataFrame]:
    """Every scenario's scored segments of one tile (:func:`score_scenario`), by scenario name."""
    return {
        scenario.name: score_scenario(
            segments, rows[rows["scenario"] == scenario.name], scenario, settings, scale
        )
        for scenario in scenarios
    }
