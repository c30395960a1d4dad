// Districts: the outlines of districts and mesh cells, the district table (walkability
// summaries of the scenario, with "Fly to"), and the use districts (用途地域) draped on the
// ground. Browser only.
import { fmt } from "./format.js";
import { legendColour } from "./legends.js";
import { $, resolveUrl, t, word } from "./dom.js";
import { app } from "./state.js";

/** Load the district and mesh outlines and their summaries (viewer.json `layers.districts`). */
export async function loadDistricts() {
  const layer = app.manifest.layers.districts;
  if (!layer) return;
  const [areas, summary] = await Promise.all([
    fetch(resolveUrl(layer.url)).then((r) => r.json()),
    layer.summary ? fetch(resolveUrl(layer.summary)).then((r) => r.json()) : { rows: [] },
  ]);
  app.districts = { areas, summary };
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
  app.districtSource = source;
  await app.viewer.dataSources.add(source);
}

/** Use districts (用途地域): semi-transparent polygons draped on the ground (not on the
 * buildings), coloured by class as Japanese zoning maps are; hidden until switched on. */
export async function loadUseDistricts() {
  const layer = app.manifest.layers.use_districts;
  if (!layer) return;
  const response = await fetch(resolveUrl(layer.url));
  if (!response.ok) throw new Error(`use districts ${layer.url}: HTTP ${response.status}`);
  const collection = await response.json();
  const legend = app.manifest.legends[layer.legend];
  const alpha = layer.alpha ?? 0.45;
  const source = new Cesium.CustomDataSource("use_districts");
  const positions = (ring) => Cesium.Cartesian3.fromDegreesArray(ring.flat());
  for (const f of collection.features) {
    const colour = Cesium.Color.fromCssColorString(legendColour(legend, f.properties[layer.property]));
    const polygons = f.geometry.type === "Polygon" ? [f.geometry.coordinates] : f.geometry.coordinates;
    polygons.forEach((rings, k) => {
      const hierarchy = new Cesium.PolygonHierarchy(positions(rings[0]),
        rings.slice(1).map((hole) => new Cesium.PolygonHierarchy(positions(hole))));
      const entity = source.entities.add({
        id: `use_district:${f.properties.id}:${k}`,
        polygon: { hierarchy, material: colour.withAlpha(alpha), classificationType: Cesium.ClassificationType.TERRAIN },
        polyline: { positions: positions(rings[0]), width: 1.5, clampToGround: true,
                    classificationType: Cesium.ClassificationType.TERRAIN, material: colour.withAlpha(0.9) },
      });
      entity.machiUseDistrict = f.properties;
    });
  }
  source.show = !!app.state.layers.use_districts;
  app.useDistricts = collection;
  app.useDistrictSource = source;
  await app.viewer.dataSources.add(source);
}

/** The district table of the scenario on screen (disabled when the run has no districts). */
export function renderDistrictTable() {
  const table = $("districtTable");
  table.replaceChildren();
  if (!app.districts) { $("toggleDistricts").disabled = true; return; }
  const m = app.manifest, s = app.state;
  const head = table.insertRow();
  for (const x of ["name", "score", "shadeShare", "perHundred", "classLabel", "potentialShare", "streetLength", ""]) {
    const th = document.createElement("th");
    th.textContent = x ? t(x) : "";
    head.appendChild(th);
  }
  const rows = app.districts.summary.rows.filter((r) => r.scenario === s.scenario);
  for (const r of rows) {
    const tr = table.insertRow();
    tr.dataset.kind = r.kind;
    tr.dataset.id = r.id;
    const cat = m.legends.class.categories.find((c) => c.value === r.class);
    tr.insertCell().textContent = `${r.kind === "district" ? t("district") : t("mesh")} ${r.name}`;
    tr.insertCell().textContent = fmt(r.score, 1);
    const percent = (v) => (v === undefined || v === null ? t("noData") : `${fmt(100 * v, 0)} %`);
    tr.insertCell().textContent = percent(r.shade_share);
    tr.insertCell().textContent = r.people_per_100m === null ? t("noData") : fmt(r.people_per_100m, 1);
    tr.insertCell().textContent = cat ? word(cat.label) : (r.class || "");
    // the share of street length with potential (walkable but under-used), which the plans ask for
    tr.insertCell().textContent = percent(r.share_walkable_underused);
    tr.insertCell().textContent = `${fmt(r.street_length_m / 1000, 2)} km`;
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = t("flyTo");
    button.addEventListener("click", () => flyToArea(r.kind, r.id));
    tr.insertCell().appendChild(button);
  }
}

/** Fly to a district or mesh cell (its bounding rectangle) and outline it. */
function flyToArea(kind, id) {
  const f = app.districts.areas.features.find((x) => x.properties.kind === kind && String(x.properties.id) === String(id));
  if (!f) return;
  // [polygon][ring][point][lon, lat] -> lon, lat, lon, lat, ...
  const coords = (f.geometry.type === "Polygon" ? [f.geometry.coordinates] : f.geometry.coordinates).flat(3);
  const lons = coords.filter((_, i) => i % 2 === 0), lats = coords.filter((_, i) => i % 2 === 1);
  const rect = Cesium.Rectangle.fromDegrees(Math.min(...lons), Math.min(...lats), Math.max(...lons), Math.max(...lats));
  if (app.outline) app.viewer.entities.remove(app.outline);
  const ring = f.geometry.type === "Polygon" ? f.geometry.coordinates[0] : f.geometry.coordinates[0][0];
  app.outline = app.viewer.entities.add({
    polyline: { positions: Cesium.Cartesian3.fromDegreesArray(ring.flat()), width: 5, clampToGround: true,
                material: Cesium.Color.fromCssColorString("#ffcc33") },
  });
  app.selectedArea = { kind, id };
  app.viewer.camera.flyTo({ destination: rect, duration: 1.0 });
}
