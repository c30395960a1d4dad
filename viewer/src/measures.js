// A run on a baseline: its measures on the 3D model and the streets coloured by their
// change (viewer.json `layers.measures`: `url` of measures.geojson, `changes` of
// changes.json, `removed` gml_ids), before and after in the split view.
// Pure: no document, window or Cesium (Node imports it in viewer/test/).
import { changeColouring, changeRow } from "./change.js";
import { HIGHLIGHT, legendColour } from "./legends.js";

/** A removed building: drawn white and nearly transparent (a ghost of what is taken away). */
export const GHOST = { colour: "#ffffff", alpha: 0.25 };
/** Radius of a drawn trunk (m): for the drawing only, no measure gives one. */
export const TRUNK_RADIUS_M = 0.2;
/** Positions of a value in changes.json's [before, after, change]. */
export const WHICH = { before: 0, after: 1, change: 2 };

/** CSS colour of street `id` for side `side` under a change colouring: the selected
 * street in its highlight, no data (white) where the segment has no value. */
export function changeColour(manifest, state, changes, option, side, id) {
  if (state.selected && String(id) === String(state.selected)) return HIGHLIGHT;
  const how = changeColouring(manifest, state, option, side);
  const row = changeRow(changes, state.scenario, option.change, id);
  return legendColour(manifest.legends[how.legend], row ? row[WHICH[how.which]] : null);
}

/** A 3D Tiles style (the JSON of `styleFor`, or none) with the removed buildings
 * (`gmlIds`, by property `gml_id`) drawn as ghosts before any other condition. */
export function withGhosts(style, gmlIds) {
  if (!gmlIds || !gmlIds.length) return style;
  const ghost = `color('${GHOST.colour}', ${GHOST.alpha})`;
  const conditions = gmlIds.map((id) => [`\${gml_id} === '${String(id).replace(/'/g, "\\'")}'`, ghost]);
  const rest = style && style.color && style.color.conditions ? style.color.conditions : [["true", "color('#ffffff', 1.0)"]];
  return { ...(style || {}), color: { conditions: [...conditions, ...rest] } };
}

/** A tree's drawing (m above the ground under it): a trunk from the ground to the crown
 * base, a crown ellipsoid from the crown base to the top, as wide as the crown diameter. */
export function treeParts(properties) {
  const height = Number(properties.height_m);
  const base = Math.min(Math.max(0, Number(properties.crown_base_m)), height);
  const radius = Number(properties.crown_diameter_m) / 2;
  const depth = Math.max(height - base, 0.1);
  return {
    trunk: { length: base, radius: TRUNK_RADIUS_M, centre: base / 2 },
    crown: { centre: base + depth / 2, radii: [radius, radius, depth / 2] },
  };
}
