// Which values the streets show on a run on a baseline: the change of a variable, or in
// the split view its value before (left) and after (right) the measures, of one scenario.
// Pure and without imports (legends.js and measures.js use it; Node tests it).

/** Whether the run has change values to colour by (and to split before/after). */
export function hasChanges(manifest) {
  return !!(manifest.layers.measures && manifest.layers.measures.changes);
}

/** Whether the split view shows before (left) and after (right) of the one scenario. */
export function beforeAfter(manifest, state) {
  return !!(state.compare && state.beforeAfter && hasChanges(manifest));
}

/** The scenario side "A" (left, or everywhere) or "B" (right) shows: in before/after
 * both sides show the chosen scenario, else B shows the one compared with. */
export function sideScenario(manifest, state, side) {
  return side === "A" || beforeAfter(manifest, state) ? state.scenario : state.compareWith;
}

/** `[before, after, change]` of `variable` on segment `id` in `scenario`, or null. */
export function changeRow(changes, scenario, variable, id) {
  const rows = changes && changes.scenarios[scenario] && changes.scenarios[scenario][variable];
  return rows && rows[String(id)] !== undefined ? rows[String(id)] : null;
}

/** How side `side` colours the streets when the colouring is one of change (`option.change`
 * names the variable): {legend id, which value}. Before/after: the variable's own legend,
 * before on the left, after on the right; else the change on its diverging legend. Null
 * for a colouring that is not one of change. */
export function changeColouring(manifest, state, option, side) {
  if (!option || !option.change) return null;
  if (beforeAfter(manifest, state) && manifest.legends[option.change]) {
    return { legend: option.change, which: side === "A" ? "before" : "after" };
  }
  return { legend: option.legend, which: "change" };
}

/** The legend the streets show for `option`: the variable's own in before/after, else the option's. */
export function streetLegendId(manifest, state, option) {
  const how = changeColouring(manifest, state, option, "A");
  return how ? how.legend : option.legend;
}
