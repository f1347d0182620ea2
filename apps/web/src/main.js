// The command centre's live map: imagery and status overlay tiles from `wangge serve`,
// township/village names, clustered matter pins, a side panel of counts and reminders, a
// time slider, and live updates from /events that refresh only the affected tiles and pins.
import 'ol/ol.css';
import './style.css';
import OlMap from 'ol/Map.js';
import View from 'ol/View.js';
import TileLayer from 'ol/layer/Tile.js';
import VectorLayer from 'ol/layer/Vector.js';
import XYZ from 'ol/source/XYZ.js';
import VectorSource from 'ol/source/Vector.js';
import Cluster from 'ol/source/Cluster.js';
import GeoJSON from 'ol/format/GeoJSON.js';
import Feature from 'ol/Feature.js';
import Point from 'ol/geom/Point.js';
import { fromLonLat, toLonLat, transformExtent } from 'ol/proj.js';
import { Circle, Fill, RegularShape, Stroke, Style, Text } from 'ol/style.js';
import { getUid } from 'ol/util.js';
import { defaults as defaultControls, ScaleLine } from 'ol/control.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const STATUS_ZH = { on_time: '按时', warning: '预警', overdue: '超期', closed_on_time: '按期结案', closed_late: '超期结案' };
const STATE_ZH = {
  reported: '上报', self_handled: '自行处置', filed: '立案', rejected: '不予立案', dispatched: '派遣',
  returned: '回退', in_progress: '处置中', extended: '延期', backlog: '挂账', feedback: '反馈',
  rework: '返工', closed: '结案',
};
// The status colours: replaced at start by those of styles/params.ent (/api/palette), the
// file the map tiles and legends are drawn from; these are its values as a fallback.
const COLOURS = { on_time: '#56b4e9', warning: '#f0b000', overdue: '#990066' };

// State the end-to-end test reads: how many events were applied, tiles in flight.
const state = { at: params.get('at') || '', serverNow: '', events: 0, lastEventId: 0, tilesLoading: 0, tilesLoaded: 0, ready: false };
window.wangge = state;

const getJSON = async (url) => {
  const r = await fetch(url, { cache: 'no-store' });
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  return r.json();
};
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
const atParam = () => (state.at ? `at=${encodeURIComponent(state.at)}` : '');

// ---- Tiles -------------------------------------------------------------------------------
const tileVersion = new Map(); // "z/x/y" -> event version that changed it
const overlayUrl = (z, x, y) => {
  const q = [];
  if (state.at) q.push(atParam());
  const v = tileVersion.get(`${z}/${x}/${y}`);
  if (v) q.push(`v=${v}`);
  return `/tiles/overlay/${z}/${x}/${y}.png${q.length ? '?' + q.join('&') : ''}`;
};
const imagery = new XYZ({ url: '/tiles/imagery/{z}/{x}/{y}.jpg', minZoom: 8, maxZoom: 18, transition: 0 });
const overlay = new XYZ({
  minZoom: 8, maxZoom: 18, transition: 0,
  tileUrlFunction: (c) => overlayUrl(c[0], c[1], c[2]),
});
for (const src of [imagery, overlay]) {
  src.on('tileloadstart', () => { state.tilesLoading++; });
  src.on(['tileloadend', 'tileloaderror'], () => { state.tilesLoading--; state.tilesLoaded++; });
}
const overlayLayer = new TileLayer({ source: overlay, zIndex: 2 });

// Reloads the listed overlay tiles in place: the new image is loaded off-screen and swapped
// into the tile the map already shows, so nothing blinks.
function refreshTiles(list, version, deferred = false) {
  const renderer = overlayLayer.getRenderer();
  const cache = renderer && renderer.getTileCache ? renderer.getTileCache() : null;
  // The zoom on screen first: other zooms' cached tiles follow a moment later.
  const z = String(Math.round(view.getZoom()));
  const now = deferred ? list : list.filter((k) => k.startsWith(z + '/'));
  const later = deferred ? [] : list.filter((k) => !k.startsWith(z + '/'));
  if (later.length) setTimeout(() => refreshTiles(later, version, true), 500);
  for (const key of now) {
    tileVersion.set(key, version);
    if (!cache) continue;
    const cacheKey = `${getUid(overlay)},${overlay.getKey()},${key}`;
    if (!cache.containsKey(cacheKey)) continue; // not shown: it loads fresh when needed
    const tile = cache.peek(cacheKey);
    const [z, x, y] = key.split('/').map(Number);
    const img = new Image();
    state.tilesLoading++;
    img.onload = () => { tile.setImage(img); overlayLayer.changed(); state.tilesLoading--; state.tilesLoaded++; };
    img.onerror = () => { state.tilesLoading--; };
    img.src = overlayUrl(z, x, y);
  }
}

// ---- Pins --------------------------------------------------------------------------------
const pins = new VectorSource();
const clusters = new Cluster({ source: pins, distance: 36, minDistance: 12 });
const shapes = {
  on_time: (r) => new Circle({ radius: r, fill: new Fill({ color: COLOURS.on_time }), stroke: new Stroke({ color: '#fff', width: 2 }) }),
  warning: (r) => new RegularShape({ points: 4, radius: r * 1.25, angle: Math.PI / 4, fill: new Fill({ color: COLOURS.warning }), stroke: new Stroke({ color: '#222', width: 2 }) }),
  overdue: (r) => new RegularShape({ points: 3, radius: r * 1.5, fill: new Fill({ color: COLOURS.overdue }), stroke: new Stroke({ color: '#fff', width: 2 }) }),
};
let pulse = 0; // 0..1, advanced while overdue pins are on screen
const styleCache = {};
function pinStyle(cluster) {
  const members = cluster.get('features');
  const big = document.body.classList.contains('big') ? 1.5 : 1;
  const overdue = members.filter((f) => f.get('status') === 'overdue').length;
  if (members.length === 1) {
    const st = members[0].get('status') in shapes ? members[0].get('status') : 'on_time';
    const styles = [new Style({ image: shapes[st](7 * big), zIndex: st === 'overdue' ? 3 : 1 })];
    if (st === 'overdue') {
      // A pulsing ring: seen without telling colours apart.
      styles.unshift(new Style({ image: new Circle({ radius: (10 + 8 * pulse) * big, stroke: new Stroke({ color: `rgba(153,0,102,${1 - pulse})`, width: 3 }) }) }));
      styles.push(new Style({ text: new Text({ text: '!', font: `bold ${11 * big}px sans-serif`, fill: new Fill({ color: '#fff' }), offsetY: 2 * big }), zIndex: 4 }));
    }
    return styles;
  }
  const key = `${members.length}/${overdue > 0}/${big}/${overdue ? Math.round(pulse * 10) : 0}`;
  if (!styleCache[key]) {
    const r = (12 + Math.min(14, Math.log2(members.length) * 3)) * big;
    const s = [new Style({
      image: new Circle({ radius: r, fill: new Fill({ color: 'rgba(20,40,80,0.85)' }), stroke: new Stroke({ color: overdue ? COLOURS.overdue : '#fff', width: overdue ? 4 : 2, lineDash: overdue ? [4, 3] : undefined }) }),
      text: new Text({ text: overdue ? `${members.length}\n▲${overdue}` : String(members.length), font: `bold ${12 * big}px sans-serif`, fill: new Fill({ color: '#fff' }) }),
    })];
    if (overdue) s.unshift(new Style({ image: new Circle({ radius: r + 4 + 6 * pulse, stroke: new Stroke({ color: `rgba(153,0,102,${1 - pulse})`, width: 3 }) }) }));
    styleCache[key] = s;
  }
  return styleCache[key];
}
const pinLayer = new VectorLayer({ source: clusters, style: pinStyle, zIndex: 5 });
const geojson = new GeoJSON({ featureProjection: 'EPSG:3857' });

function setPin(m) {
  const existing = pins.getFeatureById(m.id);
  if (!m.open || m.removed) {
    if (existing) pins.removeFeature(existing);
    return;
  }
  if (existing) {
    existing.setProperties({ status: m.status, state: m.state });
    existing.getGeometry().setCoordinates(fromLonLat([m.lon, m.lat]));
  } else {
    const f = new Feature({ geometry: new Point(fromLonLat([m.lon, m.lat])), status: m.status, state: m.state });
    f.setId(m.id);
    pins.addFeature(f);
  }
}

async function loadPins() {
  const fc = await getJSON(`/api/matters?status=open${state.at ? '&' + atParam() : ''}`);
  const features = geojson.readFeatures(fc);
  pins.clear(true);
  pins.addFeatures(features);
}

// ---- Names and boundaries ------------------------------------------------------------------
const units = new VectorSource();
const unitLayer = new VectorLayer({
  source: units, zIndex: 4, declutter: true,
  style: (f, res) => {
    const level = f.get('level');
    const big = document.body.classList.contains('big') ? 1.4 : 1;
    // Township boundaries and names are drawn in the overlay tiles; villages are named here.
    if (level === 'village' && res < 12) {
      return new Style({
        text: new Text({ text: f.get('name'), font: `${12 * big}px "Noto Sans CJK SC", sans-serif`, fill: new Fill({ color: '#fff' }), stroke: new Stroke({ color: '#000', width: 2.5 }) }),
      });
    }
    return null;
  },
});

// ---- The map -------------------------------------------------------------------------------
const view = new View({ center: fromLonLat([110.93, 35.69]), zoom: 11, minZoom: 8, maxZoom: 18 });
const map = new OlMap({
  target: 'map',
  layers: [new TileLayer({ source: imagery, zIndex: 1 }), overlayLayer, unitLayer, pinLayer],
  view,
  controls: defaultControls().extend([new ScaleLine()]),
});
window.wanggeMap = map;
// For tests and the wall display's scripts: where a lon/lat is on screen.
window.wanggePixelOf = (lon, lat) => map.getPixelFromCoordinate(fromLonLat([lon, lat]));

map.on('postrender', () => {
  // Animate the pulse only while something pulses (cheap otherwise).
  if (pins.getFeatures().some((f) => f.get('status') === 'overdue')) {
    pulse = (performance.now() % 1400) / 1400;
    pinLayer.changed();
  }
});

map.on('singleclick', async (e) => {
  const hits = map.getFeaturesAtPixel(e.pixel, { layerFilter: (l) => l === pinLayer, hitTolerance: 4 });
  if (hits.length) {
    const members = hits[0].get('features');
    if (members.length > 1) {
      const ext = members.reduce((acc, f) => { const c = f.getGeometry().getCoordinates(); return [Math.min(acc[0], c[0]), Math.min(acc[1], c[1]), Math.max(acc[2], c[0]), Math.max(acc[3], c[1])]; }, [Infinity, Infinity, -Infinity, -Infinity]);
      view.fit(ext, { padding: [80, 80, 80, 80], maxZoom: 17, duration: 300 });
      return;
    }
    return showMatter(members[0].getId());
  }
  const [lon, lat] = toLonLat(e.coordinate);
  try {
    showCell(await getJSON(`/api/locate?lon=${lon}&lat=${lat}${state.at ? '&' + atParam() : ''}`));
  } catch {
    showDetails('<p>此处不在任何网格内 (outside every cell)</p>');
  }
});

function showDetails(html) {
  $('details-body').innerHTML = html;
  $('details').hidden = false;
}
$('close-details').onclick = () => { $('details').hidden = true; };

function showCell(c) {
  const holders = (c.duty_holders || []).map((h) => `<tr><td>${esc(h.function_name)}</td><td>${esc(h.department_name)}</td><td>${esc(h.person)}</td></tr>`).join('');
  const open = c.open_matters.map((m) => `<li class="${m.status}"><a href="#" data-id="${m.id}">#${m.id}</a> ${esc(m.category_name)} · ${STATE_ZH[m.state] || m.state} · <b>${STATUS_ZH[m.status] || m.status}</b> · 期限 due ${esc(m.due || '-')}</li>`).join('');
  const t = c.territorial_holder;
  showDetails(`<h3>网格 Cell ${esc(c.code)}</h3><p>${esc(c.name)}<br>${esc(c.township_name)} · ${esc(c.village_name)}<br>
    状态 status: <b class="${c.status}">${STATUS_ZH[c.status] || '无在办 none open'}</b> · 户数 households ${c.households}</p>
    <p>网格员/属地责任人 grid worker (territorial holder): <b>${esc(t ? t.person : '-')}</b>${t ? ' · ' + esc(t.department_name) : ''}</p>
    <h4>在办事项 Open matters (${c.open_matters.length})</h4><ul class="matters">${open || '<li>无 none</li>'}</ul>
    <details><summary>责任人 Duty holders (${c.duty_holders.length})</summary><table>${holders}</table></details>`);
  for (const a of document.querySelectorAll('#details-body a[data-id]')) a.onclick = (ev) => { ev.preventDefault(); showMatter(a.dataset.id); };
}

async function showMatter(id) {
  const f = await getJSON(`/api/matters/${id}${state.at ? '?' + atParam() : ''}`);
  const m = f.properties;
  const journal = m.journal.map((e) => `<li><time>${esc(e.at)}</time> ${e.supervision ? '督办 supervised' : `${STATE_ZH[e.from] || e.from} → ${STATE_ZH[e.to] || e.to}`} ${esc(e.actor)} ${esc(e.department)} ${esc(e.person)} ${e.deadline ? '新期限 ' + esc(e.deadline) : ''} ${e.note ? '(' + esc(e.note) + ')' : ''}</li>`).join('');
  showDetails(`<h3>事项 Matter #${m.id}</h3><p>${esc(m.category)} ${esc(m.category_name)}<br>${esc(m.note)}</p>
    <p>状态 ${STATE_ZH[m.state] || m.state} · <b class="${m.status}">${STATUS_ZH[m.status] || m.status}</b>${m.supervised ? ' · 督办' : ''}<br>
    上报 reported ${esc(m.reported_at)} ${esc(m.reporter)}<br>期限 due ${esc(m.due || '-')}<br>
    网格 cell ${esc(m.cell)} · ${esc(m.township_name)} ${esc(m.village_name)}<br>责任 ${esc(m.department_name)} ${esc(m.person)}</p>
    <h4>流转记录 Journal</h4><ol class="journal"><li><time>${esc(m.reported_at)}</time> 上报 reported</li>${journal}</ol>`);
  view.animate({ center: f.geometry ? fromLonLat(f.geometry.coordinates) : view.getCenter(), duration: 300 });
}

// ---- Side panel ----------------------------------------------------------------------------
function rows(list) {
  return '<tr><th></th><th title="超期 overdue">▲超期</th><th title="预警 warning">■预警</th><th>在办 open</th></tr>' +
    list.filter((r) => r.open > 0).sort((a, b) => b.overdue - a.overdue || b.warning - a.warning)
      .map((r) => `<tr><td>${esc(r.name || r.code || '（无）')}</td><td class="overdue">${r.overdue}</td><td class="warning">${r.warning}</td><td>${r.open}</td></tr>`).join('');
}
let panelTimer = null;
async function loadPanel() {
  const q = state.at ? '?' + atParam() : '';
  const [s, rem] = await Promise.all([getJSON(`/api/summary${q}`), getJSON(`/api/reminders${q}`)]);
  $('totals').innerHTML = `<div class="big-number overdue">▲ ${s.overdue}<small>超期 overdue</small></div><div class="big-number warning">■ ${s.warning}<small>预警 warning</small></div><div class="big-number">${s.open}<small>在办 open</small></div>`;
  $('by-township').innerHTML = rows(s.by_township);
  $('by-department').innerHTML = rows(s.by_department);
  $('reminders').innerHTML = rem.reminders.slice(0, 50).map((m) => `<li class="${m.status}"><a href="#" data-id="${m.id}">${m.status === 'overdue' ? '▲' : '■'} #${m.id} ${esc(m.category_name)}</a><br><small>${esc(m.township_name)} · ${esc(m.department_name)} · 期限 ${esc(m.due || '-')}</small></li>`).join('') || '<li>无 none</li>';
  for (const a of document.querySelectorAll('#reminders a[data-id]')) a.onclick = (ev) => { ev.preventDefault(); showMatter(a.dataset.id); };
  state.serverNow = s.at;
  $('clock').textContent = (state.at ? '历史 history ' : '实时 live ') + s.at;
}
const schedulePanel = () => { clearTimeout(panelTimer); panelTimer = setTimeout(loadPanel, 250); };

// ---- Time ----------------------------------------------------------------------------------
const pad = (n) => String(n).padStart(2, '0');
const fmt = (d) => `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
const parse = (t) => new Date(t + 'Z'); // local wall time handled as UTC arithmetic
async function setAt(at) {
  state.at = at;
  const u = new URL(location.href);
  if (at) u.searchParams.set('at', at); else u.searchParams.delete('at');
  history.replaceState(null, '', u);
  $('attext').textContent = at ? `查看 ${at}` : '实时 live';
  $('live').classList.toggle('paused', !!at);
  tileVersion.clear();
  overlay.setTileUrlFunction((c) => overlayUrl(c[0], c[1], c[2]), at || 'live');
  await Promise.all([loadPins(), loadPanel(), loadUnits()]);
}
$('slider').oninput = () => {
  const hours = Number($('slider').value);
  $('attext').textContent = hours ? `${hours} 小时前 hours ago` : '实时 live';
};
$('slider').onchange = () => {
  const hours = Number($('slider').value);
  if (!hours) return setAt('');
  const t = new Date(parse(state.serverNow || fmt(new Date())).getTime() + hours * 3600e3);
  setAt(fmt(t));
};
$('now').onclick = () => { $('slider').value = 0; setAt(''); };
$('bigscreen').onclick = async () => {
  document.body.classList.toggle('big');
  styleCacheClear();
  if (document.body.classList.contains('big') && document.documentElement.requestFullscreen)
    await document.documentElement.requestFullscreen().catch(() => {});
  else if (document.fullscreenElement) await document.exitFullscreen().catch(() => {});
  setTimeout(() => map.updateSize(), 100);
};
function styleCacheClear() { for (const k of Object.keys(styleCache)) delete styleCache[k]; pinLayer.changed(); unitLayer.changed(); }
if (params.get('big') === '1') document.body.classList.add('big');

// The village and township outlines of the grid in force at the time looked at (before a
// redraw took effect: the old ones).
async function loadUnits() {
  const features = geojson.readFeatures(await getJSON(`/api/units?county=0${state.at ? '&' + atParam() : ''}`));
  units.clear();
  units.addFeatures(features);
}

// ---- Live updates ----------------------------------------------------------------------------
function connect() {
  const es = new EventSource('/events');
  es.addEventListener('hello', () => $('live').classList.add('on'));
  es.addEventListener('change', (e) => {
    const ev = JSON.parse(e.data);
    state.lastEventId = Number(e.lastEventId);
    if (state.at) return; // looking at the past: the live map catches up on "now"
    refreshTiles(ev.tiles, ev.version);
    for (const m of ev.matters) setPin(m);
    schedulePanel();
    state.events++;
  });
  // Events were lost (server restarted or we were away too long): reload data, not the page.
  const reload = () => { tileVersion.clear(); overlay.refresh(); loadPins(); loadPanel(); };
  es.addEventListener('reset', () => { if (!state.at) reload(); });
  // A published grid took effect: new outlines, codes and names everywhere.
  es.addEventListener('grid', () => { loadUnits(); if (!state.at) reload(); });
  es.onerror = () => $('live').classList.remove('on'); // EventSource reconnects by itself
}

async function start() {
  try {
    const palette = await getJSON('/api/palette');
    for (const k of Object.keys(COLOURS)) if (palette[k]) COLOURS[k] = palette[k];
  } catch { /* keep the fallback colours */ }
  try {
    const tj = await getJSON('/tiles/overlay.json');
    view.fit(transformExtent(tj.bounds, 'EPSG:4326', 'EPSG:3857'), { padding: [20, 20, 20, 20] });
  } catch { /* keep the default view */ }
  if (params.get('lon') && params.get('lat'))
    view.setCenter(fromLonLat([Number(params.get('lon')), Number(params.get('lat'))]));
  if (params.get('z')) view.setZoom(Number(params.get('z')));
  await setAt(state.at);
  connect();
  state.ready = true;
}
start();
