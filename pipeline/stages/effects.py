"""``effects``: before and after of a run on a baseline (:mod:`pipeline.measures.effects`).

Runs when the run names ``inputs.baseline``, once every tile is scored. "Before" is the
baseline's file of the same output (the path under the baseline folder in place of this
run's output folder; a tile the measures do not reach is the baseline's file itself).
Writes under ``<output>/effects/``: ``segments.parquet`` (GeoParquet) and ``segments.csv``
(per segment and scenario), ``districts.parquet``/``.csv`` (person-hours in strong heat
stress or worse per district and scenario, when ``inputs.districts`` is given), and per
recomputed tile and scenario the change rasters (COG, after - before)
``rasters/<tile>_<scenario>_utci_mean_change.tif`` (°C) and
``rasters/<tile>_<scenario>_shade_hours_change.tif`` (hours); a tile without a raster did
not change.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.core.settings import StageSettings
from pipeline.core.stage import Stage
from pipeline.core.task import Outputs, PlanContext, Record, Result, Task, done, keys

log = logging.getLogger(__name__)


class EffectsSettings(StageSettings):
    """Effects of the measures: before (the baseline) and after, per segment, district and cell."""


@dataclass(frozen=True)
class EffectsOutputs(Outputs):
    """``segments`` and ``districts`` (``{"parquet": ..., "csv": ...}``), and the change
    COGs by ``<tile>/<scenario>``: ``utci_mean_change`` (°C), ``shade_hours_change`` (h)."""

    segments: dict[str, str] = field(default_factory=dict)
    districts: dict[str, str] = field(default_factory=dict)
    utci_mean_change: dict[str, str] = field(default_factory=dict)
    shade_hours_change: dict[str, str] = field(default_factory=dict)


def before_path(path: str, output: str, baseline: str) -> str:
    """The baseline's file standing for ``path`` of this run (itself when it is one)."""
    try:
        return str(Path(baseline) / Path(path).relative_to(output))
    except ValueError:
        return path


def effects_run(
    out_dir: str,
    output: str,
    baseline: str,
    crs: str,
    *,
    districts: str | None,
    district_name: str,
    walkability_score: list[Record] = (),
    thermal: list[Record] = (),
    shadow: list[Record] = (),
) -> Result:
    """Write the effects of the measures (module docstring)."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    from pipeline.geo.raster import read_raster, write_cog
    from pipeline.measures.effects import (
        change_raster,
        changed_segments,
        district_person_hours,
        segment_effects,
    )
    from pipeline.walkability.inputs import midpoint_districts
    from pipeline.walkability.outputs import read_districts, write_geoparquet, write_table

    folder = Path(out_dir)
    (folder / "rasters").mkdir(parents=True, exist_ok=True)
    paths = sorted(r.outputs.scored for r in walkability_score if r.outputs.scored)
    after = pd.concat([gpd.read_parquet(p) for p in paths], ignore_index=True)
    before = pd.concat([gpd.read_parquet(before_path(p, output, baseline)) for p in paths], ignore_index=True)
    effects = segment_effects(before, gpd.GeoDataFrame(after, geometry="geometry", crs=crs))
    written = {"segments": {"parquet": write_geoparquet(effects, folder / "segments.parquet")}}
    csv = folder / "segments.csv"
    pd.DataFrame(effects.drop(columns="geometry")).to_csv(csv, index=False, encoding="utf-8-sig")
    written["segments"]["csv"] = str(csv)
    if districts:
        areas = read_districts(Path(districts), district_name, crs)
        table = district_person_hours(effects, midpoint_districts(effects, areas))
        written["districts"] = write_table(table, folder / "districts")
    rasters: dict[str, dict[str, str]] = {"utci_mean_change": {}, "shade_hours_change": {}}
    for kind, records, name in (
        ("utci_mean_change", thermal, "utci_mean"),
        ("shade_hours_change", shadow, "shade_hours"),
    ):
        for record in records:
            for scenario, path in sorted(getattr(record.outputs, name).items()):
                old = before_path(path, output, baseline)
                if old == path:
                    continue  # a tile the measures do not reach: no change
                new, grid, _ = read_raster(path)
                was, _, _ = read_raster(old)
                rasters[kind][f"{record.tile}/{scenario}"] = write_cog(
                    folder / "rasters" / f"{record.tile}_{scenario}_{kind}.tif",
                    change_raster(was, new),
                    grid,
                    nodata=np.nan,
                    tags={
                        "tile": record.tile,
                        "scenario": scenario,
                        "units": "degC" if kind.startswith("utci") else "hours",
                        "meaning": "after - before",
                    },
                )
    changed = int(changed_segments(effects).sum())
    log.info(
        "effects: %d segment-scenario rows, %d changed; %d change rasters",
        len(effects),
        changed,
        sum(len(v) for v in rasters.values()),
    )
    return Result(
        outputs=EffectsOutputs(**written, **rasters),
        counts={"segment_rows": len(effects), "changed_rows": changed},
    )


def plan(ctx: PlanContext, records: Mapping[str, Record]) -> list[Task]:
    scored = done(records, "walkability_score")
    baseline = ctx.definition.inputs.baseline
    if not scored or baseline is None:
        return []
    walk = ctx.settings("walkability")
    districts = ctx.definition.inputs.districts
    return [
        Task(
            stage="effects",
            tile="all",
            func=effects_run,
            args=(str(ctx.out("effects")), str(ctx.output), str(baseline), ctx.crs),
            kwargs={"districts": str(districts) if districts else None, "district_name": walk.district_name},
            params={"baseline": str(baseline), "crs": ctx.crs, "district_name": walk.district_name},
            input_hashes=[ctx.hash_file(districts)] if districts else [],
            upstream={
                "walkability_score": keys(scored),
                "thermal": keys(done(records, "thermal")),
                "shadow": keys(done(records, "shadow")),
            },
        )
    ]


def _on_baseline(definition) -> bool:
    return definition.inputs.baseline is not None


STAGE = Stage(
    name="effects",
    settings=EffectsSettings,
    plan=plan,
    wanted=_on_baseline,
    code=("pipeline.measures", "pipeline.walkability", "pipeline.geo"),
    needs=("shadow", "thermal", "walkability_score"),
    outputs=EffectsOutputs,
    reads={"walkability_score": ("scored",), "thermal": ("utci_mean",), "shadow": ("shade_hours",)},
)
