// The alert rules page: create, edit, enable, disable and delete rules
// through the API.
import { call } from './api.js';

const form = document.getElementById('rule-form');
const err = document.getElementById('rule-error');
const submit = document.getElementById('rule-submit');
const cancel = document.getElementById('rule-cancel');
const field = (n) => form.querySelector(`[name="${n}"]`);
const lists = ['types', 'services', 'deckies', 'topologies', 'lans', 'tags', 'sources'];
let editing = null; // the id of the rule being edited

function syncKind() {
  for (const el of form.querySelectorAll('[data-kind]')) el.hidden = el.dataset.kind !== field('kind').value;
}
field('kind').addEventListener('change', syncKind);
syncKind();

function body() {
  const split = (v) => v.split(',').map((s) => s.trim()).filter(Boolean);
  const match = { min_severity: Number(field('min_severity').value) };
  for (const l of lists) {
    const vs = split(field(l).value);
    if (vs.length) match[l] = vs;
  }
  const condition = { kind: field('kind').value };
  if (condition.kind === 'threshold') {
    condition.count = Number(field('count').value);
    condition.window = field('window').value.trim();
  }
  return {
    name: field('name').value.trim(), description: field('description').value.trim(),
    severity: Number(field('severity').value), enabled: field('enabled').checked, match, condition,
  };
}

function edit(rule) {
  editing = rule.id;
  field('name').value = rule.name;
  field('description').value = rule.description || '';
  field('severity').value = String(rule.severity);
  field('enabled').checked = rule.enabled;
  for (const l of lists) field(l).value = (rule.match[l] || []).join(', ');
  field('min_severity').value = String(rule.match.min_severity || 0);
  field('kind').value = rule.condition.kind;
  if (rule.condition.kind === 'threshold') {
    field('count').value = rule.condition.count;
    field('window').value = rule.condition.window;
  }
  syncKind();
  submit.textContent = 'Save rule';
  cancel.hidden = false;
  document.getElementById('rule-form-h').textContent = 'Edit rule ' + rule.name;
  field('name').focus();
}

cancel.addEventListener('click', () => location.reload());

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  err.textContent = '';
  try {
    if (editing) await call('PUT', '/alert-rules/' + encodeURIComponent(editing), body());
    else await call('POST', '/alert-rules', body());
    location.reload();
  } catch (e) {
    err.textContent = e.message;
  }
});

document.addEventListener('click', async (ev) => {
  const b = ev.target.closest('button[data-action]');
  const row = b?.closest('tr[data-rule]');
  if (!row) return;
  const rule = JSON.parse(row.dataset.json);
  err.textContent = '';
  try {
    switch (b.dataset.action) {
      case 'edit':
        edit(rule);
        return;
      case 'toggle':
        await call('PUT', '/alert-rules/' + encodeURIComponent(rule.id), { ...rule, enabled: !rule.enabled });
        break;
      case 'delete':
        if (!confirm('Delete the rule ' + rule.name + '? Its alerts stay.')) return;
        await call('DELETE', '/alert-rules/' + encodeURIComponent(rule.id));
        break;
    }
    location.reload();
  } catch (e) {
    err.textContent = e.message;
  }
});
