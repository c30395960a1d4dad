"""Fixtures of the viewer tests: small runs of the sample district and their viewer folders.

The runs write their viewer with the ``viewer`` stage; ``viewer_arguments`` reads a finished
run's manifest and returns the fields of
:class:`pipeline.viewer.assets.ViewerInputs` as that stage gives them (the priority list, the
report, the seasons' weather, the people-flow sources), for a run folder given without its
viewer (``MACHI_VIEWER_RUN``). The glTF validator fixture is the suite's (``tests/conftest.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

COARSE = {
    "grid.resolution_m": 4.0,
    "grid.halo_m": 120.0,
    "stages.shadow.step_minutes": 30.0,
    "stages.shadow_diagram.enabled": False,
}


def _weather_kinds(season: str, day) -> dict:
    """How a season's weather is made (``weather_kind``, ``radiation_kind``), as the viewer stage gives it."""
    from pipeline.geo.scenarios import SeasonWeather

    default = SeasonWeather.default_for(season)
    given = day if isinstance(day, dict) else {}
    return {
        "weather_kind": given.get("weather") or default.kind,
        "radiation_kind": given.get("radiation") or default.radiation,
    }


def viewer_arguments(out: Path) -> dict:
    """The fields of ``write_viewer``'s :class:`~pipeline.viewer.assets.ViewerInputs` from ``out/manifest.json``."""
    manifest = json.loads((out / "manifest.json").read_text())
    definition = manifest["definition"]
    done = [t for t in manifest["tasks"].values() if t["status"] == "done"]

    def of(stage):
        return sorted((t for t in done if t["stage"] == stage), key=lambda t: str(t.get("tile")))

    shadow = definition.get("scenarios") or definition["stages"]["shadow"]  # a run of before 2026-12
    year = shadow["year"]
    scenarios = [
        {
            "name": f"{season}_{slot}",
            "season": season,
            "slot": slot,
            # a season is a date, or a mapping with its date and weather
            "date": f"{year}-{day['date'] if isinstance(day, dict) else day}",
            "start": start,
            "end": end,
            **_weather_kinds(season, day),
        }
        for season, day in shadow["seasons"].items()
        for slot, (start, end) in shadow["slots"].items()
    ]
    summary = of("walkability_summary")[0]["outputs"]
    scoring = (
        of("walkability_summary")[0].get("details") or {}
    )  # the weights in effect, as the stage gives them
    shade = {
        s["name"]: [
            t["outputs"]["shade_hours"][s["name"]]
            for t in of("shadow")
            if s["name"] in t["outputs"].get("shade_hours", {})
        ]
        for s in scenarios
    }
    sun = {}
    for t in of("shadow"):
        for season, path in t["outputs"].get("sun_hours", {}).items():
            sun.setdefault(season, []).append(path)
    tilesets = {}
    for t in of("export_tileset"):
        tilesets[t["tile"]] = t["outputs"]["tileset"]
    for t in of("lidar_tileset"):
        tilesets["lidar"] = t["outputs"]["tileset"]
    flow = of("peopleflow")
    walk = definition["stages"]["walkability"]
    forcing = of("thermal_forcing")
    if forcing:
        from pipeline.thermal.forcing import season_weather_table

        season_weather = season_weather_table(forcing[0]["outputs"]["weather_csv"]).to_dict("records")
    else:
        season_weather = None
    if flow and flow[0]["outputs"].get("coverage"):
        from pipeline.stages.viewer import _flow_sources

        flow_sources = _flow_sources(flow[0]["outputs"]["coverage"])
    else:
        flow_sources = ()
    return dict(
        name=definition["name"],
        crs=manifest["crs"],
        timezone=definition["timezone"],
        scenarios=scenarios,
        streets=summary["segments"],
        shade=shade,
        sun_hours=sun,
        terrain=[t["outputs"]["terrain"] for t in of("surface")],
        flow=flow[0]["outputs"]["flow_by_mesh"] if flow else None,
        districts=definition["inputs"].get("districts") or walk.get("districts"),
        district_name=walk["district_name"],
        district_summary=(summary.get("summary_by_district") or {}).get("parquet"),
        mesh_summary=(summary.get("summary_by_mesh") or {}).get("parquet"),
        tilesets=tilesets,
        weights=scoring.get("weights", walk["weights"]),
        thermal_rule=scoring.get("thermal_rule", walk.get("thermal_rule")),
        day_type=scoring.get("day_type", walk.get("day_type", "weekday")),
        season_weather=season_weather,
        priority=(summary.get("priority") or {}).get("parquet"),
        report=summary.get("report"),
        flow_sources=flow_sources,
        building_tables=[t["outputs"]["table"] for t in of("ingest") if "_bldg" in str(t.get("tile"))],
        use_districts=[t["outputs"]["table"] for t in of("ingest") if t.get("feature_type") == "urf"],
    )


def _run(project_root: Path, out: Path, overrides: dict) -> Path:
    from distributed import Client, LocalCluster

    from pipeline.core.runner import run
    from pipeline.stages import load_run_definition

    definition = load_run_definition(
        project_root / "dags" / "sample.yaml", {"output": str(out), **COARSE, **overrides}
    )
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        result = run(definition, client=client, progress=False)
    assert result.failed == [], result.failed
    return out


@pytest.fixture(scope="session")
def sample_viewer_run(project_root, tmp_path_factory) -> tuple[Path, Path]:
    """A coarse run of the whole sample (people flow, LiDAR, 3D Tiles), with its viewer:
    (folder to serve, run folder).

    ``MACHI_VIEWER_RUN`` names an existing finished run folder to use instead (its
    viewer is written into it).
    """
    import os

    from pipeline.viewer.assets import ViewerInputs, write_viewer

    given = os.environ.get("MACHI_VIEWER_RUN")
    out = Path(given) if given else _run(project_root, tmp_path_factory.mktemp("sample") / "out", {})
    if not (out / "viewer" / "viewer.json").is_file():  # a run from before the viewer stage
        write_viewer(out / "viewer", ViewerInputs(**viewer_arguments(out)))
    return out, out


@pytest.fixture(scope="session")
def bare_viewer_run(project_root, tmp_path_factory) -> Path:
    """A run of one mesh of the sample without people flow, LiDAR or urban planning (urf)."""
    out = _run(
        project_root,
        tmp_path_factory.mktemp("bare") / "out",
        {
            "inputs.peopleflow": [],
            "inputs.lidar": [],
            "area.meshes": [53396489],
            "inputs.types": ["bldg", "veg", "dem", "tran"],
            "stages.export_tiles.layers": ["bldg"],
        },
    )
    assert (out / "viewer" / "viewer.json").is_file()  # written by the run's viewer stage
    return out


@pytest.fixture(scope="session")
def measures_viewer_site(sample_viewer_run, tmp_path_factory) -> tuple[Path, dict]:
    """The sample run's viewer as a run on a baseline would write it, with generated
    measures and effects (no measure run: that takes the sample's full time again), in a
    folder of its own beside a link to the run's ``3dtiles`` (the run is not written):
    (folder to serve, what was generated: ``scenario``, a ``cooled`` segment 2 °C cooler,
    an ``unchanged`` one, the ``trees``' count and the ``removed`` gml_id)."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    from pipeline.measures.records import MeasureSet, RemovedBuilding, Tree
    from pipeline.viewer.assets import ViewerInputs, ViewerOptions, write_viewer

    _, run = sample_viewer_run
    site = tmp_path_factory.mktemp("measures_site")
    (site / "3dtiles").symlink_to((run / "3dtiles").resolve(), target_is_directory=True)
    args = viewer_arguments(run)
    args["tilesets"] = {
        k: str(site / Path(v).absolute().relative_to(run.absolute())) for k, v in args["tilesets"].items()
    }
    scenario = next(s["name"] for s in args["scenarios"] if s["slot"] == "midday")
    rows = []
    for name, path in args["streets"].items():
        segments = gpd.read_parquet(path).sort_values("segment_id")
        change = np.where(np.arange(len(segments)) % 7 == 0, -2.0, 0.0)  # every 7th segment 2 °C cooler
        after = segments["utci_mean_c"].to_numpy(float)
        rows.append(
            pd.DataFrame(
                {
                    "segment_id": segments["segment_id"].astype(str),
                    "scenario": name,
                    "utci_mean_c_before": after - change,
                    "utci_mean_c_after": after,
                    "utci_mean_c_change": change,
                }
            )
        )
    effects = pd.concat(rows, ignore_index=True)
    effects.to_parquet(site / "effects.parquet")
    longest = (
        gpd.read_parquet(args["streets"][scenario]).sort_values("length_m", ascending=False).geometry.iloc[0]
    )
    points = longest.interpolate(np.arange(0.0, longest.length, 10.0))
    removed = str(pd.read_parquet(args["building_tables"][0], columns=["gml_id"])["gml_id"].iloc[0])
    measures = MeasureSet(
        crs=args["crs"],
        trees=[Tree(f"t{i}", p.x, p.y, 8.0, 5.0, 3.2, False) for i, p in enumerate(points)],
        removed=[RemovedBuilding("r0", removed)],
    )
    write_viewer(
        site / "viewer",
        ViewerInputs(**args, measures=measures, effects_segments=site / "effects.parquet"),
        ViewerOptions(),
    )
    part = effects[effects["scenario"] == scenario]
    return site, {
        "scenario": scenario,
        "cooled": str(part[part["utci_mean_c_change"] < 0]["segment_id"].iloc[0]),
        "unchanged": str(part[part["utci_mean_c_change"] == 0]["segment_id"].iloc[0]),
        "trees": len(points),
        "removed": removed,
    }
