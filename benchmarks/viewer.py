"""The planners' viewer: time until the first full view has settled, and street tile size.

Usage: python benchmarks/viewer.py [RUN_FOLDER]   (default out/sample, after `make demo`;
the run needs its viewer: the ``viewer`` stage, or ``write_viewer`` on the run).

Prints two tables:

- time from opening the page to the first settled view (every visible tileset, draped
  image and globe tile loaded) in headless Chromium (software WebGL), against the
  baseline of the plain 3D Tiles page (``viewer/tiles.html``) opening only the buildings,
  served by the same ``machi view`` server in the same browser;
- street tile bytes per 1,000 segments (GLB ribbons with every scenario's properties)
  against the same segments as GeoJSON with the same properties (what a browser would
  otherwise download).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.commands.view import make_server  # noqa: E402

JS = ROOT / "tests" / "js"


def settle_seconds(url: str, repeats: int = 3) -> list[float]:
    """Seconds from navigation to machi.settled(), each in a fresh browser."""
    node = shutil.which("node")
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeats):
            spec = Path(tmp) / f"s{i}.json"
            spec.write_text(json.dumps({"viewport": [1000, 700], "steps": [{"do": "goto", "url": url}]}))
            done = subprocess.run(
                [node, str(JS / "viewer_session.mjs"), str(spec)],
                capture_output=True,
                text=True,
                cwd=JS,
                timeout=900,
                env={**os.environ, "CHROMIUM": os.environ.get("CHROMIUM", "/usr/bin/chromium")},
            )
            seen = json.loads(done.stdout)
            if seen["error"]:
                raise RuntimeError(seen["error"])
            times.append(seen["steps"][0]["ms"] / 1000.0)
    return times


def street_bytes(run: Path) -> tuple[int, int, int]:
    """(segments, GLB bytes, GeoJSON bytes of the same segments and properties)."""
    import geopandas as gpd

    from pipeline.tiles3d.streets import read_scored_segments, scenario_variables, segment_properties
    from tiles.validate import content_paths

    manifest = json.loads((run / "viewer" / "viewer.json").read_text())
    tileset = run / "viewer" / manifest["layers"]["streets"]["url"]
    glb = sum(p.stat().st_size for p in content_paths(tileset)) + tileset.stat().st_size
    run_manifest = json.loads((run / "manifest.json").read_text())
    tables = next(t for t in run_manifest["tasks"].values() if t["stage"] == "walkability_summary")[
        "outputs"
    ]["segments"]
    geometry, columns = read_scored_segments(tables)
    rows = segment_properties(columns, scenario_variables(columns))
    frame = gpd.GeoDataFrame(rows, geometry=geometry.geometry.to_numpy(), crs=geometry.crs).to_crs(
        "EPSG:4326"
    )
    geojson = len(frame.to_json(drop_id=True).encode("utf-8"))
    return len(frame), glb, geojson


def main() -> None:
    run = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "out" / "sample").resolve()
    if not (run / "viewer" / "viewer.json").is_file():
        sys.exit(f"{run} has no viewer/viewer.json: run the viewer stage first")
    server = make_server(run, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        app = settle_seconds(f"{base}/viewer/#lang=en")
        plain = settle_seconds(
            f"{base}/viewer/tiles.html?cesium=/viewer/cesium/&tileset=/3dtiles/bldg/tileset.json"
        )
    finally:
        server.shutdown()
    med = lambda v: sorted(v)[len(v) // 2]  # noqa: E731
    print(f"run: {run}")
    print("| page | first settled view, median of 3 (s) | ratio |")
    print("|---|---|---|")
    print(f"| viewer/tiles.html, buildings only (baseline) | {med(plain):.1f} | 1.00 |")
    print(
        f"| planners' viewer, default view (all default layers) | {med(app):.1f} | {med(app) / med(plain):.2f} |"
    )
    segments, glb, geojson = street_bytes(run)
    print()
    print("| street layer | bytes per 1,000 segments | ratio |")
    print("|---|---|---|")
    print(f"| GeoJSON, same properties (baseline) | {geojson / segments * 1000 / 1e6:.2f} MB | 1.00 |")
    print(
        f"| 3D Tiles ribbons (GLB + tileset.json) | {glb / segments * 1000 / 1e6:.2f} MB | {glb / geojson:.2f} |"
    )
    print(f"({segments} segments)")


if __name__ == "__main__":
    main()
