// Package shipper moves the events the deckies spooled on this host to the
// master: it tails every spool under the agent's spool directory, hands
// each event's quarantined blobs to a BlobSink first, publishes batches,
// and advances a persisted cursor only after the publish is acknowledged.
package shipper

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/spool"
)

// Publisher delivers a batch of events. A nil error is the
// acknowledgement: the events are durable on the other side, and the
// shipper may advance its cursor past them.
type Publisher interface {
	Publish(ctx context.Context, events []event.Event) error
}

// RawPublisher is an AsyncPublisher that also takes events as JSON
// documents (docs[i] is the event whose id is ids[i], a JSON object as
// the spool holds it) and sets their host itself: the shipper then
// validates each spool line and reads its id without decoding the event
// and encoding it again.
type RawPublisher interface {
	AsyncPublisher
	PublishRawAsync(ctx context.Context, ids []string, docs [][]byte) (wait func() error, err error)
}

// AsyncPublisher is a Publisher that can have several batches in flight:
// PublishAsync sends a batch and returns at once; the returned wait
// blocks until the batch is acknowledged (nil) or has failed. A shipper
// whose publisher implements it keeps up to Window batches of a spool
// file in flight and advances its cursor over them in order.
type AsyncPublisher interface {
	Publisher
	PublishAsync(ctx context.Context, events []event.Event) (wait func() error, err error)
}

// Shipper tails every spool under a root directory and hands the events to
// a publisher. Its cursor (file identity and offset per spool file) is
// persisted after every acknowledged batch, so a restart resumes where the
// last acknowledged batch ended, and rotation (a new file) is just another
// file. It deletes a spool file once everything in it is acknowledged and a
// newer file exists in the same directory.
type Shipper struct {
	root       string
	cursorPath string
	host       string
	pub        Publisher
	log        *slog.Logger
	cursor     map[string]int64 // file key -> offset
	// MaxBatch bounds the events per publish.
	MaxBatch int
	// Window bounds the batches of one spool file in flight at once with
	// an AsyncPublisher (one with any other Publisher); it is also the
	// most batches one file ships before the next file's turn.
	Window int
	// Poll is how often the spools are scanned when idle.
	Poll time.Duration
	// Blobs, when set, receives the quarantined blobs the events refer
	// to, before the events; a blob delivered and acknowledged is removed
	// from the quarantine, so nothing piles up on the agent's host.
	Blobs BlobSink
}

// New returns a shipper; it reads its cursor file but starts nothing.
func New(root, cursorPath, host string, pub Publisher, log *slog.Logger) (*Shipper, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Shipper{root: root, cursorPath: cursorPath, host: host, pub: pub, log: log.With("component", "shipper"),
		cursor: map[string]int64{}, MaxBatch: 1000, Window: 8, Poll: 250 * time.Millisecond}
	data, err := os.ReadFile(cursorPath)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("read shipper cursor: %w", err)
	default:
		if err := json.Unmarshal(data, &s.cursor); err != nil {
			return nil, fmt.Errorf("parse shipper cursor %s: %w", cursorPath, err)
		}
	}
	return s, nil
}

// Run ships until ctx is done. Publish failures are retried with backoff;
// nothing is skipped.
func (s *Shipper) Run(ctx context.Context) error {
	backoff := s.Poll
	for {
		n, err := s.ShipOnce(ctx)
		wait := s.Poll
		switch {
		case err != nil:
			s.log.Warn("ship events", "err", err)
			backoff = min(backoff*2, 30*time.Second)
			wait = backoff
		case n > 0:
			backoff, wait = s.Poll, 0
		default:
			backoff = s.Poll
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// fileKey identifies a spool file by path and inode, so that a file
// replaced under the same name never inherits an old offset.
func fileKey(path string, fi fs.FileInfo) string {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fmt.Sprintf("%s|%d:%d", path, st.Dev, st.Ino)
	}
	return path
}

// spoolDirs finds every directory under root holding spool files.
func (s *Shipper) spoolDirs() ([]string, error) {
	var dirs []string
	err := filepath.WalkDir(s.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() && d.Name() == spool.QuarantineDir {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasPrefix(d.Name(), spool.Prefix) && strings.HasSuffix(d.Name(), spool.Suffix) {
			dir := filepath.Dir(p)
			if len(dirs) == 0 || dirs[len(dirs)-1] != dir {
				dirs = append(dirs, dir)
			}
		}
		return nil
	})
	return dirs, err
}

// ShipOnce ships at most one batch from each spool file that has new
// complete lines, and returns how many events it shipped.
func (s *Shipper) ShipOnce(ctx context.Context) (int, error) {
	dirs, err := s.spoolDirs()
	if err != nil {
		return 0, err
	}
	shipped := 0
	live := map[string]bool{}
	for _, dir := range dirs {
		files, err := spool.Files(dir)
		if err != nil {
			return shipped, err
		}
		for i, path := range files {
			fi, err := os.Stat(path)
			if err != nil {
				continue
			}
			key := fileKey(path, fi)
			live[key] = true
			off := s.cursor[key]
			if fi.Size() > off {
				n, newOff, err := s.shipFile(ctx, path, off)
				if err != nil {
					return shipped, err
				}
				shipped += n
				if newOff != off {
					s.cursor[key] = newOff
					if err := s.saveCursor(); err != nil {
						return shipped, err
					}
				}
				off = newOff
			}
			// Everything of an older file is acknowledged: it is done.
			if i < len(files)-1 && off >= fi.Size() {
				if err := os.Remove(path); err == nil {
					delete(s.cursor, key)
					delete(live, key)
					_ = s.saveCursor()
				}
			}
		}
	}
	// Forget files that vanished.
	changed := false
	for k := range s.cursor {
		if !live[k] {
			delete(s.cursor, k)
			changed = true
		}
	}
	if changed {
		_ = s.saveCursor()
	}
	return shipped, nil
}

// inflight is a published batch not yet known to be acknowledged.
type inflight struct {
	n     int
	next  int64 // the offset after its last line
	blobs []string
	wait  func() error
}

// shipFile publishes up to Window batches of up to MaxBatch complete lines
// of path from off, keeping them in flight together when the publisher
// allows it, and returns the events acknowledged and the offset after the
// last line of the last batch acknowledged in order: a batch that fails
// holds the cursor before it, whatever happened to the ones after it
// (they are published again, and the bus and the store drop repeats).
func (s *Shipper) shipFile(ctx context.Context, path string, off int64) (int, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, off, err
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return 0, off, err
	}
	r := bufio.NewReaderSize(f, 64<<10)
	qdir := filepath.Join(filepath.Dir(path), spool.QuarantineDir)
	async, _ := s.pub.(AsyncPublisher)
	window := max(1, s.Window)
	var (
		pending []inflight
		acked   int
		next    = off
		done    = off // the offset after the last batch acknowledged in order
		failed  error
	)
	// settle waits for the oldest batch in flight.
	settle := func() {
		b := pending[0]
		pending = pending[1:]
		if failed != nil {
			return
		}
		if err := b.wait(); err != nil {
			failed = fmt.Errorf("publish %d events: %w", b.n, err)
			return
		}
		acked += b.n
		done = b.next
		// The master holds the blobs and the events that name them: the
		// quarantine copies are done. A decky that stores the same bytes
		// again recreates the file, and it is shipped again (the master
		// keeps one).
		for _, p := range b.blobs {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				s.log.Warn("remove shipped blob", "file", p, "err", err)
			}
		}
	}
	raw, _ := s.pub.(RawPublisher)
	for range window {
		b, n, full := s.readBatch(r, path, next, raw != nil)
		next = n
		if b.n == 0 {
			if len(pending) == 0 && failed == nil {
				done = next // only skipped lines: step over them
			}
			break
		}
		shipped, err := s.shipBlobs(ctx, qdir, b.blobs)
		if err != nil {
			failed = err
			break
		}
		f := inflight{n: b.n, next: next, blobs: shipped}
		switch {
		case raw != nil:
			f.wait, err = raw.PublishRawAsync(ctx, b.ids, b.docs)
		case async != nil:
			f.wait, err = async.PublishAsync(ctx, b.events)
		default:
			err = s.pub.Publish(ctx, b.events)
			f.wait = func() error { return nil }
		}
		if err != nil {
			failed = fmt.Errorf("publish %d events: %w", b.n, err)
			break
		}
		pending = append(pending, f)
		if !full {
			// The reader stopped at the end of the file or inside a line
			// still being written: what follows is for the next pass.
			break
		}
	}
	for len(pending) > 0 {
		settle()
	}
	return acked, done, failed
}

// batch is what readBatch read: events decoded, or raw documents.
type batch struct {
	n      int
	events []event.Event
	ids    []string // raw: the event ids
	docs   [][]byte // raw: the JSON documents
	blobs  []string // the SHA-256 of the blobs the events refer to
}

// Keys naming a blob (event.Artifacts): a line holding one is decoded to
// find its blobs even on the raw path.
var artifactMarks = [][]byte{[]byte(`"sha256"`), []byte(`"body_sha256"`)}

// readBatch reads up to MaxBatch complete lines from r, whose position
// is the file offset off, and returns their events (raw documents when
// raw is set) and the offset after the last line read; full reports a
// batch that stopped at MaxBatch (not at the end of the file or a partial
// line, which r has consumed).
func (s *Shipper) readBatch(r *bufio.Reader, path string, off int64, raw bool) (b batch, next int64, full bool) {
	next = off
	for b.n < s.MaxBatch {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the reader's buffer cannot come from our
			// spool writer (it bounds lines); skip it whole and say so.
			skipped := int64(len(line))
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = r.ReadSlice('\n')
				skipped += int64(len(line))
			}
			if err != nil {
				return b, next, false // incomplete: wait for the rest
			}
			s.log.Error("skipping oversized spool line", "file", path, "bytes", skipped)
			next += skipped
			continue
		}
		if err != nil {
			return b, next, false // EOF or a partial line still being written
		}
		next += int64(len(line))
		line = bytes.TrimSpace(line)
		if raw && !hasArtifact(line) {
			// Validates the document and reads its id (as a consumer
			// will: the last "id" key, matched as encoding/json does).
			var head struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(line, &head); err != nil || head.ID == "" || len(line) < 2 || line[len(line)-1] != '}' {
				s.log.Error("skipping malformed spool line", "file", path, "err", err)
				continue
			}
			b.ids, b.docs = append(b.ids, head.ID), append(b.docs, bytes.Clone(line))
			b.n++
			continue
		}
		var e event.Event
		if err := event.Decode(line, &e); err != nil || e.ID == "" {
			s.log.Error("skipping malformed spool line", "file", path, "err", err)
			continue
		}
		if e.Host == "" {
			e.Host = s.host
		}
		b.blobs = append(b.blobs, e.Artifacts()...)
		if raw {
			doc, err := event.AppendJSON(nil, &e)
			if err != nil {
				s.log.Error("skipping unencodable spool event", "file", path, "err", err)
				continue
			}
			b.ids, b.docs = append(b.ids, e.ID), append(b.docs, doc)
		} else {
			b.events = append(b.events, e)
		}
		b.n++
	}
	return b, next, true
}

func hasArtifact(line []byte) bool {
	for _, m := range artifactMarks {
		if bytes.Contains(line, m) {
			return true
		}
	}
	return false
}

// shipBlobs hands Blobs every quarantined blob the batch refers to and
// returns their paths. A blob missing from the quarantine was shipped with
// an earlier event (or never stored); a refused blob is logged and skipped,
// since retrying cannot cure it and the events must not wait forever.
func (s *Shipper) shipBlobs(ctx context.Context, qdir string, shas []string) ([]string, error) {
	if s.Blobs == nil {
		return nil, nil
	}
	var paths []string
	seen := map[string]bool{}
	for _, sha := range shas {
		if seen[sha] {
			continue
		}
		seen[sha] = true
		p := filepath.Join(qdir, sha)
		f, err := os.Open(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("ship blob %s: %w", sha, err)
		}
		fi, err := f.Stat()
		if err == nil {
			err = s.Blobs.PutBlob(ctx, sha, f, fi.Size())
		}
		f.Close()
		switch {
		case errors.Is(err, ErrBlobRefused):
			s.log.Error("blob refused; its events are shipped without it", "sha256", sha, "err", err)
		case err != nil:
			return nil, fmt.Errorf("ship blob %s: %w", sha, err)
		}
		paths = append(paths, p)
	}
	return paths, nil
}

func (s *Shipper) saveCursor() error {
	data, err := json.Marshal(s.cursor)
	if err != nil {
		return err
	}
	tmp := s.cursorPath + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("save shipper cursor: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("save shipper cursor: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("save shipper cursor: %w", err)
	}
	f.Close()
	return os.Rename(tmp, s.cursorPath)
}

// FileSink is a Publisher that appends events as JSON lines to a local
// file, the stand-in for the bus until a master exists. A batch is fsynced
// before it is acknowledged. On open it reads the ids of the file's last
// lines, so the one batch that a crash between acknowledgement and cursor
// save can replay is recognised and not written twice.
type FileSink struct {
	f    *os.File
	seen map[string]bool
}

// OpenFileSink opens (creating) path for appending.
func OpenFileSink(path string, recent int) (*FileSink, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open sink: %w", err)
	}
	seen, err := tailIDs(f, recent)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("read sink tail: %w", err)
	}
	return &FileSink{f: f, seen: seen}, nil
}

// tailIDs returns the ids of the last n lines of f.
func tailIDs(f *os.File, n int) (map[string]bool, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	start := max(0, fi.Size()-int64(n)*int64(4096))
	buf := make([]byte, fi.Size()-start)
	if _, err := f.ReadAt(buf, start); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	lines := bytes.Split(buf, []byte("\n"))
	seen := map[string]bool{}
	for i := len(lines) - 1; i >= 0 && len(seen) < n; i-- {
		var e struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(lines[i], &e) == nil && e.ID != "" {
			seen[e.ID] = true
		}
	}
	return seen, nil
}

// Publish implements Publisher.
func (s *FileSink) Publish(_ context.Context, events []event.Event) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for i := range events {
		if s.seen[events[i].ID] {
			continue
		}
		if err := enc.Encode(&events[i]); err != nil {
			return err
		}
	}
	if buf.Len() > 0 {
		if _, err := s.f.Write(buf.Bytes()); err != nil {
			return err
		}
		if err := s.f.Sync(); err != nil {
			return err
		}
	}
	return nil
}

// Close closes the file.
func (s *FileSink) Close() error { return s.f.Close() }

// BlobSink receives the quarantined blobs that shipped events refer to. A
// shipper hands a blob over before the first event that names it, so the
// master never stores an event whose blob it cannot get.
type BlobSink interface {
	// PutBlob delivers the blob with the given hash, read from f (size
	// bytes). It returns nil once the blob is durable on the other side
	// (or was already there). An error matching ErrBlobRefused is
	// permanent: the shipper logs it and ships the events anyway.
	PutBlob(ctx context.Context, sha string, f *os.File, size int64) error
}

// ErrBlobRefused is matched by a BlobSink error that retrying cannot cure
// (the receiver refused the blob, e.g. its hash does not match).
var ErrBlobRefused = errors.New("blob refused")
