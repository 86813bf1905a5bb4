package web

import (
	"context"
	"sync"
	"time"
)

// memo keeps the last value of an expensive page load for ttl (0: no
// keeping). When it is older, the next caller still gets it at once and
// one refresh starts in the background (stale while revalidating), so a
// page whose queries take seconds over millions of events answers in
// microseconds; what it shows is at most ttl plus one load old. Only the
// very first load is waited for, by one caller while the others wait for
// it. A value that took d to load is kept at least busyFactor × d, so
// that refreshing a slow page does not keep the database busy.
type memo[T any] struct {
	ttl time.Duration

	fill       sync.Mutex // held by the caller doing the first load
	mu         sync.Mutex
	v          *T
	at         time.Time
	took       time.Duration // the last load
	refreshing bool
}

// busyFactor bounds the share of time spent refreshing to 1/busyFactor.
const busyFactor = 10

func (m *memo[T]) stale() bool { return time.Since(m.at) >= max(m.ttl, busyFactor*m.took) }

// refreshTimeout bounds a background refresh.
const refreshTimeout = time.Minute

func (m *memo[T]) get(ctx context.Context, load func(context.Context) (*T, error)) (*T, error) {
	if m.ttl <= 0 {
		return load(ctx)
	}
	m.mu.Lock()
	v := m.v
	if v != nil && m.stale() && !m.refreshing {
		m.refreshing = true
		go m.refresh(load)
	}
	m.mu.Unlock()
	if v != nil {
		return v, nil
	}
	m.fill.Lock()
	defer m.fill.Unlock()
	m.mu.Lock()
	v = m.v
	m.mu.Unlock()
	if v != nil {
		return v, nil
	}
	start := time.Now()
	v, err := load(ctx)
	if err != nil {
		return nil, err
	}
	m.set(v, time.Since(start))
	return v, nil
}

func (m *memo[T]) refresh(load func(context.Context) (*T, error)) {
	ctx, cancel := context.WithTimeout(context.Background(), refreshTimeout)
	defer cancel()
	start := time.Now()
	v, err := load(ctx)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.refreshing = false
	if err == nil {
		m.v, m.at, m.took = v, time.Now(), time.Since(start)
	}
}

func (m *memo[T]) set(v *T, took time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.v, m.at, m.took = v, time.Now(), took
}
