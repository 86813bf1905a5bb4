package serve

import (
	"net/netip"
	"slices"
	"sync"

	"github.com/decnet/decnet/internal/bait"
)

// Live is a decky's live controls as its services read them: tarpits on
// its ports and files dropped into its filesystem. The decky runtime
// updates it while the services run; every method is safe for concurrent
// use and on a nil *Live (no controls).
type Live struct {
	mu      sync.RWMutex
	gen     uint64
	tarpits []TarpitRule
	files   []bait.File
	changed chan struct{} // closed and replaced on every Set
}

// TarpitRule slows connections to Port from sources in From (every source
// when From is the zero prefix) down to Rate bytes a second each way.
type TarpitRule struct {
	Port uint16
	From netip.Prefix
	Rate int
	// Source is the rule's source as the operator wrote it, for events.
	Source string
}

// NewLive returns live controls with none set.
func NewLive() *Live { return &Live{changed: make(chan struct{})} }

// Set replaces every control at once and wakes whoever waits on Changed.
func (l *Live) Set(tarpits []TarpitRule, files []bait.File) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tarpits, l.files = slices.Clone(tarpits), slices.Clone(files)
	l.gen++
	close(l.changed)
	l.changed = make(chan struct{})
}

// Changed returns a channel closed at the next Set (nil, never closed, on
// a nil Live).
func (l *Live) Changed() <-chan struct{} {
	if l == nil {
		return nil
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.changed
}

// Tarpit returns the rule covering a connection from src to standard port
// port, if any. A rule for the one source wins over a rule for all.
func (l *Live) Tarpit(port uint16, src netip.Addr) (TarpitRule, bool) {
	if l == nil {
		return TarpitRule{}, false
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	var best TarpitRule
	found := false
	src = src.Unmap()
	for _, t := range l.tarpits {
		if t.Port != port || t.From.IsValid() && !t.From.Contains(src) {
			continue
		}
		if !found || t.From.Bits() > best.From.Bits() {
			best, found = t, true
		}
	}
	return best, found
}

// Gen is a generation that changes whenever the controls may have: a
// cheap test before Files.
func (l *Live) Gen() uint64 {
	if l == nil {
		return 0
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.gen
}

// Files returns the dropped files of one bait place and a generation that
// changes whenever the set may have changed.
func (l *Live) Files(place string) (uint64, []bait.File) {
	if l == nil {
		return 0, nil
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.gen, bait.In(l.files, place)
}
