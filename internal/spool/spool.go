// Package spool is a decky's durable storage on its host: the append-only
// event log (Spool) that the agent's shipper tails, and the quarantine of
// files attackers uploaded or made the decky fetch, stored by SHA-256.
package spool

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

	"github.com/decnet/decnet/internal/event"
)

// DroppedType reports events the spool could not write.
const DroppedType = "system.events.dropped"

func init() {
	event.Declare(event.Type{Name: DroppedType, Severity: event.High, Summary: "The decky's spool was full or unwritable and events were dropped; sent as soon as writing works again.", Fields: []event.FieldDoc{
		event.F("count", "int", "events dropped"),
		event.F("reason", "string", "why"),
	}})
}

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
	MaxFile   = 16 << 20
	MaxTotal  = 1 << 30
	SyncEvery = 200 * time.Millisecond
	// MaxLine bounds one spooled event; Write refuses larger ones.
	MaxLine = 1 << 20
)

// Prefix and Suffix frame spool file names.
const (
	Prefix = "events-"
	Suffix = ".jsonl"
)

// Options bound a spool; zero fields take MaxFile and MaxTotal.
type Options struct {
	MaxFile  int64 // bytes before a file rotates
	MaxTotal int64 // bytes the spool holds before it drops events
}

// Open opens (creating) a spool directory with the default limits.
// Writing starts a new file.
func Open(dir string) (*Spool, error) { return OpenWith(dir, Options{}) }

// OpenWith opens (creating) a spool directory with the given limits.
func OpenWith(dir string, o Options) (*Spool, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("open spool: %w", err)
	}
	if o.MaxFile <= 0 {
		o.MaxFile = MaxFile
	}
	if o.MaxTotal <= 0 {
		o.MaxTotal = MaxTotal
	}
	return &Spool{dir: dir, maxFile: o.MaxFile, maxTotal: o.MaxTotal}, nil
}

// Write implements event.Sink.
func (s *Spool) Write(e *event.Event) error {
	line, err := event.AppendJSON(make([]byte, 0, 1024), e)
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

func droppedLine(like *event.Event, n int64) []byte {
	d := event.Event{Schema: event.SchemaVersion, ID: event.NewID(), Time: time.Now().UTC(), Type: DroppedType,
		Severity: event.High, Topology: like.Topology, Decky: like.Decky, Service: "spool",
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
	files, _ := Files(dir)
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
	name := filepath.Join(s.dir, fmt.Sprintf("%s%020d%s", Prefix, time.Now().UnixNano(), Suffix))
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND|os.O_EXCL, 0o640)
	if err != nil {
		return fmt.Errorf("rotate spool: %w", err)
	}
	// The shipper deletes shipped files, so the total is re-read here
	// rather than kept across rotations.
	s.f, s.size, s.total = f, 0, spoolSize(s.dir)
	return nil
}

func (s *Spool) sync() { _ = s.Sync() }

// Sync makes what was written durable now, instead of within SyncEvery.
func (s *Spool) Sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	if s.f != nil && s.dirty {
		err = s.f.Sync()
	}
	s.dirty = false
	return err
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

// Files lists the spool files of dir in write order.
func Files(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasPrefix(e.Name(), Prefix) && strings.HasSuffix(e.Name(), Suffix) {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(out)
	return out, nil
}

var _ event.Sink = (*Spool)(nil)
