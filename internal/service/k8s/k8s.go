package k8s

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/httpapi"
	"github.com/decnet/decnet/internal/service/serve"
	"github.com/decnet/decnet/internal/service/tlsserver"
)

// Port is the API server's secure port.
const Port = 6443

const (
	previewBytes = 512
	maxBody      = 3 << 20 // the apiserver's own request limit
)

// Server is the Kubernetes API server emulation of one decky.
type Server struct {
	env  serve.Env
	log  *slog.Logger
	rel  release
	now  func() time.Time
	tls  *tls.Config
	fsID map[string][2]string // flow schema and priority level UIDs
}

var _ serve.Server = (*Server)(nil)

// New builds the API server of one decky; it starts nothing.
func New(env serve.Env) (serve.Server, error) {
	log := env.Logger()
	cfg := serve.SettingsOf(env, defaults)
	v := strings.TrimSpace(cfg.Version)
	if v == "" {
		v = "v1.27.4"
	}
	s := &Server{env: env, log: log, now: time.Now}
	s.rel = releaseFor(v, env.Identity)
	var ips []net.IP
	for _, a := range env.Addrs {
		ips = append(ips, net.IP(a.AsSlice()))
	}
	host := env.Persona.Hostname
	if host == "" {
		host = "control-plane"
	}
	cert, ca, err := certificates(env.Identity, host, ips, s.now())
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	s.tls = &tls.Config{
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"h2", "http/1.1"},
		MinVersion:   tls.VersionTLS12,
		ClientAuth:   tls.RequestClientCert,
		ClientCAs:    pool,
	}
	s.fsID = map[string][2]string{}
	for _, n := range []string{"probes", "global-default", "exempt", "catch-all"} {
		s.fsID[n] = [2]string{uuidOf(env.Identity.Bytes("k8s-fs/"+n, 16)), uuidOf(env.Identity.Bytes("k8s-pl/"+n, 16))}
	}
	return s, nil
}

func uuidOf(b []byte) string {
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:16])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// Serve implements serve.Server.
func (s *Server) Serve(ctx context.Context) error {
	return serve.TCP(ctx, s.env, Port, s.handle)
}

// looksLikeHTTP is net/http's test for a plaintext request on a TLS port.
func looksLikeHTTP(hdr [5]byte) bool {
	switch string(hdr[:]) {
	case "GET /", "HEAD ", "POST ", "PUT /", "OPTIO":
		return true
	}
	return false
}

func (s *Server) handle(ctx context.Context, c *serve.Conn) {
	tc, _, fields, err := tlsserver.Handshake(ctx, &abortableConn{Conn: c}, s.tls)
	c.Session.Emit(event.Event{Type: "k8s.tls.handshake", Fields: fields})
	if err != nil {
		var re tls.RecordHeaderError
		if errors.As(err, &re) && re.Conn != nil && looksLikeHTTP(re.RecordHeader) {
			_, _ = io.WriteString(re.Conn, "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")
		}
		c.SetCloseReason("error")
		return
	}
	st := tc.ConnectionState()
	var certCred *event.Event
	if len(st.PeerCertificates) > 0 {
		pc := st.PeerCertificates[0]
		sum := sha256.Sum256(pc.Raw)
		cred := event.NewCredential("x509_client_cert", "x509", pc.Subject.CommonName, pc.Raw, false)
		cred.Material = map[string]any{"subject": event.Text([]byte(pc.Subject.String()), 1024), "issuer": event.Text([]byte(pc.Issuer.String()), 1024),
			"organizations": pc.Subject.Organization}
		certCred = &event.Event{Type: "k8s.login.failed", Outcome: "failure", Credential: cred, Fields: map[string]any{
			"auth": "x509", "subject": event.Text([]byte(pc.Subject.String()), 1024), "issuer": event.Text([]byte(pc.Issuer.String()), 1024),
			"fingerprint": hex.EncodeToString(sum[:])}}
	}
	done := make(chan struct{})
	var once sync.Once
	finish := func() { once.Do(func() { close(done) }) }
	h := &handler{s: s, c: c, cert: certCred, proto: st.NegotiatedProtocol}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          log.New(io.Discard, "", 0),
		ConnState: func(_ net.Conn, cs http.ConnState) {
			if cs == http.StateClosed || cs == http.StateHijacked {
				finish()
			}
		},
	}
	go func() {
		select {
		case <-ctx.Done():
			_ = srv.Close()
		case <-done:
		}
	}()
	_ = srv.Serve(&oneListener{c: tc, done: done})
	<-done
}

// abortableConn lets net/http abort a pending read with a deadline in
// the past (it does so after every request): serve.Conn renews the idle
// deadline when a Read starts, which could undo an abort that came just
// before the read blocked, so a past deadline is re-applied until the
// read in progress returns.
type abortableConn struct {
	*serve.Conn
	reading atomic.Int32
	aborted atomic.Bool
}

func (a *abortableConn) Read(p []byte) (int, error) {
	a.reading.Add(1)
	defer a.reading.Add(-1)
	if a.aborted.Load() {
		return 0, os.ErrDeadlineExceeded
	}
	return a.Conn.Read(p)
}

func (a *abortableConn) SetReadDeadline(t time.Time) error {
	past := !t.IsZero() && t.Before(time.Now())
	a.aborted.Store(past)
	err := a.Conn.SetReadDeadline(t)
	if past {
		go func() {
			for i := 0; i < 100 && a.reading.Load() > 0; i++ {
				time.Sleep(2 * time.Millisecond)
				_ = a.Conn.SetReadDeadline(t)
			}
		}()
	}
	return err
}

func (a *abortableConn) SetDeadline(t time.Time) error {
	if err := a.Conn.SetDeadline(t); err != nil {
		return err
	}
	return a.SetReadDeadline(t)
}

// oneListener hands http.Server a single, already handshaken TLS
// connection and then blocks until it is done.
type oneListener struct {
	c    net.Conn
	once sync.Once
	done chan struct{}
}

func (l *oneListener) Accept() (net.Conn, error) {
	var c net.Conn
	l.once.Do(func() { c = l.c })
	if c != nil {
		return c, nil
	}
	<-l.done
	return nil, net.ErrClosed
}

func (l *oneListener) Close() error   { return nil }
func (l *oneListener) Addr() net.Addr { return l.c.LocalAddr() }

// handler answers the requests of one connection.
type handler struct {
	s     *Server
	c     *serve.Conn
	cert  *event.Event
	proto string
	mu    sync.Mutex
	sent  bool
}

// status is a metav1.Status.
func status(code int, reason, message string, details httpapi.Obj) httpapi.Obj {
	o := httpapi.O("kind", "Status", "apiVersion", "v1", "metadata", httpapi.O(), "status", "Failure", "message", message, "reason", reason)
	o = append(o, httpapi.KV{K: "details", V: details})
	if details == nil {
		o = o[:len(o)-1]
	}
	return append(o, httpapi.KV{K: "code", V: code})
}

func newAuditID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return uuidOf(b)
}

// write answers with the apiserver's headers: the audit id, no caching,
// the flow-control UIDs once a request got past authentication.
func (h *handler) write(w http.ResponseWriter, code int, ctype string, body []byte, nosniff bool, flow string) {
	hd := w.Header()
	hd.Set("Audit-Id", newAuditID())
	hd.Set("Cache-Control", "no-cache, private")
	hd.Set("Content-Type", ctype)
	if nosniff {
		hd.Set("X-Content-Type-Options", "nosniff")
	}
	if ids, ok := h.s.fsID[flow]; ok {
		hd.Set("X-Kubernetes-Pf-Flowschema-Uid", ids[0])
		hd.Set("X-Kubernetes-Pf-Prioritylevel-Uid", ids[1])
	}
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

func (h *handler) object(w http.ResponseWriter, code int, v any, flow string) {
	h.write(w, code, "application/json", httpapi.GoJSON(v), code >= 400, flow)
}

// reqInfo is the apiserver's RequestInfo for a path.
type reqInfo struct {
	resource, sub, namespace, name, group, verb string
	isResource                                  bool
}

func parseRequest(method, path string, query map[string][]string) reqInfo {
	ri := reqInfo{verb: strings.ToLower(method)}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	var rest []string
	switch {
	case len(parts) >= 3 && parts[0] == "api":
		rest = parts[2:]
	case len(parts) >= 4 && parts[0] == "apis":
		ri.group = parts[1]
		rest = parts[3:]
	default:
		return ri
	}
	ri.isResource = true
	if len(rest) >= 2 && rest[0] == "namespaces" {
		ri.namespace = rest[1]
		if len(rest) == 2 {
			ri.resource, ri.name = "namespaces", rest[1]
			ri.namespace = ""
			rest = nil
		} else {
			rest = rest[2:]
		}
	}
	if len(rest) > 0 {
		ri.resource = rest[0]
	}
	if len(rest) > 1 {
		ri.name = rest[1]
	}
	if len(rest) > 2 {
		ri.sub = rest[2]
	}
	watch := false
	if w := query["watch"]; len(w) > 0 && (w[0] == "true" || w[0] == "1") {
		watch = true
	}
	switch method {
	case "POST":
		ri.verb = "create"
	case "GET", "HEAD":
		ri.verb = "get"
		if ri.name == "" {
			ri.verb = "list"
			if watch {
				ri.verb = "watch"
			}
		}
	case "PUT":
		ri.verb = "update"
	case "PATCH":
		ri.verb = "patch"
	case "DELETE":
		ri.verb = "delete"
		if ri.name == "" {
			ri.verb = "deletecollection"
		}
	}
	return ri
}

// forbidden is the authorizer's refusal for system:anonymous.
func forbidden(ri reqInfo, path string) httpapi.Obj {
	if !ri.isResource {
		return status(403, "Forbidden", `forbidden: User "system:anonymous" cannot `+ri.verb+` path "`+path+`"`, httpapi.O())
	}
	res := ri.resource
	if ri.sub != "" {
		res += "/" + ri.sub
	}
	subject := ri.resource
	if ri.group != "" {
		subject += "." + ri.group
	}
	if ri.name != "" {
		subject += ` "` + ri.name + `"`
	}
	scope := `in the namespace "` + ri.namespace + `"`
	if ri.namespace == "" {
		scope = "at the cluster scope"
	}
	msg := subject + ` is forbidden: User "system:anonymous" cannot ` + ri.verb + ` resource "` + res + `" in API group "` + ri.group + `" ` + scope
	d := httpapi.O()
	if ri.name != "" {
		d = append(d, httpapi.KV{K: "name", V: ri.name})
	}
	if ri.group != "" {
		d = append(d, httpapi.KV{K: "group", V: ri.group})
	}
	d = append(d, httpapi.KV{K: "kind", V: ri.resource})
	return status(403, "Forbidden", msg, d)
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f := map[string]any{"method": event.Text([]byte(r.Method), 32), "path": event.Text([]byte(r.URL.Path), 2048),
		"query": event.Text([]byte(r.URL.RawQuery), 2048), "proto": r.Proto}
	if ua := r.UserAgent(); ua != "" {
		f["user_agent"] = event.Text([]byte(ua), 512)
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	f["body_size"] = len(body)
	var sha string
	if len(body) > 0 {
		f["body_preview"] = event.Text(body[:min(len(body), previewBytes)], previewBytes)
		if h.s.env.Quarantine != nil {
			if a, err := h.s.env.Quarantine.Put(bytes.NewReader(body)); err == nil {
				sha = a.SHA256
				f["sha256"] = sha
			}
		}
	}
	path := r.URL.Path
	ri := parseRequest(r.Method, path, r.URL.Query())
	f["verb"] = ri.verb
	if ri.isResource {
		res := ri.resource
		if ri.sub != "" {
			res += "/" + ri.sub
		}
		f["resource"] = event.Text([]byte(res), 256)
		f["namespace"] = event.Text([]byte(ri.namespace), 256)
		f["name"] = event.Text([]byte(ri.name), 256)
	}
	user := "system:anonymous"
	authed := false
	h.mu.Lock()
	if h.cert != nil && !h.sent {
		h.c.Session.Emit(*h.cert)
		h.sent = true
	}
	h.mu.Unlock()
	if h.cert != nil {
		user, authed = "x509", true
	}
	if a := r.Header.Get("Authorization"); a != "" {
		scheme, val, _ := strings.Cut(a, " ")
		val = strings.TrimSpace(val)
		var cred *event.Credential
		switch strings.ToLower(scheme) {
		case "bearer":
			cred = event.NewCredential("bearer_token", "bearer", tokenSubject(val), []byte(val), true)
			user = "bearer"
		case "basic":
			// No authenticator takes basic credentials since 1.19: the
			// request goes on as system:anonymous.
			raw, _ := base64.StdEncoding.DecodeString(val)
			u, p, _ := strings.Cut(string(raw), ":")
			cred = event.NewCredential("plaintext", "basic", u, []byte(p), true)
		default:
			cred = event.NewCredential("token", strings.ToLower(scheme), "", []byte(val), true)
			user = strings.ToLower(scheme)
		}
		authed = authed || user != "system:anonymous"
		h.c.Session.Emit(event.Event{Type: "k8s.login.failed", Outcome: "failure", Credential: cred, Fields: map[string]any{"auth": event.Text([]byte(strings.ToLower(scheme)), 32)}})
	}
	f["user"] = user
	if ri.isResource && ri.resource == "pods" && ri.verb == "create" && ri.sub == "" {
		h.podCreate(ri, body, sha)
	}
	code := h.route(w, r, ri, authed, len(body) > maxBody)
	f["status"] = code
	h.c.Session.Emit(event.Event{Type: "k8s.request.received", Fields: f})
}

// tokenSubject names a service-account JWT's subject when the token is
// one (unverified: it is only a label).
func tokenSubject(tok string) string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var claims struct {
		Sub string `json:"sub"`
	}
	if json.Unmarshal(raw, &claims) != nil {
		return ""
	}
	return claims.Sub
}

func (h *handler) route(w http.ResponseWriter, r *http.Request, ri reqInfo, authed, tooLarge bool) int {
	path := r.URL.Path
	if authed {
		// No token or certificate of this cluster's can be presented.
		h.object(w, 401, status(401, "Unauthorized", "Unauthorized", nil), "")
		return 401
	}
	if tooLarge {
		h.object(w, 413, status(413, "RequestEntityTooLarge", "the server has received too large a request", httpapi.O()), "global-default")
		return 413
	}
	get := r.Method == "GET" || r.Method == "HEAD"
	switch {
	case get && (path == "/healthz" || path == "/livez" || path == "/readyz"):
		h.write(w, 200, "text/plain; charset=utf-8", []byte("ok"), true, "probes")
		return 200
	case get && (path == "/version" || path == "/version/"):
		major, minor := h.s.rel.majorMinor()
		b, _ := json.MarshalIndent(httpapi.O("major", major, "minor", minor, "gitVersion", h.s.rel.gitVersion, "gitCommit", h.s.rel.gitCommit,
			"gitTreeState", "clean", "buildDate", h.s.rel.buildDate, "goVersion", h.s.rel.goVersion, "compiler", "gc", "platform", "linux/amd64"), "", "  ")
		h.write(w, 200, "application/json", b, false, "global-default")
		return 200
	case get && path == "/api":
		local := h.c.LocalAddr().String()
		if ap, err := netip.ParseAddrPort(local); err == nil {
			local = netip.AddrPortFrom(ap.Addr().Unmap(), Port).String()
		}
		h.object(w, 200, httpapi.O("kind", "APIVersions", "versions", []string{"v1"},
			"serverAddressByClientCIDRs", []any{httpapi.O("clientCIDR", "0.0.0.0/0", "serverAddress", local)}), "global-default")
		return 200
	case get && path == "/apis":
		h.object(w, 200, groupList(), "global-default")
		return 200
	case get && path == "/api/v1":
		h.object(w, 200, coreV1.resourceList(), "global-default")
		return 200
	}
	if get && strings.HasPrefix(path, "/apis/") {
		p := strings.Split(strings.Trim(path, "/"), "/")
		if len(p) == 3 {
			if gv, ok := findGroupVersion(p[1], p[2]); ok {
				h.object(w, 200, gv.resourceList(), "global-default")
				return 200
			}
		}
	}
	h.object(w, 403, forbidden(ri, path), "global-default")
	return 403
}

// podFacts is what a pod body says about reaching the host.
type podFacts struct {
	name                        string
	images, cmds, hostPaths     []string
	priv, hostPID, hostNet, ipc bool
}

// podInfo reads a pod body (leniently: a body that does not decode gives
// what decoded before the error).
func podInfo(body []byte) podFacts {
	var pod struct {
		Metadata struct{ Name, Namespace string }
		Spec     struct {
			HostPID, HostNetwork, HostIPC bool
			Containers, InitContainers    []struct {
				Image           string
				Command, Args   []string
				SecurityContext struct{ Privileged *bool }
			}
			Volumes []struct {
				HostPath *struct{ Path string } `json:"hostPath"`
			}
		}
	}
	_ = json.Unmarshal(body, &pod)
	pf := podFacts{name: pod.Metadata.Name, hostPID: pod.Spec.HostPID, hostNet: pod.Spec.HostNetwork, ipc: pod.Spec.HostIPC}
	for _, c := range append(pod.Spec.Containers, pod.Spec.InitContainers...) {
		if len(pf.images) >= 32 {
			break
		}
		pf.images = append(pf.images, event.Text([]byte(c.Image), 512))
		pf.cmds = append(pf.cmds, event.Text([]byte(strings.Join(append(append([]string(nil), c.Command...), c.Args...), " ")), 2048))
		if c.SecurityContext.Privileged != nil && *c.SecurityContext.Privileged {
			pf.priv = true
		}
	}
	for _, v := range pod.Spec.Volumes {
		if v.HostPath != nil && len(pf.hostPaths) < 32 {
			pf.hostPaths = append(pf.hostPaths, event.Text([]byte(v.HostPath.Path), 1024))
		}
	}
	return pf
}

// podCreate records a pod body: its images and commands, and whether it
// reaches for the host.
func (h *handler) podCreate(ri reqInfo, body []byte, sha string) {
	pf := podInfo(body)
	f := map[string]any{"namespace": event.Text([]byte(ri.namespace), 256), "name": event.Text([]byte(pf.name), 256),
		"images": pf.images, "commands": pf.cmds, "privileged": pf.priv, "host_pid": pf.hostPID, "host_network": pf.hostNet,
		"host_paths": pf.hostPaths, "escape": pf.priv || pf.hostPID || pf.hostNet || pf.ipc || len(pf.hostPaths) > 0}
	if sha != "" {
		f["sha256"] = sha
	}
	h.c.Session.Emit(event.Event{Type: "k8s.pod.create", Fields: f})
}
