// `window.machi`: what tests (tests/browser/, tests/js/viewer_session.mjs) and scripts
// (benchmarks/viewer.py) may read of the running app, and the few things they may do.
// The app itself never reads it: its state lives in state.js.
//
// Read (live, from the store of state.js):
//   ready, error, failures          started / a fatal error's message / failed tiles and imagery
//   manifest, state                 viewer.json and the view state (see state.js)
//   viewer, tilesets, imagery       the Cesium.Viewer, its tilesets ("streets:A", "lidar", ...) and imagery layers
//   picked                          what the details panel shows ({layer, id, score, components, ...})
//   districts, districtSource, useDistricts, useDistrictSource, outline, selectedArea
//   legendBox, lastImage            where the last saved image drew its legend, and its data URL
//   priority, flownTo, lastCsv      priority.json once read, the segment a priority row flew to, the last CSV
//   flowLabels                      the people-flow cells' labels (a Cesium data source)
// Call:
//   settled()                       every shown layer's tiles and the globe are loaded
//   applied()                       a promise of the last view change having been applied
//   findFeature(key, id), featureColour(key, id)   a loaded feature of a tileset, its CSS colour
//   lookAt(lon, lat, h, range, pitchDeg), screenPosition(lon, lat, h)
//   flyToSegment(id)                fly to a segment of the priority list and select it
import { findFeature, settled } from "./layers.js";
import { flyToSegment } from "./guide.js";
import { app } from "./state.js";

const READABLE = ["ready", "error", "failures", "manifest", "state", "viewer", "tilesets", "imagery", "picked",
                  "districts", "districtSource", "useDistricts", "useDistrictSource", "outline", "selectedArea",
                  "legendBox", "lastImage", "priority", "flownTo", "lastCsv", "flowLabels"];

/** The colour ("#rrggbb") the style gave that feature, or null if it is not loaded. */
function featureColour(layerKey, id) {
  const f = findFeature(layerKey, id);
  return f ? f.color.toCssHexString().slice(0, 7) : null;
}

/** Look at lon/lat (deg) from `range` m above ellipsoidal height `h`, pitched `pitchDeg`. */
function lookAt(lon, lat, h, range, pitchDeg = -90) {
  app.viewer.camera.setView({
    destination: Cesium.Cartesian3.fromDegrees(lon, lat, h + range),
    orientation: { heading: 0, pitch: Cesium.Math.toRadians(pitchDeg), roll: 0 },
  });
  app.viewer.scene.requestRender();
}

/** The canvas pixel {x, y} of lon/lat (deg) at ellipsoidal height h, or null. */
function screenPosition(lon, lat, h) {
  const p = Cesium.SceneTransforms.worldToWindowCoordinates(app.viewer.scene, Cesium.Cartesian3.fromDegrees(lon, lat, h));
  return p ? { x: p.x, y: p.y } : null;
}

/** The test and script surface; `applied` returns the promise of the last apply. */
export function scriptApi(applied) {
  const api = { settled, applied, findFeature, featureColour, lookAt, screenPosition, flyToSegment };
  for (const key of READABLE) Object.defineProperty(api, key, { get: () => app[key], enumerable: true });
  return Object.freeze(api);
}
