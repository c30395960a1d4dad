// Number formatting of the viewer's panels, legends and saved image.
// Pure: no document, window or Cesium (Node imports it in viewer/test/).

/** `v` rounded to `digits` decimals in the browser's number format (a trailing .0 dropped,
 * thousands grouped); "–" for no value (undefined, null, NaN); a non-number as text. */
export function fmt(v, digits = 2) {
  if (v === undefined || v === null || Number.isNaN(v)) return "–";
  return typeof v === "number" ? Number(v.toFixed(digits)).toLocaleString() : String(v);
}

/** A year as written (2017, never "2,017"): no thousands grouping; "–" for no value. */
export function fmtYear(v) {
  if (v === undefined || v === null || v === "" || Number.isNaN(v)) return "–";
  const n = Number(v);
  return Number.isFinite(n) ? String(Math.round(n)) : String(v);
}

/** An attribute's value by its key: years (keys with "year") by `fmtYear`, others by `fmt`. */
export function fmtAttribute(key, v, digits = 2) {
  return /year/i.test(key) ? fmtYear(v) : fmt(v, digits);
}

/** The scale bar's length: the first round length (1, 2, 5 x 10^k m, up to 5 km) of at
 * least 0.6 x the metres spanned by 100 screen pixels, and its length in pixels. */
export function scaleBarLength(metresPer100px) {
  const nice = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000].find((x) => x >= metresPer100px * 0.6) || 5000;
  return { metres: nice, pixels: (nice / metresPer100px) * 100 };
}

/** The measures behind component `id` of a street as text ("139 junctions per km² ..."),
 * from viewer.json's `raw` ({component: [{property, digits, units}]}) and `value(property)`;
 * "–" when there is none. */
export function rawMeasures(raw, id, value, word) {
  const parts = [];
  for (const measure of (raw || {})[id] || []) {
    const v = value(measure.property);
    if (v !== undefined && v !== null) parts.push(`${fmt(v, measure.digits)} ${word(measure.units)}`);
  }
  return parts.length ? parts.join("; ") : "–";
}
