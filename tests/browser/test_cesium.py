"""The exported building tileset in CesiumJS: it loads without a failed tile, and a
click on a building shows that building's properties.

Runs the project's viewer (``viewer/tiles.html``) in headless Chromium driven by
playwright-core (``tests/js``), all served from 127.0.0.1 with no network access.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import subprocess
import threading
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest

from pipeline.commands.export_tiles import export_dataset
from pipeline.tiles3d.features import EllipsoidalProjector

pytestmark = pytest.mark.browser

PROJECT_ROOT = Path(__file__).resolve().parents[2]
JS_DIR = PROJECT_ROOT / "tests" / "js"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def _require_browser() -> str:
    """Node's path; skip (or fail under CI) when Chromium or the npm packages are missing."""
    node = shutil.which("node")
    missing = [
        what
        for what, ok in [
            (f"Chromium ({CHROMIUM}; apt-get install chromium)", Path(CHROMIUM).exists()),
            ("node", node is not None),
            (
                "tests/js/node_modules (npm ci --prefix tests/js)",
                (JS_DIR / "node_modules" / "cesium" / "Build" / "Cesium").is_dir()
                and (JS_DIR / "node_modules" / "playwright-core").is_dir(),
            ),
        ]
        if not ok
    ]
    if missing:
        reason = "browser test needs " + ", ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return node


class _Handler(http.server.SimpleHTTPRequestHandler):
    """The project root, with the exported tiles under /data/."""

    data_dir: Path = Path(".")

    def translate_path(self, path: str) -> str:
        if path.startswith("/data/"):
            relative = path[len("/data/") :].split("?", 1)[0].split("#", 1)[0]
            target = (self.data_dir / relative).resolve()
            return str(target) if target.is_relative_to(self.data_dir.resolve()) else "/nonexistent"
        return super().translate_path(path)

    def log_message(self, *args) -> None:  # keep the test output readable
        pass


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("served")
    handler = type("Handler", (_Handler,), {"data_dir": data_dir})
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(PROJECT_ROOT))
    )
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", data_dir
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def cesium_session(server, tmp_path_factory):
    """Export the sample buildings, open them in the viewer, look down at the tallest
    building and click it: what the page saw, the building and the export result."""
    node = _require_browser()
    base_url, data_dir = server
    sample = PROJECT_ROOT / "sample_data" / "omiya"
    (result,) = export_dataset(sample, data_dir, layers=["bldg"], crs="EPSG:6677")
    table = gpd.pd.concat(
        [gpd.read_parquet(p) for p in _ingest_tables(sample, tmp_path_factory.mktemp("ingest"))],
        ignore_index=True,
    )
    # the tallest building, seen from straight above an inner point of its footprint
    tallest = table.loc[(table["ground_elevation_m"] + table["height_m"]).idxmax()]
    point = tallest.geometry.representative_point()
    roof = tallest["ground_elevation_m"] + tallest["height_m"]
    lon, lat, h = EllipsoidalProjector("EPSG:6677")(np.array([[point.x, point.y, roof]]))[0]
    # the CesiumJS of tests/js (checked by _require_browser); without ?cesium= the page would
    # first try viewer/cesium/, which only a run's output has (a 404 here)
    url = f"{base_url}/viewer/tiles.html?tileset=/data/bldg/tileset.json&cesium=/tests/js/node_modules/cesium/Build/Cesium/"
    done = subprocess.run(
        [node, str(JS_DIR / "cesium_pick.mjs"), url, *(str(float(v)) for v in (lon, lat, h))],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=JS_DIR,
        env={**os.environ, "CHROMIUM": CHROMIUM},
    )
    assert done.stdout.strip(), done.stderr
    return json.loads(done.stdout), tallest, result


def test_sample_buildings_load_in_cesium_and_a_click_shows_properties(cesium_session):
    seen, tallest, result = cesium_session
    assert result.features == 502
    assert seen.get("error") is None, seen
    assert seen["ready"] and seen["tilesLoaded"] > 0, seen
    assert seen["failures"] == [], seen  # no tileFailed event
    assert seen["external"] == [], "the viewer must not reach the network"
    errors = [c for c in seen["console"] if c.startswith(("error", "pageerror"))]
    assert errors == [], errors
    picked = seen["picked"]
    assert picked and picked.get("gml_id") == tallest["gml_id"], seen
    assert picked["usage"] == tallest["usage_label"]  # labels, not codes
    assert picked["usage_code"] == tallest["usage"]
    assert picked["height_m"] == pytest.approx(tallest["height_m"])
    assert tallest["gml_id"] in seen["info"] and tallest["usage_label"] in seen["info"]


def test_cesium_accepts_every_property_table(cesium_session):
    seen, _, result = cesium_session
    # CesiumJS sizes a property from its buffer view's byteLength, so padding inside the
    # view would make it refuse the table for GPU styling (picking would still work).
    assert _padded_property_views(Path(result.tileset)) == []
    refused = [c for c in seen["console"] if "property table" in c]
    assert refused == [], refused


def _padded_property_views(tileset_path: Path) -> list[str]:
    """Property-table buffer views whose byteLength is not their data's exact length."""
    from tiles.gltf import read_glb
    from tiles.validate import content_paths

    sizes = {
        "INT8": 1,
        "UINT8": 1,
        "INT16": 2,
        "UINT16": 2,
        "INT32": 4,
        "UINT32": 4,
        "FLOAT32": 4,
        "INT64": 8,
        "UINT64": 8,
        "FLOAT64": 8,
    }
    found = []
    for path in content_paths(tileset_path):
        gltf, _ = read_glb(path.read_bytes())
        metadata = gltf["extensions"]["EXT_structural_metadata"]
        for table in metadata["propertyTables"]:
            classes = metadata["schema"]["classes"][table["class"]]["properties"]
            for pid, prop in table["properties"].items():
                kind, count = classes[pid], table["count"]
                expected = {"values": count * sizes.get(kind.get("componentType"), 0)}
                if kind["type"] == "BOOLEAN":
                    expected["values"] = (count + 7) // 8
                if "stringOffsets" in prop:
                    expected = {"stringOffsets": (count + 1) * sizes[prop.get("stringOffsetType", "UINT32")]}
                for key, length in expected.items():
                    actual = gltf["bufferViews"][prop[key]]["byteLength"]
                    if actual != length:
                        found.append(f"{path.name} {pid}.{key}: {actual} bytes for {length}")
    return found


def _ingest_tables(sample: Path, folder: Path) -> list[Path]:
    """The sample's building tables (the same ingest the export ran)."""
    from citygml import Dataset
    from pipeline.ingest import ingest_file

    return [Path(ingest_file(s, folder, "EPSG:6677").table) for s in Dataset(sample).sources(types=["bldg"])]
