package http

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"mime"
	"net"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/serve"
	"github.com/decnet/decnet/internal/service/tlsserver"
)

const (
	maxRequestsPerConn = 1000 // nginx's keepalive_requests
	previewBytes       = 2048
	bodyEventBytes     = 64 << 10
)

type server struct {
	env        serve.Env
	site       *site
	port       uint16
	tls        *tls.Config
	app        string
	customBody []byte
	rootStatus int
	files      fs.FS
	tlsCfg     *TLSSettings
}

func newServer(env serve.Env, useTLS bool) (*server, error) {
	tcfg := serve.SettingsOf(env, tlsDefaults)
	cfg := &tcfg.Settings
	if !useTLS {
		cfg = serve.SettingsOf(env, defaults)
	}
	s := &server{env: env, port: 80, app: cfg.FakeApp, rootStatus: cfg.ResponseCode, tlsCfg: tcfg}
	if s.app == "none" {
		s.app = ""
	}
	srvHeader := cfg.ServerHeader
	if srvHeader == "" {
		srvHeader = env.Persona.Distro.HTTPServer
	}
	if srvHeader == "" {
		srvHeader = "nginx"
	}
	s.site = &site{flavor: flavorOf(srvHeader), server: srvHeader, hostname: env.Persona.Hostname, port: 80, now: time.Now}
	if useTLS {
		s.port, s.site.port = 443, 443
	}
	if b := cfg.CustomBody; b != "" {
		if raw, ok := strings.CutPrefix(b, "b64:"); ok {
			dec, err := base64.StdEncoding.DecodeString(raw)
			if err != nil {
				return nil, fmt.Errorf("custom_body: %w", err)
			}
			s.customBody = dec
		} else {
			s.customBody = []byte(b)
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !useTLS {
		// Over the limits, answer as nginx's limit_conn (and IIS's
		// http.sys queue limit) does: read the request, then 503.
		s.env.Refuse = func(c net.Conn) {
			_, _ = readRequest(bufio.NewReaderSize(c, 4096), s.site.flavor == nginx)
			res := s.site.errorPage(503, "", "")
			res.close = true
			_, _ = c.Write(s.site.write(res, false))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(cfg.ExtraHeaders)) {
		s.site.extra = append(s.site.extra, Header{k, cfg.ExtraHeaders[k]})
	}
	if dir := cfg.Files; dir != "" {
		s.files = os.DirFS(dir)
	}
	if useTLS {
		cert, err := s.certificate()
		if err != nil {
			return nil, err
		}
		s.tls = tlsProfile(s.site.flavor, env.Persona.Distro, cert)
	}
	return s, nil
}

func (s *server) certificate() (tls.Certificate, error) {
	cfg := s.tlsCfg
	if c, k := cfg.TLSCert, cfg.TLSKey; c != "" || k != "" {
		cert, err := tls.X509KeyPair([]byte(c), []byte(k))
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("tls_cert/tls_key: %w", err)
		}
		return cert, nil
	}
	cn := cfg.TLSCN
	if cn == "" {
		cn = strings.ToLower(s.env.Persona.Hostname)
	}
	return tlsserver.Certificate(s.env.Identity, cn, time.Now())
}

// Serve implements serve.Server.
func (s *server) Serve(ctx context.Context) error {
	return serve.TCP(ctx, s.env, s.port, s.handle)
}

// connState is per-connection: the Digest nonce and session cookie it
// hands out are fresh for every connection.
type connState struct {
	nonce  string
	cookie string
	tls    *tlsserver.ClientHello
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *server) handle(ctx context.Context, c *serve.Conn) {
	cs := &connState{nonce: randomHex(16), cookie: randomHex(13)}
	var rw io.ReadWriter = c
	if s.tls != nil {
		tc, ch, fields, err := tlsserver.Handshake(ctx, c, s.tls)
		cs.tls = ch
		if err != nil {
			c.Session.Emit(event.Event{Type: "http.tls.handshake", Outcome: "failure", Fields: fields})
			return
		}
		c.Session.Emit(event.Event{Type: "http.tls.handshake", Outcome: "success", Fields: fields})
		rw = tc
	}
	br := bufio.NewReaderSize(rw, 4096)
	for i := 0; i < maxRequestsPerConn; i++ {
		req, err := readRequest(br, s.site.flavor == nginx)
		if err == nil && s.site.flavor == apache && climbsAboveRoot(req.Target) {
			err = errBadRequest // Apache's "AH10244: invalid URI path"
		}
		if err != nil {
			s.protocolError(c, rw, err)
			return
		}
		res, app, cred, formFields := s.respond(req, cs)
		keep := keepAlive(req) && !res.close && i < maxRequestsPerConn-1
		out := s.site.write(res, keep)
		if _, err := rw.Write(out); err != nil {
			return
		}
		s.emit(c, req, res, app, cred, formFields, len(out))
		if !keep {
			c.SetCloseReason("server")
			return
		}
	}
}

func keepAlive(req *Request) bool {
	conn := strings.ToLower(req.Get("Connection"))
	if req.Proto == "HTTP/1.0" {
		return strings.Contains(conn, "keep-alive")
	}
	return !strings.Contains(conn, "close")
}

var knownMethods = map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "DELETE": true, "OPTIONS": true, "PATCH": true, "TRACE": true, "CONNECT": true, "PROPFIND": true}

// respond answers one request as the persona's server would.
func (s *server) respond(req *Request, cs *connState) (*response, string, *event.Credential, []string) {
	var res *response
	app, cred, formFields := "", (*event.Credential)(nil), []string(nil)
	switch {
	case !knownMethods[req.Method] && s.site.flavor == apache:
		res = s.site.errorPage(501, req.Method, req.Path)
	case !knownMethods[req.Method] || req.Method == "TRACE" || req.Method == "CONNECT":
		res = s.site.errorPage(405, req.Method, req.Path)
	default:
		res, app, cred, formFields = s.route(req, cs)
		// Static content only answers GET and HEAD: nginx and IIS refuse
		// anything else with 405, Apache does for methods that would
		// change the resource.
		static := app == "" && res.status == 404
		if static && req.Method != "GET" && req.Method != "HEAD" && (s.site.flavor != apache || req.Method != "POST") {
			res = s.site.errorPage(405, req.Method, req.Path)
		}
	}
	if req.Method == "HEAD" {
		res.noBody = true
	}
	return res, app, cred, formFields
}

// file serves the operator's read-only files directory, if any.
func (s *server) file(req *Request) *response {
	if s.files == nil || (req.Method != "GET" && req.Method != "HEAD") {
		return nil
	}
	name := strings.TrimPrefix(path.Clean("/"+req.Path), "/")
	if name == "" {
		name = "index.html"
	}
	if !fs.ValidPath(name) {
		return nil
	}
	f, err := s.files.Open(filepath.ToSlash(name))
	if err != nil {
		return nil
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.IsDir() || st.Size() > 32<<20 {
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(f, 32<<20))
	if err != nil {
		return nil
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	return &response{status: 200, ctype: ct, body: body, extra: []Header{{"Last-Modified", st.ModTime().UTC().Format("Mon, 02 Jan 2006 15:04:05 GMT")}, {"Accept-Ranges", "bytes"}}}
}

func (s *server) protocolError(c *serve.Conn, w io.Writer, err error) {
	var tl errTooLarge
	status := 0
	switch {
	case errors.Is(err, errBadRequest), errors.Is(err, io.ErrUnexpectedEOF):
		status = 400
	case errors.As(err, &tl):
		status = tl.status
		if s.site.flavor == nginx && status == 431 {
			status = 494 // nginx's "Request Header Or Cookie Too Large", sent as 400
		}
	default:
		return // the client went away or timed out
	}
	res := s.site.errorPage(status, "", "")
	res.close = true
	_, _ = w.Write(s.site.write(res, false))
	c.Session.Emit(event.Event{Type: "http.protocol.error", Fields: map[string]any{"error": err.Error(), "status": status}})
	c.SetCloseReason("server")
}

func (s *server) emit(c *serve.Conn, req *Request, res *response, app string, cred *event.Credential, formFields []string, outBytes int) {
	headers := make([][2]string, 0, len(req.Headers))
	for _, h := range req.Headers {
		headers = append(headers, [2]string{event.Text([]byte(h.Name), 256), event.Text([]byte(h.Value), 1024)})
	}
	f := map[string]any{
		"method": event.Text([]byte(req.Method), 32), "path": event.Text([]byte(req.Path), 2048), "query": event.Text([]byte(req.Query), 2048),
		"version": req.Proto, "headers": headers, "user_agent": event.Text([]byte(req.Get("User-Agent")), 512),
		"host": event.Text([]byte(req.Get("Host")), 256), "status": res.status, "response_bytes": outBytes,
		"body_bytes": req.BodySize,
	}
	if app != "" {
		f["app"] = app
	}
	if len(formFields) > 0 {
		f["form_fields"] = formFields
	}
	if len(req.Body) > 0 {
		f["body_preview"] = event.Text(req.Body[:min(len(req.Body), previewBytes)], previewBytes)
		if len(req.Body) <= bodyEventBytes {
			f["body_b64"] = base64.StdEncoding.EncodeToString(req.Body)
		} else if a, err := s.env.Quarantine.Put(strings.NewReader(string(req.Body))); err == nil {
			f["body_sha256"] = a.SHA256
		}
	}
	e := event.Event{Type: "http.request.received", Fields: f, Credential: cred}
	if req.BodyTruncated {
		e.Truncated = []string{"body"}
	}
	if cred != nil {
		e.Type, e.Outcome = "http.login.failed", "failure"
	}
	c.Session.Emit(e)
}
