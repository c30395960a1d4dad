"""Fixtures for the tiles tests: synthetic buildings and the Khronos glTF-Validator."""

from __future__ import annotations

import os
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

JS_DIR = Path(__file__).resolve().parents[1] / "js"
METRES_PER_DEG_LAT = 110_940.0  # near 35.7 N, precise enough to lay out test geometry


def house(
    lon: float, lat: float, ground_h: float, width: float, depth: float, eave_h: float, roof_h: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """A box (``roof_h=0``, LOD1-like) or gabled house (LOD2-like), lon/lat/h vertices."""
    m_lon = METRES_PER_DEG_LAT * np.cos(np.radians(lat))
    corners = np.array([[0, 0], [width, 0], [width, depth], [0, depth]], dtype=float)
    lonlat = np.column_stack([lon + corners[:, 0] / m_lon, lat + corners[:, 1] / METRES_PER_DEG_LAT])
    bottom = np.column_stack([lonlat, np.full(4, ground_h)])
    top = np.column_stack([lonlat, np.full(4, ground_h + eave_h)])
    walls = [[0, 1, 5], [0, 5, 4], [1, 2, 6], [1, 6, 5], [2, 3, 7], [2, 7, 6], [3, 0, 4], [3, 4, 7]]
    floor = [[0, 2, 1], [0, 3, 2]]
    if roof_h <= 0:
        return np.vstack([bottom, top]), np.array(floor + walls + [[4, 5, 6], [4, 6, 7]])
    ridge = np.array(
        [
            [lon, lat + depth / 2 / METRES_PER_DEG_LAT, ground_h + eave_h + roof_h],
            [lon + width / m_lon, lat + depth / 2 / METRES_PER_DEG_LAT, ground_h + eave_h + roof_h],
        ]
    )
    roof = [[4, 5, 9], [4, 9, 8], [6, 7, 8], [6, 8, 9], [5, 6, 9], [7, 4, 8]]
    return np.vstack([bottom, top, ridge]), np.array(floor + walls + roof)


def tiny_png(width: int = 4, height: int = 4) -> bytes:
    """A valid RGB PNG of a checkerboard."""
    rows = b"".join(
        b"\x00" + bytes(v for x in range(width) for v in ((255, 0, 0) if (x + y) % 2 else (0, 0, 255)))
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def node_with(package: str, what: str) -> str:
    """Path of ``node`` when ``package`` is installed in tests/js; else skip (fail under CI)."""
    node = shutil.which("node")
    if node is None or not (JS_DIR / "node_modules" / package).is_dir():
        reason = (
            f"{what} not installed: run `npm ci --prefix tests/js` (needs node)"
            if node
            else f"node not found on PATH: the {what} check needs Node.js"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return node


@pytest.fixture(scope="session")
def make_house():
    """``house(lon, lat, ground_h, width, depth, eave_h, roof_h=0)`` -> (vertices, triangles)."""
    return house


@pytest.fixture(scope="session")
def png_bytes() -> bytes:
    return tiny_png()


@pytest.fixture(scope="session")
def loadersgl():
    """Read a tileset back with loaders.gl's Tiles3DLoader (tests/js/read_tiles.mjs):
    ``read(tileset_path) -> dict`` (:func:`pipeline.tiles3d.checks.read_back_with_loadersgl`).

    Needs ``npm ci --prefix tests/js``; skipped without it, except under CI where it fails.
    """
    from pipeline.tiles3d.checks import read_back_with_loadersgl

    node = node_with("@loaders.gl/3d-tiles", "loaders.gl")
    return lambda tileset: read_back_with_loadersgl(tileset, JS_DIR / "read_tiles.mjs", node=node)


def validator_errors(reports: list[dict]) -> list[str]:
    """``path: code message`` of every error in glTF-Validator reports."""
    return [
        f"{r['path']}: {m['code']} {m['message']}"
        for r in reports
        for m in r["messages"]
        if m["severity"] == 0
    ]


@pytest.fixture(scope="session")
def check_exported_layer(gltf_validator, loadersgl):
    """Every check of issue 12 on one exported layer: ``check(tileset, tables, meshes=())``
    returns the problems (glTF-Validator errors of every GLB, :func:`check_layer_tileset`
    with the loaders.gl read-back). Reusable on a run's output."""
    from pipeline.tiles3d.checks import check_layer_tileset
    from tiles.validate import content_paths

    def check(tileset: Path, tables, meshes=()) -> list[str]:
        problems = validator_errors(gltf_validator(content_paths(tileset)))
        return problems + check_layer_tileset(tileset, tables, meshes, read_back=loadersgl(tileset))

    return check
