// Where to act first: the rows of priority.json (written by the run from its priority
// table, pipeline/walkability/priority.py), sorted, and as CSV.
// Pure: no document, window or Cesium (Node imports it in viewer/test/).
//
// priority.json: {columns: [...], scenarios: {name: [[...row...], ...]}, segments: {id: {mid, line}}};
// a row's cells follow `columns` (rank, segment_id, name, highway, length_m, people_per_100m,
// hours_utci_above_32, shade_share, person_hours_heat, priority).

/** The rows of `scenario` as objects keyed by column (none: []). */
export function priorityRows(data, scenario) {
  const rows = (data && data.scenarios && data.scenarios[scenario]) || [];
  return rows.map((cells) => Object.fromEntries(data.columns.map((c, i) => [c, cells[i]])));
}

/** `rows` sorted by `key`, ascending (`dir` 1) or descending (-1); no value last either way;
 * ties keep the rank order (a stable sort). A new array. */
export function sortRows(rows, key, dir = 1) {
  const missing = (v) => v === undefined || v === null || v === "" || (typeof v === "number" && Number.isNaN(v));
  return rows.map((r, i) => [r, i]).sort(([a, i], [b, j]) => {
    const x = a[key], y = b[key];
    if (missing(x) || missing(y)) return missing(x) === missing(y) ? i - j : missing(x) ? 1 : -1;
    const order = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y), "ja");
    return order !== 0 ? dir * order : i - j;
  }).map(([r]) => r);
}

/** A CSV field: quoted when it holds a comma, quote or line break (RFC 4180). */
function csvField(value) {
  const text = value === undefined || value === null ? "" : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** `rows` as CSV (RFC 4180, CRLF): a heading line (`headings[c]` or the column name) and
 * one line per row of `columns`; a byte-order mark so that Excel reads Japanese names. */
export function toCsv(rows, columns, headings = {}) {
  const lines = [columns.map((c) => csvField(headings[c] || c)).join(",")];
  for (const r of rows) lines.push(columns.map((c) => csvField(r[c])).join(","));
  return "\ufeff" + lines.join("\r\n") + "\r\n";
}

/** A street's name for the list: its OSM name, else its road class and segment id. */
export function streetName(row, unnamed = "") {
  return row.name ? row.name : `${unnamed}${row.highway ? row.highway + " " : ""}${row.segment_id}`;
}
