package ssh

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	xssh "github.com/decnet/decnet/internal/service/ssh/internal/transport"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/shell"
)

func nopLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// maxLine bounds one line of interactive input.
const maxLine = 16 << 10

// maxChanEvents bounds the channel.request events of one channel (a
// client can send window-change in a loop).
const maxChanEvents = 64

// session is one "session" channel.
type session struct {
	cn    *conn
	id    int
	ch    xssh.Channel
	reqs  <-chan *xssh.Request
	start time.Time

	pty        bool
	term       string
	cols, rows uint32
	env        map[string]string
	events     int

	done chan struct{} // closed when the channel's program ends
	rec  *recorder
}

func newSession(cn *conn, id int, ch xssh.Channel, reqs <-chan *xssh.Request) *session {
	return &session{cn: cn, id: id, ch: ch, reqs: reqs, start: time.Now(), env: map[string]string{},
		cols: 80, rows: 24, term: "xterm", done: make(chan struct{})}
}

func (s *session) emit(typ string, f map[string]any) {
	f["channel_id"] = s.id
	s.cn.sess.Emit(event.Event{Type: typ, Fields: f})
}

func (s *session) request(kind string, f map[string]any) {
	if s.events++; s.events > maxChanEvents {
		return
	}
	f["request"] = kind
	s.emit("ssh.channel.request", f)
}

// serve answers the channel's requests until the client closes it or the
// program started on it ends.
func (s *session) serve() {
	defer s.ch.Close()
	started := false
	for {
		var r *xssh.Request
		var ok bool
		if started {
			select {
			case r, ok = <-s.reqs:
			case <-s.done:
				s.finish()
				return
			}
		} else {
			r, ok = <-s.reqs
		}
		if !ok {
			if started {
				<-s.done
				s.finish()
			}
			return
		}
		reply := false
		switch r.Type {
		case "pty-req":
			var p struct {
				Term          string
				Cols, Rows    uint32
				Width, Height uint32
				Modes         string
			}
			if xssh.Unmarshal(r.Payload, &p) == nil {
				s.pty, s.term, s.cols, s.rows = true, p.Term, clampDim(p.Cols, 80), clampDim(p.Rows, 24)
				reply = true
				s.request(r.Type, map[string]any{"term": event.Text([]byte(p.Term), 64), "cols": p.Cols, "rows": p.Rows})
			}
		case "env":
			var p struct{ Name, Value string }
			if xssh.Unmarshal(r.Payload, &p) == nil {
				// Debian's AcceptEnv LANG LC_*.
				reply = p.Name == "LANG" || strings.HasPrefix(p.Name, "LC_")
				if reply && len(s.env) < 64 {
					s.env[p.Name] = p.Value
				}
				s.request(r.Type, map[string]any{"env_name": event.Text([]byte(p.Name), 256), "env_value": event.Text([]byte(p.Value), 1024)})
			}
		case "window-change":
			var p struct{ Cols, Rows, Width, Height uint32 }
			if xssh.Unmarshal(r.Payload, &p) == nil {
				s.cols, s.rows = clampDim(p.Cols, 80), clampDim(p.Rows, 24)
				s.request(r.Type, map[string]any{"cols": p.Cols, "rows": p.Rows})
				if s.rec != nil {
					s.rec.resize(s.cols, s.rows)
				}
			}
		case "shell":
			if !started {
				started, reply = true, true
				s.request(r.Type, map[string]any{})
				go s.run(s.shell)
			}
		case "exec":
			var p struct{ Command string }
			if !started && xssh.Unmarshal(r.Payload, &p) == nil {
				started, reply = true, true
				s.request(r.Type, map[string]any{"command": event.Text([]byte(p.Command), event.MaxField)})
				go s.run(func() uint32 { return s.exec(p.Command) })
			}
		case "subsystem":
			var p struct{ Name string }
			if !started && xssh.Unmarshal(r.Payload, &p) == nil {
				s.request(r.Type, map[string]any{"subsystem": event.Text([]byte(p.Name), 256)})
				if p.Name == "sftp" {
					started, reply = true, true
					go s.run(s.sftp)
				}
			}
		case "x11-req", "auth-agent-req@openssh.com", "signal", "break":
			s.request(r.Type, map[string]any{})
		}
		if r.WantReply {
			_ = r.Reply(reply, nil)
		}
	}
}

func clampDim(v, def uint32) uint32 {
	if v == 0 || v > 1000 {
		return def
	}
	return v
}

// run runs the channel's program and reports its exit status.
func (s *session) run(f func() uint32) {
	defer close(s.done)
	code := f()
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], code)
	_, _ = s.ch.SendRequest("exit-status", false, b[:])
	_ = s.ch.CloseWrite()
}

func (s *session) finish() {
	if s.rec != nil {
		s.rec.save(s)
	}
}

// command records one command line as ssh.command.input.
func (s *session) command(sh *shell.Shell, line string, interactive bool, code int) {
	args := strings.Fields(line)
	name := ""
	if len(args) > 0 {
		name = args[0]
	}
	if len(args) > 32 {
		args = args[:32]
	}
	s.emit("ssh.command.input", map[string]any{
		"command_line": event.Text([]byte(line), event.MaxField), "command_b64": base64.StdEncoding.EncodeToString(capBytes([]byte(line), 65536)),
		"args": textList(args), "working_directory": sh.Cwd, "interactive": interactive,
		"user": event.Text([]byte(sh.User), 256), "known": shell.Known(name), "exit_code": code,
	})
}

func capBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// exec runs an exec request: scp in sink mode, a shell reading stdin, or
// one command line.
func (s *session) exec(cmd string) uint32 {
	fields := strings.Fields(cmd)
	if len(fields) > 0 && (fields[0] == "scp" || strings.HasSuffix(fields[0], "/scp")) {
		s.command(s.cn.shell(), cmd, false, 0)
		return s.scp(fields[1:])
	}
	sh := s.cn.shell()
	trim := strings.TrimSpace(cmd)
	switch trim {
	case "sh", "bash", "/bin/sh", "/bin/bash", "sh -s", "bash -s", "sh -i", "bash -i":
		return s.stdinShell(sh)
	}
	var out bytes.Buffer
	code := sh.Run(cmd, &out)
	s.command(sh, cmd, false, code)
	_, _ = s.ch.Write(out.Bytes())
	if sh.Exited {
		code = sh.ExitCode
	}
	return uint32(code)
}

// stdinShell runs a shell without a terminal: commands come from stdin,
// one per line, and nothing is echoed or prompted.
func (s *session) stdinShell(sh *shell.Shell) uint32 {
	r := bufio.NewReaderSize(io.LimitReader(s.ch, 64<<20), maxLine)
	code := 0
	pending := ""
	for {
		line, err := r.ReadString('\n')
		if len(line) > maxLine {
			line = line[:maxLine]
		}
		if line = pending + line; err == nil && shell.Incomplete(strings.TrimRight(line, "\r\n")) {
			pending = line
			continue
		}
		pending = ""
		if strings.TrimSpace(line) != "" {
			var out bytes.Buffer
			code = sh.Run(line, &out)
			s.command(sh, strings.TrimRight(line, "\r\n"), false, code)
			_, _ = s.ch.Write(out.Bytes())
			if sh.Exited {
				return uint32(sh.ExitCode)
			}
		}
		if err != nil {
			return uint32(code)
		}
	}
}

// shell runs a shell request: with a pty, an interactive login shell with
// line editing and a transcript; without, a stdin shell.
func (s *session) shell() uint32 {
	sh := s.cn.shell()
	if !s.pty {
		return s.stdinShell(sh)
	}
	sh.Login = true
	sh.Cols = int(s.cols)
	if s.term != "" {
		sh.Env["TERM"] = s.term
	}
	for k, v := range s.env {
		sh.Env[k] = v
	}
	s.rec = newRecorder(s.cols, s.rows, s.term, sh.Env["SHELL"])
	w := &termWriter{w: s.ch, rec: s.rec}
	io.WriteString(w, s.cn.srv.banner(sh, s.cn.src))
	io.WriteString(w, sh.Prompt())
	var line []byte
	pending := "" // lines of a command bash has not read to its end
	buf := make([]byte, 4096)
	esc := 0
	for {
		n, err := s.ch.Read(buf)
		if n > 0 {
			s.rec.input(buf[:n])
		}
		for _, c := range buf[:n] {
			if esc > 0 { // swallow escape sequences (arrows, function keys)
				if esc == 1 && c != '[' && c != 'O' {
					esc = 0
				} else if esc >= 2 && (c >= 0x40 && c <= 0x7e) {
					esc = 0
				} else {
					esc++
					if esc > 16 {
						esc = 0
					}
				}
				continue
			}
			switch c {
			case '\r', '\n':
				io.WriteString(w, "\r\n")
				text := pending + string(line)
				line = line[:0]
				if shell.Incomplete(text) {
					// bash reads on (a here-document, a function, a loop)
					// behind its PS2 prompt.
					pending = text + "\n"
					io.WriteString(w, "> ")
					continue
				}
				pending = ""
				if strings.TrimSpace(text) != "" {
					var out bytes.Buffer
					code := sh.Run(text, &out)
					s.command(sh, text, true, code)
					w.Write(out.Bytes())
					if sh.Exited {
						io.WriteString(w, "logout\r\n")
						return uint32(sh.ExitCode)
					}
				}
				io.WriteString(w, sh.Prompt())
			case 0x7f, 0x08:
				if len(line) > 0 {
					// Erase one UTF-8 character.
					i := len(line) - 1
					for i > 0 && line[i]&0xc0 == 0x80 {
						i--
					}
					line = line[:i]
					io.WriteString(w, "\b \b")
				}
			case 0x03: // Ctrl-C
				io.WriteString(w, "^C\r\n")
				line, pending = line[:0], ""
				io.WriteString(w, sh.Prompt())
			case 0x04: // Ctrl-D
				if len(line) == 0 {
					io.WriteString(w, "logout\r\n")
					return 0
				}
			case 0x15: // Ctrl-U
				for range line {
					io.WriteString(w, "\b \b")
				}
				line = line[:0]
			case 0x0c: // Ctrl-L
				io.WriteString(w, "\x1b[H\x1b[2J"+sh.Prompt()+string(line))
			case 0x1b:
				esc = 1
			case '\t':
			default:
				if c < 0x20 {
					continue
				}
				if len(line) < maxLine {
					line = append(line, c)
					w.Write([]byte{c})
				}
			}
		}
		if err != nil {
			return 0
		}
	}
}

// termWriter writes to a terminal: \n becomes \r\n, and the bytes go into
// the transcript.
type termWriter struct {
	w   io.Writer
	rec *recorder
}

func (t *termWriter) Write(p []byte) (int, error) {
	out := bytes.ReplaceAll(bytes.ReplaceAll(p, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n"))
	t.rec.output(out)
	_, err := t.w.Write(out)
	return len(p), err
}

// banner is what sshd and PAM print before the first prompt.
func (s *Server) banner(sh *shell.Shell, src string) string {
	m := sh.M
	var b strings.Builder
	if s.motd != "" {
		b.WriteString(s.motd)
		if !strings.HasSuffix(s.motd, "\n") {
			b.WriteString("\n")
		}
	} else {
		b.WriteString(m.Motd())
	}
	r := s.env.Identity.Rand("lastlogin")
	last := time.Now().Add(-time.Duration(2+r.IntN(200)) * time.Hour)
	b.WriteString("Last login: " + last.Format("Mon Jan _2 15:04:05 2006") + fmt.Sprintf(" from 10.%d.%d.%d\n", r.IntN(8), r.IntN(256), 2+r.IntN(250)))
	return b.String()
}
