// Number formatting, the scale bar's length and the interface words (viewer/src/format.js,
// viewer/src/i18n.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { fmt, fmtAttribute, fmtYear, scaleBarLength } from "../src/format.js";
import { WORDS, labelIn, translate } from "../src/i18n.js";

test("no value is a dash, never 0", () => {
  for (const missing of [undefined, null, Number.NaN]) assert.equal(fmt(missing), "–");
  assert.notEqual(fmt(0), "–");
});

test("numbers are rounded to the digits asked, a trailing .0 dropped", () => {
  // compared with the runtime's own number format, so the test holds in any locale
  assert.equal(fmt(23.96, 1), (24).toLocaleString());
  assert.equal(fmt(0.125, 2), (0.13).toLocaleString());
  assert.equal(fmt(1234.5678), (1234.57).toLocaleString());
  assert.equal(fmt(7.6, 0), (8).toLocaleString());
});

test("a year is written as a year, not grouped in thousands", () => {
  assert.equal(fmtYear(2017), "2017");
  assert.equal(fmtYear(2017.0), "2017");
  assert.equal(fmtYear("1998"), "1998");
  assert.equal(fmtYear(undefined), "–");
  assert.equal(fmtAttribute("year_of_construction", 2017), "2017");
  assert.equal(fmtAttribute("total_floor_area", 2017.5, 1), (2017.5).toLocaleString());
});

test("text is shown as it is", () => {
  assert.equal(fmt("walkable_used"), "walkable_used");
  assert.equal(fmt(true), "true");
});

test("the scale bar takes the first round length of at least 0.6 x 100 px", () => {
  assert.deepEqual(scaleBarLength(100), { metres: 100, pixels: 100 });   // 60 m -> 100 m
  assert.deepEqual(scaleBarLength(30), { metres: 20, pixels: 20 / 30 * 100 });   // 18 m -> 20 m
  assert.deepEqual(scaleBarLength(1.5), { metres: 1, pixels: 1 / 1.5 * 100 });   // 0.9 m -> 1 m
  assert.equal(scaleBarLength(9000).metres, 5000);  // 5.4 km: none of the lengths, the longest
  assert.deepEqual(scaleBarLength(123), { metres: 100, pixels: 100 / 123 * 100 });  // 73.8 m -> 100 m
});

test("every interface word exists in Japanese and English", () => {
  assert.deepEqual(Object.keys(WORDS.ja).sort(), Object.keys(WORDS.en).sort());
});

test("words fall back to English, then to their key", () => {
  assert.equal(translate("ja", "season"), "季節");
  assert.equal(translate("en", "season"), "Season");
  assert.equal(translate("fr", "season"), "Season");
  assert.equal(translate("ja", "no_such_word"), "no_such_word");
});

test("data labels are read in the language asked, else English, else the first", () => {
  assert.equal(labelIn({ en: "hot day", ja: "猛暑日" }, "ja"), "猛暑日");
  assert.equal(labelIn({ en: "hot day", ja: "猛暑日" }, "fr"), "hot day");
  assert.equal(labelIn({ ja: "商業地域" }, "en"), "商業地域");
  assert.equal(labelIn("plain", "ja"), "plain");
  assert.equal(labelIn(null, "en"), "");
  assert.equal(labelIn(undefined, "en"), "");
});

test("a street's raw measures read with their units, several joined, none a dash", async () => {
  const { rawMeasures } = await import("../src/format.js");
  const raw = {
    c_mix: [{ property: "mix_classes", digits: 1, units: { en: "classes", ja: "種類" } },
            { property: "mix_entropy", digits: 2, units: { en: "entropy", ja: "エントロピー" } }],
    c_intersections: [{ property: "intersection_density", digits: 0, units: { en: "per km²", ja: "/km²" } }],
  };
  const values = { mix_classes: 3.78, mix_entropy: 1.314, intersection_density: null };
  const ja = (label) => label.ja;
  assert.equal(rawMeasures(raw, "c_mix", (k) => values[k], ja), `${(3.8).toLocaleString()} 種類; ${(1.31).toLocaleString()} エントロピー`);
  assert.equal(rawMeasures(raw, "c_intersections", (k) => values[k], ja), "–");  // no value: a dash, not 0
  assert.equal(rawMeasures(raw, "c_access", (k) => values[k], ja), "–");
  assert.equal(rawMeasures(undefined, "c_mix", (k) => values[k], ja), "–");
});
