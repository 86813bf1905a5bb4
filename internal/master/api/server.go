package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/store"
)

// Prefix is where the API is served.
const Prefix = "/api/v1"

// Live is a live event source: Subscribe calls fn for every new event, in
// order, on one goroutine, until ctx is done, and then returns. The master
// backs it with bus.Subscribe.
type Live interface {
	Subscribe(ctx context.Context, fn func(event.Event)) error
}

// Options configures a Server. Store is required.
type Options struct {
	Store  store.Store
	Logger *slog.Logger // nil discards
	// Live feeds /events/stream; nil makes the stream answer 503.
	Live Live
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
	// SecureCookies marks the session cookie Secure (and names it with the
	// __Host- prefix); set it whenever the API is served over HTTPS.
	SecureCookies bool
	// SessionTTL is a session's absolute lifetime; 0 means 12 hours.
	SessionTTL time.Duration
	// ReadCacheTTL is how long the answers of the event, attacker and
	// credential lists and counts are reused (0: not at all); see
	// readCache.
	ReadCacheTTL time.Duration
}

// Route is one API operation. Pattern is relative to /api/v1 and uses
// net/http.ServeMux wildcards ("/topologies/{id}"). Role is the minimum
// role ("" makes the route public: no authentication at all). Mutating
// routes need the CSRF header when called with a session cookie, and are
// audited when their Role is admin; any method but GET and HEAD counts as
// mutating whatever the field says. Audit also records a read (of
// attacker content, for instance). A route has one handler: Do returns the
// answer's body (a Reply for another status than 200) or an error, and one
// place renders both; Handler writes the response itself, for what is not
// one JSON value (streams, downloads, cookies). Either gets the
// authenticated caller, nil on a public route.
type Route struct {
	Method, Pattern, Summary string
	Role                     store.Role
	Mutating                 bool
	Audit                    bool
	// Request and Response are zero values of the Go types of the JSON
	// request body and of the 2xx answer's body; the OpenAPI document
	// derives their schemas. A nil Response is no body (204) unless
	// Produces names another media type.
	Request, Response any
	// Produces is the 2xx answer's media type when it is not JSON
	// (text/event-stream, application/octet-stream).
	Produces string
	Do       func(r *http.Request, who *Principal) (any, error)
	Handler  func(w http.ResponseWriter, r *http.Request, who *Principal)
}

// Reply is a Do handler's answer with a status other than 200 OK; a nil
// Body with 204 No Content.
type Reply struct {
	Status int
	Body   any
}

// render writes what a Do handler returned.
func render(w http.ResponseWriter, v any, err error) {
	if err != nil {
		WriteError(w, err)
		return
	}
	rep, ok := v.(Reply)
	if !ok {
		rep = Reply{Status: http.StatusOK, Body: v}
	}
	if rep.Body == nil && rep.Status == http.StatusNoContent {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	WriteJSON(w, rep.Status, rep.Body)
}

// route is a registered Route and the built-in knobs Mount does not offer.
type route struct {
	Route
	// anyState lets the route through while the caller must change its
	// password (password change, logout, whoami).
	anyState bool
	// audit records the route even though its Role is not admin.
	audit bool
	// query documents the query parameters in the OpenAPI document.
	query []string
	// cached routes answer every caller alike: see readCache.
	cached bool
}

func (rt *route) mutating() bool {
	return rt.Mutating || (rt.Method != http.MethodGet && rt.Method != http.MethodHead)
}

// Server is the operator API. Its methods are safe for concurrent use.
type Server struct {
	st         store.Store
	log        *slog.Logger
	live       Live
	now        func() time.Time
	secure     bool
	sessionTTL time.Duration

	cache   *readCache
	auths   *authCache
	mux     *http.ServeMux
	probe   *http.ServeMux // the routes alone, to tell 405 from 404
	mu      sync.RWMutex
	routes  []*route
	metrics *metrics
	hub     *hub

	logins    *limiter
	hashSlots chan struct{} // bounds concurrent argon2 work
	dummyOnce sync.Once
	dummyHash string

	streamsMu sync.Mutex
	streams   map[int64]int // open event streams per user
	heartbeat time.Duration

	done      chan struct{}
	closeOnce sync.Once
}

// Login rate limit: failures per source address and per user name.
const (
	loginFailures = 5
	loginWindow   = time.Minute
)

// maxStreamsPerUser caps one user's open event streams.
const maxStreamsPerUser = 5

// New returns a server with every built-in route registered. It starts
// nothing.
func New(opts Options) (*Server, error) {
	if opts.Store == nil {
		return nil, errors.New("api: no store")
	}
	s := &Server{
		st:         opts.Store,
		log:        opts.Logger,
		live:       opts.Live,
		now:        opts.Clock,
		secure:     opts.SecureCookies,
		sessionTTL: opts.SessionTTL,
		mux:        http.NewServeMux(),
		probe:      http.NewServeMux(),
		logins:     newLimiter(loginFailures, loginWindow),
		hashSlots:  make(chan struct{}, max(2, runtime.GOMAXPROCS(0))),
		streams:    map[int64]int{},
		heartbeat:  15 * time.Second,
		done:       make(chan struct{}),
		cache:      newReadCache(opts.ReadCacheTTL, opts.Logger),
		auths:      newAuthCache(opts.ReadCacheTTL),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("component", "api")
	if s.now == nil {
		s.now = time.Now
	}
	if s.sessionTTL <= 0 {
		s.sessionTTL = 12 * time.Hour
	}
	s.metrics = newMetrics()
	s.hub = newHub(s.live, s.log, s.metrics)
	s.mux.HandleFunc(Prefix+"/", s.unmatched)
	s.mux.HandleFunc("/", s.unmatched)
	for _, rt := range s.builtin() {
		s.register(rt)
	}
	return s, nil
}

// Handler returns the API's handler; it serves /api/v1 and answers 404 in
// the API's error shape elsewhere.
func (s *Server) Handler() http.Handler { return s.mux }

// Close ends every open event stream and the live subscription, and waits
// for the subscription's goroutine.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.done) })
	s.hub.close()
}

// Mount registers routes with the same authentication, CSRF, error shape,
// metrics, audit and OpenAPI entry as the built-in ones. It panics on an
// invalid or duplicate route, a programmer error found at start.
func (s *Server) Mount(routes ...Route) {
	for _, r := range routes {
		s.register(&route{Route: r})
	}
}

var patternRE = regexp.MustCompile(`^(/([A-Za-z0-9._~-]+|\{[A-Za-z_][A-Za-z0-9_]*(\.\.\.)?\}))+(/|/\{\$\})?$`)

func (s *Server) register(rt *route) {
	switch rt.Method {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		panic(fmt.Sprintf("api: route %s %s: unsupported method", rt.Method, rt.Pattern))
	}
	if !patternRE.MatchString(rt.Pattern) {
		panic(fmt.Sprintf("api: route %s %s: pattern must be a path under %s", rt.Method, rt.Pattern, Prefix))
	}
	if rt.Role != "" && rt.Role != store.Admin && rt.Role != store.Viewer {
		panic(fmt.Sprintf("api: route %s %s: unknown role %q", rt.Method, rt.Pattern, rt.Role))
	}
	if (rt.Handler == nil) == (rt.Do == nil) {
		panic(fmt.Sprintf("api: route %s %s: give exactly one of Do and Handler", rt.Method, rt.Pattern))
	}
	if rt.Summary == "" {
		panic(fmt.Sprintf("api: route %s %s: no summary", rt.Method, rt.Pattern))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.routes {
		if o.Method == rt.Method && o.Pattern == rt.Pattern {
			panic(fmt.Sprintf("api: route %s %s registered twice", rt.Method, rt.Pattern))
		}
	}
	pattern := rt.Method + " " + Prefix + rt.Pattern
	s.mux.Handle(pattern, s.wrap(rt)) // panics on a conflicting pattern
	s.probe.Handle(pattern, http.NotFoundHandler())
	s.routes = append(s.routes, rt)
}

// registered returns a copy of the route table.
func (s *Server) registered() []*route {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]*route(nil), s.routes...)
}

// unmatched answers requests no route matched: 405 with Allow when the
// path exists with other methods, else 404.
func (s *Server) unmatched(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	securityHeaders(rec.Header(), s.secure)
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.probe.Handler(probe); pattern != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		rec.Header().Set("Allow", strings.Join(allow, ", "))
		WriteError(rec, Errorf(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "method %s not allowed here", r.Method))
	} else {
		WriteError(rec, Errorf(http.StatusNotFound, CodeNotFound, "no such route"))
	}
	s.metrics.observe(r.Method, "unmatched", rec.status, time.Since(start))
}

// wrap is the chain every route goes through.
func (s *Server) wrap(rt *route) http.Handler {
	label := rt.Pattern
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("handler panic", "route", label, "method", rt.Method, "panic", fmt.Sprint(p))
				if !rec.wrote {
					WriteError(rec, fmt.Errorf("panic: %v", p))
				}
			}
			if rec.err != nil {
				s.log.Error("request failed", "route", label, "method", rt.Method, "status", rec.status,
					"error_id", rec.errID, "err", rec.err)
			}
			s.metrics.observe(rt.Method, label, rec.status, time.Since(start))
		}()
		securityHeaders(rec.Header(), s.secure)
		var who *Principal
		if rt.Role != "" {
			var err error
			if who, err = s.authenticate(r); err != nil {
				WriteError(rec, err)
				return
			}
			if err := s.authorize(rt, who, r); err != nil {
				WriteError(rec, err)
				return
			}
		}
		var note *auditNote
		if who != nil && (rt.Audit || rt.mutating() && (rt.Role == store.Admin || rt.audit)) {
			note = &auditNote{target: r.URL.Path}
			r = r.WithContext(context.WithValue(r.Context(), auditKey{}, note))
		}
		switch {
		case rt.cached && rt.Handler != nil:
			s.cache.serve(rec, r, func(w http.ResponseWriter, r *http.Request) error {
				inner := &recorder{ResponseWriter: w, status: http.StatusOK}
				rt.Handler(inner, r, who)
				return inner.err
			})
		case rt.Do != nil:
			v, err := rt.Do(r, who)
			render(rec, v, err)
		default:
			rt.Handler(rec, r, who)
		}
		if rt.mutating() {
			// It may have ended a session, a token or a user.
			s.auths.clear()
		}
		if note != nil {
			s.record(r.Context(), who, rt, note, rec.status)
		}
	})
}

// authorize applies the password-change gate, CSRF and the role to an
// authenticated request.
func (s *Server) authorize(rt *route, who *Principal, r *http.Request) error {
	if who.MustChange && !rt.anyState {
		return Errorf(http.StatusForbidden, CodePasswordChangeRequired, "change your password first (POST %s/auth/password)", Prefix)
	}
	if rt.mutating() && who.Via == ViaSession && !who.csrfMatches(r.Header.Get(CSRFHeader)) {
		return Errorf(http.StatusForbidden, CodeCSRF, "missing or wrong %s header", CSRFHeader)
	}
	if !who.Can(rt.Role) {
		return Errorf(http.StatusForbidden, CodeForbidden, "this needs the %s role", rt.Role)
	}
	return nil
}

type auditKey struct{}

type auditNote struct {
	target, detail string
}

// SetAudit replaces the target (by default the request path) and adds a
// detail to the audit entry of the request, when it is audited. Never put
// secrets in either.
func SetAudit(r *http.Request, target, detail string) {
	if n, ok := r.Context().Value(auditKey{}).(*auditNote); ok {
		if target != "" {
			n.target = target
		}
		n.detail = detail
	}
}

func (s *Server) record(ctx context.Context, who *Principal, rt *route, note *auditNote, status int) {
	detail := "status=" + strconv.Itoa(status)
	if note.detail != "" {
		detail += " " + note.detail
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err := s.st.Audit(ctx, store.AuditEntry{At: s.now().UTC(), Actor: who.Name, Action: rt.Method + " " + rt.Pattern,
		Target: note.target, Detail: detail})
	if err != nil {
		s.log.Error("audit", "actor", who.Name, "action", rt.Method+" "+rt.Pattern, "err", err)
	}
}

func securityHeaders(h http.Header, secure bool) {
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	if secure {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
}

// recorder remembers the status for metrics, audit and logging.
type recorder struct {
	http.ResponseWriter
	status int
	wrote  bool
	err    error // the error behind a 5xx, logged after the handler
	errID  string
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Flush and deadlines.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Flush implements http.Flusher.
func (r *recorder) Flush() {
	r.wrote = true
	_ = http.NewResponseController(r.ResponseWriter).Flush()
}
