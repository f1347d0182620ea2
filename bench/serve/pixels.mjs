// Write -> browser pixels (bench/serve/run.py): the page of a running `wangge serve` in
// Debian's chromium (headless, puppeteer-core), centred on a cell with no open matter; an
// overdue matter is reported in that cell through the API and the time until the page's
// screen shows the cell in the overdue colour is measured, several cells in turn.
//   node pixels.mjs BASE_URL TOKEN STYLE_DIR NODE_MODULES [ROUNDS]
// Prints one JSON line: {"ms": [...], "ack_ms": [...]}.
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [base, token, styleDir, nodeModules, roundsText] = process.argv.slice(2);
const rounds = Number(roundsText || 5);
const require = createRequire(join(nodeModules, 'x.js'));
const puppeteer = require('puppeteer-core');
const getJSON = async (path) => (await fetch(base + path)).json();

// The overdue fill of the style over whatever the cell showed before (as tests/serve/e2e.mjs).
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
const out = { ms: [], ack_ms: [], cells: [] };
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 800 });
  const settled = 'window.wangge && window.wangge.ready && window.wangge.tilesLoading === 0 && window.wangge.tilesLoaded > 0';
  // The median colour of a 9 x 9 patch around a lon/lat, from a screenshot of just that patch.
  const colourAt = async (lonlat) => {
    const [x, y] = await page.evaluate(([lon, lat]) => {
      const p = window.wanggePixelOf(lon, lat);
      const r = document.getElementById('map').getBoundingClientRect();
      return [Math.round(r.left + p[0]), Math.round(r.top + p[1])];
    }, lonlat);
    const png = await page.screenshot({ clip: { x: x - 4, y: y - 4, width: 9, height: 9 } });
    return page.evaluate(async (b64) => {
      const bmp = await createImageBitmap(await (await fetch('data:image/png;base64,' + b64)).blob());
      const c = new OffscreenCanvas(bmp.width, bmp.height).getContext('2d');
      c.drawImage(bmp, 0, 0);
      const d = c.getImageData(0, 0, bmp.width, bmp.height).data;
      return [0, 1, 2].map((k) => {
        const v = [];
        for (let i = k; i < d.length; i += 4) v.push(d[i]);
        v.sort((a, b) => a - b);
        return v[v.length >> 1];
      });
    }, Buffer.from(png).toString('base64'));
  };
  for (const [i, p] of picks.entries()) {
    await page.goto(`${base}/?lon=${p.sample[0]}&lat=${p.sample[1]}&z=15`, { waitUntil: 'load' });
    await page.waitForFunction(settled, { timeout: 60000 });
    await new Promise((r) => setTimeout(r, 300));
    const before = await colourAt(p.sample);
    const expected = before.map((v, k) => Math.round(fill[k] * alpha + v * (1 - alpha)));
    const isRed = (c) => c.every((v, k) => Math.abs(v - expected[k]) <= 40);
    if (isRed(before)) continue;
    // Reported two hours before the server's "now": overdue at once (30 minutes to dispatch).
    const t = new Date(Date.parse(now + ':00Z') - 2 * 3600e3).toISOString().slice(0, 16);
    const t0 = performance.now();
    const res = await fetch(`${base}/api/matters`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify({ category: '0101', lon: p.at[0], lat: p.at[1], at: t, note: `bench ${i}` }),
    });
    if (res.status !== 201) throw new Error(`report answered ${res.status}: ${await res.text()}`);
    const ack = performance.now() - t0;
    let c = before;
    while (!isRed(c) && performance.now() - t0 < 10000) c = await colourAt(p.sample);
    if (!isRed(c)) throw new Error(`cell ${p.code} did not turn red`);
    out.ms.push(Math.round(performance.now() - t0));
    out.ack_ms.push(Math.round(ack));
    out.cells.push(p.code);
  }
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify(out));
