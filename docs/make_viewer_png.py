"""Make docs/viewer.png, the README's screenshot of the planners' viewer.

Usage: python docs/make_viewer_png.py [RUN_FOLDER]   (default out/sample, with its viewer)

Serves the run like ``machi view``, opens the viewer in headless Chromium at 1600 x 1000
in Japanese on the design heat day at midday, with the streets coloured by class over the
buildings and trees (the shade imagery off, so the streets read), looks at the district from
the south over its centre, with the first street of "where to act first" selected through the
link (``sel=``) so the "why this score" panel shows (its formula, and the raw measures next to
the scaled values), and screenshots the page.
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
    segments = gpd.read_parquet(summary["outputs"]["segments"][scenario]).set_index("segment_id")
    # the street where to act first (rank 1 of the scenario's priority list), clicked; the
    # camera on the district's centre
    import pandas as pd

    priority = pd.read_parquet(summary["outputs"]["priority"]["parquet"])
    first = priority[priority["scenario"] == scenario].sort_values("rank")["segment_id"].iloc[0]
    x0, y0, x1, y1 = segments.total_bounds
    terrain = TerrainHeights(
        [t["outputs"]["terrain"] for t in manifest["tasks"].values() if t["stage"] == "surface"]
    )
    project = EllipsoidalProjector(manifest["crs"])

    def lonlath(x: float, y: float) -> tuple[float, float, float]:
        z = float(terrain(np.array([x]), np.array([y]))[0]) + 0.3
        return tuple(float(v) for v in project(np.array([[x, y, z]]))[0])

    centre = lonlath((x0 + x1) / 2, (y0 + y1) / 2)
    server = make_server(run, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    layers = "buildings,trees,streets,districts"
    url = f"http://127.0.0.1:{server.server_address[1]}/viewer/#s={scenario}&lang=ja&st=class&bd=none&l={layers}&sel={first}"
    steps = [
        {"do": "goto", "url": url},
        {
            "do": "eval",
            "js": f"window.machi.viewer.camera.lookAt(Cesium.Cartesian3.fromDegrees({centre[0]}, {centre[1]}, {centre[2]}),"
            " new Cesium.HeadingPitchRange(Cesium.Math.toRadians(10), Cesium.Math.toRadians(-38), 1300));"
            " window.machi.viewer.camera.lookAtTransform(Cesium.Matrix4.IDENTITY);"
            " window.machi.viewer.scene.requestRender(); true",
        },
        {"do": "settle"},
        {"do": "screenshot", "path": str(target)},
    ]
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "steps.json"
        spec.write_text(json.dumps({"viewport": [1600, 1000], "locale": "ja-JP", "steps": steps}))
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
