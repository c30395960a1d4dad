// People flow per 1 km mesh cell: the label written over each cell's centre (people, how
// the value was made, its source, the slot). The cells themselves are low frames on the
// ground (pipeline/tiles3d/flow_prisms.py), so the district inside stays in view.
// Pure: no document, window or Cesium (Node imports it in viewer/test/).
import { fmt } from "./format.js";

/** The scenario as the label names it: season, slot and its hours (words in `word`). */
export function scenarioText(manifest, scenario, word) {
  const season = manifest.seasons.find((x) => x.name === scenario.season);
  const slot = manifest.slots.find((x) => x.name === scenario.slot);
  return `${season ? word(season.label) : scenario.season} ${slot ? word(slot.label) : scenario.slot} `
    + `${scenario.start}–${scenario.end}`;
}

/** A cell's label (viewer.json `layers.flow.cells[]`): its mesh code, then one line per
 * shown side `{name, text, prefix}`: people (or "no data"), how the value was made and
 * the source. `words`: {mesh, units, noData, how: {people_source: word}}. */
export function flowLabel(cell, sides, words) {
  const lines = [`${words.mesh} ${cell.meshcode}`];
  for (const { name, text, prefix = "" } of sides) {
    const people = cell.population[name];
    const known = people !== null && people !== undefined;
    const how = (cell.how || {})[name];
    const basis = known ? [how ? words.how[how] || how : null, cell.source[name]].filter(Boolean).join(", ") : "";
    lines.push(`${prefix}${text}: ${known ? `${fmt(people, 0)} ${words.units}` : words.noData}${basis ? ` (${basis})` : ""}`);
  }
  return lines.join("\n");
}
