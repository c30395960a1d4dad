"""The Dask runner: one task per tile (or input file) per stage, stages overlapping per tile.

``run(definition)`` plans the stages of the definition's registry into
:class:`~pipeline.core.task.Task` objects as their inputs come in: a per-tile stage (its
``reach`` is ``"tile"`` or ``"neighbours"``) is planned for a tile as soon as the stages
it ``needs`` have finished every task of that tile's reach, a ``"run"`` stage once they
have finished entirely (:mod:`pipeline.core.flow` keeps that account; the planners are
called with ``ctx.tiles`` holding the newly ready tiles, several at once when several
tasks finished together). Tasks the manifest records as finished with unchanged inputs
and parameters are skipped on the spot, so a resume cascades through every stage without
Dask; the rest go to a ``dask.distributed`` client (a local cluster by default, or
``--scheduler``), later stages first. A progress bar per stage grows as its tiles are
planned, and every result is recorded in the manifest's journal as it finishes (one line
each; :mod:`pipeline.core.manifest`). A task that fails (one bad file in a city) is
reported and its dependants go on without it. A worker that dies loses only the tasks it
was running, which Dask runs again elsewhere; a client that dies loses nothing recorded:
the next run reads the journal and skips every task whose outputs are on disk.

Task keys and outputs do not depend on the order in which tasks finish: a task is planned
only when every record its planner reads for it is final, and upstream records reach it
sorted by tile and key. ``RunSummary.stage_seconds`` is, per stage, the wall time from
its first planning to its last finished task; stages overlap, so these add up to more
than the run's time.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.core.config import RunDefinitionBase
from pipeline.core.flow import Flow
from pipeline.core.manifest import Manifest, ManifestError, output_paths, package_versions
from pipeline.core.outputs import Outputs
from pipeline.core.plan import plan_run
from pipeline.core.stage import Stage
from pipeline.core.task import Record, Result, Task
from tiles.atomic import remove_temporaries

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
    #: Per stage that had tasks (registry order): wall seconds from its first planning to
    #: its last finished task. Stages overlap, so the sum exceeds ``seconds``.
    stage_seconds: dict[str, float] = field(default_factory=dict)
    #: A run on a baseline: tasks whose record is the baseline's (nothing run, nothing
    #: copied), and the tiles its changes reach (None: not a run on a baseline).
    from_baseline: int = 0
    touched_tiles: list[str] | None = None

    def by_stage(self, stage: str) -> list[Record]:
        return sorted((r for r in self.records.values() if r.stage == stage), key=lambda r: (r.tile, r.key))


def execute_task(
    stage: str,
    tile: str,
    func: Callable,
    args: tuple,
    kwargs: dict,
    key: str = "",
    outputs: type[Outputs] | None = None,
) -> Record:
    """Run a stage's task function and turn its :class:`Result` (or exception) into a record.

    Runs on a worker. Exceptions are caught here so one bad input never stops a run.
    ``outputs`` is the stage's declared outputs type: a result of another type fails the
    task with a message naming the stage and both types.
    """
    start = time.perf_counter()
    try:
        result = func(*args, **kwargs)
        if result is not None and not isinstance(result, Result):
            raise TypeError(
                f"{getattr(func, '__qualname__', func)} returned "
                f"{type(result).__name__}, not a pipeline.core.task.Result"
            )
        record = Record.from_result(result, stage=stage, tile=tile, seconds=0.0, outputs=outputs)
    except Exception as exc:  # noqa: BLE001 - reported in the manifest and the run report
        record = Record(
            stage=stage,
            tile=tile,
            status="failed",
            error=f"{type(exc).__name__}: {exc}",
            traceback=traceback.format_exc(limit=5),
        )
    record.seconds = round(time.perf_counter() - start, 3)
    record.key = key
    return record


@contextlib.contextmanager
def dask_client(
    definition: RunDefinitionBase, scheduler: str | None = None, workers: int | None = None
) -> Iterator[Any]:
    """A distributed client: to ``scheduler`` if given, else a local cluster."""
    from distributed import Client, LocalCluster

    # distributed sets its own loggers to INFO when imported; keep its chatter to warnings
    # unless the user asked for debug output.
    if logging.getLogger().level > logging.DEBUG:
        for name in (
            "distributed",
            "distributed.scheduler",
            "distributed.nanny",
            "distributed.core",
            "distributed.worker",
            "distributed.http.proxy",
        ):
            logging.getLogger(name).setLevel(logging.WARNING)
    address = scheduler or definition.dask.scheduler
    if address:
        log.info("connecting to Dask scheduler %s", address)
        with Client(address) as client:
            yield client
        return
    n_workers = workers or definition.dask.workers
    with (
        LocalCluster(
            n_workers=n_workers,
            threads_per_worker=definition.dask.threads_per_worker,
            memory_limit=definition.dask.memory_limit,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        log.info(
            "local Dask cluster: %d worker(s) x %d thread(s)", n_workers, definition.dask.threads_per_worker
        )
        yield client


def run(
    definition: RunDefinitionBase,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    client: Any = None,
    progress: bool = True,
) -> RunSummary:
    """Run every stage ``definition`` wants, each tile's stages as soon as their inputs are
    in (registry order between them); resume from its manifest."""
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
        log.warning(
            "resuming an interrupted run in %s: %d task record(s) in manifest.json, "
            "%d in its journal, %d damaged line(s) ignored",
            output,
            manifest.recovery.manifest_tasks,
            manifest.recovery.journal_tasks,
            len(manifest.recovery.bad_lines),
        )
        manifest.compact()
    try:
        plan = plan_run(definition, manifest)
        manifest.data.update(
            run=definition.name,
            definition=definition.model_dump(mode="json"),
            crs=plan.crs,
            versions=package_versions(),
        )
        started = dt.datetime.now(dt.UTC).isoformat()

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
    manifest.data["runs"].append(
        {
            "started": started,
            "seconds": round(summary.seconds, 2),
            "executed": summary.executed,
            "skipped": summary.skipped,
            "failed": len(summary.failed),
            "stage_seconds": summary.stage_seconds,
        }
    )
    if summary.touched_tiles is not None:
        manifest.data["runs"][-1].update(
            baseline=str(definition.inputs.baseline),
            from_baseline=summary.from_baseline,
            touched_tiles=summary.touched_tiles,
        )
        log.info(
            "run on baseline %s: %d of %d tile(s) recomputed (%s), %d task(s) taken from the baseline",
            definition.inputs.baseline,
            len(summary.touched_tiles),
            len(plan.tiles),
            ", ".join(summary.touched_tiles) or "none",
            summary.from_baseline,
        )
    manifest.data["failures"] = sorted(summary.failed, key=lambda f: (f["stage"], f["tile"]))
    manifest.compact()
    log.info(
        "run %s: %d task(s) run, %d skipped as finished, %d failed in %.1f s; manifest %s",
        definition.name,
        summary.executed,
        summary.skipped,
        len(summary.failed),
        summary.seconds,
        manifest.path,
    )
    return summary


def split_finished(
    tasks: list[Task], manifest: Manifest, records: dict[str, Record], outputs: type[Outputs] | None = None
) -> list[Task]:
    """The tasks (keys computed) still to run; the trusted records of the others go into
    ``records``, their outputs read as ``outputs`` (the stage's declared type). One
    dictionary look-up and a stat per output for each task."""
    pending = []
    for task in tasks:
        finished = manifest.finished(task.key, task.stage, task.tile, outputs=outputs)
        if finished is None:
            pending.append(task)
        else:
            records[task.key] = finished
    return pending


@dataclass
class _StageRun:
    """What one stage did in this run: its progress bar, counts and times."""

    stage: Stage
    bar: Any = None
    started: float | None = None  # its first planning
    last: float | None = None  # its last task finished (or found finished)
    tasks: int = 0
    skipped: int = 0
    executed: int = 0
    failed: int = 0
    from_baseline: int = 0

    @property
    def seconds(self) -> float:
        return round((self.last or self.started or 0.0) - (self.started or 0.0), 2)


class _Execution:
    """One run's event loop: plan what is ready, submit it, wait for the next results.

    :class:`~pipeline.core.flow.Flow` says which stage is ready for which tiles; this
    class calls the planners, skips finished tasks, submits the others to Dask and feeds
    what finishes back to the flow, the manifest, the progress bars and the summary.
    """

    def __init__(self, plan, manifest: Manifest, client: Any, summary: RunSummary, progress: bool) -> None:
        self.context = plan.context
        self.stages = {stage.name: stage for stage in plan.stages}
        self.priority = {stage.name: index for index, stage in enumerate(plan.stages)}
        self.flow = Flow(plan.stages, plan.context.tiles)
        self.baseline = plan.baseline
        if plan.baseline is not None:
            summary.touched_tiles = sorted(plan.baseline.touched)
        self.runs = {stage.name: _StageRun(stage) for stage in plan.stages}
        self.manifest, self.client, self.summary, self.progress = manifest, client, summary, progress
        self.version = package_versions().get("machi", "dev")
        self.futures: dict[Any, Task] = {}
        self.completed: Any = None  # distributed.as_completed, made at the first submission

    def run(self) -> None:
        try:
            while True:
                self._plan_ready()
                self._close_complete()
                if not self.futures:
                    break
                # Everything that finished meanwhile comes at once: one planning per stage
                # for all the tiles it made ready, not one per finished task.
                self._finish(self.completed.next_batch(block=True))
        finally:
            if self.futures:  # stopped by an error: leave nothing running on the cluster
                with contextlib.suppress(Exception):  # the error being raised matters more
                    self.client.cancel(list(self.futures))
            for run in self.runs.values():
                if run.bar is not None:
                    run.bar.close()
        if stuck := self.flow.stuck():
            raise RuntimeError(
                f"stages {stuck} were never ready to plan, though nothing was "
                f"running (their `needs` or `reach` cannot be met)"
            )
        for name, run in self.runs.items():  # registry order, whatever order they ended in
            if run.tasks:
                self.summary.stage_seconds[name] = run.seconds

    # -- planning ------------------------------------------------------------------------
    def _plan_ready(self) -> None:
        """Plan every stage the flow says is ready, until none is (a resume, whose tasks are
        all finished, cascades through every stage here without waiting for Dask)."""
        while (ready := self.flow.next_ready()) is not None:
            self._plan(*ready)

    def _plan(self, stage: Stage, tiles: list[str] | None) -> None:
        run = self.runs[stage.name]
        if run.started is None:
            run.started = time.perf_counter()
            log.info(
                "%s: started (%s)",
                stage.name,
                f"{stage.reach} reach, planned per tile" if stage.per_tile else "the whole run",
            )
        ctx = self.context if tiles is None else self.context.for_tiles(tiles)
        tasks = stage.plan(ctx, self.summary.records)
        if tiles is not None:
            _check_tiles(stage, tasks, tiles)
            for task in tasks:  # a per-tile task covers its tile, a tile of the run
                task.meshes = task.meshes or (task.tile,)
        for task in tasks:
            task.compute_key(self.version, stage.code)
        own = self._take_from_baseline(stage, tasks) if self.baseline is not None else tasks
        pending = split_finished(own, self.manifest, self.summary.records, stage.outputs)
        skipped, taken = len(own) - len(pending), len(tasks) - len(own)
        run.tasks += len(tasks)
        run.skipped += skipped
        run.from_baseline += taken
        self.summary.skipped += skipped
        if skipped or taken:
            run.last = time.perf_counter()
        for task in pending:
            self._submit(stage, task)
        self.flow.planned(stage, tiles)
        if tasks:
            self._bar(run).total += len(tasks)
            run.bar.update(skipped + taken)
            run.bar.refresh()

    def _take_from_baseline(self, stage: Stage, tasks: list[Task]) -> list[Task]:
        """The tasks this run computes; the baseline's records stand for the others, kept
        in the manifest with their outputs' paths in the baseline folder."""
        own = []
        for task in tasks:
            record = self.baseline.reused(stage, task.key, task.tile)
            if record is None:
                own.append(task)
                continue
            self.summary.records[task.key] = record
            if self.manifest.data["tasks"].get(task.key) != record.to_json():
                self.manifest.record(record)
            self.summary.from_baseline += 1
        return own

    def _submit(self, stage: Stage, task: Task) -> None:
        from distributed import as_completed

        records = self.summary.records
        kwargs = dict(task.kwargs)
        # The flow planned this task once every upstream task of its reach had finished,
        # so its upstream records are all here; they reach it sorted, whatever order they
        # finished in.
        for name, upstream_keys in task.upstream.items():
            upstream = [records[k] for k in upstream_keys if k in records]
            kwargs[name] = sorted(upstream, key=lambda r: (r.tile, r.key))
        # Later stages first: a tile whose inputs are in goes on before the next file is
        # ingested, so the first tiles finish early and what is in flight stays small.
        future = self.client.submit(
            execute_task,
            task.stage,
            task.tile,
            task.func,
            task.args,
            kwargs,
            task.key,
            stage.outputs,
            key=task.key,
            pure=False,
            priority=self.priority[stage.name],
        )
        if self.completed is None:
            self.completed = as_completed(loop=self.client.loop)
        self.completed.add(future)
        self.futures[future] = task
        self.flow.submitted(stage, task.meshes)

    def _bar(self, run: _StageRun) -> Any:
        if run.bar is None:
            from tqdm.auto import tqdm

            run.bar = tqdm(
                total=0, desc=f"{run.stage.name:>12}", unit="task", disable=not self.progress, leave=True
            )
        return run.bar

    # -- results ---------------------------------------------------------------------------
    def _finish(self, futures: list[Any]) -> None:
        for future in futures:
            task = self.futures.pop(future)
            try:
                record = future.result()
            except Exception as exc:  # the worker itself died, or the result would not unpickle
                record = Record(
                    stage=task.stage,
                    tile=task.tile,
                    status="failed",
                    error=f"{type(exc).__name__}: {exc}",
                    key=task.key,
                )
            self._keep(task, record)

    def _keep(self, task: Task, record: Record) -> None:
        """Record a finished task: summary, manifest journal, progress, the flow."""
        run = self.runs[task.stage]
        self.summary.records[task.key] = record
        self.manifest.record(record)
        self.summary.executed += 1
        run.executed += 1
        run.last = time.perf_counter()
        if not record.done:
            run.failed += 1
            self.summary.failed.append({"stage": task.stage, "tile": task.tile, "error": record.error})
            log.error("%s %s failed: %s", task.stage, task.tile, record.error)
        if run.bar is not None:
            run.bar.update(1)
        self.flow.finished_task(self.stages[task.stage], task.meshes)

    def _close_complete(self) -> None:
        """Log, close the bar of and sync the journal for every stage that just ended."""
        for stage in self.flow.newly_complete():
            run = self.runs[stage.name]
            if run.bar is not None:
                run.bar.close()
            if not run.tasks:
                log.info("%s: nothing to do", stage.name)
                continue
            log.info(
                "%s: finished in %.1f s: %d task(s) run, %d skipped as finished (inputs "
                "and parameters unchanged), %d failed%s",
                stage.name,
                run.seconds,
                run.executed,
                run.skipped,
                run.failed,
                f", {run.from_baseline} taken from the baseline" if run.from_baseline else "",
            )
            self.manifest.sync()


def _check_tiles(stage: Stage, tasks: list[Task], tiles: list[str]) -> None:
    """A per-tile planner plans the tiles it is given, no other: a task for another tile
    would be planned again (or too early) when that tile's turn comes."""
    stray = sorted({task.tile for task in tasks} - set(tiles))
    if stray:
        raise RuntimeError(
            f"stage {stage.name} (reach {stage.reach!r}) planned tasks for "
            f"tiles {stray[:5]} it was not given; a per-tile planner plans "
            f"only ctx.tiles"
        )


def _execute(plan, manifest: Manifest, client: Any, summary: RunSummary, progress: bool) -> None:
    """Run the plan's stages, overlapping them tile by tile (see :mod:`pipeline.core.flow`)."""
    _Execution(plan, manifest, client, summary, progress).run()
