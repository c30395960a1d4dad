// The priority list: rows of priority.json, sorting and CSV (viewer/src/priority.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { priorityRows, sortRows, streetName, toCsv } from "../src/priority.js";

const DATA = {
  columns: ["rank", "segment_id", "name", "highway", "priority", "shade_share"],
  scenarios: {
    heat_day_midday: [[1, "a", "中央通り", "secondary", 120.5, 0.1], [2, "b", "", "residential", 80, null],
                      [3, "c", "Ginza, 1-chome", "primary", 80, 0.5]],
  },
  segments: {},
};

test("a scenario's rows become objects by column; a scenario without rows has none", () => {
  const rows = priorityRows(DATA, "heat_day_midday");
  assert.deepEqual(rows[0], { rank: 1, segment_id: "a", name: "中央通り", highway: "secondary", priority: 120.5,
                              shade_share: 0.1 });
  assert.deepEqual(priorityRows(DATA, "winter_solstice_midday"), []);
  assert.deepEqual(priorityRows(null, "x"), []);
});

test("sorting: numbers by value, ties in rank order, no value last in both directions", () => {
  const rows = priorityRows(DATA, "heat_day_midday");
  assert.deepEqual(sortRows(rows, "priority", 1).map((r) => r.segment_id), ["b", "c", "a"]);
  assert.deepEqual(sortRows(rows, "priority", -1).map((r) => r.segment_id), ["a", "b", "c"]);
  assert.deepEqual(sortRows(rows, "shade_share", 1).map((r) => r.segment_id), ["a", "c", "b"]);
  assert.deepEqual(sortRows(rows, "shade_share", -1).map((r) => r.segment_id), ["c", "a", "b"]);
  assert.deepEqual(rows.map((r) => r.segment_id), ["a", "b", "c"]);  // the input is not reordered
});

test("CSV quotes a comma, starts with a byte-order mark and ends lines with CRLF", () => {
  const rows = priorityRows(DATA, "heat_day_midday");
  const csv = toCsv(rows, ["rank", "name", "shade_share"], { rank: "順位" });
  assert.equal(csv, "\ufeff順位,name,shade_share\r\n1,中央通り,0.1\r\n2,,\r\n3,\"Ginza, 1-chome\",0.5\r\n");
});

test("a street without a name is named by its road class and segment id", () => {
  const rows = priorityRows(DATA, "heat_day_midday");
  assert.equal(streetName(rows[0]), "中央通り");
  assert.equal(streetName(rows[1], "(名称なし)"), "(名称なし)residential b");
});
