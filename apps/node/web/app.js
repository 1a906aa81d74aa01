// hearsay's web interface: one page, five views, driven through the node's API (the control
// protocol's events as JSON). Everything a peer sent (file names above all) is put into the
// page as text (textContent), never as HTML.
'use strict';

const csrf = document.querySelector('meta[name="csrf"]').content;

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function showError(text) {
  const p = document.getElementById('error');
  p.textContent = text || '';
  p.hidden = !text;
}

function bytes(n) {
  n = Number(n) || 0;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n.toFixed(0) : n.toFixed(1)) + ' ' + units[i];
}

async function api(path, body) {
  const options = body === undefined ? {} : {
    method: 'POST',
    headers: {'X-Hearsay-Token': csrf, 'Content-Type': 'application/json'},
    body: JSON.stringify(body),
  };
  const res = await fetch(path, options);
  let events = [];
  try { events = await res.json(); } catch (e) { events = [{event: 'end', ok: false, error: 'HTTP ' + res.status}]; }
  const end = events.length ? events[events.length - 1] : {ok: false, error: 'no answer'};
  if (!end.ok) showError(end.error || ('HTTP ' + res.status)); else showError('');
  return {events: events.filter(e => e.event !== 'end'), end: end};
}

// ---- views -------------------------------------------------------------------------------------

const pages = ['search', 'downloads', 'shared', 'peers', 'status'];
function show(page) {
  for (const p of pages) {
    document.getElementById('page-' + p).hidden = p !== page;
  }
  for (const b of document.querySelectorAll('nav .tab')) b.classList.toggle('active', b.dataset.page === page);
  if (page === 'shared') loadShared();
  if (page === 'peers') loadPeers();
}
for (const b of document.querySelectorAll('nav .tab')) b.addEventListener('click', () => show(b.dataset.page));

// ---- search --------------------------------------------------------------------------------------

let hits = [];
let sortKey = 'n', sortUp = true;
let searchStream = null;

function drawHits() {
  const rows = hits.slice().sort((a, b) => {
    const x = a[sortKey], y = b[sortKey];
    const c = (typeof x === 'number' && typeof y === 'number') ? x - y : String(x).localeCompare(String(y));
    return sortUp ? c : -c;
  });
  const body = document.querySelector('#hits tbody');
  body.replaceChildren();
  for (const h of rows) {
    const tr = el('tr');
    tr.append(el('td', h.n, 'num'), el('td', h.name, 'name'), el('td', bytes(h.size), 'num'),
              el('td', h.holders, 'num'), el('td', h.latency_ms === '' ? '' : h.latency_ms, 'num'),
              el('td', String(h.sha256).slice(0, 12), 'hash'));
    const td = el('td');
    const b = el('button', 'Fetch', 'fetch');
    b.addEventListener('click', async () => {
      b.disabled = true;
      const r = await api('/api/fetch', {target: h.sha256});
      b.textContent = r.end.ok ? 'Fetching' : 'Fetch';
      b.disabled = r.end.ok;
    });
    td.append(b);
    tr.append(td);
    body.append(tr);
  }
}
for (const th of document.querySelectorAll('#hits th[data-key]')) {
  th.addEventListener('click', () => {
    const k = th.dataset.key;
    sortUp = sortKey === k ? !sortUp : true;
    sortKey = k;
    drawHits();
  });
}

document.getElementById('search-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const words = document.getElementById('search-words').value.trim();
  if (!words) return;
  if (searchStream) searchStream.close();
  hits = [];
  drawHits();
  const state = document.getElementById('search-state');
  state.textContent = 'searching…';
  const stream = new EventSource('/api/search?words=' + encodeURIComponent(words) + '&wait_ms=3000');
  searchStream = stream;
  stream.onmessage = (m) => {
    let e;
    try { e = JSON.parse(m.data); } catch (x) { return; }
    if (e.event === 'hit') {
      const h = {n: Number(e.n), name: e.name, size: Number(e.size), holders: Number(e.holders),
                 latency_ms: e.latency_ms === undefined ? '' : Number(e.latency_ms), sha256: e.sha256};
      const i = hits.findIndex(o => o.sha256 === h.sha256);
      if (i >= 0) hits[i] = h; else hits.push(h);
      drawHits();
      state.textContent = hits.length + ' found so far…';
    } else if (e.event === 'end') {
      stream.close();
      searchStream = null;
      state.textContent = e.ok ? (hits.length + (hits.length === 1 ? ' file found' : ' files found')) : '';
      if (!e.ok) showError(e.error);
    }
  };
  stream.onerror = () => {
    if (searchStream === stream) { stream.close(); searchStream = null; state.textContent = ''; }
  };
});

// ---- downloads (from the live stream) ------------------------------------------------------------

function drawDownloads(list) {
  const body = document.querySelector('#downloads tbody');
  body.replaceChildren();
  document.getElementById('downloads-empty').hidden = list.length > 0;
  const running = list.filter(d => d.state === 'running').length;
  document.getElementById('downloads-count').textContent = running ? '(' + running + ')' : '';
  for (const d of list) {
    const tr = el('tr');
    tr.dataset.id = d.id;
    tr.dataset.state = d.state;
    const size = Number(d.size) || 0, done = Number(d.bytes) || 0;
    const pct = size > 0 ? Math.floor(100 * done / size) : (d.state === 'done' ? 100 : 0);
    const progress = el('td');
    const bar = el('progress');
    bar.max = 100;
    bar.value = pct;
    progress.append(bar, el('span', ' ' + pct + ' %', 'pct'));
    const eta = Number(d.eta_s);
    tr.append(el('td', d.id, 'num'), el('td', d.name, 'name'), progress,
              el('td', d.state === 'running' ? bytes(d.rate) + '/s' : '', 'num'),
              el('td', d.state === 'running' && isFinite(eta) && eta >= 0 ? eta.toFixed(0) + ' s' : '', 'num'),
              el('td', d.holders + ' / ' + d.holders_known, 'num'),
              el('td', d.state + (d.error ? ': ' + d.error : ''), 'state'));
    const td = el('td');
    if (d.state === 'running') {
      const b = el('button', 'Cancel', 'cancel');
      b.addEventListener('click', () => { b.disabled = true; api('/api/cancel', {id: String(d.id)}); });
      td.append(b);
    } else if (d.path) {
      td.append(el('span', d.path, 'muted path'));
    }
    tr.append(td);
    body.append(tr);
  }
}

// ---- shared files ----------------------------------------------------------------------------------

async function loadShared() {
  const r = await api('/api/shared');
  const body = document.querySelector('#shared tbody');
  body.replaceChildren();
  for (const f of r.events) {
    if (f.name === undefined) continue;
    const tr = el('tr');
    tr.append(el('td', f.name, 'name'), el('td', bytes(f.size), 'num'), el('td', String(f.sha256 || '').slice(0, 12), 'hash'));
    const td = el('td');
    const b = el('button', 'Remove', 'remove');
    b.addEventListener('click', async () => {
      b.disabled = true;
      await api('/api/unshare', {target: f.sha256});
      loadShared();
    });
    td.append(b);
    tr.append(td);
    body.append(tr);
  }
}

document.getElementById('share-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const input = document.getElementById('share-file');
  const file = input.files[0];
  if (!file) return;
  const state = document.getElementById('share-state');
  state.textContent = 'uploading ' + file.name + '…';
  const res = await fetch('/api/share?name=' + encodeURIComponent(file.name), {
    method: 'POST', headers: {'X-Hearsay-Token': csrf, 'Content-Type': 'application/octet-stream'}, body: file,
  });
  let events = [];
  try { events = await res.json(); } catch (e) { events = [{event: 'end', ok: false, error: 'HTTP ' + res.status}]; }
  const end = events[events.length - 1] || {};
  state.textContent = end.ok ? 'shared ' + file.name : '';
  showError(end.ok ? '' : (end.error || 'upload failed'));
  input.value = '';
  loadShared();
});

// ---- peers ---------------------------------------------------------------------------------------------

async function loadPeers() {
  const r = await api('/api/peers');
  for (const view of ['active', 'passive']) {
    const body = document.querySelector('#peers-' + view + ' tbody');
    body.replaceChildren();
    for (const p of r.events.filter(e => e.view === view)) {
      const tr = el('tr');
      tr.append(el('td', p.addr), el('td', p.id ? String(p.id).slice(0, 16) : '(not yet proven)', 'hash'));
      if (view === 'active') {
        const open = p.age_s !== undefined;
        tr.append(el('td', open ? Number(p.age_s).toFixed(0) + ' s' : 'not open', 'num'),
                  el('td', open ? bytes(p.bytes_in) : '', 'num'), el('td', open ? bytes(p.bytes_out) : '', 'num'));
      }
      body.append(tr);
    }
  }
}

// ---- status and its charts ---------------------------------------------------------------------------

const history = {queries: [], hits: [], bytes: []};
let last = null;

function drawChart(id, values) {
  const c = document.getElementById(id);
  const g = c.getContext('2d');
  g.clearRect(0, 0, c.width, c.height);
  const max = Math.max(1, ...values);
  g.strokeStyle = '#ccc';
  g.strokeRect(0.5, 0.5, c.width - 1, c.height - 1);
  g.strokeStyle = '#1f77b4';
  g.lineWidth = 2;
  g.beginPath();
  values.forEach((v, i) => {
    const x = c.width * i / Math.max(1, 59), y = c.height - 4 - (c.height - 8) * v / max;
    if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
  });
  g.stroke();
  g.fillStyle = '#555';
  g.fillText('max ' + (max < 10 ? max.toFixed(1) : max.toFixed(0)), 4, 12);
}

function onStatus(s) {
  document.getElementById('node-line').textContent =
      (s.address || '') + ' · ' + s.active + ' neighbours · ' + s.shared_files + ' files shared';
  const now = Date.now();
  if (last) {
    const dt = Math.max(0.001, (now - last.at) / 1000);
    const rate = (k) => Math.max(0, (Number(s[k]) - Number(last.s[k])) / dt);
    for (const [name, key] of [['queries', 'queries_received'], ['hits', 'hits_received'], ['bytes', 'fetch_bytes_served']]) {
      history[name].push(rate(key));
      if (history[name].length > 60) history[name].shift();
    }
  }
  last = {at: now, s: s};
  drawChart('chart-queries', history.queries);
  drawChart('chart-hits', history.hits);
  drawChart('chart-bytes', history.bytes);
  const body = document.querySelector('#status tbody');
  body.replaceChildren();
  for (const [k, v] of Object.entries(s)) {
    if (k === 'event') continue;
    const tr = el('tr');
    tr.append(el('td', k.replace(/_/g, ' ')), el('td', v));
    body.append(tr);
  }
}

// ---- the live stream -----------------------------------------------------------------------------------

function live() {
  const stream = new EventSource('/api/events');
  stream.addEventListener('status', (m) => { try { onStatus(JSON.parse(m.data)); } catch (e) { /* a bad line */ } });
  stream.addEventListener('downloads', (m) => { try { drawDownloads(JSON.parse(m.data)); } catch (e) { /* a bad line */ } });
}
live();
