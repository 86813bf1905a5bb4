package api

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/store"
)

const (
	adminPW  = "admin-password-123"
	viewerPW = "viewer-password-123"
)

// dummyRoutes stand for the routes the master mounts.
func dummyRoutes() []Route {
	ok := func(w http.ResponseWriter, _ *http.Request, _ *Principal) {
		WriteJSON(w, http.StatusOK, map[string]bool{"ok": true})
	}
	return []Route{
		{Method: "GET", Pattern: "/topologies", Summary: "List topologies", Role: store.Viewer, Handler: ok},
		{Method: "POST", Pattern: "/topologies", Summary: "Create a topology", Role: store.Admin, Mutating: true, Handler: ok},
		{Method: "PUT", Pattern: "/topologies/{id}", Summary: "Replace a topology", Role: store.Admin, Handler: ok},
		{Method: "DELETE", Pattern: "/hosts/{id}", Summary: "Decommission a host", Role: store.Admin, Mutating: true, Handler: ok},
		{Method: "GET", Pattern: "/files/{path...}", Summary: "A wildcard", Role: store.Viewer, Handler: ok},
	}
}

func concrete(pattern string) string {
	p, params := openAPIPath(pattern)
	for _, n := range params {
		v := "1"
		if n == "ip" {
			v = "192.0.2.1"
		}
		p = strings.Replace(p, "{"+n+"}", v, 1)
	}
	return p
}

// TestEveryRouteIsGuarded walks every registered route, built-in and
// mounted: none but login answers without credentials, every admin route
// refuses a viewer, every mutating route refuses a session without the
// CSRF header, and admin mutations are audited.
func TestEveryRouteIsGuarded(t *testing.T) {
	e := newEnv(t)
	e.srv.Mount(dummyRoutes()...)
	e.addUser("root", store.Admin, adminPW, false)
	e.addUser("eve", store.Viewer, viewerPW, false)
	admin, viewer := e.login("root", adminPW), e.login("eve", viewerPW)
	anon := e.anon()

	routes := e.srv.registered()
	if len(routes) < 20 {
		t.Fatalf("only %d routes registered", len(routes))
	}
	public := 0
	for _, rt := range routes {
		path := concrete(rt.Pattern)
		t.Run(rt.Method+" "+rt.Pattern, func(t *testing.T) {
			body := map[string]any{}
			if rt.Method == "GET" || rt.Method == "DELETE" {
				body = nil
			}
			r := anon.do(rt.Method, path, body)
			if rt.Role == "" {
				public++
				if rt.Pattern != "/auth/login" {
					t.Fatalf("route is public")
				}
				return
			}
			wantCode(t, "anonymous", r, http.StatusUnauthorized, CodeUnauthenticated)
			bad := e.anon()
			bad.bearer = "dnt_not-a-token"
			wantCode(t, "bad bearer", bad.do(rt.Method, path, body), http.StatusUnauthorized, CodeUnauthenticated)

			if rt.Role == store.Admin {
				wantCode(t, "viewer", viewer.do(rt.Method, path, body), http.StatusForbidden, CodeForbidden)
			}
			if rt.mutating() {
				r := admin.doHeaders(rt.Method, path, body, map[string]string{CSRFHeader: ""})
				wantCode(t, "session without CSRF", r, http.StatusForbidden, CodeCSRF)
				r = admin.doHeaders(rt.Method, path, body, map[string]string{CSRFHeader: "wrong"})
				wantCode(t, "session with a wrong CSRF", r, http.StatusForbidden, CodeCSRF)
			}
		})
	}
	if public != 1 {
		t.Fatalf("%d public routes, want login only", public)
	}

	// Admin mutations reached the audit log.
	r := admin.do("PUT", "/topologies/7", map[string]any{})
	wantCode(t, "mounted admin route", r, http.StatusOK, "")
	audit, err := e.st.ListAudit(context.Background(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) == 0 || audit[0].Action != "PUT /topologies/{id}" || audit[0].Actor != "root" ||
		audit[0].Target != Prefix+"/topologies/7" || audit[0].Detail != "status=200" {
		t.Fatalf("audit = %+v", audit)
	}
}

func TestMountRefusesBadRoutes(t *testing.T) {
	e := newEnv(t)
	h := func(http.ResponseWriter, *http.Request, *Principal) {}
	for _, tc := range []struct {
		name string
		r    Route
	}{
		{"duplicate", Route{Method: "GET", Pattern: "/events", Summary: "x", Role: store.Viewer, Handler: h}},
		{"bad method", Route{Method: "TRACE", Pattern: "/x", Summary: "x", Handler: h}},
		{"relative", Route{Method: "GET", Pattern: "x", Summary: "x", Handler: h}},
		{"no handler", Route{Method: "GET", Pattern: "/x", Summary: "x"}},
		{"bad role", Route{Method: "GET", Pattern: "/x", Summary: "x", Role: "root", Handler: h}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			e.srv.Mount(tc.r)
		})
	}
}

func TestLoginRateLimit(t *testing.T) {
	e := newEnv(t)
	e.addUser("root", store.Admin, adminPW, false)
	c := e.anon()
	wrong := map[string]string{"username": "root", "password": "not the password"}
	for i := range loginFailures {
		wantCode(t, fmt.Sprint("failure ", i), c.do("POST", "/auth/login", wrong), http.StatusUnauthorized, CodeInvalidCredentials)
	}
	r := c.do("POST", "/auth/login", map[string]string{"username": "root", "password": adminPW})
	wantCode(t, "right password over the limit", r, http.StatusTooManyRequests, CodeRateLimited)
	if ra := r.header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Fatalf("Retry-After = %q", ra)
	}
	// Unknown users get the same answer as wrong passwords, and the
	// per-address limit covers them too.
	r = c.do("POST", "/auth/login", map[string]string{"username": "nobody", "password": "x"})
	wantCode(t, "other user, same address", r, http.StatusTooManyRequests, CodeRateLimited)

	e.clock.Add(loginWindow + time.Second)
	r = c.do("POST", "/auth/login", map[string]string{"username": "nobody", "password": "x"})
	wantCode(t, "unknown user", r, http.StatusUnauthorized, CodeInvalidCredentials)
	if got := c.do("POST", "/auth/login", wrong); string(got.body) != string(r.body) {
		t.Fatalf("unknown user %s and wrong password %s differ", r.body, got.body)
	}
	wantCode(t, "after the window", c.do("POST", "/auth/login", map[string]string{"username": "root", "password": adminPW}), http.StatusOK, "")
}

func TestLimiterReservesParallelAttempts(t *testing.T) {
	l := newLimiter(5, time.Minute)
	now := time.Now()
	for i := range 5 {
		if ok, _ := l.reserve(now.Add(time.Duration(i)), "ip:a", "user:x"); !ok {
			t.Fatalf("attempt %d refused", i)
		}
	}
	if ok, retry := l.reserve(now.Add(10), "ip:b", "user:x"); ok || retry <= 0 {
		t.Fatalf("sixth attempt: ok=%v retry=%v", ok, retry)
	}
	l.release(now, "ip:a", "user:x")
	if ok, _ := l.reserve(now.Add(11), "ip:a", "user:x"); !ok {
		t.Fatal("refused after a reset")
	}
}

func TestForcedPasswordChange(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	pw, created, err := Bootstrap(ctx, e.st)
	if err != nil || !created || len(pw) < minPasswordChars {
		t.Fatalf("bootstrap: %q %v %v", pw, created, err)
	}
	if _, again, err := Bootstrap(ctx, e.st); again || err != nil {
		t.Fatalf("second bootstrap: %v %v", again, err)
	}
	c := e.login(BootstrapUser, pw)
	wantCode(t, "events before the change", c.do("GET", "/events", nil), http.StatusForbidden, CodePasswordChangeRequired)
	wantCode(t, "tokens before the change", c.do("POST", "/tokens", map[string]string{"name": "x"}), http.StatusForbidden, CodePasswordChangeRequired)
	me := c.do("GET", "/auth/me", nil)
	wantCode(t, "whoami", me, http.StatusOK, "")
	if me.json()["user"].(map[string]any)["must_change_password"] != true {
		t.Fatalf("whoami: %s", me.body)
	}
	old := c.hc.Jar.Cookies(mustURL(e.ts.URL))

	change := map[string]string{"current_password": pw, "new_password": "a much better password"}
	wantCode(t, "change without CSRF", c.doHeaders("POST", "/auth/password", change, map[string]string{CSRFHeader: ""}), http.StatusForbidden, CodeCSRF)
	wantCode(t, "too short", c.do("POST", "/auth/password", map[string]string{"current_password": pw, "new_password": "short"}), http.StatusBadRequest, CodeInvalid)
	wantCode(t, "wrong current", c.do("POST", "/auth/password", map[string]string{"current_password": "wrong wrong wrong", "new_password": "a much better password"}), http.StatusForbidden, CodeInvalidCredentials)
	r := c.do("POST", "/auth/password", change)
	wantCode(t, "change", r, http.StatusOK, "")
	c.csrf = r.json()["csrf_token"].(string)
	wantCode(t, "events after the change", c.do("GET", "/events", nil), http.StatusOK, "")

	// The session from before the change is dead.
	stale := e.anon()
	stale.hc.Jar.SetCookies(mustURL(e.ts.URL), old)
	wantCode(t, "old session", stale.do("GET", "/auth/me", nil), http.StatusUnauthorized, CodeUnauthenticated)
	wantCode(t, "old password", e.anon().do("POST", "/auth/login", map[string]string{"username": BootstrapUser, "password": pw}), http.StatusUnauthorized, "")
	e.login(BootstrapUser, "a much better password")

	// An admin reset forces a change again and ends the user's sessions.
	v := e.addUser("eve", store.Viewer, viewerPW, false)
	vc := e.login("eve", viewerPW)
	r = c.do("POST", fmt.Sprintf("/users/%d/password", v.ID), nil)
	wantCode(t, "reset", r, http.StatusOK, "")
	newPW, _ := r.json()["password"].(string)
	wantCode(t, "viewer session after reset", vc.do("GET", "/events", nil), http.StatusUnauthorized, "")
	vc = e.login("eve", newPW)
	wantCode(t, "viewer after reset", vc.do("GET", "/events", nil), http.StatusForbidden, CodePasswordChangeRequired)

	// Logout ends the session.
	wantCode(t, "logout", c.do("POST", "/auth/logout", nil), http.StatusNoContent, "")
	wantCode(t, "after logout", c.do("GET", "/events", nil), http.StatusUnauthorized, "")
}

func TestTokenAuth(t *testing.T) {
	e := newEnv(t)
	e.addUser("eve", store.Viewer, viewerPW, false)
	e.addUser("root", store.Admin, adminPW, false)
	c := e.login("eve", viewerPW)
	r := c.do("POST", "/tokens", map[string]string{"name": "siem"})
	wantCode(t, "create", r, http.StatusCreated, "")
	tok, _ := r.json()["token"].(string)
	if !strings.HasPrefix(tok, tokenPrefix) {
		t.Fatalf("token %q", tok)
	}
	id := int64(r.json()["id"].(float64))

	b := e.anon()
	b.bearer = tok
	wantCode(t, "bearer read", b.do("GET", "/events", nil), http.StatusOK, "")
	wantCode(t, "bearer admin route", b.do("GET", "/users", nil), http.StatusForbidden, CodeForbidden)
	// Bearer calls need no CSRF header: browsers never add Authorization.
	r = b.do("POST", "/tokens", map[string]string{"name": "second"})
	wantCode(t, "bearer mutation", r, http.StatusCreated, "")
	list := b.do("GET", "/tokens", nil)
	wantCode(t, "list", list, http.StatusOK, "")
	if strings.Contains(string(list.body), tok) || strings.Contains(string(list.body), hashToken(tok)) {
		t.Fatal("token list shows the secret or its hash")
	}
	if n := len(list.json()["items"].([]any)); n != 2 {
		t.Fatalf("%d tokens listed", n)
	}
	// Another viewer cannot revoke it; its owner can.
	e.addUser("mallory", store.Viewer, viewerPW, false)
	m := e.login("mallory", viewerPW)
	wantCode(t, "other's token", m.do("DELETE", fmt.Sprintf("/tokens/%d", id), nil), http.StatusNotFound, CodeNotFound)
	wantCode(t, "other's list", m.do("GET", "/tokens?user_id=1", nil), http.StatusForbidden, CodeForbidden)
	wantCode(t, "revoke", c.do("DELETE", fmt.Sprintf("/tokens/%d", id), nil), http.StatusNoContent, "")
	wantCode(t, "revoked bearer", b.do("GET", "/events", nil), http.StatusUnauthorized, CodeUnauthenticated)
	audit, _ := e.st.ListAudit(context.Background(), 0, 10)
	if len(audit) < 3 || audit[0].Action != "DELETE /tokens/{id}" {
		t.Fatalf("audit: %+v", audit)
	}
}

func TestUsers(t *testing.T) {
	e := newEnv(t)
	root := e.addUser("root", store.Admin, adminPW, false)
	c := e.login("root", adminPW)
	r := c.do("POST", "/users", map[string]any{"name": "bob", "role": "viewer"})
	wantCode(t, "create", r, http.StatusCreated, "")
	pw, _ := r.json()["password"].(string)
	bob := int64(r.json()["user"].(map[string]any)["id"].(float64))
	wantCode(t, "taken", c.do("POST", "/users", map[string]any{"name": "bob", "role": "viewer"}), http.StatusConflict, CodeConflict)
	wantCode(t, "bad role", c.do("POST", "/users", map[string]any{"name": "x", "role": "root"}), http.StatusBadRequest, CodeInvalid)
	wantCode(t, "bad name", c.do("POST", "/users", map[string]any{"name": "a b", "role": "viewer"}), http.StatusBadRequest, CodeInvalid)
	wantCode(t, "unknown field", c.do("POST", "/users", map[string]any{"name": "x", "role": "viewer", "admin": true}), http.StatusBadRequest, CodeInvalid)
	wantCode(t, "not JSON", c.doHeaders("POST", "/users", map[string]any{"name": "x"}, map[string]string{"Content-Type": "text/plain"}), http.StatusUnsupportedMediaType, CodeUnsupportedMediaType)
	e.login("bob", pw)
	wantCode(t, "list", c.do("GET", "/users", nil), http.StatusOK, "")
	wantCode(t, "delete self", c.do("DELETE", fmt.Sprintf("/users/%d", root.ID), nil), http.StatusConflict, CodeConflict)
	wantCode(t, "delete", c.do("DELETE", fmt.Sprintf("/users/%d", bob), nil), http.StatusNoContent, "")
	wantCode(t, "delete again", c.do("DELETE", fmt.Sprintf("/users/%d", bob), nil), http.StatusNotFound, CodeNotFound)
	wantCode(t, "audit", c.do("GET", "/audit?limit=2", nil), http.StatusOK, "")
	if cur := c.do("GET", "/audit?limit=2", nil).json()["next_cursor"]; cur == nil {
		t.Fatal("audit has no second page")
	}
}

func TestErrorShape(t *testing.T) {
	e := newEnv(t)
	c := e.anon()
	wantCode(t, "unknown route", c.do("GET", "/nope", nil), http.StatusNotFound, CodeNotFound)
	r := c.do("PATCH", "/events", nil)
	wantCode(t, "wrong method", r, http.StatusMethodNotAllowed, CodeMethodNotAllowed)
	if r.header.Get("Allow") != "GET" {
		t.Fatalf("Allow = %q", r.header.Get("Allow"))
	}
	r = c.doHeaders("POST", "/auth/login", nil, map[string]string{"Content-Type": "application/json"})
	wantCode(t, "empty body", r, http.StatusBadRequest, CodeInvalid)
	if r.header.Get("X-Content-Type-Options") != "nosniff" || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("security headers: %v", r.header)
	}
}

func mustURL(s string) *url.URL { u, _ := url.Parse(s); return u }

func mkEvent(i int, typ, decky, service, ip string, at time.Time) event.Event {
	return event.Event{Schema: 1, ID: event.NewID(), Time: at, Type: typ, Decky: decky, Service: service,
		Src: &event.Endpoint{IP: ip, Port: 40000 + i}, Fields: map[string]any{"n": i, "note": fmt.Sprintf("marker-%d", i)}}
}

func TestEventsFiltersAndPagination(t *testing.T) {
	e := newEnv(t)
	e.addUser("eve", store.Viewer, viewerPW, false)
	c := e.login("eve", viewerPW)
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var evs []event.Event
	for i := range 25 {
		typ, decky, svc, ip := "ssh.login.failed", "d1", "ssh", "203.0.113.1"
		if i%5 == 0 {
			typ, decky, svc, ip = "http.request.received", "d2", "http", "198.51.100.7"
		}
		evs = append(evs, mkEvent(i, typ, decky, svc, ip, base.Add(time.Duration(i)*time.Minute)))
		time.Sleep(time.Millisecond) // distinct UUIDv7 milliseconds keep id order = insertion order
	}
	if _, err := e.st.InsertEvents(context.Background(), evs); err != nil {
		t.Fatal(err)
	}

	// Walk all pages of 10.
	var ids []string
	cursor := ""
	for range 10 {
		r := c.do("GET", "/events?limit=10"+cursor, nil)
		wantCode(t, "page", r, http.StatusOK, "")
		for _, it := range r.json()["items"].([]any) {
			ids = append(ids, it.(map[string]any)["id"].(string))
		}
		next, _ := r.json()["next_cursor"].(string)
		if next == "" {
			break
		}
		cursor = "&cursor=" + next
	}
	if len(ids) != 25 {
		t.Fatalf("%d events over the pages", len(ids))
	}
	for i := range ids {
		if ids[i] != evs[24-i].ID {
			t.Fatalf("page order: item %d is %s, want %s", i, ids[i], evs[24-i].ID)
		}
	}

	count := func(q string) int {
		t.Helper()
		r := c.do("GET", "/events/count?"+q, nil)
		wantCode(t, "count "+q, r, http.StatusOK, "")
		lr := c.do("GET", "/events?"+q, nil)
		wantCode(t, "list "+q, lr, http.StatusOK, "")
		n := int(r.json()["count"].(float64))
		if got := len(lr.json()["items"].([]any)); got != n {
			t.Fatalf("%s: list has %d, count says %d", q, got, n)
		}
		return n
	}
	for _, tc := range []struct {
		q    string
		want int
	}{
		{"", 25},
		{"type=http.request.received", 5},
		{"type=http.request.received,ssh.login.failed", 25},
		{"type=ssh.login.failed&type=http.request.received", 25},
		{"decky=d2", 5},
		{"service=ssh", 20},
		{"src_ip=198.51.100.7", 5},
		{"src_ip=::ffff:198.51.100.7", 5},
		{"q=MARKER-13", 1},
		{"since=2026-03-01T12:10:00Z", 15},
		{"until=2026-03-01T12:10:00Z", 10},
		{"since=2026-03-01T12:10:00Z&until=2026-03-01T12:20:00Z&decky=d1", 8},
	} {
		if got := count(tc.q); got != tc.want {
			t.Errorf("%q: %d events, want %d", tc.q, got, tc.want)
		}
	}
	for _, q := range []string{"limit=0", "limit=1001", "cursor=!!", "since=yesterday", "src_ip=nope", "typo=1",
		"since=2026-03-01T12:10:00Z&until=2026-03-01T12:00:00Z", "type=a%20b"} {
		wantCode(t, q, c.do("GET", "/events?"+q, nil), http.StatusBadRequest, CodeInvalid)
	}

	// Aggregates.
	r := c.do("GET", "/attackers?limit=1", nil)
	wantCode(t, "attackers", r, http.StatusOK, "")
	if len(r.json()["items"].([]any)) != 1 || r.json()["next_cursor"] == nil {
		t.Fatalf("attackers: %s", r.body)
	}
	r = c.do("GET", "/attackers?limit=1&cursor="+r.json()["next_cursor"].(string), nil)
	if len(r.json()["items"].([]any)) != 1 || r.json()["next_cursor"] != nil {
		t.Fatalf("attackers page 2: %s", r.body)
	}
	wantCode(t, "attacker", c.do("GET", "/attackers/203.0.113.1", nil), http.StatusOK, "")
	wantCode(t, "no attacker", c.do("GET", "/attackers/192.0.2.99", nil), http.StatusNotFound, CodeNotFound)
	wantCode(t, "bad ip", c.do("GET", "/attackers/x", nil), http.StatusBadRequest, CodeInvalid)
	wantCode(t, "credentials", c.do("GET", "/credentials", nil), http.StatusOK, "")
}

func TestStreamDeliversLiveEvents(t *testing.T) {
	e := newEnv(t)
	e.srv.heartbeat = 50 * time.Millisecond
	e.addUser("eve", store.Viewer, viewerPW, false)
	c := e.login("eve", viewerPW)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.ts.URL+Prefix+"/events/stream?decky=d1", nil)
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	next := func(d time.Duration) string {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("stream closed")
			}
			return l
		case <-time.After(d):
			t.Fatal("nothing on the stream in time")
		}
		return ""
	}
	if l := next(time.Second); l != ": connected" {
		t.Fatalf("first line %q", l)
	}
	deadline := time.Now().Add(5 * time.Second)
	for e.live.subscribers() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no live subscription")
		}
		time.Sleep(5 * time.Millisecond)
	}
	skip := mkEvent(1, "ssh.login.failed", "other", "ssh", "203.0.113.1", time.Now().UTC())
	want := mkEvent(2, "ssh.login.failed", "d1", "ssh", "203.0.113.1", time.Now().UTC())
	e.live.publish(skip)
	e.live.publish(want)
	var frame []string
	for len(frame) < 3 {
		l := next(time.Second)
		if strings.HasPrefix(l, ":") || l == "" {
			continue
		}
		frame = append(frame, l)
	}
	if frame[0] != "id: "+want.ID || frame[1] != "event: event" || !strings.Contains(frame[2], want.ID) {
		t.Fatalf("frame %q", frame)
	}
	// Heartbeats keep coming.
	for l := next(time.Second); l != ": keepalive"; l = next(time.Second) {
	}
	// Logging out ends the stream at the next heartbeat.
	wantCode(t, "logout", c.do("POST", "/auth/logout", nil), http.StatusNoContent, "")
	for {
		l, ok := <-lines
		if !ok {
			t.Fatal("stream closed without an error frame")
		}
		if l == "event: error" {
			break
		}
	}
	cancel()
	for e.live.subscribers() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("live subscription outlived its last stream")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestStreamCapPerUser(t *testing.T) {
	e := newEnv(t)
	e.addUser("eve", store.Viewer, viewerPW, false)
	c := e.login("eve", viewerPW)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := range maxStreamsPerUser + 1 {
		req, _ := http.NewRequestWithContext(ctx, "GET", e.ts.URL+Prefix+"/events/stream", nil)
		resp, err := c.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if i < maxStreamsPerUser && resp.StatusCode != http.StatusOK {
			t.Fatalf("stream %d: %d", i, resp.StatusCode)
		}
		if i == maxStreamsPerUser {
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusTooManyRequests {
				t.Fatalf("stream over the cap: %d %s", resp.StatusCode, b)
			}
		}
	}
}

// TestOpenAPIListsExactlyTheRoutes keeps the document in step with the
// route table, mounted routes included.
func TestOpenAPIListsExactlyTheRoutes(t *testing.T) {
	e := newEnv(t)
	e.srv.Mount(dummyRoutes()...)
	e.addUser("eve", store.Viewer, viewerPW, false)
	c := e.login("eve", viewerPW)
	r := c.do("GET", "/openapi.json", nil)
	wantCode(t, "openapi", r, http.StatusOK, "")
	doc := r.json()
	if doc["openapi"] != "3.1.0" {
		t.Fatalf("openapi = %v", doc["openapi"])
	}
	var got, want []string
	for path, ops := range doc["paths"].(map[string]any) {
		for m, op := range ops.(map[string]any) {
			got = append(got, strings.ToUpper(m)+" "+path)
			o := op.(map[string]any)
			if o["summary"] == "" {
				t.Errorf("%s %s: no summary", m, path)
			}
			if sec, ok := o["security"].([]any); ok && len(sec) == 0 && path != "/auth/login" {
				t.Errorf("%s %s documented as public", m, path)
			}
		}
	}
	for _, rt := range e.srv.registered() {
		p, _ := openAPIPath(rt.Pattern)
		want = append(want, rt.Method+" "+p)
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Fatalf("openapi paths\n got %v\nwant %v", got, want)
	}
	if !slices.Contains(got, "GET /files/{path}") || !slices.Contains(got, "DELETE /hosts/{id}") {
		t.Fatalf("mounted routes missing: %v", got)
	}
}

func TestMetrics(t *testing.T) {
	e := newEnv(t)
	e.anon().do("GET", "/events", nil)
	e.srv.RecordIngest(10, 7)
	e.srv.RecordTagging(10, 4)
	e.srv.RecordAlert(3)
	rec := httptest.NewRecorder()
	e.srv.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`decnet_api_requests_total{code="401",method="GET",route="/events"} 1`,
		`decnet_ingest_events_stored_total 7`,
		`decnet_intel_tagger_events_total 10`,
		`decnet_intel_tags_stored_total 4`,
		`decnet_alerts_raised_total{severity="3"} 1`,
		`decnet_api_request_duration_seconds_bucket`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestPasswordHash(t *testing.T) {
	h, err := hashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=") {
		t.Fatalf("hash %q", h)
	}
	for _, tc := range []struct {
		pw, hash string
		ok       bool
		err      bool
	}{
		{"correct horse battery", h, true, false},
		{"wrong", h, false, false},
		{"x", "$argon2id$v=19$m=9999999,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5", false, true},
		{"x", "bcrypt", false, true},
	} {
		ok, err := verifyPassword(tc.pw, tc.hash)
		if ok != tc.ok || (err != nil) != tc.err {
			t.Errorf("verify(%q, %q) = %v, %v", tc.pw, tc.hash, ok, err)
		}
	}
}
