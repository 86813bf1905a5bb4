// A topology's page: deploy and tear down, and the status badge and the
// map's colours kept current by polling the API every 2 s, without a
// reload. The service settings forms are settings.js; a save there
// dispatches topology:update with the API's answer, drawn at once.
import { call } from './api.js';
import { when } from './time.js';

const root = document.getElementById('topology');
const id = root.dataset.id;
const badge = document.getElementById('topo-status');
const map = document.getElementById('netmap');
const err = document.getElementById('topo-action-error');
const running = new Set(['deploying', 'active', 'degraded', 'tearing_down']);
let historyLen = -1;

function render(t) {
  if (badge.textContent !== t.status) {
    badge.textContent = t.status;
    badge.className = 'badge state-' + t.status;
  }
  badge.dataset.state = t.status;
  if (map) {
    map.dataset.state = t.status;
    // Each decky as its host last reported it, when it did.
    const states = t.decky_states || {};
    for (const g of map.querySelectorAll('g.decky')) {
      const st = states[g.dataset.decky];
      if (st) g.dataset.state = st;
      else delete g.dataset.state;
    }
  }
  const dep = root.querySelector('button[data-action="deploy"]');
  const td = root.querySelector('button[data-action="teardown"]');
  if (dep) dep.disabled = running.has(t.status);
  if (td) td.disabled = !running.has(t.status) || t.status === 'tearing_down';
  const ver = document.getElementById('topo-version');
  if (ver && t.version !== undefined) ver.textContent = String(t.version);
  const hash = document.getElementById('topo-hash');
  if (hash && t.version_hash) {
    hash.title = t.version_hash;
    hash.textContent = t.version_hash.replace(/^sha256:/, '').slice(0, 12);
  }
  const up = document.getElementById('topo-updated');
  if (up && t.updated_at) { up.dateTime = t.updated_at; up.textContent = when(t.updated_at); }
  const body = document.getElementById('topo-history');
  const hist = t.status_history || [];
  if (body && hist.length && hist.length !== historyLen) {
    historyLen = hist.length;
    body.replaceChildren(...hist.map((h) => {
      const tr = document.createElement('tr');
      const at = document.createElement('time');
      at.dateTime = h.at;
      at.textContent = when(h.at);
      const cells = [at, h.from, h.to, h.reason].map((v) => {
        const td = document.createElement('td');
        td.append(v ?? '');
        return td;
      });
      tr.append(...cells);
      return tr;
    }));
  }
}

async function poll() {
  try {
    render(await call('GET', '/topologies/' + encodeURIComponent(id)));
  } catch { /* try again on the next tick */ }
  setTimeout(poll, 2000);
}
setTimeout(poll, 2000);
root.addEventListener('topology:update', (ev) => render(ev.detail));
if (document.querySelector('form.svc-settings')) import('./settings.js');

root.querySelectorAll('button[data-action]').forEach((btn) => {
  btn.addEventListener('click', async () => {
    if (err) err.textContent = '';
    btn.disabled = true;
    try {
      render(await call('POST', '/topologies/' + encodeURIComponent(id) + '/' + btn.dataset.action));
    } catch (e) {
      btn.disabled = false;
      if (err) err.textContent = `${e.code}: ${e.message}`;
    }
  });
});
