// The two reading aids of the app: "Where to act first" (the ranked streets of the
// scenario, sortable, as CSV, a row flies to its street and selects it) and "About this
// map" (method, sources, dates, caveats, the printed report). Browser only.
import { fmt } from "./format.js";
import { HIGHLIGHT } from "./legends.js";
import { $, resolveUrl, t, word } from "./dom.js";
import { priorityRows, sortRows, streetName, toCsv } from "./priority.js";
import { app } from "./state.js";

/** The list's columns: [column of priority.json, heading word, digits, scale]. */
const LIST = [["rank", "rank", 0, 1], ["street", "street", 0, 1], ["people_per_100m", "perHundredShort", 1, 1],
              ["hours_utci_above_32", "hoursHeat", 1, 1], ["shade_share", "shadePct", 0, 100],
              ["priority", "priorityValue", 0, 1]];
const sort = { key: "rank", dir: 1 };

/** Read priority.json once (viewer.json `about.priority`); null when the run has none. */
async function priorityData() {
  const url = (app.manifest.about || {}).priority;
  if (!url) return null;
  if (!app.priority) {
    const response = await fetch(resolveUrl(url));
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    app.priority = await response.json();
  }
  return app.priority;
}

/** Show the open panel (state.panel) for the current scenario and language. */
export async function renderGuide() {
  const s = app.state, panel = $("guidePanel");
  panel.hidden = !s.panel;
  $("togglePriority").setAttribute("aria-expanded", String(s.panel === "priority"));
  $("toggleAbout").setAttribute("aria-expanded", String(s.panel === "about"));
  if (s.panel === "priority") await renderPriority(panel);
  else if (s.panel === "about") renderAbout(panel);
}

async function renderPriority(panel) {
  const data = await priorityData();
  const s = app.state;
  panel.replaceChildren();
  const h = document.createElement("h2");
  h.textContent = t("priority");
  const note = document.createElement("p");
  note.className = "note";
  note.textContent = t("priorityNote");
  panel.append(closeButton(), h, note);
  const rows = sortRows(priorityRows(data, s.scenario).map((r) => ({ ...r, street: streetName(r, t("unnamed")) })),
                        sort.key, sort.dir);
  if (!rows.length) {
    const p = document.createElement("p");
    p.id = "priorityEmpty";
    p.textContent = t("noPriority");
    panel.appendChild(p);
    return;
  }
  const csv = document.createElement("button");
  csv.type = "button";
  csv.id = "priorityCsv";
  csv.textContent = t("exportCsv");
  csv.addEventListener("click", () => downloadCsv(rows));
  panel.appendChild(csv);
  const table = document.createElement("table");
  table.id = "priorityTable";
  const head = table.createTHead().insertRow();
  for (const [key, label] of LIST) {
    const th = document.createElement("th");
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = t(label) + (sort.key === key ? (sort.dir > 0 ? " ▲" : " ▼") : "");
    th.setAttribute("aria-sort", sort.key === key ? (sort.dir > 0 ? "ascending" : "descending") : "none");
    button.addEventListener("click", () => {
      sort.dir = sort.key === key ? -sort.dir : key === "rank" || key === "street" ? 1 : -1;
      sort.key = key;
      renderPriority(panel);
    });
    th.appendChild(button);
    head.appendChild(th);
  }
  const body = table.createTBody();
  for (const r of rows) {
    const tr = body.insertRow();
    tr.dataset.segment = r.segment_id;
    tr.tabIndex = 0;
    if (String(r.segment_id) === String(s.selected)) tr.className = "selected";
    for (const [key, , digits, scale] of LIST) {
      const v = r[key];
      tr.insertCell().textContent = typeof v === "number" ? fmt(v * scale, digits) : String(v ?? "–");
    }
    const go = () => flyToSegment(r.segment_id);
    tr.addEventListener("click", go);
    tr.addEventListener("keydown", (e) => { if (e.key === "Enter") go(); });
  }
  panel.appendChild(table);
}

function downloadCsv(rows) {
  const m = app.manifest;
  const columns = ["rank", "segment_id", "street", "highway", "length_m", "people_per_100m", "hours_utci_above_32",
                   "shade_share", "person_hours_heat", "priority"];
  const headings = { rank: t("rank"), street: t("street"), people_per_100m: t("perHundredShort"),
                     hours_utci_above_32: t("hoursHeat"), shade_share: "shade_share (0-1)",
                     person_hours_heat: t("personHours"), priority: t("priorityValue") };
  const text = toCsv(rows, columns, headings);
  app.lastCsv = text;
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
  a.download = `machi-${m.name}-priority-${app.state.scenario}.csv`;
  document.body.appendChild(a);
  a.click();
  a.remove();
}

/** Fly to a segment of the priority list, outline it and select it (the details panel
 * opens once its street tile is loaded). */
export async function flyToSegment(id) {
  const data = await priorityData();
  const segment = data && data.segments[id];
  if (!segment) return;
  const v = app.viewer, s = app.state;
  s.selected = String(id);
  app.picked = null;
  if (app.segmentOutline) v.entities.remove(app.segmentOutline);
  app.segmentOutline = v.entities.add({
    polyline: { positions: Cesium.Cartesian3.fromDegreesArray(segment.line.flat()), width: 6, clampToGround: true,
                material: Cesium.Color.fromCssColorString(HIGHLIGHT) },
  });
  const [lon, lat] = segment.mid;
  const ground = app.manifest.view.centre[2];
  app.flying = true;
  await new Promise((resolve) => v.camera.flyTo({
    destination: Cesium.Cartesian3.fromDegrees(lon, lat - 0.0022, ground + 260),
    orientation: { heading: 0, pitch: Cesium.Math.toRadians(-50), roll: 0 },
    duration: 1.2, complete: resolve, cancel: resolve,
  }));
  app.flying = false;
  app.flownTo = { id: String(id), lon, lat };
  await app.reapply();
}

function renderAbout(panel) {
  const m = app.manifest, about = m.about || {};
  panel.replaceChildren(closeButton());
  const section = (title, ...nodes) => {
    const h = document.createElement("h3");
    h.textContent = title;
    panel.append(h, ...nodes);
  };
  const para = (text, id) => {
    const p = document.createElement("p");
    p.textContent = text;
    if (id) p.id = id;
    return p;
  };
  const h = document.createElement("h2");
  h.textContent = t("about");
  panel.appendChild(h);
  section(t("method"), para(t("aboutMethod")));
  const sources = document.createElement("ul");
  sources.id = "aboutSources";
  for (const season of m.seasons) {
    if (!season.weather) continue;
    const li = document.createElement("li");
    li.textContent = `${t("weatherOf")} · ${word(season.label)}: ${word(season.weather.label)} — ${season.weather.source}; `
      + `${word(season.weather.radiation_label)} (${season.weather.radiation})`;
    sources.appendChild(li);
  }
  const flow = m.layers.flow;
  if (flow) {
    const li = document.createElement("li");
    const names = (flow.sources || []).map((x) => x.source).join(", ");
    const covered = m.scenarios.filter((sc) => flow.covered[sc.name]).map((sc) => `${sc.season}_${sc.slot}`);
    li.textContent = `${t("flowSource")}: ${word(flow.publisher)}${names ? ` (${names})` : ""} · ${t("flowBasis")}: `
      + `${word(flow.basis)} · ${t("dayType")}: ${t(`day_${flow.day_type}`)} · ${covered.length}/${m.scenarios.length} `
      + `${t("scenario")}`;
    sources.appendChild(li);
  }
  section(t("sources"), sources);
  const dates = m.seasons.map((season) => `${word(season.label)} ${season.date}`).join(" · ");
  section(t("dates"), para(dates));
  section(t("caveats"), para(t("aboutCaveats")));
  if (about.report) {
    const a = document.createElement("a");
    a.href = resolveUrl(about.report);
    a.id = "reportLink";
    a.target = "_blank";
    a.rel = "noopener";
    a.textContent = t("openReport");
    panel.appendChild(a);
  }
}

function closeButton() {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "close";
  b.setAttribute("aria-label", t("close"));
  b.textContent = "×";
  b.addEventListener("click", () => { app.state.panel = null; app.reapply(); });
  return b;
}
