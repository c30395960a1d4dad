// The view state: defaults, the URL hash both ways, bad hashes, scenario look-ups
// (viewer/src/state.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { decodeHash, defaultState, encodeHash, findScenario, layerKey, nextScenario, scenarioByName } from "../src/state.js";
import { manifest } from "./fixtures.mjs";

test("the default view is the first midday, compared with the same slot of another season", () => {
  const m = manifest();
  assert.deepEqual(defaultState(m, ["en-GB", "en"]), {
    scenario: "summer_solstice_midday", compareWith: "winter_solstice_midday", compare: false, beforeAfter: false,
    split: 0.5,
    streetsBy: "class", buildingsBy: "none", shadows: false, lang: "en", camera: null,
    fixedDomain: false, selected: null, panel: null,
    // the layers viewer.json marks visible; the terrain (toggle: false) is no toggle
    layers: { buildings: true, streets: true, shade_hours: true, sun_hours: false, use_districts: false },
  });
});

test("Japanese is the default when one of the browser's languages is Japanese", () => {
  const m = manifest();
  assert.equal(defaultState(m, ["en-US", "ja-JP"]).lang, "ja");
  assert.equal(defaultState(m, ["JA"]).lang, "ja");
  assert.equal(defaultState(m, []).lang, "en");
  assert.equal(defaultState(m, ["jv"]).lang, "en");  // Javanese is not Japanese
});

test("a run without a midday slot opens on its first scenario", () => {
  const m = manifest();
  m.scenarios = m.scenarios.filter((s) => s.slot !== "midday");
  const s = defaultState(m);
  assert.equal(s.scenario, "summer_solstice_morning");
  assert.equal(s.compareWith, "winter_solstice_morning");
});

test("a run of one season compares a scenario with itself", () => {
  const m = manifest();
  m.scenarios = m.scenarios.filter((s) => s.season === "summer_solstice");
  const s = defaultState(m);
  assert.equal(s.compareWith, s.scenario);
});

test("every part of the view survives the URL hash", () => {
  const m = manifest();
  const view = {
    scenario: "winter_solstice_morning", compareWith: "summer_solstice_afternoon", compare: true, beforeAfter: false,
    split: 0.35,
    streetsBy: "score", buildingsBy: "walk_score", shadows: true, lang: "ja",
    layers: { buildings: false, streets: true, shade_hours: false, sun_hours: true, use_districts: true },
    camera: [139.6249871, 35.9083412, 412.57, 6.28318, -0.78541, 0.00002],
    fixedDomain: true, selected: "53396580:136", panel: "priority",
  };
  const hash = encodeHash(view);
  assert.match(hash, /^#s=winter_solstice_morning&b=summer_solstice_afternoon&cmp=1&split=0\.35&/);
  assert.deepEqual(decodeHash(hash, defaultState(m), m), view);
});

test("the camera is kept to 1e-7 degrees, 1 cm and 1e-5 rad", () => {
  const m = manifest();
  const s = { ...defaultState(m), camera: [139.123456789, 35.987654321, 250.126, 1.234567891, -0.5, Math.PI] };
  const hash = encodeHash(s);
  assert.ok(hash.includes("cam=139.1234568%2C35.9876543%2C250.13%2C1.23457%2C-0.50000%2C3.14159"), hash);
  assert.deepEqual(decodeHash(hash, defaultState(m), m).camera, [139.1234568, 35.9876543, 250.13, 1.23457, -0.5, 3.14159]);
});

test("the layers switched off are kept off, and no layer on is an empty list", () => {
  const m = manifest();
  const base = defaultState(m);
  const none = { ...base, layers: Object.fromEntries(Object.keys(base.layers).map((id) => [id, false])) };
  const hash = encodeHash(none);
  assert.ok(hash.includes("&l=&"), hash);
  assert.deepEqual(decodeHash(hash, base, m).layers, none.layers);
});

test("an empty or foreign hash gives the default view and leaves it unchanged", () => {
  const m = manifest();
  const base = defaultState(m);
  const copy = structuredClone(base);
  for (const hash of ["", "#", "#foo=bar", "#%%%", "not a hash at all"]) assert.deepEqual(decodeHash(hash, base, m), base);
  const changed = decodeHash("#s=winter_solstice_morning&l=streets&cmp=1", base, m);
  assert.equal(changed.scenario, "winter_solstice_morning");
  assert.deepEqual(base, copy);  // the base is not modified
});

test("a bad hash keeps the default of each part it gets wrong", () => {
  const m = manifest();
  const base = defaultState(m);
  const bad = decodeHash("#s=autumn_dusk&b=&cmp=yes&st=no_such&bd=people&sh=true&lang=fr", base, m);
  assert.equal(bad.scenario, base.scenario);          // no such scenario
  assert.equal(bad.compareWith, base.compareWith);
  assert.equal(bad.compare, false);                    // only "1" is on
  assert.equal(bad.streetsBy, "class");                // no such colouring
  assert.equal(bad.buildingsBy, "none");
  assert.equal(bad.shadows, false);
  assert.equal(bad.lang, base.lang);                   // neither ja nor en
});

test("a colouring the run marks unavailable is not taken from a link", () => {
  const m = manifest();
  assert.equal(decodeHash("#st=people_per_100m", defaultState(m), m).streetsBy, "class");
  assert.equal(decodeHash("#st=score", defaultState(m), m).streetsBy, "score");
});

test("the split is clamped to [0.05, 0.95], and 0.5 when it is not a number", () => {
  const m = manifest();
  const split = (v) => decodeHash(`#split=${v}`, defaultState(m), m).split;
  assert.equal(split("0.3"), 0.3);
  assert.equal(split("2"), 0.95);
  assert.equal(split("-1"), 0.05);
  assert.equal(split("0.01"), 0.05);
  assert.equal(split("abc"), 0.5);
  assert.equal(split(""), 0.5);
});

test("a camera that is not six finite numbers is ignored", () => {
  const m = manifest();
  const cam = (v) => decodeHash(`#cam=${v}`, defaultState(m), m).camera;
  assert.deepEqual(cam("1,2,3,4,5,6"), [1, 2, 3, 4, 5, 6]);
  for (const bad of ["1,2,3,4,5", "1,2,3,4,5,6,7", "1,2,x,4,5,6", "1,2,3,4,5,Infinity", "", "1,,3,4,5,6x"]) {
    assert.equal(cam(bad), null, bad);
  }
});

test("unknown layer ids in a link are ignored; the run's layers not listed are off", () => {
  const m = manifest();
  const layers = decodeHash("#l=streets,lidar,flow,%3Cscript%3E", defaultState(m), m).layers;
  assert.deepEqual(layers, { buildings: false, streets: true, shade_hours: false, sun_hours: false, use_districts: false });
});

test("scenarios are found by name and by season and slot", () => {
  const m = manifest();
  assert.equal(scenarioByName(m, "winter_solstice_midday").date, "2026-12-21");
  assert.equal(scenarioByName(m, "nope"), undefined);
  assert.equal(findScenario(m, "summer_solstice", "afternoon").name, "summer_solstice_afternoon");
  assert.equal(findScenario(m, "winter_solstice", "afternoon"), undefined);
});

test("Play steps to the next slot the season has, wrapping round", () => {
  const m = manifest();
  assert.equal(nextScenario(m, "summer_solstice_morning"), "summer_solstice_midday");
  assert.equal(nextScenario(m, "summer_solstice_afternoon"), "summer_solstice_morning");
  assert.equal(nextScenario(m, "winter_solstice_midday"), "winter_solstice_morning");  // winter has no afternoon
  m.scenarios = m.scenarios.filter((s) => s.name !== "winter_solstice_morning");
  assert.equal(nextScenario(m, "winter_solstice_midday"), "winter_solstice_midday");  // its only slot
});

test("sun hours are indexed by season, the other layers by scenario", () => {
  const m = manifest();
  const sc = scenarioByName(m, "winter_solstice_morning");
  assert.equal(layerKey(m.layers.sun_hours, sc), "winter_solstice");
  assert.equal(layerKey(m.layers.shade_hours, sc), "winter_solstice_morning");
});

test("a hash's panel must be one the app has, and a selection is kept as text", () => {
  const m = manifest();
  const s = decodeHash("#p=settings&sel=53396489%3A12&fd=0", defaultState(m), m);
  assert.equal(s.panel, null);
  assert.equal(s.selected, "53396489:12");
  assert.equal(s.fixedDomain, false);
  assert.equal(decodeHash("#p=about", defaultState(m), m).panel, "about");
});
