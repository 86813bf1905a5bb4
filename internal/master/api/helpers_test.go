package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/store/storetest"
	"github.com/decnet/decnet/internal/testenv"
)

func TestMain(m *testing.M) {
	// Cheap hashes keep the suite fast under -race; the format and the
	// verification path are the production ones.
	hashParams = argonParams{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}
	os.Exit(m.Run())
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// fakeLive is a Live source the test publishes to.
type fakeLive struct {
	mu  sync.Mutex
	fns map[int]func(event.Event)
	n   int
}

func (f *fakeLive) Subscribe(ctx context.Context, fn func(event.Event)) error {
	f.mu.Lock()
	if f.fns == nil {
		f.fns = map[int]func(event.Event){}
	}
	f.n++
	id := f.n
	f.fns[id] = fn
	f.mu.Unlock()
	<-ctx.Done()
	f.mu.Lock()
	delete(f.fns, id)
	f.mu.Unlock()
	return nil
}

func (f *fakeLive) subscribers() int { f.mu.Lock(); defer f.mu.Unlock(); return len(f.fns) }

func (f *fakeLive) publish(e event.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, fn := range f.fns {
		fn(e)
	}
}

type env struct {
	t     *testing.T
	srv   *Server
	ts    *httptest.Server
	st    store.Store
	live  *fakeLive
	clock *fakeClock
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st := storetest.SQLite(t)
	clock := &fakeClock{t: time.Now()}
	live := &fakeLive{}
	srv, err := New(Options{Store: st, Live: live, Clock: clock.Now,
		Logger: testenv.Logger(t, slog.LevelWarn)})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { srv.Close(); ts.Close() })
	return &env{t: t, srv: srv, ts: ts, st: st, live: live, clock: clock}
}

// addUser stores a user with a known password.
func (e *env) addUser(name string, role store.Role, password string, mustChange bool) *store.User {
	e.t.Helper()
	h, err := hashPassword(password)
	if err != nil {
		e.t.Fatal(err)
	}
	u := &store.User{Name: name, Role: role, PasswordHash: h, MustChange: mustChange}
	if err := e.st.CreateUser(context.Background(), u); err != nil {
		e.t.Fatal(err)
	}
	return u
}

// client is a browser-like caller: a cookie jar and the CSRF token.
type client struct {
	e      *env
	hc     *http.Client
	csrf   string
	bearer string
}

func (e *env) anon() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, hc: &http.Client{Jar: jar}}
}

func (e *env) login(name, password string) *client {
	e.t.Helper()
	c := e.anon()
	resp := c.do("POST", "/auth/login", map[string]string{"username": name, "password": password})
	if resp.code != http.StatusOK {
		e.t.Fatalf("login %s: %d %s", name, resp.code, resp.body)
	}
	c.csrf = resp.json()["csrf_token"].(string)
	return c
}

type response struct {
	code   int
	header http.Header
	body   []byte
}

func (r response) json() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(r.body, &m)
	return m
}

func (r response) errCode() string {
	if e, ok := r.json()["error"].(map[string]any); ok {
		s, _ := e["code"].(string)
		return s
	}
	return ""
}

func (c *client) do(method, path string, body any) response {
	return c.doHeaders(method, path, body, nil)
}

func (c *client) doHeaders(method, path string, body any, hdr map[string]string) response {
	c.e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.e.ts.URL+Prefix+path, rd)
	if err != nil {
		c.e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.csrf != "" {
		req.Header.Set(CSRFHeader, c.csrf)
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{code: resp.StatusCode, header: resp.Header, body: b}
}

func wantCode(t *testing.T, what string, r response, code int, errCode string) {
	t.Helper()
	if r.code != code || (errCode != "" && r.errCode() != errCode) {
		t.Fatalf("%s: got %d %s, want %d %s", what, r.code, r.body, code, errCode)
	}
}
