// The outputs page: add, edit, test, enable, disable and delete SIEM
// outputs through the API; each row's state follows GET /outputs.
import { call } from './api.js';
import { when } from './time.js';

const form = document.getElementById('out-form');
const status = document.getElementById('out-action');
const submit = document.getElementById('out-submit');
const cancel = document.getElementById('out-cancel');
const field = (n) => form.querySelector(`[name="${n}"]`);
let editing = null; // the name of the output being edited

function syncKind() {
  const kind = field('kind').value;
  for (const el of form.querySelectorAll('[data-kind]')) el.hidden = !el.dataset.kind.split(' ').includes(kind);
}
field('kind').addEventListener('change', syncKind);
syncKind();

function clearErrors() {
  for (const li of document.querySelectorAll('#out-errors li')) li.textContent = '';
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
}

// showErrors puts each field error beside its control.
function showErrors(e) {
  clearErrors();
  const details = Array.isArray(e.details) ? e.details : [];
  if (details.length === 0) {
    document.getElementById('err-other').textContent = `${e.code}: ${e.message}`;
    return;
  }
  for (const d of details) {
    const li = document.getElementById(`err-${d.field}`) || document.getElementById('err-other');
    li.textContent = `${d.field}: ${d.message}`;
    field(d.field)?.setAttribute('aria-invalid', 'true');
  }
}

function body() {
  const kind = field('kind').value;
  const b = { name: field('name').value.trim(), kind };
  if (kind === 'file') b.path = field('path').value.trim();
  if (kind === 'kafka') {
    b.address = field('address').value.trim();
    b.tls = field('tls').checked;
    b.topic = field('topic').value.trim();
  }
  if (kind === 'syslog') {
    b.address = field('address').value.trim();
    b.tls = field('tls').checked;
    if (field('format').value !== 'rfc5424') b.format = field('format').value;
    if (field('relp').checked) b.relp = true;
    if (field('hostname').value.trim()) b.hostname = field('hostname').value.trim();
  }
  if (kind === 'webhook' || kind === 'splunk_hec' || kind === 'elasticsearch') {
    b.url = field('url').value.trim();
    if (field('secret').value) b.secret = field('secret').value;
    if (field('max_failures').value) b.max_failures = Number(field('max_failures').value);
    if (field('allow_private').checked) b.allow_private = true;
  }
  if ((kind === 'splunk_hec' || kind === 'elasticsearch') && field('index').value.trim()) b.index = field('index').value.trim();
  return b;
}

function stopEditing() {
  editing = null;
  form.reset();
  field('name').readOnly = false;
  field('kind').disabled = false;
  submit.textContent = 'Add';
  cancel.hidden = true;
  document.getElementById('out-form-h').textContent = 'Add an output';
  syncKind();
  clearErrors();
}
cancel.addEventListener('click', stopEditing);

function edit(row) {
  const d = row.dataset;
  editing = d.name;
  field('name').value = d.name;
  field('name').readOnly = true;
  field('kind').value = d.kind;
  field('kind').disabled = true;
  field('path').value = d.path || '';
  field('address').value = d.address || '';
  field('tls').checked = d.tls === 'true';
  field('relp').checked = d.relp === 'true';
  field('hostname').value = d.hostname || '';
  field('url').value = d.url || '';
  field('secret').value = '';
  field('index').value = d.index || '';
  field('topic').value = d.topic || '';
  field('format').value = d.format || 'rfc5424';
  field('allow_private').checked = d.allowPrivate === 'true';
  field('max_failures').value = d.maxFailures && d.maxFailures !== '0' ? d.maxFailures : '';
  submit.textContent = 'Save changes';
  cancel.hidden = false;
  document.getElementById('out-form-h').textContent = `Edit ${d.name}`;
  syncKind();
  clearErrors();
  field('url').focus();
}

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  try {
    if (editing) {
      await call('PUT', '/outputs/' + encodeURIComponent(editing), body());
      status.textContent = `Saved ${editing}.`;
    } else {
      const o = await call('POST', '/outputs', body());
      status.textContent = `Added ${o.name}.`;
    }
    location.reload();
  } catch (e) {
    showErrors(e);
  }
});


// refresh updates each row's state cells from the API.
async function refresh() {
  let r;
  try { r = await call('GET', '/outputs'); } catch { return; }
  for (const o of r.items || []) {
    const row = document.querySelector(`#outputs tr[data-name="${CSS.escape(o.name)}"]`);
    if (!row) continue;
    const set = (role, text) => { const el = row.querySelector(`[data-role="${role}"]`); if (el) el.textContent = text; };
    const st = o.state;
    const badge = row.querySelector('[data-role="state"]');
    badge.textContent = st;
    badge.className = `badge out-${st}`;
    set('delivered', String(o.status.delivered));
    set('last-delivery', when(o.status.last_delivery));
    set('last-error', o.error || (o.status.last_error ? `${o.status.last_error} (${when(o.status.last_error_at)})` : '-'));
    if (o.last_test) set('last-test', `${o.last_test.ok ? 'ok' : 'failed: ' + o.last_test.error}, ${when(o.last_test.at)}`);
  }
}

for (const btn of document.querySelectorAll('#outputs tr[data-name] button[data-action]')) {
  btn.addEventListener('click', async () => {
    const row = btn.closest('tr');
    const name = row.dataset.name;
    const path = '/outputs/' + encodeURIComponent(name);
    status.textContent = '';
    try {
      switch (btn.dataset.action) {
        case 'edit': edit(row); return;
        case 'test': {
          btn.disabled = true;
          status.textContent = `Testing ${name}…`;
          const t = await call('POST', path + '/test');
          status.textContent = t.ok ? `${name}: the test event was delivered.` : `${name}: the test failed: ${t.error}`;
          btn.disabled = false;
          await refresh();
          return;
        }
        case 'delete':
          if (!confirm(`Delete the output ${name} and its position in the event stream?`)) return;
          await call('DELETE', path);
          location.reload();
          return;
        default: // enable, disable
          await call('POST', `${path}/${btn.dataset.action}`);
          location.reload();
      }
    } catch (e) {
      btn.disabled = false;
      status.textContent = `${name}: ${e.code}: ${e.message}`;
    }
  });
}

setInterval(refresh, 5000);
form.dataset.ready = 'true';
