// User management for admins, through the API.
import { call } from './api.js';

const form = document.getElementById('user-form');
const err = document.getElementById('user-error');

function show(name, password) {
  document.getElementById('user-name').textContent = name;
  document.getElementById('user-password').textContent = password;
  document.getElementById('user-result').hidden = false;
}

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  err.textContent = '';
  try {
    const r = await call('POST', '/users', { name: form.name.value, role: form.role.value });
    show(r.user.name, r.password);
    form.reset();
  } catch (e) {
    err.textContent = e.message;
  }
});

document.addEventListener('click', async (ev) => {
  const b = ev.target.closest('button[data-reset], button[data-delete]');
  if (!b) return;
  err.textContent = '';
  const name = b.dataset.name;
  try {
    if (b.dataset.reset) {
      if (!confirm('Reset the password of ' + name + '?')) return;
      const r = await call('POST', '/users/' + b.dataset.reset + '/password');
      show(name, r.password);
    } else {
      if (!confirm('Delete ' + name + '?')) return;
      await call('DELETE', '/users/' + b.dataset.delete);
      location.reload();
    }
  } catch (e) {
    err.textContent = e.message;
  }
});
