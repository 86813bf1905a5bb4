package dockerapi

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/httpapi"
	"github.com/decnet/decnet/internal/service/serve"
)

// Port is the Engine API's plain-TCP port.
const Port = 2375

const (
	previewBytes  = 512
	maxContainers = 500
	maxImages     = 300
	minAPI        = "1.12"
)

// Server is the Docker engine emulation of one decky.
type Server struct {
	env   serve.Env
	log   *slog.Logger
	rel   release
	now   func() time.Time
	id    string
	cpus  int
	mem   int64
	start time.Time

	mu         sync.Mutex
	images     []*image
	containers []*container
	execs      map[string]*execInst
}

type execInst struct {
	id, container string
	cmd           []string
	exitCode      int
	ran, tty      bool
}

var _ serve.Server = (*Server)(nil)

// New builds the Docker engine of one decky; it starts nothing.
func New(env serve.Env) (serve.Server, error) {
	log := env.Logger()
	cfg := serve.SettingsOf(env, defaults)
	v := strings.TrimSpace(cfg.Version)
	if v == "" {
		v = "24.0.5"
	}
	s := &Server{env: env, log: log, now: time.Now, execs: map[string]*execInst{}}
	s.rel = releaseFor(v, env.Identity)
	s.id = engineID(env.Identity, s.rel.uuidID())
	r := env.Identity.Rand("docker-host")
	s.cpus = []int{2, 4, 4, 8, 8, 16}[r.IntN(6)]
	s.mem = int64(s.cpus)*2<<30 - int64(r.IntN(400))<<20
	now := s.now()
	s.start = now.Add(-env.Identity.Uptime(now))
	s.images, s.containers = seed(env.Identity, env.Persona.Hostname, now)
	return s, nil
}

// Serve implements serve.Server.
func (s *Server) Serve(ctx context.Context) error {
	return serve.TCP(ctx, s.env, Port, s.handle)
}

func (s *Server) handle(ctx context.Context, c *serve.Conn) {
	br := bufio.NewReaderSize(c, 16<<10)
	for ctx.Err() == nil {
		req, err := httpapi.ReadRequest(br, httpapi.DefaultLimits)
		if err != nil {
			var he *httpapi.Error
			if errors.As(err, &he) {
				c.Session.Emit(event.Event{Type: "docker.protocol.error", Fields: map[string]any{"error": he.Error()}})
				_ = httpapi.GoBadRequest(c, he)
				c.SetCloseReason("error")
			}
			return
		}
		if req.Minor >= 1 && req.Get("Host") == "" {
			_ = httpapi.GoBadRequest(c, &httpapi.Error{Status: 400, Reason: "missing required Host header"})
			return
		}
		x := &exchange{s: s, c: c, br: br, req: req, ctx: ctx, fields: map[string]any{}}
		keep := x.serve()
		if !keep || x.hijacked {
			return
		}
	}
}

// exchange is one request being answered.
type exchange struct {
	s        *Server
	c        *serve.Conn
	br       *bufio.Reader
	req      *httpapi.Request
	ctx      context.Context
	api      string // the API version in effect
	fields   map[string]any
	hijacked bool
	status   int
}

var versionPrefix = regexp.MustCompile(`^/v([0-9]+\.[0-9]+)(/.*)$`)

func (x *exchange) serve() bool {
	req := x.req
	path := req.UnescapedPath()
	f := x.fields
	f["method"] = event.Text([]byte(req.Method), 32)
	f["query"] = event.Text([]byte(req.RawQuery), 2048)
	f["body_size"] = req.BodySize
	if ua := req.Get("User-Agent"); ua != "" {
		f["user_agent"] = event.Text([]byte(ua), 512)
	}
	if len(req.Body) > 0 {
		f["body_preview"] = event.Text(req.Body[:min(len(req.Body), previewBytes)], previewBytes)
		if x.s.env.Quarantine != nil {
			if a, err := x.s.env.Quarantine.Put(bytes.NewReader(req.Body)); err == nil {
				f["sha256"] = a.SHA256
			}
		}
	}
	x.api = x.s.rel.api
	if m := versionPrefix.FindStringSubmatch(path); m != nil {
		x.api, path = m[1], m[2]
		f["api_version"] = m[1]
	}
	f["path"] = event.Text([]byte(path), 2048)
	keep := x.route(path)
	f["status"] = x.status
	e := event.Event{Type: "docker.request.received", Fields: f}
	if req.BodyTruncated {
		e.Truncated = []string{"body_preview"}
	}
	x.c.Session.Emit(e)
	return keep
}

// mwHeaders are the headers the engine's middlewares put on every routed
// answer.
func (x *exchange) mwHeaders() []httpapi.Header {
	return []httpapi.Header{
		{Name: "Api-Version", Value: x.s.rel.api},
		{Name: "Docker-Experimental", Value: "false"},
		{Name: "Ostype", Value: "linux"},
		{Name: "Server", Value: "Docker/" + x.s.rel.version + " (linux)"},
	}
}

// reply answers a routed request.
func (x *exchange) reply(status int, body []byte, extra ...httpapi.Header) bool {
	x.status = status
	hs := append(x.mwHeaders(), extra...)
	keep, err := httpapi.Go{Status: status, Header: hs, Body: body, Now: x.s.now()}.Write(x.c, x.req)
	return keep && err == nil
}

func (x *exchange) json(status int, v any) bool {
	return x.reply(status, httpapi.GoJSON(v), httpapi.Header{Name: "Content-Type", Value: "application/json"})
}

func (x *exchange) errMsg(status int, msg string) bool {
	return x.json(status, map[string]string{"message": msg})
}

// notFound is the router's own 404: no middleware headers.
func (x *exchange) notFound() bool {
	x.status = 404
	keep, err := httpapi.Go{Status: 404, Header: []httpapi.Header{{Name: "Content-Type", Value: "application/json"}},
		Body: httpapi.GoJSON(map[string]string{"message": "page not found"}), Now: x.s.now()}.Write(x.c, x.req)
	return keep && err == nil
}

func apiLess(a, b string) bool {
	pa, pb := strings.SplitN(a, ".", 2), strings.SplitN(b, ".", 2)
	for i := 0; i < 2; i++ {
		var na, nb int
		if i < len(pa) {
			na, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			nb, _ = strconv.Atoi(pb[i])
		}
		if na != nb {
			return na < nb
		}
	}
	return false
}

func (x *exchange) route(path string) bool {
	m := x.req.Method
	if m == "OPTIONS" {
		return x.reply(200, nil)
	}
	if apiLess(x.s.rel.api, x.api) {
		return x.errMsg(400, "client version "+x.api+" is too new. Maximum supported API version is "+x.s.rel.api)
	}
	if apiLess(x.api, minAPI) {
		return x.errMsg(400, "client version "+x.api+" is too old. Minimum supported API version is "+minAPI+", please upgrade your client to a newer version")
	}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	get := m == "GET" || m == "HEAD"
	switch {
	case path == "/_ping" && get:
		return x.ping()
	case path == "/version" && get:
		return x.json(200, x.s.version())
	case path == "/info" && get:
		return x.json(200, x.s.info())
	case path == "/images/json" && get:
		return x.json(200, x.s.imageList())
	case path == "/containers/json" && get:
		return x.json(200, x.s.containerList(x.req.Query().Get("all") == "1" || x.req.Query().Get("all") == "true"))
	case path == "/containers/create" && m == "POST":
		return x.create()
	case path == "/images/create" && m == "POST":
		return x.pull()
	case len(parts) == 3 && parts[0] == "images" && parts[2] == "json" && get:
		return x.imageInspect(parts[1])
	case len(parts) >= 2 && parts[0] == "containers":
		return x.containerRoute(parts[1], strings.Join(parts[2:], "/"))
	case len(parts) == 3 && parts[0] == "exec":
		return x.execRoute(parts[1], parts[2])
	case path == "/events" && get:
		return x.events()
	case (path == "/networks" || path == "/volumes" || path == "/plugins" || path == "/secrets" || path == "/services" || path == "/nodes") && get:
		return x.listOther(path)
	}
	return x.notFound()
}

func (x *exchange) ping() bool {
	hs := []httpapi.Header{{Name: "Cache-Control", Value: "no-cache, no-store, must-revalidate"}, {Name: "Pragma", Value: "no-cache"}}
	if !strings.HasPrefix(x.s.rel.version, "20.") { // BuildKit is the default builder since 23.0
		hs = append(hs, httpapi.Header{Name: "Builder-Version", Value: "2"})
	}
	if !apiLess(x.s.rel.api, "1.44") {
		hs = append(hs, httpapi.Header{Name: "Swarm", Value: "inactive"})
	}
	if x.req.Method == "HEAD" {
		hs = append(hs, httpapi.Header{Name: "Content-Type", Value: "text/plain; charset=utf-8"}, httpapi.Header{Name: "Content-Length", Value: "0"})
		return x.reply(200, nil, hs...)
	}
	return x.reply(200, []byte("OK"), hs...)
}

func newID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// events streams nothing until the client leaves, as an idle engine does.
func (x *exchange) events() bool {
	x.status = 200
	st, err := httpapi.StartStream(x.c, x.req, 200, append(x.mwHeaders(), httpapi.Header{Name: "Content-Type", Value: "application/json"}), x.s.now())
	if err != nil {
		return false
	}
	x.hijacked = true
	x.waitClose()
	_ = st
	return false
}

// waitClose reads and drops what the client sends until it closes (the
// connection's idle and life deadlines bound it).
func (x *exchange) waitClose() {
	buf := make([]byte, 4096)
	for x.ctx.Err() == nil {
		if _, err := x.br.Read(buf); err != nil {
			return
		}
	}
}

func (x *exchange) listOther(path string) bool {
	switch path {
	case "/networks":
		var out []any
		for i, n := range []string{"bridge", "host", "none", "prod_default"} {
			drv := map[string]string{"bridge": "bridge", "host": "host", "none": "null", "prod_default": "bridge"}[n]
			out = append(out, map[string]any{"Name": n, "Id": hexID(x.s.env.Identity, "docker-net/"+n), "Created": x.s.start.Add(time.Duration(i) * time.Second).Format(time.RFC3339Nano),
				"Scope": "local", "Driver": drv, "EnableIPv6": false, "Internal": false, "Attachable": false, "Ingress": false,
				"ConfigFrom": map[string]string{"Network": ""}, "ConfigOnly": false, "Containers": map[string]any{}, "Options": map[string]any{}, "Labels": map[string]any{}})
		}
		return x.json(200, out)
	case "/volumes":
		return x.json(200, map[string]any{"Volumes": []any{map[string]any{"CreatedAt": x.s.start.Format(time.RFC3339), "Driver": "local", "Labels": map[string]string{"com.docker.compose.project": "prod", "com.docker.compose.volume": "pgdata"},
			"Mountpoint": "/var/lib/docker/volumes/prod_pgdata/_data", "Name": "prod_pgdata", "Options": nil, "Scope": "local"}}, "Warnings": nil})
	case "/plugins":
		return x.json(200, []any{})
	}
	return x.errMsg(503, "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again.")
}
