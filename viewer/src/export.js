// "Save image": a PNG of the view with the run's name, the scenario(s), the legends and a
// scale bar, offered as a download. Browser only.
import { fmt, scaleBarLength } from "./format.js";
import { legendItems } from "./legends.js";
import { setStatus, t, word } from "./dom.js";
import { app, scenarioByName } from "./state.js";

/** The scale bar at the bottom centre of the view (null when that is off the globe). */
function scaleBar() {
  // metres per 100 screen pixels at the bottom centre of the view
  const scene = app.viewer.scene, c = scene.canvas;
  const y = c.clientHeight - 40;
  const a = app.viewer.camera.pickEllipsoid(new Cesium.Cartesian2(c.clientWidth / 2 - 50, y));
  const b = app.viewer.camera.pickEllipsoid(new Cesium.Cartesian2(c.clientWidth / 2 + 50, y));
  if (!a || !b) return null;
  return scaleBarLength(Cesium.Cartesian3.distance(a, b));
}

/** Draw the view with title, legend and scale bar, download it; its data URL. */
export async function saveImage() {
  const v = app.viewer;
  v.render();
  const source = v.scene.canvas;
  const ratio = source.width / source.clientWidth;
  const out = document.createElement("canvas");
  out.width = source.width;
  out.height = source.height;
  const g = out.getContext("2d");
  g.drawImage(source, 0, 0);
  g.scale(ratio, ratio);
  const m = app.manifest, s = app.state;
  const label = (name) => {
    const sc = scenarioByName(m, name);
    const season = m.seasons.find((x) => x.name === sc.season), slot = m.slots.find((x) => x.name === sc.slot);
    return `${word(season.label)} ${word(slot.label)} (${sc.date} ${sc.start}–${sc.end})`;
  };
  // title bar
  g.fillStyle = "rgba(18,20,24,0.85)";
  g.fillRect(0, 0, source.clientWidth, 44);
  g.fillStyle = "#fff";
  g.font = "bold 16px sans-serif";
  g.fillText(`Machi · ${m.name}`, 10, 19);
  g.font = "13px sans-serif";
  g.fillText(s.compare ? `A: ${label(s.scenario)}  |  B: ${label(s.compareWith)}` : label(s.scenario), 10, 37);
  // legend, bottom left
  const items = legendItems(m, s);
  let y = source.clientHeight - 12;
  const blocks = [];
  for (const legend of items) {
    const lines = legend.kind === "categories" ? legend.categories.length + 1 : 3;
    blocks.push([legend, lines * 18 + 6]);
  }
  const total = blocks.reduce((a, [, hgt]) => a + hgt, 0);
  g.fillStyle = "rgba(18,20,24,0.85)";
  g.fillRect(8, y - total - 8, 280, total + 12);
  y -= total;
  app.legendBox = { x: 8, y: y - 8, width: 280, height: total + 12, ratio };
  for (const [legend, hgt] of blocks) {
    g.fillStyle = "#fff";
    g.font = "bold 12px sans-serif";
    g.fillText(`${word(legend.title)} [${word(legend.units)}]`, 16, y + 12);
    let yy = y + 18;
    if (legend.kind === "categories") {
      for (const c of legend.categories) {
        g.fillStyle = c.colour;
        g.fillRect(16, yy + 2, 16, 14);
        g.fillStyle = "#fff";
        g.font = "12px sans-serif";
        g.fillText(word(c.label), 38, yy + 14);
        yy += 18;
      }
    } else {
      const n = legend.stops.length, width = 240;
      legend.stops.forEach((c, i) => { g.fillStyle = c; g.fillRect(16 + (i * width) / n, yy + 2, width / n + 0.5, 14); });
      g.fillStyle = "#fff";
      g.font = "11px sans-serif";
      g.fillText(fmt(legend.min, 1), 16, yy + 30);
      g.fillText(fmt(legend.max, 1), 16 + width - 24, yy + 30);
    }
    y += hgt;
  }
  // scale bar, bottom right
  const bar = scaleBar();
  if (bar) {
    const x0 = source.clientWidth - 20 - bar.pixels, yb = source.clientHeight - 20;
    g.fillStyle = "rgba(18,20,24,0.85)";
    g.fillRect(x0 - 8, yb - 24, bar.pixels + 16, 34);
    g.fillStyle = "#fff";
    g.fillRect(x0, yb, bar.pixels, 4);
    g.font = "12px sans-serif";
    g.fillText(`${bar.metres} m`, x0, yb - 8);
  }
  const url = out.toDataURL("image/png");
  app.lastImage = url;
  const a = document.createElement("a");
  a.href = url;
  a.download = `machi-${m.name}-${s.scenario}${s.compare ? "-vs-" + s.compareWith : ""}.png`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setStatus(t("imageSaved"));
  return url;
}
