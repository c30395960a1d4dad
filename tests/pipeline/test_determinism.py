"""Byte-identical outputs whatever the number of workers (issue #13).

Every stage of the sample (ingest to viewer) on two tiles, two scenarios and a coarse
grid, once on one worker and once on two: every output file (tables, COGs, maps, report,
3D Tiles, viewer) has the same SHA-256. Only the manifest and its journal differ, by
design (they hold the runs' timings).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from pipeline.core.manifest import JOURNAL_NAME, MANIFEST_NAME
from pipeline.core.runner import run
from pipeline.stages import load_run_definition

pytestmark = pytest.mark.slow

SMALL = {
    "grid.resolution_m": 4.0,
    "grid.halo_m": 120.0,
    "stages.shadow.step_minutes": 30.0,
    "stages.thermal.step_minutes": 30.0,  # as the shadow stage's: thermal computed in the shadow pass
    "stages.shadow_diagram.resolution_m": 4.0,
    "stages.shadow_diagram.step_minutes": 20.0,
    "scenarios.seasons": {"heat_day": "08-05", "winter_solstice": "12-21"},
    "scenarios.slots": {"midday": ["11:00", "14:00"]},
    "area.meshes": [53396489, 53396499],
}


def _hashes(out: Path) -> dict[str, str]:
    skip = {MANIFEST_NAME, JOURNAL_NAME}
    return {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name not in skip and p.suffix != ".log"
    }


def test_one_and_two_workers_write_the_same_bytes(project_root, tmp_path):
    from distributed import Client, LocalCluster

    hashes = {}
    for workers in (1, 2):
        out = tmp_path / f"workers_{workers}"
        definition = load_run_definition(project_root / "dags" / "sample.yaml", {**SMALL, "output": str(out)})
        with (
            LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
        ):
            summary = run(definition, client=client, progress=False)
        assert not summary.failed, summary.failed
        hashes[workers] = _hashes(out)
    one, two = hashes[1], hashes[2]
    assert sorted(one) == sorted(two)
    kinds = {name.split("/", 1)[0] for name in one}
    # every stage wrote something that is compared
    assert {"ingest", "surface", "shadow", "thermal", "walkability", "3dtiles", "viewer", "trees"} <= kinds, (
        kinds
    )
    assert any(name.startswith("thermal/") and name.endswith("_utci_mean.tif") for name in one)
    different = sorted(name for name in one if one[name] != two[name])
    assert different == [], f"{len(different)} of {len(one)} files differ, e.g. {different[:10]}"
