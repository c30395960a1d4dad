// The app's state: one store (`app`) and the pure functions over the view state it
// holds (defaults, the URL hash, scenario look-ups).
// Pure at import: no document, window or Cesium (Node imports it in viewer/test/).
//
// The view state (`app.state`) is what a copied link restores:
//   {scenario, compareWith, compare, beforeAfter: on a run with measures, the split view
//    shows the scenario before (left) and after (right) the measures, split, streetsBy, buildingsBy, layers: {id: on},
//    shadows, lang, camera: [lon°, lat°, height m, heading, pitch, roll (rad)] | null,
//    fixedDomain: legends over one domain across scenarios (else each scenario's own values),
//    selected: the segment_id of the selected street | null, panel: "priority" | "about" | null}

import { hasChanges } from "./change.js";

/** The one store of the running app. Modules read and write it; `window.machi` (main.js)
 * lets tests and scripts read it. */
export const app = {
  manifestUrl: "viewer.json",  // where viewer.json is read from (?manifest=)
  manifest: null,              // viewer.json
  state: null,                 // the view state (above)
  viewer: null,                // the Cesium.Viewer
  ready: false,                // the viewer is built and the first view applied
  settledOnce: false,          // the status line said "settled" since the last apply
  error: null,                 // a fatal error's message
  failures: [],                // failed tiles and imagery
  tilesets: {},                // "<layer>" or "<layer>:A|B" -> Cesium3DTileset
  imagery: {},                 // "<layer>:A|B" -> ImageryLayer
  picked: null,                // what the details panel shows (layer, id, values)
  highlight: null,
  playing: null,               // the Play timer
  districts: null,             // {areas, summary} of the district table
  districtSource: null,        // district outlines (Cesium data source)
  useDistricts: null,          // the use districts' GeoJSON
  useDistrictSource: null,     // use-district polygons (Cesium data source)
  outline: null,               // the outline of the area flown to
  selectedArea: null,          // {kind, id} of that area
  legendBox: null,             // where the last saved image drew its legend (CSS px and ratio)
  lastImage: null,             // data URL of the last saved image
  reapply: null,               // apply the view state again (main.js); panels call it after a change
  priority: null,              // priority.json (where to act first), once read
  segmentOutline: null,        // the outline of the street a priority row flew to
  flownTo: null,               // {id, lon, lat} of that street
  flying: false,               // a flight to it is under way
  lastCsv: null,               // the text of the last CSV saved
  flowLabels: null,            // the people-flow cells' labels (Cesium data source)
};

/** The scenario of viewer.json named `name` (undefined if none). */
export function scenarioByName(manifest, name) {
  return manifest.scenarios.find((s) => s.name === name);
}

/** The scenario of `season` at `slot` (undefined if the run has none). */
export function findScenario(manifest, season, slot) {
  return manifest.scenarios.find((x) => x.season === season && x.slot === slot);
}

/** The scenario Play shows after `name`: the next slot of the same season that the run
 * has, wrapping round to the first (`name` itself when it is the season's only one). */
export function nextScenario(manifest, name) {
  const cur = scenarioByName(manifest, name);
  const i = manifest.slots.findIndex((x) => x.name === cur.slot);
  for (let k = 1; k <= manifest.slots.length; k++) {
    const next = findScenario(manifest, cur.season, manifest.slots[(i + k) % manifest.slots.length].name);
    if (next) return next.name;
  }
  return name;
}

/** The key a scenario-dependent layer is indexed by: the scenario's season for a layer
 * `by: "season"` (sun hours), else the scenario's name. */
export function layerKey(layer, scenario) {
  return layer.by === "season" ? scenario.season : scenario.name;
}

/** The view a bare link opens: the first midday scenario (else the first), compared with
 * the same slot of another season; streets by class; the layers viewer.json marks visible;
 * Japanese when one of the browser's `languages` is Japanese. */
export function defaultState(manifest, languages = []) {
  const m = manifest;
  const first = m.scenarios.find((s) => s.slot === "midday") || m.scenarios[0];
  const other = m.scenarios.find((s) => s.slot === first.slot && s.season !== first.season) || first;
  const prefersJa = languages.some((l) => String(l).toLowerCase().startsWith("ja"));
  const layers = {};
  for (const [id, layer] of Object.entries(m.layers)) if (layer.toggle !== false) layers[id] = !!layer.visible;
  return {
    scenario: first.name, compareWith: other.name, compare: false, beforeAfter: false, split: 0.5,
    streetsBy: "class", buildingsBy: "none", layers, shadows: false,
    lang: prefersJa ? "ja" : "en", camera: null, fixedDomain: false, selected: null, panel: null,
  };
}

/** The URL hash ("#s=...&b=...") that holds view state `s`; the camera rounded to 1e-7°
 * (about 1 cm), 1 cm of height and 1e-5 rad. */
export function encodeHash(s) {
  const q = new URLSearchParams();
  q.set("s", s.scenario);
  q.set("b", s.compareWith);
  q.set("cmp", s.compare ? "1" : "0");
  if (s.beforeAfter) q.set("ba", "1");
  q.set("split", String(s.split));
  q.set("st", s.streetsBy);
  q.set("bd", s.buildingsBy);
  q.set("l", Object.entries(s.layers).filter(([, on]) => on).map(([id]) => id).join(","));
  q.set("sh", s.shadows ? "1" : "0");
  q.set("lang", s.lang);
  if (s.fixedDomain) q.set("fd", "1");
  if (s.selected) q.set("sel", s.selected);
  if (s.panel) q.set("p", s.panel);
  if (s.camera) q.set("cam", s.camera.map((v, i) => v.toFixed(i < 2 ? 7 : i === 2 ? 2 : 5)).join(","));
  return "#" + q.toString();
}

/** View state `base` (not modified) with what `hash` holds applied. A part that does not fit
 * `manifest` is ignored: an unknown scenario, a colouring the run lacks or marks
 * unavailable, a language other than ja/en, a panel other than priority/about, a camera that is not six finite numbers;
 * the split is clamped to [0.05, 0.95] (0.5 if not a number); unknown layer ids are ignored
 * and the run's layers not listed are off. */
export function decodeHash(hash, base, manifest) {
  const m = manifest;
  const q = new URLSearchParams(hash.replace(/^#/, ""));
  const s = structuredClone(base);
  const names = new Set(m.scenarios.map((x) => x.name));
  if (names.has(q.get("s"))) s.scenario = q.get("s");
  if (names.has(q.get("b"))) s.compareWith = q.get("b");
  if (q.has("cmp")) s.compare = q.get("cmp") === "1";
  if (q.has("ba")) s.beforeAfter = q.get("ba") === "1" && hasChanges(m);
  if (q.has("split")) s.split = Math.min(0.95, Math.max(0.05, Number(q.get("split")) || 0.5));
  const usable = (options, id) => options.some((o) => o.id === id && o.available !== false);
  if (usable(m.street_colouring, q.get("st"))) s.streetsBy = q.get("st");
  if (usable(m.building_colouring, q.get("bd"))) s.buildingsBy = q.get("bd");
  if (q.has("l")) {
    const on = new Set(q.get("l").split(","));
    for (const id of Object.keys(s.layers)) s.layers[id] = on.has(id);
  }
  if (q.has("sh")) s.shadows = q.get("sh") === "1";
  if (["ja", "en"].includes(q.get("lang"))) s.lang = q.get("lang");
  if (q.has("fd")) s.fixedDomain = q.get("fd") === "1";
  if (q.get("sel")) s.selected = q.get("sel").slice(0, 200);
  if (["priority", "about"].includes(q.get("p"))) s.panel = q.get("p");
  if (q.has("cam")) {
    const cam = q.get("cam").split(",").map(Number);
    if (cam.length === 6 && cam.every(Number.isFinite)) s.camera = cam;
  }
  return s;
}
