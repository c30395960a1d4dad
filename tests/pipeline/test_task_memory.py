"""The tasks that read a whole run stay bounded: peak memory at 64 tiles is that at 16
(``walkability_scale``, ``walkability_summary``, ``shadow_maps`` and ``viewer`` on a
generated district).

Each task runs in a fresh Python process that imports everything first, so its growth
(peak resident memory after the task minus the peak before it) is the task's own. A task
that held every segment, building footprint or full-resolution raster of the run would
grow about 4x from 16 to 64 tiles; these may grow by a bounded amount (the footprints and
street lines of the maps, up to their caps), not with the city.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import district_outputs  # noqa: E402

CHILD = r"""
import json, pickle, resource, sys
import pipeline.stages.shadow as shadow_stage
import pipeline.stages.viewer as viewer_stage
import pipeline.stages.walkability as walk_stage
import pipeline.walkability.outputs, pipeline.geo.maps, geopandas, rasterio  # noqa: F401
import pipeline.viewer.assets, pipeline.tiles3d.streets, pipeline.viewer.imagery  # noqa: F401
# the 3D views of the report have their own cap (VIEW_MAX_BUILDINGS); measure the rest
walk_stage.VIEW_MAX_BUILDINGS = 0
job = pickle.load(open(sys.argv[1], "rb"))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
module = {"shadow_maps": shadow_stage, "viewer": viewer_stage}.get(job["stage"], walk_stage)
result = getattr(module, job["func"])(*job["args"], **job["kwargs"])
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"before_mb": before / 1024, "after_mb": after / 1024, "outputs": len(result.outputs.paths),
                  "result": {"outputs": result.outputs.to_json(), "details": result.details}}, default=str))
"""

#: Bytes per cell of the viewer's height grid while it is made: the float32 grid, its mask
#: and, where the terrain does not cover it, the nearest covered cell's two int64 indices.
HEIGHT_GRID_BYTES = 4 + 1 + 16 + 4

#: tiles on a side of the small and the large district (the small one is a corner of the large)
SMALL, LARGE = 4, 8


@pytest.fixture(scope="module")
def district(tmp_path_factory):
    """A generated 64-tile district and the records of its 4 x 4 corner."""
    from pipeline.core.task import Record
    from pipeline.stages.walkability import WalkabilityTileOutputs, walkability_scale

    out = tmp_path_factory.mktemp("district64")
    definition = district_outputs.definition(out)
    scenarios = [s for s in definition.scenarios.scenarios() if s.slot.name in ("morning", "midday")][:4]
    settings = definition.stages.walkability
    records = district_outputs.write_district(out, LARGE * LARGE, scenarios, settings)
    corner = set(
        district_outputs.tile_codes(LARGE * LARGE)[i * LARGE + j] for i in range(SMALL) for j in range(SMALL)
    )
    small = {stage: [r for r in rs if r.tile in corner] for stage, rs in records.items() if stage != "scale"}
    walk_small = [
        Record(
            stage="walkability",
            tile=t,
            outputs=WalkabilityTileOutputs(
                **{
                    kind: str(out / "walkability" / "tiles" / f"{t}_{kind}.{ext}")
                    for kind, ext in (("sketches", "json"), ("segments", "parquet"), ("scenarios", "parquet"))
                }
            ),
        )
        for t in sorted(corner)
    ]
    small_out = out / "small"
    small_out.mkdir()
    scale = walkability_scale(str(small_out), settings=settings, scenarios=scenarios, walkability=walk_small)
    small["scale"] = [Record(stage="walkability_scale", tile="all", outputs=scale.outputs)]
    return {
        "out": out,
        "scenarios": scenarios,
        "settings": settings,
        16: (small, small_out),
        64: (records, out / "large"),
    }


def _peak_growth(job: dict, folder: Path) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "job.pickle"
    path.write_bytes(pickle.dumps(job))
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["growth_mb"] = figures["after_mb"] - figures["before_mb"]
    return figures


def test_walkability_summary_memory_does_not_grow_with_the_city(district):
    growth = {}
    for tiles in (16, 64):
        records, folder = district[tiles]
        job = {
            "stage": "walkability_summary",
            "func": "walkability_summary",
            "args": (str(folder / "walkability"), district_outputs.CRS),
            "kwargs": {
                "settings": district["settings"],
                "scenarios": district["scenarios"],
                "walkability_score": records["walkability_score"],
                "scale": records["scale"],
                "ingest": records["ingest"],
                "shadow": records["shadow"],
            },
        }
        growth[tiles] = _peak_growth(job, folder)
        assert (folder / "walkability" / "report.html").exists()
        district[f"summary{tiles}"] = growth[tiles]["result"]
    print("walkability_summary peak growth (MB):", {k: round(v["growth_mb"]) for k, v in growth.items()})
    assert growth[64]["growth_mb"] <= 1.3 * growth[16]["growth_mb"], growth


def test_walkability_scale_memory_does_not_grow_with_the_city(district):
    """The scale task scores every tile to rank the run's segments in their scenarios
    (issue 21): it reads one tile's tables at a time and keeps only the score counts."""
    from pipeline.core.task import Record
    from pipeline.stages.walkability import WalkabilityTileOutputs

    codes = district_outputs.tile_codes(LARGE * LARGE)
    chosen = {16: [codes[i * LARGE + j] for i in range(SMALL) for j in range(SMALL)], 64: list(codes)}
    tiles_dir = district["out"] / "walkability" / "tiles"
    growth = {}
    for tiles, tile_codes in chosen.items():
        walk = [
            Record(
                stage="walkability",
                tile=t,
                outputs=WalkabilityTileOutputs(
                    **{
                        kind: str(tiles_dir / f"{t}_{kind}.{ext}")
                        for kind, ext in (
                            ("sketches", "json"),
                            ("segments", "parquet"),
                            ("scenarios", "parquet"),
                        )
                    }
                ),
            )
            for t in sorted(tile_codes)
        ]
        folder = district["out"] / f"scale{tiles}"
        job = {
            "stage": "walkability_scale",
            "func": "walkability_scale",
            "args": (str(folder),),
            "kwargs": {
                "settings": district["settings"],
                "scenarios": district["scenarios"],
                "walkability": walk,
            },
        }
        growth[tiles] = _peak_growth(job, folder)
        scale = json.loads((folder / "scale.json").read_text(encoding="utf-8"))
        assert sum(scale["score"][district["scenarios"][0].name].values()) == scale["segments"]
    print("walkability_scale peak growth (MB):", {k: round(v["growth_mb"]) for k, v in growth.items()})
    assert growth[64]["growth_mb"] <= 1.3 * growth[16]["growth_mb"] + 20, growth


def test_shadow_maps_memory_does_not_grow_with_the_city(district):
    growth = {}
    for tiles in (16, 64):
        records, folder = district[tiles]
        job = {
            "stage": "shadow_maps",
            "func": "shadow_maps",
            "args": (str(folder / "maps"), None, district_outputs.CRS),
            "kwargs": {"shadow": records["shadow"], "surface": []},
        }
        growth[tiles] = _peak_growth(job, folder)
        assert growth[tiles]["outputs"] == 2
    print("shadow_maps peak growth (MB):", {k: round(v["growth_mb"]) for k, v in growth.items()})
    assert growth[64]["growth_mb"] <= 1.3 * growth[16]["growth_mb"] + 20, growth


def test_viewer_memory_does_not_grow_with_the_city(district):
    """The viewer's street ribbons, shade imagery and areas of the whole run, written by a
    task whose memory is that of a tile (after the summary test wrote the summaries)."""
    from pipeline.core.task import Record
    from pipeline.stages.walkability import WalkabilitySummaryOutputs

    growth = {}
    for tiles in (16, 64):
        records, folder = district[tiles]
        summary = district.get(f"summary{tiles}")
        if summary is None:
            pytest.skip("needs the walkability summary of the district (run the whole module)")
        scenarios = [
            {
                "name": s.name,
                "season": s.season.name,
                "slot": s.slot.name,
                "date": s.season.date(2026).isoformat(),
                "start": s.slot.start,
                "end": s.slot.end,
            }
            for s in district["scenarios"]
        ]
        walk = Record(
            stage="walkability_summary",
            tile="all",
            outputs=WalkabilitySummaryOutputs.from_json(summary["outputs"]),
            details=summary["details"],
        )
        job = {
            "stage": "viewer",
            "func": "viewer_task",
            "args": (str(folder / "viewer"),),
            "kwargs": {
                "name": "district",
                "crs": district_outputs.CRS,
                "scenarios": scenarios,
                "timezone": "Asia/Tokyo",
                "options": {"copy_app_files": False},
                "walkability": [walk],
                "shadow": records["shadow"],
                "ingest": records["ingest"],
            },
        }
        growth[tiles] = _peak_growth(job, folder)
        terrain = json.loads((folder / "viewer" / "viewer.json").read_text())["layers"]["terrain"]
        growth[tiles]["height_grid_cells"] = terrain["width"] * terrain["height"]
    print(
        "viewer peak growth (MB):",
        {k: round(v["growth_mb"]) for k, v in growth.items()},
        "height grid cells:",
        {k: v["height_grid_cells"] for k, v in growth.items()},
    )
    # The globe's height grid covers the run's extent up to 2,048 x 2,048 cells (a cap,
    # like the maps'), at most HEIGHT_GRID_BYTES a cell while it is made
    grid_mb = (growth[64]["height_grid_cells"] - growth[16]["height_grid_cells"]) * HEIGHT_GRID_BYTES / 1e6
    assert growth[64]["growth_mb"] <= 1.3 * growth[16]["growth_mb"] + 20 + grid_mb, growth
