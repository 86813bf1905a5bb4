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
// it.
type memo[T any] struct {
	ttl time.Duration

	fill       sync.Mutex // held by the caller doing the first load
	mu         sync.Mutex
	v          *T
	at         time.Time
	refreshing bool
}

// refreshTimeout bounds a background refresh.
const refreshTimeout = time.Minute

func (m *memo[T]) get(ctx context.Context, load func(context.Context) (*T, error)) (*T, error) {
	if m.ttl <= 0 {
		return load(ctx)
	}
	m.mu.Lock()
	v, at := m.v, m.at
	if v != nil && time.Since(at) >= m.ttl && !m.refreshing {
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
	v, err := load(ctx)
	if err != nil {
		return nil, err
	}
	m.set(v)
	return v, nil
}

func (m *memo[T]) refresh(load func(context.Context) (*T, error)) {
	ctx, cancel := context.WithTimeout(context.Background(), refreshTimeout)
	defer cancel()
	v, err := load(ctx)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.refreshing = false
	if err == nil {
		m.v, m.at = v, time.Now()
	}
}

func (m *memo[T]) set(v *T) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.v, m.at = v, time.Now()
}
