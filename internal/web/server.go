package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/decnet/decnet/internal/master/api"
	"github.com/decnet/decnet/internal/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// publicStatic are the static files an unauthenticated visitor may load:
// those of the sign-in page. They name nothing.
var publicStatic = map[string]bool{"app.css": true, "login.js": true, "api.js": true}

// CSP is the Content-Security-Policy of every dashboard response.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// Options configures a Server. API and Store are required.
type Options struct {
	// API authenticates the dashboard's requests with the API's sessions.
	API *api.Server
	// Store is read for the pages.
	Store  store.Store
	Logger *slog.Logger // nil discards
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
	// Blobs tells which quarantined blobs the master holds (nil: none);
	// an admin downloads them through the API.
	Blobs BlobIndex
	// Outputs lists the SIEM outputs for their page (nil: no page); they
	// are changed through the API.
	Outputs OutputLister
	// Tokens lists the canary tokens for their pages (nil: no pages).
	Tokens TokenLister
	// OverviewTTL is how long the overview's figures are reused (0: read
	// at every request); see memo.
	OverviewTTL time.Duration
}

// BlobIndex reports whether the master holds a blob (master.Artifacts).
type BlobIndex interface {
	Has(sha string) bool
}

// Server is the dashboard. Its methods are safe for concurrent use.
type Server struct {
	api     *api.Server
	st      store.Store
	blobs   BlobIndex
	outputs OutputLister
	tokens  TokenLister
	log     *slog.Logger
	now     func() time.Time
	pages   map[string]*template.Template
	files   map[string]staticFile
	mux     *http.ServeMux

	overviewCache memo[overviewView]
	// overviewHTML is the overview rendered from the memo's current
	// figures, per session (the page holds its CSRF token).
	overviewMu   sync.Mutex
	overviewHTML map[overviewKey][]byte
}

type staticFile struct {
	body  []byte
	ctype string
	etag  string
}

// New parses the templates and indexes the static files. It starts
// nothing.
func New(opts Options) (*Server, error) {
	if opts.API == nil || opts.Store == nil {
		return nil, errors.New("web: API and Store are required")
	}
	s := &Server{api: opts.API, st: opts.Store, blobs: opts.Blobs, outputs: opts.Outputs, tokens: opts.Tokens, log: opts.Logger, now: opts.Clock,
		pages: map[string]*template.Template{}, files: map[string]staticFile{}, mux: http.NewServeMux()}
	s.overviewCache.ttl = opts.OverviewTTL
	s.overviewHTML = map[overviewKey][]byte{}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("component", "web")
	if s.now == nil {
		s.now = time.Now
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("web: parse %s: %w", base, err)
		}
		s.pages[strings.TrimSuffix(base, ".html")] = t
	}
	err = fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ctype := "application/octet-stream"
		switch path.Ext(p) {
		case ".css":
			ctype = "text/css; charset=utf-8"
		case ".js":
			ctype = "text/javascript; charset=utf-8"
		case ".svg":
			ctype = "image/svg+xml"
		}
		s.files[strings.TrimPrefix(p, "static/")] = staticFile{body: b, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: static files: %w", err)
	}
	s.routes()
	if s.overviewCache.ttl > 0 {
		// The first overview over millions of events takes seconds: read
		// it now rather than at the first visit.
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), refreshTimeout)
			defer cancel()
			_, _ = s.overviewCache.get(ctx, s.loadOverview)
		}()
	}
	return s, nil
}

// Handler returns the dashboard's handler: pages at /, static files at
// /static/. Mount the API's handler at /api/v1/ beside it.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", CSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		if s.api.SecureCookies() {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		s.mux.ServeHTTP(w, r)
	})
}

func (s *Server) routes() {
	s.mux.HandleFunc("GET /static/{file}", s.static)
	s.mux.HandleFunc("GET /login", s.login)
	s.mux.Handle("GET /{$}", s.auth(store.Viewer, s.overviewPage))
	s.mux.Handle("GET /events", s.page("events", store.Viewer, s.events))
	s.mux.Handle("GET /events/export.jsonl", s.auth(store.Viewer, s.exportJSONL))
	s.mux.Handle("GET /events/export.csv", s.auth(store.Viewer, s.exportCSV))
	s.mux.Handle("GET /attackers", s.page("attackers", store.Viewer, s.attackers))
	s.mux.Handle("GET /attackers/{ip}", s.page("attacker", store.Viewer, s.attacker))
	s.mux.Handle("GET /identities", s.page("identities", store.Viewer, s.identities))
	s.mux.Handle("GET /identities/{id}", s.page("group", store.Viewer, s.identity))
	s.mux.Handle("GET /campaigns", s.page("campaigns", store.Viewer, s.campaigns))
	s.mux.Handle("GET /campaigns/{id}", s.page("group", store.Viewer, s.campaign))
	s.mux.Handle("GET /alerts", s.page("alerts", store.Viewer, s.alertsPage))
	s.mux.Handle("GET /alert-rules", s.page("alert-rules", store.Viewer, s.alertRulesPage))
	s.mux.Handle("GET /credentials", s.page("credentials", store.Viewer, s.credentials))
	s.mux.Handle("GET /hosts", s.page("hosts", store.Viewer, s.hosts))
	s.mux.Handle("GET /topologies", s.page("topologies", store.Viewer, s.topologies))
	s.mux.Handle("GET /topologies/new", s.page("topology-new", store.Admin, s.newTopology))
	s.mux.Handle("POST /topologies/preview", s.auth(store.Viewer, s.preview))
	s.mux.Handle("GET /topologies/{id}", s.page("topology", store.Viewer, s.topology))
	s.mux.Handle("GET /topologies/{id}/deckies/{decky}", s.page("decky", store.Viewer, s.decky))
	s.mux.Handle("GET /users", s.page("users", store.Admin, s.users))
	s.mux.Handle("GET /outputs", s.page("outputs", store.Admin, s.outputsPage))
	s.mux.Handle("GET /tokens", s.page("tokens", store.Viewer, s.tokensPage))
	s.mux.Handle("GET /tokens/{id}", s.page("token", store.Viewer, s.tokenPage))
	s.mux.HandleFunc("/", s.notFound)
}

// static serves an embedded file: the public ones to anyone, the others to
// an authenticated session only.
func (s *Server) static(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	f, ok := s.files[name]
	if ok && !publicStatic[name] {
		if who, err := s.principal(r); err != nil || who == nil {
			ok = false
		}
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", f.ctype)
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("ETag", f.etag)
	if r.Header.Get("If-None-Match") == f.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = w.Write(f.body)
}

// principal returns the caller, nil when not authenticated.
func (s *Server) principal(r *http.Request) (*api.Principal, error) {
	who, err := s.api.Authenticate(r)
	if errors.Is(err, api.ErrUnauthenticated) {
		return nil, nil
	}
	return who, err
}

// toLogin redirects to the sign-in page, remembering where to come back.
func toLogin(w http.ResponseWriter, r *http.Request) {
	target := "/login"
	if r.URL.Path != "/" && r.Method == http.MethodGet {
		target += "?next=" + url.QueryEscape(r.URL.RequestURI())
	}
	w.Header().Set("Location", target) // no body: it would echo the path
	w.WriteHeader(http.StatusSeeOther)
}

// safeNext returns next when it is a path on this site, else "/".
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\r\n") {
		return "/"
	}
	return next
}

// auth runs h for an authenticated caller holding role whose password need
// not change; others go to the sign-in page (or get 403).
func (s *Server) auth(role store.Role, h func(w http.ResponseWriter, r *http.Request, who *api.Principal)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who, ok := s.signedIn(w, r)
		if !ok {
			return
		}
		if !who.Can(role) {
			s.render(w, r, http.StatusForbidden, "error", who, "Forbidden", errorView{Message: "This page needs the " + string(role) + " role."})
			return
		}
		h(w, r, who)
	})
}

// page serves a page whose data load returns.
func (s *Server) page(name string, role store.Role, load func(r *http.Request, who *api.Principal) (string, any, error)) http.Handler {
	return s.auth(role, func(w http.ResponseWriter, r *http.Request, who *api.Principal) {
		title, data, err := load(r, who)
		if err != nil {
			s.fail(w, r, who, err)
			return
		}
		s.render(w, r, http.StatusOK, name, who, title, data)
	})
}

// view is what every page template gets.
type view struct {
	Title  string
	Path   string
	User   *api.Principal
	CSRF   string
	Admin  bool
	Page   any
	Public bool // the sign-in page: name nothing
}

type errorView struct{ Message string }

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, who *api.Principal, title string, data any) {
	body, err := s.renderBytes(r, name, who, title, data)
	if err != nil {
		s.log.Error("render page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	writePage(w, status, body)
}

func writePage(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// renderBytes renders page name for who.
func (s *Server) renderBytes(r *http.Request, name string, who *api.Principal, title string, data any) ([]byte, error) {
	t := s.pages[name]
	v := view{Title: title, Path: r.URL.Path, User: who, Page: data}
	if who != nil {
		v.CSRF, v.Admin = who.CSRFToken(), who.Can(store.Admin)
	}
	v.Public = who == nil || who.MustChange
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// errBadRequest marks an error caused by the request; its text is shown.
var errBadRequest = errors.New("bad request")

func (s *Server) fail(w http.ResponseWriter, r *http.Request, who *api.Principal, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.render(w, r, http.StatusNotFound, "error", who, "Not found", errorView{Message: "Nothing here."})
	case errors.Is(err, errBadRequest), errors.Is(err, api.ErrInvalid):
		s.render(w, r, http.StatusBadRequest, "error", who, "Bad request", errorView{Message: err.Error()})
	default:
		s.log.Error("page failed", "path", r.URL.Path, "err", err)
		if who == nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		s.render(w, r, http.StatusInternalServerError, "error", who, "Error", errorView{Message: "Something went wrong; the server log has the details."})
	}
}

// signedIn returns the caller when signed in with a password that need
// not change; otherwise it answers (the sign-in page, or an error) and
// returns false.
func (s *Server) signedIn(w http.ResponseWriter, r *http.Request) (*api.Principal, bool) {
	who, err := s.principal(r)
	if err != nil {
		s.fail(w, r, nil, err)
		return nil, false
	}
	if who == nil || who.MustChange {
		toLogin(w, r)
		return nil, false
	}
	return who, true
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	who, ok := s.signedIn(w, r)
	if !ok {
		return
	}
	s.fail(w, r, who, store.ErrNotFound)
}

// login is the sign-in page, which becomes the password change when the
// session must change its password.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	who, err := s.principal(r)
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	next := safeNext(r.URL.Query().Get("next"))
	if who != nil && !who.MustChange {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "login", who, "Sign in", loginView{Next: next, Change: who != nil})
}

type loginView struct {
	Next   string
	Change bool
}
