// The canary tokens page: make, copy and delete tokens through the API.
import { call } from './api.js';

const status = document.getElementById('token-action');
const form = document.getElementById('token-form');

if (form) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    document.getElementById('token-error').textContent = '';
    const body = {
      kind: form.querySelector('[name="kind"]').value,
      memo: form.querySelector('[name="memo"]').value.trim(),
      severity: Number(form.querySelector('[name="severity"]').value),
    };
    try {
      const t = await call('POST', '/canary-tokens', body);
      status.textContent = `Made ${t.kind} token ${t.memo}.`;
      location.reload();
    } catch (e) {
      document.getElementById('token-error').textContent = `${e.code}: ${e.message}`;
      form.querySelector('[name="memo"]').setAttribute('aria-invalid', 'true');
    }
  });
  form.dataset.ready = 'true';
}

// copy puts text on the clipboard, through a selected field where the
// Clipboard API is refused.
async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const ta = document.createElement('textarea');
    ta.value = text;
    ta.setAttribute('aria-hidden', 'true');
    ta.style.position = 'fixed';
    ta.style.opacity = '0';
    document.body.append(ta);
    ta.select();
    const ok = document.execCommand('copy');
    ta.remove();
    return ok;
  }
}

for (const btn of document.querySelectorAll('#tokens tr[data-token] button[data-action]')) {
  btn.addEventListener('click', async () => {
    const row = btn.closest('tr');
    const id = row.dataset.token;
    if (btn.dataset.action === 'copy') {
      const text = btn.dataset.copy;
      status.textContent = (await copy(text)) ? `Copied ${text}` : `Select and copy: ${text}`;
      status.dataset.copied = text;
      return;
    }
    if (!confirm('Delete this token and its alert rule? Its alerts and triggers stay.')) return;
    try {
      await call('DELETE', '/canary-tokens/' + encodeURIComponent(id));
      location.reload();
    } catch (e) {
      status.textContent = `${e.code}: ${e.message}`;
    }
  });
}
document.getElementById('tokens').dataset.ready = 'true';
