"""Benchmark: recording, resuming and compacting a run of 10^5 tasks (the manifest's journal).

A synthetic run: N tasks of one stage, each with one real output file (created in a
temporary folder) and a record the size of an ingest record. Measured, each step once
(the machine is shared; compare the ratios):

- recording every task (one journal line each, flushed; fsync at most once a second),
- the old way's cost of one whole rewrite of manifest.json at N tasks (the runner used
  to rewrite it every 2 s and at the end of every stage),
- reading the journal of a killed run, compacting it into manifest.json, reading that,
- planning the resume: computing N task keys and checking each record (key, outputs on
  disk) with the runner's own ``split_finished``,
- reading a manifest.json cut off in the middle (every line before the cut is kept).

The baseline is a bare ``json.loads`` of the compacted manifest.json. CPU seconds (this
process) say what a step costs when the machine is busy with other jobs.

    .venv/bin/python benchmarks/manifest.py [--tasks 100000]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
from pathlib import Path

from pipeline.core.manifest import JOURNAL_NAME, MANIFEST_NAME, Manifest
from pipeline.core.runner import split_finished
from pipeline.core.task import Record, Task
from pipeline.stages.ingest import IngestOutputs
from tiles.atomic import write_text_atomic


def bench_task(tile: str) -> None:  # the tasks' function (its module's source is part of the key)
    return None


def _tasks(n: int, out: Path) -> list[Task]:
    tasks = []
    for i in range(n):
        tile = f"{53390000 + i:08d}"
        task = Task(
            stage="bench",
            tile=tile,
            func=bench_task,
            args=(tile,),
            params={"resolution_m": 1.0, "out": str(out)},
            input_hashes=[f"{i:064x}"],
        )
        task.compute_key("bench")
        tasks.append(task)
    return tasks


def _record(task: Task, out: Path) -> Record:
    return Record(
        stage=task.stage,
        tile=task.tile,
        key=task.key,
        seconds=1.234,
        outputs=IngestOutputs(table=str(out / "bench" / f"{task.tile}.parquet")),
        counts={"features": 123, "parts": 456},
        feature_type="bldg",
        mesh_code=task.tile,
        details={"source": f"udx/bldg/{task.tile}_bldg_6697_op.gml", "lods": [0, 1, 2]},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    args = parser.parse_args()
    n = args.tasks
    logging.basicConfig(level=logging.ERROR)
    rows: list[tuple[str, float, float]] = []

    def timed(name: str, func):
        start, cpu = time.perf_counter(), time.process_time()
        value = func()
        rows.append((name, time.perf_counter() - start, time.process_time() - cpu))
        return value

    with tempfile.TemporaryDirectory(prefix="machi-bench-manifest-") as folder:
        out = Path(folder)
        (out / "bench").mkdir()
        tasks = timed("make N tasks and their keys (Task.compute_key)", lambda: _tasks(n, out))
        records = [_record(t, out) for t in tasks]
        for record in records:
            os.close(os.open(record.outputs.table, os.O_CREAT | os.O_WRONLY, 0o644))

        manifest = Manifest.open(out)
        fsync, fsyncs = os.fsync, []

        def timed_fsync(fd: int) -> None:
            start = time.perf_counter()
            fsync(fd)
            fsyncs.append(time.perf_counter() - start)

        os.fsync = timed_fsync

        def record_all():
            for record in records:
                manifest.record(record)
            manifest.sync()

        timed("record N tasks (journal: one line each)", record_all)
        os.fsync = fsync
        rows.append((f"  of which waiting for fsync ({len(fsyncs)} calls)", sum(fsyncs), 0.0))
        manifest.close()
        journal_bytes = (out / JOURNAL_NAME).stat().st_size
        old_way = json.dumps(manifest.data, indent=1, ensure_ascii=False, default=str)
        timed(
            "one whole rewrite of manifest.json at N tasks (the old way, every 2 s)",
            lambda: write_text_atomic(
                out / "old_manifest.json",
                json.dumps(manifest.data, indent=1, ensure_ascii=False, default=str),
            ),
        )
        del old_way

        resumed = timed("read the journal of a killed run (Manifest.open)", lambda: Manifest.open(out))
        assert resumed.recovery.journal_tasks == n
        timed("compact the journal into manifest.json", resumed.compact)
        manifest_bytes = (out / MANIFEST_NAME).stat().st_size
        baseline = timed(
            "baseline: bare json.loads of manifest.json",
            lambda: json.loads((out / MANIFEST_NAME).read_bytes()),
        )
        del baseline
        reopened = timed("read manifest.json (Manifest.open)", lambda: Manifest.open(out))
        found: dict = {}
        pending = timed(
            "resume: check N records (key, outputs on disk; split_finished)",
            lambda: split_finished(tasks, reopened, found, IngestOutputs),
        )
        assert not pending and len(found) == n

        text = (out / MANIFEST_NAME).read_bytes()
        (out / MANIFEST_NAME).write_bytes(text[: len(text) // 2])
        damaged = timed("read manifest.json cut off in the middle (salvage)", lambda: Manifest.open(out))
        kept = len(damaged.data["tasks"])

    base = next(s for name, s, _ in rows if name.startswith("baseline"))
    print(
        f"{n:,} tasks; journal {journal_bytes / 1e6:.1f} MB, manifest.json {manifest_bytes / 1e6:.1f} MB; "
        f"the cut manifest kept {kept:,} task records"
    )
    print("| step | seconds | CPU seconds | µs per task | ratio to baseline |")
    print("|---|---:|---:|---:|---:|")
    for name, seconds, cpu in rows:
        print(f"| {name} | {seconds:.2f} | {cpu:.2f} | {seconds / n * 1e6:.1f} | {seconds / base:.1f} |")


if __name__ == "__main__":
    main()
