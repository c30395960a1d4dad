import { chromium } from "playwright-core";
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist"] });
const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
page.on("response", (r) => { if (r.status() >= 400) console.log("HTTP", r.status(), r.url()); });
await page.goto(process.argv[2]);
await page.waitForFunction(() => window.machi && window.machi.ready, null, {timeout: 90000});
if (process.argv[3]) await page.evaluate(() => window.machi.lookAt(139.6236, 35.9066, 60, 300));
await page.evaluate(() => { window.qlen = []; window.frames = 0; window.machi.viewer.scene.postRender.addEventListener(() => window.frames++); window.machi.viewer.scene.globe.tileLoadProgressEvent.addEventListener((n) => window.qlen.push(n)); });
for (let i = 0; i < 6; i++) {
  await page.waitForTimeout(4000);
  console.log(JSON.stringify(await page.evaluate(() => { const s = window.machi.viewer.scene.globe._surface;
   return {loaded: window.machi.viewer.scene.globe.tilesLoaded, q: window.qlen.slice(-5), hi: s._tileLoadQueueHigh.length, med: s._tileLoadQueueMedium.length, lo: s._tileLoadQueueLow.length,
     layers: window.machi.viewer.imageryLayers.length, frames: window.frames}; })));
}
await browser.close();
