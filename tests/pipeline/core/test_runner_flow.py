"""Stages overlap per tile: a tile goes on as soon as the inputs of its reach are in.

A toy registry on a real LocalCluster (in-process workers, so this module's functions
need not be importable by them): ``files``, one task per input file (like ingest); ``up``
per tile (reach ``tile``, reads the files of its tile); ``down`` per tile (reach
``tile``, reads ``up`` of its tile); ``halo`` per tile (reach ``neighbours``, reads
``up`` of the tile and its neighbours). The city is a row of four tiles, 00 01 02 03
from west to east, one file each: 00 and 02 are the neighbours of 01, 03 is not.

The file of tile 01 is slow: its task waits until the tasks that need nothing of tile
01 (``down`` of 00, 02, 03 and ``halo`` of 03) have written their stamps, and gives up
after :data:`WAIT_S`. Every task writes a stamp (start, end, the tiles of the upstream
records it was given). A runner that plans stage after stage cannot pass: those tasks
would wait for every file.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import Field

import pipeline.stages
import pipeline.stages.ingest
from pipeline.core.runner import run
from pipeline.core.settings import StageSettings
from pipeline.core.stage import Stage
from pipeline.core.task import Outputs, PlanContext, Record, Result, Task, done, keys, tile_neighbourhood

pytestmark = pytest.mark.slow

ROW = ["53396400", "53396401", "53396402", "53396403"]
SLOW = ROW[1]
WAIT_S = 60.0


class FilesSettings(StageSettings):
    """Toy per-file stage."""

    fail: list[str] = Field(default_factory=list, description="Tiles whose file task fails.")


@dataclass(frozen=True)
class StampOutputs(Outputs):
    stamp: str


def stamp_task(
    out_dir: str,
    name: str,
    *,
    mesh: str | None = None,
    wait_for: list[str] = (),
    fail: bool = False,
    upstream: list[Record] = (),
) -> Result:
    """Write ``<out_dir>/<name>.json``: start, end and the upstream tiles; count the call."""
    start = time.time()
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / "calls.log", "a", encoding="utf-8") as log:
        log.write(f"{folder.name} {name}\n")
    waited = _wait_for([folder.parent / p for p in wait_for])
    if fail:
        raise ValueError(f"{name}: broken on purpose")
    stamp = {
        "start": start,
        "end": time.time(),
        "waited": waited,
        "upstream": sorted(r.tile for r in upstream),
    }
    path = folder / f"{name}.json"
    tmp = folder / f".{name}.tmp"
    tmp.write_text(json.dumps(stamp), encoding="utf-8")
    os.replace(tmp, path)
    return Result(outputs=StampOutputs(stamp=str(path)), mesh_code=mesh)


def _wait_for(paths: list[Path]) -> bool:
    deadline = time.monotonic() + WAIT_S
    while not all(p.exists() for p in paths):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _independent(failing: list[str]) -> list[str]:
    """The stamps the slow file waits for: of the tasks that need nothing of tile 01 (and
    whose file does not fail)."""
    return [f"down/{t}.json" for t in ROW if t != SLOW and t not in failing] + [f"halo/{ROW[3]}.json"]


def plan_files(ctx: PlanContext, records: Mapping[str, Record]) -> list[Task]:
    settings: FilesSettings = ctx.settings("files")
    tasks = []
    for source in ctx.sources:
        name = Path(source.file_name).stem
        wait_for = _independent(settings.fail) if source.mesh_code == SLOW else []
        tasks.append(
            Task(
                stage="files",
                tile=name,
                func=stamp_task,
                args=(str(ctx.out("files")), name),
                kwargs={
                    "mesh": source.mesh_code,
                    "wait_for": wait_for,
                    "fail": source.mesh_code in settings.fail,
                },
                params={"fail": settings.fail},
                input_hashes=[ctx.hash_source(source)],
                meshes=(source.mesh_code,),
            )
        )
    return tasks


def _per_tile(stage: str, upstream_of):
    """A per-tile planner: one task per tile of ``ctx.tiles`` that has upstream records."""

    def plan(ctx: PlanContext, records: Mapping[str, Record]) -> list[Task]:
        tasks = []
        for tile in ctx.tiles:
            upstream = upstream_of(records, tile)
            if upstream:
                tasks.append(
                    Task(
                        stage=stage,
                        tile=tile,
                        func=stamp_task,
                        args=(str(ctx.out(stage)), tile),
                        upstream={"upstream": keys(upstream)},
                    )
                )  # covers its tile by default
        return tasks

    return plan


# Reads the run's CityGML files (ctx.sources), so it declares ingest's inputs.
FILES = Stage(
    name="files",
    settings=FilesSettings,
    plan=plan_files,
    needs=(),
    reach="run",
    outputs=StampOutputs,
    inputs=pipeline.stages.ingest.INPUTS,
)
UP = Stage(
    name="up",
    settings=StageSettings,
    needs=("files",),
    reach="tile",
    outputs=StampOutputs,
    plan=_per_tile("up", lambda records, tile: done(records, "files", mesh_code=tile)),
)
DOWN = Stage(
    name="down",
    settings=StageSettings,
    needs=("up",),
    reach="tile",
    outputs=StampOutputs,
    plan=_per_tile("down", lambda records, tile: done(records, "up", tile=tile)),
)
HALO = Stage(
    name="halo",
    settings=StageSettings,
    needs=("up",),
    reach="neighbours",
    outputs=StampOutputs,
    plan=_per_tile(
        "halo", lambda records, tile: [r for r in done(records, "up") if r.tile in tile_neighbourhood(tile)]
    ),
)


class _NoDask:
    """A client that must not be used: a resume needs no Dask."""

    def __getattr__(self, name):
        raise AssertionError(f"the runner used Dask ({name}) although every task was finished")


@pytest.fixture()
def toy_registry(monkeypatch):
    monkeypatch.setattr(pipeline.stages, "STAGES", (FILES, UP, DOWN, HALO))


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    # Two threads per worker: the slow file blocks one, never the tasks queued beside it.
    with (
        LocalCluster(n_workers=2, threads_per_worker=2, processes=False, dashboard_address=":0") as cluster,
        Client(cluster) as client,
    ):
        yield client


def _definition(tmp_path: Path, **stages):
    city = tmp_path / "city" / "udx" / "bldg"
    city.mkdir(parents=True, exist_ok=True)
    for tile in ROW:
        (city / f"{tile}_bldg_6697_op.gml").write_text(f"<!-- {tile} -->\n", encoding="utf-8")
    path = tmp_path / "run.yaml"
    path.write_text(
        json.dumps(
            {
                "inputs": {"citygml": str(tmp_path / "city"), "types": ["bldg"]},
                "crs": "EPSG:6677",
                "output": str(tmp_path / "out"),
                "stages": stages,
            }
        ),
        encoding="utf-8",
    )
    return pipeline.stages.load_run_definition(path)


def _stamps(out: Path) -> dict[str, dict]:
    return {
        f"{p.parent.name}/{p.stem}": json.loads(p.read_text(encoding="utf-8")) for p in out.glob("*/*.json")
    }


def test_tiles_flow_through_the_stages_and_a_resume_needs_no_dask(tmp_path, toy_registry, client):
    definition = _definition(tmp_path)
    first = run(definition, client=client, progress=False)
    assert first.failed == [] and first.executed == 4 * 4 and first.skipped == 0
    out = tmp_path / "out"
    stamp = _stamps(out)
    slow_file = stamp[f"files/{SLOW}_bldg_6697_op"]
    assert slow_file["waited"], "the tiles without tile 01 did not finish while its file was read"
    # Tile reach: each other tile went all the way through before tile 01's file was in.
    for tile in ROW:
        if tile != SLOW:
            assert stamp[f"down/{tile}"]["end"] < slow_file["end"], tile
    # Neighbours reach: 03 does not neighbour 01 and went on; 00 and 02 waited for up(01)
    # and were given it.
    assert stamp[f"halo/{ROW[3]}"]["end"] < slow_file["end"]
    assert stamp[f"halo/{ROW[3]}"]["upstream"] == [ROW[2], ROW[3]]
    for tile in (ROW[0], ROW[2]):
        assert stamp[f"halo/{tile}"]["start"] >= stamp[f"up/{SLOW}"]["end"], tile
        assert SLOW in stamp[f"halo/{tile}"]["upstream"], tile
    assert stamp[f"halo/{SLOW}"]["upstream"] == ROW[:3]
    assert list(first.stage_seconds) == ["files", "up", "down", "halo"]  # registry order

    calls = (out / "calls.log").read_text(encoding="utf-8")
    second = run(definition, client=_NoDask(), progress=False)
    assert second.executed == 0 and second.skipped == 16 and second.failed == []
    assert sorted(second.records) == sorted(first.records)  # the same task keys
    assert (out / "calls.log").read_text(encoding="utf-8") == calls  # no task ran again
    assert _stamps(out) == stamp


def test_a_failed_upstream_task_holds_back_only_what_reads_it(tmp_path, toy_registry, client):
    """File 03 fails: up and down of 03 are not planned (nothing to read); the halo of 02
    and 03 go on without up(03); tile 01's file is still read while they run."""
    definition = _definition(tmp_path, files={"fail": [ROW[3]]})
    summary = run(definition, client=client, progress=False)
    [failure] = summary.failed
    assert failure["stage"] == "files" and failure["tile"] == f"{ROW[3]}_bldg_6697_op"
    assert "broken on purpose" in failure["error"]
    assert sorted(r.tile for r in summary.by_stage("up")) == ROW[:3]
    assert sorted(r.tile for r in summary.by_stage("down")) == ROW[:3]
    assert sorted(r.tile for r in summary.by_stage("halo")) == ROW
    assert summary.executed == 4 + 3 + 3 + 4
    stamp = _stamps(tmp_path / "out")
    assert stamp[f"files/{SLOW}_bldg_6697_op"]["waited"]
    assert stamp[f"halo/{ROW[3]}"]["upstream"] == [ROW[2]]
    assert stamp[f"halo/{ROW[2]}"]["upstream"] == ROW[1:3]
