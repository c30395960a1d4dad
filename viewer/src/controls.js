// The controls panel: scenario, Play, colouring, layer toggles, shadows, compare, share.
// Browser only. A change edits the view state (state.js) and calls `apply` (main.js),
// which bindControls is given.
import { beforeAfter, hasChanges } from "./change.js";
import { $, fillSelect, setStatus, t, word, writeHash } from "./dom.js";
import { saveImage } from "./export.js";
import { clearInfo } from "./panels.js";
import { app, findScenario, nextScenario, scenarioByName } from "./state.js";

let apply = () => Promise.resolve();  // main.js's apply, set by bindControls

/** Show the view state in the controls (and the interface words in its language). */
export function renderControls() {
  const m = app.manifest, s = app.state;
  document.documentElement.lang = s.lang;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  $("play").textContent = app.playing ? t("stop") : t("play");
  $("play").setAttribute("aria-pressed", app.playing ? "true" : "false");
  $("language").value = s.lang;
  $("title").textContent = `Machi · ${m.name}`;
  const seasons = m.seasons.map((x) => [x.name, word(x.label)]);
  const slots = m.slots.map((x) => [x.name, `${word(x.label)} ${x.start}–${x.end}`]);
  const a = scenarioByName(m, s.scenario), b = scenarioByName(m, s.compareWith);
  fillSelect($("season"), seasons, a.season);
  fillSelect($("slot"), slots, a.slot);
  fillSelect($("seasonB"), seasons, b.season);
  fillSelect($("slotB"), slots, b.slot);
  for (const id of ["seasonB", "slotB", "split"]) $(id).disabled = !s.compare;
  $("compare").checked = s.compare;
  // a run with measures: the split view may show before (left) and after (right)
  $("beforeAfterRow").hidden = !hasChanges(m);
  $("beforeAfter").checked = !!s.beforeAfter;
  $("beforeAfter").disabled = !s.compare;
  if (beforeAfter(m, s)) for (const id of ["seasonB", "slotB"]) $(id).disabled = true;
  $("split").value = String(s.split);
  $("shadows").checked = s.shadows;
  $("scenarioTime").textContent = `${a.date} ${a.start}–${a.end} (${m.timezone})`;
  // the season's weather as the run made it (thermal/weather.csv): design day, normals or observations
  const weather = (m.seasons.find((x) => x.name === a.season) || {}).weather;
  $("seasonWeather").textContent = weather
    ? `${t("weather")}: ${word(weather.label)}; ${t("radiation")}: ${word(weather.radiation_label)}` : "";
  $("seasonWeather").title = weather ? `${weather.source}; ${weather.radiation}` : "";  // the forcing's own words
  fillSelect($("streetsBy"), m.street_colouring.map((o) => [o.id, word(m.legends[o.legend].title),
    o.available === false, word(o.reason)]), s.streetsBy);
  fillSelect($("buildingsBy"), m.building_colouring.map((o) => [o.id,
    o.id === "none" ? t("none") : word(m.legends[o.legend].title), o.available === false, word(o.reason)]), s.buildingsBy);
  $("streetsBy").disabled = !m.layers.streets;
  // layer toggles: every layer the app knows; those the run lacks are disabled with a reason
  const list = $("layerList");
  list.querySelectorAll("label, .reason").forEach((e) => e.remove());
  for (const id of m.layer_order) {
    const layer = m.layers[id];
    if (layer && layer.toggle === false) continue;
    const label = document.createElement("label");
    label.className = "inline";
    const box = document.createElement("input");
    box.type = "checkbox";
    box.id = `layer-${id}`;
    box.checked = !!(layer && s.layers[id]);
    box.disabled = !layer;
    box.addEventListener("change", () => { s.layers[id] = box.checked; apply(); });
    const text = document.createElement("span");
    text.textContent = t(`layer_${id}`);
    label.append(box, text);
    list.appendChild(label);
    if (!layer) {
      const reason = document.createElement("span");
      reason.className = "reason";
      reason.id = `reason-${id}`;
      reason.textContent = word((m.unavailable || {})[id]) || t("notInRun");
      box.setAttribute("aria-describedby", reason.id);
      box.title = reason.textContent;
      list.appendChild(reason);
    }
  }
}

/** Wire the controls to the view state; `applyView` shows a changed state. */
export function bindControls(applyView) {
  apply = applyView;
  const s = () => app.state;
  const pick = (seasonId, slotId, key) => {
    const sc = findScenario(app.manifest, $(seasonId).value, $(slotId).value);
    if (sc) { s()[key] = sc.name; apply(); }
  };
  $("season").addEventListener("change", () => pick("season", "slot", "scenario"));
  $("slot").addEventListener("change", () => pick("season", "slot", "scenario"));
  $("seasonB").addEventListener("change", () => pick("seasonB", "slotB", "compareWith"));
  $("slotB").addEventListener("change", () => pick("seasonB", "slotB", "compareWith"));
  $("streetsBy").addEventListener("change", (e) => { s().streetsBy = e.target.value; apply(); });
  $("buildingsBy").addEventListener("change", (e) => { s().buildingsBy = e.target.value; apply(); });
  $("shadows").addEventListener("change", (e) => { s().shadows = e.target.checked; apply(); });
  $("compare").addEventListener("change", (e) => { s().compare = e.target.checked; apply(); });
  $("beforeAfter").addEventListener("change", (e) => { s().beforeAfter = e.target.checked; apply(); });
  $("split").addEventListener("input", (e) => { s().split = Number(e.target.value); apply(); });
  $("language").addEventListener("change", (e) => { s().lang = e.target.value; apply(); });
  $("play").addEventListener("click", togglePlay);
  $("saveImage").addEventListener("click", () => saveImage());
  $("copyLink").addEventListener("click", async () => {
    writeHash();
    await navigator.clipboard?.writeText(window.location.href).catch(() => {});
    setStatus(t("linkCopied"));
  });
  // the district table and the guide panel (where to act first, about) share one place
  // on screen: opening one closes the other
  const showDistricts = (shown) => {
    $("districtPanel").hidden = !shown;
    $("toggleDistricts").setAttribute("aria-expanded", String(shown));
  };
  $("toggleDistricts").addEventListener("click", () => {
    const shown = $("districtPanel").hidden;
    showDistricts(shown);
    if (shown && s().panel) { s().panel = null; apply(); }
  });
  $("closeInfo").addEventListener("click", () => { clearInfo(); apply(); });
  for (const [button, panel] of [["togglePriority", "priority"], ["toggleAbout", "about"]]) {
    $(button).addEventListener("click", () => {
      s().panel = s().panel === panel ? null : panel;
      if (s().panel) showDistricts(false);
      apply();
    });
  }
}

/** Play: step through the slots of the season every 2.5 s; Stop. */
function togglePlay() {
  if (app.playing) {
    clearInterval(app.playing);
    app.playing = null;
  } else {
    app.playing = setInterval(() => {
      app.state.scenario = nextScenario(app.manifest, app.state.scenario);
      apply();
    }, 2500);
  }
  renderControls();
}
