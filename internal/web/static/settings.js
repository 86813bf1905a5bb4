// A topology's service settings: each decky's form, generated on the server
// from the service schemas, replaces that decky's service_config in the
// spec. Save reads the spec (GET .../spec), sets the decky's settings from
// the form and writes it back (PUT .../spec, compare-and-swap on the
// version). The API's validation issues are shown beside the control they
// name; a spec changed elsewhere since the page was drawn is refused with
// an offer to reload.
import { call } from './api.js';
import { refText } from './issues.js';

const root = document.getElementById('topology');
const section = document.getElementById('svc-settings');
const specPath = '/topologies/' + encodeURIComponent(root.dataset.id) + '/spec';

// The spec the forms were drawn from, by version hash. A save moves it on.
let hash = section.dataset.hash;

class FieldError extends Error {}

const controls = (wrap) => [...wrap.querySelectorAll('input, select, textarea')].filter((el) => !el.hasAttribute('data-clear'));

// readField returns the field's value for the spec, or undefined for
// unset. current is the spec's value (a secret left empty keeps it).
function readField(wrap, current) {
  const type = wrap.dataset.type;
  const [el] = controls(wrap);
  switch (type) {
    case 'string':
    case 'text':
      return el.value === '' ? undefined : el.value;
    case 'secret':
      if (wrap.querySelector('input[data-clear]')?.checked) return undefined;
      return el.value === '' ? current : el.value;
    case 'int': {
      const s = el.value.trim();
      if (s === '') {
        if (el.validity.badInput) throw new FieldError('Enter a whole number.');
        return undefined;
      }
      if (!/^-?\d+$/.test(s)) throw new FieldError('Enter a whole number.');
      const n = Number(s);
      const lo = el.min === '' ? -Infinity : Number(el.min);
      const hi = el.max === '' ? Infinity : Number(el.max);
      if (n < lo || n > hi) throw new FieldError(`Enter a number from ${el.min || '-∞'} to ${el.max || '∞'}.`);
      return n;
    }
    case 'bool':
      // Unset stays unset while the box shows the default.
      if (wrap.dataset.set !== 'true' && el.checked === (wrap.dataset.default === 'true')) return undefined;
      return el.checked;
    case 'enum':
      return el.value === '' ? undefined : el.value;
    case 'multi_enum': {
      const on = controls(wrap).filter((c) => c.checked).map((c) => c.value);
      return on.length ? on : undefined;
    }
    case 'list': {
      const items = el.value.split('\n').map((l) => l.trim()).filter((l) => l !== '');
      return items.length ? items : undefined;
    }
    case 'map':
    case 'object': {
      const s = el.value.trim();
      if (s === '') return undefined;
      let v;
      try {
        v = JSON.parse(s);
      } catch (e) {
        throw new FieldError(`Not valid JSON: ${e.message}`);
      }
      if (type === 'map' && (v === null || typeof v !== 'object' || Array.isArray(v) ||
          Object.values(v).some((x) => typeof x !== 'string'))) {
        throw new FieldError('Enter a JSON object whose values are strings, e.g. {"X-Powered-By": "PHP/8.1"}.');
      }
      return v;
    }
  }
  return current; // a type this page does not know: leave the value alone
}

function markField(wrap, text, severity) {
  const err = wrap.querySelector('.svc-err');
  const line = document.createElement('span');
  line.className = severity === 'warning' ? 'warning' : 'error';
  line.textContent = text;
  if (err.textContent) err.append(document.createElement('br'));
  err.append(line);
  if (severity !== 'warning') for (const c of controls(wrap)) c.setAttribute('aria-invalid', 'true');
}

function clearMarks(form) {
  for (const e of form.querySelectorAll('.svc-err')) e.replaceChildren();
  for (const c of form.querySelectorAll('[aria-invalid]')) c.removeAttribute('aria-invalid');
  form.querySelector('.svc-errors').replaceChildren();
}

function issueText(is) {
  let s = `${is.severity || 'error'} ${is.code || 'ERROR'}: ${is.message}`;
  const obj = refText(is.object);
  if (obj) s += ` (${obj})`;
  return s;
}

// top lists messages at the top of the form; each is text, a list of
// text and nodes, or an API issue.
function top(form, items) {
  const box = form.querySelector('.svc-errors');
  if (!items.length) { box.replaceChildren(); return; }
  const ul = document.createElement('ul');
  ul.className = 'issues';
  for (const it of items) {
    const li = document.createElement('li');
    if (Array.isArray(it)) li.append(...it);
    else if (typeof it === 'object') {
      li.className = it.severity === 'warning' ? 'warning' : 'error';
      li.textContent = issueText(it);
    } else li.textContent = it;
    ul.append(li);
  }
  box.replaceChildren(ul);
}

function findField(form, name) {
  return [...form.querySelectorAll('.svc-field')].find((w) => w.dataset.field === name) || null;
}

// showIssues puts each issue beside its control, the others at the top.
function showIssues(form, issues) {
  const rest = [];
  for (const is of issues) {
    const o = is.object || {};
    const wrap = o.kind === 'service' && o.decky === form.dataset.decky && o.key ? findField(form, `${o.name}.${o.key}`) : null;
    if (wrap) markField(wrap, `${is.severity === 'warning' ? 'warning ' : ''}${is.code || 'ERROR'}: ${is.message}`, is.severity);
    else rest.push(is);
  }
  top(form, rest);
}

function conflict(form, status, text) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'reload';
  b.textContent = 'Reload';
  b.addEventListener('click', () => location.reload());
  top(form, [[text + ' Your changes here are not saved. ', b]]);
  status.textContent = '';
}

function focusFirstInvalid(form) {
  form.querySelector('[aria-invalid="true"]')?.focus();
}

// saved brings the form to the state the spec now holds.
function saved(form, cfg) {
  for (const wrap of form.querySelectorAll('.svc-field')) {
    const slug = wrap.closest('fieldset.svc').dataset.slug;
    const set = Object.hasOwn(cfg[slug] || {}, wrap.dataset.key);
    wrap.dataset.set = String(set);
    if (wrap.dataset.type !== 'secret') continue;
    const [el] = controls(wrap);
    el.value = '';
    const clear = wrap.querySelector('input[data-clear]');
    clear.checked = false;
    clear.closest('label').hidden = !set;
    wrap.querySelector('.secret-state').textContent = set ? 'A value is set; leave empty to keep it.' : 'Not set.';
  }
}

async function save(form, btn) {
  const status = form.querySelector('.svc-status');
  clearMarks(form);
  status.textContent = 'Saving…';
  btn.disabled = true;
  try {
    const cur = await call('GET', specPath);
    if (cur.version_hash !== hash) {
      conflict(form, status, `The spec changed since this page was loaded (it is at version ${cur.version}).`);
      return;
    }
    const spec = cur.spec;
    const d = (spec.deckies || []).find((x) => x.name === form.dataset.decky);
    if (!d) {
      conflict(form, status, `Decky ${form.dataset.decky} is no longer in the spec.`);
      return;
    }
    const cfg = { ...(d.service_config || {}) };
    let bad = false;
    for (const fs of form.querySelectorAll('fieldset.svc')) {
      if (!fs.querySelector('.svc-field')) continue; // no schema: keep as is
      const slug = fs.dataset.slug;
      const old = cfg[slug] || {};
      const next = {};
      for (const wrap of fs.querySelectorAll('.svc-field')) {
        try {
          const v = readField(wrap, old[wrap.dataset.key]);
          if (v !== undefined) next[wrap.dataset.key] = v;
        } catch (e) {
          if (!(e instanceof FieldError)) throw e;
          markField(wrap, e.message);
          bad = true;
        }
      }
      if (Object.keys(next).length) cfg[slug] = next;
      else delete cfg[slug];
    }
    if (bad) {
      top(form, ['Not saved: fix the marked settings.']);
      status.textContent = '';
      focusFirstInvalid(form);
      return;
    }
    if (Object.keys(cfg).length) d.service_config = cfg;
    else delete d.service_config;
    let t;
    try {
      t = await call('PUT', specPath, { spec, version: cur.version });
    } catch (e) {
      if (e.status === 409) {
        const again = await call('GET', specPath).catch(() => null);
        if (!again || again.version_hash !== hash) {
          conflict(form, status, `The spec changed while saving${again ? ` (it is at version ${again.version})` : ''}.`);
          return;
        }
      }
      throw e;
    }
    hash = t.version_hash;
    section.dataset.hash = hash;
    saved(form, cfg);
    // The warnings of the whole spec come back; this form shows its own.
    const decky = form.dataset.decky;
    showIssues(form, (t.warnings || []).filter((w) => w.object &&
      ((w.object.kind === 'service' && w.object.decky === decky) || (w.object.kind === 'decky' && w.object.name === decky))));
    status.textContent = `Saved; version ${t.version}`;
    // The page's badge, map and history follow the re-push.
    root.dispatchEvent(new CustomEvent('topology:update', { detail: t }));
  } catch (e) {
    status.textContent = '';
    if (e.code === 'INVALID' && Array.isArray(e.details) && e.details.length) {
      showIssues(form, e.details);
      if (!form.querySelector('.svc-errors li')) top(form, [`Not saved: ${e.message}`]);
      focusFirstInvalid(form);
    } else {
      top(form, [`Not saved: ${e.code || 'ERROR'}: ${e.message}`]);
    }
  } finally {
    btn.disabled = false;
  }
}

for (const form of section.querySelectorAll('form.svc-settings')) {
  const btn = form.querySelector('button[type="submit"]');
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    save(form, btn);
  });
  form.dataset.ready = 'true'; // the handler is in place
}
