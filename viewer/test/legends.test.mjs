// Legend colours and their 3D Tiles style expressions (viewer/src/legends.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { FALLBACK, NO_DATA, legendColour, legendItems, rampGradient, styleFor } from "../src/legends.js";
import { defaultState } from "../src/state.js";
import { CLASS, SCORE, SHADE_HOURS, USE_DISTRICT, manifest } from "./fixtures.mjs";

// Evaluate a style's conditions for a feature whose property `prop` is `value`, as
// CesiumJS would: the colour of the first condition that holds. The expressions are
// JavaScript-compatible (===, ||, >=, quoted strings), so JavaScript evaluates them.
function styledColour(style, prop, value) {
  const literal = value === undefined ? "undefined" : JSON.stringify(value);
  const color = (hex, alpha) => ({ hex, alpha });
  for (const [condition, colour] of style.color.conditions) {
    const holds = new Function(`return (${condition.replaceAll("${" + prop + "}", literal)});`)();
    if (holds) return new Function("color", `return ${colour};`)(color);
  }
  throw new Error(`no condition holds for ${literal}`);
}

test("a ramp bins a value into equal steps of [min, max]", () => {
  // 8 stops over 0-100: steps of 12.5, each closed at its lower end
  assert.equal(legendColour(SCORE, 0), SCORE.stops[0]);
  assert.equal(legendColour(SCORE, 12.49), SCORE.stops[0]);
  assert.equal(legendColour(SCORE, 12.5), SCORE.stops[1]);
  assert.equal(legendColour(SCORE, 50), SCORE.stops[4]);
  assert.equal(legendColour(SCORE, 87.4), SCORE.stops[6]);
  assert.equal(legendColour(SCORE, 87.5), SCORE.stops[7]);
  assert.equal(legendColour(SCORE, 100), SCORE.stops[7]);  // the top value is in the last step, not past it
  // 0-3 h shade: 1.5 h is the middle, the 5th of 8 steps
  assert.equal(legendColour(SHADE_HOURS, 1.5), SHADE_HOURS.stops[4]);
  assert.equal(legendColour(SHADE_HOURS, 1.49), SHADE_HOURS.stops[3]);
});

test("a ramp clamps values outside its range to its end colours", () => {
  assert.equal(legendColour(SCORE, -5), SCORE.stops[0]);
  assert.equal(legendColour(SCORE, 250), SCORE.stops[7]);
});

test("a ramp whose min equals its max does not divide by zero", () => {
  const flat = { kind: "ramp", min: 5, max: 5, stops: ["#000000", "#ffffff"] };
  assert.equal(legendColour(flat, 5), "#000000");
  assert.equal(legendColour(flat, 6), "#ffffff");
});

test("categories give their colour, an unlisted value the legend's other colour or the fallback", () => {
  assert.equal(legendColour(CLASS, "walkable_underused"), "#56B4E9");
  assert.equal(legendColour(USE_DISTRICT, "10"), "#E8506E");
  assert.equal(legendColour(USE_DISTRICT, "12"), "#BDBDBD");       // its `other`
  assert.equal(legendColour(CLASS, "no_such_class"), FALLBACK);    // no `other`
  assert.equal(legendColour(USE_DISTRICT, 10), "#BDBDBD");          // a number is not the code "10"
});

test("no data is grey on every legend, never the colour of zero", () => {
  for (const legend of [SCORE, CLASS, USE_DISTRICT]) {
    for (const missing of [undefined, null, "", Number.NaN]) assert.equal(legendColour(legend, missing), NO_DATA);
  }
  assert.notEqual(legendColour(SCORE, 0), NO_DATA);
});

test("a ramp's style is its exact conditions, top step first", () => {
  const legend = { kind: "ramp", min: 0, max: 4, stops: ["#000001", "#000002", "#000003", "#000004"] };
  assert.deepEqual(styleFor(legend, "score__a", 0.5), {
    color: {
      conditions: [
        ["${score__a} === undefined || ${score__a} === null || ${score__a} === ''", `color('${NO_DATA}', 0.5)`],
        ["${score__a} >= 3", "color('#000004', 0.5)"],
        ["${score__a} >= 2", "color('#000003', 0.5)"],
        ["${score__a} >= 1", "color('#000002', 0.5)"],
        ["true", "color('#000001', 0.5)"],
      ],
    },
  });
});

test("a categories style quotes values (escaping quotes) and ends with the other colour", () => {
  const legend = { kind: "categories", categories: [{ value: "o'clock", colour: "#111111" }], other: "#222222" };
  assert.deepEqual(styleFor(legend, "kind").color.conditions, [
    ["${kind} === undefined || ${kind} === null || ${kind} === ''", `color('${NO_DATA}', 1)`],
    ["${kind} === 'o\\'clock'", "color('#111111', 1)"],
    ["true", "color('#222222', 1)"],
  ]);
  assert.equal(styledColour(styleFor(legend, "kind"), "kind", "o'clock").hex, "#111111");
});

test("the style colours every value as legendColour does", () => {
  const cases = [
    [SCORE, [-3, 0, 6.25, 12.5, 18.75, 25, 37.5, 49.99, 50, 62.5, 75, 87.5, 93.75, 100, 120, null, undefined, ""]],
    [SHADE_HOURS, [0, 0.2, 0.375, 0.75, 1.1, 1.5, 2.25, 2.99, 3, 4, null]],
    [CLASS, ["walkable_used", "walkable_underused", "other", null, ""]],
    [USE_DISTRICT, ["9", "10", "11", undefined]],
  ];
  for (const [legend, values] of cases) {
    const style = styleFor(legend, "p", 0.55);
    for (const value of values) {
      const styled = styledColour(style, "p", value);
      assert.equal(styled.hex, legendColour(legend, value), `${legend.title.en} at ${value}`);
      assert.equal(styled.alpha, 0.55);
    }
  }
});

test("the legends shown follow the layers on and the colourings chosen", () => {
  const m = manifest();
  const s = defaultState(m);
  // streets by class, buildings uncoloured, shade hours on; sun hours and use districts off
  assert.deepEqual(legendItems(m, s), [CLASS, SHADE_HOURS]);
  s.buildingsBy = "walk_score";
  s.layers.use_districts = true;
  s.layers.streets = false;
  assert.deepEqual(legendItems(m, s), [SCORE, SHADE_HOURS, USE_DISTRICT]);
  s.layers.flow = true;  // a layer the run does not have shows no legend
  assert.deepEqual(legendItems(m, s), [SCORE, SHADE_HOURS, USE_DISTRICT]);
});

test("a ramp's CSS gradient has one hard-edged band per stop", () => {
  const legend = { kind: "ramp", min: 0, max: 1, stops: ["#000000", "#ffffff"] };
  assert.equal(rampGradient(legend), "linear-gradient(to right, #000000 0%, #000000 50%, #ffffff 50%, #ffffff 100%)");
});

test("a ramp spans the scenario's own domain unless one domain across scenarios is asked for", async () => {
  const { legendFor, displayValue } = await import("../src/legends.js");
  const legend = { ...SCORE, min: 0, max: 80, domains: { heat_day_midday: [0, 12] } };
  assert.deepEqual([legendFor(legend, "heat_day_midday").min, legendFor(legend, "heat_day_midday").max], [0, 12]);
  assert.equal(legendFor(legend, "heat_day_midday", true).max, 80);
  assert.equal(legendFor(legend, "equinox_midday").max, 80);  // no domain of its own
  assert.equal(legend.max, 80);  // not modified
  // on the heat day's domain a score of 11 is the top colour, on the fixed one the second
  assert.equal(legendColour(legendFor(legend, "heat_day_midday"), 11), SCORE.stops[7]);
  assert.equal(legendColour(legendFor(legend, "heat_day_midday", true), 11), SCORE.stops[1]);
  assert.equal(displayValue({ display_scale: 100 }, 0.69), 69);
  assert.equal(displayValue(SCORE, 0.69), 0.69);
});

test("the selected street takes the highlight colour before any other condition", async () => {
  const { HIGHLIGHT } = await import("../src/legends.js");
  const style = styleFor(CLASS, "class__x", 1.0, { property: "feature_id", value: "53396580:136" });
  const [condition, colour] = style.color.conditions[0];
  assert.equal(condition, "${feature_id} === '53396580:136'");
  assert.equal(colour, `color('${HIGHLIGHT}', 1.0)`);
  assert.notEqual(HIGHLIGHT, NO_DATA);
  for (const c of CLASS.categories) assert.notEqual(c.colour.toLowerCase(), NO_DATA);
});
