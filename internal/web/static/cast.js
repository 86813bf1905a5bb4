// An asciicast v2 player: parses the recording the SSH decky saved and
// plays its output into a small terminal model drawn as text. The screen
// is only ever written with textContent, so recorded escape sequences and
// markup stay inert.

// parseCast returns {width, height, frames: [[seconds, data], ...]} with
// the output frames only ("i" input is echoed by the shell already).
export function parseCast(text) {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length === 0) throw new Error('empty recording');
  const head = JSON.parse(lines[0]);
  if (head.version !== 2) throw new Error(`asciicast version ${head.version} is not supported`);
  const frames = [];
  for (const l of lines.slice(1)) {
    let f;
    try { f = JSON.parse(l); } catch { continue; }
    if (Array.isArray(f) && f.length >= 3 && typeof f[0] === 'number' && f[1] === 'o' && typeof f[2] === 'string') {
      frames.push([f[0], f[2]]);
    }
  }
  return { width: clamp(head.width, 20, 400, 80), height: clamp(head.height, 5, 200, 24), frames };
}

function clamp(v, lo, hi, def) {
  return Number.isInteger(v) ? Math.min(hi, Math.max(lo, v)) : def;
}

const maxLines = 5000; // scrollback kept

// Terminal keeps lines of text and a cursor; it understands what a shell
// prompt with line editing sends (CR, LF, BS, TAB, CSI cursor moves and
// erases) and ignores the rest (colours, modes, OSC titles).
export class Terminal {
  constructor(width, height) {
    this.width = width;
    this.height = height;
    this.lines = [''];
    this.row = 0;
    this.col = 0;
    this.esc = ''; // an escape sequence being read
  }

  top() { return Math.max(0, this.lines.length - this.height); }

  write(data) {
    for (const ch of data) {
      if (this.esc) { this.escape(ch); continue; }
      switch (ch) {
        case '\x1b': this.esc = ch; break;
        case '\r': this.col = 0; break;
        case '\n': this.newline(); break;
        case '\b': if (this.col > 0) this.col--; break;
        case '\t': this.col = Math.min(this.width - 1, (Math.floor(this.col / 8) + 1) * 8); break;
        case '\x07': break;
        default:
          if (ch < ' ' || ch === '\x7f') break;
          if (this.col >= this.width) { this.newline(); this.col = 0; }
          this.put(ch);
      }
    }
  }

  newline() {
    this.row++;
    while (this.lines.length <= this.row) this.lines.push('');
    if (this.lines.length > maxLines) {
      const cut = this.lines.length - maxLines;
      this.lines.splice(0, cut);
      this.row -= cut;
    }
  }

  put(ch) {
    const line = this.lines[this.row].padEnd(this.col, ' ');
    this.lines[this.row] = line.slice(0, this.col) + ch + line.slice(this.col + 1);
    this.col++;
  }

  escape(ch) {
    this.esc += ch;
    const s = this.esc;
    if (s.length === 2) {
      if (ch === '[' || ch === ']' || ch === '(' || ch === ')') return;
      this.esc = ''; // a two-byte sequence (ESC =, ESC >, ESC 7, ...)
      return;
    }
    if (s[1] === ']') { // OSC, ended by BEL or ESC \
      if (ch === '\x07' || s.endsWith('\x1b\\') || s.length > 256) this.esc = '';
      return;
    }
    if (s[1] === '(' || s[1] === ')') { this.esc = ''; return; }
    if (ch >= '@' && ch <= '~') { this.csi(s.slice(2, -1), ch); this.esc = ''; return; }
    if (s.length > 64) this.esc = '';
  }

  csi(params, cmd) {
    const priv = params.startsWith('?');
    const ns = (priv ? params.slice(1) : params).split(';').map((p) => parseInt(p, 10));
    const n = Number.isFinite(ns[0]) && ns[0] > 0 ? ns[0] : 1;
    const line = () => this.lines[this.row];
    switch (cmd) {
      case 'A': this.row = Math.max(this.top(), this.row - n); break;
      case 'B': this.row = Math.min(this.lines.length - 1, this.row + n); break;
      case 'C': this.col = Math.min(this.width - 1, this.col + n); break;
      case 'D': this.col = Math.max(0, this.col - n); break;
      case 'G': this.col = Math.min(this.width - 1, n - 1); break;
      case 'H': case 'f': {
        const r = Number.isFinite(ns[0]) && ns[0] > 0 ? ns[0] : 1;
        const c = Number.isFinite(ns[1]) && ns[1] > 0 ? ns[1] : 1;
        this.row = this.top() + Math.min(this.height, r) - 1;
        while (this.lines.length <= this.row) this.lines.push('');
        this.col = Math.min(this.width - 1, c - 1);
        break;
      }
      case 'K': {
        const mode = Number.isFinite(ns[0]) ? ns[0] : 0;
        if (mode === 0) this.lines[this.row] = line().slice(0, this.col);
        else if (mode === 1) this.lines[this.row] = ' '.repeat(this.col) + line().slice(this.col);
        else this.lines[this.row] = '';
        break;
      }
      case 'J': {
        const mode = Number.isFinite(ns[0]) ? ns[0] : 0;
        if (mode === 2 || mode === 3) {
          const t = this.top();
          for (let i = t; i < this.lines.length; i++) this.lines[i] = '';
          this.row = t;
          this.col = 0;
        } else if (mode === 0) {
          this.lines[this.row] = line().slice(0, this.col);
          this.lines.length = this.row + 1;
        }
        break;
      }
      case 'P': this.lines[this.row] = line().slice(0, this.col) + line().slice(this.col + n); break;
      case '@': {
        const l = line().padEnd(this.col, ' ');
        this.lines[this.row] = (l.slice(0, this.col) + ' '.repeat(n) + l.slice(this.col)).slice(0, this.width);
        break;
      }
      default: break; // m (colours), h/l (modes), r (scroll region), ...
    }
  }

  text() { return this.lines.map((l) => l.replace(/\s+$/, '')).join('\n'); }
}

const idleCap = 1.0; // seconds: long pauses are shortened, as asciinema does

// Player plays a parsed cast into a <pre>.
export class Player {
  constructor(cast, screen) {
    this.cast = cast;
    this.screen = screen;
    this.term = new Terminal(cast.width, cast.height);
    this.next = 0;
    this.timer = 0;
    this.onend = null;
  }

  draw() {
    this.screen.textContent = this.term.text();
    this.screen.scrollTop = this.screen.scrollHeight;
  }

  play(instant) {
    this.screen.dataset.state = 'playing';
    this.screen.setAttribute('aria-busy', 'true');
    if (instant) { this.finish(); return; }
    this.step();
  }

  step() {
    const frames = this.cast.frames;
    if (this.next >= frames.length) { this.done(); return; }
    this.term.write(frames[this.next][1]);
    this.draw();
    this.next++;
    if (this.next >= frames.length) { this.done(); return; }
    const gap = Math.min(idleCap, Math.max(0, frames[this.next][0] - frames[this.next - 1][0]));
    this.timer = setTimeout(() => this.step(), gap * 1000);
  }

  finish() {
    clearTimeout(this.timer);
    const frames = this.cast.frames;
    for (; this.next < frames.length; this.next++) this.term.write(frames[this.next][1]);
    this.draw();
    this.done();
  }

  done() {
    this.screen.dataset.state = 'done';
    this.screen.removeAttribute('aria-busy');
    if (this.onend) this.onend();
    this.onend = null;
  }
}
