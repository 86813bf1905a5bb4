package event

import (
	"regexp"
	"sync"
	"testing"
	"time"
)

var uuidV7 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestNewIDIsAnOrderedUUIDv7(t *testing.T) {
	before := time.Now().UnixMilli()
	prev := ""
	seen := map[string]bool{}
	for range 20000 {
		id := NewID()
		if !uuidV7.MatchString(id) {
			t.Fatalf("%q is not a UUIDv7", id)
		}
		if id <= prev {
			t.Fatalf("%s made after %s sorts before it", id, prev)
		}
		if seen[id] {
			t.Fatalf("%s made twice", id)
		}
		seen[id], prev = true, id
	}
	// The first 48 bits are the Unix milliseconds.
	var ms int64
	last := NewID()
	for _, c := range last[:8] + last[9:13] {
		ms = ms<<4 | int64(hexVal(c))
	}
	if now := time.Now().UnixMilli(); ms < before || ms > now+5 {
		t.Fatalf("timestamp %d outside [%d, %d]", ms, before, now)
	}
}

func hexVal(c rune) int {
	if c >= 'a' {
		return int(c-'a') + 10
	}
	return int(c - '0')
}

func TestNewIDConcurrent(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 2000 {
				id := NewID()
				mu.Lock()
				if seen[id] {
					t.Errorf("duplicate %s", id)
				}
				seen[id] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}
