"""The run manifest: inputs with content hashes, parameters, versions, tasks, timings.

Two files in the output folder hold it:

- ``manifest.journal.jsonl``, the journal: one JSON line per finished task (its
  :class:`Record`) or freshly hashed input, appended and flushed as it happens, so
  recording a task costs the same whatever the size of the run. The file is fsynced at
  most once a second and at the end of every stage.
- ``manifest.json``, the compacted manifest: at the end of a run (and at the start of a
  run that finds a journal, i.e. after a crash) the journal is folded into it, written
  atomically, with tasks sorted by stage, tile and key, one per line, so the file is the
  same bytes whatever order the tasks finished in. The journal is then removed.

A run reads ``manifest.json`` and then the journal, the later line winning. A file cut
off mid-write (a crash, a full disk) is read up to its first bad line: the log names the
file and the line, the rest is ignored, and every record kept is still checked before it
is trusted (its key is the task's and its outputs are on disk); the tasks whose records
were lost run again, nothing else does.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import logging
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pipeline.core.outputs import NoOutputs, Outputs, OutputsError, paths_in
from pipeline.core.task import Record

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
JOURNAL_NAME = "manifest.journal.jsonl"
#: Top-level keys of manifest.json, in the order they are written (others follow, sorted).
#: The collections hold one item per line, so a file cut off mid-write keeps its head.
_ORDER = ("run", "crs", "versions", "definition", "inputs", "runs", "failures", "tasks", "outputs")
_SYNC_SECONDS = 1.0
_PACKAGES = (
    "machi",
    "numpy",
    "lxml",
    "pyproj",
    "shapely",
    "geopandas",
    "pyarrow",
    "rasterio",
    "dask",
    "distributed",
    "pvlib",
    "numba",
    "trimesh",
    "laspy",
    "japan-geoid",
    "cityseer",
    "osmnx",
)


class ManifestError(RuntimeError):
    """The manifest or its journal cannot be written (read-only or missing folder, full disk)."""


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


@dataclass
class Recovery:
    """What :meth:`Manifest.open` read: records from each file and the lines it dropped."""

    manifest_tasks: int = 0
    journal_tasks: int = 0
    journal_inputs: int = 0
    bad_lines: list[str] = field(default_factory=list)  # "path:line: reason"

    @property
    def interrupted(self) -> bool:
        """Whether a previous run left a journal or a damaged file behind."""
        return bool(self.journal_tasks or self.journal_inputs or self.bad_lines)


@dataclass
class Manifest:
    """What a run read, did and wrote. Persisted as ``<output>/manifest.json`` plus its journal."""

    path: Path
    data: dict[str, Any] = field(default_factory=dict)
    recovery: Recovery = field(default_factory=Recovery)
    _journal: IO[str] | None = field(default=None, repr=False)
    _last_sync: float = 0.0
    _untyped_stages: set[str] = field(default_factory=set, repr=False)  # warned once each

    @property
    def journal_path(self) -> Path:
        return self.path.with_name(JOURNAL_NAME)

    @classmethod
    def open(cls, output: Path) -> Manifest:
        """The manifest of ``output``: ``manifest.json``, then the journal's lines on top.

        Reading writes nothing; a damaged file is read up to its first bad line (logged).
        """
        path = Path(output) / MANIFEST_NAME
        manifest = cls(path)
        data = _read_manifest(path, manifest.recovery)
        data.setdefault("tasks", {})
        data.setdefault("inputs", {})
        data.setdefault("runs", [])
        manifest.data = data
        manifest.recovery.manifest_tasks = len(data["tasks"])
        manifest._replay(manifest.journal_path)
        return manifest

    # -- inputs --------------------------------------------------------------------
    def input_hash(self, name: str, size: int, mtime: float, compute: Callable[[], str]) -> str:
        """Content hash of an input, recomputed only when its size or mtime changed."""
        known = self.data["inputs"].get(name)
        if known and known.get("size") == size and known.get("mtime") == mtime:
            return known["sha256"]
        digest = compute()
        entry = {"sha256": digest, "size": size, "mtime": mtime}
        self.data["inputs"][name] = entry
        self._append({"input": name, **entry})
        return digest

    # -- tasks ---------------------------------------------------------------------
    def finished(
        self,
        key: str,
        stage: str | None = None,
        tile: str | None = None,
        *,
        outputs: type[Outputs] | None = None,
    ) -> Record | None:
        """The record of a finished task, if it can be trusted, else None.

        Trusted means: status done, recorded under its own key (and ``stage``/``tile``
        when given), its outputs are those ``outputs`` (the stage's declared type)
        declares, and every output it names is on disk (outputs are written under a
        temporary name and renamed when complete, so a path that exists is whole). A
        record whose outputs its stage no longer declares (a manifest of older code) is
        logged and not trusted: its task runs again.
        """
        data = self.data["tasks"].get(key)
        if not isinstance(data, dict) or data.get("status") != "done":
            return None
        if data.get("key", key) != key:
            return None
        try:
            record = Record.from_json(data, outputs or NoOutputs)
        except OutputsError as exc:
            stage_name = str(data.get("stage", ""))
            if stage_name not in self._untyped_stages:  # once per stage, not once per tile
                self._untyped_stages.add(stage_name)
                log.warning(
                    "%s: task %s: %s; the task runs again, as does every task of stage %r recorded so",
                    self.path,
                    key,
                    exc,
                    stage_name,
                )
            return None
        except TypeError:
            return None
        record.key = key
        if (stage is not None and record.stage != stage) or (tile is not None and record.tile != tile):
            return None
        outputs = [p for p in output_paths(record.outputs) if p]
        if all(Path(p).exists() for p in outputs):
            return record
        return None

    def record(self, record: Record) -> None:
        """Keep a finished task: one line appended to the journal (O(1), whatever the run size)."""
        data = record.to_json()
        self.data["tasks"][record.key] = data
        self._append({"task": data})

    # -- files ---------------------------------------------------------------------
    def _append(self, entry: dict) -> None:
        line = json.dumps(entry, ensure_ascii=False, default=str, separators=(",", ":")) + "\n"
        path = self.journal_path
        try:
            if self._journal is None:
                self._journal = open(path, "a", encoding="utf-8", newline="\n")
            self._journal.write(line)
            self._journal.flush()  # in the OS's hands: survives the death of this process
            if time.monotonic() - self._last_sync >= _SYNC_SECONDS:
                self._fsync()
        except OSError as exc:
            raise ManifestError(
                f"cannot write the run journal {path}: {exc.strerror or exc} (is the output folder writable?)"
            ) from None

    def _fsync(self) -> None:
        self._last_sync = time.monotonic()
        if self._journal is not None:
            os.fsync(self._journal.fileno())

    def sync(self) -> None:
        """Flush the journal to disk (end of a stage)."""
        if self._journal is None:
            return
        try:
            self._journal.flush()
            self._fsync()
        except OSError as exc:
            raise ManifestError(
                f"cannot write the run journal {self.journal_path}: {exc.strerror or exc}"
            ) from None

    def close(self) -> None:
        if self._journal is not None:
            try:
                self.sync()
            finally:
                self._journal.close()
                self._journal = None

    def compact(self) -> None:
        """Fold the journal into ``manifest.json`` (atomic, fsynced), then remove the journal.

        Dying between the two steps is harmless: the journal's lines are already in the
        manifest, and reading them again changes nothing.
        """
        self.close()
        write_durable(self.path, dumps(self.data))
        try:
            self.journal_path.unlink(missing_ok=True)
        except OSError as exc:
            raise ManifestError(
                f"cannot remove the run journal {self.journal_path}: {exc.strerror or exc}"
            ) from None

    def save(self) -> None:
        """Alias of :meth:`compact` (older callers)."""
        self.compact()

    def _replay(self, path: Path) -> None:
        """Apply the journal's lines on top of ``manifest.json``; skip (and log) bad lines."""
        if not path.exists():
            return
        recovery = self.recovery
        try:
            stream = open(path, "rb")
        except OSError as exc:
            raise ManifestError(f"cannot read the run journal {path}: {exc.strerror or exc}") from None
        with stream:
            for number, raw in enumerate(stream, 1):
                reason = None
                try:
                    entry = json.loads(raw)
                except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                    reason = f"not valid JSON ({exc.msg if hasattr(exc, 'msg') else exc})"
                    if not raw.endswith(b"\n"):
                        reason = f"cut off mid-write, {reason}"
                else:
                    if (
                        isinstance(entry, dict)
                        and isinstance(entry.get("task"), dict)
                        and isinstance(entry["task"].get("key"), str)
                        and entry["task"]["key"]
                    ):
                        self.data["tasks"][entry["task"]["key"]] = entry["task"]
                        recovery.journal_tasks += 1
                    elif (
                        isinstance(entry, dict)
                        and isinstance(entry.get("input"), str)
                        and isinstance(entry.get("sha256"), str)
                    ):
                        self.data["inputs"][entry["input"]] = {
                            k: entry.get(k) for k in ("sha256", "size", "mtime")
                        }
                        recovery.journal_inputs += 1
                    else:
                        reason = "not a task or input entry"
                if reason:
                    recovery.bad_lines.append(f"{path}:{number}: {reason}")
                    log.warning(
                        "%s, line %d: %s; ignoring the line (the task it held, if any, runs again)",
                        path,
                        number,
                        reason,
                    )
        if recovery.journal_tasks or recovery.journal_inputs:
            log.info(
                "%s: %d task record(s) and %d input hash(es) of an interrupted run",
                path,
                recovery.journal_tasks,
                recovery.journal_inputs,
            )


def _read_manifest(path: Path, recovery: Recovery) -> dict[str, Any]:
    """``manifest.json`` as a dict; a damaged file yields what precedes its first bad line."""
    if not path.exists():
        return {}
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ManifestError(f"cannot read the manifest {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(raw)
        if isinstance(data, dict):
            return data
        problem = (1, "not a JSON object")
    except (json.JSONDecodeError, UnicodeDecodeError):
        problem = None
    text = raw.decode("utf-8", errors="replace")
    data, bad = _salvage(text)
    line, reason = bad if bad else (problem or (1, "not valid JSON"))
    recovery.bad_lines.append(f"{path}:{line}: {reason}")
    log.warning(
        "%s is damaged at line %d (%s): ignoring that line and the rest of the file; "
        "kept %d task record(s) and %d input hash(es) from the lines before it, and "
        "each is trusted only if its outputs are on disk",
        path,
        line,
        reason,
        len(data.get("tasks", {})),
        len(data.get("inputs", {})),
    )
    return data


def _salvage(text: str) -> tuple[dict[str, Any], tuple[int, str] | None]:
    """Read a manifest written by :func:`dumps` line by line, up to its first bad line.

    Returns what was read and ``(line number, reason)`` of the first bad line (None if
    the text ended cleanly, which :func:`json.loads` would have accepted anyway).
    """
    data: dict[str, Any] = {}
    section: str | None = None
    lines = text.split("\n")
    for number, line in enumerate(lines, 1):
        item = line.strip()
        if not item:
            continue
        body = item[:-1] if item.endswith(",") else item
        try:
            if number == 1:
                if item != "{":
                    return data, (number, "does not start with '{'")
            elif section is None:
                if item == "}":
                    return data, None
                if body.endswith(": {") or body.endswith(": ["):
                    name = json.loads(body[:-3])
                    data[name] = {} if body.endswith("{") else []
                    section = name
                else:
                    data.update(json.loads("{" + body + "}"))
            elif body in ("}", "]"):
                section = None
            elif isinstance(data[section], dict):
                data[section].update(json.loads("{" + body + "}"))
            else:
                data[section].append(json.loads(body))
        except (json.JSONDecodeError, ValueError, TypeError) as exc:
            cut = number == len(lines) and not text.endswith("\n")
            reason = getattr(exc, "msg", str(exc))
            return data, (number, f"cut off mid-write ({reason})" if cut else f"not valid JSON ({reason})")
    return data, (len(lines), "cut off mid-write (the file ends inside it)")


def _sort_tasks(tasks: dict[str, Any]) -> list[tuple[str, Any]]:
    def order(item: tuple[str, Any]) -> tuple:
        key, value = item
        value = value if isinstance(value, dict) else {}
        return (str(value.get("stage", "")), str(value.get("tile", "")), key)

    return sorted(tasks.items(), key=order)


def dumps(data: dict[str, Any]) -> str:
    """``manifest.json``'s text: valid JSON, one collection item per line, in a fixed order.

    Tasks sorted by stage, tile and key; inputs by name; outputs and failures sorted; runs
    in the order they ran. The same content gives the same bytes, whatever the order in
    which tasks finished.
    """

    def one(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, default=str)

    collections: dict[str, list[tuple[str | None, Any]]] = {
        "inputs": [(k, v) for k, v in sorted(data.get("inputs", {}).items())],
        "tasks": _sort_tasks(data.get("tasks", {})),
        "runs": [(None, v) for v in data.get("runs", [])],
        "failures": [(None, v) for v in sorted(data.get("failures", []) or [], key=one)],
        "outputs": [(None, v) for v in sorted(data.get("outputs", []) or [], key=one)],
    }
    names = [k for k in _ORDER if k in data] + sorted(k for k in data if k not in _ORDER)
    parts = []
    for name in names:
        if name in collections and isinstance(data[name], (dict, list)):
            is_dict = isinstance(data[name], dict)
            items = collections[name]
            body = ",\n".join(f" {one(k)}: {one(v)}" if is_dict else f" {one(v)}" for k, v in items)
            open_, close = ("{", "}") if is_dict else ("[", "]")
            parts.append(
                f"{one(name)}: {open_}\n{body}\n{close}" if items else f"{one(name)}: {open_}{close}"
            )
        else:
            parts.append(f"{one(name)}: {one(data[name])}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def write_durable(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temporary name, fsync, rename, fsync the folder)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise ManifestError(
            f"cannot write the manifest {path}: {exc.strerror or exc} (is the output folder writable?)"
        ) from None
    with contextlib.suppress(OSError):
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def output_paths(outputs: Any) -> list[str]:
    """Every path string in an outputs record (typed or its JSON form, nested)."""
    return paths_in(outputs)
