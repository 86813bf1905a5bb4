package vnc

import (
	"sync"
	"time"
)

// blacklist is TigerVNC's: an address with threshold security failures is
// refused until its timeout passes; it then gets one more try, and a
// failure locks it out for twice as long.
type blacklist struct {
	mu        sync.Mutex
	threshold int
	initial   time.Duration
	entries   map[string]*blackEntry
}

type blackEntry struct {
	marks   int
	until   time.Time
	timeout time.Duration
}

// maxEntries bounds the memory a spoofed or rotating source can take.
const maxEntries = 16384

func newBlacklist(threshold int, initial time.Duration) *blacklist {
	return &blacklist{threshold: threshold, initial: initial, entries: map[string]*blackEntry{}}
}

// locked says whether src is refused now.
func (b *blacklist) locked(src string, now time.Time) bool {
	if b.threshold <= 0 {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.entries[src]
	return ok && now.Before(e.until)
}

// mark counts a security failure of src; locked says it just locked src
// out, for timeout.
func (b *blacklist) mark(src string, now time.Time) (failures int, timeout time.Duration, locked bool) {
	if b.threshold <= 0 {
		return 0, 0, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.entries[src]
	if !ok {
		if len(b.entries) >= maxEntries {
			b.forget(now)
		}
		e = &blackEntry{timeout: b.initial}
		b.entries[src] = e
	}
	e.marks++
	if e.marks < b.threshold {
		return e.marks, 0, false
	}
	e.until = now.Add(e.timeout)
	timeout = e.timeout
	e.timeout *= 2
	return e.marks, timeout, true
}

// clear forgets src after a successful login.
func (b *blacklist) clear(src string) {
	b.mu.Lock()
	delete(b.entries, src)
	b.mu.Unlock()
}

func (b *blacklist) forget(now time.Time) {
	for k, e := range b.entries {
		if now.After(e.until) {
			delete(b.entries, k)
		}
	}
	if len(b.entries) >= maxEntries {
		clear(b.entries)
	}
}
