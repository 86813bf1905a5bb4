// Package spool is a decky's durable storage on its host: the append-only
// event log (Spool) that the agent's shipper tails, and the quarantine of
// files attackers uploaded or made the decky fetch, stored by SHA-256.
package spool

import (
	"bytes"
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
// Durability: events are group-committed. Write queues one whole JSON
// line; the queue goes to a file opened O_APPEND in one write(2) at most
// GroupCommit after its first line (at once when it holds FlushBytes, and
// on Sync and Close), so a crash of the decky process loses at most the
// events of that window, and a flood costs one system call per window
// rather than one per event. The file is fsynced at most SyncEvery after a
// write (and on rotation and Close), so a power cut loses at most that
// window.
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
	// queue holds the lines not yet written; flushing is set while a
	// GroupCommit timer is armed. like is the last queued event's
	// topology and decky, for a dropped-events report.
	queue    []byte
	flushing bool
	like     event.Event
}

// Spool limits and the fsync window.
const (
	MaxFile   = 16 << 20
	MaxTotal  = 1 << 30
	SyncEvery = 200 * time.Millisecond
	// GroupCommit bounds how long a queued event waits for its write(2);
	// FlushBytes of queued lines are written at once.
	GroupCommit = 2 * time.Millisecond
	FlushBytes  = 64 << 10
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

// Write implements event.Sink: it queues the event for the next group
// commit. It fails at once when the spool is closed, the event too large
// or the spool at its limit (the event is then counted as dropped).
func (s *Spool) Write(e *event.Event) error {
	// Encoded before the lock: the services' goroutines encode in
	// parallel and only append under it.
	buf := lineBufs.Get().(*[]byte)
	defer lineBufs.Put(buf)
	line, err := event.AppendJSON((*buf)[:0], e)
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	line = append(line, '\n')
	if cap(line) <= MaxLine {
		*buf = line
	}
	if len(line) > MaxLine {
		return fmt.Errorf("event %s is %d bytes, over the %d-byte limit", e.ID, len(line), MaxLine)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return errors.New("spool is closed")
	case s.total+int64(len(s.queue)+len(line)) > s.maxTotal:
		s.dropped++
		return fmt.Errorf("spool %s holds %d bytes, at its limit", s.dir, s.total+int64(len(s.queue)))
	}
	s.queue = append(s.queue, line...)
	s.like.Topology, s.like.Decky = e.Topology, e.Decky
	if len(s.queue) >= FlushBytes {
		s.flushLocked()
	} else if !s.flushing {
		s.flushing = true
		time.AfterFunc(GroupCommit, s.flush)
	}
	return nil
}

// lineBufs are the encoding buffers of Write.
var lineBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func (s *Spool) flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flushing = false
	s.flushLocked()
}

// flushLocked writes the queue, after a report of the events dropped
// before it; what cannot be written is counted as dropped.
func (s *Spool) flushLocked() {
	if len(s.queue) == 0 || s.f == nil && s.closed {
		return
	}
	if s.dropped > 0 {
		if err := s.writeLocked(droppedLine(&s.like, s.dropped)); err == nil {
			s.dropped = 0
		}
	}
	// In pieces that fit a file, cut at line ends.
	for b := s.queue; len(b) > 0; {
		cut := len(b)
		if int64(cut) > s.maxFile {
			if cut = bytes.LastIndexByte(b[:s.maxFile], '\n') + 1; cut == 0 {
				cut = bytes.IndexByte(b, '\n') + 1 // one line larger than a file
			}
		}
		if err := s.writeLocked(b[:cut]); err != nil {
			s.dropped += int64(bytes.Count(b, []byte{'\n'}))
			break
		}
		b = b[cut:]
	}
	s.queue = s.queue[:0]
	if cap(s.queue) > 4*FlushBytes {
		s.queue = nil // a burst of large events: give the memory back
	}
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

// Sync makes what was written durable now, instead of within
// GroupCommit and SyncEvery.
func (s *Spool) Sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flushLocked()
	var err error
	if s.f != nil && s.dirty {
		err = s.f.Sync()
	}
	s.dirty = false
	return err
}

// Close writes what is queued, syncs and closes the spool.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flushLocked()
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
