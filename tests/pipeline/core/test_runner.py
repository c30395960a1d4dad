"""The Dask runner on the sample DAG: a LocalCluster of two workers, resume, bad files."""

from __future__ import annotations

import json
import shutil

import geopandas as gpd
import pytest

from pipeline.core.runner import run
from pipeline.stages import STAGES, load_run_definition

pytestmark = pytest.mark.slow

#: Every stage section but ingest switched off (derived from the registry).
INGEST_ONLY = {
    f"stages.{section}.enabled": False
    for section in dict.fromkeys(s.section for s in STAGES)
    if section != "ingest"
}


def test_sample_dag_runs_then_resumes(project_root, tmp_path, cluster):
    definition = load_run_definition(
        project_root / "dags" / "sample.yaml", {"output": str(tmp_path / "out"), **INGEST_ONLY}
    )
    first = run(definition, client=cluster, progress=False)
    assert first.failed == [] and first.skipped == 0
    assert first.executed == 16  # 4 bldg + 4 veg + 2 dem + 4 tran + 2 urf files
    buildings = gpd.read_parquet(sorted((tmp_path / "out/ingest/bldg").glob("*_bldg.parquet")))
    assert len(buildings) == 502
    manifest = json.loads((tmp_path / "out/manifest.json").read_text())
    assert manifest["crs"] == "EPSG:6677"
    assert len(manifest["inputs"]) == 16
    assert all(len(v["sha256"]) == 64 for v in manifest["inputs"].values())
    assert "dask" in manifest["versions"] and manifest["outputs"]

    second = run(definition, client=cluster, progress=False)
    assert second.executed == 0 and second.skipped == 16

    # A changed parameter invalidates the tasks it feeds.
    moved = load_run_definition(
        project_root / "dags" / "sample.yaml",
        {"output": str(tmp_path / "out"), "crs": "EPSG:6678", **INGEST_ONLY},
    )
    third = run(moved, client=cluster, progress=False)
    assert third.executed == 16


def test_one_bad_file_is_reported_and_the_others_go_on(project_root, tmp_path, cluster):
    city = tmp_path / "city"
    shutil.copytree(project_root / "sample_data/omiya", city)
    bad = city / "udx/bldg/53396499_bldg_6697_op.gml"
    bad.write_text(bad.read_text(encoding="utf-8")[:50000], encoding="utf-8")
    definition = load_run_definition(
        project_root / "dags" / "sample.yaml",
        {"output": str(tmp_path / "out"), "inputs.citygml": [str(city)], **INGEST_ONLY},
    )
    summary = run(definition, client=cluster, progress=False)
    [failure] = summary.failed
    assert failure["tile"] == "53396499_bldg_6697_op" and "malformed XML" in failure["error"]
    assert summary.executed == 16
    manifest = json.loads((tmp_path / "out/manifest.json").read_text())
    assert manifest["failures"][0]["tile"] == "53396499_bldg_6697_op"
    assert len(list((tmp_path / "out/ingest/bldg").glob("*_bldg.parquet"))) == 3
