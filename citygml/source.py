"""Where CityGML comes from: a single file, a PLATEAU city folder, or the city's zip.

A :class:`Dataset` is the root of a PLATEAU download (the folder holding ``udx/`` and
``codelists/``, or the zip read in place); a :class:`Source` is one ``.gml`` file in it.
Paths inside a dataset are POSIX, relative to its root, and may never leave it: zip
members or references (codelists, texture images) that would escape are refused.
"""

from __future__ import annotations

import io
import logging
import posixpath
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from citygml.errors import Problem, UnsafeInputError

log = logging.getLogger(__name__)

# PLATEAU file names: <mesh>_<type>_<crs>[_<variant>...]_op[_<n>].gml
_FILE_NAME = re.compile(r"^(?P<mesh>\d{6,10})_(?P<type>[a-z]+)_(?P<crs>\d{4,5})(?:_.*)?\.gml$", re.I)


def normalise_member(name: str, *, source: str = "") -> str:
    """A safe POSIX path relative to a dataset root, or :class:`UnsafeInputError`.

    Refuses absolute paths, drive letters, and ``..`` components that climb out of the
    root (the zip-slip attack).
    """
    clean = name.replace("\\", "/")
    if clean.startswith("/") or re.match(r"^[A-Za-z]:", clean):
        raise UnsafeInputError(source or name, f"path {name!r} is absolute; refused")
    norm = posixpath.normpath(clean)
    if norm == ".." or norm.startswith("../"):
        raise UnsafeInputError(source or name, f"path {name!r} escapes the dataset; refused")
    return "" if norm == "." else norm


def meshes_related(code: str | None, meshes) -> bool:
    """Whether a file's JIS X 0410 mesh code and one of ``meshes`` overlap: either code
    is a prefix of the other (a 2nd-level DEM file holds 3rd-level tiles, and the reverse)."""
    return bool(code) and any(code.startswith(m) or m.startswith(code) for m in meshes)


@dataclass(frozen=True)
class Source:
    """One CityGML file inside a dataset."""

    dataset: Dataset
    member: str  # POSIX path relative to the dataset root

    @property
    def name(self) -> str:
        """A human-readable location: ``city.zip!udx/bldg/..._op.gml`` or a file path."""
        return self.dataset.display(self.member)

    @property
    def file_name(self) -> str:
        return posixpath.basename(self.member)

    @property
    def feature_type(self) -> str | None:
        """The PLATEAU type folder (``bldg``, ``dem``, ...) or the type in the file name."""
        parts = self.member.split("/")
        if "udx" in parts and parts.index("udx") + 1 < len(parts) - 1:
            return parts[parts.index("udx") + 1]
        match = _FILE_NAME.match(self.file_name)
        return match.group("type") if match else None

    @property
    def mesh_code(self) -> str | None:
        match = _FILE_NAME.match(self.file_name)
        return match.group("mesh") if match else None

    @property
    def variant(self) -> str:
        """What a PLATEAU file name adds after its CRS, ``op`` aside: ``yoto`` for
        ``533915_urf_6668_yoto_op.gml`` (one mesh holds several planning files), ``05`` for
        ``523965_dem_6697_05_op.gml``, ``""`` for ``52397519_bldg_6697_op.gml``."""
        match = _FILE_NAME.match(self.file_name)
        if not match:
            return ""
        rest = self.file_name[match.end("crs") : -len(".gml")]
        return "_".join(part for part in rest.split("_") if part and part.lower() != "op")

    @property
    def size(self) -> int:
        return self.dataset.size(self.member)

    def open(self) -> IO[bytes]:
        return self.dataset.open(self.member)

    def resolve(self, reference: str) -> str:
        """Resolve a reference written in this file (codeSpace, imageURI) to a member path."""
        base = posixpath.dirname(self.member)
        return normalise_member(posixpath.join(base, reference), source=self.name)


class Dataset:
    """A PLATEAU dataset root: a folder, a zip archive, or the folder of a single file."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._zip: zipfile.ZipFile | None = None
        self._zip_root = ""
        self.problems: list[Problem] = []
        if self.path.is_file() and zipfile.is_zipfile(self.path):
            self._zip = zipfile.ZipFile(self.path)
            self._zip_root = self._find_zip_root()
        elif not self.path.exists():
            raise FileNotFoundError(f"{self.path}: no such file or folder")

    # -- discovery -------------------------------------------------------------------
    @classmethod
    def for_path(cls, path: str | Path) -> tuple[Dataset, list[str] | None]:
        """The dataset holding ``path`` and, for a single ``.gml`` file, its member name.

        For a single file the dataset root is guessed as the folder above ``udx/`` when
        the file sits in a PLATEAU layout (so ``codelists/`` is found), else its folder.
        """
        p = Path(path)
        if p.is_file() and p.suffix.lower() == ".gml":
            parts = p.resolve().parts
            root = p.resolve().parent
            if "udx" in parts:
                root = Path(*parts[: len(parts) - 1 - parts[::-1].index("udx")])
            member = p.resolve().relative_to(root).as_posix()
            return cls(root), [member]
        return cls(p), None

    def _find_zip_root(self) -> str:
        # A city zip usually wraps everything in one top folder: <code>_<city>_<year>_.../udx/...
        for name in self._zip.namelist():
            parts = name.split("/")
            if "udx" in parts:
                return "/".join(parts[: parts.index("udx")])
        return ""

    def members(self) -> list[str]:
        """Every ``.gml`` member under ``udx/`` (or anywhere, if there is no ``udx``)."""
        if self._zip is not None:
            names = []
            for info in self._zip.infolist():
                if info.is_dir() or not info.filename.lower().endswith(".gml"):
                    continue
                try:
                    full = normalise_member(info.filename, source=str(self.path))
                except UnsafeInputError as exc:
                    self.problems.append(Problem(str(self.path), exc.problem, severity="error"))
                    log.warning("%s", exc)
                    continue
                rel = full[len(self._zip_root) + 1 :] if self._zip_root else full
                names.append(rel)
            return sorted(names)
        root = self.path
        base = root / "udx" if (root / "udx").is_dir() else root
        return sorted(p.relative_to(root).as_posix() for p in base.rglob("*.gml"))

    def sources(
        self,
        *,
        types: Iterable[str] | None = None,
        meshes: Iterable[str] | None = None,
        only: list[str] | None = None,
    ) -> list[Source]:
        """The CityGML files of the dataset, filtered by feature type and mesh code.

        A file matches a mesh code when either code is a prefix of the other (a 2nd-level
        DEM file matches the 3rd-level tiles inside it, and the reverse).
        """
        wanted_types = {t.lower() for t in types} if types else None
        wanted_meshes = [str(m) for m in meshes] if meshes else None
        found = []
        for member in only if only is not None else self.members():
            source = Source(self, member)
            if wanted_types and (source.feature_type or "").lower() not in wanted_types:
                continue
            if wanted_meshes and not meshes_related(source.mesh_code, wanted_meshes):
                continue
            found.append(source)
        return found

    # -- access ----------------------------------------------------------------------
    def _full(self, member: str) -> str:
        return f"{self._zip_root}/{member}" if self._zip_root else member

    def display(self, member: str) -> str:
        if self._zip is not None:
            return f"{self.path}!{self._full(member)}"
        return str(self.path / member)

    def exists(self, member: str) -> bool:
        if self._zip is not None:
            try:
                self._zip.getinfo(self._full(member))
                return True
            except KeyError:
                return False
        return (self.path / member).is_file()

    def size(self, member: str) -> int:
        if self._zip is not None:
            return self._zip.getinfo(self._full(member)).file_size
        return (self.path / member).stat().st_size

    def open(self, member: str) -> IO[bytes]:
        member = normalise_member(member, source=str(self.path))
        if self._zip is not None:
            return self._zip.open(self._full(member))
        return open(self.path / member, "rb")

    def read_bytes(self, member: str) -> bytes:
        with self.open(member) as fh:
            return fh.read()

    def local_path(self, member: str) -> Path | None:
        """A filesystem path for a member of a folder dataset (None inside a zip)."""
        if self._zip is not None:
            return None
        return self.path / normalise_member(member, source=str(self.path))

    def __repr__(self) -> str:
        return f"Dataset({str(self.path)!r})"

    def __reduce__(self):
        # Datasets travel to Dask workers by path; the zip handle is reopened there.
        return (Dataset, (str(self.path),))


def peek_prolog(stream: IO[bytes], source: str, limit: int = 65536) -> IO[bytes]:
    """Refuse documents that declare a DTD or entities, before any parser sees them.

    Returns a stream that yields the whole document again: ``stream`` itself rewound
    when it can seek (files, zip members), else the peeked bytes then the rest.
    """
    head = stream.read(limit)
    root_start = _root_start(head)
    prolog = head[:root_start] if root_start >= 0 else head
    if b"<!DOCTYPE" in prolog or b"<!ENTITY" in prolog:
        raise UnsafeInputError(
            source,
            "document declares a DTD or entities (<!DOCTYPE>/<!ENTITY>); "
            "refused: CityGML needs neither and entity expansion is an attack vector",
            line=prolog[: prolog.find(b"<!")].count(b"\n") + 1,
        )
    if stream.seekable():
        stream.seek(0)
        return stream
    return _Prepended(head, stream)


_XMLNS = re.compile(rb'xmlns:([A-Za-z_][\w.-]*)\s*=\s*["\']([^"\']*)["\']')
_IUR_URI = re.compile(rb"^(.*/iur/)(uro|urf)(/\d+(?:\.\d+)*)$")


def bind_iur_prefixes(stream: IO[bytes], limit: int = 65536) -> tuple[IO[bytes], dict[str, str]]:
    """Declare an i-UR prefix the root element forgets, when the file says what it must mean.

    Some PLATEAU files declare ``xmlns:urf=".../iur/urf/2.0"`` on the root element and
    then use ``uro:`` elements without declaring ``uro`` (or the reverse). The two modules
    are published together, one version each, so the missing prefix can only mean the
    sibling namespace of the same version (``.../iur/uro/2.0``). Returns the document
    stream with that declaration added to the root start tag, and ``{prefix: uri}`` of
    what was added (empty when both or neither are declared: an undeclared prefix then
    rejects the file when the parser meets it). When something was added the stream is a
    :class:`PrefixWatch` whose ``used`` tells, once read, which added prefixes the
    document actually used.
    """
    head = stream.read(limit)
    start = _root_start(head)
    end = _tag_end(head, start) if start >= 0 else -1
    if end < 0:
        return PrefixWatch(head, stream, ()), {}
    declared = dict(_XMLNS.findall(head[start:end]))
    added: dict[str, str] = {}
    for _prefix, uri in declared.items():
        match = _IUR_URI.match(uri)
        if match is None:
            continue
        sibling = b"urf" if match.group(2) == b"uro" else b"uro"
        if sibling not in declared and sibling.decode() not in added:
            added[sibling.decode()] = (match.group(1) + sibling + match.group(3)).decode()
    if not added:
        if stream.seekable():
            stream.seek(0)
            return stream, {}  # type: ignore[return-value]  # read natively, nothing to watch
        return PrefixWatch(head, stream, ()), {}
    extra = "".join(f' xmlns:{p}="{u}"' for p, u in sorted(added.items())).encode()
    insert = end - 1 if head[end - 1 : end] == b"/" else end
    head = head[:insert] + extra + head[insert:]
    return PrefixWatch(head, stream, added), added


def _tag_end(head: bytes, start: int) -> int:
    """Offset of the ``>`` closing the start tag at ``start`` (quotes honoured), or -1."""
    quote = None
    for i in range(start + 1, len(head)):
        c = head[i]
        if quote is not None:
            if c == quote:
                quote = None
        elif c in (0x22, 0x27):
            quote = c
        elif c == 0x3E:
            return i
    return -1


def _root_start(head: bytes) -> int:
    """Offset of the root element's start tag in ``head``, or -1."""
    pos = 0
    while True:
        pos = head.find(b"<", pos)
        if pos < 0 or pos + 1 >= len(head):
            return -1
        nxt = head[pos + 1 : pos + 2]
        if nxt in (b"?", b"!"):
            pos += 2
            continue
        return pos


class _Prepended(io.RawIOBase):
    """A read-only stream: some bytes already read, then the rest of another stream."""

    def __init__(self, head: bytes, rest: IO[bytes]):
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if len(self._head):
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._rest.close()
        super().close()


class PrefixWatch(_Prepended):
    """:class:`_Prepended` that notes which of some prefixes open an element (``<uro:``)
    in the bytes it passes on: one ``bytes.find`` per chunk, no second walk of the tree."""

    def __init__(self, head: bytes, rest: IO[bytes], prefixes: Iterable[str]):
        super().__init__(head, rest)
        self._watch = {p: f"<{p}:".encode() for p in prefixes}
        self.used: set[str] = set()
        self._tail = b""

    def readinto(self, buffer) -> int:
        n = super().readinto(buffer)
        if self._watch and n:
            chunk = self._tail + bytes(buffer[:n])
            for prefix, needle in list(self._watch.items()):
                if chunk.find(needle) >= 0:
                    self.used.add(prefix)
                    del self._watch[prefix]
            self._tail = chunk[-16:]
        return n
