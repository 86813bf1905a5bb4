// The alerts page: acknowledge and close alerts through the API.
import { call } from './api.js';

const status = document.getElementById('alert-action');

document.addEventListener('click', async (ev) => {
  const b = ev.target.closest('button[data-action]');
  const row = b?.closest('tr[data-alert]');
  if (!row) return;
  status.textContent = '';
  b.disabled = true;
  try {
    await call('POST', `/alerts/${encodeURIComponent(row.dataset.alert)}/${b.dataset.action}`);
    location.reload();
  } catch (e) {
    status.textContent = e.message;
    b.disabled = false;
  }
});
