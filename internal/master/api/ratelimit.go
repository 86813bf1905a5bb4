package api

import (
	"sync"
	"time"
)

// limiter counts failures per key in a sliding window. An attempt is
// reserved before the password is checked (so a burst of parallel guesses
// cannot pass the limit) and released when it succeeds.
type limiter struct {
	max    int
	window time.Duration

	mu   sync.Mutex
	hits map[string][]time.Time // oldest first, at most max entries
}

// sweepAt is the number of keys above which a reservation first drops the
// keys whose failures have all expired.
const sweepAt = 10000

func newLimiter(max int, window time.Duration) *limiter {
	return &limiter{max: max, window: window, hits: map[string][]time.Time{}}
}

// reserve records an attempt at now on every key, unless one of them is
// already at the limit: then nothing is recorded and retry says when the
// oldest failure of the fullest key leaves the window.
func (l *limiter) reserve(now time.Time, keys ...string) (ok bool, retry time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.hits) > sweepAt {
		for k := range l.hits {
			l.prune(k, now)
		}
	}
	for _, k := range keys {
		if h := l.prune(k, now); len(h) >= l.max {
			if d := h[0].Add(l.window).Sub(now); d > retry {
				retry = d
			}
		}
	}
	if retry > 0 {
		return false, retry
	}
	for _, k := range keys {
		l.hits[k] = append(l.hits[k], now)
	}
	return true, 0
}

// release forgets the attempt reserved at at on key, and every failure of
// each key in reset.
func (l *limiter) release(at time.Time, key string, reset ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.hits[key]
	for i := len(h) - 1; i >= 0; i-- {
		if h[i].Equal(at) {
			h = append(h[:i], h[i+1:]...)
			break
		}
	}
	if len(h) == 0 {
		delete(l.hits, key)
	} else {
		l.hits[key] = h
	}
	for _, k := range reset {
		delete(l.hits, k)
	}
}

// prune drops key's failures older than the window; l.mu is held.
func (l *limiter) prune(key string, now time.Time) []time.Time {
	h := l.hits[key]
	i := 0
	for i < len(h) && !h[i].Add(l.window).After(now) {
		i++
	}
	h = h[i:]
	if len(h) == 0 {
		delete(l.hits, key)
		return nil
	}
	l.hits[key] = h
	return h
}
