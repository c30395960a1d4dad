// Machi planners' viewer. Reads viewer.json (the one file that says what the run holds),
// shows its layers on the 3D city model for a season and time slot, explains a street's
// score, compares two scenarios side by side and keeps the whole view in the URL hash.
//
// Modules: state.js (the store, view state, URL hash), legends.js (colours, 3D Tiles
// styles), format.js, i18n.js (pure: Node tests them, viewer/test/); dom.js, layers.js
// (CesiumJS and the run's layers), controls.js, panels.js (legend, details), districts.js,
// export.js (save image), guide.js (where to act first, about this map), priority.js (pure:
// the priority list's sorting and CSV); script_api.js (window.machi, for tests and scripts); main.js
// (query parameters, start, applying a view change).
import { bindControls, renderControls } from "./controls.js";
import { loadDistricts, loadUseDistricts, renderDistrictTable } from "./districts.js";
import { $, setStatus, t, writeHash } from "./dom.js";
import { applyLayers, loadCesium, loadMeasures, settled, terrainProvider } from "./layers.js";
import { findFeature } from "./layers.js";
import { renderGuide } from "./guide.js";
import { clearInfo, onClick, renderLegend, showStreet, viewKey } from "./panels.js";
import { scriptApi } from "./script_api.js";
import { app, decodeHash, defaultState } from "./state.js";

// ?manifest=URL reads another viewer.json; ?cesium=URL loads CesiumJS from there.
const params = new URLSearchParams(window.location.search);
app.manifestUrl = params.get("manifest") || "viewer.json";
const CESIUM_BASES = params.get("cesium") ? [params.get("cesium")] : ["cesium/", "node_modules/cesium/Build/Cesium/"];

let applying = Promise.resolve();
window.machi = scriptApi(() => applying);

function fail(error) {
  app.error = String(error && error.message ? error.message : error);
  setStatus(`error: ${app.error}`);
  console.error(error);
}

/** Show the view state (after a change): layers, controls, legend, district table, the
 * details of a picked street, the address. Changes are applied one after the other. */
function apply() {
  applying = applying.then(applyNow).catch((error) => fail(error));
  return applying;
}
async function applyNow() {
  const s = app.state;
  app.settledOnce = false;
  await applyLayers();
  $("splitBar").hidden = !s.compare;
  $("splitBar").style.left = `${s.split * 100}%`;
  renderControls();
  renderLegend();
  renderDistrictTable();
  // the details panel follows the view: a street's for the new scenario, others closed
  // (their values belong to the scenario or layers they were picked in)
  if (app.picked && app.picked.layer === "streets" && s.layers.streets) showStreet(app.picked.feature);
  else if (app.picked && app.picked.view !== viewKey(s)) clearInfo();
  else if (s.selected && s.layers.streets) {
    const feature = findFeature("streets:A", s.selected);
    if (feature) showStreet(feature);
  }
  await renderGuide();
  writeHash();
  app.viewer.scene.requestRender();
}

app.reapply = apply;

async function main() {
  setStatus("…");
  const response = await fetch(app.manifestUrl);
  if (!response.ok) throw new Error(`${app.manifestUrl}: HTTP ${response.status}`);
  const m = (app.manifest = await response.json());
  app.state = decodeHash(window.location.hash, defaultState(m, navigator.languages || [navigator.language]), m);
  setStatus(t("loading"));
  await loadCesium(CESIUM_BASES);
  Cesium.Ion.defaultAccessToken = undefined;  // offline: no ion assets
  const viewer = new Cesium.Viewer("cesiumContainer", {
    baseLayer: false, baseLayerPicker: false, geocoder: false, homeButton: false, sceneModePicker: false,
    navigationHelpButton: false, animation: false, timeline: false, fullscreenButton: false, infoBox: false,
    selectionIndicator: false, shouldAnimate: false,
    terrainProvider: await terrainProvider(m.layers.terrain),
    contextOptions: { webgl: { preserveDrawingBuffer: true } }, msaaSamples: 1,
    // render only when something changed: an idle view costs no CPU (and tests run quickly)
    requestRenderMode: true, maximumRenderTimeChange: Infinity,
  });
  app.viewer = viewer;
  // offline, no ion asset: no Cesium ion logo and no credits to show (every layer is the run's own)
  viewer.cesiumWidget.creditContainer.style.display = "none";
  const scene = viewer.scene;
  scene.globe.baseColor = Cesium.Color.fromCssColorString("#c9cbc4");
  scene.globe.depthTestAgainstTerrain = true;
  scene.globe.shadows = Cesium.ShadowMode.RECEIVE_ONLY;
  scene.globe.enableLighting = false;
  scene.skyAtmosphere.show = false;
  scene.highDynamicRange = false;
  scene.postProcessStages.fxaa.enabled = false;
  scene.fog.enabled = true;  // fog culls tiles towards the horizon: a settled view is reached sooner
  scene.globe.maximumScreenSpaceError = 8;
  scene.globe.preloadSiblings = false;
  viewer.shadowMap.softShadows = true;
  viewer.shadowMap.size = 2048;
  viewer.clock.shouldAnimate = false;
  await loadDistricts();
  await loadUseDistricts();
  await loadMeasures();
  bindControls(apply);
  await apply();
  const cam = app.state.camera;
  if (cam) {
    viewer.camera.setView({
      destination: Cesium.Cartesian3.fromDegrees(cam[0], cam[1], cam[2]),
      orientation: { heading: cam[3], pitch: cam[4], roll: cam[5] },
    });
  } else {
    const [lon, lat, h] = m.view.centre;
    viewer.camera.setView({
      destination: Cesium.Cartesian3.fromDegrees(lon, lat - m.view.camera_offset_deg, h + m.view.camera_height_m),
      orientation: { heading: 0, pitch: Cesium.Math.toRadians(-40), roll: 0 },
    });
  }
  viewer.camera.moveEnd.addEventListener(() => {
    const c = viewer.camera.positionCartographic;
    app.state.camera = [Cesium.Math.toDegrees(c.longitude), Cesium.Math.toDegrees(c.latitude), c.height,
                        viewer.camera.heading, viewer.camera.pitch, viewer.camera.roll];
    writeHash();
  });
  const handler = new Cesium.ScreenSpaceEventHandler(scene.canvas);
  handler.setInputAction((click) => onClick(click.position), Cesium.ScreenSpaceEventType.LEFT_CLICK);
  scene.postRender.addEventListener(() => {
    // on-demand rendering: keep drawing while anything is still loading (terrain tiles
    // made by the callback provider do not ask for a frame themselves), then idle
    if (!settled()) requestAnimationFrame(() => scene.requestRender());
    if (app.ready && !app.settledOnce && settled()) {
      app.settledOnce = true;
      if (app.state.selected && !app.picked && app.state.layers.streets) {  // a link or a row named a street
        const feature = findFeature("streets:A", app.state.selected);
        if (feature) showStreet(feature);
      }
      setStatus(`${t("ready")} · ${t("clickHint")}`);
    }
  });
  app.ready = true;
}

main().catch(fail);
