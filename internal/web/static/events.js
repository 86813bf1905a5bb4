// The events filter: leave empty fields out of the URL, and let a custom
// time range win over the preset.
const form = document.getElementById('filters');
form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const params = new URLSearchParams();
  for (const [k, v] of new FormData(form)) {
    if (typeof v === 'string' && v.trim() !== '') params.append(k, v.trim());
  }
  if (params.has('since')) params.delete('range');
  const q = params.toString();
  location.assign('/events' + (q ? '?' + q : ''));
});
