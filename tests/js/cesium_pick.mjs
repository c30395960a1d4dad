// Open the Machi viewer in headless Chromium, wait for the tileset, look down at a
// building and click it; print one JSON object with what the page saw.
// Usage: node cesium_pick.mjs VIEWER_URL LON LAT HEIGHT
// Env: CHROMIUM (default /usr/bin/chromium). Only 127.0.0.1 is reachable: any other
// request is aborted and listed in "external".
import { chromium } from "playwright-core";

const [url, lon, lat, height] = process.argv.slice(2);
const result = { console: [], external: [], steps: [] };
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist"],
});
try {
  const page = await browser.newPage({ viewport: { width: 800, height: 600 } });
  page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") result.console.push(`${m.type()}: ${m.text()}`); });
  page.on("pageerror", (e) => result.console.push(`pageerror: ${e}`));
  await page.route("**/*", (route) => {
    const target = new URL(route.request().url());
    if (target.hostname === "127.0.0.1" || target.protocol === "data:" || target.protocol === "blob:") return route.continue();
    result.external.push(target.href);
    return route.abort();
  });
  await page.goto(url);
  await page.waitForFunction(() => window.machi && (window.machi.error || (window.machi.ready && window.machi.allLoaded)),
                             null, { timeout: 90_000 });
  result.steps.push("loaded");
  await page.evaluate(([x, y, h]) => window.machi.lookDownAt(x, y, h, 150), [Number(lon), Number(lat), Number(height)]);
  await page.waitForTimeout(500);
  await page.waitForFunction(() => window.machi.error || window.machi.settled(), null, { timeout: 60_000 });
  await page.waitForTimeout(300);
  result.steps.push("looked down");
  const canvas = await page.locator("#cesiumContainer canvas").first().boundingBox();
  await page.mouse.click(canvas.x + canvas.width / 2, canvas.y + canvas.height / 2);
  await page.waitForFunction(() => window.machi.picked !== null, null, { timeout: 20_000 }).catch(() => {});
  result.steps.push("clicked");
  Object.assign(result, await page.evaluate(() => ({
    error: window.machi.error, ready: window.machi.ready, tilesLoaded: window.machi.tilesLoaded,
    failures: window.machi.failures, picked: window.machi.picked,
    info: document.getElementById("info").innerText,
  })));
} catch (error) {
  result.error = String(error);
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(result) + "\n");
