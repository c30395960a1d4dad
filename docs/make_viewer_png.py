"""Make docs/viewer.png, the README's screenshot of the planners' viewer.

Usage: python docs/make_viewer_png.py [RUN_FOLDER]   (default out/sample, with its viewer)

Serves the run like ``machi view``, opens the viewer in headless Chromium at 1280 x 800
in Japanese on a hot-day midday, looks at the district from the south-west, clicks the
longest street so the "why this score" panel shows, opens "where to act first" and
screenshots the page.
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


def main() -> None:
    import geopandas as gpd
    import numpy as np

    from pipeline.commands.view import make_server
    from pipeline.tiles3d.features import EllipsoidalProjector
    from pipeline.tiles3d.terrain_heights import TerrainHeights

    run = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "out" / "sample").resolve()
    target = ROOT / "docs" / "viewer.png"
    manifest = json.loads((run / "manifest.json").read_text())
    scenario = "heat_day_midday"
    summary = next(t for t in manifest["tasks"].values() if t["stage"] == "walkability_summary")
    segments = gpd.read_parquet(summary["outputs"]["segments"][scenario])
    longest = segments.sort_values("length_m", ascending=False).iloc[0]
    point = longest.geometry.interpolate(0.5, normalized=True)
    terrain = TerrainHeights(
        [t["outputs"]["terrain"] for t in manifest["tasks"].values() if t["stage"] == "surface"]
    )
    z = float(terrain(np.array([point.x]), np.array([point.y]))[0]) + 0.3
    lon, lat, h = (
        float(v) for v in EllipsoidalProjector(manifest["crs"])(np.array([[point.x, point.y, z]]))[0]
    )
    server = make_server(run, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/viewer/#s={scenario}&lang=ja&st=class&bd=walk_score&p=priority"
    steps = [
        {"do": "goto", "url": url},
        {
            "do": "eval",
            "js": f"window.machi.viewer.camera.lookAt(Cesium.Cartesian3.fromDegrees({lon}, {lat}, {h}),"
            " new Cesium.HeadingPitchRange(Cesium.Math.toRadians(20), Cesium.Math.toRadians(-42), 900));"
            " window.machi.viewer.camera.lookAtTransform(Cesium.Matrix4.IDENTITY);"
            " window.machi.viewer.scene.requestRender(); true",
        },
        {"do": "settle"},
        {"do": "clickAt", "lon": lon, "lat": lat, "h": h},
        {"do": "screenshot", "path": str(target)},
    ]
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "steps.json"
        spec.write_text(json.dumps({"viewport": [1280, 800], "locale": "ja-JP", "steps": steps}))
        done = subprocess.run(
            [shutil.which("node"), str(ROOT / "tests" / "js" / "viewer_session.mjs"), str(spec)],
            capture_output=True,
            text=True,
            cwd=ROOT / "tests" / "js",
            timeout=900,
            env={**os.environ, "CHROMIUM": os.environ.get("CHROMIUM", "/usr/bin/chromium")},
        )
    server.shutdown()
    seen = json.loads(done.stdout)
    if seen["error"]:
        sys.exit(seen["error"])
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
