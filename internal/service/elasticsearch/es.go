package elasticsearch

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/httpapi"
	"github.com/decnet/decnet/internal/service/serve"
)

// Port is Elasticsearch's HTTP port.
const Port = 9200

// Bounds of what attackers can make the decoy keep.
const (
	maxStoredDocs  = 5000
	maxStoredBytes = 16 << 20
	maxIndices     = 200
	previewBytes   = 512
)

// Server is the Elasticsearch emulation of one decky.
type Server struct {
	env         serve.Env
	log         *slog.Logger
	build       build
	clusterName string
	clusterUUID string
	nodeID      string
	nodeName    string
	now         func() time.Time
	start       time.Time

	mu          sync.Mutex
	indices     map[string]*index
	storedBytes int
	storedDocs  int
}

var _ serve.Server = (*Server)(nil)

// clusterNames are names operators give their clusters. Elasticsearch's
// own default, "elasticsearch", is one in eight: left alone it is what
// honeypots (Elasticpot) answer and detectors look for.
var clusterNames = []string{"elasticsearch", "elk", "logging", "es-prod", "prod-logs", "search", "siem", "docker-cluster"}

// New builds the Elasticsearch service of one decky; it starts nothing.
func New(env serve.Env) (serve.Server, error) {
	log := env.Logger()
	cfg := serve.SettingsOf(env, defaults)
	s := &Server{env: env, log: log, now: time.Now}
	s.build = buildFor(strings.TrimSpace(cfg.Version), env.Identity)
	s.clusterName = strings.TrimSpace(cfg.ClusterName)
	if s.clusterName == "" {
		s.clusterName = clusterNames[env.Identity.Rand("es-cluster-name").IntN(len(clusterNames))]
	}
	s.clusterUUID = esUUID(env.Identity, "es-cluster-uuid")
	s.nodeID = esUUID(env.Identity, "es-node-id")
	s.nodeName = env.Persona.Hostname
	if s.nodeName == "" {
		s.nodeName = "node-1"
	}
	now := s.now()
	s.start = now.Add(-env.Identity.Uptime(now))
	s.indices = seedIndices(env.Identity, now)
	return s, nil
}

// Serve implements serve.Server.
func (s *Server) Serve(ctx context.Context) error {
	return serve.TCP(ctx, s.env, Port, s.handle)
}

// Netty's defaults as Elasticsearch configures them: 4 KiB initial line,
// 8 KiB of headers; bodies are kept up to 1 MiB here.
var limits = httpapi.Limits{Line: 4 << 10, HeaderBytes: 8 << 10, Headers: 100, Body: 1 << 20, Discard: 16 << 20}

func (s *Server) handle(ctx context.Context, c *serve.Conn) {
	br := bufio.NewReaderSize(c, 16<<10)
	local := localIP(c)
	for ctx.Err() == nil {
		req, err := httpapi.ReadRequest(br, limits)
		if err != nil {
			var he *httpapi.Error
			if errors.As(err, &he) {
				c.Session.Emit(event.Event{Type: "elasticsearch.protocol.error", Fields: map[string]any{"error": he.Error()}})
				s.writeBadRequest(c, he)
				c.SetCloseReason("error")
			}
			return
		}
		resp := s.serveRequest(c, req, local)
		if err := s.write(c, req, resp); err != nil {
			return
		}
		if !req.KeepAlive() {
			return
		}
	}
}

// writeBadRequest answers what Netty's decoder refuses, as Elasticsearch
// does: a 400 (or 413/431) with an empty body, then close.
func (s *Server) writeBadRequest(w io.Writer, he *httpapi.Error) {
	status := he.Status
	if status == 414 {
		status = 400 // Netty reports an over-long initial line as a bad request
	}
	_ = httpapi.WriteRaw(w, &httpapi.Request{Major: 1, Minor: 1}, status, []httpapi.Header{
		{Name: "content-type", Value: "text/plain; charset=UTF-8"}, {Name: "content-length", Value: "0"}}, nil)
}

func localIP(c net.Conn) string {
	if a, ok := c.LocalAddr().(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(a.IP); ok {
			return ip.Unmap().String()
		}
	}
	return "127.0.0.1"
}

// response is one answer before framing.
type response struct {
	status      int
	body        []byte
	contentType string
	headers     []httpapi.Header // response-specific (Location, Allow), before the product header
}

// write frames a response as Elasticsearch's DefaultRestChannel does:
// X-Opaque-Id echoed, the response's own headers, the thread context's
// (X-elastic-product since 7.14, the security Warning on 7.13-7.17), then
// content-type and content-length, lowercase.
func (s *Server) write(w io.Writer, req *httpapi.Request, r response) error {
	var hs []httpapi.Header
	if o := req.Get("X-Opaque-Id"); o != "" {
		hs = append(hs, httpapi.Header{Name: "X-Opaque-Id", Value: event.Text([]byte(o), 256)})
	}
	hs = append(hs, r.headers...)
	if s.build.atLeast("7.14.0") {
		hs = append(hs, httpapi.Header{Name: "X-elastic-product", Value: "Elasticsearch"})
	}
	if s.build.atLeast("7.13.0") && s.build.major() == 7 {
		mm := versionParts(s.build.number)
		hs = append(hs, httpapi.Header{Name: "Warning", Value: `299 Elasticsearch-` + s.build.number + `-` + s.build.hash +
			` "Elasticsearch built-in security features are not enabled. Without authentication, your cluster could be accessible to anyone. See https://www.elastic.co/guide/en/elasticsearch/reference/` +
			strconv.Itoa(mm[0]) + "." + strconv.Itoa(mm[1]) + `/security-minimal-setup.html to enable security."`})
	}
	ct := r.contentType
	if ct == "" {
		ct = s.jsonType()
	}
	hs = append(hs, httpapi.Header{Name: "content-type", Value: ct}, httpapi.Header{Name: "content-length", Value: strconv.Itoa(len(r.body))})
	return httpapi.WriteRaw(w, req, r.status, hs, r.body)
}

func (s *Server) jsonType() string {
	if s.build.major() >= 8 {
		return "application/json"
	}
	return "application/json; charset=UTF-8"
}

const textType = "text/plain; charset=UTF-8"

// reqCtx is what a handler needs of one request.
type reqCtx struct {
	c      *serve.Conn
	req    *httpapi.Request
	path   string
	parts  []string
	q      map[string][]string
	local  string
	fields map[string]any
	pretty bool
}

func (rc *reqCtx) param(k string) string {
	if v := rc.q[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (rc *reqCtx) has(k string) bool { _, ok := rc.q[k]; return ok }

// serveRequest routes one request and records it.
func (s *Server) serveRequest(c *serve.Conn, req *httpapi.Request, local string) response {
	path := req.UnescapedPath()
	rc := &reqCtx{c: c, req: req, path: path, q: req.Query(), local: local, fields: map[string]any{}}
	for _, p := range strings.Split(path, "/") {
		if p != "" {
			rc.parts = append(rc.parts, p)
		}
	}
	rc.pretty = rc.has("pretty") && rc.param("pretty") != "false"
	f := rc.fields
	f["method"] = event.Text([]byte(req.Method), 32)
	f["path"] = event.Text([]byte(path), 2048)
	f["query"] = event.Text([]byte(req.RawQuery), 2048)
	if ua := req.Get("User-Agent"); ua != "" {
		f["user_agent"] = event.Text([]byte(ua), 512)
	}
	f["body_size"] = req.BodySize
	var sha string
	if len(req.Body) > 0 {
		f["body_preview"] = event.Text(req.Body[:min(len(req.Body), previewBytes)], previewBytes)
		if s.env.Quarantine != nil {
			if a, err := s.env.Quarantine.Put(bytes.NewReader(req.Body)); err == nil {
				sha = a.SHA256
				f["sha256"] = sha
			}
		}
	}
	s.credentials(rc)
	s.exploits(rc, sha)
	resp := s.route(rc)
	f["status"] = resp.status
	if _, ok := f["action"]; !ok {
		f["action"] = "unknown"
	}
	e := event.Event{Type: "elasticsearch.request.received", Fields: f}
	if req.BodyTruncated {
		e.Truncated = []string{"body_preview"}
	}
	c.Session.Emit(e)
	if req.Method == "HEAD" {
		resp.body = resp.body[:0:0]
	}
	return resp
}

// credentials records an Authorization header: security is off, so the
// request passes whatever it carries.
func (s *Server) credentials(rc *reqCtx) {
	auth := rc.req.Get("Authorization")
	if auth == "" {
		return
	}
	scheme, val, _ := strings.Cut(auth, " ")
	scheme = strings.ToLower(scheme)
	var cred *event.Credential
	switch scheme {
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(val))
		if err != nil {
			cred = event.NewCredential("http_basic", "basic", "", []byte(val), true)
			break
		}
		user, pass, _ := strings.Cut(string(raw), ":")
		cred = event.NewCredential("plaintext", "basic", user, []byte(pass), true)
	default:
		cred = event.NewCredential("token", scheme, "", []byte(strings.TrimSpace(val)), true)
	}
	rc.c.Session.Emit(event.Event{Type: "elasticsearch.login.success", Outcome: "success", Credential: cred,
		Fields: map[string]any{"scheme": event.Text([]byte(scheme), 32)}})
}

// json answers v (an httpapi.Obj or any JSON value) with status.
func (s *Server) json(rc *reqCtx, status int, v any) response {
	b := httpapi.Compact(v)
	if rc.pretty {
		b = append(httpapi.Jackson(b), '\n')
	}
	return response{status: status, body: b}
}

// pretty answers like the root endpoint: pretty unless ?pretty=false.
func (s *Server) prettyDefault(rc *reqCtx, status int, v any) response {
	b := httpapi.Compact(v)
	if !rc.has("pretty") || rc.param("pretty") != "false" {
		b = append(httpapi.Jackson(b), '\n')
	}
	return response{status: status, body: b}
}

func (s *Server) route(rc *reqCtx) response {
	m := rc.req.Method
	p := rc.parts
	f := rc.fields
	if m == "OPTIONS" {
		// RestController answers OPTIONS itself: 200, the allowed methods.
		f["action"] = "options"
		allow := "HEAD,GET"
		switch {
		case len(p) == 1 && !strings.HasPrefix(p[0], "_"):
			allow = "HEAD,DELETE,GET,PUT"
		case len(p) > 0:
			allow = "POST,GET"
		}
		return response{status: 200, contentType: textType, headers: []httpapi.Header{{Name: "Allow", Value: allow}}}
	}
	if len(p) == 0 {
		f["action"] = "root"
		if m != "GET" && m != "HEAD" {
			return s.methodNotAllowed(rc, "HEAD, GET")
		}
		return s.prettyDefault(rc, 200, s.banner())
	}
	switch p[0] {
	case "_cat":
		f["action"] = "cat"
		return s.cat(rc)
	case "_cluster":
		f["action"] = "cluster"
		if len(p) >= 2 && p[1] == "health" && (m == "GET" || m == "HEAD") {
			return s.json(rc, 200, s.clusterHealth())
		}
		return s.noHandler(rc)
	case "_nodes":
		f["action"] = "nodes"
		if m == "GET" {
			return s.json(rc, 200, s.nodes(rc))
		}
		return s.noHandler(rc)
	case "_search", "_count":
		f["action"] = strings.TrimPrefix(p[0], "_")
		if len(p) == 1 && (m == "GET" || m == "POST") {
			return s.search(rc, "_all", p[0] == "_count")
		}
		return s.noHandler(rc)
	case "_all", "*":
		if len(p) == 1 && m == "DELETE" {
			return s.deleteIndex(rc, p[0])
		}
	}
	if strings.HasPrefix(p[0], "_") && p[0] != "_all" {
		f["action"] = "unknown"
		return s.noHandler(rc)
	}
	idx := p[0]
	f["index"] = event.Text([]byte(idx), 256)
	switch {
	case len(p) == 1:
		switch m {
		case "DELETE":
			return s.deleteIndex(rc, idx)
		case "PUT":
			return s.createIndex(rc, idx)
		case "GET", "HEAD":
			f["action"] = "index_get"
			return s.getIndex(rc, idx)
		}
	case len(p) == 2 && (p[1] == "_search" || p[1] == "_count") && (m == "GET" || m == "POST"):
		f["action"] = strings.TrimPrefix(p[1], "_")
		return s.search(rc, idx, p[1] == "_count")
	case len(p) == 2 && p[1] == "_doc" && m == "POST":
		return s.writeDoc(rc, idx, newDocID(), false)
	case len(p) == 3 && p[1] == "_doc":
		switch m {
		case "GET", "HEAD":
			return s.getDoc(rc, idx, p[2])
		case "PUT", "POST":
			return s.writeDoc(rc, idx, p[2], false)
		case "DELETE":
			return s.deleteDoc(rc, idx, p[2])
		}
	case len(p) == 3 && (p[1] == "_create" || p[1] == "_update") && (m == "PUT" || m == "POST"):
		return s.writeDoc(rc, idx, p[2], p[1] == "_create")
	}
	return s.noHandler(rc)
}

// noHandler is Elasticsearch's answer to a path no REST handler serves.
func (s *Server) noHandler(rc *reqCtx) response {
	return s.json(rc, 400, httpapi.O("error", "no handler found for uri ["+rc.req.Target+"] and method ["+rc.req.Method+"]", "status", 400))
}

func (s *Server) methodNotAllowed(rc *reqCtx, allowed string) response {
	r := s.json(rc, 405, httpapi.O("error", "Incorrect HTTP method for uri ["+rc.req.Target+"] and method ["+rc.req.Method+"], allowed: ["+allowed+"]", "status", 405))
	r.headers = []httpapi.Header{{Name: "Allow", Value: strings.ReplaceAll(allowed, " ", "")}}
	return r
}

func (s *Server) banner() httpapi.Obj {
	b := s.build
	ver := httpapi.O("number", b.number, "build_flavor", "default", "build_type", "deb", "build_hash", b.hash,
		"build_date", b.date, "build_snapshot", false, "lucene_version", b.lucene,
		"minimum_wire_compatibility_version", b.minWire, "minimum_index_compatibility_version", b.minIndex)
	return httpapi.O("name", s.nodeName, "cluster_name", s.clusterName, "cluster_uuid", s.clusterUUID,
		"version", ver, "tagline", "You Know, for Search")
}

// indexNotFound is the 404 of an index that does not exist.
func (s *Server) indexNotFound(rc *reqCtx, name string) response {
	cause := func() httpapi.Obj {
		return httpapi.O("type", "index_not_found_exception", "reason", "no such index ["+name+"]",
			"resource.type", "index_or_alias", "resource.id", name, "index_uuid", "_na_", "index", name)
	}
	root := cause()
	full := append(httpapi.O("root_cause", []any{root}), cause()...)
	return s.json(rc, 404, httpapi.O("error", full, "status", 404))
}

func (s *Server) errorResp(rc *reqCtx, status int, typ, reason string) response {
	c := httpapi.O("type", typ, "reason", reason)
	full := append(httpapi.O("root_cause", []any{c}), c...)
	return s.json(rc, status, httpapi.O("error", full, "status", status))
}

// resolve names the indices an expression (a, b*, _all, *) selects;
// missing is the first concrete name that does not exist.
func (s *Server) resolve(expr string) (names []string, missing string) {
	seen := map[string]bool{}
	for _, part := range strings.Split(expr, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if part == "_all" || strings.Contains(part, "*") {
			for n := range s.indices {
				if (part == "_all" || wildcard(part, n)) && !seen[n] {
					seen[n] = true
					names = append(names, n)
				}
			}
			continue
		}
		if _, ok := s.indices[part]; !ok {
			if missing == "" {
				missing = part
			}
			continue
		}
		if !seen[part] {
			seen[part] = true
			names = append(names, part)
		}
	}
	sort.Strings(names)
	return names, missing
}

// wildcard matches Elasticsearch's simple * patterns.
func wildcard(pat, s string) bool {
	parts := strings.Split(pat, "*")
	if len(parts) == 1 {
		return pat == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for i, p := range parts[1:] {
		if i == len(parts)-2 {
			return strings.HasSuffix(s, p)
		}
		j := strings.Index(s, p)
		if j < 0 {
			return false
		}
		s = s[j+len(p):]
	}
	return true
}

// newDocID is an auto-generated document id: 20 URL-safe base64
// characters, as Elasticsearch's time-based UUIDs look.
func newDocID() string {
	b := make([]byte, 15)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Server) shards() httpapi.Obj {
	return httpapi.O("total", 2, "successful", 1, "failed", 0)
}

func (s *Server) docHead(idx, id string) httpapi.Obj {
	o := httpapi.O("_index", idx)
	if s.build.major() < 8 {
		o = append(o, httpapi.KV{K: "_type", V: "_doc"})
	}
	return append(o, httpapi.KV{K: "_id", V: id})
}

func (s *Server) getDoc(rc *reqCtx, idx, id string) response {
	rc.fields["action"] = "doc_get"
	s.mu.Lock()
	defer s.mu.Unlock()
	ix, ok := s.indices[idx]
	if !ok {
		return s.indexNotFound(rc, idx)
	}
	d, ok := ix.docs[id]
	if !ok {
		return s.json(rc, 404, append(s.docHead(idx, id), httpapi.KV{K: "found", V: false}))
	}
	return s.json(rc, 200, append(s.docHead(idx, id), httpapi.O("_version", d.version, "_seq_no", d.seqNo,
		"_primary_term", 1, "found", true, "_source", rawSource(d.source))...))
}

// rawSource gives the stored bytes back verbatim, as _source is.
func rawSource(b []byte) any {
	if v, err := httpapi.Parse(b); err == nil {
		return v
	}
	return httpapi.O()
}

func (s *Server) writeDoc(rc *reqCtx, idx, id string, create bool) response {
	rc.fields["action"] = "doc_write"
	body := rc.req.Body
	if len(bytes.TrimSpace(body)) == 0 {
		return s.errorResp(rc, 400, "parse_exception", "request body is required")
	}
	v, err := httpapi.Parse(body)
	if err != nil {
		return s.errorResp(rc, 400, "mapper_parsing_exception", "failed to parse")
	}
	if _, ok := v.(httpapi.Obj); !ok {
		return s.errorResp(rc, 400, "mapper_parsing_exception", "failed to parse")
	}
	if len(id) > 512 {
		return s.errorResp(rc, 400, "action_request_validation_exception", "Validation Failed: 1: id ["+id[:512]+"...] is too long, must be no longer than 512 bytes but was: "+strconv.Itoa(len(id))+";")
	}
	s.mu.Lock()
	ix, ok := s.indices[idx]
	if !ok {
		if len(s.indices) >= maxIndices || !validIndexName(idx) {
			s.mu.Unlock()
			return s.errorResp(rc, 400, "invalid_index_name_exception", "Invalid index name ["+idx+"], must be lowercase")
		}
		ix = s.newIndex(idx)
	}
	_, exists := ix.docs[id]
	if exists && create {
		d := ix.docs[id]
		s.mu.Unlock()
		return s.errorResp(rc, 409, "version_conflict_engine_exception", "["+id+"]: version conflict, document already exists (current version ["+strconv.Itoa(d.version)+"])")
	}
	var d *doc
	if exists || (s.storedDocs < maxStoredDocs && s.storedBytes+len(body) <= maxStoredBytes) {
		d = ix.put(id, httpapi.Compact(v))
		if !exists {
			s.storedDocs++
		}
		s.storedBytes += len(body)
	} else {
		d = &doc{id: id, version: 1, seqNo: ix.nextSeq}
		ix.nextSeq++
		ix.extraDocs++
	}
	s.mu.Unlock()
	result, status := "created", 201
	if exists {
		result, status = "updated", 200
	}
	f := map[string]any{"index": event.Text([]byte(idx), 256), "id": event.Text([]byte(id), 512), "result": result,
		"body_preview": rc.fields["body_preview"]}
	if sha, ok := rc.fields["sha256"]; ok {
		f["sha256"] = sha
	}
	rc.c.Session.Emit(event.Event{Type: "elasticsearch.document.write", Fields: f})
	r := s.json(rc, status, append(s.docHead(idx, id), httpapi.O("_version", d.version, "result", result,
		"_shards", s.shards(), "_seq_no", d.seqNo, "_primary_term", 1)...))
	if status == 201 {
		r.headers = []httpapi.Header{{Name: "Location", Value: "/" + idx + "/_doc/" + id}}
	}
	return r
}

func validIndexName(n string) bool {
	if n == "" || len(n) > 255 || n == "." || n == ".." || strings.ContainsAny(n[:1], "_-+") {
		return false
	}
	return strings.ToLower(n) == n && !strings.ContainsAny(n, "\\/*?\"<>| ,#:")
}

// newIndex creates an empty index; s.mu is held.
func (s *Server) newIndex(name string) *index {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	ix := &index{name: name, uuid: base64.RawURLEncoding.EncodeToString(b), docs: map[string]*doc{}, created: s.now(), primaryTerms: 1, storeBytes: 208}
	s.indices[name] = ix
	return ix
}

func (s *Server) deleteDoc(rc *reqCtx, idx, id string) response {
	rc.fields["action"] = "doc_delete"
	s.mu.Lock()
	defer s.mu.Unlock()
	ix, ok := s.indices[idx]
	if !ok {
		return s.indexNotFound(rc, idx)
	}
	d, found := ix.docs[id]
	version := 1
	result, status := "not_found", 404
	if found {
		version = d.version + 1
		ix.remove(id)
		result, status = "deleted", 200
	}
	seq := ix.nextSeq
	ix.nextSeq++
	return s.json(rc, status, append(s.docHead(idx, id), httpapi.O("_version", version, "result", result,
		"_shards", s.shards(), "_seq_no", seq, "_primary_term", 1)...))
}

func (s *Server) createIndex(rc *reqCtx, idx string) response {
	rc.fields["action"] = "index_create"
	s.mu.Lock()
	defer s.mu.Unlock()
	if ix, ok := s.indices[idx]; ok {
		c := httpapi.O("type", "resource_already_exists_exception", "reason", "index ["+idx+"/"+ix.uuid+"] already exists",
			"index_uuid", ix.uuid, "index", idx)
		return s.json(rc, 400, httpapi.O("error", append(httpapi.O("root_cause", []any{c}), c...), "status", 400))
	}
	if !validIndexName(idx) || len(s.indices) >= maxIndices {
		c := httpapi.O("type", "invalid_index_name_exception", "reason", "Invalid index name ["+idx+"], must be lowercase",
			"index_uuid", "_na_", "index", idx)
		return s.json(rc, 400, httpapi.O("error", append(httpapi.O("root_cause", []any{c}), c...), "status", 400))
	}
	s.newIndex(idx)
	return s.json(rc, 200, httpapi.O("acknowledged", true, "shards_acknowledged", true, "index", idx))
}

func (s *Server) deleteIndex(rc *reqCtx, expr string) response {
	rc.fields["action"] = "index_delete"
	rc.fields["index"] = event.Text([]byte(expr), 256)
	wild := expr == "_all" || strings.Contains(expr, "*")
	if wild && s.build.major() >= 8 {
		return s.errorResp(rc, 400, "illegal_argument_exception", "Wildcard expressions or all indices are not allowed")
	}
	s.mu.Lock()
	names, missing := s.resolve(expr)
	if missing != "" {
		s.mu.Unlock()
		return s.indexNotFound(rc, missing)
	}
	for _, n := range names {
		if ix := s.indices[n]; ix != nil {
			s.storedDocs -= min(s.storedDocs, len(ix.docs))
		}
		delete(s.indices, n)
	}
	s.mu.Unlock()
	rc.c.Session.Emit(event.Event{Type: "elasticsearch.index.delete", Fields: map[string]any{
		"index": event.Text([]byte(expr), 256), "deleted": names}})
	return s.json(rc, 200, httpapi.O("acknowledged", true))
}

func (s *Server) getIndex(rc *reqCtx, expr string) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	names, missing := s.resolve(expr)
	if missing != "" {
		return s.indexNotFound(rc, missing)
	}
	out := httpapi.O()
	for _, n := range names {
		ix := s.indices[n]
		settings := httpapi.O("index", httpapi.O(
			"routing", httpapi.O("allocation", httpapi.O("include", httpapi.O("_tier_preference", "data_content"))),
			"number_of_shards", "1", "provided_name", n,
			"creation_date", strconv.FormatInt(ix.created.UnixMilli(), 10),
			"number_of_replicas", "1", "uuid", ix.uuid,
			"version", httpapi.O("created", createdCode(s.build.number))))
		out = append(out, httpapi.KV{K: n, V: httpapi.O("aliases", httpapi.O(), "mappings", s.mapping(ix), "settings", settings)})
	}
	return s.json(rc, 200, out)
}

// createdCode is Elasticsearch's internal version id (7.10.2 -> 7100299).
func createdCode(v string) string {
	p := versionParts(v)
	return strconv.Itoa(p[0]*1000000 + p[1]*10000 + p[2]*100 + 99)
}

// mapping infers the dynamic mapping of an index's documents.
func (s *Server) mapping(ix *index) httpapi.Obj {
	props := httpapi.O()
	seen := map[string]bool{}
	for _, id := range ix.order {
		v, err := httpapi.Parse(ix.docs[id].source)
		o, ok := v.(httpapi.Obj)
		if err != nil || !ok {
			continue
		}
		for _, kv := range o {
			if seen[kv.K] || len(props) > 100 {
				continue
			}
			seen[kv.K] = true
			var m httpapi.Obj
			switch t := kv.V.(type) {
			case bool:
				m = httpapi.O("type", "boolean")
			case string:
				if _, err := time.Parse(time.RFC3339, t); err == nil {
					m = httpapi.O("type", "date")
				} else {
					m = httpapi.O("type", "text", "fields", httpapi.O("keyword", httpapi.O("type", "keyword", "ignore_above", 256)))
				}
			case httpapi.Obj:
				m = httpapi.O("type", "object")
			default:
				if n, ok := t.(interface{ String() string }); ok && strings.Contains(n.String(), ".") {
					m = httpapi.O("type", "float")
				} else {
					m = httpapi.O("type", "long")
				}
			}
			props = append(props, httpapi.KV{K: kv.K, V: m})
		}
	}
	slices.SortFunc(props, func(a, b httpapi.KV) int { return strings.Compare(a.K, b.K) })
	if len(props) == 0 {
		return httpapi.O()
	}
	return httpapi.O("properties", props)
}
