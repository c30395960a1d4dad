"""The Dask runner: one task per tile (or input file) per stage.

``run(definition)`` plans every stage into :class:`Task` objects, skips the ones the
manifest records as finished with unchanged inputs and parameters, submits the rest to
a ``dask.distributed`` client (a local cluster by default, or ``--scheduler``), shows a
progress bar, and records every result in the manifest. A task that fails (one bad
file in a city) is reported and its dependants go on without it.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import logging
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from tqdm.auto import tqdm

from pipeline.config import RunDefinition
from pipeline.manifest import (Manifest, output_paths, package_versions, sha256_stream,
                               task_key)

log = logging.getLogger(__name__)


@dataclass
class Task:
    """One unit of work: ``func(*args, **kwargs)`` for one stage and one tile.

    ``upstream`` maps keyword names to lists of upstream task keys; the runner passes
    those tasks' records (dicts with ``outputs``) as the keyword's value.
    """

    stage: str
    tile: str
    func: Callable[..., Any]
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    input_hashes: list[str] = field(default_factory=list)
    upstream: dict[str, list[str]] = field(default_factory=dict)
    key: str = ""

    def compute_key(self) -> str:
        upstream_keys = [k for keys in self.upstream.values() for k in keys]
        params = {**self.params, "code": code_version(self.func)}
        self.key = task_key(self.stage, self.tile, params, self.input_hashes, upstream_keys)
        return self.key


@functools.lru_cache(maxsize=None)
def code_version(func: Callable) -> str:
    """Hash of the source file defining ``func``: edited stage code reruns its tasks."""
    module = sys.modules.get(func.__module__)
    path = getattr(module, "__file__", None)
    if not path:
        return "unknown"
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


@dataclass
class RunSummary:
    """What one invocation of :func:`run` did."""

    output: Path
    executed: int = 0
    skipped: int = 0
    failed: list[dict] = field(default_factory=list)
    records: dict[str, dict] = field(default_factory=dict)
    seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)

    def by_stage(self, stage: str) -> list[dict]:
        return [r for r in self.records.values() if r.get("stage") == stage]


def execute_task(stage: str, tile: str, func: Callable, args: tuple, kwargs: dict) -> dict:
    """Run a stage function and turn its result (or its exception) into a record.

    Runs on a worker. Exceptions are caught here so one bad input never stops a run.
    """
    start = time.perf_counter()
    try:
        result = func(*args, **kwargs)
        record = result.to_record() if hasattr(result, "to_record") else dict(result or {})
        record["status"] = "done"
    except Exception as exc:  # noqa: BLE001 - reported in the manifest and the run report
        record = {"status": "failed", "error": f"{type(exc).__name__}: {exc}",
                  "traceback": traceback.format_exc(limit=5), "outputs": {}}
    record.update(stage=stage, tile=tile, seconds=round(time.perf_counter() - start, 3))
    return record


@contextlib.contextmanager
def dask_client(definition: RunDefinition, scheduler: str | None = None,
                workers: int | None = None) -> Iterator[Any]:
    """A distributed client: to ``scheduler`` if given, else a local cluster."""
    from distributed import Client, LocalCluster

    # distributed sets its own loggers to INFO when imported; keep its chatter to warnings
    # unless the user asked for debug output.
    if logging.getLogger().level > logging.DEBUG:
        for name in ("distributed", "distributed.scheduler", "distributed.nanny", "distributed.core",
                     "distributed.worker", "distributed.http.proxy"):
            logging.getLogger(name).setLevel(logging.WARNING)
    address = scheduler or definition.dask.scheduler
    if address:
        log.info("connecting to Dask scheduler %s", address)
        with Client(address) as client:
            yield client
        return
    n_workers = workers or definition.dask.workers
    with LocalCluster(n_workers=n_workers, threads_per_worker=definition.dask.threads_per_worker,
                      memory_limit=definition.dask.memory_limit, processes=True,
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as client:
        log.info("local Dask cluster: %d worker(s) x %d thread(s)", n_workers,
                 definition.dask.threads_per_worker)
        yield client


def run(definition: RunDefinition, *, scheduler: str | None = None, workers: int | None = None,
        client: Any = None, progress: bool = True) -> RunSummary:
    """Run every enabled stage of ``definition``; resume from its manifest."""
    from pipeline.plan import plan_run

    start = time.perf_counter()
    output = Path(definition.output)
    output.mkdir(parents=True, exist_ok=True)
    manifest = Manifest.open(output)
    plan = plan_run(definition, manifest)
    manifest.data.update(
        run=definition.name, definition=definition.model_dump(mode="json"),
        crs=plan.crs, versions=package_versions())
    summary = RunSummary(output=output)
    started = dt.datetime.now(dt.timezone.utc).isoformat()

    if client is not None:
        _execute(plan.stages, manifest, client, summary, progress)
    else:
        with dask_client(definition, scheduler, workers) as new_client:
            _execute(plan.stages, manifest, new_client, summary, progress)

    summary.seconds = time.perf_counter() - start
    outputs = sorted({p for r in summary.records.values()
                      for p in output_paths(r.get("outputs", {})) if p})
    manifest.data["outputs"] = outputs
    manifest.data["runs"].append({
        "started": started, "seconds": round(summary.seconds, 2),
        "executed": summary.executed, "skipped": summary.skipped,
        "failed": len(summary.failed), "stage_seconds": summary.stage_seconds})
    manifest.data["failures"] = summary.failed
    manifest.save()
    log.info("run %s: %d task(s) run, %d skipped as finished, %d failed in %.1f s; manifest %s",
             definition.name, summary.executed, summary.skipped, len(summary.failed),
             summary.seconds, manifest.path)
    return summary


def _execute(stages: list[tuple[str, Callable[[dict], list[Task]]]], manifest: Manifest,
             client: Any, summary: RunSummary, progress: bool) -> None:
    """Plan and submit stage by stage; a stage's planner sees upstream records."""
    from distributed import as_completed

    for stage, planner in stages:
        stage_start = time.perf_counter()
        tasks = planner(summary.records)
        if not tasks:
            continue
        submitted = {}
        for task in tasks:
            task.compute_key()
            done = manifest.finished(task.key)
            if done is not None:
                summary.records[task.key] = done
                summary.skipped += 1
                continue
            kwargs = dict(task.kwargs)
            # Stages run one after the other, so upstream records are all known here.
            for name, keys in task.upstream.items():
                kwargs[name] = [summary.records[k] for k in keys if k in summary.records]
            future = client.submit(execute_task, task.stage, task.tile, task.func, task.args,
                                   kwargs, key=task.key, pure=False)
            submitted[future] = task
        skipped = len(tasks) - len(submitted)
        if skipped:
            log.info("%s: skipping %d finished task(s) (inputs and parameters unchanged)",
                     stage, skipped)
        bar = tqdm(total=len(tasks), initial=skipped, desc=f"{stage:>12}", unit="task",
                   disable=not progress, leave=True)
        for future in as_completed(list(submitted)):
            task = submitted[future]
            try:
                record = future.result()
            except Exception as exc:  # the worker itself died, or the result would not unpickle
                record = {"status": "failed", "error": f"{type(exc).__name__}: {exc}",
                          "stage": task.stage, "tile": task.tile, "outputs": {}}
            summary.records[task.key] = record
            manifest.record(task.key, record)
            summary.executed += 1
            if record.get("status") != "done":
                summary.failed.append({"stage": task.stage, "tile": task.tile,
                                       "error": record.get("error")})
                log.error("%s %s failed: %s", task.stage, task.tile, record.get("error"))
            bar.update(1)
        bar.close()
        summary.stage_seconds[stage] = round(time.perf_counter() - stage_start, 2)
        manifest.save()


def hash_source(manifest: Manifest, source) -> str:
    """Content hash of a CityGML source (a file, or a member of a zip)."""
    dataset = source.dataset
    local = dataset.local_path(source.member)
    if local is not None:
        stat = local.stat()
        size, mtime = stat.st_size, stat.st_mtime
    else:
        size, mtime = source.size, Path(dataset.path).stat().st_mtime

    def compute() -> str:
        with source.open() as stream:
            return sha256_stream(stream)

    return manifest.input_hash(source.name, size, mtime, compute)
