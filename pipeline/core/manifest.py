"""The run manifest: inputs with content hashes, parameters, versions, tasks, timings.

It is rewritten atomically as tasks finish, so a crashed run can resume: a task whose
key (a hash of its stage, tile, parameters, input hashes and upstream keys) is recorded
as done, with every output still on disk, is skipped by the next run.
"""
from __future__ import annotations

import importlib.metadata
import json
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.core.task import Record
from pipeline.geo.atomic import write_text_atomic

MANIFEST_NAME = "manifest.json"
_PACKAGES = ("machi", "numpy", "lxml", "pyproj", "shapely", "geopandas", "pyarrow",
             "rasterio", "dask", "distributed", "pvlib", "numba", "trimesh", "laspy",
             "japan-geoid", "cityseer", "osmnx")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


@dataclass
class Manifest:
    """What a run read, did and wrote. Persisted as ``<output>/manifest.json``."""

    path: Path
    data: dict[str, Any] = field(default_factory=dict)
    _last_write: float = 0.0

    @classmethod
    def open(cls, output: Path) -> "Manifest":
        path = Path(output) / MANIFEST_NAME
        data: dict[str, Any] = {}
        if path.exists():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError:
                data = {}  # an unreadable manifest only costs a full rerun
        data.setdefault("tasks", {})
        data.setdefault("inputs", {})
        data.setdefault("runs", [])
        return cls(path, data)

    # -- inputs --------------------------------------------------------------------
    def input_hash(self, name: str, size: int, mtime: float, compute) -> str:
        """Content hash of an input, recomputed only when its size or mtime changed."""
        known = self.data["inputs"].get(name)
        if known and known.get("size") == size and known.get("mtime") == mtime:
            return known["sha256"]
        digest = compute()
        self.data["inputs"][name] = {"sha256": digest, "size": size, "mtime": mtime}
        return digest

    # -- tasks ---------------------------------------------------------------------
    def finished(self, key: str) -> Record | None:
        """The record of a finished task whose outputs all still exist, else None."""
        data = self.data["tasks"].get(key)
        if not data or data.get("status") != "done":
            return None
        record = Record.from_json(data)
        record.key = key
        outputs = [p for p in output_paths(record.outputs) if p]
        if all(Path(p).exists() for p in outputs):
            return record
        return None

    def record(self, record: Record) -> None:
        self.data["tasks"][record.key] = record.to_json()
        if time.monotonic() - self._last_write > 2.0:
            self.save()

    def save(self) -> None:
        self._last_write = time.monotonic()
        write_text_atomic(self.path, json.dumps(self.data, indent=1, ensure_ascii=False,
                                                default=str))


def output_paths(outputs: Any) -> list[str]:
    """Every path string in a (nested) outputs record."""
    if isinstance(outputs, str):
        return [outputs]
    if isinstance(outputs, dict):
        return [p for v in outputs.values() for p in output_paths(v)]
    if isinstance(outputs, (list, tuple)):
        return [p for v in outputs for p in output_paths(v)]
    return []
