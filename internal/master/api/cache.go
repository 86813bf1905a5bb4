package api

import (
	"bytes"
	"net/http"
	"sync"
	"time"
)

// readCache keeps, for a short time, the answers of the read-only routes
// whose answer is the same for every caller (event lists and counts,
// attackers, credentials): a dashboard polled by many operators, or a
// script in a loop, costs one database query per URL and period instead of
// one per request. An answer is at most ttl old; the live stream
// (/events/stream) is not cached and shows new events at once. Callers
// asking for an answer being computed wait for it instead of computing it
// again.
type readCache struct {
	ttl time.Duration

	mu      sync.Mutex
	entries map[string]*cachedAnswer
}

// cachedAnswer is one URL's answer; done is closed once it is filled.
type cachedAnswer struct {
	done        chan struct{}
	at          time.Time
	status      int
	contentType string
	body        []byte
}

// Bounds of what is kept: a URL longer than maxCachedKey is not cached, and
// the cache is emptied when it holds maxCached answers.
const (
	maxCached    = 1024
	maxCachedKey = 2048
)

func newReadCache(ttl time.Duration) *readCache {
	return &readCache{ttl: ttl, entries: map[string]*cachedAnswer{}}
}

// serve answers r from the cache, or through fill (which writes the
// answer) and keeps a 200 answer for the next callers.
func (c *readCache) serve(w http.ResponseWriter, r *http.Request, fill func(http.ResponseWriter)) {
	key := r.URL.Path + "?" + r.URL.RawQuery
	if c == nil || c.ttl <= 0 || len(key) > maxCachedKey {
		fill(w)
		return
	}
	now := time.Now()
	c.mu.Lock()
	e := c.entries[key]
	mine := false
	if e != nil {
		select {
		case <-e.done:
			if now.Sub(e.at) >= c.ttl {
				e = nil // stale: fill it again
			}
		default: // being filled: wait for it
		}
	}
	if e == nil {
		if len(c.entries) >= maxCached {
			clear(c.entries)
		}
		e = &cachedAnswer{done: make(chan struct{})}
		c.entries[key] = e
		mine = true
	}
	c.mu.Unlock()
	if mine {
		c.fill(key, e, w, fill)
		return
	}
	select {
	case <-e.done:
	case <-r.Context().Done():
		return
	}
	if e.status != http.StatusOK {
		fill(w) // not kept (an error): answer this caller on its own
		return
	}
	e.write(w)
}

// fill computes e through fill into a buffer, publishes it, and writes it
// to w.
func (c *readCache) fill(key string, e *cachedAnswer, w http.ResponseWriter, fill func(http.ResponseWriter)) {
	b := &bufferedAnswer{header: http.Header{}, status: http.StatusOK}
	defer func() {
		e.at = time.Now()
		e.status, e.contentType, e.body = b.status, b.header.Get("Content-Type"), b.buf.Bytes()
		if e.status != http.StatusOK {
			c.mu.Lock()
			if c.entries[key] == e {
				delete(c.entries, key)
			}
			c.mu.Unlock()
		}
		close(e.done)
	}()
	fill(b)
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
