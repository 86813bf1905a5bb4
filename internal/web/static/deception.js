// The decky page's Deception panel: tarpits, dropped files and service
// rotation, read from and changed through the API.
import { call } from './api.js';

const root = document.getElementById('decky');
const admin = root.dataset.admin === 'true';
const base = `/topologies/${encodeURIComponent(root.dataset.topology)}/deckies/${encodeURIComponent(root.dataset.decky)}/deception`;
const statusEl = document.getElementById('deception-status');
const errorEl = document.getElementById('deception-error');

function cell(text) {
  const td = document.createElement('td');
  td.textContent = text;
  return td;
}

function empty(tbody, cols, text) {
  const tr = document.createElement('tr');
  const td = cell(text);
  td.colSpan = cols;
  td.className = 'muted';
  tr.append(td);
  tbody.replaceChildren(tr);
}

function button(label, name, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  b.setAttribute('aria-label', name);
  b.addEventListener('click', onClick);
  const td = document.createElement('td');
  td.append(b);
  return td;
}

async function act(what, fn) {
  errorEl.textContent = '';
  try {
    const v = await fn();
    render(v);
    statusEl.textContent = what;
  } catch (e) {
    const why = (e.details || []).map((d) => d.message).filter(Boolean);
    errorEl.textContent = `${e.code}: ${e.message}` + (why.length ? ` (${why.join('; ')})` : '');
  }
}

function render(v) {
  document.getElementById('decky-services').textContent = v.services.join(', ');
  const portSel = document.getElementById('tarpit-port');
  if (portSel) {
    const keep = portSel.value;
    portSel.replaceChildren(...v.ports.map((p) => new Option(String(p), String(p), false, String(p) === keep)));
  }
  const tarpits = document.getElementById('tarpits');
  if (!v.tarpits.length) {
    empty(tarpits, admin ? 4 : 3, 'No tarpit.');
  } else {
    tarpits.replaceChildren(...v.tarpits.map((t) => {
      const tr = document.createElement('tr');
      tr.dataset.port = t.port;
      tr.append(cell(String(t.port)), cell(t.source || 'every source'), cell(String(t.rate || 4)));
      if (admin) {
        tr.append(button('Lift', `Lift the tarpit on port ${t.port}`, () => act(`Lifted the tarpit on port ${t.port}.`, () => {
          const q = new URLSearchParams({ port: t.port });
          if (t.source) q.set('source', t.source);
          return call('DELETE', `${base}/tarpits?${q}`);
        })));
      }
      return tr;
    }));
  }
  const files = document.getElementById('files');
  if (!v.files.length) {
    empty(files, admin ? 6 : 5, 'No dropped file.');
  } else {
    files.replaceChildren(...v.files.map((f) => {
      const tr = document.createElement('tr');
      tr.dataset.path = f.path;
      const sum = cell(f.sha256.slice(0, 16) + '…');
      sum.title = f.sha256;
      tr.append(cell(f.path), cell(f.mode), cell(f.owner), cell(String(f.size)), sum);
      if (admin) {
        tr.append(button('Withdraw', `Withdraw ${f.path}`, () => act(`Withdrew ${f.path}.`,
          () => call('DELETE', `${base}/files?${new URLSearchParams({ path: f.path })}`))));
      }
      return tr;
    }));
  }
  const summary = document.getElementById('rotation-summary');
  const r = v.rotation;
  summary.textContent = r
    ? `Every ${r.every}, ${r.count} of ${r.pool.join(', ')}; ${r.enabled ? 'next ' + new Date(r.next_at).toISOString().replace('T', ' ').slice(0, 19) + ' UTC' : 'paused'}.`
    : 'No rotation schedule.';
  if (r && admin) {
    document.getElementById('rotation-pool').value = r.pool.join(', ');
    document.getElementById('rotation-count').value = r.count;
    document.getElementById('rotation-every').value = r.every;
    document.getElementById('rotation-enabled').checked = r.enabled;
  }
  const hist = document.getElementById('rotation-history');
  if (!v.rotation_history.length) {
    empty(hist, 4, 'No rotation yet.');
  } else {
    hist.replaceChildren(...v.rotation_history.map((h) => {
      const tr = document.createElement('tr');
      tr.append(cell(new Date(h.at).toISOString().replace('T', ' ').slice(0, 19)), cell(h.before.join(', ')), cell(h.after.join(', ')), cell(h.by));
      return tr;
    }));
  }
  root.dataset.ready = 'true';
}

function field(form, name) {
  return form.querySelector(`[name="${name}"]`);
}

const tarpitForm = document.getElementById('tarpit-form');
tarpitForm?.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const port = Number(field(tarpitForm, 'port').value);
  const body = { port, rate: Number(field(tarpitForm, 'rate').value) || 0 };
  const source = field(tarpitForm, 'source').value.trim();
  if (source) body.source = source;
  act(`Tarpitted port ${port}.`, () => call('POST', `${base}/tarpits`, body));
});

const dropForm = document.getElementById('drop-form');
dropForm?.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const body = { path: field(dropForm, 'path').value.trim(), mode: field(dropForm, 'mode').value.trim(), owner: field(dropForm, 'owner').value.trim() };
  const token = field(dropForm, 'canary_token').value;
  if (token) body.canary_token = token; else body.content = field(dropForm, 'content').value;
  act(`Dropped ${body.path}.`, () => call('POST', `${base}/files`, body));
});

const rotForm = document.getElementById('rotation-form');
rotForm?.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const body = {
    pool: field(rotForm, 'pool').value.split(',').map((s) => s.trim()).filter(Boolean),
    count: Number(field(rotForm, 'count').value),
    every: field(rotForm, 'every').value.trim(),
    enabled: field(rotForm, 'enabled').checked,
  };
  act('Saved the rotation schedule.', () => call('PUT', `${base}/rotation`, body));
});
rotForm?.querySelector('[data-action="rotate"]').addEventListener('click', () => act('Rotated.', () => call('POST', `${base}/rotation/rotate`)));
rotForm?.querySelector('[data-action="unschedule"]').addEventListener('click', () => act('Removed the rotation schedule.', () => call('DELETE', `${base}/rotation`)));

call('GET', base).then(render, (e) => { errorEl.textContent = `${e.code}: ${e.message}`; });
