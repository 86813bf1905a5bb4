// Create a topology from a spec or an INI file: check it through the API,
// list its issues (each with a way to its line or object), draw it with
// the issues on their objects, and create it.
import { call } from './api.js';
import { refText } from './issues.js';

const form = document.getElementById('src-form');
const source = document.getElementById('source');
const summary = document.getElementById('src-summary');
const list = document.getElementById('src-issues');
const preview = document.getElementById('src-preview');
const csrf = document.querySelector('meta[name="csrf-token"]')?.content || '';

const field = (n) => form.querySelector(`[name="${n}"]`);
const [fileIn, hostIn, nameIn, seedIn] = ['file', 'host', 'name', 'seed'].map(field);

function format() { return form.querySelector('input[name="format"]:checked').value; }
function setFormat(v) { form.querySelector(`input[name="format"][value="${v}"]`).checked = true; }

function syncFormat() {
  for (const el of form.querySelectorAll('.ini-only')) el.hidden = format() !== 'ini';
}
for (const r of form.querySelectorAll('input[name="format"]')) r.addEventListener('change', syncFormat);
syncFormat();

fileIn.addEventListener('change', async () => {
  const f = fileIn.files[0];
  if (!f) return;
  if (f.size > 4 << 20) { summary.textContent = 'The file is larger than 4 MiB.'; return; }
  source.value = await f.text();
  setFormat(/\.(ini|conf)$/i.test(f.name) ? 'ini' : 'spec');
  syncFormat();
});

function body() {
  const b = {};
  if (format() === 'ini') {
    b.ini = source.value;
    if (nameIn.value) b.name = nameIn.value;
    if (seedIn.value) b.seed = seedIn.value;
  } else {
    b.spec = source.value;
  }
  if (hostIn.value) b.host = hostIn.value;
  return b;
}

// selectLine puts the caret on a line of the document.
function selectLine(n) {
  const lines = source.value.split('\n');
  let start = 0;
  for (let i = 0; i < n - 1 && i < lines.length; i++) start += lines[i].length + 1;
  const end = start + (lines[n - 1] || '').length;
  source.focus();
  source.setSelectionRange(start, end);
}

// showIssues lists the issues; an issue on a drawn object links to it.
function showIssues(issues) {
  list.replaceChildren();
  source.removeAttribute('aria-invalid');
  for (const is of issues) {
    const li = document.createElement('li');
    li.className = is.severity === 'warning' ? 'warning' : 'error';
    const code = document.createElement('code');
    code.textContent = is.code || 'ERROR';
    li.append(`${is.severity || 'error'} `, code, `: ${is.message}`);
    const obj = refText(is.object);
    if (obj) li.append(` (${obj})`);
    if (is.line) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'link';
      b.textContent = `line ${is.line}`;
      b.addEventListener('click', () => selectLine(is.line));
      li.append(' ', b);
      source.setAttribute('aria-invalid', 'true');
    }
    list.append(li);
  }
}

async function drawPreview(spec, issues) {
  preview.replaceChildren();
  if (!spec) return;
  const objIssues = issues.filter((i) => i.object).map((i) => ({ severity: i.severity || 'error', code: i.code || '', message: i.message, object: i.object }));
  const resp = await fetch('/topologies/preview', {
    method: 'POST', credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
    body: JSON.stringify({ spec, issues: objIssues }),
  });
  if (!resp.ok) { preview.textContent = `The map could not be drawn: ${await resp.text()}`; return; }
  // The fragment is the server's own html/template output (escaped SVG).
  const tpl = document.createElement('template');
  tpl.innerHTML = await resp.text();
  preview.append(tpl.content);
}

async function check() {
  summary.textContent = 'Checking…';
  try {
    const r = await call('POST', '/topologies/validate', body());
    const errors = r.issues.filter((i) => i.severity !== 'warning').length;
    const warnings = r.issues.length - errors;
    summary.textContent = r.valid
      ? `Valid: ${r.spec.deckies.length} deckies on ${r.spec.lans.length} LANs, ${warnings} warnings.`
      : `Invalid: ${errors} errors, ${warnings} warnings.`;
    summary.dataset.valid = String(r.valid);
    showIssues(r.issues);
    await drawPreview(r.spec, r.issues);
    return r.valid;
  } catch (e) {
    summary.textContent = `${e.code}: ${e.message}`;
    summary.dataset.valid = 'false';
    showIssues([]);
    preview.replaceChildren();
    return false;
  }
}

document.getElementById('src-check').addEventListener('click', check);

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  summary.textContent = 'Creating…';
  try {
    const t = await call('POST', '/topologies', body());
    location.assign('/topologies/' + encodeURIComponent(t.id));
  } catch (e) {
    if (e.code === 'INVALID' && Array.isArray(e.details)) {
      await check(); // the same issues, drawn on the map
      summary.textContent = `Not created: ${summary.textContent}`;
      return;
    }
    summary.textContent = `Not created: ${e.code}: ${e.message}`;
  }
});
form.dataset.ready = 'true'; // the handlers are in place
