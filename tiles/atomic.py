"""Atomic file output: write to a temporary name beside the target, rename when complete.

A crashed run therefore never leaves a half-written file or tileset.json under a final
name. The one writer of the project: ``tiles`` writes through it, and so does every
stage of ``pipeline`` (it lives here because ``tiles`` must not import ``pipeline``).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    The temporary name keeps the suffix so that drivers which infer the format from
    the extension (GDAL, pyarrow) still work. On an exception the temporary file or
    folder is removed and the target is left untouched.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.stem}.{uuid.uuid4().hex[:8]}.tmp{target.suffix}")
    try:
        yield tmp
        if tmp.is_dir() and target.is_dir():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically and return the path."""
    return write_bytes_atomic(path, text.encode("utf-8"))


#: Names :func:`atomic_path` gives their temporary files and folders.
_TEMPORARY = re.compile(r"^\..+\.[0-9a-f]{8}\.tmp(\.[A-Za-z0-9]+)?$")


def remove_temporaries(root: str | os.PathLike) -> list[Path]:
    """Remove the temporary files and folders a killed writer left below ``root``.

    A process killed mid-write (a worker or a client killed with SIGKILL) never reaches
    the clean-up of :func:`atomic_path`; its half file keeps a temporary name, so no
    reader mistakes it for an output. Call this when no writer is running in ``root``
    (the end of a run). Returns the paths removed.
    """
    removed = []
    for folder, dirs, files in os.walk(root):
        for name in [d for d in dirs if _TEMPORARY.match(d)]:
            dirs.remove(name)
            shutil.rmtree(Path(folder) / name, ignore_errors=True)
            removed.append(Path(folder) / name)
        for name in files:
            if _TEMPORARY.match(name):
                with contextlib.suppress(FileNotFoundError):
                    (Path(folder) / name).unlink()
                removed.append(Path(folder) / name)
    return sorted(removed)
