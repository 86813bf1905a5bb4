// Sign-in and the forced password change, through the JSON API.
import { call, setCSRF } from './api.js';

const loginForm = document.getElementById('login-form');
const changeForm = document.getElementById('change-form');
const errorBox = document.getElementById('auth-error');

function next(form) {
  const n = form.dataset.next || '/';
  return n.startsWith('/') && !n.startsWith('//') ? n : '/';
}

function fail(err) {
  errorBox.textContent = err.message || String(err);
}

loginForm.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  errorBox.textContent = '';
  const password = loginForm.password.value;
  try {
    const r = await call('POST', '/auth/login', { username: loginForm.username.value, password });
    setCSRF(r.csrf_token);
    if (r.user.must_change_password) {
      loginForm.hidden = true;
      changeForm.hidden = false;
      changeForm.current.value = password;
      changeForm.new.focus();
      return;
    }
    location.assign(next(loginForm));
  } catch (err) {
    fail(err);
    loginForm.password.select();
  }
});

changeForm.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  errorBox.textContent = '';
  if (changeForm.new.value !== changeForm.confirm.value) {
    fail(new Error('The two new passwords differ.'));
    changeForm.confirm.focus();
    return;
  }
  try {
    await call('POST', '/auth/password', { current_password: changeForm.current.value, new_password: changeForm.new.value });
    location.assign(next(changeForm));
  } catch (err) {
    fail(err);
  }
});

if (!changeForm.hidden) changeForm.current.focus();
