"""Faults survived, with real processes and real signals, on the sample district.

A client killed with SIGKILL mid-run, a worker killed with SIGKILL mid-run, and an
output folder that cannot be written mid-run: each time the run (or the rerun) ends
with the same bytes as a clean run. To stay quick the runs stop after the shadow stage,
on two tiles, a coarse grid and one scenario (ingest, surface, shadow: 9 tasks).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pipeline.core.manifest import JOURNAL_NAME, MANIFEST_NAME, output_paths
from pipeline.core.runner import run
from pipeline.stages import STAGES, load_run_definition

pytestmark = pytest.mark.slow

KEEP = ("ingest", "surface", "shadow")
FAULT = {
    **{
        f"stages.{section}.enabled": False
        for section in dict.fromkeys(s.section for s in STAGES)
        if section not in KEEP
    },
    "grid.resolution_m": 4.0,
    "grid.halo_m": 120.0,
    "stages.shadow.step_minutes": 60.0,
    "stages.shadow.maps": False,
    "scenarios.seasons": {"summer_solstice": "06-21"},
    "scenarios.slots": {"midday": ["11:00", "14:00"]},
    "area.meshes": [53396489, 53396499],
    "inputs.types": ["bldg", "veg", "dem"],
}
TILES = 2
TASKS = 9  # 5 ingest (2 bldg + 2 veg + 1 dem files), 2 surface, 2 shadow tiles


def _definition(project_root: Path, out: Path):
    return load_run_definition(project_root / "dags" / "sample.yaml", {**FAULT, "output": str(out)})


def _hashes(out: Path) -> dict[str, str]:
    """SHA-256 of every file of a run but its manifest, journal and logs."""
    skip = {MANIFEST_NAME, JOURNAL_NAME}
    return {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name not in skip and p.suffix != ".log"
    }


def _task_lines(out: Path) -> list[dict]:
    """The task entries of the journal (complete lines only)."""
    journal = out / JOURNAL_NAME
    if not journal.exists():
        return []
    lines = journal.read_text(encoding="utf-8").split("\n")[:-1]
    return [entry["task"] for entry in map(json.loads, lines) if "task" in entry]


def _start_cli(project_root: Path, out: Path, log: Path) -> subprocess.Popen:
    """``machi run`` in its own session (its local cluster's processes share its group)."""
    sets = [
        arg
        for key, value in {**FAULT, "output": str(out)}.items()
        for arg in ("--set", f"{key}={json.dumps(value)}")
    ]
    env = {**os.environ, "PYTHONPATH": str(project_root)}
    with open(log, "w") as stream:
        return subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from pipeline.commands.cli import main; main()",
                "run",
                str(project_root / "dags" / "sample.yaml"),
                "--no-progress",
                "--workers",
                "2",
                *sets,
            ],
            cwd=project_root,
            env=env,
            stdout=stream,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _wait_for_tasks(
    out: Path, count: int, proc: subprocess.Popen | None = None, timeout: float = 240.0
) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = _task_lines(out)
        if len(done) >= count:
            return done
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the run ended (exit {proc.returncode}) before {count} task(s) finished")
        time.sleep(0.2)
    pytest.fail(f"fewer than {count} task(s) finished in {timeout:.0f} s")


def _kill_session(proc: subprocess.Popen) -> None:
    """SIGKILL what is left of the session ``proc`` leads (its orphaned cluster processes)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)


@pytest.fixture(scope="module")
def reference(project_root, tmp_path_factory, cluster):
    """A clean run: its output folder and the SHA-256 of each file, which every faulty run
    must end up with. Tests may damage its manifest, never its outputs' bytes."""
    out = tmp_path_factory.mktemp("clean") / "out"
    summary = run(_definition(project_root, out), client=cluster, progress=False)
    assert summary.failed == [] and summary.executed == TASKS
    hashes = _hashes(out)
    assert any(p.startswith("shadow/") for p in hashes) and not (out / JOURNAL_NAME).exists()
    return out, hashes


def test_a_client_killed_mid_run_resumes_to_the_same_bytes(project_root, tmp_path, cluster, reference):
    out = tmp_path / "out"
    proc = _start_cli(project_root, out, tmp_path / "run.log")
    try:
        _wait_for_tasks(out, 2, proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        _kill_session(proc)
    assert proc.returncode == -signal.SIGKILL
    journaled = _task_lines(out)
    assert 2 <= len(journaled) < TASKS and not (out / MANIFEST_NAME).exists()
    done = {t["key"] for t in journaled if t["status"] == "done"}
    before = {
        t["key"]: {p: os.stat(p).st_mtime_ns for p in output_paths(t["outputs"])}
        for t in journaled
        if t["key"] in done
    }

    summary = run(_definition(project_root, out), client=cluster, progress=False)
    assert summary.failed == []
    assert summary.recovered == len(journaled)
    # Nothing the killed run recorded as done was computed again.
    assert summary.skipped == len(done) and summary.executed == TASKS - len(done)
    for key, mtimes in before.items():
        assert {p: os.stat(p).st_mtime_ns for p in mtimes} == mtimes, key
    assert _hashes(out) == reference[1]
    assert not (out / JOURNAL_NAME).exists()
    assert len(json.loads((out / MANIFEST_NAME).read_text())["tasks"]) == TASKS


def test_a_worker_killed_mid_run_costs_only_its_tasks(project_root, tmp_path, cluster, reference):
    out = tmp_path / "out"
    result: list = []
    runner = threading.Thread(
        target=lambda: result.append(run(_definition(project_root, out), client=cluster, progress=False)),
        daemon=True,
    )
    runner.start()
    _wait_for_tasks(out, 2)
    pids = cluster.run(os.getpid)
    deadline = time.monotonic() + 60
    while True:  # a worker in the middle of a task
        busy = [address for address, keys in cluster.processing().items() if keys and address in pids]
        if busy or time.monotonic() > deadline or not runner.is_alive():
            break
        time.sleep(0.05)
    assert busy, "no worker was running a task"
    victim = pids[busy[0]]
    os.kill(victim, signal.SIGKILL)
    runner.join(timeout=400)
    assert not runner.is_alive(), "the run did not finish after a worker was killed"
    [summary] = result
    assert summary.failed == [] and summary.executed == TASKS
    assert victim not in cluster.run(os.getpid).values()  # the nanny started a new worker
    assert _hashes(out) == reference[1]  # no half file of the killed task left behind


def test_an_output_folder_that_cannot_be_written_mid_run(project_root, tmp_path, cluster, reference):
    """A file where the shadow folder should be, and a folder where manifest.json should be:
    like a folder turned read-only, but it stops root too (chmod does not)."""
    out = tmp_path / "out"
    proc = _start_cli(project_root, out, tmp_path / "run.log")
    try:
        _wait_for_tasks(out, 1, proc)
        assert not (out / "shadow").exists(), "the shadow stage started before the test could block it"
        (out / "shadow").write_text("not a folder")
        (out / MANIFEST_NAME).mkdir()
        (out / MANIFEST_NAME / "blocker").touch()
        proc.wait(timeout=400)
    finally:
        _kill_session(proc)
    said = (tmp_path / "run.log").read_text()
    assert proc.returncode == 1, said
    assert f"Error: cannot write the manifest {out / MANIFEST_NAME}" in said
    assert "rerun once the folder is writable to resume" in said
    failed = [line for line in said.splitlines() if " shadow " in line and "failed:" in line]
    assert len(failed) == TILES and all(str(out / "shadow") in line for line in failed), said
    assert "Traceback" not in said, said

    (out / "shadow").unlink()
    shutil.rmtree(out / MANIFEST_NAME)
    summary = run(_definition(project_root, out), client=cluster, progress=False)
    assert summary.recovered == TASKS  # every task is in the journal, the shadow ones as failed
    assert summary.skipped == TASKS - TILES and summary.executed == TILES and summary.failed == []
    assert _hashes(out) == reference[1]


def test_a_manifest_cut_off_mid_file_reruns_only_the_lost_records(project_root, cluster, reference, caplog):
    out, hashes = reference
    path = out / MANIFEST_NAME
    text = path.read_text(encoding="utf-8")
    tasks = json.loads(text)["tasks"]
    # Tasks are written sorted by stage (ingest, shadow, surface): cut inside the first
    # surface line, so the surface records are lost and those of ingest and shadow kept.
    first_surface = next(key for key, task in tasks.items() if task["stage"] == "surface")
    cut = text.index(f'"{first_surface}"') + 30
    path.write_text(text[:cut], encoding="utf-8")
    line = text[:cut].count("\n") + 1
    mtimes = {
        p: os.stat(p).st_mtime_ns
        for task in tasks.values()
        if task["stage"] != "surface"
        for p in output_paths(task["outputs"])
    }

    with caplog.at_level("WARNING", logger="pipeline.core.manifest"):
        summary = run(_definition(project_root, out), client=cluster, progress=False)
    assert f"{path} is damaged at line {line} (cut off mid-write" in caplog.text
    # Only the two surface tasks ran again; shadow, downstream of them, kept its records
    # (the surface keys did not change) and its files.
    assert summary.failed == [] and summary.executed == TILES and summary.skipped == TASKS - TILES
    assert {p: os.stat(p).st_mtime_ns for p in mtimes} == mtimes
    assert _hashes(out) == hashes
    assert len(json.loads(path.read_text(encoding="utf-8"))["tasks"]) == TASKS
