// Replays a session's commands in order, as they were typed.
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
