"""Texture images for tile content, read from the dataset and confined to it.

A PLATEAU texture is an image file beside the CityGML (``<mesh>_bldg_6697_appearance/
x.jpg``). Its path comes from untrusted data, so a path that climbs out of the dataset
(``..``, an absolute path, or a symlink pointing elsewhere) is refused; so are missing
files and formats glTF cannot carry (glTF 2.0 core allows PNG and JPEG only). A refused
texture leaves the surface with its material colour, with a warning.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path

from citygml import Dataset
from citygml.errors import UnsafeInputError
from citygml.source import normalise_member
from tiles import Texture

log = logging.getLogger(__name__)

_SIGNATURES = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))


def image_mime_type(data: bytes) -> str | None:
    """``image/png`` or ``image/jpeg`` from the file's signature, None for anything else."""
    for signature, mime in _SIGNATURES:
        if data.startswith(signature):
            return mime
    return None


def confined_member(dataset: Dataset, member: str) -> str:
    """``member`` normalised, checked to stay inside ``dataset`` (symlinks resolved).

    Raises
    ------
    citygml.errors.UnsafeInputError
        If the path is absolute, climbs out with ``..`` or resolves outside the folder.
    """
    clean = normalise_member(member, source=str(dataset.path))
    local = dataset.local_path(clean)
    if local is not None:
        root = Path(dataset.path).resolve()
        if not local.resolve().is_relative_to(root):
            raise UnsafeInputError(
                str(dataset.path), f"path {member!r} resolves outside the dataset; refused"
            )
    return clean


class TextureStore:
    """Texture images of one or more datasets, each read once.

    Parameters
    ----------
    datasets : sequence of citygml.Dataset or path
        Where texture members are looked up, in order (a run may name several inputs).
    max_bytes : int
        Images larger than this are refused (an untrusted file must not fill memory).
    """

    def __init__(self, datasets: Sequence[Dataset | str | Path], *, max_bytes: int = 64_000_000):
        self.datasets = [d if isinstance(d, Dataset) else Dataset(d) for d in datasets]
        self.max_bytes = max_bytes
        self.problems: list[str] = []
        self._cache: dict[str, Texture | None] = {}
        self._lock = threading.Lock()

    def get(self, member: str | None, *, uri: str | None = None, feature_id: str = "") -> Texture | None:
        """The image at dataset member ``member``, or None (with one warning per image) if
        refused; ``member`` None with a ``uri`` is an image the reader found absent or
        outside the dataset."""
        if not member and not uri:
            return None
        key = member or f"uri:{uri}"
        with self._lock:
            if key not in self._cache:
                self._cache[key] = (
                    self._read(member, feature_id)
                    if member
                    else self._refuse(
                        f"feature {feature_id}: texture image {uri!r} is absent or outside the dataset; "
                        f"using the material colour"
                    )
                )
            return self._cache[key]

    def _refuse(self, message: str) -> None:
        log.warning("%s", message)
        self.problems.append(message)
        return None

    def _read(self, member: str, feature_id: str) -> Texture | None:
        where = f"feature {feature_id}: " if feature_id else ""
        for dataset in self.datasets:
            try:
                clean = confined_member(dataset, member)
            except UnsafeInputError as exc:
                self._refuse(f"{where}texture {exc}; using the material colour")
                return None
            if not dataset.exists(clean):
                continue
            size = dataset.size(clean)
            if size > self.max_bytes:
                self._refuse(
                    f"{where}texture {dataset.display(clean)} is {size} bytes, over the "
                    f"{self.max_bytes} limit; using the material colour"
                )
                return None
            data = dataset.read_bytes(clean)
            mime = image_mime_type(data)
            if mime is None:
                self._refuse(
                    f"{where}texture {dataset.display(clean)} is neither PNG nor JPEG; "
                    f"using the material colour"
                )
                return None
            return Texture(data, mime)
        self._refuse(
            f"{where}texture image {member!r} not found in "
            f"{', '.join(str(d.path) for d in self.datasets) or 'no dataset'}; using the material colour"
        )
        return None
