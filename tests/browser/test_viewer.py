"""The planners' viewer on a run of the sample, in headless Chromium (playwright-core).

Every acceptance bullet of the viewer: it loads with no console error and no failed
request, a scenario change recolours a known street to its class colour in the
GeoParquet, a click explains the score with the GeoParquet's components, a copied URL
restores the view, split compare shows two scenarios, "Save image" writes a PNG with the
legend, the language switches, Japanese renders in the shipped font, the use-district
(用途地域) toggle shows the zoning and a click inside a district its Japanese label and
rates, and a run without people flow, LiDAR or urf still works with those controls
disabled and explained.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest

from pipeline.commands.view import make_server
from pipeline.walkability.classes import CLASS_COLOURS

JS_DIR = Path(__file__).resolve().parents[1] / "js"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def _require_browser() -> str:
    import importlib.util

    spec = importlib.util.spec_from_file_location("_cesium_test", Path(__file__).with_name("test_cesium.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module._require_browser()


pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def served(sample_viewer_run):
    folder, run = sample_viewer_run
    server = make_server(folder, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", run
    server.shutdown()
    server.server_close()


def run_session(steps: list[dict], tmp_path: Path, *, locale: str = "en-US", viewport=(1000, 700)) -> dict:
    node = _require_browser()
    spec = tmp_path / f"steps_{len(list(tmp_path.glob('steps_*')))}.json"
    spec.write_text(json.dumps({"steps": steps, "locale": locale, "viewport": list(viewport)}))
    done = subprocess.run(
        [node, str(JS_DIR / "viewer_session.mjs"), str(spec)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=JS_DIR,
        env={**os.environ, "CHROMIUM": CHROMIUM},
    )
    assert done.stdout.strip(), done.stderr
    seen = json.loads(done.stdout)
    assert seen["error"] is None, seen["error"]
    return seen


def _clean(seen: dict) -> None:
    errors = [c for c in seen["console"] if c.startswith(("error", "pageerror"))]
    assert errors == [], errors
    assert seen["failedRequests"] == [], seen["failedRequests"]
    assert seen["external"] == [], "the viewer must not reach the network"
    for step in seen["steps"]:
        assert step["error"] is None and step["failures"] == [], step


def _manifest(run: Path) -> dict:
    return json.loads((run / "viewer" / "viewer.json").read_text())


def _segments(run: Path, scenario: str) -> gpd.GeoDataFrame:
    manifest = json.loads((run / "manifest.json").read_text())
    summary = next(t for t in manifest["tasks"].values() if t["stage"] == "walkability_summary")
    return gpd.read_parquet(summary["outputs"]["segments"][scenario]).set_index("segment_id")


def _known_street(run: Path, a: str, b: str) -> tuple[str, tuple[float, float, float]]:
    """A long, wide segment whose class differs between scenarios a and b (else any long
    one), and a point (lon, lat, ellipsoidal h) on it."""
    from pipeline.tiles3d.features import EllipsoidalProjector
    from pipeline.tiles3d.terrain_heights import TerrainHeights

    first, second = _segments(run, a), _segments(run, b)
    candidates = first[first["length_m"] > 40]
    differing = candidates[candidates["class"] != second.loc[candidates.index, "class"]]
    chosen = (differing if len(differing) else candidates).sort_values("length_m", ascending=False).index[0]
    point = first.loc[chosen, "geometry"].interpolate(0.5, normalized=True)
    manifest = json.loads((run / "manifest.json").read_text())
    terrain = TerrainHeights(
        [t["outputs"]["terrain"] for t in manifest["tasks"].values() if t["stage"] == "surface"]
    )
    z = float(terrain(np.array([point.x]), np.array([point.y]))[0]) + 0.3
    lon, lat, h = EllipsoidalProjector(manifest["crs"])(np.array([[point.x, point.y, z]]))[0]
    return chosen, (float(lon), float(lat), float(h))


# after the fonts settle: the Noto Sans JP faces the page loaded (a face of a unicode-range
# piece loads only when shown text needs it) and whether one covers the Japanese labels
FONT_PROBE = """document.fonts.ready.then(() => {
  const covers = (range, ch) => range.split(',').some((part) => {
    const [a, b] = part.trim().slice(2).split('-');
    const x = ch.codePointAt(0);
    return parseInt(a, 16) <= x && x <= parseInt(b || a, 16);
  });
  const label = document.querySelector('[data-i18n=season]');
  const faces = [...document.fonts].filter((f) => f.family.replace(/["']/g, '') === 'Noto Sans JP');
  const loaded = faces.filter((f) => f.status === 'loaded');
  return {family: getComputedStyle(label).fontFamily, text: label.textContent, faces: faces.length,
          loaded: loaded.length, coversLabel: [...label.textContent].every((ch) => loaded.some((f) => covers(f.unicodeRange, ch))),
          check: document.fonts.check('13px "Noto Sans JP"', label.textContent)};
})"""
# Cesium's credits (the ion logo) hidden; the language label on one line; the building
# colouring select labelled
CHROME_PROBE = """(() => {
  const lang = document.querySelector('[data-i18n=language]');
  const select = document.getElementById('buildingsBy');
  return {credits: [...document.querySelectorAll('.cesium-widget-credits, .cesium-credit-logoContainer')]
                     .map((e) => e.offsetParent === null && e.getClientRects().length === 0),
          languageLines: lang.getBoundingClientRect().height / parseFloat(getComputedStyle(lang).fontSize),
          buildingsLabel: [...select.labels].map((l) => l.textContent)};
})()"""


# after a priority row's click: wait (up to 90 s) until the flight ended and the street's
# panel opened (its tile loaded)
WAIT_FOR_FLIGHT = """new Promise((resolve) => {
  const t0 = performance.now();
  const tick = () => {
    const m = window.machi;
    if ((m.flownTo && m.picked) || performance.now() - t0 > 90000) resolve(!!(m.flownTo && m.picked));
    else setTimeout(tick, 250);
  };
  tick();
})"""


@pytest.fixture(scope="module")
def session(served, tmp_path_factory):
    """One browser session over the sample: load, recolour, click, compare, save, switch language."""
    base, run = served
    tmp = tmp_path_factory.mktemp("session")
    manifest = _manifest(run)
    a, b = "summer_solstice_midday", "winter_solstice_midday"
    segment, (lon, lat, h) = _known_street(run, a, b)
    url = f"{base}/viewer/#s={a}&lang=en"
    image = tmp / "saved.png"
    colour = f"window.machi.featureColour('streets:A', {json.dumps(segment)})"
    steps = [
        {"do": "goto", "url": url},
        {"do": "lookAt", "lon": lon, "lat": lat, "h": h, "range": 250},
        {"do": "eval", "js": colour},  # 2
        {"do": "select", "selector": "#season", "value": "winter_solstice"},
        {"do": "eval", "js": colour},  # 4
        {"do": "clickAt", "lon": lon, "lat": lat, "h": h},
        {
            "do": "eval",
            "js": "(({layer, id, score, components, scenario}) => ({layer, id, score, components, scenario}))"
            "(window.machi.picked || {})",
        },  # 6
        {"do": "eval", "js": "document.getElementById('infoBody').innerText"},  # 7
        {"do": "eval", "js": "location.href"},  # 8
        {"do": "check", "selector": "#compare", "on": True},
        {"do": "select", "selector": "#seasonB", "value": "summer_solstice"},
        {
            "do": "eval",
            "js": "({split: window.machi.viewer.scene.splitPosition, "
            "A: [window.machi.tilesets['streets:A'].splitDirection, window.machi.state.scenario],"
            " B: [window.machi.tilesets['streets:B'].splitDirection, window.machi.state.compareWith],"
            " colourB: window.machi.featureColour('streets:B', " + json.dumps(segment) + "),"
            " imagery: Object.fromEntries(Object.entries(window.machi.imagery).map(([k, l]) => [k, l.splitDirection]))})",
        },  # 11
        {"do": "download", "selector": "#saveImage", "path": str(image)},  # 12
        {"do": "eval", "js": "window.machi.legendBox"},  # 13
        {
            "do": "eval",
            "js": "[document.querySelector('[data-i18n=season]').textContent,"
            " document.getElementById('legend').innerText]",
        },  # 14
        {"do": "select", "selector": "#language", "value": "ja"},
        {
            "do": "eval",
            "js": "[document.querySelector('[data-i18n=season]').textContent,"
            " document.getElementById('legend').innerText, document.documentElement.lang]",
        },  # 16
        # close the street's panel: it is no longer selected (a selected street is drawn in the highlight colour)
        {"do": "click", "selector": "#closeInfo"},
        {"do": "click", "selector": "#toggleDistricts"},
        {"do": "click", "selector": "#districtTable tr[data-kind=district] button"},
        {
            "do": "eval",
            "js": "({area: window.machi.selectedArea, outlined: !!window.machi.outline,"
            " rows: [...document.querySelectorAll('#districtTable tr[data-kind]')].map(r => r.dataset.kind + ':' + r.dataset.id),"
            " first: document.querySelector('#districtTable tr[data-kind=district]').innerText})",
        },  # 20
        # back to the street: CesiumJS restyles the tiles in view (each tile of the city
        # streets is one content), not those the district's view left out
        {"do": "lookAt", "lon": lon, "lat": lat, "h": h, "range": 250},
        {"do": "select", "selector": "#streetsBy", "value": "utci_class"},
        {"do": "eval", "js": colour},  # 23
        {"do": "select", "selector": "#season", "value": "heat_day"},
        {
            "do": "eval",
            "js": "[document.getElementById('seasonWeather').textContent,"
            " document.getElementById('season').selectedOptions[0].textContent]",
        },  # 25
        {"do": "eval", "js": FONT_PROBE},  # 26
        {"do": "eval", "js": CHROME_PROBE},  # 27
        # the heat day by score: the legend spans that scenario's own values
        {"do": "select", "selector": "#streetsBy", "value": "score"},
        {
            "do": "eval",
            "js": "(() => { const r = document.querySelector('#legend .ramp');"
            " return [Number(r.dataset.min), Number(r.dataset.max), window.machi.state.scenario]; })()",
        },  # 29
        # where to act first: the list of the scenario; its first row flies to its street
        {"do": "click", "selector": "#togglePriority"},
        {
            "do": "eval",
            "js": "[...document.querySelectorAll('#priorityTable tbody tr')].map((r) => r.dataset.segment)",
        },  # 31
        {"do": "click", "selector": "#priorityTable tbody tr"},
        {"do": "eval", "js": WAIT_FOR_FLIGHT},  # 33
        {"do": "settle"},
        {
            "do": "eval",
            "js": "(() => { const m = window.machi, c = m.viewer.camera.positionCartographic;"
            " return {flownTo: m.flownTo, selected: m.state.selected, hash: location.hash,"
            " picked: m.picked && {layer: m.picked.layer, id: m.picked.id},"
            " camera: [Cesium.Math.toDegrees(c.longitude), Cesium.Math.toDegrees(c.latitude)],"
            " colour: m.flownTo && m.featureColour('streets:A', m.flownTo.id),"
            " info: document.getElementById('infoBody').innerText}; })()",
        },  # 35
        {"do": "click", "selector": "#toggleAbout"},
        {
            "do": "eval",
            "js": "[document.getElementById('guidePanel').innerText,"
            " document.getElementById('reportLink').getAttribute('href')]",
        },  # 37
    ]
    seen = run_session(steps, tmp)
    return seen, manifest, run, segment, (a, b), image


def test_the_app_loads_with_no_console_error_and_no_failed_request(session):
    seen, manifest, *_ = session
    _clean(seen)
    assert manifest["format"] == "machi-viewer/1"
    assert {"buildings", "streets", "shade_hours", "sun_hours", "flow", "lidar", "districts"} <= set(
        manifest["layers"]
    )


def test_each_season_names_its_weather_and_the_heat_day_is_a_design_day(session):
    seen, manifest, *_ = session
    note, label = seen["steps"][25]["value"]
    # the page is in Japanese by then: the weather and the design case in Japanese, no raw text
    assert note == "気象: 設計猛暑日(最高 35.0 °C); 日射: 快晴(設計条件)"
    assert label == "設計猛暑日(最高 35.0 °C)"
    assert all("weather" in s for s in manifest["seasons"])


def test_japanese_renders_with_the_shipped_noto_sans_jp(session):
    seen, *_ = session
    font = seen["steps"][26]["value"]
    assert font["family"].startswith('"Noto Sans JP"')
    assert font["text"] == "季節"  # the page is in Japanese by then
    assert font["faces"] > 100 and 0 < font["loaded"] < font["faces"]  # only the pieces shown are fetched
    assert font["coversLabel"] and font["check"]


def test_no_cesium_ion_logo_and_labelled_controls_on_one_line(session):
    seen, *_ = session
    chrome = seen["steps"][27]["value"]
    assert chrome["credits"] and all(chrome["credits"])  # present in the page, never shown
    assert chrome["languageLines"] < 2.0  # one line of text (a wrapped 言語 is about 2.9 font sizes high)
    assert chrome["buildingsLabel"] == ["建物の色分け"]


def test_a_scenario_change_recolours_a_street_to_its_class(session):
    seen, manifest, run, segment, (a, b), _ = session
    colours = {c["value"]: c["colour"].lower() for c in manifest["legends"]["class"]["categories"]}
    assert colours == {k: v.lower() for k, v in CLASS_COLOURS.items()}
    before, after = seen["steps"][2]["value"], seen["steps"][4]["value"]
    assert before == colours[_segments(run, a).loc[segment, "class"]]
    assert after == colours[_segments(run, b).loc[segment, "class"]]


def test_a_click_shows_the_score_and_components_of_the_geoparquet(session):
    seen, manifest, run, segment, (_, b), _ = session
    picked = seen["steps"][6]["value"]
    row = _segments(run, b).loc[segment]
    assert picked["layer"] == "streets" and picked["id"] == segment and picked["scenario"] == b
    assert picked["score"] == pytest.approx(row["score"])
    components = [c["id"] for c in manifest["components"]]
    assert set(components) >= {"c_access", "c_mix", "c_intersections", "c_shade", "c_slope", "c_width"}
    for name in components:
        expected = row[name]
        assert (
            (picked["components"][name] is None)
            if np.isnan(expected)
            else picked["components"][name] == pytest.approx(expected)
        ), name
    text = seen["steps"][7]["value"]
    assert f"{round(row['score'], 1):g}" in text and "Why this score" in text
    weights = {c["id"]: c["weight"] for c in manifest["components"]}
    assert weights["c_access"] == 0.35


def test_streets_coloured_by_thermal_stress_and_explained(session):
    """ "Colour streets by" thermal stress gives a known street the colour of its UTCI class in
    the GeoParquet, and "Why this score" names that class and shows c_thermal as a gate (×)."""
    seen, manifest, run, segment, (_, b), _ = session
    row = _segments(run, b).loc[segment]
    legend = {c["value"]: c for c in manifest["legends"]["utci_class"]["categories"]}
    assert seen["steps"][23]["value"] == legend[row["utci_class"]]["colour"].lower()
    text = seen["steps"][7]["value"]
    assert legend[row["utci_class"]]["label"]["en"] in text
    assert f"{round(row['utci_mean_c'], 1):g} °C" in text  # the app drops a trailing .0
    assert "×" in text and manifest["thermal_rule"] == "gate"


def test_split_compare_shows_two_scenarios(session):
    seen, *_ = session
    state = seen["steps"][11]["value"]
    assert state["split"] == 0.5
    assert state["A"] == [-1, "winter_solstice_midday"]  # SplitDirection.LEFT
    assert state["B"] == [1, "summer_solstice_midday"]  # SplitDirection.RIGHT
    assert state["imagery"] == {"shade_hours:A": -1, "shade_hours:B": 1}
    assert state["colourB"] is not None


def test_save_image_writes_a_png_with_the_legend(session):
    from PIL import Image

    seen, manifest, *_, image = session
    assert seen["steps"][12]["value"].endswith(".png")
    picture = np.asarray(Image.open(image).convert("RGB"))
    box = seen["steps"][13]["value"]
    r = box["ratio"]
    legend = picture[
        int(box["y"] * r) : int((box["y"] + box["height"]) * r),
        int(box["x"] * r) : int((box["x"] + box["width"]) * r),
    ]
    # every class swatch of the legend is drawn in the legend box, in its own colour
    for category in manifest["legends"]["class"]["categories"]:
        rgb = np.array([int(category["colour"][i : i + 2], 16) for i in (1, 3, 5)])
        hits = np.all(np.abs(legend.astype(int) - rgb) <= 2, axis=-1).sum()
        assert hits >= 100, (category["value"], hits)
    # the title bar is drawn at the top
    assert picture[: int(40 * r)].mean() < 80


def test_the_language_switches_the_labels(session):
    seen, *_ = session
    english, japanese = seen["steps"][14]["value"], seen["steps"][16]["value"]
    assert english[0] == "Season" and "walkable but under-used" in english[1]
    assert japanese[0] == "季節" and "ポテンシャルを有するエリア" in japanese[1] and japanese[2] == "ja"


def test_the_district_table_flies_to_a_district_and_outlines_it(session):
    import pandas as pd

    seen, manifest, run, *_ = session
    state = seen["steps"][20]["value"]
    manifest_run = json.loads((run / "manifest.json").read_text())
    summary = next(t for t in manifest_run["tasks"].values() if t["stage"] == "walkability_summary")[
        "outputs"
    ]
    districts = pd.read_parquet(summary["summary_by_district"]["parquet"])
    meshes = pd.read_parquet(summary["summary_by_mesh"]["parquet"])
    expected = sorted(districts["district"].unique())
    assert state["outlined"] and state["area"] == {"kind": "district", "id": expected[0]}
    assert [r for r in state["rows"] if r.startswith("district:")] == [f"district:{d}" for d in expected]
    assert {r for r in state["rows"] if r.startswith("mesh:")} == {
        f"mesh:{m}" for m in meshes["meshcode"].unique()
    }
    # the table shows the scenario on screen (A: winter midday), numbers as the app prints them
    row = districts[
        (districts["district"] == expected[0]) & (districts["scenario"] == "winter_solstice_midday")
    ].iloc[0]
    assert f"{round(row['score'], 1):g}" in state["first"]


def test_a_copied_url_restores_the_view_in_a_fresh_page(session, served, tmp_path):
    seen, *_ = session
    copied = seen["steps"][8]["value"]
    state = "({s: window.machi.state, cam: window.machi.state.camera, layers: window.machi.state.layers})"
    camera = (
        "(() => { const c = window.machi.viewer.camera.positionCartographic;"
        " return [Cesium.Math.toDegrees(c.longitude), Cesium.Math.toDegrees(c.latitude), c.height,"
        " window.machi.viewer.camera.heading, window.machi.viewer.camera.pitch]; })()"
    )
    other = run_session(
        [
            {"do": "goto", "url": copied},
            {"do": "eval", "js": state},
            {"do": "eval", "js": camera},
            {"do": "eval", "js": "document.getElementById('season').value"},
        ],
        tmp_path,
    )
    _clean(other)
    restored = other["steps"][1]["value"]
    assert restored["s"]["scenario"] == "winter_solstice_midday"
    hash_params = dict(p.split("=", 1) for p in copied.split("#", 1)[1].split("&"))
    expected_cam = [float(v) for v in hash_params["cam"].split("%2C")]
    cam = other["steps"][2]["value"]
    assert cam[0] == pytest.approx(expected_cam[0], abs=1e-6) and cam[1] == pytest.approx(
        expected_cam[1], abs=1e-6
    )
    assert cam[2] == pytest.approx(expected_cam[2], abs=0.05)
    turn = lambda a, b: abs((a - b + np.pi) % (2 * np.pi) - np.pi)  # noqa: E731  (heading 2π is heading 0)
    assert turn(cam[3], expected_cam[3]) < 1e-4 and cam[4] == pytest.approx(expected_cam[4], abs=1e-4)
    assert restored["layers"] == {k: k in hash_params["l"].split("%2C") for k in restored["layers"]}
    assert other["steps"][3]["value"] == "winter_solstice"


def _use_district_point(run: Path, code: str) -> tuple[dict, tuple[float, float, float]]:
    """The ingested urf row of the use district with ``code`` and a point well inside it
    (lon, lat, ellipsoidal ground height)."""
    from pipeline.tiles3d.features import EllipsoidalProjector
    from pipeline.tiles3d.terrain_heights import TerrainHeights

    manifest = json.loads((run / "manifest.json").read_text())
    tables = sorted(
        t["outputs"]["table"]
        for t in manifest["tasks"].values()
        if t["stage"] == "ingest" and t.get("feature_type") == "urf"
    )
    districts = gpd.read_parquet(tables)
    row = districts[districts["function"] == code].sort_values("gml_id").iloc[0]
    point = row.geometry.buffer(-40).representative_point()
    assert (
        sum(districts.geometry.contains(point)) == 1
    )  # a point-in-polygon check: only this district holds it
    terrain = TerrainHeights(
        [t["outputs"]["terrain"] for t in manifest["tasks"].values() if t["stage"] == "surface"]
    )
    z = float(terrain(np.array([point.x]), np.array([point.y]))[0])
    lon, lat, h = EllipsoidalProjector(manifest["crs"])(np.array([[point.x, point.y, z]]))[0]
    return row.to_dict(), (float(lon), float(lat), float(h))


def test_the_use_district_layer_shows_zoning_and_its_attributes(served, tmp_path):
    """Switched on with its checkbox, the use districts (用途地域) drape the ground with the
    legend's colours; a click inside the commercial district shows its Japanese label and
    rates; the URL keeps the toggle."""
    base, run = served
    manifest = _manifest(run)
    layer = manifest["layers"]["use_districts"]
    legend = manifest["legends"][layer["legend"]]
    codes = [c["value"] for c in legend["categories"]]
    assert codes == ["3", "5", "6", "9", "10"] and "use_districts" not in manifest["unavailable"]
    colours = {c["value"]: c["colour"] for c in legend["categories"]}
    assert (
        colours["10"] == "#E8506E" and colours["3"] == "#A6D46A"
    )  # 商業地域 red, 中高層住居専用 yellow-green
    assert {c["label"]["ja"] for c in legend["categories"]} >= {"商業地域", "近隣商業地域", "第1種住居地域"}
    geojson = json.loads((run / "viewer" / layer["url"]).read_text())
    assert len(geojson["features"]) == 5
    row, (lon, lat, h) = _use_district_point(run, "10")
    # only the use districts: no building, tree or street is picked before the ground
    steps = [
        {"do": "goto", "url": f"{base}/viewer/#lang=ja&l=terrain"},
        {
            "do": "eval",
            "js": "({checked: document.getElementById('layer-use_districts').checked,"
            " disabled: document.getElementById('layer-use_districts').disabled,"
            " shown: window.machi.useDistrictSource.show})",
        },  # 1
        {"do": "check", "selector": "#layer-use_districts", "on": True},
        {
            "do": "eval",
            "js": "({shown: window.machi.useDistrictSource.show,"
            " entities: window.machi.useDistrictSource.entities.values.length,"
            " legend: document.getElementById('legend').innerText, hash: location.hash,"
            " swatches: [...document.querySelectorAll('#legend li')].map(li => [li.dataset.value,"
            " getComputedStyle(li.querySelector('.swatch')).backgroundColor])})",
        },  # 3
        {"do": "lookAt", "lon": lon, "lat": lat, "h": h, "range": 300},
        {"do": "clickAt", "lon": lon, "lat": lat, "h": h},
        {"do": "eval", "js": "window.machi.picked"},  # 6
        {"do": "eval", "js": "document.getElementById('infoBody').innerText"},  # 7
        {"do": "check", "selector": "#layer-use_districts", "on": False},
        {
            "do": "eval",
            "js": "({shown: window.machi.useDistrictSource.show, hash: location.hash,"
            " legend: document.getElementById('legend').innerText})",
        },  # 9
    ]
    seen = run_session(steps, tmp_path)
    _clean(seen)
    assert seen["steps"][1]["value"] == {"checked": False, "disabled": False, "shown": False}
    on = seen["steps"][3]["value"]
    assert on["shown"] is True and on["entities"] == 5
    assert "用途地域" in on["legend"] and "商業地域" in on["legend"] and "第1種住居地域" in on["legend"]
    hash_layers = dict(p.split("=", 1) for p in on["hash"][1:].split("&"))["l"].split("%2C")
    assert "use_districts" in hash_layers
    rgb = {v: "rgb({}, {}, {})".format(*(int(colours[v][i : i + 2], 16) for i in (1, 3, 5))) for v in codes}
    assert dict(on["swatches"]) == rgb
    picked = seen["steps"][6]["value"]
    assert picked["layer"] == "use_districts" and picked["id"] == row["gml_id"]
    assert picked["label_ja"] == row["function_label"] == "商業地域"
    assert picked["floor_area_rate"] == row["floor_area_rate"] == 8.0
    assert picked["building_coverage_rate"] == row["building_coverage_rate"] == 0.8
    text = seen["steps"][7]["value"]
    assert "用途地域: 商業地域" in text and "800 %" in text and "80 %" in text and "Commercial zone" in text
    off = seen["steps"][9]["value"]
    assert off["shown"] is False and "用途地域" not in off["legend"]
    assert "use_districts" not in dict(p.split("=", 1) for p in off["hash"][1:].split("&"))["l"]


def test_the_tileset_page_in_a_run_loads_cesium_beside_it(served, tmp_path):
    """The run's ``viewer/tiles.html`` with no ``?cesium=`` finds CesiumJS in ``viewer/cesium/``
    (no failed request: not the repository's paths) and opens the run's building tiles."""
    base, run = served
    buildings = _manifest(run)["layers"]["buildings"]["url"]  # relative to viewer/
    seen = run_session(
        [
            {"do": "goto", "url": f"{base}/viewer/tiles.html?tileset={buildings}"},
            {
                "do": "eval",
                "js": "({ready: window.machi.ready, tiles: window.machi.tilesLoaded,"
                " cesium: window.CESIUM_BASE_URL})",
            },
        ],
        tmp_path,
    )
    _clean(seen)
    state = seen["steps"][1]["value"]
    assert state["ready"] is True and state["tiles"] > 0
    assert state["cesium"] == "cesium/"


def test_every_control_is_reachable_by_keyboard(served, tmp_path):
    base, _ = served
    ids = "[...document.querySelectorAll('#controls select, #controls input, #controls button, #language')].filter(e => !e.disabled).map(e => e.id)"
    steps = [{"do": "goto", "url": f"{base}/viewer/"}, {"do": "eval", "js": ids}, {"do": "tabs", "times": 40}]
    seen = run_session(steps, tmp_path)
    wanted = set(seen["steps"][1]["value"])
    reached = set(seen["steps"][2]["value"])
    assert wanted and wanted <= reached, wanted - reached


def test_the_root_redirects_to_the_app_and_japanese_is_the_default_when_the_browser_prefers_it(
    served, tmp_path
):
    base, _ = served
    seen = run_session(
        [
            {"do": "goto", "url": f"{base}/"},  # the server's root redirects to the app
            {
                "do": "eval",
                "js": "[window.machi.state.lang, document.querySelector('[data-i18n=slot]').textContent,"
                " location.pathname]",
            },
        ],
        tmp_path,
        locale="ja-JP",
    )
    assert seen["steps"][1]["value"] == ["ja", "時間帯", "/viewer/"]


def test_a_run_without_people_flow_or_lidar_disables_those_controls(bare_viewer_run, tmp_path):
    server = make_server(bare_viewer_run, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        probe = (
            "(() => { const box = (id) => { const e = document.getElementById('layer-' + id);"
            " const r = document.getElementById('reason-' + id);"
            " return {disabled: e.disabled, reason: r ? r.textContent : null}; };"
            " const opt = document.querySelector('#streetsBy option[value=people_per_100m]');"
            " return {flow: box('flow'), lidar: box('lidar'), streets: box('streets'),"
            " zoning: box('use_districts'),"
            " people: {disabled: opt.disabled, text: opt.textContent}}; })()"
        )
        seen = run_session(
            [
                {"do": "goto", "url": f"http://127.0.0.1:{server.server_address[1]}/viewer/#lang=en"},
                {"do": "eval", "js": probe},
                {"do": "select", "selector": "#slot", "value": "morning"},
            ],
            tmp_path,
        )
    finally:
        server.shutdown()
        server.server_close()
    _clean(seen)
    state = seen["steps"][1]["value"]
    assert state["flow"] == {"disabled": True, "reason": "this run has no people-flow data"}
    assert state["lidar"] == {"disabled": True, "reason": "this run has no LiDAR points"}
    assert state["zoning"] == {"disabled": True, "reason": "this run has no use districts (PLATEAU urf)"}
    assert state["streets"]["disabled"] is False
    assert state["people"]["disabled"] is True and "no people-flow data" in state["people"]["text"]


def test_the_heat_day_score_legend_spans_that_scenarios_values(session):
    seen, manifest, run, *_ = session
    low, high, scenario = seen["steps"][29]["value"]
    assert scenario == "heat_day_midday"
    scores = _segments(run, scenario)["score"]
    assert (low, high) == (np.floor(scores.min()), np.ceil(scores.max()))
    assert high < 100 and manifest["legends"]["score"]["max"] > high  # the fixed domain spans every scenario


def test_a_click_shows_translated_labels_and_the_formula(session):
    seen, manifest, run, segment, (_, b), _ = session
    text = seen["steps"][7]["value"]
    assert "Formula: score = 100 x thermal comfort x weighted mean (other components)" in text
    row = _segments(run, b).loc[segment]
    # the formula with the street's numbers: c_thermal times the weighted mean of the others
    others = [
        c
        for c in manifest["components"]
        if not c.get("multiplies") and c["weight"] and np.isfinite(row[c["id"]])
    ]
    mean = sum(c["weight"] * row[c["id"]] for c in others) / sum(c["weight"] for c in others)
    assert f"= 100 × {round(row['c_thermal'], 2):g} × {round(mean, 2):g} = {round(row['score'], 1):g}" in text
    assert "thermal comfort (UTCI)" in text and "Measured" in text
    for raw in ("c thermal", "c_thermal", "neither"):
        assert raw not in text, raw
    assert f"{round(100 * row['shade_share'])} %" in text  # a share in %, not 0-1
    # the measures behind access, mix and intersections next to their scaled values, with units
    access = sum(
        row[c] for c in row.index if c.startswith("access_") and c.endswith("_800") and "comfort" not in c
    )
    assert f"{_js_number(access, 1)} destinations within 800 m (distance-decayed)" in text
    assert f"{_js_number(row['mix_hill_q0_800'], 1)} land-use classes within 800 m (Hill q=0)" in text
    assert f"{_js_number(row['mix_shannon_800'], 2)} Shannon entropy of the mix" in text
    assert f"{_js_number(row['intersection_density'], 0)} junctions per km² (within 400 m)" in text


def _js_number(value: float, digits: int) -> str:
    """``value`` as the viewer's fmt writes it in en-US: rounded, thousands grouped, no trailing zeros."""
    text = f"{round(float(value), digits):,.{digits}f}"
    return text.rstrip("0").rstrip(".") if digits else text


def test_the_priority_lists_first_row_flies_to_its_segment(session):
    import pandas as pd

    seen, manifest, run, *_ = session
    rows = seen["steps"][31]["value"]
    table = pd.read_parquet(run / "walkability" / "priority.parquet")
    expected = table[table["scenario"] == "heat_day_midday"].sort_values("rank")["segment_id"].tolist()
    assert rows == expected and len(rows) > 10
    assert seen["steps"][33]["value"] is True
    state = seen["steps"][35]["value"]
    assert state["flownTo"]["id"] == rows[0] and state["selected"] == rows[0]
    assert state["picked"] == {"layer": "streets", "id": rows[0]}  # the street's panel is open
    assert "sel=" in state["hash"]  # the selection is kept in the link
    point = (
        _segments(run, "heat_day_midday")
        .to_crs("EPSG:6668")
        .loc[rows[0], "geometry"]
        .interpolate(0.5, normalized=True)
    )
    assert state["flownTo"]["lon"] == pytest.approx(point.x, abs=1e-6)
    # the camera looks at it from the south, within a few hundred metres
    assert abs(state["camera"][0] - point.x) < 0.003 and 0 < point.y - state["camera"][1] < 0.006
    assert state["colour"] == "#00e5ff"  # highlighted
    assert "式" in state["info"] and "温熱快適性(UTCI)" in state["info"]
    assert (
        "交差点/km²(400 m 以内)" in state["info"]
        and "件(800 m 以内の目的地・距離減衰で重み付け)" in state["info"]
    )


def test_about_names_the_weather_source_and_links_the_report(session, served):
    import urllib.request

    seen, manifest, *_ = session
    text, href = seen["steps"][37]["value"]
    sources = {s["weather"]["source"] for s in manifest["seasons"] if "weather" in s}
    assert sources and all(source in text for source in sources)
    assert "国土交通省" in text and "滞在人口" in text
    assert href.endswith("/viewer/report.html")
    base, _ = served
    report = urllib.request.urlopen(f"{base}/viewer/report.html").read().decode("utf-8")
    assert "<html lang='ja'>" in report and "<h2 id='act-first'>まず対策すべき街路</h2>" in report


def test_a_run_on_a_baseline_draws_its_measures_colours_by_change_and_splits_before_after(
    measures_viewer_site, tmp_path
):
    folder, made = measures_viewer_site
    server = make_server(folder, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/viewer/"
        manifest = json.loads((folder / "viewer" / "viewer.json").read_text())
        stops = manifest["legends"]["utci_mean_c_change"]["stops"]

        def colour(side, segment):
            return f"machi.featureColour('streets:{side}', '{segment}')"

        seen = run_session(
            [
                {"do": "goto", "url": f"{base}#s={made['scenario']}&st=utci_mean_c_change"},
                {"do": "eval", "js": f"[{colour('A', made['cooled'])}, {colour('A', made['unchanged'])}]"},
                {
                    "do": "eval",
                    "js": "machi.viewer.dataSources.getByName('measures')[0].entities.values.length",
                },
                {"do": "check", "selector": "#compare", "on": True},
                {"do": "check", "selector": "#beforeAfter", "on": True},
                {"do": "settle"},
                {"do": "eval", "js": f"[{colour('A', made['cooled'])}, {colour('B', made['cooled'])}]"},
                {
                    "do": "eval",
                    "js": "machi.tilesets['streets:B']._machiUrl === machi.tilesets['streets:A']._machiUrl",
                },
            ],
            tmp_path,
        )
    finally:
        server.shutdown()
        server.server_close()
    _clean(seen)
    values = [step["value"] for step in seen["steps"]]
    # colour by change: 2 °C cooler in the bluest bin (the domain is +-2), unchanged in the grey middle
    assert values[1] == [stops[0].lower(), stops[len(stops) // 2].lower()]
    assert values[2] == 2 * made["trees"] + 1  # a trunk and a crown per tree, the removed building's ghost
    # before (left) 2 °C warmer than after (right), on the UTCI legend: two different colours
    before, after = values[6]
    utci = manifest["legends"]["utci_mean_c"]
    assert before != after and before.upper() in utci["stops"] and after.upper() in utci["stops"]
    assert utci["stops"].index(before.upper()) > utci["stops"].index(after.upper())


def test_the_flow_layer_draws_mesh_cells_as_labelled_frames_not_volumes(served, tmp_path):
    """Issue 26's "four 1 km boxes cover the district": each cell is a low frame on the ground
    (a click inside it reaches the city under it, a click on its edge the cell) with a label
    of its people, how they were made, the source and the slot; no volume over the district."""
    import shapely

    from pipeline.geo.meshcode import to_polygons

    base, run = served
    manifest = _manifest(run)
    flow = manifest["layers"]["flow"]
    scenario = "heat_day_midday"
    cell = max(flow["cells"], key=lambda c: c["population"][scenario] or 0)
    square = to_polygons([int(cell["meshcode"])], "EPSG:6668").to_numpy()[0]
    west, south, east, north = square.bounds
    centre = shapely.centroid(square)
    edge = (east - 0.00008, centre.y)  # 7 m inside the east edge: on the frame, clear of the panels
    inside = shapely.Point(centre.x, centre.y - 0.002)  # 220 m south of the centre, clear of the label
    probe = (
        "(() => { const m = window.machi, ts = m.tilesets['flow:A'];"
        " const now = m.viewer.clock.currentTime, box = ts.root.boundingVolume.boundingVolume;"
        " const column = (i) => Cesium.Matrix3.getColumn(box.halfAxes, i, new Cesium.Cartesian3());"
        " const up = Cesium.Ellipsoid.WGS84.geodeticSurfaceNormal(box.center, new Cesium.Cartesian3());"
        " const tall = 2 * [0, 1, 2].reduce((s, i) => s + Math.abs(Cesium.Cartesian3.dot(column(i), up)), 0);"
        " const across = 2 * Math.max(...[0, 1, 2].map((i) => Cesium.Cartesian3.magnitude(column(i))));"
        " return {show: ts.show, tall, across, labelsShown: m.flowLabels.show,"
        " labels: m.flowLabels.entities.values.map((e) => e.label.text.getValue(now))}; })()"
    )
    picked = (
        "(window.machi.picked && {layer: window.machi.picked.layer, meshcode: window.machi.picked.meshcode})"
    )
    seen = run_session(
        [
            {"do": "goto", "url": f"{base}/viewer/#s={scenario}&lang=ja"},
            {"do": "check", "selector": "#layer-flow", "on": True},
            {"do": "lookAt", "lon": inside.x, "lat": inside.y, "h": cell["h"], "range": 2500},
            {"do": "settle"},
            {"do": "eval", "js": probe},  # 4
            {"do": "clickAt", "lon": inside.x, "lat": inside.y, "h": cell["h"]},
            {"do": "eval", "js": picked},  # 6
            {"do": "clickAt", "lon": edge[0], "lat": edge[1], "h": cell["h"] + 2},
            {"do": "eval", "js": picked},  # 8
        ],
        tmp_path,
        locale="ja-JP",
    )
    _clean(seen)
    state = seen["steps"][4]["value"]
    assert state["show"] is True and state["labelsShown"] is True
    # the frames stand 4 m on the ground (the ground's relief across the cells added) over
    # the cells' extent: no volume as tall as a cell's population (the busiest was 150 m)
    assert state["tall"] < 15 and state["across"] > 1000
    assert len(state["labels"]) == len(flow["cells"])
    label = next(text for text in state["labels"] if cell["meshcode"] in text)
    people = f"{round(cell['population'][scenario]):,} 人"
    assert f"メッシュ {cell['meshcode']}" in label and people in label
    season = next(x for x in manifest["seasons"] if x["name"] == "heat_day")["label"][
        "ja"
    ]  # a design day says so
    assert f"{season} 昼 11:00–14:00: {people}" in label and cell["source"][scenario] in label
    assert "国交省の公表値" in label  # MLIT covers the midday slot
    assert (seen["steps"][6]["value"] or {}).get("layer") != "flow"  # the city inside the cell is reachable
    assert seen["steps"][8]["value"] == {"layer": "flow", "meshcode": cell["meshcode"]}


def test_the_trees_found_in_lidar_are_a_layer_to_switch_on(served, tmp_path):
    """The ``veg_lidar`` tileset (trees detected in the LiDAR) is a layer of its own, off by
    default, labelled in both languages, whose trees load when switched on."""
    base, run = served
    manifest = _manifest(run)
    assert manifest["layers"]["veg_lidar"]["visible"] is False
    assert manifest["layer_order"].index("veg_lidar") == manifest["layer_order"].index("trees") + 1
    probe = (
        "(() => { const ts = window.machi.tilesets['veg_lidar']; let features = 0;"
        " const stack = [ts.root];"
        " while (stack.length) { const t = stack.pop(); stack.push(...t.children);"
        "   if (t.content) features += t.content.featuresLength || 0; }"
        " return {show: ts.show, loaded: ts.tilesLoaded, features, on: window.machi.state.layers.veg_lidar,"
        " label: document.getElementById('layer-veg_lidar').parentElement.textContent}; })()"
    )
    lon, lat, h = manifest["view"]["centre"]
    seen = run_session(
        [
            {"do": "goto", "url": f"{base}/viewer/#lang=ja"},
            {"do": "eval", "js": "document.getElementById('layer-veg_lidar').checked"},  # 1
            {"do": "check", "selector": "#layer-veg_lidar", "on": True},
            {"do": "lookAt", "lon": lon, "lat": lat, "h": h, "range": 600, "pitch": -60},
            {"do": "settle"},
            {"do": "eval", "js": probe},  # 5
            {"do": "select", "selector": "#language", "value": "en"},
            {"do": "eval", "js": "document.getElementById('layer-veg_lidar').parentElement.textContent"},  # 7
            {"do": "eval", "js": "location.hash"},  # 8
        ],
        tmp_path,
        locale="ja-JP",
    )
    _clean(seen)
    assert seen["steps"][1]["value"] is False  # off by default: the PLATEAU trees are the default view
    state = seen["steps"][5]["value"]
    assert state["on"] is True and state["show"] is True and state["loaded"] is True
    assert state["features"] > 0
    assert state["label"] == "LiDAR検出樹木" and seen["steps"][7]["value"] == "Trees from LiDAR"
    assert "veg_lidar" in seen["steps"][8]["value"]  # kept in the link
