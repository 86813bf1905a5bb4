// Calls to the JSON API with the session cookie and, for changes, the
// session's CSRF token.
let csrf = document.querySelector('meta[name="csrf-token"]')?.content || '';

export function setCSRF(token) { csrf = token; }

export class APIError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export async function call(method, path, body) {
  const headers = { 'Accept': 'application/json' };
  if (method !== 'GET') headers['X-CSRF-Token'] = csrf;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const resp = await fetch('/api/v1' + path, {
    method, headers, credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (resp.status === 204) return null;
  let data = null;
  try { data = await resp.json(); } catch { /* not JSON */ }
  if (!resp.ok) {
    const e = data?.error || {};
    throw new APIError(resp.status, e.code || 'HTTP_' + resp.status, e.message || resp.statusText, e.details);
  }
  return data;
}
