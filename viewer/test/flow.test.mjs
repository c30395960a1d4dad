// The people-flow cells' labels (viewer/src/flow.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { flowLabel, scenarioText } from "../src/flow.js";

const manifest = {
  seasons: [{ name: "heat_day", label: { ja: "猛暑日", en: "hot day" } }],
  slots: [{ name: "midday", label: { ja: "昼", en: "midday" } }],
};
const word = (label) => label.ja;
const cell = {
  meshcode: "53396580", lon: 139.6, lat: 35.9, h: 50,
  population: { heat_day_midday: 8170.4, heat_day_morning: null },
  source: { heat_day_midday: "mlit_peopleflow_omiya", heat_day_morning: null },
  how: { heat_day_midday: "mlit", heat_day_morning: null },
};
const words = { mesh: "メッシュ", units: "人", noData: "データなし", how: { mlit: "国交省の公表値" } };

test("a cell's label says its people, how they were made, the source and the slot", () => {
  const text = scenarioText(manifest, { season: "heat_day", slot: "midday", start: "11:00", end: "14:00" }, word);
  assert.equal(text, "猛暑日 昼 11:00–14:00");
  const label = flowLabel(cell, [{ name: "heat_day_midday", text }], words);
  assert.equal(label, `メッシュ 53396580\n猛暑日 昼 11:00–14:00: ${(8170).toLocaleString()} 人 (国交省の公表値, mlit_peopleflow_omiya)`);
});

test("a slot without data says so, never 0, and a compare shows both sides", () => {
  const label = flowLabel(cell, [
    { name: "heat_day_midday", text: "A-slot", prefix: "A " },
    { name: "heat_day_morning", text: "B-slot", prefix: "B " },
  ], words);
  const [, a, b] = label.split("\n");
  assert.match(a, /^A A-slot: /);
  assert.equal(b, "B B-slot: データなし");
});
