// Machi planners' viewer. Reads viewer.json (the one file that says what the run holds),
// shows its layers on the 3D city model for a season and time slot, explains a street's
// score, compares two scenarios side by side and keeps the whole view in the URL hash.
// State a test can follow is kept in window.machi.
"use strict";

const params = new URLSearchParams(window.location.search);
const MANIFEST_URL = params.get("manifest") || "viewer.json";
const CESIUM_BASES = params.get("cesium") ? [params.get("cesium")] : ["cesium/", "node_modules/cesium/Build/Cesium/"];
const NO_DATA = "#bdbdbd";
const FALLBACK = "#e6e6e6";

const machi = (window.machi = {
  ready: false, error: null, failures: [], manifest: null, state: null, picked: null,
  lastImage: null, tilesets: {}, imagery: {}, stepsDone: [],
});

// ---------------------------------------------------------------------------- helpers
const $ = (id) => document.getElementById(id);
const fmt = (v, digits = 2) => (v === undefined || v === null || Number.isNaN(v)) ? "–"
  : (typeof v === "number" ? Number(v.toFixed(digits)).toLocaleString() : String(v));
const resolveUrl = (url) => new URL(url, new URL(MANIFEST_URL, window.location.href)).href;

function t(key) {
  const lang = machi.state ? machi.state.lang : "en";
  return (window.MACHI_I18N[lang] || window.MACHI_I18N.en)[key] || window.MACHI_I18N.en[key] || key;
}
function word(label) {  // a {en, ja} label from viewer.json
  if (label === undefined || label === null) return "";
  if (typeof label === "string") return label;
  return label[machi.state.lang] || label.en || Object.values(label)[0];
}
function setStatus(text) { $("status").textContent = text; }
function loadScript(url) {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = url;
    script.onload = resolve;
    script.onerror = () => { script.remove(); reject(new Error(`cannot load ${url}`)); };
    document.head.appendChild(script);
  });
}
async function loadCesium() {
  for (const base of CESIUM_BASES) {
    try {
      await loadScript(base + "Cesium.js");
    } catch (error) {
      continue;  // not copied next to the app: try the next place
    }
    window.CESIUM_BASE_URL = base;
    const link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = base + "Widgets/widgets.css";
    document.head.appendChild(link);
    return;
  }
  throw new Error("CesiumJS not found next to the viewer (run `npm ci --prefix viewer`, then the viewer stage)");
}

// Colour of a value on a legend: ramp (binned into its stops) or categories.
function legendColour(legend, value) {
  if (value === undefined || value === null || value === "" || (typeof value === "number" && Number.isNaN(value))) {
    return NO_DATA;
  }
  if (legend.kind === "categories") {
    const hit = legend.categories.find((c) => c.value === value);
    return hit ? hit.colour : (legend.other || FALLBACK);
  }
  const n = legend.stops.length;
  const f = (value - legend.min) / ((legend.max - legend.min) || 1);
  return legend.stops[Math.max(0, Math.min(n - 1, Math.floor(f * n)))];
}
// The same colouring as a Cesium3DTileStyle expression on property `prop`.
function styleFor(legend, prop, alpha = 1.0) {
  const v = "${" + prop + "}";
  const col = (hex) => `color('${hex}', ${alpha})`;
  const conditions = [[`${v} === undefined || ${v} === null || ${v} === ''`, col(NO_DATA)]];
  if (legend.kind === "categories") {
    for (const c of legend.categories) conditions.push([`${v} === '${c.value.replace(/'/g, "\\'")}'`, col(c.colour)]);
    conditions.push(["true", col(legend.other || FALLBACK)]);
  } else {
    const n = legend.stops.length;
    const step = (legend.max - legend.min) / n;
    for (let i = n - 1; i >= 1; i--) conditions.push([`${v} >= ${legend.min + i * step}`, col(legend.stops[i])]);
    conditions.push(["true", col(legend.stops[0])]);
  }
  return new Cesium.Cesium3DTileStyle({ color: { conditions } });
}

// ---------------------------------------------------------------------------- state
function defaultState(m) {
  const first = m.scenarios.find((s) => s.slot === "midday") || m.scenarios[0];
  const other = m.scenarios.find((s) => s.slot === first.slot && s.season !== first.season) || first;
  const prefersJa = (navigator.languages || [navigator.language]).some((l) => String(l).toLowerCase().startsWith("ja"));
  const layers = {};
  for (const [id, layer] of Object.entries(m.layers)) if (layer.toggle !== false) layers[id] = !!layer.visible;
  return {
    scenario: first.name, compareWith: other.name, compare: false, split: 0.5,
    streetsBy: "class", buildingsBy: "none", layers, shadows: false,
    lang: prefersJa ? "ja" : "en", camera: null,
  };
}
function encodeHash(s) {
  const q = new URLSearchParams();
  q.set("s", s.scenario);
  q.set("b", s.compareWith);
  q.set("cmp", s.compare ? "1" : "0");
  q.set("split", String(s.split));
  q.set("st", s.streetsBy);
  q.set("bd", s.buildingsBy);
  q.set("l", Object.entries(s.layers).filter(([, on]) => on).map(([id]) => id).join(","));
  q.set("sh", s.shadows ? "1" : "0");
  q.set("lang", s.lang);
  if (s.camera) q.set("cam", s.camera.map((v, i) => v.toFixed(i < 2 ? 7 : i === 2 ? 2 : 5)).join(","));
  return "#" + q.toString();
}
function decodeHash(hash, base, m) {
  const q = new URLSearchParams(hash.replace(/^#/, ""));
  const s = structuredClone(base);
  const names = new Set(m.scenarios.map((x) => x.name));
  if (names.has(q.get("s"))) s.scenario = q.get("s");
  if (names.has(q.get("b"))) s.compareWith = q.get("b");
  if (q.has("cmp")) s.compare = q.get("cmp") === "1";
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
  if (q.has("cam")) {
    const cam = q.get("cam").split(",").map(Number);
    if (cam.length === 6 && cam.every(Number.isFinite)) s.camera = cam;
  }
  return s;
}
function writeHash() {
  history.replaceState(null, "", encodeHash(machi.state));
}
function scenarioByName(name) { return machi.manifest.scenarios.find((s) => s.name === name); }

// ---------------------------------------------------------------------------- layers
function watchTileset(id, tileset) {
  tileset.tileFailed.addEventListener((error) => {
    machi.failures.push(`${id}: ${error.url}: ${error.message}`);
    setStatus(`tile failed: ${error.url}`);
  });
  machi.tilesets[id] = tileset;
  return tileset;
}
async function addTileset(id, url, options = {}) {
  const tileset = await Cesium.Cesium3DTileset.fromUrl(resolveUrl(url), { maximumScreenSpaceError: 8, ...options });
  machi.viewer.scene.primitives.add(tileset);
  return watchTileset(id, tileset);
}

// Globe surface from the run's terrain: ellipsoidal heights on a lon/lat grid.
async function terrainProvider(layer) {
  if (!layer) return new Cesium.EllipsoidTerrainProvider();
  const response = await fetch(resolveUrl(layer.url));
  if (!response.ok) throw new Error(`terrain ${layer.url}: HTTP ${response.status}`);
  const grid = new Float32Array(await response.arrayBuffer());
  const { width, height, west, south, east, north } = layer;
  const sample = (lon, lat) => {
    const fx = Math.min(width - 1, Math.max(0, ((lon - west) / (east - west)) * width - 0.5));
    const fy = Math.min(height - 1, Math.max(0, ((north - lat) / (north - south)) * height - 0.5));
    const x0 = Math.floor(fx), y0 = Math.floor(fy);
    const x1 = Math.min(width - 1, x0 + 1), y1 = Math.min(height - 1, y0 + 1);
    const ax = fx - x0, ay = fy - y0;
    const at = (x, y) => grid[y * width + x];
    return (at(x0, y0) * (1 - ax) + at(x1, y0) * ax) * (1 - ay) + (at(x0, y1) * (1 - ax) + at(x1, y1) * ax) * ay;
  };
  const size = 33;
  const tiling = new Cesium.GeographicTilingScheme();
  return new Cesium.CustomHeightmapTerrainProvider({
    width: size, height: size, tilingScheme: tiling,
    callback: (x, y, level) => {
      const r = tiling.tileXYToRectangle(x, y, level);
      const out = new Float32Array(size * size);
      for (let j = 0; j < size; j++) {
        const lat = Cesium.Math.toDegrees(r.north - (j / (size - 1)) * (r.north - r.south));
        for (let i = 0; i < size; i++) {
          out[j * size + i] = sample(Cesium.Math.toDegrees(r.west + (i / (size - 1)) * (r.east - r.west)), lat);
        }
      }
      return out;
    },
  });
}

function imageryLayer(layer, key) {
  const url = layer.urls[key];
  if (!url) return null;
  const eps = 1e-7;
  const provider = new Cesium.UrlTemplateImageryProvider({
    url: resolveUrl(url), tilingScheme: new Cesium.WebMercatorTilingScheme(),
    minimumLevel: layer.min_zoom, maximumLevel: layer.max_zoom, hasAlphaChannel: true,
    rectangle: Cesium.Rectangle.fromDegrees(layer.west + eps, layer.south + eps, layer.east - eps, layer.north - eps),
  });
  provider.errorEvent.addEventListener((e) => machi.failures.push(`imagery ${url}: ${e.message || e}`));
  return new Cesium.ImageryLayer(provider, {});
}

// The key a scenario-dependent layer is indexed by (scenario name, or its season).
function layerKey(layer, scenario) { return layer.by === "season" ? scenario.season : scenario.name; }

// ---------------------------------------------------------------------------- rendering the state
function applyImagery() {
  const v = machi.viewer, m = machi.manifest, s = machi.state;
  for (const layer of Object.values(machi.imagery)) v.imageryLayers.remove(layer, true);
  machi.imagery = {};
  for (const id of ["sun_hours", "shade_hours"]) {
    const layer = m.layers[id];
    if (!layer || !s.layers[id]) continue;
    const sides = s.compare ? [["A", s.scenario, Cesium.SplitDirection.LEFT], ["B", s.compareWith, Cesium.SplitDirection.RIGHT]]
      : [["A", s.scenario, Cesium.SplitDirection.NONE]];
    for (const [side, name, direction] of sides) {
      const il = imageryLayer(layer, layerKey(layer, scenarioByName(name)));
      if (!il) continue;
      il.splitDirection = direction;
      v.imageryLayers.add(il);
      machi.imagery[`${id}:${side}`] = il;
    }
  }
}

function streetStyle(name) {
  const m = machi.manifest, s = machi.state;
  const option = m.street_colouring.find((o) => o.id === s.streetsBy) || m.street_colouring[0];
  return styleFor(m.legends[option.legend], `${option.id}${m.layers.streets.separator}${name}`);
}
function buildingStyle(name) {
  const m = machi.manifest, s = machi.state;
  const option = m.building_colouring.find((o) => o.id === s.buildingsBy);
  if (!option || option.id === "none" || !option.property) return undefined;
  return styleFor(m.legends[option.legend], option.property.replace("{scenario}", name));
}

async function ensurePair(id, url, styleOf) {
  // One tileset per side: A (left, or everywhere) and B (right) in compare mode.
  const s = machi.state;
  const want = s.compare ? ["A", "B"] : ["A"];
  for (const side of ["A", "B"]) {
    const key = `${id}:${side}`;
    if (!want.includes(side) && machi.tilesets[key]) {
      machi.viewer.scene.primitives.remove(machi.tilesets[key]);
      delete machi.tilesets[key];
    }
  }
  for (const side of want) {
    const key = `${id}:${side}`;
    const name = side === "A" ? s.scenario : s.compareWith;
    const target = typeof url === "function" ? url(scenarioByName(name)) : url;
    let tileset = machi.tilesets[key];
    if (tileset && tileset._machiUrl !== target) {
      machi.viewer.scene.primitives.remove(tileset);
      delete machi.tilesets[key];
      tileset = null;
    }
    if (!tileset && target) {
      tileset = await addTileset(key, target);
      tileset._machiUrl = target;
    }
    if (!tileset) continue;
    tileset.show = !!s.layers[id];
    tileset.splitDirection = !s.compare ? Cesium.SplitDirection.NONE
      : (side === "A" ? Cesium.SplitDirection.LEFT : Cesium.SplitDirection.RIGHT);
    tileset.style = styleOf ? styleOf(name) : undefined;
  }
}

let applying = Promise.resolve();
function apply() {
  applying = applying.then(applyNow).catch((error) => fail(error));
  return applying;
}
async function applyNow() {
  const v = machi.viewer, m = machi.manifest, s = machi.state;
  machi.settledOnce = false;
  const scenario = scenarioByName(s.scenario);
  // Layers that do not change with the scenario.
  for (const id of ["trees", "terrain3d", "roads", "lidar"]) {
    const layer = m.layers[id];
    if (!layer) continue;
    if (!machi.tilesets[id]) await addTileset(id, layer.url);
    machi.tilesets[id].show = !!s.layers[id];
  }
  if (m.layers.buildings) await ensurePair("buildings", m.layers.buildings.url, buildingStyle);
  if (m.layers.streets) await ensurePair("streets", m.layers.streets.url, streetStyle);
  if (m.layers.flow) {
    const flow = m.layers.flow;
    await ensurePair("flow", (sc) => flow.urls[sc.name], () => styleFor(m.legends[flow.legend], "population", 0.55));
  }
  applyImagery();
  if (machi.districtSource) machi.districtSource.show = !!s.layers.districts;
  // Sun and shadows at the middle of the slot.
  v.clock.currentTime = Cesium.JulianDate.fromIso8601(scenario.mid_time);
  v.shadows = !!s.shadows;
  v.scene.splitPosition = s.split;
  $("splitBar").hidden = !s.compare;
  $("splitBar").style.left = `${s.split * 100}%`;
  renderControls();
  renderLegend();
  renderDistrictTable();
  if (machi.picked && machi.picked.layer === "streets") showStreet(machi.picked.feature);
  writeHash();
  v.scene.requestRender();
}

// ---------------------------------------------------------------------------- controls
function fillSelect(select, options, value) {
  select.replaceChildren(...options.map(([v, label, disabled, reason]) => {
    const o = document.createElement("option");
    o.value = v;
    o.textContent = disabled && reason ? `${label} (${reason})` : label;
    o.disabled = !!disabled;
    return o;
  }));
  select.value = value;
}
function seasonsAndSlots() {
  const m = machi.manifest;
  return {
    seasons: m.seasons.map((x) => [x.name, word(x.label)]),
    slots: m.slots.map((x) => [x.name, `${word(x.label)} ${x.start}–${x.end}`]),
  };
}
function findScenario(season, slot) {
  return machi.manifest.scenarios.find((x) => x.season === season && x.slot === slot);
}
function renderControls() {
  const m = machi.manifest, s = machi.state;
  document.documentElement.lang = s.lang;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  $("play").textContent = machi.playing ? t("stop") : t("play");
  $("play").setAttribute("aria-pressed", machi.playing ? "true" : "false");
  $("language").value = s.lang;
  $("title").textContent = `Machi · ${m.name}`;
  const { seasons, slots } = seasonsAndSlots();
  const a = scenarioByName(s.scenario), b = scenarioByName(s.compareWith);
  fillSelect($("season"), seasons, a.season);
  fillSelect($("slot"), slots, a.slot);
  fillSelect($("seasonB"), seasons, b.season);
  fillSelect($("slotB"), slots, b.slot);
  for (const id of ["seasonB", "slotB", "split"]) $(id).disabled = !s.compare;
  $("compare").checked = s.compare;
  $("split").value = String(s.split);
  $("shadows").checked = s.shadows;
  $("scenarioTime").textContent = `${a.date} ${a.start}–${a.end} (${m.timezone})`;
  fillSelect($("streetsBy"), m.street_colouring.map((o) => [o.id, word(m.legends[o.legend].title),
    o.available === false, word(o.reason)]), s.streetsBy);
  fillSelect($("buildingsBy"), m.building_colouring.map((o) => [o.id,
    o.id === "none" ? t("none") : word(m.legends[o.legend].title), o.available === false, word(o.reason)]), s.buildingsBy);
  $("streetsBy").disabled = !m.layers.streets;
  // layer toggles: every layer the app knows; those the run lacks are disabled with a reason
  const list = $("layerList");
  list.querySelectorAll("label, .reason").forEach((e) => e.remove());
  for (const id of m.layer_order) {
    const layer = m.layers[id];
    if (layer && layer.toggle === false) continue;
    const label = document.createElement("label");
    label.className = "inline";
    const box = document.createElement("input");
    box.type = "checkbox";
    box.id = `layer-${id}`;
    box.checked = !!(layer && s.layers[id]);
    box.disabled = !layer;
    box.addEventListener("change", () => { s.layers[id] = box.checked; apply(); });
    const text = document.createElement("span");
    text.textContent = t(`layer_${id}`);
    label.append(box, text);
    list.appendChild(label);
    if (!layer) {
      const reason = document.createElement("span");
      reason.className = "reason";
      reason.id = `reason-${id}`;
      reason.textContent = word((m.unavailable || {})[id]) || t("notInRun");
      box.setAttribute("aria-describedby", reason.id);
      box.title = reason.textContent;
      list.appendChild(reason);
    }
  }
}
function bindControls() {
  const s = () => machi.state;
  const pick = (seasonId, slotId, key) => {
    const sc = findScenario($(seasonId).value, $(slotId).value);
    if (sc) { s()[key] = sc.name; apply(); }
  };
  $("season").addEventListener("change", () => pick("season", "slot", "scenario"));
  $("slot").addEventListener("change", () => pick("season", "slot", "scenario"));
  $("seasonB").addEventListener("change", () => pick("seasonB", "slotB", "compareWith"));
  $("slotB").addEventListener("change", () => pick("seasonB", "slotB", "compareWith"));
  $("streetsBy").addEventListener("change", (e) => { s().streetsBy = e.target.value; apply(); });
  $("buildingsBy").addEventListener("change", (e) => { s().buildingsBy = e.target.value; apply(); });
  $("shadows").addEventListener("change", (e) => { s().shadows = e.target.checked; apply(); });
  $("compare").addEventListener("change", (e) => { s().compare = e.target.checked; apply(); });
  $("split").addEventListener("input", (e) => { s().split = Number(e.target.value); apply(); });
  $("language").addEventListener("change", (e) => { s().lang = e.target.value; apply(); });
  $("play").addEventListener("click", togglePlay);
  $("saveImage").addEventListener("click", () => saveImage());
  $("copyLink").addEventListener("click", async () => {
    writeHash();
    await navigator.clipboard?.writeText(window.location.href).catch(() => {});
    setStatus(t("linkCopied"));
  });
  $("toggleDistricts").addEventListener("click", () => {
    const panel = $("districtPanel");
    panel.hidden = !panel.hidden;
    $("toggleDistricts").setAttribute("aria-expanded", String(!panel.hidden));
  });
  $("closeInfo").addEventListener("click", () => clearInfo());
}
function togglePlay() {
  if (machi.playing) {
    clearInterval(machi.playing);
    machi.playing = null;
  } else {
    machi.playing = setInterval(() => {
      const m = machi.manifest, cur = scenarioByName(machi.state.scenario);
      const i = m.slots.findIndex((x) => x.name === cur.slot);
      for (let k = 1; k <= m.slots.length; k++) {
        const next = findScenario(cur.season, m.slots[(i + k) % m.slots.length].name);
        if (next) { machi.state.scenario = next.name; break; }
      }
      apply();
    }, 2500);
  }
  renderControls();
}

// ---------------------------------------------------------------------------- legend
function legendItems() {
  const m = machi.manifest, s = machi.state, items = [];
  if (m.layers.streets && s.layers.streets) {
    const option = m.street_colouring.find((o) => o.id === s.streetsBy);
    if (option) items.push(m.legends[option.legend]);
  }
  const b = m.building_colouring.find((o) => o.id === s.buildingsBy);
  if (m.layers.buildings && s.layers.buildings && b && b.legend) items.push(m.legends[b.legend]);
  for (const id of ["shade_hours", "sun_hours", "flow"]) {
    if (m.layers[id] && s.layers[id]) items.push(m.legends[m.layers[id].legend]);
  }
  return items;
}
function renderLegend() {
  const m = machi.manifest, s = machi.state;
  const box = $("legend");
  box.replaceChildren();
  for (const legend of legendItems()) {
    const h = document.createElement("h3");
    h.textContent = `${word(legend.title)} [${word(legend.units)}]`;
    box.appendChild(h);
    if (legend.kind === "categories") {
      const ul = document.createElement("ul");
      for (const c of legend.categories) {
        const li = document.createElement("li");
        li.innerHTML = `<span class="swatch" style="background:${c.colour}"></span>`;
        li.append(word(c.label));
        li.dataset.value = c.value;
        ul.appendChild(li);
      }
      box.appendChild(ul);
    } else {
      const ramp = document.createElement("div");
      ramp.className = "ramp";
      const n = legend.stops.length;
      ramp.style.background = `linear-gradient(to right, ${legend.stops.map((c, i) => `${c} ${(i / n) * 100}%, ${c} ${((i + 1) / n) * 100}%`).join(", ")})`;
      const ticks = document.createElement("div");
      ticks.className = "ticks";
      ticks.innerHTML = `<span>${fmt(legend.min, 1)}</span><span>${fmt((legend.min + legend.max) / 2, 1)}</span><span>${fmt(legend.max, 1)}</span>`;
      box.append(ramp, ticks);
    }
    if (legend === m.legends[(m.layers.flow || {}).legend] && m.layers.flow && !m.layers.flow.covered[s.scenario]) {
      const note = document.createElement("div");
      note.className = "note";
      note.id = "flowNoData";
      note.textContent = t("noDataSlot");
      box.appendChild(note);
    }
    if (legend.no_data !== false) {
      const nd = document.createElement("div");
      nd.className = "note";
      nd.innerHTML = `<span class="swatch" style="background:${NO_DATA}"></span>`;
      nd.append(t("noData"));
      box.appendChild(nd);
    }
  }
}

// ---------------------------------------------------------------------------- picking and panels
function clearInfo() {
  machi.picked = null;
  $("infoBody").replaceChildren();
  $("closeInfo").hidden = true;
  $("info").classList.add("empty");
  if (machi.highlight) { machi.viewer.scene.primitives.remove(machi.highlight); machi.highlight = null; }
}
function layerOf(feature) {
  for (const [key, tileset] of Object.entries(machi.tilesets)) if (feature.tileset === tileset) return key.split(":")[0];
  return null;
}
function row(table, label, value) {
  const r = table.insertRow();
  r.insertCell().textContent = label;
  const c = r.insertCell();
  if (value instanceof Node) c.appendChild(value); else c.textContent = value;
  return r;
}
function property(feature, variable, scenario) {
  const sep = machi.manifest.layers.streets.separator;
  const v = feature.getProperty(`${variable}${sep}${scenario}`);
  return v === undefined ? feature.getProperty(variable) : v;
}
function showStreet(feature) {
  const m = machi.manifest, s = machi.state, scenario = s.scenario;
  const classLegend = m.legends.class;
  const cls = property(feature, "class", scenario);
  const info = {
    layer: "streets", feature, id: feature.getProperty("feature_id"), scenario,
    score: property(feature, "score", scenario), class: cls,
    shade_share: property(feature, "shade_share", scenario),
    people_per_100m: property(feature, "people_per_100m", scenario),
    width_m: feature.getProperty("width_m"), slope_max_pct: feature.getProperty("slope_max_pct"),
    components: {}, byScenario: {},
  };
  // a component no segment of this tile has is absent from its table: no value, not zero
  for (const c of m.components) info.components[c.id] = property(feature, c.id, scenario) ?? null;
  for (const sc of m.scenarios) info.byScenario[sc.name] = property(feature, "score", sc.name);
  machi.picked = info;
  const body = $("infoBody");
  body.replaceChildren();
  const h = document.createElement("h2");
  h.textContent = `${t("whyScore")}: ${fmt(info.score, 1)}`;
  h.dataset.score = String(info.score);
  body.appendChild(h);
  const cat = classLegend.categories.find((c) => c.value === cls);
  const p = document.createElement("p");
  p.innerHTML = `<span class="swatch" style="display:inline-block;width:12px;height:12px;background:${cat ? cat.colour : NO_DATA}"></span> `;
  p.append(cat ? word(cat.label) : t("noData"));
  body.appendChild(p);
  const table = document.createElement("table");
  table.id = "components";
  const head = table.insertRow();
  for (const x of [t("component"), t("weight"), t("value")]) head.insertCell().textContent = x;
  for (const c of m.components) {
    const value = info.components[c.id];
    const bar = document.createElement("div");
    bar.className = "bar";
    bar.title = fmt(value, 3);
    bar.innerHTML = `<span style="width:${Math.round(100 * (value || 0))}%"></span>`;
    // a gate multiplies the weighted mean of the others (viewer.json "thermal_rule": "gate")
    const r = row(table, word(c.label), c.multiplies ? "×" : String(c.weight));
    r.dataset.component = c.id;
    r.dataset.value = value === undefined || value === null ? "" : String(value);
    const cell = r.insertCell();
    cell.append(bar, fmt(value, 2));
  }
  body.appendChild(table);
  const facts = document.createElement("table");
  row(facts, t("shadeShare"), fmt(info.shade_share, 2));
  row(facts, t("peopleFlow"), info.people_per_100m === undefined || info.people_per_100m === null
    ? t("noData") : `${fmt(info.people_per_100m, 1)} ${t("perHundred")}`);
  row(facts, t("width"), `${fmt(info.width_m, 1)} m`);
  row(facts, t("slope"), `${fmt(info.slope_max_pct, 1)} %`);
  for (const v of m.layers.streets.variables.filter((x) => x.startsWith("utci") || x.startsWith("tmrt"))) {
    const legend = m.legends[v];
    const value = property(feature, v, scenario);
    const hit = legend && legend.kind === "categories" ? legend.categories.find((c) => c.value === value) : null;
    const text = hit ? word(hit.label) : legend && legend.kind === "categories" ? t("noData")
      : `${fmt(value, 1)} ${legend ? word(legend.units) : ""}`;
    const r = row(facts, word(legend ? legend.title : v), text);
    r.dataset.variable = v;
  }
  row(facts, "ID", String(info.id));
  body.appendChild(facts);
  body.appendChild(scenarioChart(info.byScenario));
  $("closeInfo").hidden = false;
  $("info").classList.remove("empty");
}
function scenarioChart(byScenario) {
  // A small bar chart: seasons as groups, slots as bars, current scenario outlined.
  const m = machi.manifest, w = 300, h = 120, pad = 18;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("width", w);
  svg.setAttribute("height", h + 30);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", t("scoreByScenario"));
  const title = document.createElementNS(svg.namespaceURI, "text");
  title.setAttribute("x", 0); title.setAttribute("y", 11); title.setAttribute("fill", "#ccc"); title.setAttribute("font-size", 11);
  title.textContent = t("scoreByScenario");
  svg.appendChild(title);
  const n = m.scenarios.length, bw = (w - pad) / n;
  m.scenarios.forEach((sc, i) => {
    const v = byScenario[sc.name];
    const bh = v === undefined || v === null ? 0 : (v / 100) * (h - pad);
    const rect = document.createElementNS(svg.namespaceURI, "rect");
    rect.setAttribute("x", pad + i * bw + 1); rect.setAttribute("width", bw - 2);
    rect.setAttribute("y", h - bh); rect.setAttribute("height", bh);
    rect.setAttribute("fill", legendColour(m.legends.score, v));
    if (sc.name === machi.state.scenario) { rect.setAttribute("stroke", "#fff"); rect.setAttribute("stroke-width", 2); }
    const tip = document.createElementNS(svg.namespaceURI, "title");
    tip.textContent = `${sc.name}: ${fmt(v, 1)}`;
    rect.appendChild(tip);
    svg.appendChild(rect);
  });
  m.seasons.forEach((season, k) => {
    const idx = m.scenarios.findIndex((sc) => sc.season === season.name);
    const label = document.createElementNS(svg.namespaceURI, "text");
    label.setAttribute("x", pad + idx * bw); label.setAttribute("y", h + 12 + (k % 2) * 11);
    label.setAttribute("fill", "#ccc"); label.setAttribute("font-size", 10);
    label.textContent = word(season.label);
    svg.appendChild(label);
  });
  return svg;
}
function showBuilding(feature) {
  const lang = machi.state.lang, labels = window.MACHI_ATTRIBUTE_LABELS[lang], scenario = machi.state.scenario;
  const props = {};
  for (const id of feature.getPropertyIds()) props[id] = feature.getProperty(id);
  machi.picked = { layer: "buildings", id: props.feature_id, properties: props };
  const body = $("infoBody");
  body.replaceChildren();
  const h = document.createElement("h2");
  h.textContent = t("building");
  body.appendChild(h);
  const table = document.createElement("table");
  const shown = new Set();
  const order = Object.keys(labels).filter((k) => k in props);
  for (const key of order) {
    if (props[key] === undefined || props[key] === null || props[key] === "") continue;
    row(table, labels[key], fmt(props[key], 2));
    shown.add(key);
  }
  // this scenario's shade figures and walk score (properties named <name>_<scenario>)
  for (const base of ["roof_shade_hours", "surround_shade_hours", "walk_score", "walk_class"]) {
    const v = props[`${base}_${scenario}`];
    if (v !== undefined && v !== null && v !== "") row(table, labels[base], fmt(v, 2));
  }
  body.appendChild(table);
  $("closeInfo").hidden = false;
  $("info").classList.remove("empty");
}
function showFlowCell(feature) {
  const m = machi.manifest;
  const has = feature.getProperty("has_data");
  const population = feature.getProperty("population");
  machi.picked = { layer: "flow", meshcode: feature.getProperty("meshcode"), population: has ? population : null,
                   scenario: feature.getProperty("scenario") };
  const body = $("infoBody");
  body.replaceChildren();
  const h = document.createElement("h2");
  h.textContent = `${t("flowCell")} ${feature.getProperty("meshcode")}`;
  body.appendChild(h);
  const table = document.createElement("table");
  row(table, t("scenario"), feature.getProperty("scenario"));
  row(table, t("population"), has ? `${fmt(population, 0)} ${word(m.legends[m.layers.flow.legend].units)}` : t("noDataSlot"));
  body.appendChild(table);
  $("closeInfo").hidden = false;
  $("info").classList.remove("empty");
}
function onClick(position) {
  const picked = machi.viewer.scene.pick(position);
  if (!(picked instanceof Cesium.Cesium3DTileFeature)) { clearInfo(); return; }
  const layer = layerOf(picked);
  if (layer === "streets") showStreet(picked);
  else if (layer === "buildings") showBuilding(picked);
  else if (layer === "flow") showFlowCell(picked);
  else clearInfo();
}

// ---------------------------------------------------------------------------- districts
async function loadDistricts() {
  const layer = machi.manifest.layers.districts;
  if (!layer) return;
  const [areas, summary] = await Promise.all([
    fetch(resolveUrl(layer.url)).then((r) => r.json()),
    layer.summary ? fetch(resolveUrl(layer.summary)).then((r) => r.json()) : { rows: [] },
  ]);
  machi.districts = { areas, summary };
  const source = new Cesium.CustomDataSource("districts");
  for (const f of areas.features) {
    const rings = f.geometry.type === "Polygon" ? [f.geometry.coordinates[0]] : f.geometry.coordinates.map((p) => p[0]);
    for (const ring of rings) {
      source.entities.add({
        id: `${f.properties.kind}:${f.properties.id}:${source.entities.values.length}`,
        polyline: { positions: Cesium.Cartesian3.fromDegreesArray(ring.flat()), width: 2, clampToGround: true,
                    material: f.properties.kind === "district" ? Cesium.Color.WHITE.withAlpha(0.8) : Cesium.Color.LIGHTGRAY.withAlpha(0.4) },
      });
    }
  }
  machi.districtSource = source;
  await machi.viewer.dataSources.add(source);
}
function renderDistrictTable() {
  const table = $("districtTable");
  table.replaceChildren();
  if (!machi.districts) { $("toggleDistricts").disabled = true; return; }
  const m = machi.manifest, s = machi.state;
  const head = table.insertRow();
  for (const x of ["name", "score", "shadeShare", "perHundred", "classLabel", "streetLength", ""]) {
    const th = document.createElement("th");
    th.textContent = x ? t(x) : "";
    head.appendChild(th);
  }
  const rows = machi.districts.summary.rows.filter((r) => r.scenario === s.scenario);
  for (const r of rows) {
    const tr = table.insertRow();
    tr.dataset.kind = r.kind;
    tr.dataset.id = r.id;
    const cat = m.legends.class.categories.find((c) => c.value === r.class);
    tr.insertCell().textContent = `${r.kind === "district" ? t("district") : t("mesh")} ${r.name}`;
    tr.insertCell().textContent = fmt(r.score, 1);
    tr.insertCell().textContent = fmt(r.shade_share, 2);
    tr.insertCell().textContent = r.people_per_100m === null ? t("noData") : fmt(r.people_per_100m, 1);
    tr.insertCell().textContent = cat ? word(cat.label) : (r.class || "");
    tr.insertCell().textContent = `${fmt(r.street_length_m / 1000, 2)} km`;
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = t("flyTo");
    button.addEventListener("click", () => flyToArea(r.kind, r.id));
    tr.insertCell().appendChild(button);
  }
}
function flyToArea(kind, id) {
  const f = machi.districts.areas.features.find((x) => x.properties.kind === kind && String(x.properties.id) === String(id));
  if (!f) return;
  // [polygon][ring][point][lon, lat] -> lon, lat, lon, lat, ...
  const coords = (f.geometry.type === "Polygon" ? [f.geometry.coordinates] : f.geometry.coordinates).flat(3);
  const lons = coords.filter((_, i) => i % 2 === 0), lats = coords.filter((_, i) => i % 2 === 1);
  const rect = Cesium.Rectangle.fromDegrees(Math.min(...lons), Math.min(...lats), Math.max(...lons), Math.max(...lats));
  if (machi.outline) machi.viewer.entities.remove(machi.outline);
  const ring = f.geometry.type === "Polygon" ? f.geometry.coordinates[0] : f.geometry.coordinates[0][0];
  machi.outline = machi.viewer.entities.add({
    polyline: { positions: Cesium.Cartesian3.fromDegreesArray(ring.flat()), width: 5, clampToGround: true,
                material: Cesium.Color.fromCssColorString("#ffcc33") },
  });
  machi.selectedArea = { kind, id };
  machi.viewer.camera.flyTo({ destination: rect, duration: 1.0 });
}

// ---------------------------------------------------------------------------- save image
function scaleBar() {
  // metres per 100 screen pixels at the bottom centre of the view
  const scene = machi.viewer.scene, c = scene.canvas;
  const y = c.clientHeight - 40;
  const a = machi.viewer.camera.pickEllipsoid(new Cesium.Cartesian2(c.clientWidth / 2 - 50, y));
  const b = machi.viewer.camera.pickEllipsoid(new Cesium.Cartesian2(c.clientWidth / 2 + 50, y));
  if (!a || !b) return null;
  const per100 = Cesium.Cartesian3.distance(a, b);
  const nice = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000].find((x) => x >= per100 * 0.6) || 5000;
  return { metres: nice, pixels: (nice / per100) * 100 };
}
async function saveImage() {
  const v = machi.viewer;
  v.render();
  const source = v.scene.canvas;
  const ratio = source.width / source.clientWidth;
  const out = document.createElement("canvas");
  out.width = source.width;
  out.height = source.height;
  const g = out.getContext("2d");
  g.drawImage(source, 0, 0);
  g.scale(ratio, ratio);
  const m = machi.manifest, s = machi.state;
  const label = (name) => {
    const sc = scenarioByName(name);
    const season = m.seasons.find((x) => x.name === sc.season), slot = m.slots.find((x) => x.name === sc.slot);
    return `${word(season.label)} ${word(slot.label)} (${sc.date} ${sc.start}–${sc.end})`;
  };
  // title bar
  g.fillStyle = "rgba(18,20,24,0.85)";
  g.fillRect(0, 0, source.clientWidth, 44);
  g.fillStyle = "#fff";
  g.font = "bold 16px sans-serif";
  g.fillText(`Machi · ${m.name}`, 10, 19);
  g.font = "13px sans-serif";
  g.fillText(s.compare ? `A: ${label(s.scenario)}  |  B: ${label(s.compareWith)}` : label(s.scenario), 10, 37);
  // legend, bottom left
  const items = legendItems();
  let y = source.clientHeight - 12;
  const blocks = [];
  for (const legend of items) {
    const lines = legend.kind === "categories" ? legend.categories.length + 1 : 3;
    blocks.push([legend, lines * 18 + 6]);
  }
  const total = blocks.reduce((a, [, hgt]) => a + hgt, 0);
  g.fillStyle = "rgba(18,20,24,0.85)";
  g.fillRect(8, y - total - 8, 280, total + 12);
  y -= total;
  machi.legendBox = { x: 8, y: y - 8, width: 280, height: total + 12, ratio };
  for (const [legend, hgt] of blocks) {
    g.fillStyle = "#fff";
    g.font = "bold 12px sans-serif";
    g.fillText(`${word(legend.title)} [${word(legend.units)}]`, 16, y + 12);
    let yy = y + 18;
    if (legend.kind === "categories") {
      for (const c of legend.categories) {
        g.fillStyle = c.colour;
        g.fillRect(16, yy + 2, 16, 14);
        g.fillStyle = "#fff";
        g.font = "12px sans-serif";
        g.fillText(word(c.label), 38, yy + 14);
        yy += 18;
      }
    } else {
      const n = legend.stops.length, width = 240;
      legend.stops.forEach((c, i) => { g.fillStyle = c; g.fillRect(16 + (i * width) / n, yy + 2, width / n + 0.5, 14); });
      g.fillStyle = "#fff";
      g.font = "11px sans-serif";
      g.fillText(fmt(legend.min, 1), 16, yy + 30);
      g.fillText(fmt(legend.max, 1), 16 + width - 24, yy + 30);
    }
    y += hgt;
  }
  // scale bar, bottom right
  const bar = scaleBar();
  if (bar) {
    const x0 = source.clientWidth - 20 - bar.pixels, yb = source.clientHeight - 20;
    g.fillStyle = "rgba(18,20,24,0.85)";
    g.fillRect(x0 - 8, yb - 24, bar.pixels + 16, 34);
    g.fillStyle = "#fff";
    g.fillRect(x0, yb, bar.pixels, 4);
    g.font = "12px sans-serif";
    g.fillText(`${bar.metres} m`, x0, yb - 8);
  }
  const url = out.toDataURL("image/png");
  machi.lastImage = url;
  const a = document.createElement("a");
  a.href = url;
  a.download = `machi-${m.name}-${s.scenario}${s.compare ? "-vs-" + s.compareWith : ""}.png`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setStatus(t("imageSaved"));
  return url;
}

// ---------------------------------------------------------------------------- start
function fail(error) {
  machi.error = String(error && error.message ? error.message : error);
  setStatus(`error: ${machi.error}`);
  console.error(error);
}
machi.settled = function () {
  if (!machi.ready) return false;
  const v = machi.viewer;
  const tilesDone = Object.values(machi.tilesets).every((ts) => !ts.show || ts.tilesLoaded);
  const imageryDone = Object.values(machi.imagery).every((il) => il.ready !== false);
  return tilesDone && imageryDone && v.scene.globe.tilesLoaded;
};
// Colour (CSS hex) and properties of a loaded street feature, for tests and scripts.
machi.findFeature = function (layerKey, id) {
  const tileset = machi.tilesets[layerKey];
  if (!tileset) return null;
  const stack = [tileset.root];
  while (stack.length) {
    const tile = stack.pop();
    stack.push(...tile.children);
    const content = tile.content;
    if (!content || !content.featuresLength) continue;
    for (let i = 0; i < content.featuresLength; i++) {
      const f = content.getFeature(i);
      if (String(f.getProperty("feature_id")) === String(id)) return f;
    }
  }
  return null;
};
machi.featureColour = function (layerKey, id) {
  const f = machi.findFeature(layerKey, id);
  return f ? f.color.toCssHexString().slice(0, 7) : null;
};
machi.lookAt = function (lon, lat, h, range, pitchDeg = -90) {
  machi.viewer.camera.setView({
    destination: Cesium.Cartesian3.fromDegrees(lon, lat, h + range),
    orientation: { heading: 0, pitch: Cesium.Math.toRadians(pitchDeg), roll: 0 },
  });
  machi.viewer.scene.requestRender();
};
machi.screenPosition = function (lon, lat, h) {
  const p = Cesium.SceneTransforms.worldToWindowCoordinates(machi.viewer.scene, Cesium.Cartesian3.fromDegrees(lon, lat, h));
  return p ? { x: p.x, y: p.y } : null;
};
machi.applied = () => applying;

async function main() {
  setStatus("…");
  const response = await fetch(MANIFEST_URL);
  if (!response.ok) throw new Error(`${MANIFEST_URL}: HTTP ${response.status}`);
  const m = (machi.manifest = await response.json());
  machi.state = decodeHash(window.location.hash, defaultState(m), m);
  setStatus(t("loading"));
  await loadCesium();
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
  machi.viewer = viewer;
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
  bindControls();
  await apply();
  const cam = machi.state.camera;
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
    machi.state.camera = [Cesium.Math.toDegrees(c.longitude), Cesium.Math.toDegrees(c.latitude), c.height,
                          viewer.camera.heading, viewer.camera.pitch, viewer.camera.roll];
    writeHash();
  });
  const handler = new Cesium.ScreenSpaceEventHandler(scene.canvas);
  handler.setInputAction((click) => onClick(click.position), Cesium.ScreenSpaceEventType.LEFT_CLICK);
  scene.postRender.addEventListener(() => {
    // on-demand rendering: keep drawing while anything is still loading (terrain tiles
    // made by the callback provider do not ask for a frame themselves), then idle
    if (!machi.settled()) requestAnimationFrame(() => scene.requestRender());
    if (machi.ready && !machi.settledOnce && machi.settled()) {
      machi.settledOnce = true;
      setStatus(`${t("ready")} · ${t("clickHint")}`);
    }
  });
  machi.ready = true;
}

main().catch(fail);
