package event

import (
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"
)

// ids makes UUIDv7s (RFC 9562): 48 bits of Unix milliseconds, then 12 bits
// used as a sub-millisecond counter so that ids made by one process sort in
// the order they were made (operation ids rely on it), then 62 random bits.
// Written here rather than taken from a UUID library, which also pulls in
// the network stack (for v1 node ids) that this package must not reach.
var ids struct {
	mu  sync.Mutex
	ms  int64
	seq uint16
}

// NewID returns a fresh UUIDv7: time-ordered, unique across the fleet.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[6:]) // never fails (crypto/rand)
	now := time.Now()
	ids.mu.Lock()
	ms := now.UnixMilli()
	// Start each millisecond at its sub-millisecond position, so that ids
	// of different processes made in one millisecond still roughly sort
	// by time; step when that would not move forward.
	seq := uint16(now.Nanosecond() % 1e6 * 4096 / 1e6)
	switch {
	case ms < ids.ms, ms == ids.ms && seq <= ids.seq:
		ms, seq = ids.ms, ids.seq+1
		if seq >= 4096 {
			ms, seq = ms+1, 0
		}
	}
	ids.ms, ids.seq = ms, seq
	ids.mu.Unlock()
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], uint64(ms))
	copy(b[:6], ts[2:])
	b[6] = 0x70 | byte(seq>>8)
	b[7] = byte(seq)
	b[8] = 0x80 | b[8]&0x3f
	return formatUUID(b)
}

// DerivedID returns a UUIDv7 made from t and key alone: the same time and
// key always give the same id. The master names the events it derives
// (an identity linked, a credential reused) this way, so that deriving
// them again (a redelivered batch, a rebuild) stores each once.
func DerivedID(t time.Time, key string) string {
	sum := sha256.Sum256([]byte(key))
	var b [16]byte
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], uint64(t.UnixMilli()))
	copy(b[:6], ts[2:])
	copy(b[6:], sum[:10])
	b[6] = 0x70 | b[6]&0x0f
	b[8] = 0x80 | b[8]&0x3f
	return formatUUID(b)
}

// formatUUID writes b in the 8-4-4-4-12 form.
func formatUUID(b [16]byte) string {
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

// UUIDv5 is the RFC 9562 version 5 (SHA-1, name-based) UUID of name in
// namespace: exports name their objects this way, so exporting the same
// thing twice gives the same ids.
func UUIDv5(namespace [16]byte, name string) string {
	h := sha1.New()
	h.Write(namespace[:])
	h.Write([]byte(name))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return formatUUID(u)
}

// ParseUUID reads a UUID in the 8-4-4-4-12 form.
func ParseUUID(s string) ([16]byte, error) {
	var u [16]byte
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(b) != 16 || len(s) != 36 {
		return u, fmt.Errorf("%q is not a UUID", s)
	}
	copy(u[:], b)
	return u, nil
}
