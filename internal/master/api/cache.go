package api

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// readCache keeps, for a short time, the answers of the read-only routes
// whose answer is the same for every caller (event lists and counts,
// attackers, credentials): a dashboard polled by many operators, or a
// script in a loop, costs one database query per URL and period instead of
// one per request. An answer older than ttl is still served at once while
// one refresh runs in the background (stale while revalidating), so what
// a caller sees is at most ttl plus one query old, and a query that takes
// long over millions of events never makes callers wait. Only the first
// answer of a URL is waited for, by every caller asking meanwhile. An
// answer that took d to compute is kept at least busyFactor × d, so that
// refreshing a slow query does not keep the database busy. The live
// stream (/events/stream) is not cached.
type readCache struct {
	ttl time.Duration
	log *slog.Logger

	mu      sync.Mutex
	entries map[string]*cachedAnswer
}

// cachedAnswer is one URL's answer; done is closed once it is filled.
type cachedAnswer struct {
	done        chan struct{}
	at          time.Time
	took        time.Duration
	status      int
	contentType string
	body        []byte
	refreshing  bool // guarded by readCache.mu
}

// Bounds of what is kept: a URL longer than maxCachedKey is not cached, and
// the cache is emptied when it holds maxCached answers.
const (
	maxCached    = 1024
	maxCachedKey = 2048
	// refreshTimeout bounds a background refresh.
	refreshTimeout = time.Minute
	// busyFactor bounds the share of time spent refreshing an answer to
	// 1/busyFactor.
	busyFactor = 10
)

// answerFunc writes the answer to r on w; it returns the error behind a
// 5xx answer, for the log.
type answerFunc func(w http.ResponseWriter, r *http.Request) error

func newReadCache(ttl time.Duration, log *slog.Logger) *readCache {
	return &readCache{ttl: ttl, log: log, entries: map[string]*cachedAnswer{}}
}

// serve answers r from the cache, or through answer, keeping a 200 answer
// for the next callers.
func (c *readCache) serve(w http.ResponseWriter, r *http.Request, answer answerFunc) {
	key := r.URL.Path + "?" + r.URL.RawQuery
	if c == nil || c.ttl <= 0 || len(key) > maxCachedKey {
		c.logErr(r, answer(w, r))
		return
	}
	c.mu.Lock()
	e := c.entries[key]
	mine := false
	switch {
	case e == nil:
		if len(c.entries) >= maxCached {
			clear(c.entries)
		}
		e = &cachedAnswer{done: make(chan struct{})}
		c.entries[key] = e
		mine = true
	case !e.refreshing && isDone(e) && time.Since(e.at) >= max(c.ttl, busyFactor*e.took):
		e.refreshing = true
		// The refresh outlives this request: its own context, bounded.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), refreshTimeout)
		go func() {
			defer cancel()
			c.refresh(key, e, r.Clone(ctx), answer)
		}()
	}
	c.mu.Unlock()
	if mine {
		b := c.compute(e, r, answer)
		copyAnswer(w, b)
		return
	}
	select {
	case <-e.done:
	case <-r.Context().Done():
		return
	}
	if e.status != http.StatusOK {
		c.logErr(r, answer(w, r)) // not kept (an error): answer this caller on its own
		return
	}
	e.write(w)
}

func isDone(e *cachedAnswer) bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

// compute fills e through answer and publishes it (an answer other than
// 200 is dropped from the cache).
func (c *readCache) compute(e *cachedAnswer, r *http.Request, answer answerFunc) *bufferedAnswer {
	b := &bufferedAnswer{header: http.Header{}, status: http.StatusOK}
	start := time.Now()
	defer func() {
		e.at = time.Now()
		e.took = e.at.Sub(start)
		e.status, e.contentType, e.body = b.status, b.header.Get("Content-Type"), b.buf.Bytes()
		if e.status != http.StatusOK {
			key := r.URL.Path + "?" + r.URL.RawQuery
			c.mu.Lock()
			if c.entries[key] == e {
				delete(c.entries, key)
			}
			c.mu.Unlock()
		}
		close(e.done)
	}()
	c.logErr(r, answer(b, r))
	return b
}

// refresh computes a new answer for key and puts it in place of old.
func (c *readCache) refresh(key string, old *cachedAnswer, r *http.Request, answer answerFunc) {
	fresh := &cachedAnswer{done: make(chan struct{})}
	c.compute(fresh, r, answer)
	c.mu.Lock()
	defer c.mu.Unlock()
	old.refreshing = false
	if fresh.status == http.StatusOK && c.entries[key] == old {
		c.entries[key] = fresh
	}
}

func (c *readCache) logErr(r *http.Request, err error) {
	if err != nil && c.log != nil {
		c.log.Error("request failed", "path", r.URL.Path, "err", err)
	}
}

func copyAnswer(w http.ResponseWriter, b *bufferedAnswer) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	w.WriteHeader(b.status)
	_, _ = w.Write(b.buf.Bytes())
}

func (e *cachedAnswer) write(w http.ResponseWriter) {
	if e.contentType != "" {
		w.Header().Set("Content-Type", e.contentType)
	}
	w.WriteHeader(e.status)
	_, _ = w.Write(e.body)
}

// bufferedAnswer is a ResponseWriter that keeps what is written.
type bufferedAnswer struct {
	header http.Header
	status int
	wrote  bool
	buf    bytes.Buffer
}

func (b *bufferedAnswer) Header() http.Header { return b.header }

func (b *bufferedAnswer) WriteHeader(code int) {
	if !b.wrote {
		b.status, b.wrote = code, true
	}
}

func (b *bufferedAnswer) Write(p []byte) (int, error) {
	b.wrote = true
	return b.buf.Write(p)
}

// authCache keeps who a credential (the Authorization header or the
// session cookie, by hash) authenticated as, for the read cache's ttl, so
// that a burst of reads does not look the caller up in the store at
// every request. Any mutating request through the server empties it
// (logout, token revocation, user deletion, password change take effect
// at once); a change made beside the server (the CLI on the database)
// takes effect within ttl. A session's expiry is kept with it.
type authCache struct {
	ttl time.Duration

	mu      sync.Mutex
	entries map[string]authEntry
}

type authEntry struct {
	p     Principal
	until time.Time
}

// maxAuthCached bounds the credentials kept; the cache is emptied when full.
const maxAuthCached = 4096

func newAuthCache(ttl time.Duration) *authCache {
	return &authCache{ttl: ttl, entries: map[string]authEntry{}}
}

// get returns a copy of the principal key authenticated as, or nil.
func (c *authCache) get(key string) *Principal {
	if c.ttl <= 0 || key == "" {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return nil
	}
	if !time.Now().Before(e.until) {
		delete(c.entries, key)
		return nil
	}
	p := e.p
	return &p
}

// put keeps p for key until ttl from now, or until expires when earlier
// (zero: no expiry of its own).
func (c *authCache) put(key string, p *Principal, expires time.Time) {
	if c.ttl <= 0 || key == "" {
		return
	}
	until := time.Now().Add(c.ttl)
	if !expires.IsZero() && expires.Before(until) {
		until = expires
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxAuthCached {
		clear(c.entries)
	}
	c.entries[key] = authEntry{p: *p, until: until}
}

func (c *authCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.entries)
}
