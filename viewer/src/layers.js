// The run's layers in CesiumJS: CesiumJS itself, 3D Tiles (one tileset per compare side
// where the layer depends on the scenario), the terrain the globe is shaped by, the
// shade/sun imagery, and the view state applied to them.
// Browser only: uses the global `Cesium` when called, never at import.
import { changeColouring, sideScenario } from "./change.js";
import { flowLabel, scenarioText } from "./flow.js";
import { legendFor, styleFor } from "./legends.js";
import { loadScript, resolveUrl, setStatus, t, word } from "./dom.js";
import { GHOST, changeColour, treeParts, withGhosts } from "./measures.js";
import { app, layerKey, scenarioByName } from "./state.js";

/** Load CesiumJS from the first of `bases` that has it (the run copies it to `cesium/`
 * beside the app; in the repository it is `node_modules/cesium/Build/Cesium/`). */
export async function loadCesium(bases) {
  for (const base of bases) {
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

/** A Cesium3DTileStyle colouring property `prop` on `legend` (legends.styleFor). */
export function tileStyle(legend, prop, alpha = 1.0, highlight = null) {
  return new Cesium.Cesium3DTileStyle(styleFor(legend, prop, alpha, highlight));
}

/** The loaded feature whose `feature_id` is `id` in tileset `layerKey` ("streets:A"), or null. */
export function findFeature(layerKey, id) {
  const tileset = app.tilesets[layerKey];
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
}

function watchTileset(id, tileset) {
  tileset.tileFailed.addEventListener((error) => {
    app.failures.push(`${id}: ${error.url}: ${error.message}`);
    setStatus(`tile failed: ${error.url}`);
  });
  app.tilesets[id] = tileset;
  return tileset;
}
async function addTileset(id, url, options = {}) {
  const tileset = await Cesium.Cesium3DTileset.fromUrl(resolveUrl(url), { maximumScreenSpaceError: 8, ...options });
  app.viewer.scene.primitives.add(tileset);
  return watchTileset(id, tileset);
}

/** Globe surface from the run's terrain (viewer.json `layers.terrain`): ellipsoidal
 * heights (m, float32) on a lon/lat grid, sampled bilinearly into 33 x 33 heightmap tiles;
 * the ellipsoid when the run has none. */
export async function terrainProvider(layer) {
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
  provider.errorEvent.addEventListener((e) => app.failures.push(`imagery ${url}: ${e.message || e}`));
  return new Cesium.ImageryLayer(provider, {});
}

function applyImagery() {
  const v = app.viewer, m = app.manifest, s = app.state;
  for (const layer of Object.values(app.imagery)) v.imageryLayers.remove(layer, true);
  app.imagery = {};
  for (const id of ["sun_hours", "shade_hours"]) {
    const layer = m.layers[id];
    if (!layer || !s.layers[id]) continue;
    // before/after: both sides show this run's (the after) imagery, the baseline's is not in the run
    const sides = s.compare ? [["A", s.scenario, Cesium.SplitDirection.LEFT],
                               ["B", sideScenario(m, s, "B"), Cesium.SplitDirection.RIGHT]]
      : [["A", s.scenario, Cesium.SplitDirection.NONE]];
    for (const [side, name, direction] of sides) {
      const il = imageryLayer(layer, layerKey(layer, scenarioByName(m, name)));
      if (!il) continue;
      il.splitDirection = direction;
      v.imageryLayers.add(il);
      app.imagery[`${id}:${side}`] = il;
    }
  }
}

function streetStyle(name, side) {
  const m = app.manifest, s = app.state;
  const option = m.street_colouring.find((o) => o.id === s.streetsBy) || m.street_colouring[0];
  if (changeColouring(m, s, option, side)) {
    // the change (or before/after) of changes.json, joined by the ribbon's segment id
    const style = new Cesium.Cesium3DTileStyle();
    const idProperty = m.layers.streets.id_property;
    style.color = {
      evaluateColor: (feature, result) => Cesium.Color.fromCssColorString(
        changeColour(m, s, app.changes, option, side, feature.getProperty(idProperty)), result),
    };
    return style;
  }
  // over the scenario's own domain (or the fixed one); the selected street in its own colour
  return tileStyle(legendFor(m.legends[option.legend], name, !!s.fixedDomain),
                   `${option.id}${m.layers.streets.separator}${name}`, 1.0,
                   s.selected ? { property: m.layers.streets.id_property, value: s.selected } : null);
}
function buildingStyle(name) {
  const m = app.manifest, s = app.state;
  const option = m.building_colouring.find((o) => o.id === s.buildingsBy);
  const coloured = option && option.id !== "none" && option.property
    ? styleFor(m.legends[option.legend], option.property.replace("{scenario}", name)) : undefined;
  // removed buildings as ghosts while the measures are shown
  const removed = m.layers.measures && s.layers.measures ? m.layers.measures.removed : [];
  const style = withGhosts(coloured, removed);
  return style ? new Cesium.Cesium3DTileStyle(style) : undefined;
}

/** The measures on the 3D model (measures.geojson): trees as a trunk and a crown
 * ellipsoid, canopies as translucent slabs at their height, new buildings as prisms,
 * each over the ground under it; and the change values (changes.json) the streets join. */
export async function loadMeasures() {
  const layer = app.manifest.layers.measures;
  if (!layer) return;
  if (layer.changes) {
    const response = await fetch(resolveUrl(layer.changes));
    if (!response.ok) throw new Error(`${layer.changes}: HTTP ${response.status}`);
    app.changes = await response.json();
  }
  if (!layer.url) return;
  const response = await fetch(resolveUrl(layer.url));
  if (!response.ok) throw new Error(`${layer.url}: HTTP ${response.status}`);
  const source = new Cesium.CustomDataSource("measures");
  const ground = Cesium.HeightReference.RELATIVE_TO_GROUND;
  const crown = (evergreen) => Cesium.Color.fromCssColorString(evergreen ? "#1b7a3a" : "#5fae4e").withAlpha(0.9);
  for (const f of (await response.json()).features) {
    const p = f.properties, g = f.geometry;
    if (!g) continue;  // a removed building not found in the building tables: ghosted by gml_id only
    if (p.kind === "tree") {
      const [lon, lat] = g.coordinates, parts = treeParts(p);
      source.entities.add({
        position: Cesium.Cartesian3.fromDegrees(lon, lat, parts.trunk.centre),
        cylinder: { length: parts.trunk.length, topRadius: parts.trunk.radius, bottomRadius: parts.trunk.radius,
                    material: Cesium.Color.fromCssColorString("#6b4f2a"), heightReference: ground },
        properties: p,
      });
      source.entities.add({
        position: Cesium.Cartesian3.fromDegrees(lon, lat, parts.crown.centre),
        ellipsoid: { radii: new Cesium.Cartesian3(...parts.crown.radii), material: crown(p.evergreen),
                     heightReference: ground },
        properties: p,
      });
      continue;
    }
    const rings = g.type === "Polygon" ? [g.coordinates] : g.type === "MultiPolygon" ? g.coordinates : [];
    for (const polygon of rings) {
      const hierarchy = new Cesium.PolygonHierarchy(
        Cesium.Cartesian3.fromDegreesArray(polygon[0].flat()),
        polygon.slice(1).map((hole) => new Cesium.PolygonHierarchy(Cesium.Cartesian3.fromDegreesArray(hole.flat()))));
      const look = {
        canopy: { height: p.height_m, extrudedHeight: p.height_m + 0.3, colour: "#f2c14e", alpha: 0.55 },
        building: { height: 0, extrudedHeight: p.height_m, colour: "#d9d4c7", alpha: 1.0 },
        remove_building: { height: 0, extrudedHeight: 0.5, colour: GHOST.colour, alpha: GHOST.alpha },
      }[p.kind];
      if (!look) continue;
      source.entities.add({
        polygon: { hierarchy, height: look.height, extrudedHeight: look.extrudedHeight, heightReference: ground,
                   extrudedHeightReference: ground,
                   material: Cesium.Color.fromCssColorString(look.colour).withAlpha(look.alpha) },
        properties: p,
      });
    }
  }
  await app.viewer.dataSources.add(source);
  app.measuresSource = source;
}

async function ensurePair(id, url, styleOf) {
  // styleOf(scenario name, side); in before/after both sides show the one scenario
  // One tileset per side: A (left, or everywhere) and B (right) in compare mode.
  const s = app.state;
  const want = s.compare ? ["A", "B"] : ["A"];
  for (const side of ["A", "B"]) {
    const key = `${id}:${side}`;
    if (!want.includes(side) && app.tilesets[key]) {
      app.viewer.scene.primitives.remove(app.tilesets[key]);
      delete app.tilesets[key];
    }
  }
  for (const side of want) {
    const key = `${id}:${side}`;
    const name = sideScenario(app.manifest, s, side);
    const target = typeof url === "function" ? url(scenarioByName(app.manifest, name)) : url;
    let tileset = app.tilesets[key];
    if (tileset && tileset._machiUrl !== target) {
      app.viewer.scene.primitives.remove(tileset);
      delete app.tilesets[key];
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
    tileset.style = styleOf ? styleOf(name, side) : undefined;
  }
}

/** The people-flow cells' labels (viewer.json `layers.flow.cells`): over each cell's
 * centre, its people in the shown scenario(s) with how they were made and their source;
 * shown with the flow layer. The cells' frames are the flow tilesets. */
function applyFlowLabels() {
  const m = app.manifest, s = app.state, flow = m.layers.flow;
  if (!flow || !flow.cells) return;
  if (!app.flowLabels) {
    const source = new Cesium.CustomDataSource("flow_labels");
    for (const cell of flow.cells) {
      source.entities.add({
        id: `flow_label:${cell.meshcode}`,
        position: Cesium.Cartesian3.fromDegrees(cell.lon, cell.lat, cell.h + 10),
        label: { font: "14px 'Noto Sans JP', sans-serif", fillColor: Cesium.Color.WHITE, showBackground: true,
                 backgroundColor: Cesium.Color.fromCssColorString("#222222").withAlpha(0.75),
                 horizontalOrigin: Cesium.HorizontalOrigin.CENTER, verticalOrigin: Cesium.VerticalOrigin.BOTTOM,
                 disableDepthTestDistance: Number.POSITIVE_INFINITY },
      });
    }
    app.viewer.dataSources.add(source);
    app.flowLabels = source;
  }
  const words = { mesh: t("mesh"), units: word(m.legends[flow.legend].units), noData: t("noData"), how: {} };
  for (const how of ["mlit", "counters", "hourly", "profile", "simulated"]) words.how[how] = t(`flowHow_${how}`);
  const sides = (s.compare ? ["A", "B"] : ["A"]).map((side) => {
    const name = sideScenario(m, s, side);
    return { name, text: scenarioText(m, scenarioByName(m, name), word), prefix: s.compare ? `${side} ` : "" };
  });
  for (const cell of flow.cells) {
    app.flowLabels.entities.getById(`flow_label:${cell.meshcode}`).label.text = flowLabel(cell, sides, words);
  }
  app.flowLabels.show = !!s.layers.flow;
}

/** Show the view state on the globe: layers on or off, styled for the scenario(s), split
 * compare, and the sun (and shadows) at the middle of the scenario's slot. */
export async function applyLayers() {
  const v = app.viewer, m = app.manifest, s = app.state;
  const scenario = scenarioByName(m, s.scenario);
  // Layers that do not change with the scenario.
  for (const id of ["trees", "veg_lidar", "terrain3d", "roads", "lidar"]) {
    const layer = m.layers[id];
    if (!layer) continue;
    if (!app.tilesets[id]) await addTileset(id, layer.url);
    app.tilesets[id].show = !!s.layers[id];
  }
  if (m.layers.buildings) await ensurePair("buildings", m.layers.buildings.url, buildingStyle);
  if (m.layers.streets) await ensurePair("streets", m.layers.streets.url, streetStyle);
  if (m.layers.flow) {
    const flow = m.layers.flow;
    await ensurePair("flow", (sc) => flow.urls[sc.name], () => tileStyle(m.legends[flow.legend], "population", 1.0));  // opaque: the legend's colours
    applyFlowLabels();
  }
  applyImagery();
  if (app.districtSource) app.districtSource.show = !!s.layers.districts;
  if (app.useDistrictSource) app.useDistrictSource.show = !!s.layers.use_districts;
  if (app.measuresSource) app.measuresSource.show = !!s.layers.measures;
  // Sun and shadows at the middle of the slot.
  v.clock.currentTime = Cesium.JulianDate.fromIso8601(scenario.mid_time);
  v.shadows = !!s.shadows;
  v.scene.splitPosition = s.split;
}

/** Whether the view has everything it needs: every shown tileset's tiles, the imagery,
 * the ground polygons and the globe's terrain tiles. */
export function settled() {
  if (!app.ready) return false;
  const v = app.viewer;
  const tilesDone = Object.values(app.tilesets).every((ts) => !ts.show || ts.tilesLoaded);
  const imageryDone = Object.values(app.imagery).every((il) => il.ready !== false);
  const entitiesDone = v.dataSourceDisplay.ready !== false;  // ground polygons are built asynchronously
  return tilesDone && imageryDone && entitiesDone && v.scene.globe.tilesLoaded;
}

