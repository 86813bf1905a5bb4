// Replays a session on the attacker page: its commands typed out again,
// and its terminal recording (admins) played from the master's copy.
import { parseCast, Player } from './cast.js';

const reduce = matchMedia('(prefers-reduced-motion: reduce)').matches;
const sleep = (ms) => new Promise((r) => setTimeout(r, reduce ? 0 : ms));

async function replay(pre) {
  const cmds = [...pre.querySelectorAll('.cmd')];
  const texts = cmds.map((c) => c.textContent);
  pre.dataset.state = 'playing';
  cmds.forEach((c) => { c.textContent = ''; c.classList.add('typing'); });
  for (let i = 0; i < cmds.length; i++) {
    for (let j = 1; j <= texts[i].length; j += 2) {
      cmds[i].textContent = texts[i].slice(0, j);
      await sleep(15);
    }
    cmds[i].textContent = texts[i];
    cmds[i].classList.remove('typing');
    await sleep(150);
  }
  pre.dataset.state = 'done';
}

for (const b of document.querySelectorAll('button.replay')) {
  b.addEventListener('click', () => {
    const pre = document.getElementById(b.getAttribute('aria-controls'));
    if (pre && pre.dataset.state !== 'playing') replay(pre);
  });
}

const players = new Map(); // screen id -> the Player playing into it

async function playRecording(button) {
  const id = button.getAttribute('aria-controls');
  const screen = document.getElementById(id);
  const status = document.getElementById(`${id}-status`);
  const end = document.querySelector(`button.cast-end[aria-controls="${id}"]`);
  if (!screen || screen.dataset.state === 'playing' || screen.dataset.state === 'loading') return;
  screen.dataset.state = 'loading';
  status.textContent = 'Loading the recording…';
  let cast;
  try {
    const resp = await fetch(`/api/v1/artifacts/${encodeURIComponent(button.dataset.sha)}`, { credentials: 'same-origin' });
    if (!resp.ok) throw new Error(`the master answered ${resp.status}`);
    cast = parseCast(await resp.text());
  } catch (err) {
    screen.dataset.state = 'idle';
    status.textContent = `Could not play the recording: ${err.message}`;
    return;
  }
  const p = new Player(cast, screen);
  players.set(id, p);
  status.textContent = `Playing ${cast.frames.length} frames (${cast.width}×${cast.height}).`;
  if (end) end.disabled = false;
  p.onend = () => {
    status.textContent = 'End of the recording.';
    if (end) end.disabled = true;
  };
  p.play(reduce);
}

for (const b of document.querySelectorAll('button.play-cast')) {
  b.addEventListener('click', () => playRecording(b));
}
for (const b of document.querySelectorAll('button.cast-end')) {
  b.addEventListener('click', () => {
    const p = players.get(b.getAttribute('aria-controls'));
    if (p) p.finish();
  });
}
