package telnet

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"time"

	"github.com/decnet/decnet/internal/bait"
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/authpolicy"
	"github.com/decnet/decnet/internal/service/serve"
	"github.com/decnet/decnet/internal/shell"
)

// Port is the Telnet port.
const Port = 23

// Telnet protocol bytes (RFC 854 and the option RFCs).
const (
	iac  = 255
	dont = 254
	do   = 253
	wont = 252
	will = 251
	sb   = 250
	se   = 240

	optEcho     = 1
	optSGA      = 3
	optTType    = 24
	optNAWS     = 31
	optTSpeed   = 32
	optXDisplay = 35
	optNewEnv   = 39
)

const (
	maxLine      = 4096
	maxSubneg    = 512
	maxAttempts  = 3
	loginTimeout = 60 * time.Second
)

// Server is the Telnet service of one decky.
type Server struct {
	env     serve.Env
	policy  *authpolicy.Policy
	machine shell.Machine
	banner  string
	// failDelay returns the wait before "Login incorrect" (login(1) sleeps
	// about 3 s); tests shorten it.
	failDelay func() time.Duration
	// spawn returns the wait before the opening negotiation: inetd's fork
	// and exec of telnetd; none for busybox telnetd, a daemon.
	spawn func() time.Duration
}

// inetdSpawn is how long inetd takes from accepting a connection to the
// first byte of the telnetd it forks and executes for it. Debian 12's
// telnetd (inetutils 2.4) under openbsd-inetd answered a client on loopback
// after 1.58-2.34 ms (40 connections on a 2-core machine: median 1.70 ms,
// most within 0.4 ms of the fastest); an answer within the same tenth of a
// millisecond of the connection every time is what potsnitch's
// uniform_timing and instant_connection look for. A floor and an
// exponential tail of mean 0.2 ms give that shape, capped at 40 ms (Go's
// timers wake on the millisecond on this machine: the decky answered after
// 2.2-2.6 ms).
func inetdSpawn(uniform func() float64) time.Duration {
	return serve.ProcessStart(1550*time.Microsecond, 200*time.Microsecond, 1, 40*time.Millisecond, uniform)
}

// New builds the Telnet service; it starts nothing.
func New(env serve.Env) (serve.Server, error) {
	cfg := serve.SettingsOf(env, defaults)
	s := &Server{env: env, policy: authpolicy.New(cfg.Logins),
		machine:   cfg.Machine(env.Persona.Distro, env.Persona.Hostname, env.Identity, cfg.User),
		failDelay: func() time.Duration { return 2500*time.Millisecond + time.Duration(rand.IntN(1000))*time.Millisecond }}
	s.spawn = func() time.Duration { return inetdSpawn(rand.Float64) }
	if s.machine.Busybox() {
		s.spawn = func() time.Duration { return 0 }
	}
	s.machine.Bait = env.Bait
	s.machine.Drops = func() (uint64, []bait.File) { return env.Live.Files(bait.Shell) }
	if cfg.Banner != nil {
		s.banner = *cfg.Banner
	} else if !s.machine.Busybox() {
		// util-linux login prints /etc/issue, which the distro fills in.
		s.banner = fmt.Sprintf("%s\n\n", issueName(env.Persona.Distro.PrettyName))
	}
	return s, nil
}

// issueName is /etc/issue's first line without the escapes (Debian:
// "Debian GNU/Linux 12 \n \l").
func issueName(pretty string) string {
	return strings.TrimSuffix(strings.Replace(pretty, " (", " ", 1), ")")
}

// Serve listens on port 23 of every decky address until ctx is done.
func (s *Server) Serve(ctx context.Context) error {
	return serve.TCP(ctx, s.env, Port, s.handle)
}

// term is the Telnet line discipline on one connection: it strips option
// negotiation from the input (recording it), echoes when asked, and
// converts line endings.
type term struct {
	w       io.Writer
	r       *bufio.Reader
	echo    bool
	opts    []string
	ttype   string
	cols    int
	rows    int
	sawNeg  bool
	lastCR  bool
	outRepl *strings.Replacer
}

func (t *term) write(s string) error {
	_, err := io.WriteString(t.w, t.outRepl.Replace(s))
	return err
}

// readByte returns the next data byte, handling IAC sequences.
func (t *term) readByte() (byte, error) {
	for {
		b, err := t.r.ReadByte()
		if err != nil {
			return 0, err
		}
		if b != iac {
			return b, nil
		}
		cmd, err := t.r.ReadByte()
		if err != nil {
			return 0, err
		}
		switch cmd {
		case iac:
			return iac, nil
		case do, dont, will, wont:
			opt, err := t.r.ReadByte()
			if err != nil {
				return 0, err
			}
			t.sawNeg = true
			if len(t.opts) < 64 {
				t.opts = append(t.opts, fmt.Sprintf("%s %d", map[byte]string{do: "DO", dont: "DONT", will: "WILL", wont: "WONT"}[cmd], opt))
			}
			if cmd == will && opt == optTType {
				// Ask for the terminal type, as telnetd does.
				t.w.Write([]byte{iac, sb, optTType, 1, iac, se})
			}
		case sb:
			if err := t.subneg(); err != nil {
				return 0, err
			}
		}
	}
}

// subneg reads one bounded subnegotiation.
func (t *term) subneg() error {
	var data []byte
	for {
		b, err := t.r.ReadByte()
		if err != nil {
			return err
		}
		if b == iac {
			nb, err := t.r.ReadByte()
			if err != nil {
				return err
			}
			if nb == se {
				break
			}
			b = nb
		}
		if len(data) >= maxSubneg {
			return errors.New("telnet subnegotiation too long")
		}
		data = append(data, b)
	}
	if len(data) == 0 {
		return nil
	}
	switch data[0] {
	case optNAWS:
		if len(data) >= 5 {
			t.cols, t.rows = int(data[1])<<8|int(data[2]), int(data[3])<<8|int(data[4])
		}
	case optTType:
		if len(data) >= 2 && data[1] == 0 {
			t.ttype = event.Text(data[2:], 64)
		}
	}
	return nil
}

// readLine reads one line, echoing as the terminal asked; hidden lines
// (passwords) are not echoed.
func (t *term) readLine(hidden bool) (string, error) {
	var line []byte
	for {
		b, err := t.readByte()
		if err != nil {
			if len(line) > 0 && errors.Is(err, io.EOF) {
				return string(line), nil
			}
			return "", err
		}
		switch {
		case b == '\n' && t.lastCR:
			t.lastCR = false
			continue
		case b == 0 && t.lastCR:
			t.lastCR = false
			continue
		case b == '\r' || b == '\n':
			t.lastCR = b == '\r'
			if t.echo {
				t.write("\n")
			}
			return string(line), nil
		case b == 0x7f || b == 0x08:
			t.lastCR = false
			if len(line) > 0 {
				line = line[:len(line)-1]
				if t.echo && !hidden {
					t.w.Write([]byte("\b \b"))
				}
			}
			continue
		case b == 0x03: // Ctrl-C
			t.lastCR = false
			if t.echo {
				t.write("^C\n")
			}
			return "", errInterrupt
		case b == 0x04 && len(line) == 0: // Ctrl-D
			return "", io.EOF
		}
		t.lastCR = false
		if len(line) >= maxLine {
			continue // drop the excess, like a full tty buffer
		}
		line = append(line, b)
		if t.echo && !hidden {
			t.w.Write([]byte{b})
		}
	}
}

var errInterrupt = errors.New("interrupt")

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (s *Server) handle(ctx context.Context, c *serve.Conn) {
	if d := s.spawn(); d > 0 && !serve.Sleep(ctx, d) {
		return
	}
	t := &term{w: c, r: bufio.NewReaderSize(c, 4096), echo: true, outRepl: strings.NewReplacer("\r\n", "\r\n", "\n", "\r\n")}
	if s.machine.Busybox() {
		// busybox telnetd's opening: DO ECHO, DO NAWS, WILL ECHO, WILL SGA.
		if _, err := c.Write([]byte{iac, do, optEcho, iac, do, optNAWS, iac, will, optEcho, iac, will, optSGA}); err != nil {
			return
		}
	} else {
		// netkit/inetutils telnetd asks for the terminal first (DO TTYPE,
		// TSPEED, XDISPLOC, NEW-ENVIRON) and waits for the answer before
		// it takes over echoing.
		if _, err := c.Write([]byte{iac, do, optTType, iac, do, optTSpeed, iac, do, optXDisplay, iac, do, optNewEnv}); err != nil {
			return
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := t.r.Peek(1); err != nil && !isTimeout(err) {
			return
		}
		c.SetReadDeadline(time.Time{})
		c.SetCloseReason("")
		if _, err := c.Write([]byte{iac, will, optEcho, iac, will, optSGA, iac, do, optNAWS}); err != nil {
			return
		}
	}
	src := c.Session.Source().IP
	var sh *shell.Shell
	negReported := false
	reportNeg := func() {
		if negReported || !t.sawNeg {
			return
		}
		negReported = true
		sum := sha256.Sum256([]byte(strings.Join(t.opts, ",")))
		c.Session.Emit(event.Event{Type: "telnet.client.negotiate", Fields: map[string]any{
			"options": t.opts, "options_sha256": hex.EncodeToString(sum[:]), "ttype": t.ttype, "cols": t.cols, "rows": t.rows}})
	}
	if s.banner != "" {
		t.write(s.banner)
	}
	deadline := time.Now().Add(loginTimeout)
	for attempt := 0; attempt < maxAttempts && sh == nil; attempt++ {
		if time.Now().After(deadline) {
			t.write("\nLogin timed out after 60 seconds.\n")
			c.SetCloseReason("timeout")
			return
		}
		if err := t.write(s.machine.ShortHostname() + " login: "); err != nil {
			return
		}
		user, err := t.readLine(false)
		if err != nil {
			if errors.Is(err, errInterrupt) {
				continue
			}
			return
		}
		reportNeg()
		user = strings.TrimSpace(user)
		if user == "" {
			attempt--
			continue
		}
		t.write("Password: ")
		pass, err := t.readLine(true)
		if err != nil && !errors.Is(err, errInterrupt) {
			return
		}
		t.write("\n")
		cred := event.NewCredential("plaintext", "password", user, []byte(pass), true)
		if s.policy.Accept(src, user, []byte(pass)) {
			c.Session.Emit(event.Event{Type: "telnet.login.success", Outcome: "success", Credential: cred})
			sh = shell.New(s.machine, user)
			sh.Login = true
			break
		}
		c.Session.Emit(event.Event{Type: "telnet.login.failed", Outcome: "failure", Credential: cred})
		// login(1) pauses before it answers, without holding up anyone else.
		select {
		case <-ctx.Done():
			return
		case <-time.After(s.failDelay()):
		}
		t.write("\nLogin incorrect\n")
	}
	if sh == nil {
		c.SetCloseReason("server")
		return
	}
	sh.OnFetch = func(f shell.Fetch) {
		c.Session.Emit(event.Event{Type: "telnet.file.fetch", Fields: map[string]any{"tool": f.Tool, "url": event.Text([]byte(f.URL), 2048)}})
	}
	t.write(sh.M.Motd())
	pending := "" // lines of a command bash has not read to its end
	for !sh.Exited {
		prompt := sh.Prompt()
		if pending != "" {
			prompt = "> "
		}
		if err := t.write(prompt); err != nil {
			return
		}
		line, err := t.readLine(false)
		if errors.Is(err, errInterrupt) {
			pending = ""
			continue
		}
		if err != nil {
			return
		}
		if line = pending + line; shell.Incomplete(line) {
			pending = line + "\n"
			continue
		}
		pending = ""
		if strings.TrimSpace(line) == "" {
			continue
		}
		c.Session.Emit(event.Event{Type: "telnet.command.input", Fields: map[string]any{
			"command": event.Text([]byte(line), event.MaxField), "command_b64": base64.StdEncoding.EncodeToString([]byte(line)),
			"cwd": sh.Cwd, "user": sh.User, "known": shell.Known(firstWord(line))}})
		var out strings.Builder
		sh.Run(line, &out)
		if err := t.write(out.String()); err != nil {
			return
		}
	}
	c.SetCloseReason("client")
}

func firstWord(line string) string {
	f := strings.Fields(line)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}
