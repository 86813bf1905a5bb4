// The join-token form: asks the API for a single-use token and shows the
// command to run on the new host.
import { call } from './api.js';
import { when } from './time.js';

const form = document.getElementById('join-form');
const result = document.getElementById('join-result');
const err = document.getElementById('join-error');
const cmd = document.getElementById('join-command');

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  err.textContent = '';
  result.hidden = true;
  try {
    const r = await call('POST', '/hosts/join-token', { name: form.name.value, ttl_seconds: Number(form.ttl.value) });
    cmd.textContent = r.command;
    const t = document.getElementById('join-expires');
    t.dateTime = r.expires_at;
    t.textContent = when(r.expires_at);
    result.hidden = false;
    cmd.focus?.();
  } catch (e) {
    err.textContent = e.message;
  }
});

document.getElementById('join-copy').addEventListener('click', async () => {
  const note = document.getElementById('join-copied');
  try {
    await navigator.clipboard.writeText(cmd.textContent);
    note.textContent = 'Copied.';
  } catch {
    note.textContent = 'Select the command and copy it.';
  }
});
