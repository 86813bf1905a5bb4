package event

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Spool is the durable, append-only event log a decky writes on its host.
//
// Durability: every event is one write(2) of one whole JSON line to a file
// opened O_APPEND, so a crash of the decky process loses nothing it
// reported as written; the file is fsynced at most SyncEvery after a write
// (and on rotation and Close), so a power cut loses at most that window.
// Files rotate at MaxFile bytes and are named events-<unix nanos>.jsonl so
// their names sort in write order; the shipper deletes a file once it has
// shipped all of it and a newer one exists. When the spool holds MaxTotal
// bytes, events are counted and dropped, and a system.events.dropped event
// reports the count as soon as writing succeeds again: loss is reported,
// never silent.
type Spool struct {
	dir      string
	maxFile  int64
	maxTotal int64

	mu      sync.Mutex
	f       *os.File
	size    int64
	total   int64
	dirty   bool
	dropped int64
	timer   *time.Timer
	closed  bool
}

// Spool limits and the fsync window.
const (
	SpoolMaxFile  = 16 << 20
	SpoolMaxTotal = 1 << 30
	SyncEvery     = 200 * time.Millisecond
	// MaxLine bounds one spooled event; Write refuses larger ones.
	MaxLine = 1 << 20
)

// SpoolPrefix and SpoolSuffix frame spool file names.
const (
	SpoolPrefix = "events-"
	SpoolSuffix = ".jsonl"
)

// OpenSpool opens (creating) a spool directory. Writing starts a new file.
func OpenSpool(dir string) (*Spool, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("open spool: %w", err)
	}
	s := &Spool{dir: dir, maxFile: SpoolMaxFile, maxTotal: SpoolMaxTotal}
	return s, nil
}

// Write implements Sink.
func (s *Spool) Write(e *Event) error {
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	line = append(line, '\n')
	if len(line) > MaxLine {
		return fmt.Errorf("event %s is %d bytes, over the %d-byte limit", e.ID, len(line), MaxLine)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("spool is closed")
	}
	if s.dropped > 0 {
		if err := s.writeLocked(droppedLine(e, s.dropped)); err == nil {
			s.dropped = 0
		}
	}
	if err := s.writeLocked(line); err != nil {
		s.dropped++
		return err
	}
	return nil
}

func droppedLine(like *Event, n int64) []byte {
	d := Event{Schema: SchemaVersion, ID: NewID(), Time: time.Now().UTC(), Type: "system.events.dropped",
		Severity: Catalogue["system.events.dropped"], Topology: like.Topology, Decky: like.Decky, Service: "spool",
		Fields: map[string]any{"count": n, "reason": "spool full or unwritable"}}
	b, _ := json.Marshal(d)
	return append(b, '\n')
}

func (s *Spool) writeLocked(line []byte) error {
	if s.f == nil || s.size+int64(len(line)) > s.maxFile {
		if err := s.rotateLocked(); err != nil {
			return err
		}
	}
	if s.total+int64(len(line)) > s.maxTotal {
		return fmt.Errorf("spool %s holds %d bytes, at its limit", s.dir, s.total)
	}
	n, err := s.f.Write(line)
	s.size += int64(n)
	s.total += int64(n)
	if err != nil {
		return fmt.Errorf("write spool: %w", err)
	}
	if !s.dirty {
		s.dirty = true
		s.timer = time.AfterFunc(SyncEvery, s.sync)
	}
	return nil
}

// spoolSize sums the sizes of the spool's files.
func spoolSize(dir string) int64 {
	files, _ := SpoolFiles(dir)
	var total int64
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			total += fi.Size()
		}
	}
	return total
}

func (s *Spool) rotateLocked() error {
	if s.f != nil {
		_ = s.f.Sync()
		_ = s.f.Close()
		s.f = nil
	}
	name := filepath.Join(s.dir, fmt.Sprintf("%s%020d%s", SpoolPrefix, time.Now().UnixNano(), SpoolSuffix))
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND|os.O_EXCL, 0o640)
	if err != nil {
		return fmt.Errorf("rotate spool: %w", err)
	}
	// The shipper deletes shipped files, so the total is re-read here
	// rather than kept across rotations.
	s.f, s.size, s.total = f, 0, spoolSize(s.dir)
	return nil
}

func (s *Spool) sync() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f != nil && s.dirty {
		_ = s.f.Sync()
	}
	s.dirty = false
}

// Close syncs and closes the spool.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.timer != nil {
		s.timer.Stop()
	}
	if s.f == nil {
		return nil
	}
	err := s.f.Sync()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	s.f = nil
	return err
}

// SpoolFiles lists the spool files of dir in write order.
func SpoolFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasPrefix(e.Name(), SpoolPrefix) && strings.HasSuffix(e.Name(), SpoolSuffix) {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(out)
	return out, nil
}

var _ Sink = (*Spool)(nil)
