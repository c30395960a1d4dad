// A run on a baseline: colour by change, before/after in the split view, removed buildings
// as ghosts and the drawing of a tree (viewer/src/change.js, viewer/src/measures.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { beforeAfter, changeColouring, sideScenario } from "../src/change.js";
import { HIGHLIGHT, NO_DATA, legendColour, legendItems, styleFor } from "../src/legends.js";
import { GHOST, changeColour, treeParts, withGhosts } from "../src/measures.js";
import { decodeHash, defaultState, encodeHash } from "../src/state.js";
import { SCORE, manifest } from "./fixtures.mjs";

// as pipeline/viewer/measures.py writes it: RdBu_r in 9 bins over [-2.5, 2.5], the middle grey
const UTCI_CHANGE = {
  kind: "ramp", title: { en: "Change of felt temperature (ΔUTCI), after - before", ja: "体感温度の変化" },
  units: { en: "°C", ja: "°C" }, min: -2.5, max: 2.5, palette: "RdBu_r", diverging: true,
  stops: ["#1F63A8", "#3D8BC0", "#7FB8D7", "#C1DDEB", "#BDBDBD", "#FBCCB4", "#ED9576", "#CA4842", "#8A0B25"],
};
const UTCI = { ...SCORE, title: { en: "Felt temperature (UTCI)", ja: "体感温度" }, min: 30, max: 42 };
const CHANGES = {
  variables: ["utci_mean_c"],
  scenarios: { summer_solstice_midday: { utci_mean_c: { "s:1": [41.0, 38.54, -2.46], "s:2": [39.0, 39.0, 0.0] } } },
};

function measureRun() {
  const m = manifest();
  m.layers.measures = { type: "measures", url: "measures/measures.geojson", changes: "measures/changes.json",
                        removed: ["bldg_a"], visible: true };
  m.legends.utci_mean_c = UTCI;
  m.legends.utci_mean_c_change = UTCI_CHANGE;
  m.street_colouring.push({ id: "utci_mean_c_change", legend: "utci_mean_c_change", change: "utci_mean_c" });
  return m;
}

test("colour by change: a street 2.46 °C cooler is in the bluest bin, an unchanged one grey, a missing one white", () => {
  const m = measureRun();
  const s = { ...defaultState(m), streetsBy: "utci_mean_c_change" };
  const option = m.street_colouring.at(-1);
  assert.equal(changeColour(m, s, CHANGES, option, "A", "s:1"), "#1F63A8");
  assert.equal(changeColour(m, s, CHANGES, option, "A", "s:2"), "#BDBDBD");
  assert.equal(changeColour(m, s, CHANGES, option, "A", "s:9"), NO_DATA);
  assert.equal(changeColour(m, { ...s, selected: "s:2" }, CHANGES, option, "A", "s:2"), HIGHLIGHT);
  assert.deepEqual(legendItems(m, s)[0], UTCI_CHANGE);  // the legend shown is the diverging one
});

test("before/after: the left shows the value before, the right after, of the one scenario, on the variable's legend", () => {
  const m = measureRun();
  const s = { ...defaultState(m), streetsBy: "utci_mean_c_change", compare: true, beforeAfter: true };
  const option = m.street_colouring.at(-1);
  assert.ok(beforeAfter(m, s));
  assert.equal(sideScenario(m, s, "B"), s.scenario);  // not the scenario compared with
  assert.deepEqual(changeColouring(m, s, option, "A"), { legend: "utci_mean_c", which: "before" });
  assert.equal(changeColour(m, s, CHANGES, option, "A", "s:1"), legendColour(UTCI, 41.0));
  assert.equal(changeColour(m, s, CHANGES, option, "B", "s:1"), legendColour(UTCI, 38.54));
  assert.notEqual(legendColour(UTCI, 41.0), legendColour(UTCI, 38.54));
  assert.equal(legendItems(m, s)[0].title.en, UTCI.title.en);
  // without the split view, or on a run without changes, B is the scenario compared with
  assert.equal(sideScenario(m, { ...s, compare: false }, "B"), s.compareWith);
  assert.equal(sideScenario(manifest(), s, "B"), s.compareWith);
  assert.equal(changeColouring(m, s, m.street_colouring[1], "A"), null);  // score: not a change colouring
});

test("before/after survives the URL hash only on a run with changes", () => {
  const m = measureRun();
  const s = { ...defaultState(m), compare: true, beforeAfter: true };
  assert.equal(decodeHash(encodeHash(s), defaultState(m), m).beforeAfter, true);
  assert.equal(decodeHash(encodeHash(s), defaultState(manifest()), manifest()).beforeAfter, false);
});

// the colour CesiumJS gives a building with property gml_id `id` under a style's conditions
function buildingColour(style, id, walkScore) {
  const color = (hex, alpha) => ({ hex, alpha });
  for (const [condition, colour] of style.color.conditions) {
    const expression = condition.replaceAll("${gml_id}", JSON.stringify(id)).replaceAll("${walk_score_x}", String(walkScore));
    if (new Function(`return (${expression});`)()) return new Function("color", `return ${colour};`)(color);
  }
  throw new Error("no condition holds");
}

test("a removed building is a ghost over any building colouring, the others keep theirs", () => {
  const coloured = withGhosts(styleFor(SCORE, "walk_score_x"), ["bldg_a"]);
  assert.deepEqual(buildingColour(coloured, "bldg_a", 95), { hex: GHOST.colour, alpha: GHOST.alpha });
  assert.deepEqual(buildingColour(coloured, "bldg_b", 95), { hex: SCORE.stops.at(-1), alpha: 1 });
  const plain = withGhosts(undefined, ["bldg_a"]);
  assert.equal(buildingColour(plain, "bldg_a").alpha, GHOST.alpha);
  assert.deepEqual(buildingColour(plain, "bldg_b"), { hex: "#ffffff", alpha: 1 });
  assert.equal(withGhosts(undefined, []), undefined);  // nothing removed: the style as it was
});

test("a tree is a trunk up to its crown base and a crown ellipsoid from there to its top", () => {
  const parts = treeParts({ height_m: 8, crown_diameter_m: 5, crown_base_m: 3.2 });
  assert.deepEqual(parts.trunk, { length: 3.2, radius: 0.2, centre: 1.6 });
  assert.ok(Math.abs(parts.crown.centre - parts.crown.radii[2] - 3.2) < 1e-9);  // the crown's underside
  assert.ok(Math.abs(parts.crown.centre + parts.crown.radii[2] - 8) < 1e-9);  // the tree's top
  assert.deepEqual(parts.crown.radii.slice(0, 2), [2.5, 2.5]);
});
