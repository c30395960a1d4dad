// Drive the planners' viewer in headless Chromium through a list of steps and print one
// JSON object with what each step saw, every console error/warning, failed request and
// request that tried to leave 127.0.0.1.
// Usage: node viewer_session.mjs STEPS.json   (STEPS: {"viewport": [w, h], "steps": [...]})
// Steps: {"do": "goto", "url"}           open a page (a fresh one if "fresh": true) and wait until settled
//        {"do": "settle"}                wait until machi.settled() (after a change)
//        {"do": "select", "selector", "value"} / {"do": "check", "selector", "on"} / {"do": "click", "selector"}
//        {"do": "press", "key", "times"} keyboard presses; {"do": "focused"} -> id of the focused element
//        {"do": "tabs", "times"}         press Tab n times -> the ids focused one after the other
//        {"do": "eval", "js"}            evaluate an expression (its value is the result)
//        {"do": "clickAt", "lon", "lat", "h"}  click the screen point of a place
//        {"do": "lookAt", "lon", "lat", "h", "range", "pitch"}
//        {"do": "download", "selector", "path"} click and save the download to path
//        {"do": "screenshot", "path"}
// The page's window.machi is the app's test and script API (viewer/src/script_api.js).
// Env: CHROMIUM (default /usr/bin/chromium).
import { readFile, writeFile } from "node:fs/promises";
import { chromium } from "playwright-core";

const spec = JSON.parse(await readFile(process.argv[2], "utf-8"));
const result = { console: [], failedRequests: [], external: [], steps: [], error: null };
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist"],
});
const [width, height] = spec.viewport || [1000, 700];
const context = await browser.newContext({ viewport: { width, height }, acceptDownloads: true,
                                           locale: spec.locale || "en-US" });
let page = null;

async function openPage() {
  const p = await context.newPage();
  p.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") result.console.push(`${m.type()}: ${m.text()}`);
  });
  p.on("pageerror", (e) => result.console.push(`pageerror: ${e}`));
  p.on("requestfailed", (r) => {
    if (!r.url().startsWith("data:") && !r.url().startsWith("blob:")) result.failedRequests.push(`${r.url()}: ${r.failure()?.errorText}`);
  });
  p.on("response", (r) => { if (r.status() >= 400) result.failedRequests.push(`${r.url()}: HTTP ${r.status()}`); });
  await p.route("**/*", (route) => {
    const target = new URL(route.request().url());
    if (target.hostname === "127.0.0.1" || target.protocol === "data:" || target.protocol === "blob:") return route.continue();
    result.external.push(target.href);
    return route.abort();
  });
  return p;
}

async function settle(timeout = 120_000) {
  await page.waitForFunction(() => window.machi && (window.machi.error || window.machi.ready), null, { timeout });
  await page.evaluate(() => window.machi.applied && window.machi.applied());
  await page.waitForTimeout(300);
  await page.waitForFunction(() => window.machi.error || window.machi.settled(), null, { timeout, polling: 200 });
  await page.waitForTimeout(400);
}

try {
  for (const step of spec.steps) {
    const started = Date.now();
    let value = null;
    switch (step.do) {
      case "goto":
        if (!page || step.fresh) page = await openPage();
        await page.goto(step.url);
        await settle();
        break;
      case "settle": await settle(); break;
      case "select": await page.selectOption(step.selector, step.value); await settle(); break;
      case "check": await page.setChecked(step.selector, step.on); await settle(); break;
      case "click": await page.click(step.selector); await settle(); break;
      case "press":
        for (let i = 0; i < (step.times || 1); i++) await page.keyboard.press(step.key);
        await page.waitForTimeout(100);
        break;
      case "focused": value = await page.evaluate(() => document.activeElement && document.activeElement.id); break;
      case "tabs":  // press Tab n times; the id focused after each press
        value = [];
        for (let i = 0; i < step.times; i++) {
          await page.keyboard.press("Tab");
          value.push(await page.evaluate(() => document.activeElement && document.activeElement.id));
        }
        break;
      case "eval": value = await page.evaluate(step.js); break;
      case "lookAt":
        await page.evaluate((s) => window.machi.lookAt(s.lon, s.lat, s.h, s.range, s.pitch ?? -90), step);
        await page.waitForTimeout(300);
        await settle();
        break;
      case "clickAt": {
        const p = await page.evaluate((s) => window.machi.screenPosition(s.lon, s.lat, s.h), step);
        const box = await page.locator("#cesiumContainer canvas").first().boundingBox();
        await page.mouse.click(box.x + p.x, box.y + p.y);
        await page.waitForTimeout(300);
        value = p;
        break;
      }
      case "download": {
        const [download] = await Promise.all([page.waitForEvent("download"), page.click(step.selector)]);
        await download.saveAs(step.path);
        value = download.suggestedFilename();
        break;
      }
      case "screenshot": await page.screenshot({ path: step.path }); break;
      default: throw new Error(`unknown step ${step.do}`);
    }
    const error = page ? await page.evaluate(() => window.machi && window.machi.error) : null;
    const failures = page ? await page.evaluate(() => window.machi && window.machi.failures) : [];
    result.steps.push({ do: step.do, value, error, failures, ms: Date.now() - started });
  }
} catch (error) {
  result.error = String(error && error.stack ? error.stack : error);
} finally {
  await browser.close();
}
await writeFile(spec.output || "/dev/stdout", JSON.stringify(result) + "\n");
