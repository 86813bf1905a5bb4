package redis

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/serve"
)

// Port is the port Redis listens on.
const Port = 6379

// Caps of what one command.input event carries.
const (
	maxEventArgs   = 32
	maxEventArgLen = 512
	maxEventB64    = 64 << 10
)

// Server is the Redis emulation of one decky.
type Server struct {
	env      serve.Env
	log      *slog.Logger
	build    build
	dialect  dialect
	password string
	store    *store
	now      func() time.Time

	mu         sync.Mutex
	config     map[string]string
	masterHost string
	masterPort string
	lastSave   time.Time
	dirty      int

	clientID    atomic.Int64
	connections atomic.Int64
	commands    atomic.Int64
	clients     atomic.Int64
	errors      atomic.Int64
}

var _ serve.Server = (*Server)(nil)

// New builds the Redis service of one decky; it starts nothing.
func New(env serve.Env) (serve.Server, error) {
	log := env.Logger()
	s := &Server{env: env, log: log, now: time.Now}
	// Over the limits, answer as Redis past maxclients does.
	s.env.Refuse = func(c net.Conn) { _, _ = c.Write([]byte("-ERR max number of clients reached\r\n")) }
	cfg := serve.SettingsOf(env, defaults)
	s.build = buildFor(env.Persona.Distro.Slug, strings.TrimSpace(cfg.Version))
	s.dialect = parseDialect(s.build.version)
	s.password = cfg.Password
	s.store = newStore(env.Identity, s.now)
	s.config = defaultConfig(s)
	r := env.Identity.Rand("redis-counters")
	s.clientID.Store(int64(3 + r.IntN(400)))
	s.connections.Store(int64(20 + r.IntN(5000)))
	s.commands.Store(int64(1000 + r.IntN(900000)))
	s.lastSave = s.bootTime().Add(time.Duration(r.IntN(3600)) * time.Second)
	return s, nil
}

// Serve implements serve.Server.
func (s *Server) Serve(ctx context.Context) error {
	return serve.TCP(ctx, s.env, Port, s.handle)
}

func (s *Server) bootTime() time.Time {
	now := s.now()
	return now.Add(-s.env.Identity.Uptime(now)).Truncate(time.Second)
}

// securityAttack is what Redis logs when it closes on "POST" or "Host:".
const securityAttack = "Possible SECURITY ATTACK detected. It looks like somebody is sending POST or Host: commands to Redis. This is likely due to an attacker attempting to use Cross Protocol Scripting to compromise your Redis instance. Connection aborted."

// conn is one client's state.
type conn struct {
	*serve.Conn
	srv    *Server
	w      *writer
	db     int
	authed bool
	name   string
	id     int64
	start  time.Time
	last   string
}

func (s *Server) handle(ctx context.Context, c *serve.Conn) {
	s.connections.Add(1)
	s.clients.Add(1)
	defer s.clients.Add(-1)
	cn := &conn{Conn: c, srv: s, w: &writer{bw: bufio.NewWriterSize(c, 16<<10)}, authed: s.requirepass() == "",
		id: s.clientID.Add(1), start: s.now()}
	br := bufio.NewReaderSize(c, 16<<10)
	for ctx.Err() == nil {
		args, err := readCommand(br)
		if err != nil {
			var pe *protoError
			if errors.As(err, &pe) {
				c.Session.Emit(event.Event{Type: "redis.protocol.error", Fields: map[string]any{"error": pe.Error()}})
				cn.w.err("ERR " + pe.Error())
				_ = cn.w.flush()
				c.SetCloseReason("error")
			} else if !errors.Is(err, io.EOF) {
				c.SetCloseReason("error")
			}
			return
		}
		if len(args) == 0 {
			if br.Buffered() == 0 && cn.w.flush() != nil {
				return
			}
			continue
		}
		if n := strings.ToLower(string(args[0])); n == "post" || n == "host:" {
			// Redis's securityWarningCommand: an HTTP request sent to
			// Redis (cross protocol scripting). It logs and frees the
			// client, replies still queued included.
			c.Session.Emit(event.Event{Type: "redis.protocol.error", Fields: map[string]any{"error": securityAttack}})
			c.SetCloseReason("error")
			return
		}
		s.commands.Add(1)
		quit := cn.dispatch(args)
		if br.Buffered() == 0 || quit {
			if err := cn.w.flush(); err != nil {
				return
			}
		}
		if quit {
			return
		}
	}
}

// emitCommand records one command: its name, its arguments as text (the
// first ones, cut) and every argument losslessly in base64.
func (cn *conn) emitCommand(args [][]byte, extra map[string]any) {
	name := strings.ToLower(event.Text(args[0], 64))
	text := make([]string, 0, min(len(args)-1, maxEventArgs))
	b64 := make([]string, 0, len(args)-1)
	var truncated []string
	total := 0
	for i, a := range args[1:] {
		if i < maxEventArgs {
			if len(a) > maxEventArgLen {
				truncated = appendOnce(truncated, "args")
			}
			text = append(text, event.Text(a, maxEventArgLen))
		} else {
			truncated = appendOnce(truncated, "args")
		}
		enc := base64.StdEncoding.EncodeToString(a)
		if total+len(enc) > maxEventB64 {
			truncated = appendOnce(truncated, "args_b64")
			continue
		}
		total += len(enc)
		b64 = append(b64, enc)
	}
	f := map[string]any{"command": name, "args": text, "args_b64": b64, "argc": len(args) - 1, "db": cn.db}
	for k, v := range extra {
		f[k] = v
	}
	cn.Session.Emit(event.Event{Type: "redis.command.input", Fields: f, Truncated: truncated})
}

func appendOnce(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

// writer encodes RESP2 replies.
type writer struct {
	bw   *bufio.Writer
	werr error
}

func (w *writer) raw(s string) {
	if w.werr == nil {
		_, w.werr = w.bw.WriteString(s)
	}
}

func (w *writer) simple(s string) { w.raw("+" + s + "\r\n") }

// err writes an error reply; newlines become spaces as Redis does, so an
// attacker's argument cannot inject a reply.
func (w *writer) errReply(s string) {
	s = strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
	w.raw("-" + s + "\r\n")
}

func (w *writer) err(s string)    { w.errReply(s) }
func (w *writer) integer(n int64) { w.raw(":" + strconv.FormatInt(n, 10) + "\r\n") }
func (w *writer) nilBulk()        { w.raw("$-1\r\n") }
func (w *writer) array(n int)     { w.raw("*" + strconv.Itoa(n) + "\r\n") }

func (w *writer) bulk(b []byte) {
	w.raw("$" + strconv.Itoa(len(b)) + "\r\n")
	if w.werr == nil {
		_, w.werr = w.bw.Write(b)
	}
	w.raw("\r\n")
}

func (w *writer) bulkString(s string) { w.bulk([]byte(s)) }

func (w *writer) strings(ss []string) {
	w.array(len(ss))
	for _, s := range ss {
		w.bulkString(s)
	}
}

func (w *writer) flush() error {
	if w.werr != nil {
		return w.werr
	}
	return w.bw.Flush()
}

func itoa(n int) string { return strconv.Itoa(n) }

func fmtFloat(f float64, prec int) string { return strconv.FormatFloat(f, 'f', prec, 64) }
