// A topology's page: deploy and tear down, and the status badge and the
// map's colours kept current by polling the API every 2 s, without a
// reload.
import { call } from './api.js';

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
  if (map) map.dataset.state = t.status;
  const dep = root.querySelector('button[data-action="deploy"]');
  const td = root.querySelector('button[data-action="teardown"]');
  if (dep) dep.disabled = running.has(t.status);
  if (td) td.disabled = !running.has(t.status) || t.status === 'tearing_down';
  const up = document.getElementById('topo-updated');
  if (up && t.updated_at) { up.dateTime = t.updated_at; up.textContent = t.updated_at; }
  const body = document.getElementById('topo-history');
  const hist = t.status_history || [];
  if (body && hist.length && hist.length !== historyLen) {
    historyLen = hist.length;
    body.replaceChildren(...hist.map((h) => {
      const tr = document.createElement('tr');
      const when = document.createElement('time');
      when.dateTime = h.at;
      when.textContent = h.at;
      const cells = [when, h.from, h.to, h.reason].map((v) => {
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
