// Legends of viewer.json: the colour of a value, the same colouring as a 3D Tiles style,
// and which legends the current view shows.
// Pure: no document, window or Cesium (Node imports it in viewer/test/).
//
// A legend is {kind: "ramp", min, max, stops: [css colour, ...]} (a value binned into
// len(stops) equal steps of [min, max], clamped at both ends) or {kind: "categories",
// categories: [{value, colour, label}], other?} (an unlisted value takes `other`).
import { streetLegendId } from "./change.js";

/** Colour of a value that has none (undefined, null, "", NaN): white, which no class, ramp
 * or the imagery uses (the grey it had read as the class "other streets"). */
export const NO_DATA = "#ffffff";
/** Colour of the selected street (the details panel's, a priority row's): a cyan no legend uses. */
export const HIGHLIGHT = "#00e5ff";
/** Colour of a category the legend does not list, when it names no `other`. */
export const FALLBACK = "#e6e6e6";

/** True for the values a legend shows as "no data". */
export function isNoData(value) {
  return value === undefined || value === null || value === "" || (typeof value === "number" && Number.isNaN(value));
}

/** CSS colour of `value` on `legend`: its ramp step or its category's colour. */
export function legendColour(legend, value) {
  if (isNoData(value)) return NO_DATA;
  if (legend.kind === "categories") {
    const hit = legend.categories.find((c) => c.value === value);
    return hit ? hit.colour : (legend.other || FALLBACK);
  }
  const n = legend.stops.length;
  const f = (value - legend.min) / ((legend.max - legend.min) || 1);
  return legend.stops[Math.max(0, Math.min(n - 1, Math.floor(f * n)))];
}

/** `legend` over the domain the view shows for `scenario`: its own values' range
 * (`legend.domains[scenario]`, written by the run) unless `fixed` (one domain across every
 * scenario, to compare them) or the legend has none for it. A new object; categories as they are. */
export function legendFor(legend, scenario, fixed = false) {
  if (!legend || legend.kind !== "ramp" || fixed || !legend.domains || !legend.domains[scenario]) return legend;
  const [min, max] = legend.domains[scenario];
  return { ...legend, min, max };
}

/** A legend's value as shown: a share (0-1) in % when the legend has a `display_scale`. */
export function displayValue(legend, value) {
  return legend && legend.display_scale && typeof value === "number" ? value * legend.display_scale : value;
}

/** The colouring of `legendColour` as a 3D Tiles style (the JSON that
 * `new Cesium.Cesium3DTileStyle(...)` takes) on feature property `prop`, with `alpha`:
 * no data first, then the categories or the ramp's steps from the top down. */
export function styleFor(legend, prop, alpha = 1.0, highlight = null) {
  const v = "${" + prop + "}";
  const col = (hex) => `color('${hex}', ${alpha})`;
  const conditions = [];
  // the selected feature first, in a colour of its own (`highlight`: {property, value})
  if (highlight && highlight.value !== undefined && highlight.value !== null) {
    conditions.push([`\${${highlight.property}} === '${String(highlight.value).replace(/'/g, "\\'")}'`, `color('${HIGHLIGHT}', 1.0)`]);
  }
  conditions.push([`${v} === undefined || ${v} === null || ${v} === ''`, col(NO_DATA)]);
  if (legend.kind === "categories") {
    for (const c of legend.categories) conditions.push([`${v} === '${c.value.replace(/'/g, "\\'")}'`, col(c.colour)]);
    conditions.push(["true", col(legend.other || FALLBACK)]);
  } else {
    const n = legend.stops.length;
    const step = (legend.max - legend.min) / n;
    for (let i = n - 1; i >= 1; i--) conditions.push([`${v} >= ${legend.min + i * step}`, col(legend.stops[i])]);
    conditions.push(["true", col(legend.stops[0])]);
  }
  return { color: { conditions } };
}

/** The legends the view shows, in order: the streets' colouring, the buildings'
 * colouring, then shade hours, sun hours, people flow and use districts (each only when
 * the run has the layer and `state` shows it), over the scenario's domain (`legendFor`). */
export function legendItems(manifest, state) {
  const m = manifest, s = state, items = [];
  if (m.layers.streets && s.layers.streets) {
    const option = m.street_colouring.find((o) => o.id === s.streetsBy);
    if (option) items.push(m.legends[streetLegendId(m, s, option)]);
  }
  const b = m.building_colouring.find((o) => o.id === s.buildingsBy);
  if (m.layers.buildings && s.layers.buildings && b && b.legend) items.push(m.legends[b.legend]);
  for (const id of ["shade_hours", "sun_hours", "flow", "use_districts"]) {
    if (m.layers[id] && s.layers[id]) items.push(m.legends[m.layers[id].legend]);
  }
  // each over the domain the view shows: the scenario's own values, or the fixed one
  return items.map((legend) => legendFor(legend, s.scenario, !!s.fixedDomain));
}

/** CSS background of a ramp legend: one hard-edged band per stop. */
export function rampGradient(legend) {
  const n = legend.stops.length;
  return `linear-gradient(to right, ${legend.stops.map((c, i) => `${c} ${(i / n) * 100}%, ${c} ${((i + 1) / n) * 100}%`).join(", ")})`;
}
