// when writes an RFC 3339 time as the server's pages do (funcs.go when):
// "2006-01-02 15:04:05Z", and "-" for none.
export function when(t) {
  if (!t || t.startsWith('0001-')) return '-';
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? t : d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}
