// End-to-end test of the page in a real browser (Debian's chromium, headless, driven by
// puppeteer-core): open the page served by `wangge serve`, wait for the tiles, read a known
// cell's colour from a screenshot, report a matter through the API that makes that cell
// overdue, and see the page turn the cell red without a reload. Prints the latency.
//   node e2e.mjs  (env: WANGGE, WANGGE_TEST_DATA, WANGGE_CATALOGUE_DIR, WANGGE_WEB_ROOT,
//                  WANGGE_TEST_TMP, WANGGE_NODE_MODULES)
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import readline from 'node:readline';

const env = process.env;
const require = createRequire(join(env.WANGGE_NODE_MODULES, 'x.js'));
const puppeteer = require('puppeteer-core');
const tmp = join(env.WANGGE_TEST_TMP || '/tmp/wangge-test', 'serve_e2e');
rmSync(tmp, { recursive: true, force: true });
mkdirSync(tmp, { recursive: true });
const wangge = (...args) => execFileSync(env.WANGGE, args, { encoding: 'utf8' });
const fail = (msg) => { console.error('FAIL: ' + msg); process.exitCode = 1; throw new Error(msg); };

// The tiny grid (4 cells), no matters yet.
const ws = join(tmp, 'ws.gpkg');
wangge('grid', 'import', join(env.WANGGE_TEST_DATA, 'tiny_grid.geojson'), '--workspace', ws);
wangge('catalogue', 'import', ws, env.WANGGE_CATALOGUE_DIR);
wangge('duties', 'import', ws, join(env.WANGGE_TEST_DATA, 'loop_duties_tiny.csv'));
const token = 'e2e-token';
writeFileSync(join(tmp, 'token'), token + '\n');

const server = spawn(env.WANGGE, ['serve', ws, '--listen', '127.0.0.1:0', '--web-root', env.WANGGE_WEB_ROOT,
  '--token-file', join(tmp, 'token'), '--now', '2026-03-02T12:00'], { stdio: ['ignore', 'pipe', 'inherit'] });
const port = await new Promise((resolve, reject) => {
  const rl = readline.createInterface({ input: server.stdout });
  rl.once('line', (l) => { const m = l.match(/127\.0\.0\.1:(\d+)/); m ? resolve(Number(m[1])) : reject(new Error(l)); });
  server.once('exit', (c) => reject(new Error('server exited ' + c)));
});
const base = `http://127.0.0.1:${port}`;

// Cell 14082410020102 spans 110.96358-110.97593 E, 35.60988-35.61975 N: sample its middle,
// report the matter near its south-west corner (the pin is drawn there, not on the sample).
const sample = [110.96975, 35.61481];
const matterAt = [110.9650, 35.6110];

const browser = await puppeteer.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', `--user-data-dir=${join(tmp, 'chromium-profile')}`],
});
let ok = false;
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.setViewport({ width: 1280, height: 800 });
  await page.goto(`${base}/?lon=${sample[0]}&lat=${sample[1]}&z=15`, { waitUntil: 'load' });
  const settled = 'window.wangge && window.wangge.ready && window.wangge.tilesLoading === 0 && window.wangge.tilesLoaded > 0';
  await page.waitForFunction(settled, { timeout: 60000 });
  await page.evaluate(() => { window.__sameDocument = 'yes'; });

  // The colour at the sample point, read back from a real screenshot.
  const colourAt = async (file) => {
    const png = await page.screenshot({ path: file });
    const [x, y] = await page.evaluate(([lon, lat]) => {
      const p = window.wanggePixelOf(lon, lat);
      const r = document.getElementById('map').getBoundingClientRect();
      return [Math.round(r.left + p[0]), Math.round(r.top + p[1])];
    }, sample);
    return page.evaluate(async (b64, x, y) => {
      const blob = await (await fetch('data:image/png;base64,' + b64)).blob();
      const bmp = await createImageBitmap(blob);
      const c = new OffscreenCanvas(bmp.width, bmp.height).getContext('2d');
      c.drawImage(bmp, 0, 0);
      // The median of a 9 x 9 patch per channel: the overdue hatch's white lines cover a
      // minority of its pixels, so the median is the fill under them.
      const d = c.getImageData(x - 4, y - 4, 9, 9).data;
      return [0, 1, 2].map((k) => {
        const v = [];
        for (let i = k; i < d.length; i += 4) v.push(d[i]);
        v.sort((a, b) => a - b);
        return v[v.length >> 1];
      });
    }, Buffer.from(png).toString('base64'), x, y);
  };
  // The overdue fill of the style (styles/params.ent) over the cell's colour before, within
  // a tolerance of 40 per channel.
  const params = readFileSync(join(env.WANGGE_STYLE_DIR, 'params.ent'), 'utf8');
  const entity = (name) => params.match(new RegExp(`<!ENTITY ${name} "([^"]+)"`))[1];
  const hex = entity('overdue');
  const alpha = Number(entity('overdue_opacity'));
  const fill = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  let expected = null;
  const isRed = (c) => expected && c.every((v, k) => Math.abs(v - expected[k]) <= 40);

  const before = await colourAt(join(tmp, 'before.png'));
  expected = before.map((v, k) => Math.round(fill[k] * alpha + v * (1 - alpha)));
  console.log('before: cell colour', before, 'overdue would be', expected);
  if (isRed(before)) fail('the cell shows overdue before any matter was reported');

  // Report an hour-old matter (30 minutes to dispatch): overdue at the server's 12:00.
  const t0 = Date.now();
  const res = await fetch(`${base}/api/matters`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify({ category: '0101', lon: matterAt[0], lat: matterAt[1], at: '2026-03-02T11:00', note: 'e2e' }),
  });
  if (res.status !== 201) fail(`report answered ${res.status}: ${await res.text()}`);
  const acked = Date.now();
  let after = before;
  while (!isRed(after) && Date.now() - acked < 15000) after = await colourAt(join(tmp, 'after.png'));
  const latency = Date.now() - acked;
  console.log('after: cell colour', after, `red ${latency} ms after the write was acknowledged (${acked - t0} ms to acknowledge)`);
  if (!isRed(after)) fail('the cell did not turn red');
  const same = await page.evaluate(() => window.__sameDocument === 'yes' && performance.getEntriesByType('navigation').length === 1);
  if (!same) fail('the page was reloaded');
  const events = await page.evaluate(() => window.wangge.events);
  if (events < 1) fail('no change event was applied');
  // The pin of the new matter is on the map, as an overdue triangle.
  const pin = await page.evaluate(() => window.wanggeMap.getLayers().getArray().find((l) => l.getZIndex() === 5).getSource().getSource().getFeatures().map((f) => f.get('status')));
  if (!pin.includes('overdue')) fail('the new matter has no overdue pin: ' + JSON.stringify(pin));
  console.log('screenshots:', join(tmp, 'before.png'), join(tmp, 'after.png'));
  ok = true;
} finally {
  await browser.close();
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
}
if (!ok) process.exit(1);
console.log('PASS');
