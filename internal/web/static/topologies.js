// The topologies list: deploy and tear down (the row's status follows
// until it settles), and the generator form.
import { call } from './api.js';
import { refText } from './issues.js';

const settled = new Set(['pending', 'active', 'degraded', 'failed', 'torn_down']);
const running = new Set(['deploying', 'active', 'degraded', 'tearing_down']);
const actionErr = document.getElementById('topo-action-error');

function setStatus(row, status) {
  const b = row.querySelector('[data-role="status"]');
  b.textContent = status;
  b.className = 'badge state-' + status;
  row.dataset.status = status;
  const dep = row.querySelector('button[data-action="deploy"]');
  const td = row.querySelector('button[data-action="teardown"]');
  if (dep) dep.disabled = running.has(status);
  if (td) td.disabled = !running.has(status) || status === 'tearing_down';
  const del = row.querySelector('button[data-action="delete"]');
  if (del) del.hidden = running.has(status);
}

async function follow(row) {
  for (;;) {
    try {
      const t = await call('GET', '/topologies/' + encodeURIComponent(row.dataset.id));
      setStatus(row, t.status);
      if (settled.has(t.status)) return;
    } catch (e) {
      if (actionErr) actionErr.textContent = e.message;
      return;
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}

document.querySelectorAll('#topologies tr[data-id] button[data-action]').forEach((btn) => {
  btn.addEventListener('click', async () => {
    const row = btn.closest('tr');
    if (actionErr) actionErr.textContent = '';
    if (btn.dataset.action === 'delete') {
      if (!confirm(`Delete the topology ${row.dataset.name}? Its spec and history are removed; events are kept.`)) return;
      try {
        await call('DELETE', '/topologies/' + encodeURIComponent(row.dataset.id));
        row.remove();
      } catch (e) {
        if (actionErr) actionErr.textContent = `${row.dataset.name}: ${e.code}: ${e.message}`;
      }
      return;
    }
    btn.disabled = true;
    try {
      const t = await call('POST', '/topologies/' + encodeURIComponent(row.dataset.id) + '/' + btn.dataset.action);
      setStatus(row, t?.status || row.dataset.status);
      follow(row);
    } catch (e) {
      btn.disabled = false;
      if (actionErr) actionErr.textContent = `${row.dataset.name}: ${e.code}: ${e.message}`;
    }
  });
});

const form = document.getElementById('gen-form');
const errs = document.getElementById('gen-errors');

// The host select is filled from the API; the server's list stays when
// the call fails.
async function loadHosts() {
  try {
    const r = await call('GET', '/hosts');
    const sel = form.host;
    const keep = sel.value;
    sel.replaceChildren();
    for (const h of r.items || []) {
      if (h.decommissioned) continue;
      const o = document.createElement('option');
      o.value = h.id;
      o.textContent = h.id;
      sel.append(o);
    }
    if (keep) sel.value = keep;
  } catch { /* keep the rendered options */ }
}

// Which field an error concerns, from its object ref or its message.
function fieldOf(issue) {
  const msg = (issue.message || '').toLowerCase();
  if (issue.object?.kind === 'topology' || issue.code === 'NAME_INVALID' || /\bnamed?\b/.test(msg)) return 'name';
  // The field named first in the message.
  let best = null;
  let at = Infinity;
  for (const f of ['deckies-min', 'deckies-max', 'depth', 'branching', 'seed', 'host', 'subnet', 'service']) {
    const i = msg.indexOf(f);
    if (i >= 0 && i < at) { at = i; best = f; }
  }
  if (best) return { service: 'services', subnet: 'subnet_base' }[best] || best.replace('-', '_');
  return null;
}

function showErrors(e) {
  errs.replaceChildren();
  const head = document.createElement('p');
  head.textContent = `${e.code}: ${e.message}`;
  errs.append(head);
  const issues = Array.isArray(e.details) ? e.details : [];
  const list = document.createElement('ul');
  const marked = new Set();
  for (const i of issues.length ? issues : [{ code: e.code, message: e.message }]) {
    if (issues.length) {
      const li = document.createElement('li');
      const code = document.createElement('code');
      code.textContent = i.code || e.code;
      li.append(code, ' ' + (i.message || ''));
      const obj = refText(i.object);
      if (obj) li.append(` (${obj})`);
      list.append(li);
    }
    const f = fieldOf(i);
    if (f && form[f]) marked.add(f);
  }
  if (list.childElementCount) errs.append(list);
  if (e.code === 'CONFLICT') marked.add('name');
  for (const f of marked) form[f].setAttribute('aria-invalid', 'true');
  const first = [...marked][0];
  if (first) form[first].focus();
}

if (form) {
  loadHosts();
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    errs.replaceChildren();
    form.querySelectorAll('[aria-invalid]').forEach((el) => el.removeAttribute('aria-invalid'));
    const gen = {
      name: form.name.value.trim(),
      depth: Number(form.depth.value),
      branching: Number(form.branching.value),
      deckies_min: Number(form.deckies_min.value),
      deckies_max: Number(form.deckies_max.value),
    };
    if (form.seed.value.trim() !== '') gen.seed = Number(form.seed.value.trim());
    if (form.subnet_base.value.trim() !== '') gen.subnet_base = form.subnet_base.value.trim();
    const services = form.services.value.split(',').map((x) => x.trim()).filter((x) => x);
    if (services.length) gen.services = services;
    const btn = form.querySelector('button[type="submit"]');
    btn.disabled = true;
    try {
      const t = await call('POST', '/topologies', { generate: gen, host: form.host.value });
      location.assign('/topologies/' + encodeURIComponent(t.id));
    } catch (e) {
      showErrors(e);
    } finally {
      btn.disabled = false;
    }
  });
}
