// The overview's live feed: newest events first, from the API's
// Server-Sent Events stream. Attacker text is only ever set as textContent.
const list = document.getElementById('feed');
const status = document.getElementById('feed-status');
const MAX = 50;

function item(e) {
  const li = document.createElement('li');
  const t = document.createElement('time');
  t.dateTime = e.ts;
  t.textContent = new Date(e.ts).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  const type = document.createElement('span');
  type.className = 'type';
  type.textContent = e.type;
  const where = document.createElement('span');
  where.textContent = [e.decky, e.service].filter(Boolean).join(' / ');
  li.append(t, ' ', type, ' ', where);
  if (e.src?.ip) {
    const a = document.createElement('a');
    a.href = '/attackers/' + encodeURIComponent(e.src.ip);
    a.textContent = e.src.ip;
    li.append(' ', a);
  }
  return li;
}

const source = new EventSource('/api/v1/events/stream');
source.addEventListener('open', () => {
  list.dataset.state = 'open';
  status.textContent = 'Live: new events appear here as they happen.';
});
source.addEventListener('event', (m) => {
  let e;
  try { e = JSON.parse(m.data); } catch { return; }
  list.prepend(item(e));
  while (list.children.length > MAX) list.lastElementChild.remove();
});
source.addEventListener('dropped', (m) => {
  status.textContent = 'Some events were skipped because the feed fell behind.';
});
source.addEventListener('error', () => {
  list.dataset.state = source.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting';
  status.textContent = source.readyState === EventSource.CLOSED ? 'The live feed stopped; reload the page.' : 'Reconnecting…';
});
addEventListener('pagehide', () => source.close());
