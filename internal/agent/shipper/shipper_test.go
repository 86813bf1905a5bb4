package shipper

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/spool"
)

func testEvent(i int, user string) *event.Event {
	return &event.Event{Schema: event.SchemaVersion, ID: event.NewID(), Type: "ssh.login.failed", Decky: "d", Service: "ssh",
		Src:        &event.Endpoint{IP: "10.0.0.5", Port: 40000 + i},
		Credential: event.NewCredential("plaintext", "password", user, []byte("pw\n"), true)}
}

// flaky fails every publish after the first ok ones.
type flaky struct {
	sink *FileSink
	ok   int
}

func (f *flaky) Publish(ctx context.Context, ev []event.Event) error {
	if f.ok <= 0 {
		return errors.New("down")
	}
	f.ok--
	return f.sink.Publish(ctx, ev)
}

func readSink(t *testing.T, path string) []event.Event {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []event.Event
	for _, l := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		var e event.Event
		if err := json.Unmarshal(l, &e); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func TestSpoolShipperRotationRestartNoLossNoDup(t *testing.T) {
	root := t.TempDir()
	spoolDir := filepath.Join(root, "spool", "topo", "decky")
	sp, err := spool.OpenWith(spoolDir, spool.Options{MaxFile: 4096}) // rotate often
	if err != nil {
		t.Fatal(err)
	}
	const n = 600
	ids := map[string]bool{}
	for i := range n {
		e := testEvent(i, "u")
		ids[e.ID] = true
		if err := sp.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	files, _ := spool.Files(spoolDir)
	if len(files) < 5 {
		t.Fatalf("no rotation: %d files", len(files))
	}
	sinkPath := filepath.Join(root, "events.jsonl")
	cursor := filepath.Join(root, "cursor.json")

	// First shipper: two batches succeed, then the bus goes down.
	sink, _ := OpenFileSink(sinkPath, 1000)
	sh, err := New(filepath.Join(root, "spool"), cursor, "host-1", &flaky{sink: sink, ok: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sh.MaxBatch = 7
	for range 5 {
		sh.ShipOnce(context.Background())
	}
	sink.Close()

	// Restart: a new shipper from the saved cursor, more events arriving.
	for i := range 50 {
		e := testEvent(i, "v")
		ids[e.ID] = true
		sp.Write(e)
	}
	sp.Close()
	sink, _ = OpenFileSink(sinkPath, 1000)
	defer sink.Close()
	sh, err = New(filepath.Join(root, "spool"), cursor, "host-1", sink, nil)
	if err != nil {
		t.Fatal(err)
	}
	shipAll(t, sh)
	got := readSink(t, sinkPath)
	seen := map[string]bool{}
	for _, e := range got {
		if seen[e.ID] {
			t.Fatalf("event %s shipped twice", e.ID)
		}
		seen[e.ID] = true
		if e.Host != "host-1" {
			t.Fatalf("host not stamped: %q", e.Host)
		}
	}
	if len(got) != len(ids) {
		t.Fatalf("shipped %d of %d", len(got), len(ids))
	}
	files, _ = spool.Files(spoolDir)
	if len(files) != 1 {
		t.Fatalf("shipped files not cleaned: %d left", len(files))
	}
}

func TestFileSinkSkipsReplayedBatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	s, _ := OpenFileSink(path, 100)
	batch := []event.Event{*testEvent(1, "a"), *testEvent(2, "b")}
	s.Publish(context.Background(), batch)
	s.Close()
	s, _ = OpenFileSink(path, 100)
	defer s.Close()
	s.Publish(context.Background(), batch) // the replay after a crash
	if got := readSink(t, path); len(got) != 2 {
		t.Fatalf("%d events, want 2", len(got))
	}
}

// blobRecorder is a BlobSink that keeps what it got, and fails while err
// is set.
type blobRecorder struct {
	got map[string]string
	err error
	// published is read when a blob arrives: no event may be out yet.
	published *int
}

func (b *blobRecorder) PutBlob(_ context.Context, sha string, f *os.File, size int64) error {
	if b.err != nil {
		return b.err
	}
	if *b.published != 0 {
		return errors.New("blob arrived after its event")
	}
	data, err := io.ReadAll(f)
	if err != nil || int64(len(data)) != size {
		return errors.New("short read")
	}
	b.got[sha] = string(data)
	return nil
}

type countingPub struct{ n int }

func (c *countingPub) Publish(_ context.Context, ev []event.Event) error { c.n += len(ev); return nil }

func TestShipperShipsBlobsBeforeTheirEvents(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "topo", "decky")
	sp, err := spool.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	q := spool.NewQuarantine(filepath.Join(dir, spool.QuarantineDir), 1<<20)
	up, err := q.Put(strings.NewReader("#!/bin/sh\necho pwned\n"))
	if err != nil {
		t.Fatal(err)
	}
	missing := strings.Repeat("ab", 32) // named but never stored
	for i, f := range []map[string]any{
		{"sha256": up.SHA256, "path": "/tmp/x.sh"},
		{"body_sha256": missing},
		{"sha256": "../../etc/passwd"}, // not a hash: never opened
		{"sha256": up.SHA256},          // same blob again
	} {
		e := testEvent(i, "u")
		e.Fields = f
		if err := sp.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	sp.Sync()

	pub := &countingPub{}
	sink := &blobRecorder{got: map[string]string{}, err: errors.New("master unreachable"), published: &pub.n}
	sh, err := New(root, filepath.Join(t.TempDir(), "cursor"), "h", pub, nil)
	if err != nil {
		t.Fatal(err)
	}
	sh.Blobs = sink
	// While blobs cannot be delivered, no event is published either.
	if n, err := sh.ShipOnce(context.Background()); err == nil || n != 0 || pub.n != 0 {
		t.Fatalf("shipped %d events (%d published) with the blob sink down: %v", n, pub.n, err)
	}
	if _, err := os.Stat(q.Path(up.SHA256)); err != nil {
		t.Fatalf("blob gone before delivery: %v", err)
	}
	sink.err = nil
	if n, err := sh.ShipOnce(context.Background()); err != nil || n != 4 {
		t.Fatalf("shipped %d: %v", n, err)
	}
	if len(sink.got) != 1 || sink.got[up.SHA256] != "#!/bin/sh\necho pwned\n" {
		t.Fatalf("blobs delivered: %v", sink.got)
	}
	// Delivered and acknowledged: the quarantine copy is gone.
	if _, err := os.Stat(q.Path(up.SHA256)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("shipped blob left on the agent: %v", err)
	}

	// A refused blob does not hold its events back.
	bad, _ := q.Put(strings.NewReader("corrupted"))
	e := testEvent(9, "u")
	e.Fields = map[string]any{"sha256": bad.SHA256}
	sp.Write(e)
	sp.Sync()
	sink.err = ErrBlobRefused
	pub.n = 0
	if n, err := sh.ShipOnce(context.Background()); err != nil || n != 1 {
		t.Fatalf("refused blob: shipped %d: %v", n, err)
	}
}

// rawSink is a RawPublisher keeping what it is handed.
type rawSink struct {
	docs  map[string][]byte
	blobs map[string]bool
}

func (r *rawSink) Publish(context.Context, []event.Event) error { return errors.New("not raw") }
func (r *rawSink) PublishAsync(context.Context, []event.Event) (func() error, error) {
	return nil, errors.New("not raw")
}

func (r *rawSink) PublishRawAsync(_ context.Context, ids []string, docs [][]byte) (func() error, error) {
	for i := range ids {
		r.docs[ids[i]] = docs[i]
	}
	return func() error { return nil }, nil
}

func (r *rawSink) PutBlob(_ context.Context, sha string, _ *os.File, _ int64) error {
	r.blobs[sha] = true
	return nil
}

func TestShipperRawPathPassesLinesAndFindsBlobs(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "spool", "topo", "decky")
	sp, err := spool.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for i := range 30 {
		e := testEvent(i, "u")
		ids[e.ID] = true
		if err := sp.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	sha := strings.Repeat("ab", 32)
	up := testEvent(99, "u")
	up.Type, up.Fields = "ftp.file.uploaded", map[string]any{"sha256": sha}
	ids[up.ID] = true
	if err := sp.Write(up); err != nil {
		t.Fatal(err)
	}
	sp.Close()
	if err := os.MkdirAll(filepath.Join(dir, spool.QuarantineDir), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, spool.QuarantineDir, sha), []byte("blob"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A malformed line among them is skipped.
	files, _ := spool.Files(dir)
	f, err := os.OpenFile(files[len(files)-1], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("{\"id\":\"x\",broken\n")
	f.Close()

	pub := &rawSink{docs: map[string][]byte{}, blobs: map[string]bool{}}
	sh, err := New(filepath.Join(root, "spool"), filepath.Join(root, "cursor.json"), "host-1", pub, nil)
	if err != nil {
		t.Fatal(err)
	}
	sh.Blobs = pub
	sh.MaxBatch = 8
	shipAll(t, sh)
	if len(pub.docs) != len(ids) {
		t.Fatalf("shipped %d events, want %d", len(pub.docs), len(ids))
	}
	for id, doc := range pub.docs {
		var e event.Event
		if err := json.Unmarshal(doc, &e); err != nil || e.ID != id || !ids[id] {
			t.Fatalf("shipped %q as %s (%v)", id, doc, err)
		}
	}
	if !pub.blobs[sha] {
		t.Fatal("the uploaded file's blob was not shipped before its event")
	}
	if _, err := os.Stat(filepath.Join(dir, spool.QuarantineDir, sha)); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the shipped blob is still in the quarantine")
	}
}

// shipAll ships until nothing is left.
func shipAll(t *testing.T, sh *Shipper) {
	t.Helper()
	for {
		k, err := sh.ShipOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if k == 0 {
			return
		}
	}
}
