package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/master"
	"github.com/decnet/decnet/internal/master/api"
	"github.com/decnet/decnet/internal/output"
	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/store/storetest"
	"github.com/decnet/decnet/internal/testenv"
)

type fixture struct {
	t        *testing.T
	st       store.Store
	srv      *httptest.Server
	c        *http.Client
	password string
	csrf     string
	now      time.Time
	blobs    mapBlobs
	outs     *fixedOutputs
}

// fixedOutputs lists the outputs a test sets (master.Outputs runs real
// ones in the Chromium test).
type fixedOutputs struct{ views []master.OutputView }

func (o *fixedOutputs) List(context.Context) ([]master.OutputView, error) { return o.views, nil }

// mapBlobs is the set of blob hashes the master holds.
type mapBlobs map[string]bool

func (m mapBlobs) Has(sha string) bool { return m[sha] }

// newFixture serves the API and the dashboard side by side over a real
// SQLite store, as runMaster does.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	st := storetest.SQLite(t)
	a, err := api.New(api.Options{Store: st, Logger: testenv.Logger(t, slog.LevelDebug)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	now := time.Now().UTC()
	blobs := mapBlobs{}
	outs := &fixedOutputs{}
	d, err := New(Options{API: a, Store: st, Blobs: blobs, Outputs: outs, Logger: testenv.Logger(t, slog.LevelDebug), Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(api.Prefix+"/", a.Handler())
	mux.Handle("/", d.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	pw, _, err := api.Bootstrap(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &fixture{t: t, st: st, srv: srv, c: c, password: pw, now: now, blobs: blobs, outs: outs}
}

func (f *fixture) post(path string, body any) map[string]any {
	f.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+api.Prefix+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(api.CSRFHeader, f.csrf)
	resp, err := f.c.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&v)
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		f.t.Fatalf("POST %s: %s %v", path, resp.Status, v)
	}
	return v
}

// login signs in as admin; with change it also changes the password.
func (f *fixture) login(change bool) {
	f.t.Helper()
	f.csrf = f.post("/auth/login", map[string]string{"username": "admin", "password": f.password})["csrf_token"].(string)
	if change {
		f.csrf = f.post("/auth/password", map[string]string{"current_password": f.password, "new_password": "correct horse battery staple"})["csrf_token"].(string)
	}
}

func (f *fixture) get(path string) (*http.Response, string) {
	f.t.Helper()
	resp, err := f.c.Get(f.srv.URL + path)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// seed stores an SSH session of one attacker (a failed and a successful
// login, two commands) and web requests of another.
func (f *fixture) seed() {
	f.t.Helper()
	at := f.now.Add(-2 * time.Hour)
	mk := func(typ, decky, svc, ip string, sev int, fields map[string]any) event.Event {
		at = at.Add(time.Minute)
		return event.Event{Schema: 1, ID: event.NewID(), Time: at, Type: typ, Severity: sev, Decky: decky, Service: svc,
			Session: "s-" + ip, Src: &event.Endpoint{IP: ip, Port: 40000}, Dst: &event.Endpoint{IP: "10.0.0.2", Port: 22}, Fields: fields}
	}
	fail := mk("ssh.login.failed", "gw-01", "ssh", "203.0.113.7", 2, nil)
	fail.Outcome = "failure"
	fail.Credential = event.NewCredential("plaintext", "password", "root", []byte("=cmd|calc"), true)
	ok := mk("ssh.login.success", "gw-01", "ssh", "203.0.113.7", 3, nil)
	ok.Outcome = "success"
	ok.Credential = event.NewCredential("plaintext", "password", "root", []byte("toor"), true)
	es := []event.Event{
		mk("ssh.session.open", "gw-01", "ssh", "203.0.113.7", 0, nil), fail, ok,
		mk("ssh.command.input", "gw-01", "ssh", "203.0.113.7", 3, map[string]any{"command_line": "uname -a"}),
		mk("ssh.command.input", "gw-01", "ssh", "203.0.113.7", 3, map[string]any{"command_line": "cat /etc/passwd <script>"}),
		mk("http.request.received", "web-01", "http", "198.51.100.9", 1, map[string]any{"path": "/wp-login.php"}),
		mk("http.request.received", "web-01", "http", "198.51.100.9", 1, map[string]any{"path": "/.env"}),
	}
	if _, err := f.st.InsertEvents(context.Background(), es); err != nil {
		f.t.Fatal(err)
	}
}

// forbidden is what an unauthenticated visitor must never read.
var forbidden = []string{"decnet", "honeypot", "decoy", "deck", "attacker"}

func TestUnauthenticatedSeesNothing(t *testing.T) {
	f := newFixture(t)
	for _, p := range []string{"/", "/events", "/attackers/203.0.113.7", "/hosts", "/users", "/nope", "/events/export.csv", "/static/feed.js", "/static/nope.js"} {
		resp, body := f.get(p)
		switch {
		case strings.HasPrefix(p, "/static/"):
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s: %s, want 404 for a private static file", p, resp.Status)
			}
		case resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login"):
			t.Errorf("GET %s: %s to %q, want a redirect to /login", p, resp.Status, resp.Header.Get("Location"))
		}
		for _, w := range forbidden {
			if strings.Contains(strings.ToLower(body), w) {
				t.Errorf("GET %s names %q", p, w)
			}
		}
	}
	for _, p := range []string{"/login", "/login?next=/events", "/static/app.css", "/static/login.js", "/static/api.js"} {
		resp, body := f.get(p)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", p, resp.Status)
		}
		for _, w := range forbidden {
			if strings.Contains(strings.ToLower(body), w) {
				t.Errorf("GET %s names %q", p, w)
			}
		}
		if got := resp.Header.Get("Content-Security-Policy"); got != CSP {
			t.Errorf("GET %s: CSP %q", p, got)
		}
		for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"} {
			if got := resp.Header.Get(h); got != want {
				t.Errorf("GET %s: %s = %q, want %q", p, h, got, want)
			}
		}
	}
	_, body := f.get("/login")
	if strings.Contains(body, "<script>") || strings.Contains(body, " style=") || strings.Contains(body, "onclick") {
		t.Errorf("the sign-in page has inline script or style:\n%s", body)
	}
}

func TestStaticETag(t *testing.T) {
	f := newFixture(t)
	resp, _ := f.get("/static/app.css")
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/static/app.css", nil)
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	r2, err := f.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != http.StatusNotModified || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
		t.Fatalf("conditional GET: %s, content type %q", r2.Status, resp.Header.Get("Content-Type"))
	}
}

func TestForcedPasswordChange(t *testing.T) {
	f := newFixture(t)
	f.login(false)
	resp, _ := f.get("/events")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next=%2Fevents" {
		t.Fatalf("GET /events before the change: %s %q", resp.Status, resp.Header.Get("Location"))
	}
	resp, body := f.get("/login?next=%2Fevents")
	if resp.StatusCode != 200 || !strings.Contains(body, `<form id="login-form" data-next="/events" hidden>`) ||
		strings.Contains(body, `<form id="change-form" data-next="/events" hidden>`) || !strings.Contains(body, `name="csrf-token"`) {
		t.Fatalf("the sign-in page does not show the change form:\n%s", body)
	}
	f.csrf = f.post("/auth/password", map[string]string{"current_password": f.password, "new_password": "correct horse battery staple"})["csrf_token"].(string)
	resp, _ = f.get("/login?next=%2Fevents")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/events" {
		t.Fatalf("GET /login after the change: %s %q", resp.Status, resp.Header.Get("Location"))
	}
	resp, body = f.get("/")
	if resp.StatusCode != 200 || !strings.Contains(body, `<meta name="csrf-token" content="`+f.csrf+`">`) {
		t.Fatalf("overview: %s\n%s", resp.Status, body)
	}
}

func TestPages(t *testing.T) {
	f := newFixture(t)
	f.seed()
	f.login(true)
	tests := []struct {
		name, path string
		status     int
		want       []string
		not        []string
	}{
		{"overview", "/", 200, []string{"<h1>Overview</h1>", `<span class="n">7</span>`, `<a href="/attackers/203.0.113.7">203.0.113.7</a>`,
			`aria-current="page"`, `id="feed"`, "Interactions per hour over the last 24 hours: 7 in total", `<a href="/users"`}, nil},
		{"events", "/events", 200, []string{`<span id="total">7</span>`, "ssh.login.success", "http.request.received", "Raw document",
			`href="/events/export.jsonl?range=24h"`, "cat /etc/passwd &lt;script&gt;"}, []string{"<script>"}},
		{"events by type", "/events?type=ssh.login.success", 200, []string{`<span id="total">1</span>`, `value="ssh.login.success"`},
			[]string{`<span class="type sev-low">http.request.received</span>`}},
		{"events by text and source", "/events?q=wp-login&src_ip=198.51.100.9&range=7d", 200, []string{`<span id="total">1</span>`, `<option value="7d" selected>`}, nil},
		{"events in a custom range", "/events?since=" + url.QueryEscape(f.now.Add(-3*time.Hour).Format(time.RFC3339)) + "&until=" +
			url.QueryEscape(f.now.Add(-time.Hour).Format(time.RFC3339)), 200, []string{`<span id="total">7</span>`}, nil},
		{"events outside the range", "/events?range=1h", 200, []string{`<span id="total">0</span>`, "No events."}, nil},
		{"bad type", "/events?type=../x", 400, []string{"is not an event type"}, nil},
		{"bad time", "/events?since=yesterday", 400, []string{"since must be a time"}, nil},
		{"inverted range", "/events?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z", 400, []string{"since must be before until"}, nil},
		{"attackers", "/attackers", 200, []string{"203.0.113.7", "198.51.100.9", "gw-01"}, nil},
		{"attacker", "/attackers/203.0.113.7", 200, []string{"<h1>Attacker 203.0.113.7</h1>", `<span class="cmd">uname -a</span>`,
			`<span class="cmd">cat /etc/passwd &lt;script&gt;</span>`, "<code>toor</code>", "<code>=cmd|calc</code>", "Replay"}, nil},
		{"unknown attacker", "/attackers/192.0.2.1", 404, []string{"Nothing here."}, nil},
		{"bad attacker", "/attackers/nope", 400, []string{"is not an IP address"}, nil},
		{"credentials", "/credentials", 200, []string{"<code>toor</code>", `<a href="/attackers/203.0.113.7">`}, nil},
		{"hosts", "/hosts", 200, []string{"No host has enrolled yet.", `id="join-form"`}, nil},
		{"users", "/users", 200, []string{`<th scope="row">admin</th>`, `id="user-form"`}, nil},
		{"not found", "/nope", 404, []string{"Nothing here."}, nil},
		{"private static", "/static/feed.js", 200, []string{"EventSource"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := f.get(tc.path)
			if resp.StatusCode != tc.status {
				t.Fatalf("GET %s: %s\n%s", tc.path, resp.Status, body)
			}
			contains(t, tc.path, body, tc.want, tc.not)
			if resp.Header.Get("Content-Security-Policy") != CSP {
				t.Errorf("no CSP on %s", tc.path)
			}
		})
	}
}

func TestExport(t *testing.T) {
	f := newFixture(t)
	f.seed()
	f.login(true)
	resp, body := f.get("/events/export.jsonl?service=ssh")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson; charset=utf-8" ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("jsonl: %s %v", resp.Status, resp.Header)
	}
	lines := strings.Split(strings.TrimSpace(body), "\n")
	if len(lines) != 5 {
		t.Fatalf("jsonl has %d lines, want 5:\n%s", len(lines), body)
	}
	for _, l := range lines {
		var e event.Event
		if err := json.Unmarshal([]byte(l), &e); err != nil || e.Service != "ssh" {
			t.Fatalf("jsonl line %q: %v", l, err)
		}
	}
	resp, body = f.get("/events/export.csv?type=ssh.login.failed,ssh.login.success")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %s", resp.Status)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(rows) != 3 || rows[0][0] != "id" {
		t.Fatalf("csv: %v %q", err, rows)
	}
	if rows[1][2] != "ssh.login.success" || rows[2][14] != "root" {
		t.Fatalf("csv rows: %q", rows)
	}
	if resp, _ := f.get("/events/export.csv?src_ip=nope"); resp.StatusCode != 400 {
		t.Fatalf("bad filter: %s", resp.Status)
	}
}

func TestCSVCell(t *testing.T) {
	for in, want := range map[string]string{"=1+1": "'=1+1", "+x": "'+x", "-x": "'-x", "@x": "'@x", "plain": "plain", "": ""} {
		if got := csvCell(in); got != want {
			t.Errorf("csvCell(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSafeNext(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "/"}, {"/events?type=x", "/events?type=x"}, {"//evil.example", "/"}, {"/\\evil.example", "/"},
		{"https://evil.example", "/"}, {"/a\r\nb", "/"},
	}
	for _, tc := range tests {
		if got := safeNext(tc.in); got != tc.want {
			t.Errorf("safeNext(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestViewerCannotManageUsers(t *testing.T) {
	f := newFixture(t)
	f.login(true)
	pw := f.post("/users", map[string]string{"name": "eve", "role": "viewer"})["password"].(string)
	jar, _ := cookiejar.New(nil)
	f.c.Jar = jar
	f.password, f.csrf = pw, ""
	f.csrf = f.post("/auth/login", map[string]string{"username": "eve", "password": pw})["csrf_token"].(string)
	f.csrf = f.post("/auth/password", map[string]string{"current_password": pw, "new_password": "another long passphrase"})["csrf_token"].(string)
	resp, body := f.get("/users")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "needs the admin role") {
		t.Fatalf("a viewer on /users: %s", resp.Status)
	}
	if resp, body = f.get("/hosts"); resp.StatusCode != 200 || strings.Contains(body, "join-form") || strings.Contains(body, `href="/users"`) {
		t.Fatalf("a viewer on /hosts: %s, admin controls shown", resp.Status)
	}
}

// TestAttackerRecordingsAndFiles: the attacker page offers the recording
// of a session and the files of the attacker, with downloads for admins
// only, and says when the agent has not delivered a blob yet.
func TestAttackerRecordingsAndFiles(t *testing.T) {
	f := newFixture(t)
	f.login(true)
	cast, file, late := strings.Repeat("c", 64), strings.Repeat("f", 64), strings.Repeat("1", 64)
	f.blobs[cast], f.blobs[file] = true, true
	at := f.now.Add(-time.Hour)
	mk := func(typ, session string, fields map[string]any) event.Event {
		at = at.Add(time.Second)
		return event.Event{Schema: 1, ID: event.NewID(), Time: at, Type: typ, Decky: "gw-01", Service: "ssh", Session: session,
			Src: &event.Endpoint{IP: "203.0.113.8", Port: 40000}, Fields: fields}
	}
	es := []event.Event{
		mk("ssh.command.input", "s1", map[string]any{"command_line": "id"}),
		mk("ssh.file.upload", "s1", map[string]any{"path": "/tmp/<b>x.sh</b>", "size": 42.0, "sha256": file}),
		mk("ssh.transcript.saved", "s1", map[string]any{"sha256": cast, "size": 900.0, "format": "asciicast-v2", "truncated": true}),
		mk("ssh.transcript.saved", "s2", map[string]any{"sha256": late, "size": 10.0}),
	}
	if _, err := f.st.InsertEvents(context.Background(), es); err != nil {
		t.Fatal(err)
	}
	_, body := f.get("/attackers/203.0.113.8")
	for _, want := range []string{
		`class="play-cast" data-sha="` + cast + `"`,
		`href="/api/v1/artifacts/` + cast + `"`,
		"(truncated)",
		`href="/api/v1/artifacts/` + file + `" download="` + file + `.bin"`,
		"/tmp/&lt;b&gt;x.sh&lt;/b&gt;",
		"The agent has not delivered this recording yet.",
		`<ol class="path">`, `href="/events?decky=gw-01&amp;src_ip=203.0.113.8&amp;range=90d">gw-01</a> <span class="muted">ssh; 4 events`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("attacker page lacks %q", want)
		}
	}
	if strings.Contains(body, `data-sha="`+late+`"`) {
		t.Error("a recording the master does not hold is offered for playing")
	}
	// A viewer sees the hashes but no player and no download.
	f.post("/users", map[string]string{"name": "val", "role": "viewer", "password": "viewer-password-123"})
	f.c.Jar, _ = cookiejar.New(nil)
	f.csrf = f.post("/auth/login", map[string]string{"username": "val", "password": "viewer-password-123"})["csrf_token"].(string)
	f.csrf = f.post("/auth/password", map[string]string{"current_password": "viewer-password-123", "new_password": "viewer-password-456"})["csrf_token"].(string)
	_, body = f.get("/attackers/203.0.113.8")
	if strings.Contains(body, "/api/v1/artifacts/") || strings.Contains(body, "play-cast") || !strings.Contains(body, file) ||
		!strings.Contains(body, "needs the admin role") {
		t.Errorf("viewer's attacker page offers downloads or hides hashes:\n%s", body)
	}
}

// TestOutputsPage: each output with its destination, state and last test;
// only API outputs can be edited or deleted; hostile text is escaped; the
// page is for admins.
func TestOutputsPage(t *testing.T) {
	f := newFixture(t)
	f.login(true)
	at := f.now.Add(-time.Minute)
	f.outs.views = []master.OutputView{
		{Config: output.Config{Name: "siem", Kind: output.KindWebhook, URL: `https://siem.example/h?a="><script>x</script>`}, SecretSet: true,
			Source: master.OutputSourceAPI, Enabled: true, Running: true, State: "failing",
			Status:   output.Status{Delivered: 12, LastError: "HTTP status 500", LastErrorAt: at, ConsecutiveFailures: 3},
			LastTest: &master.OutputTest{OK: false, Error: "HTTP status 500", At: at}},
		{Config: output.Config{Name: "archive", Kind: output.KindFile, Path: "/var/log/decnet.jsonl"}, Source: master.OutputSourceFlag, Enabled: true, Running: true, State: "running"},
		{Config: output.Config{Name: "old", Kind: output.KindSyslog, Address: "10.0.0.9:6514", TLS: true}, Source: master.OutputSourceAPI, State: "disabled"},
	}
	resp, body := f.get("/outputs")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("outputs page: %s", resp.Status)
	}
	for _, want := range []string{
		`&#34;&gt;&lt;script&gt;x&lt;/script&gt;`,
		`out-failing`, "3 failures in a row", "HTTP status 500 (", "failed: HTTP status 500",
		`out-running" data-role="state">running`, "/var/log/decnet.jsonl", "(command line)",
		`out-disabled`, "10.0.0.9:6514 (TLS)",
		`id="out-form"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("outputs page lacks %q", want)
		}
	}
	if strings.Contains(body, "<script>x") {
		t.Error("a URL is not escaped")
	}
	// The flag output has Test only: no edit, no delete.
	archive := body[strings.Index(body, `data-name="archive"`):]
	archive = archive[:strings.Index(archive, "</tr>")]
	if strings.Contains(archive, `data-action="edit"`) || strings.Contains(archive, `data-action="delete"`) || !strings.Contains(archive, `data-action="test"`) {
		t.Errorf("flag output row: %s", archive)
	}
	f.post("/users", map[string]string{"name": "vic", "role": "viewer", "password": "viewer-password-123"})
	f.c.Jar, _ = cookiejar.New(nil)
	f.csrf = f.post("/auth/login", map[string]string{"username": "vic", "password": "viewer-password-123"})["csrf_token"].(string)
	f.csrf = f.post("/auth/password", map[string]string{"current_password": "viewer-password-123", "new_password": "viewer-password-456"})["csrf_token"].(string)
	if resp, body := f.get("/outputs"); resp.StatusCode != http.StatusForbidden || strings.Contains(body, "siem.example") {
		t.Errorf("viewer on the outputs page: %s", resp.Status)
	}
}

// TestCredentialReuse: a credential tried on two deckies is marked and
// listed by the reuse filter; one tried once is not.
func TestCredentialReuse(t *testing.T) {
	f := newFixture(t)
	f.login(true)
	mk := func(decky, user, pass string) event.Event {
		e := event.Event{Schema: 1, ID: event.NewID(), Time: f.now.Add(-time.Minute), Type: "ssh.login.failed", Decky: decky, Service: "ssh",
			Src: &event.Endpoint{IP: "203.0.113.9", Port: 1}, Outcome: "failure"}
		e.Credential = event.NewCredential("plaintext", "password", user, []byte(pass), true)
		return e
	}
	es := []event.Event{mk("gw-01", "admin", "Winter2026!"), mk("db-01", "admin", "Winter2026!"), mk("gw-01", "root", "once")}
	if _, err := f.st.InsertEvents(context.Background(), es); err != nil {
		t.Fatal(err)
	}
	_, all := f.get("/credentials")
	if !strings.Contains(all, "2 credentials, 1 of them tried on more than one decky") {
		t.Errorf("credentials summary missing:\n%s", all)
	}
	_, reused := f.get("/credentials?reused=1")
	if !strings.Contains(reused, "reused on 2") || !strings.Contains(reused, "Winter2026!") || strings.Contains(reused, ">once<") {
		t.Errorf("reuse filter:\n%s", reused)
	}
}
