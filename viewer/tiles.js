// Machi 3D Tiles viewer: loads CesiumJS from a local folder, opens the tilesets named in
// the query string and shows the properties of a clicked feature.
// The page state is kept in `window.machi` so that tests can follow what happened.
"use strict";

const params = new URLSearchParams(window.location.search);
// Where CesiumJS may be, in order: ?cesium=URL; `cesium/` beside the page (a run's
// <output>/viewer/, where the viewer stage copies it); the repository's npm installs
// (`npm ci --prefix viewer`, then `npm ci --prefix tests/js`).
const CESIUM_BASES = params.get("cesium") ? [params.get("cesium").replace(/\/?$/, "/")]
  : ["cesium/", "node_modules/cesium/Build/Cesium/", "../tests/js/node_modules/cesium/Build/Cesium/"];
const tilesetUrls = params.getAll("tileset");

window.machi = {
  ready: false,          // every tileset created and added to the scene
  allLoaded: false,      // the current view's tiles are all loaded
  tilesLoaded: 0,        // tileLoad events
  failures: [],          // tileFailed messages
  error: null,           // a fatal error (tileset.json missing, WebGL unavailable, ...)
  picked: null,          // properties of the last clicked feature
  tilesets: [],
};

function setStatus(text) {
  document.getElementById("status").textContent = text;
}

function loadScript(url) {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = url;
    script.onload = resolve;
    script.onerror = () => { script.remove(); reject(new Error(`cannot load ${url}`)); };
    document.head.appendChild(script);
  });
}

function loadStyle(url) {
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = url;
  document.head.appendChild(link);
}

function showProperties(feature) {
  const info = document.getElementById("info");
  const properties = {};
  for (const id of feature.getPropertyIds()) {
    properties[id] = feature.getProperty(id);
  }
  window.machi.picked = properties;
  const table = document.createElement("table");
  for (const [name, value] of Object.entries(properties)) {
    if (value === undefined || value === null || value === "") continue;
    const row = table.insertRow();
    row.insertCell().textContent = name;
    row.insertCell().textContent = String(value);
  }
  info.replaceChildren(table);
}

// Load CesiumJS from the first of CESIUM_BASES that has it.
async function loadCesium() {
  for (const base of CESIUM_BASES) {
    try {
      await loadScript(base + "Cesium.js");
    } catch (error) {
      continue;  // not there: try the next place
    }
    window.CESIUM_BASE_URL = base;
    loadStyle(base + "Widgets/widgets.css");
    return;
  }
  throw new Error(`CesiumJS not found in ${CESIUM_BASES.join(", ")} (add ?cesium=URL of its Build/Cesium/ folder)`);
}

async function main() {
  await loadCesium();
  Cesium.Ion.defaultAccessToken = undefined;  // offline: no ion assets are used

  const viewer = new Cesium.Viewer("cesiumContainer", {
    baseLayer: false, baseLayerPicker: false, geocoder: false, homeButton: false,
    sceneModePicker: false, navigationHelpButton: false, animation: false, timeline: false,
    fullscreenButton: false, infoBox: false, selectionIndicator: false,
    terrainProvider: new Cesium.EllipsoidTerrainProvider(),
    requestRenderMode: false,
  });
  viewer.scene.globe.baseColor = Cesium.Color.fromCssColorString("#404448");
  viewer.scene.skyAtmosphere.show = false;
  viewer.scene.globe.depthTestAgainstTerrain = false;
  window.machi.viewer = viewer;

  if (tilesetUrls.length === 0) {
    setStatus("Add ?tileset=URL/of/tileset.json to the address.");
    return;
  }
  for (const url of tilesetUrls) {
    const tileset = await Cesium.Cesium3DTileset.fromUrl(url, { maximumScreenSpaceError: 8 });
    tileset.tileLoad.addEventListener(() => { window.machi.tilesLoaded += 1; });
    tileset.tileFailed.addEventListener((error) => {
      window.machi.failures.push(`${error.url}: ${error.message}`);
      setStatus(`tile failed: ${error.url}`);
    });
    tileset.allTilesLoaded.addEventListener(() => {
      window.machi.allLoaded = true;
      setStatus(`${window.machi.tilesLoaded} tile(s) loaded`);
    });
    viewer.scene.primitives.add(tileset);
    window.machi.tilesets.push(tileset);
  }
  await viewer.zoomTo(window.machi.tilesets[0]);

  let highlighted = null;
  const handler = new Cesium.ScreenSpaceEventHandler(viewer.scene.canvas);
  handler.setInputAction((click) => {
    if (highlighted) {
      highlighted.feature.color = highlighted.color;
      highlighted = null;
    }
    const feature = viewer.scene.pick(click.position);
    if (!(feature instanceof Cesium.Cesium3DTileFeature)) {
      window.machi.picked = {};
      document.getElementById("info").textContent = "No feature here.";
      return;
    }
    highlighted = { feature, color: Cesium.Color.clone(feature.color) };
    feature.color = Cesium.Color.YELLOW;
    showProperties(feature);
  }, Cesium.ScreenSpaceEventType.LEFT_CLICK);
  window.machi.ready = true;
}

// Whether every tileset has loaded the tiles the current view needs.
window.machi.settled = function () {
  return window.machi.ready && window.machi.tilesets.every((t) => t.tilesLoaded);
};

// Look straight down at lon/lat (deg) from `range` metres above the ellipsoidal height h.
window.machi.lookDownAt = function (lon, lat, h, range) {
  if (![lon, lat, h, range].every(Number.isFinite)) {
    throw new Error(`lookDownAt needs finite numbers, got ${[lon, lat, h, range]}`);
  }
  window.machi.allLoaded = false;
  window.machi.viewer.camera.setView({
    destination: Cesium.Cartesian3.fromDegrees(lon, lat, h + range),
    orientation: { heading: 0.0, pitch: -Cesium.Math.PI_OVER_TWO, roll: 0.0 },
  });
};

main().catch((error) => {
  window.machi.error = String(error && error.message ? error.message : error);
  setStatus(`error: ${window.machi.error}`);
  console.error(error);
});
