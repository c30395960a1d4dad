// The legend box and the details panel: what a click on a street ("Why this score"), a
// building, a people-flow cell or a use district shows. Browser only.
import { ATTRIBUTE_LABELS } from "./i18n.js";
import { fmt, fmtAttribute, rawMeasures } from "./format.js";
import { HIGHLIGHT, NO_DATA, displayValue, legendColour, legendItems, rampGradient } from "./legends.js";
import { $, row, t, word } from "./dom.js";
import { app } from "./state.js";

/** The legends of what the view shows, with units, the "no data" swatch and, for people
 * flow, a note when the data do not cover the scenario's slot. */
export function renderLegend() {
  const m = app.manifest, s = app.state;
  const box = $("legend");
  box.replaceChildren();
  for (const legend of legendItems(m, s)) {
    const h = document.createElement("h3");
    h.textContent = `${word(legend.title)} [${word(legend.units)}]`;
    box.appendChild(h);
    if (legend.kind === "categories") {
      const ul = document.createElement("ul");
      for (const c of legend.categories) {
        const li = document.createElement("li");
        li.innerHTML = `<span class="swatch" style="background:${c.colour}"></span>`;
        li.append(word(c.label));
        li.dataset.value = c.value;
        ul.appendChild(li);
      }
      box.appendChild(ul);
    } else {
      const ramp = document.createElement("div");
      ramp.className = "ramp";
      ramp.style.background = rampGradient(legend);
      const ticks = document.createElement("div");
      ticks.className = "ticks";
      const shown = (v) => fmt(displayValue(legend, v), 1);
      ticks.innerHTML = `<span>${shown(legend.min)}</span><span>${shown((legend.min + legend.max) / 2)}</span><span>${shown(legend.max)}</span>`;
      ramp.dataset.min = String(legend.min);
      ramp.dataset.max = String(legend.max);
      box.append(ramp, ticks);
    }
    if (m.layers.flow && legend.title === m.legends[m.layers.flow.legend].title) {
      // what a prism is: the source, the population's basis and day type
      const basis = document.createElement("div");
      basis.className = "note";
      basis.id = "flowBasis";
      basis.textContent = `${word(m.layers.flow.publisher)} · ${word(m.layers.flow.basis)} · ${t(`day_${m.layers.flow.day_type}`)}`;
      box.appendChild(basis);
    }
    if (legend === m.legends[(m.layers.flow || {}).legend] && m.layers.flow && !m.layers.flow.covered[s.scenario]) {
      const note = document.createElement("div");
      note.className = "note";
      note.id = "flowNoData";
      note.textContent = t("noDataSlot");
      box.appendChild(note);
    }
    if (legend.domains) {  // a domain per scenario: the switch to one domain across them
      const label = document.createElement("label");
      label.className = "inline note";
      const box_ = document.createElement("input");
      box_.type = "checkbox";
      box_.className = "fixedDomain";
      box_.checked = !!s.fixedDomain;
      box_.addEventListener("change", () => { s.fixedDomain = box_.checked; app.reapply(); });
      label.append(box_, t("fixedDomain"));
      box.appendChild(label);
    }
    if (legend.no_data !== false) {
      const nd = document.createElement("div");
      nd.className = "note";
      nd.innerHTML = `<span class="swatch" style="background:${NO_DATA}"></span>`;
      nd.append(t("noData"));
      box.appendChild(nd);
    }
  }
  if (s.selected && m.layers.streets && s.layers.streets) {
    const sel = document.createElement("div");
    sel.className = "note";
    sel.innerHTML = `<span class="swatch" style="background:${HIGHLIGHT}"></span>`;
    sel.append(t("selected"));
    box.appendChild(sel);
  }
}

// ---------------------------------------------------------------------------- details panel
export function clearInfo() {
  app.picked = null;
  if (app.state) app.state.selected = null;
  $("infoBody").replaceChildren();
  $("closeInfo").hidden = true;
  $("info").classList.add("empty");
  if (app.highlight) { app.viewer.scene.primitives.remove(app.highlight); app.highlight = null; }
}
function showPanel() {
  $("closeInfo").hidden = false;
  $("info").classList.remove("empty");
}
function layerOf(feature) {
  for (const [key, tileset] of Object.entries(app.tilesets)) if (feature.tileset === tileset) return key.split(":")[0];
  return null;
}
function property(feature, variable, scenario) {
  const sep = app.manifest.layers.streets.separator;
  const v = feature.getProperty(`${variable}${sep}${scenario}`);
  return v === undefined ? feature.getProperty(variable) : v;
}

/** The measure behind each component of the scenario, shown next to its scaled value:
 * [property, digits, unit, scale] (a share shown in %). The network components' measures
 * (access, mix, intersections) are the same in every scenario: viewer.json
 * `layers.streets.raw` names them with their units in both languages (rawMeasures). */
const RAW_MEASURES = {
  c_shade: ["shade_share", 0, "%", 100], c_thermal: ["utci_mean_c", 1, "°C", 1],
  c_width: ["width_m", 1, "m", 1], c_slope: ["slope_max_pct", 1, "%", 1],
};

/** The score's formula with this street's numbers: 100 x c_thermal x weighted mean (gate),
 * or 100 x weighted mean; null when a needed value is missing. */
export function scoreFormula(components, values) {
  let sum = 0, weights = 0, gate = null;
  for (const c of components) {
    const v = values[c.id];
    if (c.multiplies) { gate = v; continue; }
    if (!c.weight || v === null || v === undefined) continue;
    sum += c.weight * v;
    weights += c.weight;
  }
  if (!weights) return null;
  const mean = sum / weights;
  const gated = components.some((c) => c.multiplies);
  if (gated && (gate === null || gate === undefined)) return null;
  return { mean, gate: gated ? gate : null, score: 100 * mean * (gated ? gate : 1) };
}

/** "Why this score": a street's name, score, class, the formula with its numbers, the
 * components with their weights, scaled values and measures, facts and its score in
 * every scenario. The street is highlighted and kept in the URL (`state.selected`). */
export function showStreet(feature) {
  const m = app.manifest, s = app.state, scenario = s.scenario;
  const classLegend = m.legends.class;
  const cls = property(feature, "class", scenario);
  const info = {
    layer: "streets", feature, id: feature.getProperty("feature_id"), scenario,
    score: property(feature, "score", scenario), class: cls,
    shade_share: property(feature, "shade_share", scenario),
    people_per_100m: property(feature, "people_per_100m", scenario),
    width_m: feature.getProperty("width_m"), slope_max_pct: feature.getProperty("slope_max_pct"),
    name: feature.getProperty("name") || "", components: {}, byScenario: {},
  };
  // a component no segment of this tile has is absent from its table: no value, not zero
  for (const c of m.components) info.components[c.id] = property(feature, c.id, scenario) ?? null;
  for (const sc of m.scenarios) info.byScenario[sc.name] = property(feature, "score", sc.name);
  app.picked = info;
  s.selected = String(info.id);
  const body = $("infoBody");
  body.replaceChildren();
  const h = document.createElement("h2");
  h.textContent = `${t("whyScore")}: ${fmt(info.score, 1)}`;
  h.dataset.score = String(info.score);
  body.appendChild(h);
  if (info.name) {
    const name = document.createElement("p");
    name.id = "streetName";
    name.textContent = info.name;
    body.appendChild(name);
  }
  const cat = classLegend.categories.find((c) => c.value === cls);
  const p = document.createElement("p");
  p.innerHTML = `<span class="swatch" style="display:inline-block;width:12px;height:12px;background:${cat ? cat.colour : NO_DATA}"></span> `;
  p.append(cat ? word(cat.label) : t("noData"));
  body.appendChild(p);
  // the formula, in words and with this street's numbers
  const formula = document.createElement("p");
  formula.id = "scoreFormula";
  formula.className = "formula";
  const gated = m.components.some((c) => c.multiplies);
  const numbers = scoreFormula(m.components, info.components);
  formula.textContent = `${t("formula")}: ${t(gated ? "formulaGate" : "formulaWeight")}`;
  if (numbers) {
    const line = document.createElement("div");
    line.textContent = gated
      ? `= 100 × ${fmt(numbers.gate, 2)} × ${fmt(numbers.mean, 2)} = ${fmt(numbers.score, 1)}`
      : `= 100 × ${fmt(numbers.mean, 2)} = ${fmt(numbers.score, 1)}`;
    formula.appendChild(line);
  }
  body.appendChild(formula);
  const table = document.createElement("table");
  table.id = "components";
  const head = table.insertRow();
  for (const x of [t("component"), t("weight"), t("scaled"), t("raw")]) head.insertCell().textContent = x;
  for (const c of m.components) {
    const value = info.components[c.id];
    const bar = document.createElement("div");
    bar.className = "bar";
    bar.title = fmt(value, 3);
    bar.innerHTML = `<span style="width:${Math.round(100 * (value || 0))}%"></span>`;
    // a gate multiplies the weighted mean of the others (viewer.json "thermal_rule": "gate")
    // a weight of 0 (shade, when thermal comfort gates the score) is no part of the score: say so
    const r = row(table, word(c.label), c.multiplies ? `× (${t("multiplies")})` : c.weight ? fmt(c.weight, 2)
      : t("notInScore"));
    r.dataset.component = c.id;
    r.dataset.value = value === undefined || value === null ? "" : String(value);
    const cell = r.insertCell();
    cell.append(bar, value === null || value === undefined ? t("noData") : fmt(100 * value, 0));
    const raw = RAW_MEASURES[c.id];
    const measured = raw ? property(feature, raw[0], scenario) : undefined;
    const rawCell = r.insertCell();
    rawCell.className = "raw";
    rawCell.textContent = raw && measured !== undefined && measured !== null
      ? `${fmt(measured * raw[3], raw[1])} ${raw[2]}`
      : rawMeasures(m.layers.streets.raw, c.id, (name) => feature.getProperty(name), word);
  }
  body.appendChild(table);
  const facts = document.createElement("table");
  row(facts, t("shadeShare"), info.shade_share === undefined || info.shade_share === null
    ? t("noData") : `${fmt(100 * info.shade_share, 0)} %`);
  row(facts, t("peopleFlow"), info.people_per_100m === undefined || info.people_per_100m === null
    ? t("noData") : `${fmt(info.people_per_100m, 1)} ${t("perHundred")}`);
  row(facts, t("width"), `${fmt(info.width_m, 1)} m`);
  row(facts, t("slope"), `${fmt(info.slope_max_pct, 1)} %`);
  const side = property(feature, "side", scenario);
  if (side) row(facts, t("walkedSide"), t(`side_${side}`));
  const shown = (x) => x.startsWith("utci") || x.startsWith("tmrt") || x === "score_percentile"
    || x === "hours_utci_above_32";
  for (const v of m.layers.streets.variables.filter(shown)) {
    const legend = m.legends[v];
    const value = property(feature, v, scenario);
    const hit = legend && legend.kind === "categories" ? legend.categories.find((c) => c.value === value) : null;
    const text = hit ? word(hit.label) : legend && legend.kind === "categories" ? t("noData")
      : `${fmt(value, 1)} ${legend ? word(legend.units) : ""}`;
    const r = row(facts, word(legend ? legend.title : v), text);
    r.dataset.variable = v;
  }
  row(facts, "ID", String(info.id));
  body.appendChild(facts);
  body.appendChild(scenarioChart(info.byScenario));
  showPanel();
}
function scenarioChart(byScenario) {
  // A small bar chart: seasons as groups, slots as bars, current scenario outlined.
  const m = app.manifest, w = 300, h = 120, pad = 18;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("width", w);
  svg.setAttribute("height", h + 30);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", t("scoreByScenario"));
  const title = document.createElementNS(svg.namespaceURI, "text");
  title.setAttribute("x", 0); title.setAttribute("y", 11); title.setAttribute("fill", "#ccc"); title.setAttribute("font-size", 11);
  title.textContent = t("scoreByScenario");
  svg.appendChild(title);
  const n = m.scenarios.length, bw = (w - pad) / n;
  m.scenarios.forEach((sc, i) => {
    const v = byScenario[sc.name];
    const bh = v === undefined || v === null ? 0 : (v / 100) * (h - pad);
    const rect = document.createElementNS(svg.namespaceURI, "rect");
    rect.setAttribute("x", pad + i * bw + 1); rect.setAttribute("width", bw - 2);
    rect.setAttribute("y", h - bh); rect.setAttribute("height", bh);
    rect.setAttribute("fill", legendColour(m.legends.score, v));
    if (sc.name === app.state.scenario) { rect.setAttribute("stroke", "#fff"); rect.setAttribute("stroke-width", 2); }
    const tip = document.createElementNS(svg.namespaceURI, "title");
    tip.textContent = `${sc.name}: ${fmt(v, 1)}`;
    rect.appendChild(tip);
    svg.appendChild(rect);
  });
  m.seasons.forEach((season, k) => {
    const idx = m.scenarios.findIndex((sc) => sc.season === season.name);
    const label = document.createElementNS(svg.namespaceURI, "text");
    label.setAttribute("x", pad + idx * bw); label.setAttribute("y", h + 12 + (k % 2) * 11);
    label.setAttribute("fill", "#ccc"); label.setAttribute("font-size", 10);
    label.textContent = word(season.label);
    svg.appendChild(label);
  });
  return svg;
}

/** A building's attributes with PLATEAU labels and the scenario's shade figures. */
function showBuilding(feature) {
  const lang = app.state.lang, labels = ATTRIBUTE_LABELS[lang], scenario = app.state.scenario;
  const props = {};
  for (const id of feature.getPropertyIds()) props[id] = feature.getProperty(id);
  app.picked = { layer: "buildings", id: props.feature_id, properties: props };
  const body = $("infoBody");
  body.replaceChildren();
  const h = document.createElement("h2");
  h.textContent = t("building");
  body.appendChild(h);
  const table = document.createElement("table");
  const order = Object.keys(labels).filter((k) => k in props);
  for (const key of order) {
    if (props[key] === undefined || props[key] === null || props[key] === "") continue;
    row(table, labels[key], fmtAttribute(key, props[key], 2));
  }
  // this scenario's shade figures and walk score (properties named <name>_<scenario>)
  for (const base of ["roof_shade_hours", "surround_shade_hours", "walk_score", "walk_class"]) {
    const v = props[`${base}_${scenario}`];
    if (v === undefined || v === null || v === "") continue;
    const cat = base === "walk_class" ? app.manifest.legends.class.categories.find((c) => c.value === v) : null;
    row(table, labels[base], cat ? word(cat.label) : fmt(v, 2));
  }
  body.appendChild(table);
  showPanel();
}

/** A scenario as planners name it: season, slot and its hours. */
function scenarioWords(name) {
  const m = app.manifest, sc = m.scenarios.find((x) => x.name === name);
  if (!sc) return String(name);
  const season = m.seasons.find((x) => x.name === sc.season), slot = m.slots.find((x) => x.name === sc.slot);
  return `${word(season.label)} ${word(slot.label)} (${sc.start}–${sc.end})`;
}

/** A people-flow mesh cell's population in the scenario (or "no data" for the slot). */
function showFlowCell(feature) {
  const m = app.manifest;
  const has = feature.getProperty("has_data");
  const population = feature.getProperty("population");
  app.picked = { layer: "flow", meshcode: feature.getProperty("meshcode"), population: has ? population : null,
                 scenario: feature.getProperty("scenario") };
  const body = $("infoBody");
  body.replaceChildren();
  const h = document.createElement("h2");
  h.textContent = `${t("flowCell")} ${feature.getProperty("meshcode")}`;
  body.appendChild(h);
  const table = document.createElement("table");
  row(table, t("scenario"), scenarioWords(feature.getProperty("scenario")));
  row(table, t("dayType"), t(`day_${m.layers.flow.day_type}`));
  row(table, t("flowBasis"), word(m.layers.flow.basis));
  row(table, t("population"), has ? `${fmt(population, 0)} ${word(m.legends[m.layers.flow.legend].units)}` : t("noDataSlot"));
  body.appendChild(table);
  showPanel();
}

/** A use district (用途地域): its class in both languages, rates and notification. */
function showUseDistrict(p) {
  const m = app.manifest, lang = app.state.lang;
  const label = lang === "ja" ? p.label_ja : p.label_en, other = lang === "ja" ? p.label_en : p.label_ja;
  app.picked = { layer: "use_districts", id: p.id, code: p.code, label_ja: p.label_ja, label_en: p.label_en,
                 floor_area_rate: p.floor_area_rate, building_coverage_rate: p.building_coverage_rate };
  const body = $("infoBody");
  body.replaceChildren();
  const h = document.createElement("h2");
  h.textContent = `${t("useDistrict")}: ${label}`;
  body.appendChild(h);
  const colour = legendColour(m.legends[m.layers.use_districts.legend], p[m.layers.use_districts.property]);
  const swatch = document.createElement("p");
  swatch.innerHTML = `<span class="swatch" style="display:inline-block;width:12px;height:12px;background:${colour}"></span> `;
  swatch.append(label);
  body.appendChild(swatch);
  const table = document.createElement("table");
  table.id = "useDistrictFacts";
  const percent = (v) => (v === undefined || v === null ? t("noData") : `${fmt(v * 100, 0)} %`);
  row(table, t("useDistrict"), label);
  row(table, lang === "ja" ? "Use district" : "用途地域", other);
  row(table, t("floorAreaRate"), percent(p.floor_area_rate)).dataset.value = String(p.floor_area_rate);
  row(table, t("coverageRate"), percent(p.building_coverage_rate)).dataset.value = String(p.building_coverage_rate);
  for (const [key, word_] of [["custodian", "custodian"], ["valid_from", "validFrom"],
                              ["notification_number", "notificationNumber"], ["code", "code"]]) {
    if (p[key] !== undefined && p[key] !== null) row(table, t(word_), String(p[key]));
  }
  row(table, "ID", String(p.id));
  body.appendChild(table);
  showPanel();
}

/** The details of what is at screen `position` (a click); the panel closes on empty ground. */
export function onClick(position) {
  const picked = app.viewer.scene.pick(position);
  if (picked && picked.id instanceof Cesium.Entity && picked.id.machiUseDistrict) {
    showUseDistrict(picked.id.machiUseDistrict);
    app.picked.view = viewKey(app.state);
    return;
  }
  if (!(picked instanceof Cesium.Cesium3DTileFeature)) { clearInfo(); app.reapply(); return; }
  const layer = layerOf(picked);
  if (layer === "streets") { showStreet(picked); app.reapply(); return; }  // restyle: the street highlighted
  if (layer === "buildings") showBuilding(picked);
  else if (layer === "flow") showFlowCell(picked);
  else { clearInfo(); app.reapply(); return; }
  app.picked.view = viewKey(app.state);
}

/** What a building, flow-cell or use-district panel depends on: when it changes the panel
 * is stale and closes (a street's panel is redrawn for the new view instead). */
export function viewKey(s) {
  return JSON.stringify([s.scenario, s.compareWith, s.compare, s.layers, s.buildingsBy, s.lang]);
}
