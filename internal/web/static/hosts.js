// The hosts page: the join-token form (a single-use token and the command
// to run on the new host) and decommissioning.
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

// Decommission: revokes the host's certificate. A host with live topologies
// is refused unless the admin confirms that it is gone (force).
for (const btn of document.querySelectorAll('tr[data-host] button[data-action="decommission"]')) {
  btn.addEventListener('click', async () => {
    const host = btn.closest('tr').dataset.host;
    const note = document.getElementById('host-action');
    note.textContent = '';
    if (!confirm(`Decommission ${host}? Its certificate is revoked: it can no longer heartbeat or ship events.`)) return;
    const path = `/hosts/${encodeURIComponent(host)}/decommission`;
    try {
      await call('POST', path, {});
    } catch (e) {
      if (e.status !== 409) { note.textContent = `${host}: ${e.code}: ${e.message}`; return; }
      const live = (e.details?.topologies || []).join(', ');
      if (!confirm(`${host} still runs ${live}. Decommission it anyway (only for a host that is gone)?`)) {
        note.textContent = `${host}: ${e.message}`;
        return;
      }
      try { await call('POST', path, { force: true }); } catch (e2) { note.textContent = `${host}: ${e2.code}: ${e2.message}`; return; }
    }
    location.reload();
  });
}
