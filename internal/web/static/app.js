// Every signed-in page: sign-out, and the module of the page's widgets.
import { call } from './api.js';

document.getElementById('logout')?.addEventListener('click', async () => {
  try { await call('POST', '/auth/logout'); } finally { location.assign('/login'); }
});

const modules = [
  ['feed', './feed.js'],
  ['filters', './events.js'],
  ['join-form', './hosts.js'],
  ['user-form', './users.js'],
  ['topologies', './topologies.js'],
  ['topology', './topology.js'],
  ['topology-new', './topology-new.js'],
  ['out-form', './outputs.js'],
  ['alerts', './alerts.js'],
  ['rule-form', './rules.js'],
  ['tokens', './tokens.js'],
  ['decky', './deception.js'],
];
for (const [id, mod] of modules) {
  if (document.getElementById(id)) import(mod);
}
if (document.querySelector('button.replay, button.play-cast')) import('./replay.js');
