"""The Dask runner: one task per tile (or input file) per stage.

``run(definition)`` plans every stage of the definition's registry, in order, into
:class:`~pipeline.core.task.Task` objects, skips the ones the
manifest records as finished with unchanged inputs and parameters, submits the rest to
a ``dask.distributed`` client (a local cluster by default, or ``--scheduler``), shows a
progress bar, and records every result in the manifest's journal as it finishes (one
line each; :mod:`pipeline.core.manifest`). A task that fails (one bad file in a city) is
reported and its dependants go on without it. A worker that dies loses only the tasks it
was running, which Dask runs again elsewhere; a client that dies loses nothing recorded:
the next run reads the journal and skips every task whose outputs are on disk.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from pipeline.core.config import RunDefinitionBase
from pipeline.core.manifest import Manifest, ManifestError, output_paths, package_versions
from pipeline.core.plan import plan_run
from pipeline.core.task import Record, Result, Task
from pipeline.geo.atomic import remove_temporaries

log = logging.getLogger(__name__)


@dataclass
class RunSummary:
    """What one invocation of :func:`run` did."""

    output: Path
    executed: int = 0
    skipped: int = 0
    recovered: int = 0  # task records read from the journal of an interrupted run
    failed: list[dict] = field(default_factory=list)
    records: dict[str, Record] = field(default_factory=dict)
    seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)

    def by_stage(self, stage: str) -> list[Record]:
        return sorted((r for r in self.records.values() if r.stage == stage),
                      key=lambda r: (r.tile, r.key))


def execute_task(stage: str, tile: str, func: Callable, args: tuple, kwargs: dict,
                 key: str = "") -> Record:
    """Run a stage's task function and turn its :class:`Result` (or exception) into a record.

    Runs on a worker. Exceptions are caught here so one bad input never stops a run.
    """
    start = time.perf_counter()
    try:
        result = func(*args, **kwargs)
        if result is not None and not isinstance(result, Result):
            raise TypeError(f"{getattr(func, '__qualname__', func)} returned "
                            f"{type(result).__name__}, not a pipeline.core.task.Result")
        record = Record.from_result(result, stage=stage, tile=tile, seconds=0.0)
    except Exception as exc:  # noqa: BLE001 - reported in the manifest and the run report
        record = Record(stage=stage, tile=tile, status="failed",
                        error=f"{type(exc).__name__}: {exc}",
                        traceback=traceback.format_exc(limit=5))
    record.seconds = round(time.perf_counter() - start, 3)
    record.key = key
    return record


@contextlib.contextmanager
def dask_client(definition: RunDefinitionBase, scheduler: str | None = None,
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


def run(definition: RunDefinitionBase, *, scheduler: str | None = None, workers: int | None = None,
        client: Any = None, progress: bool = True) -> RunSummary:
    """Run every stage ``definition`` wants, in registry order; resume from its manifest."""
    start = time.perf_counter()
    output = Path(definition.output)
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ManifestError(f"cannot create the output folder {output}: {exc.strerror or exc}") from None
    manifest = Manifest.open(output)
    summary = RunSummary(output=output, recovered=manifest.recovery.journal_tasks)
    if manifest.recovery.interrupted:
        # Fold what the interrupted run recorded into manifest.json, so that the journal
        # of this run starts on a clean line (a torn last line is dropped here).
        log.warning("resuming an interrupted run in %s: %d task record(s) in manifest.json, "
                    "%d in its journal, %d damaged line(s) ignored", output,
                    manifest.recovery.manifest_tasks, manifest.recovery.journal_tasks,
                    len(manifest.recovery.bad_lines))
        manifest.compact()
    try:
        plan = plan_run(definition, manifest)
        manifest.data.update(
            run=definition.name, definition=definition.model_dump(mode="json"),
            crs=plan.crs, versions=package_versions())
        started = dt.datetime.now(dt.timezone.utc).isoformat()

        if client is not None:
            _execute(plan, manifest, client, summary, progress)
        else:
            with dask_client(definition, scheduler, workers) as new_client:
                _execute(plan, manifest, new_client, summary, progress)
    finally:
        manifest.close()  # whatever happened, what was recorded is on disk

    for path in remove_temporaries(output):
        log.warning("removed %s: the half-written output of a killed task", path)
    summary.seconds = time.perf_counter() - start
    outputs = sorted({p for r in summary.records.values() for p in output_paths(r.outputs) if p})
    manifest.data["outputs"] = outputs
    manifest.data["runs"].append({
        "started": started, "seconds": round(summary.seconds, 2),
        "executed": summary.executed, "skipped": summary.skipped,
        "failed": len(summary.failed), "stage_seconds": summary.stage_seconds})
    manifest.data["failures"] = sorted(summary.failed, key=lambda f: (f["stage"], f["tile"]))
    manifest.compact()
    log.info("run %s: %d task(s) run, %d skipped as finished, %d failed in %.1f s; manifest %s",
             definition.name, summary.executed, summary.skipped, len(summary.failed),
             summary.seconds, manifest.path)
    return summary


def split_finished(tasks: list[Task], manifest: Manifest, records: dict[str, Record]) -> list[Task]:
    """The tasks (keys computed) still to run; the trusted records of the others go into
    ``records``. One dictionary look-up and a stat per output for each task."""
    pending = []
    for task in tasks:
        finished = manifest.finished(task.key, task.stage, task.tile)
        if finished is None:
            pending.append(task)
        else:
            records[task.key] = finished
    return pending


def _execute(plan, manifest: Manifest, client: Any, summary: RunSummary, progress: bool) -> None:
    """Plan and submit stage by stage; a stage's planner sees every record so far."""
    from distributed import as_completed
    from tqdm.auto import tqdm

    version = package_versions().get("machi", "dev")
    for stage in plan.stages:
        stage_start = time.perf_counter()
        tasks = stage.plan(plan.context, summary.records)
        if not tasks:
            log.info("%s: nothing to do", stage.name)
            continue
        for task in tasks:
            task.compute_key(version, stage.code)
        pending = split_finished(tasks, manifest, summary.records)
        summary.skipped += len(tasks) - len(pending)
        submitted = {}
        for task in pending:
            kwargs = dict(task.kwargs)
            # Stages run one after the other, so upstream records are all known here; they
            # reach the task sorted, whatever order they finished in.
            for name, upstream_keys in task.upstream.items():
                upstream = [summary.records[k] for k in upstream_keys if k in summary.records]
                kwargs[name] = sorted(upstream, key=lambda r: (r.tile, r.key))
            future = client.submit(execute_task, task.stage, task.tile, task.func, task.args,
                                   kwargs, task.key, key=task.key, pure=False)
            submitted[future] = task
        skipped = len(tasks) - len(submitted)
        if skipped:
            log.info("%s: skipping %d finished task(s) (inputs and parameters unchanged)",
                     stage.name, skipped)
        bar = tqdm(total=len(tasks), initial=skipped, desc=f"{stage.name:>12}", unit="task",
                   disable=not progress, leave=True)
        for future in as_completed(list(submitted)):
            task = submitted[future]
            try:
                record = future.result()
            except Exception as exc:  # the worker itself died, or the result would not unpickle
                record = Record(stage=task.stage, tile=task.tile, status="failed",
                                error=f"{type(exc).__name__}: {exc}", key=task.key)
            summary.records[task.key] = record
            manifest.record(record)
            summary.executed += 1
            if not record.done:
                summary.failed.append({"stage": task.stage, "tile": task.tile, "error": record.error})
                log.error("%s %s failed: %s", task.stage, task.tile, record.error)
            bar.update(1)
        bar.close()
        summary.stage_seconds[stage.name] = round(time.perf_counter() - stage_start, 2)
        manifest.sync()
