// Write -> browser pixels (bench/serve/run.py): the page of a running `wangge serve` in
// Debian's chromium (headless, puppeteer-core), centred on a cell with no open matter; an
// overdue matter is reported in that cell through the API and the time until the page's
// status overlay shows the cell in the overdue colour is measured, several cells in turn.
// The colour is read in the page at every animation frame from the overlay layer's canvas
// (OpenLayers' layer.getData): what the browser composes onto the screen, without the
// hundreds of milliseconds a screenshot per poll would add. tests/serve/e2e.mjs checks the
// same change on real screenshots.
//   node pixels.mjs BASE_URL TOKEN STYLE_DIR NODE_MODULES [ROUNDS]
// Prints one JSON line: {"ms": [...], "event_ms": [...], "ack_ms": [...], "cells": [...]},
// times from sending the report.
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [base, token, styleDir, nodeModules, roundsText] = process.argv.slice(2);
const rounds = Number(roundsText || 5);
const require = createRequire(join(nodeModules, 'x.js'));
const puppeteer = require('puppeteer-core');
const getJSON = async (path) => (await fetch(base + path)).json();

// The overdue fill of the style and its opacity: the overlay's pixel over an overdue cell.
const params = readFileSync(join(styleDir, 'params.ent'), 'utf8');
const entity = (name) => params.match(new RegExp(`<!ENTITY ${name} "([^"]+)"`))[1];
const fill = [1, 3, 5].map((i) => parseInt(entity('overdue').slice(i, i + 2), 16));
const alpha = Number(entity('overdue_opacity'));

// Cells with no open matter now, and two points inside each: where the matter is reported
// (its pin is drawn there) and, a third of the cell's width away, where the colour is read.
const health = await getJSON('/api/health');
const now = health.now;
const cells = (await getJSON('/api/cells')).features.filter((f) => f.properties.status === 'none');
const picks = [];
for (const c of cells) {
  if (picks.length >= rounds) break;
  const ring = c.geometry.coordinates[0][0];
  const xs = ring.map((p) => p[0]), ys = ring.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const cy = (y0 + y1) / 2;
  const at = [x0 + (x1 - x0) * 0.33, cy], sample = [x0 + (x1 - x0) * 0.67, cy];
  const inCell = async (p) => (await getJSON(`/api/locate?lon=${p[0]}&lat=${p[1]}`)).code === c.properties.code;
  if ((await inCell(at)) && (await inCell(sample))) picks.push({ code: c.properties.code, at, sample });
}

const profile = mkdtempSync(join(tmpdir(), 'wangge-bench-chromium-'));
const browser = await puppeteer.launch({
  executablePath: '/usr/bin/chromium', headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`],
});
const out = { ms: [], event_ms: [], tile_ms: [], ack_ms: [], cells: [] };
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 800 });
  const settled = 'window.wangge && window.wangge.ready && window.wangge.tilesLoading === 0 && window.wangge.tilesLoaded > 0';
  for (const [i, p] of picks.entries()) {
    await page.goto(`${base}/?lon=${p.sample[0]}&lat=${p.sample[1]}&z=15`, { waitUntil: 'load' });
    await page.waitForFunction(settled, { timeout: 60000 });
    await new Promise((r) => setTimeout(r, 300));
    // In the page, at every animation frame: when the change event is applied, when the
    // overlay's pixels at the sample point turn overdue.
    await page.evaluate(([lon, lat, fill, alpha]) => {
      const w = window.wangge, e0 = w.events, l0 = w.tilesLoaded;
      const layer = window.wanggeMap.getLayers().getArray().find((l) => l.getZIndex() === 2);
      const b = (window.__bench = {});
      const red = () => {
        const p = window.wanggePixelOf(lon, lat);
        const px = [];
        for (let dx = -2; dx <= 2; dx++)
          for (let dy = -2; dy <= 2; dy++) {
            const d = layer.getData([p[0] + dx, p[1] + dy]);
            if (d) px.push(d);
          }
        if (px.length < 13) return false;
        const med = [0, 1, 2, 3].map((k) => px.map((d) => d[k]).sort((a, c) => a - c)[px.length >> 1]);
        b.last = med;
        // The overdue hue (red and blue well above green, as the style's fill), opaque enough;
        // not the exact fill: a label's halo or the hatch may sit on the sample point.
        const hue = fill[0] - fill[1] > 40 && fill[2] - fill[1] > 40;
        return hue && med[3] >= alpha * 255 - 60 && med[0] - med[1] > 30 && med[2] - med[1] > 30;
      };
      b.before = red();
      const tick = () => {
        if (!b.event && w.events > e0) b.event = Date.now();
        if (b.event && !b.tile && w.tilesLoaded > l0) b.tile = Date.now();
        if (!b.red && red()) b.red = Date.now();
        if (!b.red) requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    }, [p.sample[0], p.sample[1], fill, alpha]);
    if (await page.evaluate(() => window.__bench.before)) continue;
    const wall0 = Date.now();
    const t0 = performance.now();
    // Reported two hours before the server's "now": overdue at once (30 minutes to dispatch).
    const t = new Date(Date.parse(now + ':00Z') - 2 * 3600e3).toISOString().slice(0, 16);
    const res = await fetch(`${base}/api/matters`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify({ category: '0101', lon: p.at[0], lat: p.at[1], at: t, note: `bench ${i}` }),
    });
    if (res.status !== 201) throw new Error(`report answered ${res.status}: ${await res.text()}`);
    const ack = performance.now() - t0;
    await page.waitForFunction('window.__bench.red', { timeout: 10000, polling: 50 }).catch(async () => {
      const last = await page.evaluate(() => JSON.stringify(window.__bench));
      await page.screenshot({ path: join(tmpdir(), 'wangge-bench-pixels.png') });
      throw new Error(`cell ${p.code} did not turn red: ${last}, expected ${fill} alpha ${alpha}`);
    });
    const marks = await page.evaluate(() => window.__bench);
    out.ms.push(marks.red - wall0);
    out.event_ms.push(marks.event ? marks.event - wall0 : null);
    out.tile_ms.push(marks.tile ? marks.tile - wall0 : null);

    out.ack_ms.push(Math.round(ack));
    out.cells.push(p.code);
  }
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify(out));
